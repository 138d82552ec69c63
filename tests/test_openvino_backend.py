"""The OpenVINO backend on tiny models: contract, parity with ONNX Runtime, dynamic shapes, streams,
INT8 (QDQ), and the station's fail-safe paths on it. Skipped when openvino is not importable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("openvino")

from inspector.core.backends.base import BackendUnavailable, ModelLoadError
from inspector.core.backends.onnxruntime_backend import OnnxRuntimeBackend
from inspector.core.backends.openvino_backend import MAX_COMPILED_SIZES, OpenVINOBackend
from inspector.core.backends.probe import compare_outputs
from inspector.core.backends.select import select_backend
from inspector.core.model_card import load_card
from inspector.core.pipeline import Pipeline, run_source
from inspector.core.progress import SimpleState
from inspector.core.recipe import Recipe
from inspector.core.selftest import run_selftest
from inspector.core.sources.folder import FolderSource
from inspector.core.types import InspectionResult, Verdict
from tests.tiny_model import synthetic_image


def _batch(n: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    imgs = [synthetic_image(max(h, w), defect=bool(i % 2), seed=seed + i)[0][:h, :w] for i in range(n)]
    return (np.stack(imgs).astype(np.float32) / 255.0)[..., None]


@pytest.fixture
def ort(tiny_model: Path):
    be = OnnxRuntimeBackend(threads=1)
    be.load(tiny_model)
    yield be
    be.close()


def test_loads_the_tiny_model_and_matches_onnxruntime(tiny_model: Path, ort: OnnxRuntimeBackend) -> None:
    with OpenVINOBackend(threads=1, warm_size=(64, 64)) as ov:
        ov.load(tiny_model)
        x = _batch(1, 64, 64)
        out = ov.infer(x)
        assert out.shape == (1, 64, 64, 1)
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, ort.infer(x), atol=1e-5)
        info = ov.info()
        assert (info.name, info.device, info.model_path) == ("openvino", "CPU", tiny_model)
        assert info.display.startswith("OpenVINO ")
        assert "INT8" not in info.display
        assert not ov.quantized


def test_dynamic_batch_and_sizes_each_match_onnxruntime(tiny_model: Path, ort: OnnxRuntimeBackend) -> None:
    with OpenVINOBackend(threads=1) as ov:
        ov.load(tiny_model)
        shapes = [(1, 64, 64), (3, 64, 64), (2, 48, 80), (1, 64, 64)]
        # more sizes than the compiled-model cache keeps: evicted sizes compile again, still right
        shapes += [(1, 16 + 8 * k, 32) for k in range(MAX_COMPILED_SIZES + 1)] + [(2, 48, 80)]
        for n, h, w in shapes:
            x = _batch(n, h, w, seed=h + w)
            out = ov.infer(x)
            assert out.shape == (n, h, w, 1)
            np.testing.assert_allclose(out, ort.infer(x), atol=1e-5)
        assert len(ov._compiled) <= MAX_COMPILED_SIZES


def test_streams_split_a_batch_and_keep_its_order(tiny_model: Path, ort: OnnxRuntimeBackend) -> None:
    with OpenVINOBackend(threads=2, streams=2) as ov:
        ov.load(tiny_model)
        assert "2 streams" in ov.info().display
        for n in (1, 2, 5):
            x = _batch(n, 64, 64, seed=10 * n)
            out = ov.infer(x)
            np.testing.assert_allclose(out, ort.infer(x), atol=1e-5)  # item i is image i's map


def test_default_streams_one_image_alone_batches_split(tiny_model: Path, ort: OnnxRuntimeBackend) -> None:
    with OpenVINOBackend(threads=2) as ov:  # streams=None: LATENCY for one image, 2 streams for batches
        ov.load(tiny_model)
        assert "batches on 2 streams" in ov.info().display
        x1 = _batch(1, 64, 64, seed=3)
        np.testing.assert_allclose(ov.infer(x1), ort.infer(x1), atol=1e-5)
        assert list(ov._compiled) == [(64, 64, 1)]
        x3 = _batch(3, 64, 64, seed=4)
        np.testing.assert_allclose(ov.infer(x3), ort.infer(x3), atol=1e-5)
        assert list(ov._compiled) == [(64, 64, 1), (64, 64, 2)]


def test_output_does_not_change_under_the_callers_feet(tiny_model: Path) -> None:
    with OpenVINOBackend(threads=1) as ov:
        ov.load(tiny_model)
        first = ov.infer(_batch(1, 64, 64, seed=1))
        kept = first.copy()
        ov.infer(_batch(1, 64, 64, seed=2))  # the request's buffer is reused
        np.testing.assert_array_equal(first, kept)


def test_refuses_models_outside_the_contract(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "other",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    other = tmp_path / "other.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(other))
    with pytest.raises(ModelLoadError, match="expected input 'image'"):
        OpenVINOBackend().load(other)
    with pytest.raises(ModelLoadError, match="not found"):
        OpenVINOBackend().load(tmp_path / "missing.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(ModelLoadError, match="cannot read"):
        OpenVINOBackend().load(junk)


def _tiny_int8(tiny_model: Path, dst: Path) -> Path:
    """Static QDQ U8/S8 per-channel, as the trainer's compress step quantises (trainer.quantize)."""
    from trainer.quantize import QuantSettings, quantize

    calib = [_batch(1, 64, 64, seed=s)[0] for s in range(4)]
    return quantize(tiny_model, dst, calib, dst.with_suffix(".calib.json"), QuantSettings())


