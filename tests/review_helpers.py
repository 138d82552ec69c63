"""Log inspections straight into a test DB, as the station's writer would (verdict from decide)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np

from db import registry
from db.models import Inspection, ProbMap
from db.session import Database
from inspector.core.postprocess import encode_prob_png
from inspector.core.recipe import Recipe
from inspector.core.rules import decide

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
RECIPE = Recipe(threshold=0.5, min_area_px=4, max_count=0)


def log_inspection(
    db: Database,
    image: np.ndarray | None,
    prob: np.ndarray,
    folder: Path,
    n: int,
    *,
    archive: bool = False,
    recipe: Recipe = RECIPE,
) -> int:
    """One inspection of ``image`` (written under ``folder``; None = a path that does not exist)."""
    path = folder / f"part_{n:03d}.png"
    if image is not None:
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), image)
    d = decide(prob, recipe)
    at = T0 + timedelta(seconds=n)
    with db.write() as s:
        row = Inspection(
            station_id=registry.ensure_station(s, "test", "host"),
            source="folder:/line",
            source_key=str(path),
            image_path=None if archive else str(path),
            archive_image_path=str(path) if archive else None,
            captured_at=at,
            inspected_at=at,
            model_id=registry.ensure_model(s, "ab" * 32, "m"),
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
        s.add(row)
        s.flush()
        return row.id
