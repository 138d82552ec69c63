"""``compress``: a smaller, quantised model from a shipped one, checked against it.

Three steps, each runnable alone (``--steps``), all writing under ``out``:

- **distill** -> ``out/student/`` (a ``train`` run dir) and ``out/student/export/model.onnx``:
  the teacher's maps of every train-split image (``out/teacher_maps.npz``), then a smaller U-Net
  (default 8 base filters, the teacher's depth) trained on labels + teacher maps
  (``trainer.distill``), exported through ``trainer.export`` (parity-checked, ``image``/``mask``,
  dynamic N/H/W).
- **quantize** -> ``out/quant/model.onnx``: Concat-split rewrite, static QDQ INT8 calibrated on
  train-split images only, and a per-layer sensitivity search (``trainer.quantize``).
- **evaluate** -> ``out/final/`` (model.onnx + model.json + golden/): teacher, FP32 student and
  INT8 student scored on the teacher's held-out split (its ``val`` part) with the station's rules
  (``trainer.evaluate``); the card records precision, the teacher (sha256, metrics), the
  difference, the settings, the exclusions and the exact commands; golden samples from val; the
  station's self-test must pass on the result.

Long work takes a :class:`ProgressState` (progress/cancel) like ``train``.
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from inspector.core.progress import ProgressState
from trainer.events import Emit, null_emitter

Step = Literal["distill", "quantize", "evaluate"]
STEPS: tuple[Step, ...] = ("distill", "quantize", "evaluate")
# training settings a student takes from the teacher's card config unless given
TRAIN_KEYS = (
    "depth",
    "batchnorm",
    "loss",
    "lr",
    "lr_min",
    "lr_schedule",
    "clipnorm",
    "epochs",
    "steps_per_epoch",
    "batch",
    "crop",
    "defect_fraction",
    "brightness",
    "contrast",
    "blur",
    "patience",
    "seed",
    "precision",
)


class CompressError(ValueError):
    """The compressed model cannot be made or does not hold up (named, with the reason)."""


class CompressConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    teacher: str = Field(description="Teacher ONNX model (its card beside it).")
    data: str = Field(description="Labelled data the teacher was trained on.")
    split: str = Field(description="The teacher's split.json: train for the student, val held out.")
    out: str = Field(description="Output folder (teacher maps, student run, quant, final).")
    steps: list[Step] = Field(default_factory=lambda: list(STEPS))
    # student
    base_filters: int = Field(8, ge=1, description="Student U-Net base filters.")
    init_from: str | None = Field(None, description="Start the student from this .onnx / .keras.")
    train: dict[str, Any] = Field(
        default_factory=dict, description="Training settings (TrainConfig fields) over the teacher's."
    )
    distill_weight: float = Field(1.0, ge=0.0, description="Weight of the teacher term in the loss.")
    distill_loss: Literal["bce", "mse"] = Field("bce", description="Teacher term: bce or mse.")
    threads: int = Field(0, ge=0, description="CPU threads (TensorFlow and ONNX Runtime); 0 = all.")
    # quantisation
    student: str | None = Field(None, description="Student ONNX for quantize/evaluate alone.")
    calib_images: int = Field(50, ge=1, description="Train-split images that calibrate the ranges.")
    check_images: int = Field(40, ge=2, description="Other train-split images that judge the INT8 model.")
    max_dice_drop: float = Field(0.005, ge=0.0, description="INT8 vs FP32 Dice (defective) drop allowed.")
    max_tnr_drop: float = Field(0.0, ge=0.0, description="INT8 vs FP32 image TNR drop allowed.")
    final: Literal["int8", "fp32"] = Field("int8", description="Which student goes to out/final.")
    recipe: str | None = Field(None, description="Recipe for the evaluation (default: the shipped one).")

    def path(self, *parts: str) -> Path:
        return Path(self.out).joinpath(*parts)

    @property
    def student_onnx(self) -> Path:
        return Path(self.student) if self.student else self.path("student", "export", "model.onnx")


def portable(text: str) -> str:
    """``text`` with the data-set root written as ``$DATASETS`` (cards name no machine path)."""
    root = os.environ.get("DATASETS", "").rstrip("/")
    return text.replace(root, "$DATASETS") if root else text


def as_args(cc: CompressConfig) -> list[str]:
    """``cc`` as ``inspector-train compress`` arguments (defaults left out)."""
    args: list[str] = []
    for name, field in CompressConfig.model_fields.items():
        value = getattr(cc, name)
        if name == "train" or value == field.get_default(call_default_factory=True):
            continue
        flag = "--" + name.replace("_", "-")
        args += [flag, ",".join(value) if name == "steps" else str(value)]
    for name, value in cc.train.items():
        if value is not None:
            args += ["--" + name.replace("_", "-"), str(value)]
    return args


def reproduce(cc: CompressConfig) -> str:
    """The command that makes this model again (``inspector-train compress ...``)."""
    return portable(" ".join(["inspector-train", "compress", *(shlex.quote(a) for a in as_args(cc))]))


def _teacher_card(cc: CompressConfig) -> Any:
    from inspector.core.model_card import load_card, verify_card

    teacher = Path(cc.teacher)
    return verify_card(load_card(teacher), teacher)


def student_config(cc: CompressConfig) -> Any:
    """The student's TrainConfig: the teacher's card settings, ``cc.train`` over them, the
    teacher's normalisation, the teacher's split, ``cc.base_filters``."""
    from trainer.config import TrainConfig

    card = _teacher_card(cc)
    base = {k: v for k, v in card.config.items() if k in TRAIN_KEYS and v is not None}
    fields: dict[str, Any] = {**base, **{k: v for k, v in cc.train.items() if v is not None}}
    fields.update(
        data=cc.data,
        out=str(cc.path("student")),
        split=cc.split,
        base_filters=cc.base_filters,
        normalisation=card.normalisation,
        threads=cc.threads,
    )
    if cc.init_from:
        from trainer.init_from import init_record

        fields["init_from"] = init_record(Path(cc.init_from))
    return TrainConfig(**fields)


def distill_step(cc: CompressConfig, state: ProgressState, emit: Emit = null_emitter) -> Path:
    """Teacher maps, then the student's training and export; returns the student ONNX."""
    from inspector.core.model_card import sha256_file
    from trainer.data import load_samples, load_split
    from trainer.data.loader import load
    from trainer.data.split import select
    from trainer.distill import hooks, teacher_maps
    from trainer.export import export_run
    from trainer.train import train

    cfg = student_config(cc)
    split = load_split(Path(cc.split))
    train_samples = select(load_samples(Path(cc.data)), split.train, cc.split)
    items = load(train_samples)
    emit({"event": "compress", "step": "teacher_maps", "images": len(items)})
    maps = teacher_maps(Path(cc.teacher), items, state, cc.path("teacher_maps.npz"), cc.threads)
    run = cc.path("student")
    run.mkdir(parents=True, exist_ok=True)
    record = {
        "teacher": portable(str(cc.teacher)),
        "teacher_sha256": sha256_file(Path(cc.teacher)),
        "weight": cc.distill_weight,
        "loss": cc.distill_loss,
        "label_loss": cfg.loss,
        "maps_images": len(maps),
    }
    (run / "distill.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    emit({"event": "compress", "step": "distill", **record})
    result = train(cfg, state, emit, hooks=hooks(maps, cc.distill_weight, cc.distill_loss, cfg.loss))
    if result.status == "cancelled":
        raise InterruptedError("cancelled while the student trained (best.keras kept)")
    emit({"event": "compress", "step": "export"})
    return export_run(
        run, run / "export", card_name=f"{_teacher_card(cc).name}-student", reproduce=reproduce(cc)
    )


def quantize_step(cc: CompressConfig, state: ProgressState, emit: Emit = null_emitter) -> Path:
    """INT8 QDQ of the student: calibration and the sensitivity search on train-split images."""
    from trainer.data import load_samples, load_split
    from trainer.data.split import select
    from trainer.quantize import QuantSettings, quantize_model

    student = cc.student_onnx
    if not student.is_file():
        raise CompressError(f"{student}: no student model (run the distill step, or give --student)")
    split = load_split(Path(cc.split))
    train = select(load_samples(Path(cc.data)), split.train, cc.split)
    settings = QuantSettings(
        calib_images=cc.calib_images,
        check_images=cc.check_images,
        max_dice_drop=cc.max_dice_drop,
        max_tnr_drop=cc.max_tnr_drop,
        threads=cc.threads,
    )
    return quantize_model(student, train, cc.path("quant"), settings, state, emit)


def evaluate_step(cc: CompressConfig, state: ProgressState, emit: Emit = null_emitter) -> Path:
    from trainer.compress_card import evaluate_and_write

    return evaluate_and_write(cc, state, emit)


def compress(cc: CompressConfig, state: ProgressState, emit: Emit = null_emitter) -> Path | None:
    """Run ``cc.steps`` in order; returns the last step's model (``out/final/model.onnx`` after
    evaluate). ``compress.json`` in ``out`` keeps the settings of every run."""
    out = Path(cc.out)
    out.mkdir(parents=True, exist_ok=True)
    log = out / "compress.json"
    runs = json.loads(log.read_text(encoding="utf-8")) if log.is_file() else []
    runs.append(cc.model_dump(mode="json"))
    log.write_text(json.dumps(runs, indent=2) + "\n", encoding="utf-8")
    last: Path | None = None
    for step in STEPS:
        if step not in cc.steps:
            continue
        if state.cancelled():
            raise InterruptedError(f"cancelled before {step}")
        emit({"event": "compress", "step": step, "status": "start"})
        fn = {"distill": distill_step, "quantize": quantize_step, "evaluate": evaluate_step}[step]
        last = fn(cc, state, emit)
        emit({"event": "compress", "step": step, "status": "done", "model": str(last)})
    return last
