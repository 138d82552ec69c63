"""A stand-in for ``python -m trainer`` that the Trainer tab can drive in tests.

Usage: fake_trainer.py [--mode ok|fail|hang] [--export-from MODEL.onnx] {train|export} ...

- ok: a print that is not JSON, then start / step / epoch / done events (one
  step line is written in two pieces to exercise partial reads), run files, exit 0;
- fail: a start event, one step, an error on stderr, exit 1 (like the real CLI);
- hang: steps until SIGTERM, then writes best.keras, result.json (cancelled), exit 130;
- stubborn: ignores SIGTERM (a stuck child): only SIGKILL ends it.
``export RUN`` copies --export-from (+ its card) to RUN/export/model.onnx.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import time
from pathlib import Path


def emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def write_run(run: Path, data: str, epochs: int, status: str, history: list[dict]) -> None:
    run.mkdir(parents=True, exist_ok=True)
    (run / "config.json").write_text(json.dumps({"data": data, "out": str(run), "epochs": epochs}))
    (run / "history.json").write_text(json.dumps(history))
    (run / "best.keras").write_bytes(b"checkpoint")
    (run / "last.keras").write_bytes(b"checkpoint")
    (run / "state.json").write_text(json.dumps({"epoch": len(history)}))
    best = max((h["val_dice"] for h in history), default=None)
    result = {
        "run_dir": str(run),
        "status": status,
        "epochs_done": len(history),
        "best_epoch": len(history) or None,
        "best_val_dice": best,
    }
    (run / "result.json").write_text(json.dumps(result))
    emit({"event": "done", **result})


def train(a: argparse.Namespace) -> int:
    run = Path(a.out)
    run.mkdir(parents=True, exist_ok=True)
    if a.resume:  # like the real trainer: the run's own config, a new epoch total
        a.data = json.loads((run / "config.json").read_text())["data"]
    (run / "config.json").write_text(json.dumps({"data": a.data, "out": str(run), "epochs": a.epochs}))
    print("Some library says hello (not JSON)", flush=True)
    emit(
        {
            "event": "start",
            "run_dir": str(run),
            "n_train": 8,
            "n_val": 4,
            "epochs": a.epochs,
            "steps_per_epoch": a.steps_per_epoch,
            "resume_epoch": 0,
        }
    )
    stop = {"flag": False}
    if a.mode == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, lambda *_: stop.update(flag=True))
    history: list[dict] = []
    steps = a.steps_per_epoch
    epoch = 0
    while True:
        epoch += 1
        for step in range(1, steps + 1):
            done = (epoch - 1) * steps + step
            line = json.dumps(
                {
                    "event": "step",
                    "epoch": epoch,
                    "epochs": a.epochs,
                    "step": step,
                    "steps": steps,
                    "loss": 1.0 / done,
                    "metrics": {},
                    "img_per_s": 10.0,
                    "eta_s": max(0, a.epochs * steps - done) * 0.05,
                }
            )
            half = len(line) // 2
            sys.stdout.write(line[:half])
            sys.stdout.flush()
            time.sleep(0.01)
            sys.stdout.write(line[half:] + "\n")
            sys.stdout.flush()
            if a.mode == "fail":
                print("inspector-train: error: data/images/bad.png: not a readable image", file=sys.stderr)
                return 1
            time.sleep(0.05 if a.mode in ("hang", "stubborn") else 0.01)
            if stop["flag"]:
                print("signal 15: stopping after this step", file=sys.stderr, flush=True)
                write_run(run, a.data, a.epochs, "cancelled", history)
                return 130
        row = {
            "epoch": epoch,
            "loss": 1.0 / (epoch * steps),
            "val_loss": 0.8 / epoch,
            "val_dice": 0.3 * epoch,
            "val_dice_defective": 0.25 * epoch,
            "val_dice_all": 0.35 * epoch,
        }
        history.append(row)
        emit({"event": "epoch", **row, "best": row["val_dice"], "best_epoch": epoch, "improved": True})
        if a.mode == "ok" and epoch >= a.epochs:
            write_run(run, a.data, a.epochs, "completed", history)
            return 0


def export(a: argparse.Namespace) -> int:
    out = Path(a.run_dir) / "export"
    out.mkdir(parents=True, exist_ok=True)
    src = Path(a.export_from)
    shutil.copy(src, out / "model.onnx")
    shutil.copy(src.with_suffix(".json"), out / "model.json")
    from inspector.core.model_card import copy_golden

    copy_golden(src, out / "model.onnx")  # like the real export: the golden images beside the card
    print(out / "model.onnx")
    return 0


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--mode", default="ok", choices=["ok", "fail", "hang", "stubborn"])
    p.add_argument("--export-from")
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--data", default="")
    t.add_argument("--out", required=True)
    t.add_argument("--progress", default="text")
    t.add_argument("--epochs", type=int, default=2)
    t.add_argument("--steps-per-epoch", type=int, default=3)
    t.add_argument("--batch", type=int)
    t.add_argument("--crop", type=int)
    t.add_argument("--base-filters", type=int)
    t.add_argument("--depth", type=int)
    t.add_argument("--threads", type=int)
    t.add_argument("--resume", action="store_true")
    t.add_argument("--init-from")  # accepted like the real CLI; the start is not simulated
    e = sub.add_parser("export")
    e.add_argument("run_dir")
    a = p.parse_args()
    return train(a) if a.cmd == "train" else export(a)


if __name__ == "__main__":
    sys.exit(main())
