"""``inspector-train``: synth | split | check | train | export | evaluate | compress.

Exit codes: 0 ok, 1 bad input (message on stderr), 2 usage, 130 cancelled.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from types import FrameType

from inspector.core.progress import SimpleState

ARCH_FIELDS = ("base_filters", "depth", "batchnorm")
AUTO = ("epochs", "steps-per-epoch", "batch", "crop", "patience", "max-val-images")


def _synth(a: argparse.Namespace) -> int:
    from trainer.data.synth import write_synthetic

    n_def = write_synthetic(Path(a.out), a.n, a.seed, a.size, a.p_defective)
    print(f"wrote {a.n} images ({n_def} defective) to {a.out}", file=sys.stderr)
    return 0


def _split(a: argparse.Namespace) -> int:
    from trainer.data import load_samples, make_split, save_split

    split = make_split(
        load_samples(Path(a.data)), a.val_fraction, a.seed, str(a.data), a.test_fraction, a.group_regex
    )
    save_split(split, Path(a.out))
    print(json.dumps({**split.counts, "grouping": split.grouping}), file=sys.stderr)
    return 0


def _check(a: argparse.Namespace) -> int:
    from trainer.data.summary import summarise

    fields = {k: getattr(a, k) for k in ("crop", "batch", "group_regex") if getattr(a, k) is not None}
    summary = summarise(Path(a.data), fields)
    if a.json:
        print(json.dumps(summary.to_json(), indent=2, default=str))
    else:
        print("\n".join(summary.lines()))
    return 0


def _install_cancel(state: SimpleState) -> None:
    # The handler only sets a flag: training stops after the current step and the
    # best checkpoint (written atomically) stays usable. A second signal kills.
    def handler(signum: int, frame: FrameType | None) -> None:
        if state.cancelled():
            raise KeyboardInterrupt
        print(f"signal {signum}: stopping after this step", file=sys.stderr, flush=True)
        state.cancel()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def _train(a: argparse.Namespace) -> int:
    from trainer.config import TrainConfig
    from trainer.events import json_emitter, text_emitter
    from trainer.train import train

    run = Path(a.out)
    if a.resume and a.init_from:
        raise ValueError("--init-from starts a new run; --resume continues one (its start is in its config)")
    if a.resume:
        cfg = TrainConfig.load(run / "config.json")
        if a.epochs:
            cfg = cfg.model_copy(update={"epochs": a.epochs})
        if a.strategy or a.devices:
            # another machine or cluster may continue a run (replicas are recounted at start)
            cfg = cfg.model_copy(update={"strategy": a.strategy or cfg.strategy, "devices": a.devices})
    else:
        if not a.data:
            raise ValueError("--data is required (unless --resume)")
        fields = {
            k: v
            for k, v in vars(a).items()
            if k in TrainConfig.model_fields and k != "init_from" and v is not None
        }
        fields["data"], fields["out"] = str(a.data), str(run)
        if a.init_from:
            from trainer.init_from import init_record, merge_architecture, source_normalisation

            # the network comes from the source model; options that contradict it are refused
            arch = merge_architecture(Path(a.init_from), {k: fields.get(k) for k in ARCH_FIELDS})
            fields.update(arch, init_from=init_record(Path(a.init_from)))
            norm = source_normalisation(Path(a.init_from))
            if norm is not None:
                fields["normalisation"] = norm
        cfg = TrainConfig(**fields)
    from trainer.distribute import check_strategy

    check_strategy(cfg.strategy, cfg.devices)  # a bad TF_CONFIG fails here, before TensorFlow loads
    state = SimpleState()
    _install_cancel(state)
    emit = json_emitter() if a.progress == "json" else text_emitter()
    result = train(cfg, state, emit, resume=a.resume)
    return 130 if result.status == "cancelled" else 0


def _export(a: argparse.Namespace) -> int:
    from trainer.export import export_run

    out = export_run(
        Path(a.run_dir),
        Path(a.out) if a.out else None,
        name=a.name,
        parity_images=a.parity_images,
        recipe=Path(a.recipe) if a.recipe else None,
        reproduce=a.reproduce,
        card_name=a.card_name,
    )
    print(str(out))
    return 0


def _evaluate(a: argparse.Namespace) -> int:
    from trainer.evaluate import evaluate_cli

    metrics = evaluate_cli(
        Path(a.model),
        Path(a.data),
        Path(a.out),
        Path(a.split) if a.split else None,
        Path(a.recipe) if a.recipe else None,
        a.subset,
    )
    from trainer.evaluate import summary_of

    print(json.dumps(summary_of(metrics), indent=2, default=str))
    return 0


# TrainConfig options that both ``train`` and ``compress`` (for its student) take
_SCHEDULE_OPTIONS: tuple[tuple[str, type], ...] = (
    ("loss", str),
    ("lr", float),
    ("lr-min", float),
    ("lr-schedule", str),
)
_LOOP_OPTIONS: tuple[tuple[str, type], ...] = (
    ("clipnorm", float),
    ("epochs", int),
    ("steps-per-epoch", int),
    ("batch", int),
    ("crop", int),
    ("defect-fraction", float),
    ("brightness", float),
    ("contrast", float),
    ("blur", float),
    ("patience", int),
)
COMPRESS_TRAIN = (
    ("depth", int),
    *_SCHEDULE_OPTIONS,
    *_LOOP_OPTIONS,
    ("seed", int),
    ("precision", str),
)


def _compress(a: argparse.Namespace) -> int:
    from trainer.compress import CompressConfig, compress
    from trainer.events import json_emitter, text_emitter

    train = {n.replace("-", "_"): getattr(a, n.replace("-", "_")) for n, _ in COMPRESS_TRAIN}
    fields = {
        k: getattr(a, k)
        for k in CompressConfig.model_fields
        if k not in ("train", "steps") and getattr(a, k, None) is not None
    }
    cc = CompressConfig(
        **fields,
        train={k: v for k, v in train.items() if v is not None},
        steps=[x.strip() for x in a.steps.split(",") if x.strip()],
    )
    state = SimpleState()
    _install_cancel(state)
    emit = json_emitter() if a.progress == "json" else text_emitter()
    try:
        out = compress(cc, state, emit)
    except InterruptedError as exc:
        print(f"inspector-train: {exc}", file=sys.stderr)
        return 130
    if out is not None:
        print(str(out))
    return 0


def _add_compress(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from trainer.compress import CompressConfig

    f = CompressConfig.model_fields
    s = sub.add_parser(
        "compress",
        help="distil a smaller student from a model, quantise it to INT8, score both against it",
    )
    s.add_argument("--teacher", required=True, help=f["teacher"].description)
    s.add_argument("--data", required=True, help=f["data"].description)
    s.add_argument("--split", required=True, help=f["split"].description)
    s.add_argument("--out", required=True, help=f["out"].description)
    s.add_argument("--steps", default="distill,quantize,evaluate", help="comma-separated, run in this order")
    s.add_argument(
        "--progress", choices=["text", "json"], default="text", help="json: one JSON object per line"
    )
    for name, typ in (
        ("base-filters", int),
        ("init-from", str),
        ("distill-weight", float),
        ("distill-loss", str),
        ("threads", int),
        ("student", str),
        ("calib-images", int),
        ("check-images", int),
        ("max-dice-drop", float),
        ("max-tnr-drop", float),
        ("final", str),
        ("recipe", str),
    ):
        field = f[name.replace("-", "_")]
        s.add_argument(f"--{name}", type=typ, help=f"{field.description} (default {field.default})")
    for name, typ in COMPRESS_TRAIN:
        s.add_argument(f"--{name}", type=typ, help="student training (default: the teacher card's setting)")
    s.set_defaults(func=_compress)


def build_parser() -> argparse.ArgumentParser:
    from trainer.config import TrainConfig

    p = argparse.ArgumentParser(prog="inspector-train", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("synth", help="write synthetic DAGM-like images (images/ + masks/)")
    s.add_argument("--out", required=True)
    s.add_argument("--n", type=int, default=200)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--size", type=int, default=256)
    s.add_argument("--p-defective", type=float, default=0.4)
    s.set_defaults(func=_synth)

    s = sub.add_parser("split", help="write a stratified, seeded, grouped train/val/test split JSON")
    s.add_argument("--data", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--val-fraction", type=float, default=0.2)
    s.add_argument("--test-fraction", type=float, default=0.2)
    s.add_argument("--group-regex", help="part id in the file name (default: found from the names)")
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(func=_split)

    s = sub.add_parser(
        "check", help="read a data folder as training would: counts, sizes, defect share, refused files"
    )
    s.add_argument("--data", required=True)
    s.add_argument("--crop", type=int)
    s.add_argument("--batch", type=int)
    s.add_argument("--group-regex")
    s.add_argument("--json", action="store_true", help="one JSON object instead of text")
    s.set_defaults(func=_check)

    s = sub.add_parser("train", help="train a U-Net; run dir gets config, split, checkpoints, curves")
    s.add_argument("--data")
    s.add_argument("--out", required=True, help="run directory")
    s.add_argument("--resume", action="store_true", help="continue the run in --out")
    s.add_argument(
        "--progress",
        choices=["text", "json"],
        default="text",
        help="json: one JSON object per line on stdout (for the GUI)",
    )
    for name, typ in [
        ("split", str),
        ("val-fraction", float),
        ("test-fraction", float),
        ("group-regex", str),
        ("seed", int),
        ("base-filters", int),
        ("depth", int),
        *_SCHEDULE_OPTIONS,
        ("lr-patience", int),
        *_LOOP_OPTIONS,
        ("threads", int),
        ("val-batch", int),
        ("max-val-images", int),
    ]:
        field = TrainConfig.model_fields[name.replace("-", "_")]
        default = "from the data" if field.default is None and name in AUTO else field.default
        s.add_argument(
            f"--{name}", type=typ, default=None, help=f"{field.description or ''} (default {default})"
        )
    s.add_argument("--jit-compile", action=argparse.BooleanOptionalAction, default=None)
    s.add_argument(
        "--precision",
        choices=["auto", "float32", "mixed_bfloat16"],
        help="training compute precision (default auto: mixed_bfloat16 where the CPU has bfloat16)",
    )
    s.add_argument(
        "--track-test",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also score the test split every epoch (diagnostic; chooses nothing)",
    )
    s.add_argument("--batchnorm", action=argparse.BooleanOptionalAction, default=None)
    s.add_argument(
        "--strategy",
        choices=["default", "mirrored", "multiworker"],
        help="tf.distribute: default (one device), mirrored (all local GPUs or --devices), "
        "multiworker (cluster from TF_CONFIG). --batch is per replica; lr is scaled by the replicas",
    )
    s.add_argument(
        "--devices",
        nargs="+",
        metavar="DEV",
        help="mirrored: the logical devices to mirror over, e.g. /gpu:0 /gpu:1 (default: all GPUs)",
    )
    s.add_argument(
        "--loop",
        choices=["fit", "custom"],
        help="fit: Keras model.fit (default); custom: trainer.dist_loop, the loss and clip over the "
        "global batch (multiworker always uses it)",
    )
    s.add_argument(
        "--init-from",
        metavar="PATH",
        help="fine-tune: start from this .onnx model (its card gives the architecture; "
        "Keras must match ONNX Runtime within 1e-4) or .keras checkpoint",
    )
    s.set_defaults(func=_train)

    s = sub.add_parser("export", help="export best.keras of a run to ONNX + model card (parity-checked)")
    s.add_argument("run_dir")
    s.add_argument("--out", help="output folder (default: RUN_DIR/export)")
    s.add_argument("--name", default="model", help="file stem: NAME.onnx + NAME.json")
    s.add_argument("--card-name", help="model name in the card (default: the output folder's name)")
    s.add_argument("--parity-images", type=int, default=4)
    s.add_argument(
        "--recipe", help="recipe for the card's val metrics (default: resources/recipes/default.json)"
    )
    s.add_argument("--reproduce", default="", help="the commands that made this model, stored in the card")
    s.set_defaults(func=_export)

    s = sub.add_parser("evaluate", help="score an ONNX model on labelled data with the station's rules")
    s.add_argument("--model", required=True)
    s.add_argument("--data", required=True)
    s.add_argument(
        "--split",
        help="split JSON; scores its --subset. Without: every image (a DAGM class folder: its Test/)",
    )
    s.add_argument("--subset", choices=["train", "val", "test"], default="val")
    s.add_argument("--recipe")
    s.add_argument("--out", required=True)
    s.set_defaults(func=_evaluate)

    _add_compress(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (ValueError, OSError) as exc:
        # user errors (bad data, missing files) carry the file name; no traceback
        print(f"inspector-train: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
