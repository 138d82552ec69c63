"""Training settings chosen from the data when they are not given (no TensorFlow here).

The aim: ``inspector-train train --data DIR --out RUN`` gives a usable model on a new
product, in bounded time on a small CPU. What is chosen, and why:

- **crop**: the median short side of the training images, on the model's grid, between
  64 and 256 px (256 is what the DAGM model trained on; larger crops cost time without
  more defects per crop). Smaller images are reflect-padded to it.
- **batch**: about as many pixels per step as 8 crops of 256 (4 to 32 crops).
- **steps per epoch**: one pass over the training pixels, 20 to 100 steps.
- **epochs**: a cap, not a target: 4000 steps of that pixel size in all (about 20
  minutes at ~27 crops of 256 px per second, bfloat16 on 2 free cores), so the
  number of epochs grows as the data set shrinks. The learning rate stays while the
  val score improves and is halved after 2 epochs without a better one
  (``lr_schedule`` plateau);
- **patience**: 6 epochs without a better val score end the run (after two halvings),
  so a product that learns fast stops early and one that learns slowly keeps going.
- **precision**: mixed bfloat16 where the CPU has bfloat16 instructions, else float32.
- **max val images per epoch**: all, unless whole-image validation would cost more
  pixels than 3/4 of an epoch's training crops; the final evaluation always uses all.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from trainer.config import TrainConfig

CROP_MIN, CROP_MAX = 64, 256
BATCH_PIXELS = 8 * 256 * 256
BATCH_MIN, BATCH_MAX = 4, 32
STEPS_MIN, STEPS_MAX = 20, 100
TOTAL_STEPS = 4000  # the cap, in steps of BATCH_PIXELS
PATIENCE = 6  # with lr_patience 2: the rate is halved twice before a stalled run stops
VAL_PIXEL_SHARE = 0.75


@dataclass(slots=True)
class Choice:
    crop: int
    batch: int
    steps_per_epoch: int
    epochs: int
    patience: int
    max_val_images: int | None
    why: dict[str, str] = field(default_factory=dict)


def _floor_to(x: float, m: int) -> int:
    return int(x // m) * m


def choose(
    cfg: TrainConfig,
    train_hw: Sequence[tuple[int, int]],
    val_hw: Sequence[tuple[int, int]] = (),
) -> Choice:
    """Settings for ``cfg`` (given ones are kept) from the sizes of the train and val images."""
    if not train_hw:
        raise ValueError("no training images to choose settings from")
    m = cfg.multiple
    why: dict[str, str] = {}
    short = float(np.median([min(h, w) for h, w in train_hw]))
    if cfg.crop is not None:
        crop = cfg.crop
    else:
        lo = max(CROP_MIN, m)
        crop = int(min(CROP_MAX, max(lo, _floor_to(short, m))))
        why["crop"] = f"median short side {short:.0f} px -> {crop} (grid {m}, {lo}..{CROP_MAX})"
    if cfg.batch is not None:
        batch = cfg.batch
    else:
        batch = int(min(BATCH_MAX, max(BATCH_MIN, round(BATCH_PIXELS / crop**2))))
        why["batch"] = f"~{BATCH_PIXELS // 1024}k px per step at crop {crop}"
    px_train = float(sum(max(h, crop) * max(w, crop) for h, w in train_hw))
    step_px = batch * crop * crop
    one_pass = max(1, math.ceil(px_train / step_px))
    if cfg.steps_per_epoch is not None:
        steps = cfg.steps_per_epoch
    else:
        steps = int(min(STEPS_MAX, max(STEPS_MIN, one_pass)))
        why["steps_per_epoch"] = (
            f"one pass = {one_pass} steps over {px_train / 1e6:.1f} Mpx ({STEPS_MIN}..{STEPS_MAX})"
        )
    if cfg.epochs is not None:
        epochs = cfg.epochs
    else:
        # the budget in steps of BATCH_PIXELS, so a smaller crop does not mean less training
        epochs = max(1, math.ceil(TOTAL_STEPS * BATCH_PIXELS / step_px / steps))
        why["epochs"] = f"a cap of {TOTAL_STEPS} steps of {BATCH_PIXELS // 1024}k px" + (
            "; early stopping ends the run sooner" if cfg.lr_schedule == "plateau" else ""
        )
    if cfg.patience is not None:
        patience = cfg.patience
    else:
        patience = PATIENCE if cfg.lr_schedule == "plateau" else max(4, epochs // 3)
        why["patience"] = (
            f"{patience} epochs without a better val score (lr halved every {cfg.lr_patience})"
            if cfg.lr_schedule == "plateau"
            else "a third of the epochs, at least 4"
        )
    max_val = cfg.max_val_images
    if max_val is None and val_hw:
        budget = VAL_PIXEL_SHARE * steps * step_px
        total_px, n = 0.0, 0
        for h, w in val_hw:
            total_px += h * w
            if total_px > budget:
                break
            n += 1
        if n < len(val_hw):
            max_val = max(1, n)
            why["max_val_images"] = (
                f"whole-image validation of {max_val} of {len(val_hw)} images per epoch "
                f"(<= {VAL_PIXEL_SHARE:.0%} of an epoch's pixels); the final evaluation scores all"
            )
    return Choice(crop, batch, steps, epochs, patience, max_val, why)


def cpu_has_bf16() -> bool:
    """Whether this CPU has bfloat16 arithmetic (Linux: AVX512-BF16 or AMX-BF16 in /proc/cpuinfo)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False


def resolve_precision(precision: str) -> str:
    """``auto`` -> "mixed_bfloat16" where the CPU has bfloat16 instructions (1.7x the crops per
    CPU-second of float32 on the development machine, trainer/README.md), else "float32"."""
    if precision != "auto":
        return precision
    return "mixed_bfloat16" if cpu_has_bf16() else "float32"


def apply(cfg: TrainConfig, choice: Choice) -> TrainConfig:
    """``cfg`` with the chosen values filled in and ``auto`` naming the ones the trainer chose."""
    chosen = [
        k for k in ("crop", "batch", "steps_per_epoch", "epochs", "patience") if getattr(cfg, k) is None
    ]
    if cfg.max_val_images is None and choice.max_val_images is not None:
        chosen.append("max_val_images")
    if cfg.precision == "auto":
        chosen.append("precision")
    return cfg.model_copy(
        update={
            "precision": resolve_precision(cfg.precision),
            "crop": choice.crop,
            "batch": choice.batch,
            "steps_per_epoch": choice.steps_per_epoch,
            "epochs": choice.epochs,
            "patience": choice.patience,
            "max_val_images": choice.max_val_images,
            "auto": sorted(set(cfg.auto) | set(chosen)),
        }
    )
