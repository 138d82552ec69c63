"""Dice / Dice+BCE losses (for the heavy class imbalance) and Dice / IoU metrics.

Names: "dice" is always the per-image Dice of a thresholded mask (``p >= 0.5``,
1 when truth and prediction are both empty), averaged over images (the Keras
metric: over the crops of a batch). The losses use a *soft* Dice over the whole
batch instead (``dice_loss``): a training objective, not a reported figure.
The Keras functions import TensorFlow lazily; the numpy versions evaluation uses on
thresholded masks are the station's (inspector.core.metrics), re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from inspector.core.metrics import mask_dice as dice_np
from inspector.core.metrics import mask_iou as iou_np

__all__ = [
    "SMOOTH",
    "THRESHOLD",
    "bce_loss",
    "dice_bce_loss",
    "dice_loss",
    "dice_metric",
    "dice_np",
    "get_loss",
    "iou_metric",
    "iou_np",
]

SMOOTH = 1.0  # keeps soft Dice defined (=1) on crops without any defect pixel


def dice_loss(y_true: Any, y_pred: Any) -> Any:
    """1 - soft Dice over the whole batch (a batch-global soft Dice is stable when
    most crops hold no defect, unlike a per-sample mean); never reported as "dice"."""
    import tensorflow as tf

    y_true = tf.cast(y_true, y_pred.dtype)
    inter = tf.reduce_sum(y_true * y_pred)
    denom = tf.reduce_sum(y_true) + tf.reduce_sum(y_pred)
    return 1.0 - (2.0 * inter + SMOOTH) / (denom + SMOOTH)


def dice_bce_loss(y_true: Any, y_pred: Any) -> Any:
    import keras
    import tensorflow as tf

    bce = tf.reduce_mean(keras.losses.binary_crossentropy(tf.cast(y_true, y_pred.dtype), y_pred))
    return dice_loss(y_true, y_pred) + bce


def bce_loss(y_true: Any, y_pred: Any) -> Any:
    import keras
    import tensorflow as tf

    return tf.reduce_mean(keras.losses.binary_crossentropy(tf.cast(y_true, y_pred.dtype), y_pred))


LOSSES: dict[str, Callable[[Any, Any], Any]] = {
    "dice": dice_loss,
    "dice_bce": dice_bce_loss,
    "bce": bce_loss,
}


def get_loss(name: str) -> Callable[[Any, Any], Any]:
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; choose one of {sorted(LOSSES)}") from None


THRESHOLD = 0.5  # the metrics' pixel threshold, compared as the station's rules do: p >= t


def _hard(y_true: Any, y_pred: Any) -> tuple[Any, Any]:
    import tensorflow as tf

    t = tf.cast(y_true >= THRESHOLD, tf.float32)
    p = tf.cast(y_pred >= THRESHOLD, tf.float32)
    return t, p


def dice_metric(y_true: Any, y_pred: Any) -> Any:
    """Dice of each crop at ``p >= 0.5`` (1 when both are empty), averaged over the batch:
    the same per-image Dice as :func:`dice_np` and the evaluation, on training crops."""
    import tensorflow as tf

    t, p = _hard(y_true, y_pred)
    inter = tf.reduce_sum(t * p, axis=[1, 2, 3])
    denom = tf.reduce_sum(t, axis=[1, 2, 3]) + tf.reduce_sum(p, axis=[1, 2, 3])
    per = tf.where(denom > 0, 2.0 * inter / tf.maximum(denom, 1.0), 1.0)
    return tf.reduce_mean(per)


def iou_metric(y_true: Any, y_pred: Any) -> Any:
    """IoU of each crop at ``p >= 0.5`` (1 when both are empty), averaged over the batch."""
    import tensorflow as tf

    t, p = _hard(y_true, y_pred)
    inter = tf.reduce_sum(t * p, axis=[1, 2, 3])
    union = tf.reduce_sum(t, axis=[1, 2, 3]) + tf.reduce_sum(p, axis=[1, 2, 3]) - inter
    per = tf.where(union > 0, inter / tf.maximum(union, 1.0), 1.0)
    return tf.reduce_mean(per)


dice_metric.__name__ = "dice"
iou_metric.__name__ = "iou"
