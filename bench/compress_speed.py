"""Speed of a compressed model against its teacher under bare ONNX Runtime, in one run.

    python bench/compress_speed.py --teacher resources/models/dagm-class1/model.onnx \
        --model runs/compress-dagm/final/model.onnx [MORE.onnx ...] [--rounds 15] [--threads 2] [--size 512]

Batch 1, one random gray 8-bit image of ``--size`` px scaled to 0..1, CPU execution provider,
default graph optimisations, no spin-waiting. The models run interleaved (teacher, model(s),
teacher, ...) after warm-up, so load from other processes falls on all alike; prints each
model's median ms and images/s and the teacher's median over each model's. Nothing is asserted:
it measures. ``--openvino`` also runs every model with OpenVINO on the CPU (float parts in f32,
latency hint, one stream, ``--threads``), as the station's OpenVINO backend does.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from inspector.core.contract import INPUT_NAME, OUTPUT_NAME


def session(path: Path, threads: int) -> object:
    from inspector.core.backends.onnxruntime_backend import make_session

    # no spin-waiting after a run: with several sessions interleaved in one process, the idle
    # one's spinning threads took the CPU from the next run (the FP32 student measured 1.3x the
    # teacher with spinning, 2.0x without, in back-to-back runs)
    return make_session(path, threads, spin=False)


def openvino_runner(path: Path, threads: int, x: np.ndarray) -> Callable[[], object]:
    import openvino as ov

    config: dict[str, object] = {"INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY"}
    config |= {"NUM_STREAMS": 1} | ({"INFERENCE_NUM_THREADS": threads} if threads else {})
    request = ov.Core().compile_model(str(path), "CPU", config).create_infer_request()
    return lambda: request.infer({0: x})


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--teacher", type=Path, required=True)
    p.add_argument("--model", type=Path, nargs="+", required=True)
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=0, help="intra-op threads (0: ONNX Runtime's default)")
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--openvino", action="store_true", help="also time each model under OpenVINO")
    a = p.parse_args(argv)

    rng = np.random.default_rng(0)
    x = (rng.integers(0, 256, (1, a.size, a.size, 1)).astype(np.float32) / 255.0).astype(np.float32)
    paths = {"teacher": a.teacher} | {f"model{i + 1}": m for i, m in enumerate(a.model)}
    runners: dict[str, Callable[[], object]] = {}
    for k, v in paths.items():
        sess = session(v, a.threads)
        runners[k] = lambda s=sess: s.run([OUTPUT_NAME], {INPUT_NAME: x})  # type: ignore[attr-defined]
    if a.openvino:
        for k, v in list(paths.items()):
            paths[f"{k}-ov"] = v
            runners[f"{k}-ov"] = openvino_runner(v, a.threads, x)
    times: dict[str, list[float]] = {k: [] for k in runners}
    for r in range(a.warmup + a.rounds):
        for name, run in runners.items():
            t0 = time.perf_counter()
            run()
            if r >= a.warmup:
                times[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    for name, path in paths.items():
        ms, rate = 1000 * med[name], 1 / med[name]
        ratio = "" if name == "teacher" else f", {med['teacher'] / med[name]:.2f}x the teacher"
        print(f"{name:10s} {path}: median {ms:.1f} ms, {rate:.2f} img/s{ratio} ({a.rounds} rounds)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
