"""Whole-image validation of a Keras model (used per epoch while training)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from trainer.data.loader import Loaded
from trainer.data.pipeline import pad_to_multiple
from trainer.losses import dice_np, iou_np


def predict_keras(model: Any, images: list[np.ndarray], multiple: int, batch: int = 4) -> list[np.ndarray]:
    """Probability maps (HxW float32) for uint8 images, padding each to ``multiple``.

    Consecutive same-size images are batched; sizes may differ across the list.
    """
    out: list[np.ndarray] = []
    i = 0
    while i < len(images):
        shape = images[i].shape
        j = i
        while j < len(images) and j - i < batch and images[j].shape == shape:
            j += 1
        padded = [pad_to_multiple(im.astype(np.float32) / 255.0, multiple)[0] for im in images[i:j]]
        x = np.stack(padded)[..., None]
        p = np.asarray(model.predict_on_batch(x))[..., 0]
        out.extend(p[k, : shape[0], : shape[1]].astype(np.float32) for k in range(j - i))
        i = j
    return out


def _soft_dice_bce(mask: np.ndarray, prob: np.ndarray) -> float:
    # same definition as losses.dice_bce_loss, in numpy, per image
    p = np.clip(prob.astype(np.float64), 1e-7, 1 - 1e-7)
    t = mask.astype(np.float64)
    bce = -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))
    dice = (2 * (t * p).sum() + 1.0) / (t.sum() + p.sum() + 1.0)
    return float(bce + 1 - dice)


def score(items: list[Loaded], probs: list[np.ndarray], threshold: float = 0.5) -> dict[str, float]:
    """Per-image mean Dice/IoU on defective images and on all (empty vs empty = 1)."""
    d_all, d_def, iou_def, losses = [], [], [], []
    for it, p in zip(items, probs, strict=True):
        pred = p >= threshold
        d = dice_np(it.mask, pred)
        d_all.append(d)
        losses.append(_soft_dice_bce(it.mask, p))
        if it.defective:
            d_def.append(d)
            iou_def.append(iou_np(it.mask, pred))
    dice_all = float(np.mean(d_all)) if d_all else math.nan
    dice_def = float(np.mean(d_def)) if d_def else math.nan
    # the checkpoint criterion: defective-only Dice rewards finding defects, all-image Dice
    # punishes false alarms on clean images; either alone can be gamed (e.g. predict nothing)
    val_dice = dice_all if math.isnan(dice_def) else 0.5 * (dice_def + dice_all)
    return {
        "val_loss": float(np.mean(losses)) if losses else math.nan,
        "val_dice": val_dice,
        "val_dice_defective": dice_def,
        "val_dice_all": dice_all,
        "val_iou_defective": float(np.mean(iou_def)) if iou_def else math.nan,
    }
