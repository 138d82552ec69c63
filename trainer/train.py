"""``train(cfg, state)``: the long-running training function (Qt-free, TF lazily).

Run dir contents: config.json, split.json, best.keras (best val Dice),
last.keras + state.json (for --resume), history.json, curves.png, result.json.
Every write is atomic (tmp file + rename) so a kill never leaves a torn model.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from inspector.core.progress import ProgressState
from trainer.config import TrainConfig
from trainer.data import load_samples, load_split, make_split, save_split
from trainer.data.loader import Loaded, load
from trainer.data.split import select
from trainer.events import Emit, null_emitter


@dataclass(slots=True)
class TrainResult:
    run_dir: str
    status: Literal["completed", "early_stop", "cancelled"]
    epochs_done: int
    best_epoch: int | None
    best_val_dice: float | None
    train_seconds: float
    train_img_per_s: float


def _atomic_json(obj: Any, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _atomic_save(model: Any, path: Path) -> None:
    tmp = path.with_name(path.stem + ".tmp.keras")
    model.save(tmp)
    os.replace(tmp, path)


def custom_objects() -> dict[str, Any]:
    from trainer import losses

    return {
        "dice_loss": losses.dice_loss,
        "dice_bce_loss": losses.dice_bce_loss,
        "bce_loss": losses.bce_loss,
        "dice": losses.dice_metric,
        "iou": losses.iou_metric,
    }


def load_keras(path: Path, compile: bool = False) -> Any:
    import keras

    return keras.models.load_model(path, custom_objects=custom_objects(), compile=compile)


def prepare_data(cfg: TrainConfig, run: Path) -> tuple[list[Loaded], list[Loaded]]:
    """Load train/val arrays; the split file is copied into (or made in) the run dir."""
    samples = load_samples(Path(cfg.data))
    split_path = run / "split.json"
    if cfg.split:
        split = load_split(Path(cfg.split))
    elif split_path.is_file():
        split = load_split(split_path)  # resume: keep the very same split
    else:
        split = make_split(samples, cfg.val_fraction, cfg.seed, str(cfg.data))
    save_split(split, split_path)
    src = cfg.split or split_path
    return load(select(samples, split.train, src)), load(select(samples, split.val, src))


def _lr_at(cfg: TrainConfig, epoch: int) -> float:
    # cosine decay per epoch: resumable (a pure function of the epoch) and gentle at the end
    frac = epoch / max(1, cfg.epochs - 1)
    return cfg.lr_min + 0.5 * (cfg.lr - cfg.lr_min) * (1 + math.cos(math.pi * min(1.0, frac)))


def _setup_tf(cfg: TrainConfig) -> None:
    import keras
    import tensorflow as tf

    if cfg.threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(cfg.threads)
            tf.config.threading.set_inter_op_parallelism_threads(min(2, cfg.threads))
        except RuntimeError:
            pass  # TF already initialised in this process (tests); keep its pools
    keras.utils.set_random_seed(cfg.seed)
    if cfg.deterministic:
        tf.config.experimental.enable_op_determinism()


def build_compiled(cfg: TrainConfig) -> Any:
    import keras

    from trainer.losses import dice_metric, get_loss, iou_metric
    from trainer.model import build_unet

    model = build_unet(cfg.base_filters, cfg.depth, cfg.batchnorm)
    model.compile(
        optimizer=keras.optimizers.Adam(cfg.lr, clipnorm=cfg.clipnorm),
        loss=get_loss(cfg.loss),
        metrics=[dice_metric, iou_metric],
        jit_compile=cfg.jit_compile,
    )
    return model


def _init_weights(model: Any, cfg: TrainConfig, images: list[Any], multiple: int) -> dict[str, Any]:
    """Fine-tuning start: the source's weights, after checking it is the same file and network."""
    from inspector.core.model_card import sha256_file
    from trainer.init_from import InitFromError, initialise, merge_architecture

    assert cfg.init_from is not None
    path = Path(cfg.init_from["path"])
    if not path.is_file():
        raise InitFromError(f"{path}: --init-from model not found")
    sha = sha256_file(path)
    if cfg.init_from.get("sha256") not in (None, "", sha):
        # the config names other bytes than the file holds now (a re-exported model)
        want = cfg.init_from["sha256"][:12]
        raise InitFromError(f"{path}: sha256 {sha[:12]} is not the {want} in the config")
    merge_architecture(path, {k: getattr(cfg, k) for k in ("base_filters", "depth", "batchnorm")})
    return {"path": str(path), "sha256": sha, **initialise(model, path, images, multiple)}


