"""Mask agreement figures, defined once: the trainer's evaluation and the engine parity check
both use these (a Dice that differs between them would make the two numbers incomparable)."""

from __future__ import annotations

import numpy as np


def mask_dice(truth: np.ndarray, pred: np.ndarray) -> float:
    """2|A∩B| / (|A|+|B|) on the masks read as booleans; both empty -> 1 (nothing to find,
    nothing found). Symmetric in its arguments."""
    t = np.asarray(truth, dtype=bool)
    p = np.asarray(pred, dtype=bool)
    denom = int(np.count_nonzero(t)) + int(np.count_nonzero(p))
    if denom == 0:
        return 1.0
    return 2.0 * int(np.count_nonzero(t & p)) / denom


def mask_iou(truth: np.ndarray, pred: np.ndarray) -> float:
    """|A∩B| / |A∪B| on the masks read as booleans; both empty -> 1."""
    t = np.asarray(truth, dtype=bool)
    p = np.asarray(pred, dtype=bool)
    union = int(np.count_nonzero(t | p))
    if union == 0:
        return 1.0
    return int(np.count_nonzero(t & p)) / union
