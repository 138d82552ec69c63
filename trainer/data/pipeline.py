"""Crop sampling + augmentation in numpy, wrapped as a tf.data pipeline.

The net is fully convolutional, so it trains on crops and infers on whole
images. Defects cover ~1% of DAGM pixels; uniform crops would mostly be empty,
so a fraction of crops is centred near a defect pixel ("defect-aware").
Images smaller than the crop are reflect-padded to it (image and mask alike,
as the station pads an image for the model), so any size trains.
Augmentation works on gray levels (0..255 scale) and each crop then goes
through the station's own normalisation (``inspector.core.preprocess.model_input``
with the run's model card), so training sees what the station will feed.
Sampling is numpy with a per-epoch seed, so a resumed run sees the same data
as an uninterrupted one. TensorFlow is imported only in ``make_dataset``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from inspector.core.model_card import ModelCard
from inspector.core.preprocess import model_input
from trainer.data.loader import Loaded

_UNIT_CARD = ModelCard(resize="native")  # x / 255: what the trainer fed before cards drove it
TargetsOf = Callable[[Loaded], np.ndarray]  # an item's HxWxC crop target, channel 0 its mask


def _mask_target(it: Loaded) -> np.ndarray:
    return it.mask[..., None]


@dataclass(frozen=True, slots=True)
class Augment:
    """Surface augmentation: flips and 90° rotations always (surfaces have no preferred
    orientation); brightness (± share of full scale), contrast (± factor), and a slight
    Gaussian blur (sigma up to ``blur``, on a third of the crops; 0 = off)."""

    brightness: float = 0.1
    contrast: float = 0.2
    blur: float = 0.0


def pad_to_at_least(x: np.ndarray, h: int, w: int) -> np.ndarray:
    """Reflect-pad at the bottom/right to at least (h, w) (repeatedly where the image is tiny)."""
    ph, pw = max(0, h - x.shape[0]), max(0, w - x.shape[1])
    if not (ph or pw):
        return x
    pad = [(0, ph), (0, pw)] + [(0, 0)] * (x.ndim - 2)
    mode = "reflect" if min(x.shape[:2]) > 1 else "edge"
    return np.pad(x, pad, mode=mode)


def _crop_origin(
    rng: np.random.Generator, mask: np.ndarray, crop: int, defect_aware: bool
) -> tuple[int, int]:
    h, w = mask.shape
    if defect_aware:
        ys, xs = np.nonzero(mask)
        k = int(rng.integers(len(ys)))
        # jitter so the defect is not always in the centre of the crop
        cy = int(ys[k]) + int(rng.integers(-crop // 4, crop // 4 + 1))
        cx = int(xs[k]) + int(rng.integers(-crop // 4, crop // 4 + 1))
        y0, x0 = cy - crop // 2, cx - crop // 2
    else:
        y0, x0 = int(rng.integers(0, h - crop + 1)), int(rng.integers(0, w - crop + 1))
    return int(np.clip(y0, 0, h - crop)), int(np.clip(x0, 0, w - crop))


def augment_gray(
    rng: np.random.Generator, img: np.ndarray, mask: np.ndarray, aug: Augment
) -> tuple[np.ndarray, np.ndarray]:
    """(gray levels float32 0..255, mask float32 {0,1}) after the geometric and photometric steps."""
    k = int(rng.integers(4))
    img, mask = np.rot90(img, k), np.rot90(mask, k)
    if rng.random() < 0.5:
        img, mask = img[:, ::-1], mask[:, ::-1]
    if rng.random() < 0.5:
        img, mask = img[::-1], mask[::-1]
    x = np.array(img, dtype=np.float32)
    if aug.contrast > 0:
        c = float(rng.uniform(1 - aug.contrast, 1 + aug.contrast))
        mean = float(x.mean())
        x = (x - mean) * c + mean
    if aug.brightness > 0:
        x += float(rng.uniform(-aug.brightness, aug.brightness)) * 255.0
    if aug.blur > 0 and rng.random() < 1 / 3:
        x = cv2.GaussianBlur(x, (0, 0), float(rng.uniform(0.3, aug.blur)))
    return np.clip(x, 0.0, 255.0), np.ascontiguousarray(mask, dtype=np.float32)


def augment(
    rng: np.random.Generator, img: np.ndarray, mask: np.ndarray, brightness: float, contrast: float
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`augment_gray` without blur, scaled to 0..1 (x / 255)."""
    x, m = augment_gray(rng, img, mask, Augment(brightness, contrast, 0.0))
    return x / np.float32(255.0), m


