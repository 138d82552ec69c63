"""Throughput of a backend at a fixed batch size: median latency and images/s."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True)
class BenchResult:
    name: str
    batch: int
    median_ms: float  # per batch
    p90_ms: float
    images_per_s: float
    iterations: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def benchmark(
    name: str,
    infer: Callable[[np.ndarray], np.ndarray],
    batch: np.ndarray,
    iterations: int = 50,
    warmup: int = 5,
) -> BenchResult:
    """Time ``infer(batch)``; warm-up calls are not counted (lazy allocations, autotuning)."""
    for _ in range(warmup):
        infer(batch)
    times = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        infer(batch)
        times.append((time.perf_counter() - t0) * 1000.0)
    times.sort()
    med = statistics.median(times)
    p90 = times[min(len(times) - 1, int(0.9 * len(times)))]
    return BenchResult(
        name, len(batch), round(med, 3), round(p90, 3), round(len(batch) * 1000.0 / med, 1), iterations
    )


def onnxruntime_infer(
    onnx_path: Path, threads: int | None = None
) -> tuple[str, Callable[[np.ndarray], np.ndarray]]:
    """ONNX Runtime on CPU: the backend ``auto`` falls back to, hence the fair comparison."""
    import onnxruntime as ort

    from inspector.core.backends.onnxruntime_backend import make_session
    from inspector.core.contract import INPUT_NAME, OUTPUT_NAME

    sess = make_session(onnx_path, threads)
    label = f"ONNX Runtime {ort.__version__} CPU"
    return label, lambda x: sess.run([OUTPUT_NAME], {INPUT_NAME: x})[0]


def format_table(rows: list[dict[str, Any]]) -> str:
    """Human table from ``bench`` events: both backends per batch size and the throughput ratio."""
    lines = [f"{'backend':44} {'batch':>5} {'median ms':>10} {'p90 ms':>8} {'images/s':>9}"]
    for e in rows:
        for key in ("tensorrt", "onnxruntime"):
            r = e[key]
            timing = f"{r['median_ms']:>10.3f} {r['p90_ms']:>8.3f} {r['images_per_s']:>9.1f}"
            lines.append(f"{r['name']:44} {r['batch']:>5} {timing}")
        ratio = f"{'':>10} {'':>8} {e['speedup']:>8.2f}x"
        lines.append(f"{'  TensorRT / ONNX Runtime images/s':44} {e['batch']:>5} {ratio}")
    return "\n".join(lines)
