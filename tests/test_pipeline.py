"""Pipeline and run_source on real files with the tiny contract model."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from inspector.core.backends.base import BackendKind, ModelLoadError
from inspector.core.backends.select import select_backend
from inspector.core.demo import DemoSource, make_source
from inspector.core.model_card import load_card
from inspector.core.pipeline import Pipeline, run_source
from inspector.core.progress import SimpleState
from inspector.core.recipe import Recipe
from inspector.core.sources.folder import FolderSource
from inspector.core.types import InspectionResult, Verdict


@pytest.fixture
def pipeline(tiny_model: Path) -> Pipeline:
    backend = select_backend(BackendKind.AUTO, tiny_model)
    return Pipeline(backend, load_card(tiny_model), Recipe())


def test_folder_run_gives_expected_verdicts_and_timings(pipeline: Pipeline, image_folder: Path) -> None:
    results: list[InspectionResult] = []
    summary = run_source(FolderSource(image_folder), pipeline, results.append, SimpleState())
    assert [r.decision.verdict for r in results] == [Verdict.OK, Verdict.NG] * 3
    assert summary.counts == {"OK": 3, "NG": 3, "REVIEW": 0, "ERROR": 0}
    assert summary.yield_pct == pytest.approx(50.0)
    for r in results:
        assert r.prob_map.shape == r.frame.image.shape[:2]
        assert r.prob_map.dtype == np.float32
        assert set(r.timings_ms) >= {"read", "preprocess", "infer", "postprocess", "total"}
        assert r.model_sha256 == pipeline.card.sha256
        assert len(r.model_sha256) == 64
        assert r.backend == "onnxruntime"
        assert (r.recipe_name, r.recipe_version, r.threshold) == ("default", 1, 0.5)
    assert set(summary.stage_stats()) >= {"infer", "total"}


def test_bad_files_are_reported_and_the_run_goes_on(pipeline: Pipeline, image_folder: Path) -> None:
    (image_folder / "img_002b.png").write_bytes(b"")
    (image_folder / "img_003b.png").write_text("hello")
    results: list[InspectionResult] = []
    errors = []
    summary = run_source(
        FolderSource(image_folder), pipeline, results.append, SimpleState(), on_error=errors.append
    )
    # every part ends in the sink: the two bad files as ERROR verdicts, never skipped
    assert len(results) == 8
    assert summary.counts["ERROR"] == 2 == len(errors) == len(summary.errors)
    assert all("img_00" in e.frame.key and e.decision.verdict is Verdict.ERROR for e in errors)
    assert all(e.prob_map is None and e.error_stage == "read" for e in errors)


def test_limit_and_cancel(pipeline: Pipeline, image_folder: Path) -> None:
    results: list[InspectionResult] = []
    summary = run_source(FolderSource(image_folder), pipeline, results.append, SimpleState(), limit=2)
    assert summary.inspected == 2

    state = SimpleState()

    def sink(r: InspectionResult) -> None:
        results.append(r)
        if len(results) >= 3:
            state.cancel()

    results.clear()
    summary = run_source(FolderSource(image_folder), pipeline, sink, state)
    assert summary.cancelled
    # the frames already taken when the sink cancelled still end as results, each once, in order
    assert 3 <= summary.inspected == len(results) <= 6
    assert [r.frame.path.name for r in results] == [f"img_{i:03d}.png" for i in range(len(results))]


def test_recipe_swap_between_frames_is_recorded(pipeline: Pipeline, image_folder: Path) -> None:
    from inspector.core.image_io import read_image
    from tests.fakes.batch_backend import TrickleSource, frame

    results: list[InspectionResult] = []
    # a line that sends the next part once the last verdict is out: each swap lands in between
    source = TrickleSource([frame(i, read_image(p)[0]) for i, p in enumerate(sorted(image_folder.iterdir()))])

    def sink(r: InspectionResult) -> None:
        results.append(r)
        pipeline.recipe = pipeline.recipe.evolve(min_area_px=10_000)
        source.delivered()

    run_source(source, pipeline, sink, SimpleState())
    assert not source.timed_out
    assert [r.recipe_version for r in results] == [1, 2, 3, 4, 5, 6]
    assert results[1].decision.verdict is Verdict.OK  # defect image, but too small for v2


def test_sixteen_bit_and_color_images_map_back_to_original_size(pipeline: Pipeline, tmp_path: Path) -> None:
    from tests.tiny_model import synthetic_image

    img8, _ = synthetic_image(48, defect=True, seed=3)
    cv2.imwrite(str(tmp_path / "a16.png"), img8.astype(np.uint16) * 257)
    cv2.imwrite(str(tmp_path / "b_rgb.png"), cv2.cvtColor(img8, cv2.COLOR_GRAY2BGR))
    cv2.imwrite(str(tmp_path / "c_rgba.png"), cv2.cvtColor(img8, cv2.COLOR_GRAY2BGRA))
    results: list[InspectionResult] = []
    run_source(FolderSource(tmp_path), pipeline, results.append, SimpleState())
    assert len(results) == 3
    assert all(r.decision.verdict is Verdict.NG for r in results)
    areas = {r.decision.regions[0].area_px for r in results}
    assert len(areas) == 1  # same picture, same defect whatever the encoding
    assert all(r.prob_map.shape == (48, 48) for r in results)


def test_demo_source_is_deterministic_and_finite() -> None:
    a = [f.image for f in DemoSource(n=3).frames(lambda: False)]
    b = [f.image for f in make_source("demo:3").frames(lambda: False)]
    assert len(a) == 3
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    with pytest.raises(ValueError, match="demo"):
        make_source("demo:many")


def test_wrong_models_are_refused_with_a_clear_message(tmp_path: Path) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x08\x01garbage")
    with pytest.raises(ModelLoadError, match=r"junk\.onnx"):
        select_backend("onnxruntime", junk)
    with pytest.raises(ModelLoadError, match="not found"):
        select_backend("onnxruntime", tmp_path / "missing.onnx")

    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    other = tmp_path / "other.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(other))
    with pytest.raises(ModelLoadError, match="expected input 'image'"):
        select_backend("onnxruntime", other)


def test_auto_falls_back_to_onnxruntime_with_a_notice(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # TensorRT installed but no engine for this model: the notice says why it is not used (without
    # TensorRT installed auto says nothing about it: tests/test_backend_select.py)
    from inspector.core.backends import select

    monkeypatch.setattr(select, "tensorrt_installed", lambda: True)
    backend = select_backend("auto", tiny_model)
    info = backend.info()
    assert info.name == "onnxruntime"
    assert "TensorRT" in info.notice
