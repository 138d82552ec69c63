"""Crop sampling + augmentation in numpy, wrapped as a tf.data pipeline.

The net is fully convolutional, so it trains on crops and infers on whole
images. Defects cover ~1% of DAGM pixels; uniform crops would mostly be empty,
so a fraction of crops is centred near a defect pixel ("defect-aware").
Sampling is numpy with a per-epoch seed, so a resumed run sees the same data
as an uninterrupted one. TensorFlow is imported only in ``make_dataset``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from trainer.data.loader import Loaded


def _crop_origin(rng: np.random.Generator, item: Loaded, crop: int, defect_aware: bool) -> tuple[int, int]:
    h, w = item.mask.shape
    if defect_aware and item.defective:
        ys, xs = np.nonzero(item.mask)
        k = int(rng.integers(len(ys)))
        # jitter so the defect is not always in the centre of the crop
        cy = int(ys[k]) + int(rng.integers(-crop // 4, crop // 4 + 1))
        cx = int(xs[k]) + int(rng.integers(-crop // 4, crop // 4 + 1))
        y0, x0 = cy - crop // 2, cx - crop // 2
    else:
        y0, x0 = int(rng.integers(0, h - crop + 1)), int(rng.integers(0, w - crop + 1))
    return int(np.clip(y0, 0, h - crop)), int(np.clip(x0, 0, w - crop))


def augment(
    rng: np.random.Generator, img: np.ndarray, mask: np.ndarray, brightness: float, contrast: float
) -> tuple[np.ndarray, np.ndarray]:
    """Flips, 90° rotations (the textures have no preferred orientation), brightness/contrast."""
    k = int(rng.integers(4))
    img, mask = np.rot90(img, k), np.rot90(mask, k)
    if rng.random() < 0.5:
        img, mask = img[:, ::-1], mask[:, ::-1]
    if rng.random() < 0.5:
        img, mask = img[::-1], mask[::-1]
    x = img.astype(np.float32) / 255.0
    if contrast > 0:
        c = float(rng.uniform(1 - contrast, 1 + contrast))
        x = (x - x.mean()) * c + x.mean()
    if brightness > 0:
        x = x + float(rng.uniform(-brightness, brightness))
    return np.clip(x, 0.0, 1.0), np.ascontiguousarray(mask, dtype=np.float32)


def sample_crops(
    items: list[Loaded],
    n: int,
    crop: int,
    seed: int,
    defect_fraction: float = 0.5,
    brightness: float = 0.1,
    contrast: float = 0.2,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``n`` augmented (image, mask) crops, each HxWx1 float32; deterministic per ``seed``."""
    rng = np.random.default_rng(seed)
    defective = [i for i, it in enumerate(items) if it.defective]
    for it in items:
        if min(it.image.shape) < crop:
            raise ValueError(
                f"{it.key}: image {it.image.shape[1]}x{it.image.shape[0]} smaller than crop {crop}"
            )
    for _ in range(n):
        aware = bool(defective) and rng.random() < defect_fraction
        idx = defective[int(rng.integers(len(defective)))] if aware else int(rng.integers(len(items)))
        item = items[idx]
        y0, x0 = _crop_origin(rng, item, crop, aware)
        img = item.image[y0 : y0 + crop, x0 : x0 + crop]
        mask = item.mask[y0 : y0 + crop, x0 : x0 + crop]
        x, m = augment(rng, img, mask, brightness, contrast)
        yield x[..., None], m[..., None]


def make_dataset(
    items: list[Loaded],
    steps: int,
    batch: int,
    crop: int,
    seed: int,
    defect_fraction: float = 0.5,
    brightness: float = 0.1,
    contrast: float = 0.2,
) -> Any:
    """A tf.data.Dataset of ``steps`` batches of crops (one epoch)."""
    import tensorflow as tf

    def gen() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        yield from sample_crops(items, steps * batch, crop, seed, defect_fraction, brightness, contrast)

    spec = tf.TensorSpec((crop, crop, 1), tf.float32)
    ds = tf.data.Dataset.from_generator(gen, output_signature=(spec, spec))
    return ds.batch(batch, drop_remainder=True).prefetch(2)


def pad_to_multiple(x: np.ndarray, multiple: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Reflect-pad HxW so both sides divide by ``multiple``; returns the original (h, w)."""
    h, w = x.shape[:2]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        pad = [(0, ph), (0, pw)] + [(0, 0)] * (x.ndim - 2)
        x = np.pad(x, pad, mode="reflect")
    return x, (h, w)
