"""Overlays: shapes, dtypes, and that each mode paints where (and only where) it should."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import numpy as np
import pytest

from inspector.core.overlay import OverlayMode, render, render_result, to_display_bgr
from inspector.core.recipe import Recipe
from inspector.core.rules import decide
from inspector.core.types import Decision, Frame, InspectionResult

H, W = 128, 160


def _scene() -> tuple[np.ndarray, np.ndarray]:
    img = np.full((H, W), 100, np.uint8)
    prob = np.zeros((H, W), np.float32)
    prob[40:70, 50:90] = 0.9  # counted (1200 px)
    prob[100:103, 10:13] = 0.8  # ignored by min_area (9 px)
    return img, prob


RECIPE = Recipe(min_area_px=20, max_count=0)


def _is_red(px: np.ndarray) -> bool:
    b, g, r = (int(v) for v in px)
    return r > 150 and b < 100 and g < 100


@pytest.mark.parametrize(
    "image",
    [
        np.full((H, W), 100, np.uint8),
        np.full((H, W), 100 * 257, np.uint16),
        np.full((H, W, 3), 100, np.uint8),
        np.full((H, W, 4), 100, np.uint8),
        np.full((H, W, 3), 100 * 257, np.uint16),
    ],
    ids=["gray8", "gray16", "bgr8", "bgra8", "bgr16"],
)
@pytest.mark.parametrize("mode", list(OverlayMode))
def test_every_input_kind_and_mode_gives_bgr_uint8(image: np.ndarray, mode: OverlayMode) -> None:
    _, prob = _scene()
    out = render(image, prob, decide(prob, RECIPE), mode, RECIPE.threshold)
    assert out.shape == (H, W, 3)
    assert out.dtype == np.uint8
    if mode is not OverlayMode.HEATMAP:  # the background keeps the image's gray level
        assert out[0, 0].tolist() == [100, 100, 100]


def test_display_conversion_scales_16bit_and_never_aliases() -> None:
    img16 = np.array([[0, 257 * 200, 65535]], np.uint16)
    out = to_display_bgr(img16)
    assert out[0, :, 0].tolist() == [0, 200, 255]
    img8 = np.zeros((4, 4, 3), np.uint8)
    out8 = to_display_bgr(img8)
    out8[:] = 9
    assert img8.max() == 0


def test_raw_is_the_image() -> None:
    img, prob = _scene()
    out = render(img, prob, decide(prob, RECIPE), OverlayMode.RAW)
    assert (out == 100).all()


def test_mask_paints_red_exactly_over_thresholded_pixels() -> None:
    img, prob = _scene()
    out = render(img, prob, None, OverlayMode.MASK, 0.5)
    assert _is_red(out[55, 70])
    assert _is_red(out[101, 11])  # the mask shows every thresholded pixel, ignored or not
    assert out[10, 10].tolist() == [100, 100, 100]
    changed = (out != 100).any(axis=2)
    np.testing.assert_array_equal(changed, prob >= 0.5)
    # higher threshold: nothing painted
    assert (render(img, prob, None, "mask", 0.95) == 100).all()


def test_heatmap_changes_colour_with_probability() -> None:
    img, prob = _scene()
    out = render(img, prob, None, OverlayMode.HEATMAP)
    hot, cold = out[55, 70].astype(int), out[10, 10].astype(int)
    assert hot[2] > cold[2] + 50  # JET: high prob is red, low is blue
    assert cold[0] > hot[0]


def test_contours_red_for_counted_gray_for_ignored_with_label_and_bbox() -> None:
    img, prob = _scene()
    d = decide(prob, RECIPE)
    assert len(d.regions) == 1
    assert len(d.ignored) == 1
    out = render(img, prob, d, OverlayMode.CONTOURS, RECIPE.threshold)
    # contour on the counted region's boundary is red
    assert _is_red(out[40, 70])
    assert _is_red(out[69, 70])
    # interior stays the image
    assert out[55, 70].tolist() == [100, 100, 100]
    # ignored region outlined in gray, not red
    ring = out[100:103, 10:13].reshape(-1, 3)
    assert any(px.tolist() == [160, 160, 160] for px in ring)
    assert not any(_is_red(px) for px in out[95:108, 5:18].reshape(-1, 3))
    # label "1" above the bbox: red pixels above the region, left part
    assert any(_is_red(px) for px in out[20:37, 45:65].reshape(-1, 3))


def test_contours_without_decision_draws_everything_gray() -> None:
    img, prob = _scene()
    out = render(img, prob, None, OverlayMode.CONTOURS)
    assert out[40, 70].tolist() == [160, 160, 160]
    assert not any(_is_red(px) for px in out.reshape(-1, 3))


def test_region_inside_hole_of_another_gets_its_own_colour() -> None:
    img = np.full((H, W), 100, np.uint8)
    prob = np.zeros((H, W), np.float32)
    prob[20:100, 20:100] = 0.9
    prob[30:90, 30:90] = 0.0  # ring (hole)
    prob[55:60, 55:60] = 0.9  # 25 px blob inside the hole
    d = decide(prob, Recipe(min_area_px=30))  # ring counts, inner blob ignored
    assert [r.area_px for r in d.ignored] == [25]
    out = render(img, prob, d, OverlayMode.CONTOURS)
    assert _is_red(out[20, 60])  # ring outer edge
    assert _is_red(out[29, 60])  # ring inner edge (hole) belongs to the ring
    assert out[55, 57].tolist() == [160, 160, 160]


def test_verdict_text_is_optional() -> None:
    img, prob = _scene()
    d = decide(prob, RECIPE)
    plain = render(img, prob, d, OverlayMode.RAW)
    labelled = render(img, prob, d, OverlayMode.RAW, show_verdict=True)
    assert (plain == 100).all()
    corner = labelled[:30, :60].reshape(-1, 3)
    assert any(_is_red(px) for px in corner)  # "NG" in red on black
    assert any(px.tolist() == [0, 0, 0] for px in corner)


def test_shape_mismatch_is_an_error() -> None:
    img, _ = _scene()
    with pytest.raises(ValueError, match="does not match"):
        render(img, np.zeros((10, 10), np.float32), None, OverlayMode.MASK)


def test_render_result_uses_result_threshold() -> None:
    img, prob = _scene()
    d = decide(prob, RECIPE)
    frame = Frame(key="k", image=img, source="test", captured_at=datetime.now(UTC))
    res = InspectionResult(
        frame=frame,
        decision=d,
        prob_map=prob,
        timings_ms={},
        model_sha256="x",
        recipe_name="default",
        recipe_version=1,
        backend="fake",
        threshold=0.95,  # above every pixel: no contours
        inspected_at=datetime.now(UTC),
    )
    out = render_result(res, show_verdict=False)
    assert (out == 100).all()


def test_render_is_fast_at_512() -> None:
    img = np.random.default_rng(0).integers(0, 256, (512, 512), np.uint8)
    prob = np.zeros((512, 512), np.float32)
    prob[100:150, 100:180] = 0.9
    prob[300:310, 400:420] = 0.7
    d = decide(prob, RECIPE)
    for mode in OverlayMode:
        render(img, prob, d, mode)
        best = min(_timed(img, prob, d, mode) for _ in range(10))
        assert best < 0.02, mode  # generous for a shared CI box; typically 1-3 ms


def _timed(img: np.ndarray, prob: np.ndarray, d: Decision, mode: OverlayMode) -> float:
    t = time.perf_counter()
    render(img, prob, d, mode, show_verdict=True)
    return time.perf_counter() - t
