"""Fail-safe, item 2: every pixel of every image is inspected, on every backend.

Findings reproduced here (each failed before inspector/core/tiling.py):
- a ``pad`` card smaller than the image inspected only its top-left crop: a defect
  in the bottom-right came out OK;
- TensorRT engines took only the card's exact H x W: any other frame size raised,
  while ONNX Runtime inspected it;
- an image too large for one inference ran into an allocation failure instead of
  being tiled within a memory budget derived from the model.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspector.core.backends.onnxruntime_backend import OnnxRuntimeBackend
from inspector.core.model_card import load_card
from inspector.core.pipeline import Pipeline
from inspector.core.recipe import Recipe
from inspector.core.rules import decide
from inspector.core.types import Verdict
from tests.fakes import support as S
from tests.tiny_model import build_tiny_model

REPO = Path(__file__).resolve().parents[2]
DAGM_MODEL = REPO / "resources" / "models" / "dagm-class1" / "model.onnx"
# the DAGM 2007 class 1 Train folder (never copied into the repository): $INSPECTOR_TEST_DAGM, else
# $DATASETS/dagm2007-class1/Class1/Train (docs/datasets.md); skipped where neither is there
_DATASETS = os.environ.get("DATASETS")
DAGM_DATA = Path(
    os.environ.get("INSPECTOR_TEST_DAGM")
    or (Path(_DATASETS) / "dagm2007-class1" / "Class1" / "Train" if _DATASETS else REPO / "no-dagm-data")
)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data directory per module: the model-footprint cache is measured once per model."""
    return tmp_path_factory.mktemp("data")


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    monkeypatch.setenv("INSPECTOR_DATA_DIR", str(data_dir))
    monkeypatch.delenv("INSPECTOR_MEMORY_BUDGET_MB", raising=False)
    monkeypatch.delenv("INSPECTOR_MEMORY_FRACTION", raising=False)


def _part(h: int, w: int, defect_at: tuple[int, int] | None = None, seed: int = 0) -> np.ndarray:
    """A dark texture (uint8), with a bright ellipse centred at ``defect_at`` (y, x)."""
    rng = np.random.default_rng(seed)
    img = rng.normal(70, 12, (h, w)).clip(0, 255).astype(np.uint8)
    if defect_at is not None:
        mask = np.zeros((h, w), np.uint8)
        cv2.ellipse(mask, (defect_at[1], defect_at[0]), (9, 6), 30, 0, 360, 255, -1)
        img[mask > 0] = 240
    return img


def _set_card(model: Path, **fields: object) -> None:
    card_path = model.with_suffix(".json")
    card = json.loads(card_path.read_text(encoding="utf-8"))
    card.update(fields)
    card_path.write_text(json.dumps(card), encoding="utf-8")


