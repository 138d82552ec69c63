"""The tests' one home for building inspection results and rows (tests, benches, demos).

``make_result``: an InspectionResult as the pipeline hands it to the writer.
``insert_inspection``: one logged inspection row written straight into a test DB, as the
station's writer would store it (verdict from ``decide``, its map and defect regions).
``make_metrics``: the gate's per-data-set scores of one model (promotion tests).
``measure_writer_rate``: a writer throughput probe.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from inspector.core.recipe import Recipe
from inspector.core.types import Decision, Frame, InspectionResult, Region, Verdict

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from inspector.services.promotion import Metrics

MODEL_SHA = "ab" * 32
T0 = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)


def make_result(
    key: str = "/data/img_0000.png",
    verdict: Verdict = Verdict.OK,
    *,
    size: tuple[int, int] = (8, 8),
    source: str = "folder:/data",
    n_regions: int | None = None,
    inspected_at: datetime | None = None,
    model_sha256: str = MODEL_SHA,
    recipe: tuple[str, int] = ("default", 1),
    prob: np.ndarray | None = None,
) -> InspectionResult:
    """A consistent result: NG/REVIEW get one hot square region, OK an all-zero map."""
    h, w = size
    if prob is None:
        prob = np.zeros((h, w), np.float32)
        if verdict != Verdict.OK:
            prob[1:3, 1:3] = 0.9 if verdict == Verdict.NG else 0.6
    n = (0 if verdict == Verdict.OK else 1) if n_regions is None else n_regions
    regions = [Region(i, 4, (1, 1, 2, 2), (1.5, 1.5), 0.8, 0.9) for i in range(n)]
    at = inspected_at or T0
    frame = Frame(
        key=key,
        image=np.full((h, w), 128, np.uint8),
        source=source,
        captured_at=at - timedelta(milliseconds=5),
        path=Path(key),
        sha256="cd" * 32,
    )
    decision = Decision(
        verdict=verdict,
        reasons=[f"region {i}: level 0.90 >= 0.50" for i in range(n)],
        regions=regions,
        score=float(prob.max()),
        area_ratio=4 * n / (h * w),
    )
    return InspectionResult(
        frame=frame,
        decision=decision,
        prob_map=prob,
        timings_ms={"preprocess": 1.0, "infer": np.float32(5.5), "rules": 0.2},
        model_sha256=model_sha256,
        recipe_name=recipe[0],
        recipe_version=recipe[1],
        backend="onnxruntime-cpu",
        threshold=0.5,
        inspected_at=at,
    )


def insert_inspection(
    s: Session,
    prob: np.ndarray,
    recipe: Recipe,
    *,
    source_key: str,
    at: datetime,
    source: str = "folder:/line",
    image_path: str | None = None,
    archive_image_path: str | None = None,
    station: str = "test",
    model_sha256: str = MODEL_SHA,
) -> int:
    """Log one inspection of ``prob`` in the session ``s`` as the station's writer would: the
    verdict, score and regions from ``decide(prob, recipe)``, the map and the region rows. Its id."""
    from db import registry
    from db.models import DefectRegion, Inspection, ProbMap
    from inspector.core.postprocess import encode_prob_png
    from inspector.core.rules import decide

    d = decide(prob, recipe)
    row = Inspection(
        station_id=registry.ensure_station(s, station, "host"),
        source=source,
        source_key=source_key,
        image_path=image_path,
        archive_image_path=archive_image_path,
        captured_at=at,
        inspected_at=at,
        model_id=registry.ensure_model(s, model_sha256, "m"),
        recipe_id=registry.ensure_recipe(s, recipe.name, recipe.version, recipe.params()),
        backend="cpu",
        threshold=recipe.threshold,
        verdict=d.verdict.value,
        score=d.score,
        area_ratio=d.area_ratio,
        n_regions=len(d.regions),
        reasons=d.reasons,
        timings={},
    )
    row.prob_map = ProbMap(png=encode_prob_png(prob))
    row.regions = [
        DefectRegion(
            index=g.index,
            area_px=g.area_px,
            bbox_x=g.bbox[0],
            bbox_y=g.bbox[1],
            bbox_w=g.bbox[2],
            bbox_h=g.bbox[3],
            centroid_x=g.centroid[0],
            centroid_y=g.centroid[1],
            mean_prob=g.mean_prob,
            max_prob=g.max_prob,
        )
        for g in d.regions
    ]
    s.add(row)
    s.flush()
    return row.id


def make_metrics(**kw: Any) -> Metrics:
    """One model's gate scores on a data set of 40 images, 10 defective; ``kw`` overrides."""
    from inspector.services.promotion import Metrics

    base: dict[str, Any] = {
        "dice_defective": 0.8,
        "dice_all": 0.9,
        "tpr": 0.9,
        "tnr": 0.95,
        "false_rejects": 2,
        "escapes": 1,
        "n_images": 40,
        "n_defective": 10,
    }
    return Metrics(**{**base, **kw})


def measure_writer_rate(
    n: int = 2000, size: int = 512, runs: int = 3, batch_size: int = 64, db_dir: Path | None = None
) -> list[float]:
    """Committed rows/s of a VerdictWriter on a fresh SQLite file, one figure per run.

    Maps are mostly zero with one small blob (the common OK/NG mix is 1 in 10
    NG), like a real line; results are pre-built so only the writer is timed.
    """
    from db.session import open_db
    from db.writer import VerdictWriter

    prob = np.zeros((size, size), np.float32)
    prob[100:120, 200:230] = np.linspace(0.3, 0.95, 30, dtype=np.float32)
    rates = []
    for run in range(runs):
        with tempfile.TemporaryDirectory(dir=db_dir) as tmp:
            db = open_db(f"sqlite:///{tmp}/bench.db")
            results = [
                make_result(
                    f"/line/{run}/{i:06d}.png",
                    Verdict.NG if i % 10 == 0 else Verdict.OK,
                    size=(size, size),
                    prob=prob if i % 10 == 0 else np.zeros((size, size), np.float32),
                    inspected_at=T0 + timedelta(seconds=i),
                )
                for i in range(n)
            ]
            writer = VerdictWriter(
                db, "bench", batch_size=batch_size, flush_interval_s=0.05, recipes=[Recipe()]
            )
            t = time.perf_counter()
            futures = [writer.submit(r) for r in results]
            writer.close()
            dt = time.perf_counter() - t
            assert all(f.result() > 0 for f in futures)
            rates.append(n / dt)
            db.dispose()
    return rates


if __name__ == "__main__":  # python -m tests.db_factories
    r = measure_writer_rate()
    print(f"writer rows/s runs={[round(x) for x in r]} median={statistics.median(r):.0f}")