def test_int8_qdq_model_runs_quantised_and_passes_the_int8_parity_rule(
    tiny_model: Path, tmp_path: Path
) -> None:
    int8 = _tiny_int8(tiny_model, tmp_path / "tiny_int8.onnx")
    ort = OnnxRuntimeBackend(threads=1)
    ort.load(int8)
    with OpenVINOBackend(threads=1) as ov:
        ov.load(int8)
        assert ov.quantized
        assert "INT8" in ov.info().display
        for seed in range(3):
            x = _batch(2, 64, 64, seed=seed)
            ref, out = ort.infer(x), ov.infer(x)
            assert float(np.abs(ref - out).max()) < 0.5
            for i in range(2):
                parity = compare_outputs(ref[i, ..., 0], out[i, ..., 0], 0.5, quantized=True)
                assert parity.passed, parity.detail


def test_explicit_openvino_backend_runs_the_self_test_and_the_pipeline(
    tiny_model: Path, image_folder: Path
) -> None:
    backend = select_backend("openvino", tiny_model, threads=1)
    try:
        assert backend.info().name == "openvino"
        pipeline = Pipeline(backend, load_card(tiny_model), Recipe())
        report = run_selftest(pipeline)
        assert report.passed, report.reason
        assert report.backend == "openvino"
        results: list[InspectionResult] = []
        run_source(FolderSource(image_folder), pipeline, results.append, SimpleState())
        assert [r.decision.verdict for r in results] == [Verdict.OK, Verdict.NG] * 3
        assert {r.backend for r in results} == {"openvino"}
    finally:
        backend.close()


