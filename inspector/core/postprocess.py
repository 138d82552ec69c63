"""Probability map -> defect regions, and the compact 8-bit PNG form of a map.

Everything here is vectorised over regions: a 512x512 map with a handful of
regions must cost well under the model's own latency, so no per-region
full-image masks are ever built.
"""

from __future__ import annotations

import cv2
import numpy as np

from inspector.core.types import Region

__all__ = ["as_prob_map", "decode_prob_png", "encode_prob_png", "extract_regions", "quantise_prob"]


def as_prob_map(prob: np.ndarray) -> np.ndarray:
    """``prob`` as a contiguous float32 HxW array (accepts HxWx1, any real dtype)."""
    arr = np.asarray(prob)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim != 2:
        raise ValueError(f"probability map must be HxW or HxWx1, got shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.float32)


def extract_regions(prob: np.ndarray, threshold: float) -> list[Region]:
    """Connected components (8-connectivity) of ``prob >= threshold``.

    Regions come sorted by area (largest first; ties by top, then left edge so
    the order is deterministic) and are numbered 1..n in that order.
    ``centroid`` is (x, y) in pixels, like the recipe's zone points.
    """
    p = as_prob_map(prob)
    mask = (p >= threshold).view(np.uint8)  # bool -> 0/1 without a copy
    n, labels, stats, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8, ltype=cv2.CV_32S)
    if n <= 1:
        return []
    # Per-label sums only over foreground pixels: usually a tiny fraction of the
    # image, so the gather is cheaper than weighting every pixel.
    fg = labels.ravel()
    sel = np.flatnonzero(fg)
    lab = fg[sel]
    vals = p.ravel()[sel]
    area = stats[:, cv2.CC_STAT_AREA].astype(np.int64)
    sums = np.bincount(lab, weights=vals.astype(np.float64), minlength=n)
    maxes = np.full(n, -np.inf, dtype=np.float32)
    np.maximum.at(maxes, lab, vals)
    means = sums / np.maximum(area, 1)

    ids = np.arange(1, n)
    order = np.lexsort((stats[ids, cv2.CC_STAT_LEFT], stats[ids, cv2.CC_STAT_TOP], -area[ids]))
    regions: list[Region] = []
    for rank, k in enumerate(ids[order], start=1):
        x, y, w, h = (int(v) for v in stats[k, :4])
        regions.append(
            Region(
                index=rank,
                area_px=int(area[k]),
                bbox=(x, y, w, h),
                centroid=(float(centroids[k, 0]), float(centroids[k, 1])),
                mean_prob=float(means[k]),
                max_prob=float(maxes[k]),
            )
        )
    return regions


def quantise_prob(prob: np.ndarray) -> np.ndarray:
    """The 8-bit levels round(p * 255) of a probability map (clipped to 0..255)."""
    p = as_prob_map(prob)
    # NaN would cast to an undefined integer; treat it as "no defect".
    p = np.nan_to_num(p, nan=0.0, posinf=1.0, neginf=0.0)
    return np.clip(np.rint(p * 255.0), 0, 255).astype(np.uint8)


def encode_prob_png(prob: np.ndarray) -> bytes:
    """A probability map as an 8-bit gray PNG (round(p*255)); lossless for that grid."""
    ok, buf = cv2.imencode(".png", quantise_prob(prob), [cv2.IMWRITE_PNG_COMPRESSION, 3])
    if not ok:  # pragma: no cover - only fails on out-of-memory
        raise ValueError("could not encode probability map as PNG")
    return buf.tobytes()


def decode_prob_png(data: bytes) -> np.ndarray:
    """The float32 HxW map (level / 255) stored by :func:`encode_prob_png`."""
    arr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED) if data else None
    if arr is None:
        raise ValueError("probability PNG could not be decoded")
    if arr.ndim != 2 or arr.dtype != np.uint8:
        raise ValueError(f"probability PNG must be 8-bit gray, got shape {arr.shape} dtype {arr.dtype}")
    return arr.astype(np.float32) / np.float32(255.0)
