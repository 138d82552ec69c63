"""End-to-end pipeline throughput against the bare backend, interleaved in one process,
and camera-to-verdict latency at a steady line rate.

    python bench/pipeline.py $DATASETS/dagm2007-class1/Class1/Train \\
        --model resources/models/dagm-class1/model.onnx --n 60 --rounds 3
    python bench/pipeline.py $DATASETS/dagm2007-class1/Class1/Train \\
        --model resources/models/dagm-class1/model.onnx --paced 10 --paced-n 200

Throughput: ``--rounds`` rounds of (bare backend, whole pipeline), then one more bare pass.
The bare backend runs pre-decoded, pre-processed tensors one at a time (infer only);
the whole pipeline runs a folder source -> decode -> preprocess -> model -> rules ->
DB writer with every row committed (and NG images archived) into a fresh SQLite file
per round; its time ends at the last commit. Each pipeline round is compared with the
median of the bare passes on either side of it, so a machine that gets busier during
the run does not flatter either side; the ratio reported is the median over rounds.

Paced (``--paced FPS``): a camera-like live source hands over decoded frames at a steady
rate (capture time = hand-over); prints p50/p99 of capture -> verdict (``inspected_at``)
and capture -> verdict committed (the writer's future resolved).

Then the writer alone: how many verdict rows/s it commits.
"""

from __future__ import annotations

import argparse
import inspect
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inspector.core.backends.select import select_backend
from inspector.core.image_io import IMAGE_EXTENSIONS, read_image
from inspector.core.model_card import load_card
from inspector.core.paths import default_recipe_path
from inspector.core.pipeline import Pipeline, run_source
from inspector.core.preprocess import prepare
from inspector.core.progress import SimpleState
from inspector.core.recipe import load_recipe
from inspector.core.rules import decide
from inspector.core.sources.base import SourceStats
from inspector.core.sources.folder import FolderSource
from inspector.core.types import Frame, InspectionResult

CPU_MS: dict[str, list[float]] = {"bare": [], "pipeline": []}  # process CPU ms per image, per pass


def raw_pass(backend: Any, tensors: list[np.ndarray]) -> list[float]:
    times = []
    c0 = time.process_time()
    for t in tensors:
        t0 = time.perf_counter()
        backend.infer(t[None, ...])
        times.append(time.perf_counter() - t0)
    CPU_MS["bare"].append((time.process_time() - c0) * 1e3 / len(tensors))
    return times


def _batching_kw(policy: str | None) -> dict[str, Any]:
    """run_source's batching argument, when this checkout has one (the bench also runs older code)."""
    if policy is None or "batching" not in inspect.signature(run_source).parameters:
        return {}
    from inspector.core.batching import BatchPolicy

    return {"batching": BatchPolicy.parse(policy)}


class _Writer:
    """A fresh SQLite log and VerdictWriter for one pipeline round."""

    def __init__(
        self, tmp: Path, name: str, recipe: Any, card: Any, model: Path, flush_s: float = 0.2
    ) -> None:
        from db.session import open_db
        from db.writer import VerdictWriter
        from inspector.core.overlay import render_result

        self.db = open_db(f"sqlite:///{tmp}/{name}.db")
        self.writer = VerdictWriter(
            self.db,
            "bench",
            archive_dir=tmp / f"{name}-archive",
            overlay=render_result,
            recipes=[recipe],
            models=[(card, str(model))],
            flush_interval_s=flush_s,
        )

    def close(self) -> None:
        self.writer.close()
        self.db.dispose()


def pipeline_pass(
    folder: Path, n: int, pipeline: Pipeline, tmp: Path, name: str, model: Path, policy: str | None
) -> tuple[float, Any, Any]:
    """(images/s to the last commit, summary, writer stats) of one whole-pipeline run."""
    w = _Writer(tmp, name, pipeline.recipe, pipeline.card, model)
    futures = []
    t0, c0 = time.perf_counter(), time.process_time()
    summary = run_source(
        FolderSource(folder),
        pipeline,
        lambda r: futures.append(w.writer.submit(r)),
        SimpleState(),
        limit=n,
        **_batching_kw(policy),
    )
    for f in futures:
        f.result(timeout=300)
    elapsed = time.perf_counter() - t0
    CPU_MS["pipeline"].append((time.process_time() - c0) * 1e3 / max(1, summary.inspected))
    stats = w.writer.stats()
    w.close()
    return summary.inspected / elapsed, summary, stats


