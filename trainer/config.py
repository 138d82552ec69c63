"""Training configuration: one typed value, saved as config.json in the run dir."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from inspector.core.model_card import ModelCard, Normalisation


class TrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data: str = Field(description="Data folder (DAGM root/class/Train or images/+masks/).")
    out: str = Field(description="Run directory (config, split, checkpoints, curves).")
    split: str | None = Field(None, description="Existing split JSON; default: make one in the run dir.")
    val_fraction: float = Field(
        0.2, gt=0.0, lt=1.0, description="Share of images for val (checkpoint, threshold)."
    )
    test_fraction: float = Field(
        0.2, ge=0.0, lt=1.0, description="Share of images for test (reported only); a DAGM Test/ folder wins."
    )
    group_regex: str | None = Field(
        None,
        description="Part id in the file name (regex; group 1 or the match); default: found from the names.",
    )
    seed: int = 0
    # model (defaults = the seed slide's U-Net)
    base_filters: int = Field(16, ge=1)
    depth: int = Field(5, ge=2, le=7)
    batchnorm: bool = Field(False, description="BatchNorm after each conv (not in the seed net).")
    # fine-tuning: {"path", "sha256"} of the .onnx (+ card) or .keras the run started from;
    # the sha pins the exact bytes, since a promoted model's path can be re-used
    init_from: dict[str, str] | None = Field(None, description="Model the weights started from.")
    # optimisation
    loss: Literal["dice", "dice_bce", "bce"] = "dice_bce"
    # 5e-4: what both shipped models used (1e-3 without clipping collapsed on DAGM, see below)
    lr: float = Field(5e-4, gt=0.0)
    # The seed net has no normalisation; on DAGM Class1 at lr 1e-3 without clipping it learned
    # (val Dice 0.85 at epoch 4) and then collapsed to an all-zero output at epoch 5.
    clipnorm: float | None = Field(1.0, gt=0.0, description="Gradient norm clip; None disables.")
    lr_min: float = Field(
        1e-5, ge=0.0, description="Learning-rate floor (cosine: reached at the last epoch)."
    )
    # plateau: keep lr while val improves, halve it after lr_patience epochs without a better val
    # score, stop after `patience` (adapts to how fast a product learns); cosine: decay over `epochs`
    lr_schedule: Literal["plateau", "cosine"] = Field(
        "plateau", description="plateau: halve lr when val stalls; cosine: decay over the epochs."
    )
    lr_patience: int = Field(
        2, ge=1, description="Plateau: epochs without a better val score before halving."
    )
    # None = chosen from the data (trainer.auto); config.json keeps the values used, and ``auto`` names them
    epochs: int | None = Field(None, ge=1, description="Epochs (a cap with the plateau schedule).")
    steps_per_epoch: int | None = Field(None, ge=1, description="Steps per epoch.")
    batch: int | None = Field(None, ge=1, description="Crops per step.")
    crop: int | None = Field(None, ge=16, description="Crop side in px; smaller images are reflect-padded.")
    defect_fraction: float = Field(0.5, ge=0.0, le=1.0, description="Share of crops centred near a defect.")
    brightness: float = Field(0.1, ge=0.0, description="Brightness shift, share of full scale.")
    contrast: float = Field(0.2, ge=0.0, description="Contrast factor range (1 +- this).")
    blur: float = Field(1.0, ge=0.0, description="Gaussian blur sigma up to this on a third of the crops.")
    patience: int | None = Field(
        None, ge=1, description="Early stop after this many epochs without a better val score."
    )
    normalisation: Normalisation = Field(
        default_factory=Normalisation,
        description="Model input = (x / scale - mean) / std (the model card's).",
    )
    auto: list[str] = Field(default_factory=list, description="Settings the trainer chose from the data.")
    # Measured on the 2-core CPU box: XLA made a train step ~35% slower, so off by default.
    jit_compile: bool = False
    # auto: mixed_bfloat16 where the CPU has bfloat16 instructions (AVX512-BF16 / AMX), else float32;
    # config.json keeps the one used. Validation, evaluation and export always run in float32.
    precision: Literal["auto", "float32", "mixed_bfloat16"] = Field(
        "auto", description="Training compute precision (auto: bfloat16 where the CPU has it)."
    )
    threads: int = Field(0, ge=0, description="TF intra-op threads; 0 = TensorFlow's default.")
    val_batch: int = Field(4, ge=1, description="(unused: validation runs through the station's tiler)")
    max_val_images: int | None = Field(None, ge=1, description="Cap on val images scored per epoch.")
    deterministic: bool = True
    track_test: bool = Field(
        False,
        description="Also score the test split after every epoch (a diagnostic for time-to-target "
        "measurements; never used to choose anything).",
    )

    # distribution (trainer.distribute): ``batch`` is per replica; replicas, global_batch and
    # scaled_lr (= lr * replicas, the linear rule) are recorded by the run, not set by hand
    strategy: Literal["default", "mirrored", "multiworker"] = Field(
        "default", description="tf.distribute strategy: default (one device), mirrored, multiworker."
    )
    devices: list[str] | None = Field(
        None, description="Mirrored: logical devices to use (default: all local GPUs)."
    )
    loop: Literal["fit", "custom"] = Field(
        "fit",
        description="Training loop: fit (Keras model.fit) or custom (trainer.dist_loop: strategy.run, "
        "loss over the global batch; multiworker always uses it).",
    )
    replicas: int | None = Field(None, ge=1, description="Replicas in sync (recorded by the run).")
    global_batch: int | None = Field(
        None, ge=1, description="Crops per step over all replicas = batch * replicas (recorded)."
    )
    scaled_lr: float | None = Field(
        None, gt=0.0, description="Learning rate used = lr * replicas (linear rule; recorded)."
    )

    def card(self, name: str = "training", input_hw: tuple[int, int] = (512, 512)) -> ModelCard:
        """The model card the run's preprocessing follows: training crops, per-epoch validation,
        the final evaluation and the export all feed the model through it. ``input_hw``: the
        typical image size (larger ones are tiled when memory asks for it)."""
        return ModelCard(
            name=name,
            input_height=int(input_hw[0]),
            input_width=int(input_hw[1]),
            resize="native",
            multiple=self.multiple,
            normalisation=self.normalisation,
        )

    @property
    def multiple(self) -> int:
        """H and W of the model's input must divide by this (trainer.model.size_multiple; not
        imported from there, which would put Keras on the station's import graph)."""
        return 2 ** (self.depth - 1)

    def resolved(self) -> bool:
        return None not in (self.epochs, self.steps_per_epoch, self.batch, self.crop, self.patience)

    def save(self, path: Path) -> None:
        Path(path).write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> TrainConfig:
        try:
            return cls.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise
        except Exception as exc:
            raise ValueError(f"{path}: not a valid training config: {exc}") from exc
