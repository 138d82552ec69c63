"""run_source's overlapped stages and micro-batching: order, fail safety, modes, cancel.

A fake backend records every call (tests/fakes/batch_backend.py); nothing here is timed.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from inspector.core.batching import ACCELERATOR_MAX_BATCH, ENV_BATCHING, BatchPolicy
from inspector.core.pipeline import Pipeline, run_source
from inspector.core.progress import SimpleState
from inspector.core.recipe import Recipe
from inspector.core.types import Frame, FrameError, InspectionResult, Verdict
from tests.fakes.batch_backend import (
    NAN_MARK,
    POISON,
    ListSource,
    RecordingBackend,
    TrickleSource,
    fake_card,
    frame,
    make_image,
)

# throughput with a fill wait no test reaches: every batch is as full as the source allows
FULL = BatchPolicy("throughput", max_batch=4, fill_ms=60_000)


def _pipeline(backend: RecordingBackend | None = None, **card: object) -> Pipeline:
    return Pipeline(backend or RecordingBackend(), fake_card(**card), Recipe())  # type: ignore[arg-type]


def _frames(n: int, size: int | tuple[int, int] = 64, marks: dict[int, int] | None = None) -> list[Frame]:
    marks = marks or {}
    return [frame(i, make_image(size, defect=bool(i % 2), mark=marks.get(i, 60), seed=i)) for i in range(n)]


def _run(source: ListSource, pipeline: Pipeline, policy: BatchPolicy, **kw: object) -> list[InspectionResult]:
    results: list[InspectionResult] = []
    run_source(source, pipeline, results.append, SimpleState(), batching=policy, **kw)  # type: ignore[arg-type]
    return results


def _expected(i: int) -> Verdict:
    return Verdict.NG if i % 2 else Verdict.OK


def test_order_and_verdicts_are_kept_under_batching() -> None:
    backend = RecordingBackend()
    frames = _frames(23)
    results = _run(ListSource(frames), _pipeline(backend), FULL)
    assert [r.frame.key for r in results] == [f.key for f in frames]
    assert [r.decision.verdict for r in results] == [_expected(i) for i in range(23)]
    assert backend.batch_sizes == [4, 4, 4, 4, 4, 3]
    assert backend.threads == {threading.get_ident()}  # the model runs on the caller's thread only
    for f, r in zip(frames, results, strict=True):
        assert r.prob_map is not None
        assert r.prob_map.shape == f.image.shape  # type: ignore[union-attr]
        assert {"read", "preprocess", "infer", "postprocess", "total"} <= set(r.timings_ms)


def test_batched_maps_equal_single_frame_inspection() -> None:
    frames = _frames(6)
    batched = _run(ListSource(frames), _pipeline(), FULL)
    single = [_pipeline().inspect(f) for f in frames]
    for a, b in zip(batched, single, strict=True):
        np.testing.assert_array_equal(a.prob_map, b.prob_map)
        assert a.decision == b.decision


def test_mixed_shapes_split_into_same_shape_calls() -> None:
    backend = RecordingBackend()
    sizes = [64, 64, 48, 48, 48, (32, 80), 64, 64]
    frames = [frame(i, make_image(s, defect=True, seed=i)) for i, s in enumerate(sizes)]
    results = _run(ListSource(frames), _pipeline(backend), FULL)
    assert backend.calls == [(2, 64, 64, 1), (3, 48, 48, 1), (1, 32, 80, 1), (2, 64, 64, 1)]
    assert [r.frame.key for r in results] == [f.key for f in frames]
    assert [r.prob_map.shape for r in results] == [f.image.shape for f in frames]  # type: ignore[union-attr]
    assert all(r.decision.verdict is Verdict.NG for r in results)


def test_a_failing_batch_is_retried_frame_by_frame_and_only_the_bad_frame_is_error() -> None:
    backend = RecordingBackend()
    frames = _frames(8, marks={5: POISON})
    results = _run(ListSource(frames), _pipeline(backend), FULL)
    assert backend.batch_sizes == [4, 4, 1, 1, 1, 1]
    verdicts = [r.decision.verdict for r in results]
    assert verdicts == [Verdict.ERROR if i == 5 else _expected(i) for i in range(8)]
    bad = results[5]
    assert bad.error_stage == "infer"
    assert "poisoned" in bad.decision.reasons[0]
    assert bad.prob_map is None


def test_nan_in_one_frame_of_a_batch_makes_only_that_frame_error() -> None:
    backend = RecordingBackend()
    frames = _frames(8, marks={2: NAN_MARK})
    results = _run(ListSource(frames), _pipeline(backend), FULL)
    assert backend.batch_sizes == [4, 1, 4]  # the NaN frame was run again alone
    verdicts = [r.decision.verdict for r in results]
    assert verdicts == [Verdict.ERROR if i == 2 else _expected(i) for i in range(8)]
    assert results[2].error_stage == "output"
    assert "non-finite" in results[2].decision.reasons[0]


def test_a_batch_output_of_the_wrong_shape_is_retried_singly() -> None:
    backend = RecordingBackend(wrong_shape_for_batches=True)
    results = _run(ListSource(_frames(4)), _pipeline(backend), FULL)
    assert backend.batch_sizes == [4, 1, 1, 1, 1]
    assert [r.decision.verdict for r in results] == [_expected(i) for i in range(4)]


def test_latency_mode_runs_every_frame_alone() -> None:
    backend = RecordingBackend()
    results = _run(ListSource(_frames(9)), _pipeline(backend), BatchPolicy("latency", max_batch=8))
    assert backend.batch_sizes == [1] * 9
    assert [r.decision.verdict for r in results] == [_expected(i) for i in range(9)]


def test_auto_never_waits_for_a_batch_a_trickle_runs_one_by_one() -> None:
    backend = RecordingBackend()
    source = TrickleSource(_frames(6))
    results: list[InspectionResult] = []

    def sink(r: InspectionResult) -> None:
        results.append(r)
        source.delivered()

    # had the run waited for a second frame to fill a batch, the source (which waits for the
    # first frame's result) would have timed out
    run_source(source, _pipeline(backend), sink, SimpleState(), batching=BatchPolicy("auto", 8))
    assert not source.timed_out
    assert backend.batch_sizes == [1] * 6
    assert len(results) == 6


def test_auto_batches_grow_up_to_max_when_frames_queue_up() -> None:
    gate = threading.Event()
    backend = RecordingBackend(first_call_gate=gate)
    policy = BatchPolicy("auto", max_batch=4)
    # the first call waits until the source has yielded 5 more frames: they queue up meanwhile
    source = ListSource(_frames(20), after_yield=lambda i: gate.set() if i >= 5 else None)
    results = _run(source, _pipeline(backend), policy)
    assert not backend.gate_timed_out
    assert max(backend.batch_sizes) == 4
    assert all(1 <= n <= 4 for n in backend.batch_sizes)
    assert sum(backend.batch_sizes) == 20
    assert [r.frame.key for r in results] == source.yielded


@pytest.mark.parametrize(("device", "expected"), [("CPU", [1] * 10), ("GPU 0", [8, 2])])
def test_by_default_a_cpu_runs_frames_alone_an_accelerator_batches(device: str, expected: list[int]) -> None:
    backend = RecordingBackend(device=device)
    results = _run(ListSource(_frames(10)), _pipeline(backend), BatchPolicy("throughput", fill_ms=60_000))
    assert backend.batch_sizes == expected
    assert [r.decision.verdict for r in results] == [_expected(i) for i in range(10)]


def test_the_backend_limit_caps_the_batch() -> None:
    backend = RecordingBackend(max_batch=3)
    _run(ListSource(_frames(7)), _pipeline(backend), FULL)
    assert backend.batch_sizes == [3, 3, 1]


def test_live_sources_run_one_frame_per_call() -> None:
    backend = RecordingBackend()
    results = _run(ListSource(_frames(5), live=True), _pipeline(backend), FULL)
    assert backend.batch_sizes == [1] * 5
    assert len(results) == 5


def test_every_yielded_item_gets_exactly_one_result_in_order() -> None:
    items: list[Frame | FrameError] = [
        frame(0, make_image(64, defect=True)),
        FrameError(key="test#0001", source="test", message="cannot decode"),
        frame(2, None),  # no image data
        frame(3, make_image(64, mark=POISON)),
        frame(4, np.zeros((2, 2, 2, 2), np.uint8)),  # cannot be prepared
        frame(5, make_image(48, mark=NAN_MARK)),
        frame(6, make_image(64)),
        frame(7, make_image((64, 200), defect=True)),
        frame(8, np.zeros((64, 64, 3), np.uint16)),  # colour, 16-bit
        frame(9, make_image(64, defect=True)),
    ]
    source = ListSource(items)
    state = SimpleState()
    results: list[InspectionResult] = []
    errors: list[InspectionResult] = []
    summary = run_source(source, _pipeline(), results.append, state, on_error=errors.append, batching=FULL)
    assert [r.frame.key for r in results] == source.yielded == [i.key for i in items]
    stages = {r.frame.key: r.error_stage for r in results if r.is_error}
    assert stages == {
        "test#0001": "read",
        "test#0002": "read",
        "test#0003": "infer",
        "test#0004": "preprocess",
        "test#0005": "output",
    }
    assert [e.frame.key for e in errors] == list(stages)
    assert summary.inspected == 10
    assert summary.n_errors == 5
    assert state.done == 10
    verdicts = [r.decision.verdict for r in results if not r.is_error]
    assert verdicts == [Verdict.NG, Verdict.OK, Verdict.NG, Verdict.OK, Verdict.NG]


def test_resume_skips_are_counted_in_order_between_batches() -> None:
    frames = _frames(10)
    done = {frames[i].key for i in (1, 2, 6)}
    progress: list[tuple[int, str]] = []

    class State(SimpleState):
        def progress(self, n: int, total: int | None, message: str = "") -> None:
            progress.append((n, message))

    results: list[InspectionResult] = []
    summary = run_source(
        ListSource(frames),
        _pipeline(),
        results.append,
        State(),
        already_done=lambda item: item.key in done,
        batching=FULL,
    )
    assert [r.frame.key for r in results] == [f.key for f in frames if f.key not in done]
    assert summary.skipped == 3
    assert progress == [(i + 1, f.key) for i, f in enumerate(frames)]


def test_cancel_mid_run_stops_taking_frames_and_finishes_those_taken() -> None:
    frames = _frames(400)
    source = ListSource(frames)
    state = SimpleState()
    results: list[InspectionResult] = []

    def sink(r: InspectionResult) -> None:
        results.append(r)
        if len(results) == 5:
            state.cancel()

    summary = run_source(source, _pipeline(), sink, state, batching=FULL)
    assert summary.cancelled
    # in flight when the sink cancelled: at most a batch being run and the two bounded queues
    assert 5 <= len(results) <= 5 + 3 * (FULL.max_batch + 2)
    assert [r.frame.key for r in results] == [f.key for f in frames[: len(results)]]  # exactly once, in order
    assert len(source.yielded) < 400


def test_limit_counts_items_taken() -> None:
    backend = RecordingBackend()
    results = _run(ListSource(_frames(10)), _pipeline(backend), FULL, limit=6)
    assert len(results) == 6
    assert sum(backend.batch_sizes) == 6


def test_a_blocking_progress_holds_results_back_one_at_a_time() -> None:
    """A pause blocks inside progress(): no further result reaches the sink before it returns."""
    log: list[str] = []

    class State(SimpleState):
        def progress(self, n: int, total: int | None, message: str = "") -> None:
            log.append("progress")

    def sink(r: InspectionResult) -> None:
        log.append("sink")

    run_source(ListSource(_frames(9)), _pipeline(), sink, State(), batching=FULL)
    assert log == ["sink", "progress"] * 9


def test_a_failing_sink_ends_the_run_with_its_error() -> None:
    delivered: list[str] = []

    def sink(r: InspectionResult) -> None:
        if len(delivered) == 3:
            raise RuntimeError("writer closed")
        delivered.append(r.frame.key)

    with pytest.raises(RuntimeError, match="writer closed"):
        run_source(ListSource(_frames(50)), _pipeline(), sink, SimpleState(), batching=FULL)
    assert delivered == [f"test#{i:04d}" for i in range(3)]


def test_a_source_error_is_raised_after_the_items_before_it_got_their_results() -> None:
    results: list[InspectionResult] = []
    with pytest.raises(OSError, match="source broke"):
        run_source(
            ListSource(_frames(10), fail_after=6), _pipeline(), results.append, SimpleState(), batching=FULL
        )
    assert [r.frame.key for r in results] == [f"test#{i:04d}" for i in range(6)]


def test_admit_runs_on_the_backend_thread_in_order_and_can_block_the_station() -> None:
    seen: list[tuple[str, int]] = []

    class Guarded(Pipeline):
        def admit(self, frame: Frame) -> None:
            seen.append((frame.key, threading.get_ident()))
            if frame.seq == 4:
                self.blocked = "self-test failed"

    backend = RecordingBackend()
    pipe = Guarded(backend, fake_card(), Recipe())
    results = _run(ListSource(_frames(8)), pipe, FULL)
    assert [k for k, _ in seen] == [f"test#{i:04d}" for i in range(8)]
    assert {t for _, t in seen} == {threading.get_ident()}
    assert [r.error_stage for r in results] == [""] * 4 + ["selftest"] * 4
    assert sum(backend.batch_sizes) == 4


def test_a_pipeline_with_its_own_inspect_still_gets_every_frame() -> None:
    class Own(Pipeline):
        calls = 0

        def inspect(self, frame: Frame, read_ms: float = 0.0) -> InspectionResult:
            Own.calls += 1
            return super().inspect(frame, read_ms)

    backend = RecordingBackend()
    results = _run(ListSource(_frames(5)), Own(backend, fake_card(), Recipe()), FULL)
    assert Own.calls == 5
    assert backend.batch_sizes == [1] * 5
    assert [r.decision.verdict for r in results] == [_expected(i) for i in range(5)]


def test_tiled_images_run_alone_between_batches() -> None:
    backend = RecordingBackend()
    pipe = _pipeline(backend, size=64, resize="pad")
    big = make_image((100, 150), defect=True, seed=9)
    frames = [
        frame(0, make_image(64, seed=0)),
        frame(1, make_image(48, seed=1)),
        frame(2, big),
        frame(3, make_image(64, seed=3)),
        frame(4, make_image(64, seed=4, defect=True)),
    ]
    results = _run(ListSource(frames), pipe, FULL)
    calls = list(backend.calls)
    assert [r.frame.key for r in results] == [f.key for f in frames]
    assert not any(r.is_error for r in results)
    assert results[2].prob_map.shape == (100, 150)  # type: ignore[union-attr]
    np.testing.assert_array_equal(results[2].prob_map, pipe.infer_prob(big)[0])
    assert results[2].decision.verdict is Verdict.NG
    # the two frames before the tiled one share a call (48 px is padded to the card's 64), the
    # tiled image's tiles come next, then the last two frames share a call
    assert calls[0] == calls[-1] == (2, 64, 64, 1)
    assert len(calls) > 2
    assert all(c[1:] == (64, 64, 1) for c in calls)


def test_resize_cards_batch_and_restore_to_each_image_size() -> None:
    backend = RecordingBackend()
    pipe = _pipeline(backend, size=32, resize="resize")
    frames = [frame(i, make_image(s, defect=True, seed=i)) for i, s in enumerate([64, 48, (40, 90), 64])]
    results = _run(ListSource(frames), pipe, FULL)
    assert backend.calls == [(4, 32, 32, 1)]  # one tensor size for every image
    assert [r.prob_map.shape for r in results] == [f.image.shape for f in frames]  # type: ignore[union-attr]
    for f, r in zip(frames, results, strict=True):
        np.testing.assert_allclose(r.prob_map, pipe.infer_prob(f.image)[0], atol=1e-6)  # type: ignore[arg-type]


def test_tiny_onnx_model_batched_equals_one_by_one(tiny_model: Path, image_folder: Path) -> None:
    from inspector.core.backends.select import select_backend
    from inspector.core.model_card import load_card
    from inspector.core.sources.folder import FolderSource

    backend = select_backend("onnxruntime", tiny_model)
    pipe = Pipeline(backend, load_card(tiny_model), Recipe())
    results: list[InspectionResult] = []
    summary = run_source(FolderSource(image_folder), pipe, results.append, SimpleState(), batching=FULL)
    assert summary.batch_frames[1] < 6  # at least one call ran more than one frame
    for r in results:
        ref, _ = pipe.infer_prob(r.frame.image)  # type: ignore[arg-type]
        np.testing.assert_allclose(r.prob_map, ref, atol=1e-6)
    assert [r.decision.verdict for r in results] == [Verdict.OK, Verdict.NG] * 3


def test_the_batching_setting_parses_and_refuses_nonsense(monkeypatch: pytest.MonkeyPatch) -> None:
    assert BatchPolicy.parse("latency:8").limit("GPU") == 1
    assert BatchPolicy.parse("throughput:8") == BatchPolicy("throughput", 8)
    assert BatchPolicy.parse("auto") == BatchPolicy()
    assert BatchPolicy().limit("CPU") == 1  # the backend's default: nothing to gain on a CPU
    assert BatchPolicy().limit("NVIDIA H200") == BatchPolicy("auto", ACCELERATOR_MAX_BATCH).limit("CPU") > 1
    monkeypatch.setenv(ENV_BATCHING, "throughput:2")
    assert _pipeline().batching == BatchPolicy("throughput", 2)
    monkeypatch.setenv(ENV_BATCHING, "fast")
    with pytest.raises(ValueError, match=ENV_BATCHING):
        _pipeline()
    for bad in ("auto:0", "auto:x"):
        with pytest.raises(ValueError, match="batch"):
            BatchPolicy.parse(bad)


def test_cli_batching_option_logs_every_part_and_refuses_nonsense(
    tiny_model: Path, image_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    from inspector.cli import exitcodes
    from tests.test_cli import _inspect

    for policy, db in (("throughput:3", tmp_path / "t.db"), ("latency", tmp_path / "l.db")):
        assert _inspect(image_folder, tiny_model, db, "--batching", policy) == exitcodes.DEFECTS
        with sqlite3.connect(db) as con:
            rows = con.execute("select source_key, verdict from inspection order by id").fetchall()
        assert [Path(k).name for k, _ in rows] == [f"img_{i:03d}.png" for i in range(6)]
        assert [v for _, v in rows] == ["OK", "NG"] * 3
    capsys.readouterr()
    assert _inspect(image_folder, tiny_model, tmp_path / "x.db", "--batching", "fast") == exitcodes.USAGE
    assert "batching mode 'fast'" in capsys.readouterr().err
