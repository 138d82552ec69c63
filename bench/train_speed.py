"""Training speed of the seed U-Net on this CPU: img/s per setting (trainer/README.md has the figures).

    .venv/bin/python bench/train_speed.py [DATA_DIR] [--steps 12] [--rounds 3] [--threads 2] [--only NAME ...]

Each setting trains ``--steps`` steps after 3 warm-up steps and reports crops/s and
"256-equivalent" crops/s (pixels per second / 256²), so crop sizes compare fairly.
With DATA_DIR the crops come from the trainer's own pipeline (defect-aware crops,
augmentation, the card's normalisation); without it, from random images.
Settings run in a child process each (TensorFlow's global options differ per setting).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

SETTINGS: dict[str, dict[str, Any]] = {
    "float32, crop 256, batch 8": {"crop": 256, "batch": 8},
    "float32, crop 192, batch 14": {"crop": 192, "batch": 14},
    "float32, crop 128, batch 32": {"crop": 128, "batch": 32},
    "float32, crop 256, batch 16": {"crop": 256, "batch": 16},
    "float32 + XLA": {"crop": 256, "batch": 8, "jit": True},
    "float32, oneDNN off": {"crop": 256, "batch": 8, "onednn": False},
    "float32, cached batches": {"crop": 256, "batch": 8, "cache": True},
    "bfloat16, crop 256, batch 8": {"crop": 256, "batch": 8, "policy": "mixed_bfloat16"},
    "bfloat16, crop 192, batch 14": {"crop": 192, "batch": 14, "policy": "mixed_bfloat16"},
    "bfloat16, crop 128, batch 32": {"crop": 128, "batch": 32, "policy": "mixed_bfloat16"},
    "bfloat16 + XLA": {"crop": 256, "batch": 8, "policy": "mixed_bfloat16", "jit": True},
}


def child(spec: dict[str, Any], data: str | None, steps: int, threads: int) -> dict[str, Any]:
    import numpy as np

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(min(2, threads))
    from trainer.config import TrainConfig
    from trainer.data.pipeline import make_dataset
    from trainer.train import build_compiled

    crop, batch = spec["crop"], spec["batch"]
    n = steps + 3
    cfg = TrainConfig(
        data="",
        out="",
        crop=crop,
        batch=batch,
        jit_compile=bool(spec.get("jit")),
        precision=spec.get("policy", "float32"),
    )
    model = build_compiled(cfg)
    if data:
        from trainer.data import load_samples
        from trainer.data.loader import load

        items = load(load_samples(Path(data))[:60])
        ds = make_dataset(
            items, n, batch, crop, 0, card=cfg.card(), blur=1.0, prefetch=spec.get("prefetch", 2)
        )
    else:
        rng = np.random.default_rng(0)
        x = rng.random((n * batch, crop, crop, 1), dtype=np.float32)
        y = (rng.random((n * batch, crop, crop, 1)) > 0.98).astype(np.float32)
        ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch)
    if spec.get("cache"):
        ds = ds.cache()
        for _ in ds:  # fill the cache: this measures the model alone
            pass
    times: list[float] = []
    cpu: list[float] = []

    class T(keras.callbacks.Callback):
        def on_train_batch_begin(self, b: int, logs: Any = None) -> None:
            self.t = time.perf_counter()
            self.c = time.process_time()

        def on_train_batch_end(self, b: int, logs: Any = None) -> None:
            times.append(time.perf_counter() - self.t)
            cpu.append(time.process_time() - self.c)

    t0 = time.perf_counter()
    model.fit(ds, epochs=1, steps_per_epoch=n, verbose=0, callbacks=[T()])
    wall = time.perf_counter() - t0
    step = float(np.median(times[3:]))
    step_cpu = float(np.median(cpu[3:]))
    return {
        "img_per_s": batch / step,
        "img256_per_s": batch * crop * crop / (256 * 256) / step,
        # per CPU-second (all threads): what a step costs, whatever else runs on the machine
        "img256_per_cpu_s": batch * crop * crop / (256 * 256) / step_cpu,
        "step_s": step,
        "step_cpu_s": step_cpu,
        "wall_s": wall,
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("data", nargs="?")
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--child")
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(json.loads(a.child), a.data, a.steps, a.threads)))
        return 0
    # rounds interleave the settings, so a load change on a shared machine hits all of them
    seen: dict[str, list[float]] = {}
    for rnd in range(1, a.rounds + 1):
        for name, spec in SETTINGS.items():
            if a.only and name not in a.only:
                continue
            env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
            if spec.get("onednn") is False:
                env["TF_ENABLE_ONEDNN_OPTS"] = "0"
            cmd = [sys.executable, __file__, "--child", json.dumps(spec), "--steps", str(a.steps)]
            cmd += ["--threads", str(a.threads)] + ([a.data] if a.data else [])
            r = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
            if r.returncode:
                print(f"{name}: failed: {(r.stderr.strip().splitlines() or ['?'])[-1]}", flush=True)
                continue
            m = json.loads(r.stdout.strip().splitlines()[-1])
            seen.setdefault(name, []).append(m["img256_per_cpu_s"])
            print(
                f"round {rnd} {name:28s} {m['img_per_s']:6.1f} img/s  {m['img256_per_s']:6.1f} img256/s"
                f"  {m['img256_per_cpu_s']:6.1f} img256/cpu-s  step {m['step_s']:.3f} s",
                flush=True,
            )
    # wall-clock rates swing with other users' load; CPU time per step much less
    print("median 256-equivalent img per CPU-second over the rounds:")
    for name, v in seen.items():
        print(f"  {name:28s} {sorted(v)[len(v) // 2]:6.2f}  (all: {', '.join(f'{x:.2f}' for x in v)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
