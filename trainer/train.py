"""``train(cfg, state)``: the long-running training function (Qt-free, TF lazily).

Run dir contents: config.json (the settings used, chosen ones named in ``auto``),
data_summary.json, split.json (train / val / test), best.keras (best val score),
last.keras + state.json (for --resume), history.json, curves.png, result.json
(with the test figures), eval_val/ and eval_test/ (the final evaluation).
Every write is atomic (tmp file + rename) so a kill never leaves a torn model.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from inspector.core.progress import ProgressState
from trainer.config import TrainConfig
from trainer.data import load_samples, load_split, make_split, save_split
from trainer.data.io import DataError
from trainer.data.layout import dagm_test_samples, layout_name
from trainer.data.loader import Loaded, load_checked
from trainer.data.sample import Sample
from trainer.data.split import Split, select, split_counts
from trainer.data.summary import DataSummary, check_usable, describe
from trainer.events import Emit, null_emitter


@dataclass(frozen=True, slots=True)
class TrainHooks:
    """Another objective on this loop (``trainer.distill``): ``loss`` and ``metrics`` replace the
    config's loss and the crop metrics, ``dataset`` replaces ``make_dataset`` (same arguments), so
    the targets may carry more than the label. Validation, checkpoints and the final evaluation
    stay the label-based ones. A run with hooks cannot be resumed (its loss is not in the file)."""

    loss: Callable[[Any, Any], Any] | None = None
    metrics: list[Callable[[Any, Any], Any]] | None = None
    dataset: Callable[..., Any] | None = None


@dataclass(slots=True)
class TrainResult:
    run_dir: str
    status: Literal["completed", "early_stop", "cancelled"]
    epochs_done: int
    best_epoch: int | None
    best_val_dice: float | None
    train_seconds: float
    train_img_per_s: float
    wall_seconds: float = 0.0
    val_seconds: float = 0.0
    eval_seconds: float = 0.0
    # the final evaluation: threshold chosen on val, figures reported on test (val without one)
    threshold: float | None = None
    report_split: str = ""
    test: dict[str, Any] | None = None
    val: dict[str, Any] | None = None


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


@dataclass(slots=True)
class Prepared:
    """The run's data, checked and split before TensorFlow loads."""

    train: list[Loaded]
    val: list[Loaded]
    val_samples: list[Sample]
    test_samples: list[Sample]
    split: Split
    summary: DataSummary
    test: list[Loaded]


def prepare_data(cfg: TrainConfig, run: Path) -> Prepared:
    """Read and check every image and mask, refuse bad files (named, with the reason), split.

    The split file is copied into (or made in) the run dir. A DAGM folder with both
    ``Train/`` and ``Test/`` gives its ``Test/`` as the test split. Runs before TensorFlow
    loads: a bad data folder fails in seconds, naming the file.
    """
    data = Path(cfg.data)
    samples = load_samples(data)
    test_folder = dagm_test_samples(data)
    items, refused = load_checked(samples)
    test_items: list[Loaded] = []
    if test_folder:
        test_items, test_refused = load_checked(test_folder)
        refused += test_refused
    summary = describe(str(data), layout_name(data), items, refused, len(test_items))
    check_usable(summary)
    # 'defective' from the mask's pixels (an empty mask file is a defect-free image)
    by_key = {it.key: it for it in (*items, *test_items)}
    usable = [Sample(s.key, s.image, s.mask, by_key[s.key].defective) for s in samples if s.key in by_key]
    split_path = run / "split.json"
    if cfg.split:
        split = load_split(Path(cfg.split))
    elif split_path.is_file():
        split = load_split(split_path)  # resume: keep the very same split
    else:
        split = make_split(
            usable,
            cfg.val_fraction,
            cfg.seed,
            str(cfg.data),
            0.0 if test_folder else cfg.test_fraction,
            cfg.group_regex,
        )
        if test_folder:
            split.test = sorted(it.key for it in test_items)
            split.test_source = "DAGM Test/ folder"
            split.counts = split_counts(split, {s.key: s for s in (*usable, *test_folder)})
    src = cfg.split or split_path
    refused_keys = {r.key for r in refused}
    for name in ("train", "val", "test"):
        keys = getattr(split, name)
        bad = [k for k in keys if k in refused_keys]
        if bad:
            why = next(r for r in refused if r.key == bad[0])
            raise DataError(f"{src}: its {name} split names refused files, e.g. {why.path}: {why.reason}")
    save_split(split, split_path)
    all_samples = {s.key: s for s in (*samples, *(test_folder or []))}
    test_samples = select(list(all_samples.values()), split.test, src)
    val_samples = select(list(all_samples.values()), split.val, src)
    train_items = [by_key[k] for k in split.train if k in by_key]
    missing = [k for k in (*split.train, *split.val) if k not in by_key]
    if missing:
        raise DataError(f"{src}: {len(missing)} keys not in the data set, e.g. {missing[:3]}")
    val_items = [by_key[k] for k in split.val]
    tracked = [by_key[k] for k in split.test] if cfg.track_test else []
    return Prepared(train_items, val_items, val_samples, test_samples, split, summary, tracked)