class PacedSource:
    """A camera at a steady rate: decoded frames handed over every 1/fps s, stamped at hand-over."""

    name = "paced"
    live = True

    def __init__(self, images: list[np.ndarray], fps: float, n: int) -> None:
        self.images, self.fps, self.n = images, fps, n
        self.produced = 0

    def frames(self, stop: Any) -> Iterator[Frame]:
        next_at = time.monotonic()
        for i in range(self.n):
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            next_at += 1.0 / self.fps
            if stop():
                return
            self.produced += 1
            yield Frame(
                key=f"paced#{i}",
                image=self.images[i % len(self.images)],
                source="paced",
                captured_at=datetime.now(UTC),
                seq=i,
            )

    def stats(self) -> SourceStats:
        return SourceStats(produced=self.produced)

    def close(self) -> None:
        pass


def paced_latency(
    files: list[Path], pipeline: Pipeline, tmp: Path, model: Path, fps: float, n: int, flush_s: float
) -> None:
    images = [read_image(p)[0] for p in files]
    w = _Writer(tmp, "paced", pipeline.recipe, pipeline.card, model, flush_s)
    lock = threading.Lock()
    verdict_ms: list[float] = []
    committed_ms: list[float] = []
    futures = []

    def sink(r: InspectionResult) -> None:
        verdict_ms.append((r.inspected_at - r.frame.captured_at).total_seconds() * 1e3)
        fut = w.writer.submit(r)
        captured = r.frame.captured_at

        def done(_f: Any) -> None:
            with lock:
                committed_ms.append((datetime.now(UTC) - captured).total_seconds() * 1e3)

        fut.add_done_callback(done)
        futures.append(fut)

    summary = run_source(PacedSource(images, fps, n), pipeline, sink, SimpleState())
    for f in futures:
        f.result(timeout=300)
    w.close()

    def pct(v: list[float]) -> str:
        return f"p50 {np.percentile(v, 50):7.1f} ms  p99 {np.percentile(v, 99):7.1f} ms  max {max(v):7.1f} ms"

    print(
        f"paced {fps:g} images/s, {summary.inspected} frames ({summary.n_errors} ERROR), "
        f"writer flush interval {flush_s * 1e3:g} ms:"
    )
    print(f"  capture -> verdict            {pct(verdict_ms)}")
    print(f"  capture -> verdict committed  {pct(committed_ms)}")
    batches = dict(sorted(getattr(summary, "batch_frames", {}).items()))
    if batches:
        print(f"  frames by model-call size: {batches}")


