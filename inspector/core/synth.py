"""Synthetic DAGM-like images: textured backgrounds with elliptical defects.

Used by the station's demo source (``inspector.core.demo``), the trainer's ``synth`` command
and the tests. Deterministic per seed: image ``i`` depends only on (seed, i), never on how many
images are made.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def _texture(rng: np.random.Generator, size: int) -> np.ndarray:
    """Low-pass noise plus an oriented stripe pattern, like DAGM's fabric-ish classes."""
    noise = rng.normal(0.0, 1.0, (size, size)).astype(np.float32)
    sigma = float(rng.uniform(1.0, 3.0))
    tex = cv2.GaussianBlur(noise, (0, 0), sigma)
    tex /= tex.std() + 1e-6
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    angle = float(rng.uniform(0, np.pi))
    period = float(rng.uniform(6.0, 18.0))
    stripes = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)
    base = float(rng.uniform(90, 150))
    return base + 14.0 * tex + float(rng.uniform(4, 12)) * stripes


def _defect(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    """An elliptical defect: (intensity change map, mask {0,1})."""
    mask = np.zeros((size, size), np.uint8)
    cx, cy = (int(v) for v in rng.integers(size // 8, size - size // 8, 2))
    a = int(rng.integers(max(4, size // 32), max(6, size // 7)))
    b = int(rng.integers(max(3, size // 64), max(4, a // 2 + 1)))
    angle = float(rng.uniform(0, 180))
    cv2.ellipse(mask, (cx, cy), (a, b), angle, 0, 360, 1, thickness=-1)
    # a 1 px soft edge only: the whole labelled ellipse must visibly differ, or the
    # label would claim pixels no model (or operator) can see
    soft = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 1.0)
    sign = -1.0 if rng.random() < 0.7 else 1.0  # mostly dark scratches/stains
    # well above the texture's ~15 grey-level spread (noise blobs reach ~3 sigma):
    # a demo defect should be visible by eye
    change = sign * float(rng.uniform(60, 90)) * soft
    return change, mask


def make_image(
    seed: int, index: int, size: int = 256, defective: bool | None = None, p_defective: float = 0.4
) -> tuple[np.ndarray, np.ndarray]:
    """One (image uint8 HxW, mask uint8 {0,255} HxW) pair."""
    rng = np.random.default_rng([seed, index])
    if defective is None:
        defective = bool(rng.random() < p_defective)
    img = _texture(rng, size)
    mask = np.zeros((size, size), np.uint8)
    if defective:
        for _ in range(int(rng.integers(1, 3))):
            change, m = _defect(rng, size)
            img += change
            mask |= m
    img += rng.normal(0.0, 3.0, img.shape).astype(np.float32)  # sensor noise
    return np.clip(img, 0, 255).astype(np.uint8), mask * 255


def write_synthetic(out: Path, n: int, seed: int = 0, size: int = 256, p_defective: float = 0.4) -> int:
    """Write ``n`` images in the images/+masks/ layout; returns the number of defective ones."""
    if n < 1:
        raise ValueError(f"n must be >= 1 (got {n})")
    if size < 32 or size % 16:
        raise ValueError(f"size must be a multiple of 16 and >= 32 (got {size})")
    out = Path(out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "masks").mkdir(parents=True, exist_ok=True)
    n_def = 0
    for i in range(n):
        img, mask = make_image(seed, i, size, p_defective=p_defective)
        stem = f"synth_{i:05d}"
        cv2.imwrite(str(out / "images" / f"{stem}.png"), img)
        if mask.any():
            cv2.imwrite(str(out / "masks" / f"{stem}.png"), mask)
            n_def += 1
    return n_def
