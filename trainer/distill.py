"""Distillation: a small student learns from the labels and from a teacher model's probability maps.

Cheap by design: the teacher (an ONNX model with its card) runs once over every whole training
image through the station's own inference (``trainer.evaluate.OnnxPredictor``: the card's
preprocessing and the tiler), and its maps are kept as soft targets. Crops of them go through
exactly the augmentation of the labels (the same random draws, in the same order as
``trainer.data.pipeline.sample_crops``), stacked as a second target channel. The loss is the
usual label loss plus ``weight`` x (BCE or MSE) of the student against the teacher's map:

    y_true[..., 0] = label {0, 1},  y_true[..., 1] = teacher probability [0, 1]
    loss = dice_bce(label, p) + weight * soft(teacher, p)

The training loop, validation (on labels), checkpoints and the final evaluation are
``trainer.train``'s, through :class:`trainer.train.TrainHooks`. TensorFlow is imported lazily.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from inspector.core.model_card import sha256_file
from inspector.core.progress import ProgressState
from trainer.data.loader import Loaded
from trainer.data.pipeline import make_dataset, sample_crops

SoftKind = Literal["bce", "mse"]
SOFT_KINDS: tuple[SoftKind, ...] = ("bce", "mse")


def _maps_digest(teacher_sha: str, items: Sequence[Loaded]) -> str:
    h = hashlib.sha256(teacher_sha.encode())
    for it in items:
        h.update(it.key.encode())
        h.update(hashlib.sha256(np.ascontiguousarray(it.image).tobytes()).digest())
    return h.hexdigest()


def teacher_maps(
    teacher: Path,
    items: Sequence[Loaded],
    state: ProgressState,
    cache: Path | None = None,
    threads: int = 0,
) -> dict[str, np.ndarray]:
    """The teacher's probability map (float32 HxW, the image's size) for every item, by key.

    Run as the station runs the model (its card's preprocessing, the tiler, ONNX Runtime).
    ``cache`` (an .npz) keeps them as float16 for a rerun: it is used only when it was made by
    the same teacher file (sha256) on the same images (keys and pixels).
    """
    from trainer.evaluate import OnnxPredictor

    digest = _maps_digest(sha256_file(teacher), items)
    if cache is not None and cache.is_file():
        with np.load(cache, allow_pickle=False) as z:
            if str(z["digest"]) == digest:
                return {it.key: z[f"m{i}"].astype(np.float32) for i, it in enumerate(items)}
    predict = OnnxPredictor(Path(teacher), threads=threads)
    maps: dict[str, np.ndarray] = {}
    for i, it in enumerate(items):
        if state.cancelled():
            raise InterruptedError("cancelled while the teacher ran")
        maps[it.key] = np.asarray(predict(it.image), dtype=np.float32)
        state.progress(i + 1, len(items), f"teacher maps {i + 1}/{len(items)}")
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(cache.stem + ".tmp.npz")
        arrays = {f"m{i}": maps[it.key].astype(np.float16) for i, it in enumerate(items)}
        np.savez(tmp, digest=np.array(digest), **arrays)  # type: ignore[arg-type]
        tmp.replace(cache)
    return maps


def teacher_targets(soft: dict[str, np.ndarray]) -> Callable[[Loaded], np.ndarray]:
    """``sample_crops``' ``targets``: an item's (label, teacher map) as HxWx2 float32."""

    def targets(it: Loaded) -> np.ndarray:
        return np.stack([it.mask.astype(np.float32), soft[it.key].astype(np.float32)], axis=-1)

    return targets


def sample_distill_crops(
    items: list[Loaded], soft: dict[str, np.ndarray], n: int, crop: int, seed: int, **options: Any
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``n`` (model input HxWx1, targets HxWx2 = label, teacher) crops; the same draws as
    ``sample_crops`` with the same arguments (``options``: its augmentation ones), so inputs and
    labels are the very crops plain training would see, and the teacher's map is cut and turned
    with them."""
    return sample_crops(items, n, crop, seed, targets=teacher_targets(soft), **options)


def dataset_maker(soft: dict[str, np.ndarray]) -> Callable[..., Any]:
    """A ``make_dataset`` twin (same arguments) whose targets are (label, teacher) crops."""
    targets = teacher_targets(soft)

    def make(items: list[Loaded], *args: Any, **kwargs: Any) -> Any:
        missing = [it.key for it in items if it.key not in soft]
        if missing:
            raise ValueError(f"no teacher map for {len(missing)} training images, e.g. {missing[:3]}")
        return make_dataset(items, *args, targets=targets, target_channels=2, **kwargs)

    return make


def distill_loss(
    weight: float, kind: SoftKind = "bce", label_loss: str = "dice_bce"
) -> Callable[[Any, Any], Any]:
    """``label_loss``(label, p) + ``weight`` x ``kind``(teacher, p), y_true = (label, teacher)."""
    if kind not in SOFT_KINDS:
        raise ValueError(f"unknown distillation loss {kind!r}; choose one of {SOFT_KINDS}")
    if weight < 0:
        raise ValueError(f"distillation weight must be >= 0 (got {weight})")
    from trainer.losses import get_loss

    hard = get_loss(label_loss)

    def loss(y_true: Any, y_pred: Any) -> Any:
        import keras
        import tensorflow as tf

        y_true = tf.cast(y_true, y_pred.dtype)
        label, teacher = y_true[..., 0:1], y_true[..., 1:2]
        if kind == "bce":
            soft = tf.reduce_mean(keras.losses.binary_crossentropy(teacher, y_pred))
        else:
            soft = tf.reduce_mean(tf.square(teacher - y_pred))
        return hard(label, y_pred) + weight * soft

    loss.__name__ = f"distill_{label_loss}_{kind}"
    return loss


def on_label(metric: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """``metric`` on the label channel of (label, teacher) targets, under the same name."""

    def wrapped(y_true: Any, y_pred: Any) -> Any:
        return metric(y_true[..., 0:1], y_pred)

    wrapped.__name__ = metric.__name__
    return wrapped


def hooks(soft: dict[str, np.ndarray], weight: float, kind: SoftKind, label_loss: str = "dice_bce") -> Any:
    """The :class:`trainer.train.TrainHooks` of a distillation run."""
    from trainer.losses import dice_metric, iou_metric
    from trainer.train import TrainHooks

    return TrainHooks(
        loss=distill_loss(weight, kind, label_loss),
        metrics=[on_label(dice_metric), on_label(iou_metric)],
        dataset=dataset_maker(soft),
    )