def sample_crops(
    items: list[Loaded],
    n: int,
    crop: int,
    seed: int,
    defect_fraction: float = 0.5,
    brightness: float = 0.1,
    contrast: float = 0.2,
    card: ModelCard | None = None,
    blur: float = 0.0,
    *,
    targets: TargetsOf | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``n`` augmented (model input, mask) crops, each HxWx1 float32; deterministic per ``seed``.

    The input is normalised as ``card`` says (default x / 255); images smaller than
    ``crop`` are reflect-padded to it. ``targets`` (default: the mask as HxWx1) gives an item's
    HxWxC target, channel 0 its mask (defect-aware crops centre on it); every channel is cut,
    turned and flipped with the image, and the crop's target comes out HxWxC float32.
    """
    target_of = targets or _mask_target
    card = card or _UNIT_CARD
    aug = Augment(brightness, contrast, blur)
    rng = np.random.default_rng(seed)
    defective = [i for i, it in enumerate(items) if it.defective]
    padded: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def get(i: int) -> tuple[np.ndarray, np.ndarray]:
        it = items[i]
        target = target_of(it)
        if min(it.image.shape[:2]) >= crop:
            return it.image, target
        if i not in padded:  # small images: padded once, then kept
            padded[i] = (pad_to_at_least(it.image, crop, crop), pad_to_at_least(target, crop, crop))
        return padded[i]

    for _ in range(n):
        aware = bool(defective) and rng.random() < defect_fraction
        idx = defective[int(rng.integers(len(defective)))] if aware else int(rng.integers(len(items)))
        image, target = get(idx)
        y0, x0 = _crop_origin(rng, target[..., 0], crop, aware)
        img = image[y0 : y0 + crop, x0 : x0 + crop]
        t = target[y0 : y0 + crop, x0 : x0 + crop]
        x, t = augment_gray(rng, img, t, aug)
        yield model_input(x, card)[..., None], t


def make_dataset(
    items: list[Loaded],
    steps: int,
    batch: int,
    crop: int,
    seed: int,
    defect_fraction: float = 0.5,
    brightness: float = 0.1,
    contrast: float = 0.2,
    card: ModelCard | None = None,
    blur: float = 0.0,
    prefetch: int = 2,
    *,
    targets: TargetsOf | None = None,
    target_channels: int = 1,
) -> Any:
    """A tf.data.Dataset of ``steps`` batches of crops (one epoch); ``targets`` as in
    :func:`sample_crops`, giving ``target_channels`` channels."""
    import tensorflow as tf

    def gen() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        yield from sample_crops(
            items,
            steps * batch,
            crop,
            seed,
            defect_fraction,
            brightness,
            contrast,
            card,
            blur,
            targets=targets,
        )

    xs = tf.TensorSpec((crop, crop, 1), tf.float32)
    ys = tf.TensorSpec((crop, crop, target_channels), tf.float32)
    ds = tf.data.Dataset.from_generator(gen, output_signature=(xs, ys))
    return ds.batch(batch, drop_remainder=True).prefetch(prefetch)


def pad_to_multiple(x: np.ndarray, multiple: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Reflect-pad HxW so both sides divide by ``multiple``; returns the original (h, w)."""
    h, w = x.shape[:2]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        pad = [(0, ph), (0, pw)] + [(0, 0)] * (x.ndim - 2)
        x = np.pad(x, pad, mode="reflect")
    return x, (h, w)