def _graph_model(path: Path, body: str, card: dict) -> Path:
    """A contract model whose output is ``ones`` (1 everywhere) or ``identity`` (its input)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    if body == "ones":
        nodes = [
            helper.make_node("Mul", ["image", "zero"], ["z"]),
            helper.make_node("Add", ["z", "one"], ["mask"]),
        ]
        inits = [
            numpy_helper.from_array(np.zeros((1,), np.float32), "zero"),
            numpy_helper.from_array(np.ones((1,), np.float32), "one"),
        ]
    else:
        nodes, inits = [helper.make_node("Identity", ["image"], ["mask"])], []
    dims = ["N", "H", "W", 1]
    graph = helper.make_graph(
        nodes,
        body,
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info("mask", TensorProto.FLOAT, dims)],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    path.with_suffix(".json").write_text(json.dumps({"name": body, **card}), encoding="utf-8")
    return path


def _ort_pipeline(model: Path) -> Pipeline:
    backend = OnnxRuntimeBackend(threads=1)
    backend.load(model)
    return Pipeline(backend, load_card(model), Recipe())


@pytest.fixture(scope="module")
def pad_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pad") / "tiny-pad.onnx"
    return build_tiny_model(
        path, card={"resize": "pad", "input_height": 64, "input_width": 64, "multiple": 16}
    )


# ---------------------------------------------------------------- finding 1: pad cards
def test_defect_in_the_bottom_right_beyond_a_pad_cards_input_is_found(pad_model: Path) -> None:
    pipeline = _ort_pipeline(pad_model)
    img = _part(200, 300, defect_at=(170, 265))
    prob, timings = pipeline.infer_prob(img)
    assert prob.shape == (200, 300)
    assert prob.dtype == np.float32
    assert set(timings) == {"preprocess", "infer", "restore"}
    decision = decide(prob, Recipe())
    assert decision.verdict is Verdict.NG  # was OK: only the top-left 64x64 was inspected
    ys, xs = np.nonzero(prob >= 0.5)
    assert abs(ys.mean() - 170) < 3
    assert abs(xs.mean() - 265) < 3
    clean, _ = pipeline.infer_prob(_part(200, 300))
    assert decide(clean, Recipe()).verdict is Verdict.OK


def test_tiled_map_equals_the_whole_image_map(pad_model: Path, tmp_path: Path) -> None:
    """The tiny model sees 3x3 pixels: stitched tiles must give exactly the whole-image result."""
    whole_model = build_tiny_model(tmp_path / "whole.onnx", card={"resize": "native", "multiple": 16})
    img = _part(333, 517, defect_at=(300, 500))
    tiled, _ = _ort_pipeline(pad_model).infer_prob(img)
    whole, _ = _ort_pipeline(whole_model).infer_prob(img)
    np.testing.assert_allclose(tiled, whole, atol=1e-6)


@pytest.mark.parametrize("resize", ["pad", "native"])
@pytest.mark.parametrize(("h", "w"), [(1, 1), (64, 64), (65, 64), (300, 700), (1100, 900), (17, 2000)])
def test_tiles_cover_every_pixel(tmp_path: Path, resize: str, h: int, w: int) -> None:
    from inspector.core.tiling import ModelFootprint, Tiler

    card = {"resize": resize, "input_height": 64, "input_width": 96, "multiple": 16}
    ones = load_card(_graph_model(tmp_path / "ones.onnx", "ones", card))
    ident = load_card(_graph_model(tmp_path / "ident.onnx", "identity", card))
    # a budget of 96x96 pixels per model call, so native images above it are tiled too
    small = {"footprint": ModelFootprint(100.0, margin_px=5), "budget_bytes": 100 * 96 * 96}
    calls: list[tuple[int, ...]] = []

    def run_ones(batch: np.ndarray) -> np.ndarray:
        calls.append(batch.shape)
        return np.ones_like(batch)

    img = np.random.default_rng(h * w).integers(0, 256, (h, w), dtype=np.uint8)
    prob, _ = Tiler(ones, run_ones, **small).infer(img)
    assert prob.shape == (h, w)
    assert prob.dtype == np.float32
    assert prob.min() == 1.0  # every pixel came from some tile
    assert all(n * th * tw <= 96 * 96 or (th, tw) == (64, 96) for n, th, tw, _ in calls)
    # identity: each pixel must land where it came from
    prob, _ = Tiler(ident, lambda b: b.copy(), **small).infer(img)
    np.testing.assert_allclose(prob, img / 255.0, atol=1e-6)


def test_plans_overlap_on_the_models_grid_and_keep_its_receptive_margin(pad_model: Path) -> None:
    from inspector.core.tiling import ModelFootprint, Tiler, stitch_cuts, tile_origins

    card = load_card(pad_model).model_copy(update={"input_height": 256, "input_width": 256})
    tiler = Tiler(card, lambda b: b, footprint=ModelFootprint(500.0, margin_px=94), budget_bytes=1 << 30)
    plan = tiler.plan((512, 512))
    # margin 94 capped at a quarter tile: overlap 128, i.e. tiles at 0, 128, 256 (on the 16 grid)
    assert plan.ys == plan.xs == (0, 128, 256)
    assert plan.overlap == (128, 128)
    assert plan.covers_every_pixel()
    assert stitch_cuts(plan.ys, 256, 512) == (0, 192, 320, 512)
    for length in (257, 600, 1000, 4099):
        o = tile_origins(length, 256, 64, 16)
        assert o[0] == 0
        assert o[-1] + 256 == length
        assert all(b - a <= 256 - 64 for a, b in itertools.pairwise(o))
    assert tile_origins(100, 256, 64) == (0,)


def test_restore_still_refuses_a_wrong_output_shape(pad_model: Path) -> None:
    from inspector.core.tiling import Tiler

    card = load_card(pad_model)
    for resize in ("pad", "resize", "native"):
        c = card.model_copy(update={"resize": resize})
        tiler = Tiler(c, lambda b: np.zeros((b.shape[0], 32, 32, 1), np.float32), budget_bytes=1 << 30)
        with pytest.raises(ValueError, match="does not match"):
            tiler.infer(_part(64, 64))


# ---------------------------------------------------------------- finding 3: memory budget
def test_footprint_is_measured_from_the_model_and_cached(
    pad_model: Path, tmp_path: Path, monkeypatch
) -> None:
    from inspector.core import tiling

    monkeypatch.setattr(tiling, "_MEMO", {})
    card = load_card(pad_model)
    fp = tiling.model_footprint(pad_model, card, cache_dir=tmp_path)
    assert fp.method.startswith("measured")
    assert fp.bytes_per_pixel > 1.0
    assert fp.margin_px is not None
    assert fp.margin_px <= 3  # a 3x3 convolution sees one pixel around
    assert (tmp_path / f"{card.sha256}.json").is_file()
    monkeypatch.setattr(tiling, "_MEMO", {})

    def boom(*a: object, **k: object) -> None:
        raise AssertionError("must come from the cache")

    monkeypatch.setattr(tiling, "measure_footprint", boom)
    assert tiling.model_footprint(pad_model, card, cache_dir=tmp_path) == fp


def test_an_image_above_the_budget_is_tiled_not_run_whole(tmp_path: Path, monkeypatch) -> None:
    model = build_tiny_model(tmp_path / "native.onnx", card={"resize": "native", "multiple": 16})
    reference = _ort_pipeline(model)
    img = _part(700, 900, defect_at=(650, 850))
    whole, _ = reference.infer_prob(img)  # the default budget takes 700x900 in one call

    monkeypatch.setenv("INSPECTOR_MEMORY_BUDGET_MB", "2")
    pipeline = _ort_pipeline(model)
    seen: list[tuple[int, ...]] = []
    infer = pipeline.backend.infer
    monkeypatch.setattr(pipeline.backend, "infer", lambda b: seen.append(b.shape) or infer(b))
    prob, _ = pipeline.infer_prob(img)
    fp = pipeline._tiler.model_footprint()
    max_px = fp.max_pixels(2 << 20)
    assert 64 * 64 <= max_px < 700 * 900
    assert len(seen) > 1, "tiled"
    assert all(n * h * w <= max_px for n, h, w, _ in seen), "no call above the budget"
    np.testing.assert_allclose(prob, whole, atol=1e-6)
    assert decide(prob, Recipe()).verdict is Verdict.NG


def test_an_image_that_cannot_fit_even_in_tiles_is_refused_clearly(pad_model: Path) -> None:
    from inspector.core.tiling import MAX_IMAGE_PIXELS, ImageTooLargeError, ModelFootprint, Tiler

    card = load_card(pad_model)
    greedy = ModelFootprint(1e6, margin_px=1)  # 1 MB per pixel: no 64x64 tile fits 1 GiB
    for resize in ("pad", "native"):
        tiler = Tiler(
            card.model_copy(update={"resize": resize}), lambda b: b, footprint=greedy, budget_bytes=1 << 30
        )
        with pytest.raises(ImageTooLargeError, match="memory budget") as err:
            tiler.infer(_part(300, 300))
        assert isinstance(err.value, ValueError)  # the pipeline makes it an ERROR verdict
    tiler = Tiler(card, lambda b: b, footprint=ModelFootprint(1.0), budget_bytes=1 << 40)
    huge = np.broadcast_to(np.uint8(0), (40000, 40000))  # 1.6 Gpixel, never allocated
    assert huge.size > MAX_IMAGE_PIXELS
    with pytest.raises(ImageTooLargeError, match="absolute limit"):
        tiler.infer(huge)


def test_memory_budget_is_configurable(monkeypatch) -> None:
    from inspector.core.tiling import available_memory_bytes, memory_budget_bytes

    avail = available_memory_bytes()
    assert avail > 0
    monkeypatch.setenv("INSPECTOR_MEMORY_BUDGET_MB", "3")
    assert memory_budget_bytes() == 3 << 20
    monkeypatch.delenv("INSPECTOR_MEMORY_BUDGET_MB")
    monkeypatch.setenv("INSPECTOR_MEMORY_FRACTION", "0.25")
    assert 0 < memory_budget_bytes() <= avail // 4 + (64 << 20)
    monkeypatch.setenv("INSPECTOR_MEMORY_FRACTION", "2")
    with pytest.raises(ValueError, match="fraction"):
        memory_budget_bytes()


def test_trainer_evaluation_inspects_whole_images_too(pad_model: Path) -> None:
    from trainer.evaluate import OnnxPredictor

    prob = OnnxPredictor(pad_model)(_part(200, 300, defect_at=(170, 265)))
    assert prob.shape == (200, 300)
    assert prob[160:180, 255:275].max() > 0.9


# ---------------------------------------------------------------- finding 2: TensorRT frame sizes
def _trt_model(tmp_path: Path, resize: str) -> Path:
    model = S.make_model(tmp_path / "m.onnx", card_hw=(128, 128))
    _set_card(model, resize=resize, multiple=16)
    return model


@pytest.mark.parametrize("resize", ["native", "pad"])
def test_trt_takes_any_frame_size_and_agrees_with_onnxruntime(
    tmp_path: Path, monkeypatch, resize: str
) -> None:
    S.install_fakes(monkeypatch)
    from inspector.core.backends.tensorrt_backend import TensorRTBackend
    from inspector.services.engine.build import build_engine

    model = _trt_model(tmp_path, resize)
    sc = build_engine(model, precision="fp32", max_batch=4, max_side=256)
    if resize == "native":
        assert (sc.min_hw, (sc.input_height, sc.input_width), sc.max_hw) == ((16, 16), (128, 128), (256, 256))
    else:  # pad tiles are exactly the card's input
        assert sc.min_hw == sc.max_hw == (128, 128)
    assert sc.resize == resize
    card = load_card(model)
    trt = TensorRTBackend(precision="fp32")
    trt.load(model)
    try:
        assert trt.max_input_size == sc.max_hw
        on_trt = Pipeline(trt, card, Recipe())
        on_ort = _ort_pipeline(model)
        for h, w in [(300, 700), (512, 512), (1100, 900), (128, 128), (20, 30)]:
            img = _part(h, w, defect_at=(h - 12, w - 15), seed=h)
            a, _ = on_ort.infer_prob(img)
            b, _ = on_trt.infer_prob(img)  # raised "expected a batch [N, 128, 128, 1]" before
            assert a.shape == b.shape == (h, w)
            np.testing.assert_allclose(a, b, atol=1e-5)
            assert decide(a, Recipe()).verdict == decide(b, Recipe()).verdict == Verdict.NG
        shapes = {s for _, s in trt._context.shape_log}
        assert all(s[1] <= sc.max_hw[0] and s[2] <= sc.max_hw[1] for s in shapes)
        assert all(s[0] <= 4 for s in shapes)
    finally:
        trt.close()


def test_trt_backend_accepts_shapes_inside_the_profile_and_grows_buffers(tmp_path: Path, monkeypatch) -> None:
    _, cuda = S.install_fakes(monkeypatch)
    from inspector.core.backends.tensorrt_backend import TensorRTBackend
    from inspector.services.engine.build import build_engine

    model = _trt_model(tmp_path, "native")
    build_engine(model, precision="fp32", max_batch=2, max_side=96)
    with TensorRTBackend(precision="fp32") as be:
        be.load(model)
        assert (be.min_input_size, be.input_size, be.max_input_size) == ((16, 16), (128, 128), (128, 128))
        for n, h, w in [(1, 32, 48), (2, 128, 128), (1, 16, 16), (3, 64, 80)]:
            x = S.images(n, h, w, seed=h)
            np.testing.assert_allclose(be.infer(x), S.ort_run(model, x), atol=1e-6)
        allocs = cuda.STATS["mem_alloc"]
        be.infer(S.images(1, 48, 48))
        assert cuda.STATS["mem_alloc"] == allocs, "smaller inputs reuse the buffers"
        with pytest.raises(ValueError, match=r"16 <= H <= 128"):
            be.infer(np.zeros((1, 256, 64, 1), np.float32))


def test_trt_empty_batch_gives_an_empty_result(tmp_path: Path, monkeypatch) -> None:
    S.install_fakes(monkeypatch)
    from inspector.core.backends.tensorrt_backend import TensorRTBackend
    from inspector.services.engine.build import build_engine

    model = S.make_model(tmp_path / "m.onnx")
    build_engine(model, precision="fp32", max_batch=4)
    with TensorRTBackend(precision="fp32") as be:
        be.load(model)
        out = be.infer(np.zeros((0, 32, 48, 1), np.float32))  # np.concatenate([]) raised here
        assert out.shape == (0, 32, 48, 1)
        assert out.dtype == np.float32
        assert be._context.executions == 0


def test_fake_profile_refuses_inconsistent_dims_like_tensorrt(monkeypatch) -> None:
    trt, _ = S.install_fakes(monkeypatch)
    builder = trt.Builder(trt.Logger())
    profile = builder.create_optimization_profile()
    with pytest.raises(RuntimeError, match="opt input"):
        profile.set_shape("image", (1, 64, 64, 1), (1, 32, 64, 1), (1, 64, 64, 1))
    with pytest.raises(RuntimeError, match="max input"):
        profile.set_shape("image", (1, 16, 16, 1), (1, 64, 64, 1), (4, 32, 512, 1))
    assert profile.get_shape("image") == []
    profile.set_shape("image", (1, 16, 16, 1), (1, 64, 64, 1), (4, 512, 512, 1))
    assert profile.get_shape("image")[2] == (4, 512, 512, 1)


def test_native_profile_max_comes_from_the_pixel_budget(tmp_path: Path, monkeypatch) -> None:
    S.install_fakes(monkeypatch)
    from inspector.core import tiling
    from inspector.services.engine.build import profile_range

    model = _trt_model(tmp_path, "native")
    card = load_card(model)
    fp = tiling.ModelFootprint(bytes_per_pixel=1000.0, margin_px=1)
    monkeypatch.setattr(tiling, "model_footprint", lambda *a, **k: fp)
    notes: dict = {}
    mn, opt, mx = profile_range(card, max_batch=4, onnx_path=model, memory_fraction=0.5, notes=notes)
    # fake GPU: 24 GiB; half of it at 1000 B/pixel over a batch of 4 -> side 1794, on the 16 grid
    assert (mn, opt, mx) == ((16, 16), (128, 128), (1792, 1792))
    assert notes["profile_budget"]["budget_of"] == "GPU memory"
    assert profile_range(card.model_copy(update={"resize": "pad"}), max_batch=4) == ((128, 128),) * 3


# ---------------------------------------------------------------- DAGM: a pad-mode copy of the real card
@pytest.mark.skipif(not (DAGM_MODEL.is_file() and DAGM_DATA.is_dir()), reason="DAGM model or data absent")
def test_dagm_pad_256_finds_defects_outside_the_top_left_crop(tmp_path: Path) -> None:
    import shutil

    from inspector.core.image_io import read_image

    labels = DAGM_DATA / "Label"
    picked = []
    for mask_path in sorted(labels.glob("*_label.PNG")):
        mask = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
        if mask is not None and mask.any() and not mask[:256, :256].any():
            picked.append(DAGM_DATA / mask_path.name.replace("_label", ""))
        if len(picked) == 2:
            break
    assert picked, "DAGM has defects outside the top-left 256x256"
    model = tmp_path / "model.onnx"
    shutil.copy(DAGM_MODEL, model)
    shutil.copy(DAGM_MODEL.with_suffix(".json"), model.with_suffix(".json"))
    _set_card(model, resize="pad", input_height=256, input_width=256, sha256="")
    full = _ort_pipeline(DAGM_MODEL)
    pad = _ort_pipeline(model)
    for path in picked:
        img = read_image(path)[0]
        a, _ = full.infer_prob(img)
        b, _ = pad.infer_prob(img)
        assert decide(a, Recipe()).verdict == decide(b, Recipe()).verdict == Verdict.NG
        inter = ((a >= 0.5) & (b >= 0.5)).sum()
        assert 2 * inter / ((a >= 0.5).sum() + (b >= 0.5).sum()) > 0.95
