"""Whole-image validation of a Keras model (per epoch while training, and the final evaluation).

Images reach the Keras model through the station's own whole-image inference,
``inspector.core.tiling.Tiler`` with the run's model card: the same gray
conversion, normalisation, reflect padding to the model's grid, and tiles with
bounded memory for images too large for one call. So what validation scores is
what the station would see (up to Keras vs ONNX Runtime rounding).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from inspector.core.model_card import ModelCard
from trainer.data.loader import Loaded
from trainer.losses import dice_np, iou_np

Predict = Callable[[np.ndarray], np.ndarray]

# Memory budget per input pixel of one TensorFlow (CPU) inference of the seed U-Net (16 base
# filters), scaled with the filters: peak RSS growth measured 372 B/px at 512x512 and 399 B/px
# at 1024x1024 (float32, trainer/README.md); 1024 leaves room for the tiler's own buffers.
KERAS_BYTES_PER_PIXEL_16 = 1024.0


def keras_predictor(model: Any, card: ModelCard, base_filters: int = 16) -> Predict:
    """image (as decoded, or gray levels) -> float32 HxW probability map, every pixel inspected."""
    import tensorflow as tf

    from inspector.core.tiling import ModelFootprint, Tiler

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 1], tf.float32)], reduce_retracing=True)
    def serve(x: Any) -> Any:
        return model(x, training=False)

    def run(batch: np.ndarray) -> np.ndarray:
        return np.asarray(serve(tf.constant(batch, tf.float32)))

    footprint = ModelFootprint(
        KERAS_BYTES_PER_PIXEL_16 * max(1.0, base_filters / 16.0), method="trainer: TensorFlow estimate"
    )
    tiler = Tiler(card=card, run=run, model_path=None, on_cpu=True, footprint=footprint)

    def predict(image: np.ndarray) -> np.ndarray:
        return tiler.infer(image)[0]

    return predict


def predict_all(predict: Predict, images: list[np.ndarray]) -> list[np.ndarray]:
    return [predict(im) for im in images]


def _soft_dice_bce(mask: np.ndarray, prob: np.ndarray) -> float:
    # same definition as losses.dice_bce_loss, in numpy, per image
    p = np.clip(prob.astype(np.float64), 1e-7, 1 - 1e-7)
    t = mask.astype(np.float64)
    bce = -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))
    dice = (2 * (t * p).sum() + 1.0) / (t.sum() + p.sum() + 1.0)
    return float(bce + 1 - dice)


def score(items: list[Loaded], probs: list[np.ndarray], threshold: float = 0.5) -> dict[str, float]:
    """Per-image mean Dice/IoU (``prob >= threshold``) on defective images and on all
    (empty vs empty = 1), and the checkpoint score ``val_dice``: their mean."""
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


def interleave(items: list[Loaded]) -> list[Loaded]:
    """Defective and defect-free images alternating (stable), so that the first N of a
    capped per-epoch validation hold both kinds."""
    d = [it for it in items if it.defective]
    c = [it for it in items if not it.defective]
    out: list[Loaded] = []
    for i in range(max(len(d), len(c))):
        out += d[i : i + 1] + c[i : i + 1]
    return out