def train(
    cfg: TrainConfig, state: ProgressState, emit: Emit = null_emitter, resume: bool = False
) -> TrainResult:
    """Train until cfg.epochs, early stop, or ``state.cancelled()``; best model stays in run dir."""
    from trainer.model import size_multiple
    from trainer.plots import learning_curves
    from trainer.validate import predict_keras, score

    run = Path(cfg.out)
    run.mkdir(parents=True, exist_ok=True)
    state_path, last_path, best_path = run / "state.json", run / "last.keras", run / "best.keras"
    if resume:
        if not state_path.is_file() or not last_path.is_file():
            raise FileNotFoundError(f"{run}: nothing to resume (no state.json / last.keras)")
        # the saved config wins (same data, split, model), except epochs and the (maybe moved) dir
        saved = TrainConfig.load(run / "config.json")
        cfg = saved.model_copy(update={"epochs": cfg.epochs, "out": str(run)})
    elif state_path.is_file():
        # never mix two runs' checkpoints and history in one folder
        raise ValueError(f"{run}: already holds a training run; use --resume or another --out")
    cfg.save(run / "config.json")
    # data first: a bad data folder fails in a second, before TensorFlow has loaded
    train_items, val_items = prepare_data(cfg, run)
    if not val_items:
        raise ValueError(f"{cfg.data}: the val split is empty; need at least 2 images")
    _setup_tf(cfg)
    import keras

    multiple = size_multiple(cfg.depth)

    if resume:
        st = json.loads(state_path.read_text(encoding="utf-8"))
        model = load_keras(last_path, compile=True)
    else:
        st = {"epoch": 0, "best": None, "best_epoch": None, "wait": 0, "history": [], "train_seconds": 0.0}
        model = build_compiled(cfg)
        if cfg.init_from:
            init_log = _init_weights(model, cfg, [it.image for it in val_items[:1]], multiple)
            emit({"event": "init", **init_log})
    history: list[dict[str, Any]] = st["history"]
    total_steps = cfg.epochs * cfg.steps_per_epoch
    emit(
        {
            "event": "start",
            "run_dir": str(run),
            "n_train": len(train_items),
            "n_val": len(val_items),
            "epochs": cfg.epochs,
            "steps_per_epoch": cfg.steps_per_epoch,
            "resume_epoch": st["epoch"],
            "params": int(model.count_params()),
            "config": cfg.model_dump(),
        }
    )

    timing = {"step_s": None, "val_s": 0.0, "t_step": 0.0}
    cancelled = {"flag": False}

    class _Steps(keras.callbacks.Callback):
        def __init__(self, epoch: int) -> None:
            super().__init__()
            self.epoch = epoch

        def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
            timing["t_step"] = time.perf_counter()

        def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
            dt = time.perf_counter() - timing["t_step"]
            # exponential average: the first (tracing) step and other users' load spikes fade out
            timing["step_s"] = dt if timing["step_s"] is None else 0.9 * timing["step_s"] + 0.1 * dt
            logs = logs or {}
            done = (self.epoch - 1) * cfg.steps_per_epoch + batch + 1
            remaining_epochs = cfg.epochs - self.epoch
            eta = (total_steps - done) * timing["step_s"] + (remaining_epochs + 1) * timing["val_s"]
            emit(
                {
                    "event": "step",
                    "epoch": self.epoch,
                    "epochs": cfg.epochs,
                    "step": batch + 1,
                    "steps": cfg.steps_per_epoch,
                    "loss": float(logs.get("loss", math.nan)),
                    "metrics": {k: float(v) for k, v in logs.items() if k != "loss"},
                    "img_per_s": cfg.batch / timing["step_s"],
                    "eta_s": eta,
                }
            )
            state.progress(done, total_steps, f"epoch {self.epoch}/{cfg.epochs} step {batch + 1}")
            if state.cancelled():
                cancelled["flag"] = True
                self.model.stop_training = True

    from trainer.data.pipeline import make_dataset

    status: Literal["completed", "early_stop", "cancelled"] = "completed"
    for epoch in range(st["epoch"] + 1, cfg.epochs + 1):
        if state.cancelled():
            cancelled["flag"] = True
            break
        lr = _lr_at(cfg, epoch - 1)
        model.optimizer.learning_rate.assign(lr)
        ds = make_dataset(
            train_items,
            cfg.steps_per_epoch,
            cfg.batch,
            cfg.crop,
            cfg.seed * 100_003 + epoch,
            cfg.defect_fraction,
            cfg.brightness,
            cfg.contrast,
        )
        t0 = time.perf_counter()
        hist = model.fit(
            ds,
            epochs=1,
            steps_per_epoch=cfg.steps_per_epoch,
            shuffle=False,
            verbose=0,
            callbacks=[_Steps(epoch)],
        )
        train_s = time.perf_counter() - t0
        if cancelled["flag"]:
            break  # a partial epoch is neither scored nor saved as 'last'
        st["train_seconds"] += train_s
        t1 = time.perf_counter()
        items = val_items[: cfg.max_val_images] if cfg.max_val_images else val_items
        val = score(items, predict_keras(model, [it.image for it in items], multiple, cfg.val_batch))
        timing["val_s"] = time.perf_counter() - t1
        row = {
            "epoch": epoch,
            "lr": lr,
            "seconds": train_s,
            "val_seconds": timing["val_s"],
            **{k: float(v[-1]) for k, v in hist.history.items()},
            **val,
        }
        history.append(row)
        improved = st["best"] is None or val["val_dice"] > st["best"]
        if improved:
            st["best"], st["best_epoch"], st["wait"] = val["val_dice"], epoch, 0
            _atomic_save(model, best_path)
        else:
            st["wait"] += 1
        st["epoch"] = epoch
        _atomic_save(model, last_path)
        _atomic_json(st, state_path)
        _atomic_json(history, run / "history.json")
        learning_curves(history, run / "curves.png")
        emit(
            {
                "event": "epoch",
                **row,
                "best": st["best"],
                "best_epoch": st["best_epoch"],
                "improved": improved,
            }
        )
        if st["wait"] >= cfg.patience:
            status = "early_stop"
            break
    if cancelled["flag"]:
        status = "cancelled"
        if not best_path.is_file():
            # cancelled before the first epoch ended: keep what there is, marked unscored
            _atomic_save(model, best_path)
    if history:
        learning_curves(history, run / "curves.png")
    n_train = sum(h["seconds"] for h in history)
    result = TrainResult(
        str(run),
        status,
        st["epoch"],
        st["best_epoch"],
        st["best"],
        st["train_seconds"],
        (len(history) * cfg.steps_per_epoch * cfg.batch / n_train) if n_train else 0.0,
    )
    _atomic_json(asdict(result), run / "result.json")
    emit({"event": "done", **asdict(result)})
    return result