def test_an_openvino_failure_on_a_part_is_a_logged_error_never_ok(
    tiny_model: Path, image_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = select_backend("openvino", tiny_model, threads=1)
    pipeline = Pipeline(backend, load_card(tiny_model), Recipe())

    def broken(h: int, w: int, streams: int) -> object:
        raise RuntimeError("Exception from src/plugins/intel_cpu: out of memory")

    monkeypatch.setattr(backend, "_requests", broken)
    results: list[InspectionResult] = []
    summary = run_source(FolderSource(image_folder), pipeline, results.append, SimpleState())
    assert len(results) == 6
    assert summary.counts["ERROR"] == 6
    assert all(r.decision.verdict is Verdict.ERROR and r.error_stage == "infer" for r in results)
    assert "intel_cpu" in results[0].decision.reasons[0]
    backend.close()
    with pytest.raises(RuntimeError, match="not loaded"):
        backend.infer(_batch(1, 64, 64))


def test_a_model_openvino_cannot_compile_fails_at_load(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import openvino

    def refuse(self: object, *a: object, **k: object) -> None:
        raise RuntimeError("unsupported operation")

    monkeypatch.setattr(openvino.Core, "compile_model", refuse)
    with pytest.raises(BackendUnavailable, match="cannot compile"):
        select_backend("openvino", tiny_model)


def test_overlapped_calls_match_infer_and_stay_bounded(tiny_model: Path, ort: OnnxRuntimeBackend) -> None:
    """infer_async: the same maps as infer, completed in order, never more than ASYNC_DEPTH in
    flight (a third call waits for the first), and batches of several use infer's streams."""
    import threading

    from inspector.core.backends.openvino_backend import ASYNC_DEPTH

    with OpenVINOBackend(threads=1, warm_size=(64, 64)) as ov:
        ov.load(tiny_model)
        xs = [_batch(1, 64, 64, seed=10 * i) for i in range(6)]
        futures = [ov.infer_async(x) for x in xs]  # blocks while ASYNC_DEPTH are in flight
        assert all(f is not None for f in futures)
        for x, f in zip(xs, futures, strict=True):
            out, ms = f.result(timeout=30)  # type: ignore[union-attr]
            np.testing.assert_allclose(out, ort.infer(x), atol=1e-5)
            assert ms >= 0.0
        assert ov.infer_async(_batch(2, 64, 64)) is None  # several images: infer()
    # the bound: the waiter thread held at a gate, ASYNC_DEPTH calls take every slot, one more waits
    with OpenVINOBackend(threads=1, warm_size=(64, 64)) as ov:
        ov.load(tiny_model)
        gate, third_started = threading.Event(), threading.Event()
        wait_loop = ov._wait_loop
        ov._wait_loop = lambda: (gate.wait(30), wait_loop())  # type: ignore[method-assign]
        first = [ov.infer_async(x) for x in xs[:ASYNC_DEPTH]]
        third: list = []
        t = threading.Thread(
            target=lambda: (third.append(ov.infer_async(xs[2])), third_started.set()), daemon=True
        )
        t.start()
        assert not third_started.wait(0.5)  # blocked while ASYNC_DEPTH calls are in flight
        gate.set()
        assert third_started.wait(30)
        for x, f in zip(xs[:3], [*first, *third], strict=True):
            np.testing.assert_allclose(f.result(timeout=30)[0], ort.infer(x), atol=1e-5)
        t.join(30)


def test_a_station_run_on_openvino_overlaps_and_logs_every_part(tiny_model: Path, tmp_path: Path) -> None:
    """The whole run on OpenVINO with overlapped calls: one result per image, in order, the same
    verdicts as without the overlap."""
    import cv2

    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(12):
        cv2.imwrite(str(folder / f"{i:02d}.png"), synthetic_image(64, defect=bool(i % 3 == 0), seed=i)[0])
    card = load_card(tiny_model)

    def run(overlap: bool) -> list[tuple[str, Verdict]]:
        with OpenVINOBackend(threads=1, warm_size=(64, 64)) as ov:
            ov.load(tiny_model)
            pipeline = Pipeline(ov, card, Recipe())
            pipeline.overlap = overlap
            results: list[InspectionResult] = []
            summary = run_source(FolderSource(folder), pipeline, results.append, SimpleState())
            assert summary.inspected == 12
            return [(r.frame.key, r.decision.verdict) for r in results]

    overlapped, plain = run(True), run(False)
    assert [k for k, _ in overlapped] == sorted(str(p) for p in folder.iterdir())
    assert overlapped == plain
    assert {v for _, v in overlapped} == {Verdict.OK, Verdict.NG}


def test_a_backlog_runs_on_the_throughput_streams_and_modes_never_run_side_by_side(
    tiny_model: Path, ort: OnnxRuntimeBackend
) -> None:
    """infer_async with a backlog runs on the THROUGHPUT streams (the one-image static model of
    2 streams), without on the LATENCY model; the same maps either way. A THROUGHPUT call waits
    until the LATENCY calls in flight have ended; a call without a backlog joins THROUGHPUT calls
    in flight; at most ASYNC_DEPTH per stream are in flight."""
    import threading

    from inspector.core.backends.openvino_backend import ASYNC_DEPTH

    xs = [_batch(1, 64, 64, seed=7 * i) for i in range(8)]
    with OpenVINOBackend(threads=2, warm_size=(64, 64)) as ov:
        ov.load(tiny_model)
        lat = [ov.infer_async(x) for x in xs[:3]]
        thr = [ov.infer_async(x, backlog=True) for x in xs[3:]]
        for x, f in zip(xs, [*lat, *thr], strict=True):
            np.testing.assert_allclose(f.result(timeout=30)[0], ort.infer(x), atol=1e-5)  # type: ignore[union-attr]
        assert {k[2] for k in ov._compiled} == {1, 2}  # both modes compiled, static one-image shapes
        assert set(ov._free) == {(64, 64, 1), (64, 64, 2)}
    # hold the waiter: what is in flight stays in flight
    with OpenVINOBackend(threads=2, warm_size=(64, 64)) as ov:
        ov.load(tiny_model)
        gate = threading.Event()
        wait_loop = ov._wait_loop
        ov._wait_loop = lambda: (gate.wait(30), wait_loop())  # type: ignore[method-assign]
        first = ov.infer_async(xs[0])  # LATENCY
        started = threading.Event()
        later: list = []
        t = threading.Thread(
            target=lambda: (later.append(ov.infer_async(xs[1], backlog=True)), started.set()), daemon=True
        )
        t.start()
        assert not started.wait(0.5)  # THROUGHPUT waits while a LATENCY call is in flight
        assert ov._flying_streams == 1
        gate.set()
        assert started.wait(30)
        t.join(30)
        for x, f in zip(xs[:2], [first, *later], strict=True):
            np.testing.assert_allclose(f.result(timeout=30)[0], ort.infer(x), atol=1e-5)  # type: ignore[union-attr]
    with OpenVINOBackend(threads=2, warm_size=(64, 64)) as ov:
        ov.load(tiny_model)
        gate = threading.Event()
        wait_loop = ov._wait_loop
        ov._wait_loop = lambda: (gate.wait(30), wait_loop())  # type: ignore[method-assign]
        futures = [ov.infer_async(xs[0], backlog=True), ov.infer_async(xs[1])]  # the second joins
        assert (ov._flying, ov._flying_streams) == (2, 2)
        futures += [ov.infer_async(x, backlog=True) for x in xs[2 : 2 * ASYNC_DEPTH]]
        assert ov._flying == 2 * ASYNC_DEPTH  # every slot of both streams taken
        done = threading.Event()
        t = threading.Thread(
            target=lambda: (futures.append(ov.infer_async(xs[7], True)), done.set()), daemon=True
        )
        t.start()
        assert not done.wait(0.5)  # one more waits for a slot
        gate.set()
        assert done.wait(30)
        t.join(30)
        for x, f in zip([*xs[: 2 * ASYNC_DEPTH], xs[7]], futures, strict=True):
            np.testing.assert_allclose(f.result(timeout=30)[0], ort.infer(x), atol=1e-5)  # type: ignore[union-attr]
        assert ov._flying == 0


def test_a_call_whose_size_was_dropped_meanwhile_does_not_keep_its_model_alive(tiny_model: Path) -> None:
    """The compiled-model LRU drops a size while an overlapped call on it is in flight: its
    request is not put back among the idle ones (that would keep the dropped model in memory)."""
    import threading

    with OpenVINOBackend(threads=1, warm_size=(64, 64)) as ov:
        ov.load(tiny_model)
        gate = threading.Event()
        wait_loop = ov._wait_loop
        ov._wait_loop = lambda: (gate.wait(30), wait_loop())  # type: ignore[method-assign]
        future = ov.infer_async(_batch(1, 64, 64))
        for k in range(MAX_COMPILED_SIZES):  # as many other sizes as the LRU keeps: 64x64 goes
            ov.infer(_batch(1, 16 + 8 * k, 32))
        assert (64, 64, 1) not in ov._compiled
        gate.set()
        assert future is not None
        assert future.result(timeout=30)[0].shape == (1, 64, 64, 1)
        assert (64, 64, 1) not in ov._free
