"""Training configuration: one typed value, saved as config.json in the run dir."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data: str = Field(description="Data folder (DAGM root/class/Train or images/+masks/).")
    out: str = Field(description="Run directory (config, split, checkpoints, curves).")
    split: str | None = Field(None, description="Existing split JSON; default: make one in the run dir.")
    val_fraction: float = Field(0.3, gt=0.0, lt=1.0)
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
    lr_min: float = Field(1e-5, ge=0.0, description="Cosine decay floor, reached at the last epoch.")
    epochs: int = Field(30, ge=1)
    steps_per_epoch: int = Field(50, ge=1)
    batch: int = Field(8, ge=1)
    crop: int = Field(256, ge=16)
    defect_fraction: float = Field(0.5, ge=0.0, le=1.0, description="Share of crops centred near a defect.")
    brightness: float = Field(0.1, ge=0.0)
    contrast: float = Field(0.2, ge=0.0)
    patience: int = Field(8, ge=1, description="Early stop after this many epochs without a better val Dice.")
    # Measured on the 2-core CPU box: XLA made a train step ~35% slower, so off by default.
    jit_compile: bool = False
    threads: int = Field(0, ge=0, description="TF intra-op threads; 0 = TensorFlow's default.")
    val_batch: int = Field(4, ge=1)
    max_val_images: int | None = Field(None, ge=1, description="Cap on val images scored per epoch.")
    deterministic: bool = True

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
