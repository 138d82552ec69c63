"""Small read helpers the history and rules panels need beyond db.queries.

No Qt here: these run on worker threads as well as the UI thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from db import queries
from db.models import Inspection
from db.queries import InspectionDetail
from inspector.core.image_io import read_image
from inspector.core.postprocess import quantise_prob
from inspector.core.types import Decision


def distinct_sources(db: Any, limit: int = 200) -> list[str]:
    """Source names seen in the log, for the history filter's drop-down."""
    with db.read() as s:
        q = select(Inspection.source).distinct().order_by(Inspection.source).limit(limit)
        return [str(v) for v in s.scalars(q)]


def latest_inspection_id(db: Any) -> int | None:
    rows = queries.history(db, limit=1)
    return rows[0].id if rows else None


@dataclass(slots=True)
class StoredView:
    """What a panel shows for one logged inspection."""

    detail: InspectionDetail
    # the archived or original image; the map itself when neither can be read; None when there is
    # neither (an ERROR part whose file could not be decoded: image_note says why)
    image: np.ndarray | None
    prob: np.ndarray | None  # float32 HxW at the image size, None when no map was stored (ERROR)
    decision: Decision  # as logged (verdict, reasons, regions)
    image_note: str  # where the image came from, or why only the map is shown
    # the override reason when the model that judged this part was promoted without passing the gate
    model_override: str | None = None

    @property
    def id(self) -> int:
        return self.detail.row.id


def logged_decision(detail: InspectionDetail) -> Decision:
    r = detail.row
    return Decision(
        verdict=r.verdict,
        reasons=list(r.reasons),
        regions=list(detail.regions),
        score=r.score,
        area_ratio=r.area_ratio,
    )


def _read_matching(path: str | None, shape: tuple[int, ...] | None) -> tuple[np.ndarray | None, str]:
    if not path:
        return None, ""
    try:
        image, _sha = read_image(Path(path))
    except (OSError, ValueError) as exc:
        return None, f"{path}: {exc}"
    if shape is not None and image.shape[:2] != shape:
        # e.g. the file was replaced since it was inspected: the overlay would lie
        return None, f"{path}: size {image.shape[1]}x{image.shape[0]} differs from the stored map"
    return image, path


def load_stored_view(db: Any, inspection_id: int) -> StoredView | None:
    """Detail + image + map of one inspection; None when the id does not exist.

    Image preference: the archive copy (what was judged, kept even when the
    source folder is cleaned up), then the original path, then the map alone, else
    none (``image`` None).
    """
    detail = queries.get_inspection(db, inspection_id)
    if detail is None:
        return None
    prob = detail.prob_map()
    shape = prob.shape if prob is not None else None
    notes: list[str] = []
    image = None
    for path in (detail.row.archive_image_path, detail.row.image_path):
        image, note = _read_matching(path, shape)
        if image is not None:
            notes = [note]
            break
        if note:
            notes.append(note)
    if image is None and prob is not None:
        notes.append("image not available: showing the stored probability map")
        image = quantise_prob(prob)
    elif image is None:
        notes.append("image not available")
    from inspector.services.promotion import override_mark

    override = override_mark(db, detail.row.model_sha256)
    return StoredView(detail, image, prob, logged_decision(detail), "; ".join(notes), override)