def writer_rate(db_url: str, prob: np.ndarray, n: int) -> float:
    from db.session import open_db
    from db.writer import VerdictWriter

    db = open_db(db_url)
    recipe = load_recipe(default_recipe_path())
    writer = VerdictWriter(db, "bench-writer", archive_dir=None, recipes=[recipe])
    decision = decide(prob, recipe)
    img = np.zeros(prob.shape, np.uint8)
    now = datetime.now(UTC)
    results = [
        InspectionResult(
            frame=Frame(key=f"bench/{i}", image=img, source="bench", captured_at=now),
            decision=decision,
            prob_map=prob,
            timings_ms={"infer": 1.0},
            model_sha256="0" * 64,
            recipe_name=recipe.name,
            recipe_version=recipe.version,
            backend="bench",
            threshold=recipe.threshold,
            inspected_at=now,
        )
        for i in range(n)
    ]
    t0 = time.perf_counter()
    futures = [writer.submit(r) for r in results]
    for f in futures:
        f.result(timeout=120)
    elapsed = time.perf_counter() - t0
    writer.close()
    db.dispose()
    return n / elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--n", type=int, default=60, help="images per pass")
    ap.add_argument("--rounds", type=int, default=3, help="(bare, pipeline) rounds")
    ap.add_argument("--batching", default=None, help="auto|latency|throughput[:N] (default: the setting)")
    ap.add_argument("--threads", type=int, default=None, help="backend threads (default: all cores)")
    ap.add_argument("--paced", type=float, default=None, metavar="FPS", help="latency at a steady rate")
    ap.add_argument("--paced-n", type=int, default=200, help="frames in the paced run")
    ap.add_argument(
        "--flush-ms",
        type=float,
        default=200.0,
        help="the writer's flush interval (200: inspect's default; 20: with line I/O)",
    )
    ap.add_argument("--writer-rows", type=int, default=1000, help="0: skip the writer-alone figure")
    args = ap.parse_args()

    files = sorted(p for p in args.folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)[: args.n]
    card = load_card(args.model)
    recipe = load_recipe(default_recipe_path())
    backend = select_backend("onnxruntime", args.model, threads=args.threads)
    pipeline = Pipeline(backend, card, recipe)
    policy = args.batching or "n/a (this checkout has no setting)"
    if hasattr(pipeline, "batching"):
        from inspector.core.batching import BatchPolicy

        chosen = BatchPolicy.parse(args.batching) if args.batching else pipeline.batching
        policy = chosen.describe(backend.info().device)
    print(f"backend: {backend.info().display}; model {card.name} {card.sha256[:12]}; {len(files)} images")
    print(f"batching: {policy}")
    tensors = [prepare(read_image(p)[0], card)[0] for p in files]
    raw_pass(backend, tensors[:3])  # warm-up: first runs allocate

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if args.paced:
            paced_latency(files, pipeline, tmp, args.model, args.paced, args.paced_n, args.flush_ms / 1e3)
            return 0
        pipeline_pass(args.folder, min(5, len(files)), pipeline, tmp, "warm", args.model, args.batching)
        raws = [raw_pass(backend, tensors)]
        rounds = []
        for k in range(args.rounds):
            rate, summary, wstats = pipeline_pass(
                args.folder, len(files), pipeline, tmp, f"r{k}", args.model, args.batching
            )
            raws.append(raw_pass(backend, tensors))
            bare = 1.0 / statistics.median(raws[-2] + raws[-1])
            rounds.append((bare, rate, summary, wstats))
            print(
                f"round {k + 1}: bare {bare:6.2f} images/s   pipeline+DB {rate:6.2f} images/s   "
                f"ratio {rate / bare * 100:5.1f} %   "
                f"({summary.inspected} committed, {summary.n_errors} ERROR)"
            )
        bare_all = 1.0 / statistics.median([t for r in raws for t in r])
        ratios = [r[1] / r[0] for r in rounds]
        print(f"bare backend:  {bare_all:6.2f} images/s (median over {len(raws)} passes)")
        print(f"pipeline+DB:   {statistics.median([r[1] for r in rounds]):6.2f} images/s (median of rounds)")
        print(
            f"ratio pipeline/bare: median {statistics.median(ratios) * 100:.1f} % "
            f"(rounds: {', '.join(f'{x * 100:.1f}' for x in ratios)})"
        )
        bare_cpu = statistics.median(CPU_MS["bare"][1:])  # [0]: the warm-up pass
        pipe_cpu = statistics.median(CPU_MS["pipeline"][1:])
        print(
            f"CPU time per image (all threads, median of passes): bare {bare_cpu:.1f} ms, "
            f"pipeline {pipe_cpu:.1f} ms (+{pipe_cpu - bare_cpu:.1f} ms: read, rules, logging...)"
        )
        summary = rounds[-1][2]
        print("pipeline per-stage median / p99 ms (last round; stages overlap on threads):")
        for stage, (med, p99) in summary.stage_stats().items():
            print(f"  {stage:12s} {med:7.2f} {p99:7.2f}")
        batches = dict(sorted(getattr(summary, "batch_frames", {}).items()))
        if batches:
            print(f"frames by model-call size (last round): {batches}")
        if args.writer_rows:
            prob = np.zeros((512, 512), np.float32)
            prob[200:230, 100:160] = 0.9
            rates = [writer_rate(f"sqlite:///{tmp}/w{i}.db", prob, args.writer_rows) for i in range(3)]
            print(
                f"writer alone: {statistics.median(rates):.0f} verdict rows/s committed "
                f"(median of 3 x {args.writer_rows}, SQLite WAL, 512x512 prob maps)"
            )
    backend.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
