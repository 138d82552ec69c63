"""End-to-end pipeline throughput against the raw backend, in one process.

    python bench/pipeline.py $DATASETS/dagm2007-class1/Class1/Train \
        --model resources/models/dagm-class1/model.onnx --n 100

Runs, in order: raw backend (pre-decoded, pre-processed tensors; infer only),
the whole pipeline (folder source -> decode -> preprocess -> infer -> rules ->
DB writer with committed rows + archive), the raw backend again. The raw rate
is the median per-image time of both raw passes, so a machine that gets
busier during the run does not flatter the pipeline. Then the writer alone:
how many verdict rows/s it commits.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

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
from inspector.core.sources.folder import FolderSource
from inspector.core.types import Frame, InspectionResult


def raw_pass(backend: object, tensors: list[np.ndarray]) -> list[float]:
    times = []
    for t in tensors:
        t0 = time.perf_counter()
        backend.infer(t[None, ...])  # type: ignore[attr-defined]
        times.append(time.perf_counter() - t0)
    return times


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
    return n / elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--n", type=int, default=100, help="images per pass")
    ap.add_argument("--writer-rows", type=int, default=2000)
    args = ap.parse_args()

    files = sorted(p for p in args.folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)[: args.n]
    card = load_card(args.model)
    recipe = load_recipe(default_recipe_path())
    backend = select_backend("onnxruntime", args.model)
    print(f"backend: {backend.info().display}; model {card.name} {card.sha256[:12]}; {len(files)} images")
    tensors = [prepare(read_image(p)[0], card)[0] for p in files]
    raw_pass(backend, tensors[:3])  # warm-up: first runs allocate

    raw1 = raw_pass(backend, tensors)
    with tempfile.TemporaryDirectory() as tmp:
        from db.session import open_db
        from db.writer import VerdictWriter

        db = open_db(f"sqlite:///{tmp}/bench.db")
        writer = VerdictWriter(
            db, "bench", archive_dir=Path(tmp) / "archive", recipes=[recipe], models=[(card, str(args.model))]
        )
        futures = []
        source = FolderSource(args.folder)
        summary = run_source(
            source,
            Pipeline(backend, card, recipe),
            lambda r: futures.append(writer.submit(r)),
            SimpleState(),
            limit=len(files),
        )
        t0 = time.perf_counter()
        for f in futures:
            f.result(timeout=120)
        drain_s = time.perf_counter() - t0
        writer.close()
        pipe_rate = summary.inspected / (summary.elapsed_s + drain_s)
        raw2 = raw_pass(backend, tensors)

        raw_med = statistics.median(raw1 + raw2)
        raw_rate = 1.0 / raw_med
        print(
            f"raw backend:  {raw_rate:6.2f} images/s  (median {raw_med * 1e3:.1f} ms; "
            f"pass 1 {1 / statistics.median(raw1):.2f}/s, pass 2 {1 / statistics.median(raw2):.2f}/s)"
        )
        print(
            f"pipeline+DB:  {pipe_rate:6.2f} images/s  ({summary.inspected} images, all committed, "
            f"{len(summary.errors)} unreadable)"
        )
        print(
            f"  of which waiting for the last commit after the last image: {drain_s * 1e3:.0f} ms; "
            f"steady rate without it {summary.inspected / summary.elapsed_s:.2f} images/s"
        )
        print(f"ratio pipeline/raw: {pipe_rate / raw_rate * 100:.1f} %")
        print("pipeline per-stage median / p99 ms:")
        for stage, (med, p99) in summary.stage_stats().items():
            print(f"  {stage:12s} {med:7.2f} {p99:7.2f}")
        prob = np.zeros((512, 512), np.float32)
        prob[200:230, 100:160] = 0.9
        rates = [writer_rate(f"sqlite:///{tmp}/w{i}.db", prob, args.writer_rows) for i in range(3)]
        print(
            f"writer alone: {statistics.median(rates):.0f} verdict rows/s committed "
            f"(median of 3 x {args.writer_rows}, SQLite WAL, 512x512 prob maps)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