def _lr_at(cfg: TrainConfig, epoch: int) -> float:
    # cosine decay per epoch: resumable (a pure function of the epoch) and gentle at the end
    frac = epoch / max(1, cfg.epochs - 1)
    top = cfg.scaled_lr or cfg.lr  # linear scaling with the replicas (trainer.distribute)
    return cfg.lr_min + 0.5 * (top - cfg.lr_min) * (1 + math.cos(math.pi * min(1.0, frac)))


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


def build_compiled(cfg: TrainConfig, hooks: TrainHooks | None = None) -> Any:
    import keras

    from trainer.auto import resolve_precision
    from trainer.model import build_unet

    precision = resolve_precision(cfg.precision)
    dtype = None if precision == "float32" else precision
    model = build_unet(cfg.base_filters, cfg.depth, cfg.batchnorm, dtype=dtype)
    optimizer = keras.optimizers.Adam(cfg.scaled_lr or cfg.lr, clipnorm=cfg.clipnorm)
    _compile(model, cfg, optimizer, hooks)
    return model


def _compile(model: Any, cfg: TrainConfig, optimizer: Any, hooks: TrainHooks | None = None) -> None:
    from trainer.distribute import replica_loss
    from trainer.losses import dice_metric, get_loss, iou_metric

    loss = hooks.loss if hooks and hooks.loss else get_loss(cfg.loss)
    metrics = hooks.metrics if hooks and hooks.metrics else [dice_metric, iou_metric]
    if (cfg.replicas or 1) > 1:
        loss = replica_loss(loss)  # the global batch's gradients, not the sum of the replicas'
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics, jit_compile=cfg.jit_compile)


def twin(model: Any, cfg: TrainConfig) -> Any:
    """The float32 net with ``model``'s weights (``model`` itself when it computes in float32)."""
    from trainer.model import float32_twin

    return float32_twin(model, cfg.base_filters, cfg.depth, cfg.batchnorm)


def _init_weights(model: Any, cfg: TrainConfig, images: list[Any], multiple: int) -> dict[str, Any]:
    """Fine-tuning start: the source's weights, after checking it is the same file and network
    (on the float32 net: a bfloat16 one could not match ONNX Runtime within 1e-4)."""
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
    f32 = twin(model, cfg)
    log = initialise(f32, path, images, multiple)
    if f32 is not model:
        model.set_weights(f32.get_weights())
    return {"path": str(path), "sha256": sha, **log}


def _epoch_metrics(predict: Any, items: list[Loaded], prefix: str) -> dict[str, float]:
    """Pixel Dice (val score) and image TPR/TNR through the station's rules at the recipe's threshold."""
    from inspector.core.rules import decide
    from trainer.evaluate import default_recipe
    from trainer.validate import score

    recipe = default_recipe()
    probs = [predict(it.image) for it in items]
    out = score(items, probs, recipe.threshold)
    flagged = [decide(p, recipe).verdict != "OK" for p in probs]
    n_def = sum(it.defective for it in items)
    n_clean = len(items) - n_def
    tp = sum(f for f, it in zip(flagged, items, strict=True) if it.defective)
    tn = sum(not f for f, it in zip(flagged, items, strict=True) if not it.defective)
    out["val_tpr"] = tp / n_def if n_def else math.nan
    out["val_tnr"] = tn / n_clean if n_clean else math.nan
    return {k.replace("val_", prefix, 1): v for k, v in out.items()}


