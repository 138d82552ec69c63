"""Log inspections straight into a test DB, as the station's writer would (verdict from decide)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np

from db.session import Database
from inspector.core.recipe import Recipe
from tests.db_factories import insert_inspection

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
    with db.write() as s:
        return insert_inspection(
            s,
            prob,
            recipe,
            source_key=str(path),
            at=T0 + timedelta(seconds=n),
            image_path=None if archive else str(path),
            archive_image_path=str(path) if archive else None,
        )
