"""Region extraction on hand-drawn maps, and the 8-bit PNG storage of maps."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pytest

from inspector.core.postprocess import (
    as_prob_map,
    decode_prob_png,
    encode_prob_png,
    extract_regions,
    quantise_prob,
)


def _two_blobs() -> np.ndarray:
    p = np.zeros((40, 60), np.float32)
    # blob A: 4x5 rectangle rows 2..5, cols 3..7, values vary so mean != max
    p[2:6, 3:8] = 0.6
    p[3, 4] = 0.9
    # blob B: an L shape, 8-connected via a diagonal pixel
    p[20:30, 40] = 0.7  # 10 px vertical bar
    p[30, 41] = 0.8  # diagonal neighbour of (29, 40) -> same region with 8-connectivity
    p[30, 42:50] = 0.7  # 8 px
    return p


def test_regions_areas_bboxes_centroids_exact() -> None:
    regions = extract_regions(_two_blobs(), 0.5)
    assert len(regions) == 2
    big, small = regions
    assert [r.index for r in regions] == [1, 2]
    # B: 10 + 1 + 8 = 19 px, A: 20 px -> A is first
    assert big.area_px == 20
    assert big.bbox == (3, 2, 5, 4)
    assert big.centroid == pytest.approx((5.0, 3.5))
    assert big.max_prob == pytest.approx(0.9)
    assert big.mean_prob == pytest.approx((19 * 0.6 + 0.9) / 20, abs=1e-6)

    assert small.area_px == 19
    assert small.bbox == (40, 20, 10, 11)
    ys = [*range(20, 30), 30, *[30] * 8]
    xs = [*[40] * 10, 41, *range(42, 50)]
    assert small.centroid == pytest.approx((np.mean(xs), np.mean(ys)))
    assert small.max_prob == pytest.approx(0.8)
    assert small.mean_prob == pytest.approx((18 * 0.7 + 0.8) / 19, abs=1e-6)


def test_threshold_is_inclusive_and_splits_regions() -> None:
    p = _two_blobs()
    assert [r.area_px for r in extract_regions(p, 0.7)] == [19, 1]  # only the 0.9 pixel of A
    assert [r.area_px for r in extract_regions(p, 0.75)] == [1, 1]  # B's diagonal pixel and A's peak
    assert extract_regions(p, 0.95) == []


def test_four_connected_pixels_are_not_required() -> None:
    p = np.zeros((5, 5), np.float32)
    p[0, 0] = p[1, 1] = p[2, 2] = 1.0
    (r,) = extract_regions(p, 0.5)
    assert r.area_px == 3
    assert r.bbox == (0, 0, 3, 3)


def test_sorted_by_area_then_position() -> None:
    p = np.zeros((20, 20), np.float32)
    p[10, 10] = 1.0
    p[1, 15] = 1.0
    p[1, 2] = 1.0
    p[15:18, 0:3] = 1.0
    regs = extract_regions(p, 0.5)
    assert [r.area_px for r in regs] == [9, 1, 1, 1]
    assert [r.bbox[:2] for r in regs[1:]] == [(2, 1), (15, 1), (10, 10)]


def test_accepts_hwc1_and_rejects_other_shapes() -> None:
    p = _two_blobs()
    assert extract_regions(p[:, :, None], 0.5) == extract_regions(p, 0.5)
    with pytest.raises(ValueError, match="HxW"):
        as_prob_map(np.zeros((4, 4, 3), np.float32))


def test_empty_map_has_no_regions() -> None:
    assert extract_regions(np.zeros((16, 16), np.float32), 0.5) == []


def test_extract_is_fast_on_512() -> None:
    p = np.zeros((512, 512), np.float32)
    p[100:140, 200:230] = 0.9
    p[300:305, 10:60] = 0.7
    extract_regions(p, 0.5)
    best = min(_timed(lambda: extract_regions(p, 0.5)) for _ in range(20))
    assert best < 0.01  # generous: shared CI machines; typical ~1 ms


def _timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def test_png_roundtrip_is_the_8bit_grid() -> None:
    rng = np.random.default_rng(1)
    p = rng.random((33, 47), dtype=np.float32)
    data = encode_prob_png(p)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    back = decode_prob_png(data)
    assert back.dtype == np.float32
    assert back.shape == p.shape
    assert np.abs(back - p).max() <= 0.5 / 255 + 1e-6
    np.testing.assert_array_equal(quantise_prob(back), quantise_prob(p))


def test_png_clips_and_handles_nan() -> None:
    p = np.array([[-0.2, 1.5], [np.nan, 0.5]], np.float32)
    np.testing.assert_array_equal(quantise_prob(p), [[0, 255], [0, 128]])


def test_decode_prob_png_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="could not be decoded"):
        decode_prob_png(b"not a png")
    with pytest.raises(ValueError, match="could not be decoded"):
        decode_prob_png(b"")