def train(
    cfg: TrainConfig,
    state: ProgressState,
    emit: Emit = null_emitter,
    resume: bool = False,
    hooks: TrainHooks | None = None,
) -> TrainResult:
    """Train until cfg.epochs, early stop, or ``state.cancelled()``; best model stays in run dir.

    Settings left out of ``cfg`` (crop, batch, steps, epochs, patience) are chosen from
    the data (:mod:`trainer.auto`). When the run ends (not cancelled), the best checkpoint
    is evaluated: threshold on the val split, figures on the test split (``eval_val/``,
    ``eval_test/``, and ``result.json``).
    """
    from trainer.auto import apply, choose
    from trainer.plots import learning_curves
    from trainer.validate import interleave, keras_predictor

    t_start = time.perf_counter()
    if cfg.strategy == "multiworker":
        from trainer.dist_loop import worker_run

        cfg, resume = worker_run(cfg, resume)  # a worker other than the chief: a temporary run dir
    run = Path(cfg.out)
    run.mkdir(parents=True, exist_ok=True)
    state_path, last_path, best_path = run / "state.json", run / "last.keras", run / "best.keras"
    if resume and hooks:
        raise ValueError(f"{run}: a run with another objective (hooks) cannot be resumed; start it again")
    if resume:
        if not state_path.is_file() or not last_path.is_file():
            raise FileNotFoundError(f"{run}: nothing to resume (no state.json / last.keras)")
        # the saved config wins (same data, split, model), except epochs and the (maybe moved) dir
        saved = TrainConfig.load(run / "config.json")
        # ... and the strategy: a run may continue on other devices (lr rescaled below)
        cfg = saved.model_copy(
            update={
                "epochs": cfg.epochs or saved.epochs,
                "out": str(run),
                "strategy": cfg.strategy,
                "devices": cfg.devices,
            }
        )
    elif state_path.is_file():
        # never mix two runs' checkpoints and history in one folder
        raise ValueError(f"{run}: already holds a training run; use --resume or another --out")
    # settings first: a missing or malformed TF_CONFIG fails before data or TensorFlow load
    from trainer.distribute import check_strategy, make_strategy, scaled_lr, shard_by_data

    check_strategy(cfg.strategy, cfg.devices)
    # data next: a bad data folder fails in a second, before TensorFlow has loaded
    data = prepare_data(cfg, run)
    train_items, val_items = data.train, data.val
    if not val_items:
        raise ValueError(f"{cfg.data}: the val split is empty; need at least 2 images")
    if not train_items:
        raise ValueError(f"{cfg.data}: the train split is empty")
    if not cfg.resolved() or cfg.max_val_images is None or cfg.precision == "auto":
        choice = choose(
            cfg, [it.image.shape[:2] for it in train_items], [it.image.shape[:2] for it in val_items]
        )
        why = {k: v for k, v in choice.why.items() if getattr(cfg, k) is None}
        cfg = apply(cfg, choice)
    else:
        why = {}
    cfg.save(run / "config.json")
    summary = data.summary.to_json() | {"chosen": why, "split_counts": data.split.counts}
    _atomic_json(summary, run / "data_summary.json")
    epochs, steps_per_epoch, batch, crop, patience = (
        int(cfg.epochs or 0),
        int(cfg.steps_per_epoch or 0),
        int(cfg.batch or 0),
        int(cfg.crop or 0),
        int(cfg.patience or 0),
    )
    _setup_tf(cfg)
    import keras

    # the strategy before any model, optimizer or metric; those are made in its scope
    strategy = make_strategy(cfg.strategy, cfg.devices)
    replicas = int(strategy.num_replicas_in_sync)
    cfg = cfg.model_copy(
        update={
            "replicas": replicas,
            "global_batch": batch * replicas,
            "scaled_lr": scaled_lr(cfg.lr, replicas),
            "loop": "custom" if cfg.strategy == "multiworker" else cfg.loop,
        }
    )
    cfg.save(run / "config.json")
    batch = batch * replicas  # crops per step, all replicas together (the dataset's batch)

    from trainer.model import size_multiple

    multiple = size_multiple(cfg.depth)
    mid = sorted(it.image.shape[:2] for it in val_items)[len(val_items) // 2]
    card = cfg.card(input_hw=(int(mid[0]), int(mid[1])))

    if resume:
        st = json.loads(state_path.read_text(encoding="utf-8"))
        before = int(st.get("replicas", 1))
        if before != replicas and "lr" in st:
            st["lr"] = float(st["lr"]) * replicas / before  # the linear rule, on the replicas now
        with strategy.scope():
            if cfg.strategy == "multiworker":  # built alike on every worker; the chief loads in start()
                model = build_compiled(cfg)
            else:
                model = load_keras(last_path, compile=True)
                if replicas > 1:
                    _compile(model, cfg, model.optimizer)  # the loss made right for the replicas
    else:
        st = {
            "epoch": 0,
            "best": None,
            "best_epoch": None,
            "wait": 0,
            "history": [],
            "train_seconds": 0.0,
            "lr": cfg.scaled_lr or cfg.lr,
            "lr_wait": 0,
        }
        with strategy.scope():
            model = build_compiled(cfg, hooks)
        if cfg.init_from:
            init_log = _init_weights(model, cfg, [it.image for it in val_items[:1]], multiple)
            emit({"event": "init", **init_log})
    st["replicas"] = replicas  # what st["lr"] was scaled for
    from trainer.dist_loop import AgreedState, CustomLoop, uses_custom_loop

    loop = None  # model.fit, or our own loop (trainer.dist_loop; always for multiworker)
    if uses_custom_loop(cfg):
        loop = CustomLoop(cfg, strategy, model, *((hooks.loss, hooks.metrics) if hooks else ()))
        st = loop.start(st, last_path if resume else None)  # multiworker: the chief's state to all
        if loop.multiworker:
            state = AgreedState(state, loop)  # a cancel on any worker stops all at the same step
    # validation runs the float32 net (as export and the station will), with the current weights
    eval_model = twin(model, cfg)
    predict = keras_predictor(eval_model, card, cfg.base_filters)
    history: list[dict[str, Any]] = st["history"]
    total_steps = epochs * steps_per_epoch
    emit(
        {
            "event": "start",
            "run_dir": str(run),
            "n_train": len(train_items),
            "n_val": len(val_items),
            "n_test": len(data.test_samples),
            "epochs": epochs,
            "steps_per_epoch": steps_per_epoch,
            "resume_epoch": st["epoch"],
            "params": int(model.count_params()),
            "config": cfg.model_dump(),
            "chosen": why,
        }
    )
    emit({"event": "data", **summary})  # what was read, refused and chosen (also data_summary.json)

    timing = {"step_s": None, "val_s": 0.0, "t_step": 0.0}
    cancelled = {"flag": False}

    class _Steps(keras.callbacks.Callback):
        def __init__(self, epoch: int) -> None:
            super().__init__()
            self.epoch = epoch

        def on_train_batch_begin(self, batch_i: int, logs: dict[str, Any] | None = None) -> None:
            timing["t_step"] = time.perf_counter()

        def on_train_batch_end(self, batch_i: int, logs: dict[str, Any] | None = None) -> None:
            dt = time.perf_counter() - timing["t_step"]
            # exponential average: the first (tracing) step and other users' load spikes fade out
            timing["step_s"] = dt if timing["step_s"] is None else 0.9 * timing["step_s"] + 0.1 * dt
            logs = logs or {}
            done = (self.epoch - 1) * steps_per_epoch + batch_i + 1
            remaining_epochs = epochs - self.epoch
            eta = (total_steps - done) * timing["step_s"] + (remaining_epochs + 1) * timing["val_s"]
            emit(
                {
                    "event": "step",
                    "epoch": self.epoch,
                    "epochs": epochs,
                    "step": batch_i + 1,
                    "steps": steps_per_epoch,
                    "loss": float(logs.get("loss", math.nan)),
                    "metrics": {k: float(v) for k, v in logs.items() if k != "loss"},
                    "img_per_s": batch / timing["step_s"],
                    "eta_s": eta,
                }
            )
            state.progress(done, total_steps, f"epoch {self.epoch}/{epochs} step {batch_i + 1}")
            if state.cancelled():
                cancelled["flag"] = True
                self.model.stop_training = True

    from trainer.data.pipeline import make_dataset

    val_epoch = interleave(val_items)
    if cfg.max_val_images:
        val_epoch = val_epoch[: cfg.max_val_images]
    status: Literal["completed", "early_stop", "cancelled"] = "completed"
    for epoch in range(st["epoch"] + 1, epochs + 1):
        if state.cancelled():
            cancelled["flag"] = True
            break
        lr = _lr_at(cfg, epoch - 1) if cfg.lr_schedule == "cosine" else float(st.get("lr", cfg.scaled_lr))
        model.optimizer.learning_rate.assign(lr)
        ds = (hooks.dataset if hooks and hooks.dataset else make_dataset)(
            train_items,
            steps_per_epoch,
            batch,
            crop,
            cfg.seed * 100_003 + epoch,
            cfg.defect_fraction,
            cfg.brightness,
            cfg.contrast,
            card,
            cfg.blur,
        )
        if replicas > 1 or cfg.strategy != "default":
            ds = shard_by_data(ds)  # Keras splits each global batch over the replicas
        t0 = time.perf_counter()
        if loop is not None:
            logs = loop.fit_epoch(ds, steps_per_epoch, _Steps(epoch))
        else:
            hist = model.fit(
                ds,
                epochs=1,
                steps_per_epoch=steps_per_epoch,
                shuffle=False,
                verbose=0,
                callbacks=[_Steps(epoch)],
            )
            logs = {k: float(v[-1]) for k, v in hist.history.items()}
        train_s = time.perf_counter() - t0
        if cancelled["flag"]:
            break  # a partial epoch is neither scored nor saved as 'last'
        st["train_seconds"] += train_s
        t1 = time.perf_counter()
        if eval_model is not model:
            eval_model.set_weights(model.get_weights())
        val = _epoch_metrics(predict, val_epoch, "val_")
        if loop is not None:
            val = loop.agree(val)  # multiworker: the chief's figures decide on every worker
        timing["val_s"] = time.perf_counter() - t1
        row = {
            "epoch": epoch,
            "lr": lr,
            "seconds": train_s,
            "val_seconds": timing["val_s"],
            "img_per_s": steps_per_epoch * batch / train_s if train_s else math.nan,
            "elapsed_s": time.perf_counter() - t_start,
            **logs,
            **val,
        }
        if data.test:  # diagnostic only (--track-test): recorded, never used to choose
            row.update(_epoch_metrics(predict, data.test, "test_"))
        history.append(row)
        improved = st["best"] is None or val["val_dice"] > st["best"]
        if improved:
            st["best"], st["best_epoch"], st["wait"], st["lr_wait"] = val["val_dice"], epoch, 0, 0
            _atomic_save(model, best_path)
        else:
            st["wait"] += 1
            st["lr_wait"] = st.get("lr_wait", 0) + 1
            if cfg.lr_schedule == "plateau" and st["lr_wait"] >= cfg.lr_patience:
                st["lr"], st["lr_wait"] = max(cfg.lr_min, lr * 0.5), 0  # the next epoch's rate
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
        if st["wait"] >= patience:
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
    report: dict[str, Any] = {}
    if loop is not None:
        loop.finish()
    if status != "cancelled" and history and (loop is None or loop.chief):  # workers: the chief evaluates
        report = _final_evaluation(cfg, card, data, run, emit)
    result = TrainResult(
        str(run),
        status,
        st["epoch"],
        st["best_epoch"],
        st["best"],
        st["train_seconds"],
        (len(history) * steps_per_epoch * batch / n_train) if n_train else 0.0,
        wall_seconds=time.perf_counter() - t_start,
        val_seconds=sum(h.get("val_seconds", 0.0) for h in history),
        **report,
    )
    _atomic_json(asdict(result), run / "result.json")
    emit({"event": "done", **asdict(result)})
    return result


def _final_evaluation(cfg: TrainConfig, card: Any, data: Prepared, run: Path, emit: Emit) -> dict[str, Any]:
    """The best checkpoint, through the station's tiler and rules: threshold on val, figures on test."""
    from trainer.evaluate import default_recipe, select_and_report, summary_of
    from trainer.validate import keras_predictor

    t0 = time.perf_counter()
    best = twin(load_keras(run / "best.keras"), cfg)
    predict = keras_predictor(best, card, cfg.base_filters)
    rep = select_and_report(predict, data.val_samples, data.test_samples, default_recipe(), run)
    test = summary_of(rep["test"]) if rep["test"] is not None else None
    val = summary_of(rep["val"])
    out = {
        "threshold": rep["threshold"],
        "report_split": rep["report_split"],
        "test": test,
        "val": val,
        "eval_seconds": time.perf_counter() - t0,
    }
    emit({"event": "evaluation", **out, "eval_dirs": [str(run / "eval_val"), str(run / "eval_test")]})
    return out
