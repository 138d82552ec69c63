"""The fast paths of postprocess (components in the foreground's box, one-pass quantising,
unfiltered PNG) give exactly what the plain whole-map versions give."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inspector.core.postprocess import decode_prob_png, encode_prob_png, extract_regions, quantise_prob
from inspector.core.types import Region


def _plain_regions(p: np.ndarray, threshold: float) -> list[Region]:
    """The whole-map reference: label every pixel, sort by area, top, left."""
    mask = (p >= threshold).astype(np.uint8)
    n, labels, stats, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8, ltype=cv2.CV_32S)
    out = []
    for k in range(1, n):
        vals = p[labels == k]
        out.append((int(stats[k, 4]), int(stats[k, 1]), int(stats[k, 0]), k, vals, stats[k], centroids[k]))
    out.sort(key=lambda r: (-r[0], r[1], r[2], r[3]))
    return [
        Region(
            index=i,
            area_px=a,
            bbox=(int(s[0]), int(s[1]), int(s[2]), int(s[3])),
            centroid=(float(c[0]), float(c[1])),
            mean_prob=float(np.sum(v.astype(np.float64)) / a),
            max_prob=float(v.max()),
        )
        for i, (a, _, _, _, v, s, c) in enumerate(out, start=1)
    ]


def _plain_levels(p: np.ndarray) -> np.ndarray:
    p = np.nan_to_num(p, nan=0.0, posinf=1.0, neginf=0.0)
    return np.clip(np.rint(p * 255.0), 0, 255).astype(np.uint8)


def _maps(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    maps = []
    for _ in range(n):
        h, w = (int(x) for x in rng.integers(1, 200, 2))
        p = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), float(rng.uniform(0.5, 5)))
        maps.append(((p - p.min()) / max(1e-6, float(p.max() - p.min()))).astype(np.float32))
    return [*maps, np.ones((9, 13), np.float32), np.zeros((4, 4), np.float32)]


@pytest.mark.parametrize("threshold", [0.2, 0.5, 0.9])
def test_regions_equal_the_whole_map_labelling(threshold: float) -> None:
    for p in _maps(60):
        fast = extract_regions(p, threshold)
        plain = _plain_regions(p, threshold)
        assert [(r.area_px, r.bbox, r.centroid, r.max_prob) for r in fast] == [
            (r.area_px, r.bbox, r.centroid, r.max_prob) for r in plain
        ]  # centroids bit for bit
        assert [r.mean_prob for r in fast] == pytest.approx([r.mean_prob for r in plain], rel=1e-12)


def test_levels_and_png_equal_the_plain_rounding() -> None:
    k = np.arange(256, dtype=np.float64)
    edges = np.float32((k + 0.5) / 255.0)  # exactly between two levels: round half to even
    near = [edges]
    for _ in range(8):
        near += [np.nextafter(near[-1], np.float32(2.0))]
    tricky = np.concatenate([*near, np.float32([0.0, 1.0, 1.0 + 1e-6, -1e-6, -1e-3, 1.7])])
    for p in [*_maps(30), tricky.reshape(1, -1)]:
        levels = quantise_prob(p)
        np.testing.assert_array_equal(levels, _plain_levels(p))
        np.testing.assert_array_equal(decode_prob_png(encode_prob_png(p)), levels / np.float32(255.0))
    odd = np.float32([[np.nan, np.inf, -np.inf, 0.3, -0.2]])
    np.testing.assert_array_equal(quantise_prob(odd), _plain_levels(odd))
