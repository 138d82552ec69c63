"""Reviewed inspections -> an ``images/`` + ``masks/`` data set the trainer reads.

What each review disposition means as ground truth:
- ``false_reject`` / ``confirm_ok``: the part is good -> image without a mask (defect-free);
- ``confirm_ng``: the station was right -> a labelled mask from the review when there is
  one, else the stored probability map thresholded at the row's own threshold;
- ``missed_defect``: the station passed a bad part -> only the labelled mask can say
  where the defect is; without one the inspection is skipped (with a warning), because
  an unlabelled "defective" image would teach the model nothing but noise.

Only the latest review of an inspection counts (a reviewer may correct themselves).
The source image is the station's archive copy when there is one (hot folders are
emptied), else the original path; an unreadable image is reported, not fatal.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np

from db import queries
from db._scope import Target
from db.blobs import write_png
from db.models import Disposition
from inspector.core.image_io import read_image
from inspector.core.progress import ProgressState, SimpleState

PAGE = 500
CLEAN = frozenset({Disposition.FALSE_REJECT, Disposition.CONFIRM_OK})


@dataclass(slots=True)
class ExportReport:
    out_dir: Path
    written: int = 0
    defective: int = 0
    by_disposition: Counter[str] = field(default_factory=Counter)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (inspection id, why)
    cancelled: bool = False

    @property
    def clean(self) -> int:
        return self.written - self.defective

    @property
    def warnings(self) -> list[str]:
        return [f"inspection {i}: {why}" for i, why in self.skipped]

    def summary(self) -> str:
        text = f"{self.written} reviewed images ({self.defective} with a defect, {self.clean} defect-free)"
        if self.skipped:
            text += f", {len(self.skipped)} skipped"
        return text


def stem_for(inspection_id: int) -> str:
    return f"review_{inspection_id:08d}"


def decode_mask_png(data: bytes) -> np.ndarray:
    """A stored label mask as HxW uint8 {0, 255} (any nonzero pixel is a defect)."""
    m = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) if data else None
    if m is None:
        raise ValueError("stored mask PNG could not be decoded")
    if m.ndim == 3:
        m = m.max(axis=2)
    return np.where(m > 0, 255, 0).astype(np.uint8)


def source_image(row: queries.HistoryRow) -> tuple[np.ndarray | None, str]:
    """(image, "") or (None, why); tries the archive copy first."""
    candidates = [p for p in (row.archive_image_path, row.image_path) if p]
    if not candidates:
        return None, "no image path stored (the source was not a file and nothing was archived)"
    problems = []
    for p in candidates:
        try:
            return read_image(p)[0], ""
        except (OSError, ValueError) as exc:
            problems.append(str(exc))
    return None, "; ".join(problems)


def _label_mask(detail: queries.InspectionDetail, disposition: Disposition) -> bytes | None:
    """The newest labelled mask given with the current disposition."""
    for review in reversed(detail.reviews):
        if review.disposition == disposition and review.mask_png:
            return review.mask_png
    return None


def mask_for(
    detail: queries.InspectionDetail, disposition: Disposition, shape: tuple[int, int]
) -> tuple[np.ndarray | None, str]:
    """(mask {0,255}, "") for a defective disposition, (None, "") for a clean one, (None, why) to skip."""
    if disposition in CLEAN:
        return None, ""
    labelled = _label_mask(detail, disposition)
    if labelled is not None:
        mask = decode_mask_png(labelled)
    elif disposition == Disposition.MISSED_DEFECT:
        return None, "missed defect without a labelled mask (label it in the History tab)"
    elif detail.prob_png is None:
        return None, "confirmed NG but no probability map was stored and no mask was labelled"
    else:
        prob = detail.prob_map()
        assert prob is not None
        # the same rule as the verdict: prob >= threshold of the row that was judged
        mask = np.where(prob >= detail.row.threshold, 255, 0).astype(np.uint8)
    if mask.shape != shape:
        return None, f"mask is {mask.shape[1]}x{mask.shape[0]} but the image is {shape[1]}x{shape[0]}"
    if not mask.any():
        return None, f"{disposition.value} with an empty mask (nothing above the threshold, nothing labelled)"
    return mask, ""


def _prepare_out(out_dir: Path) -> tuple[Path, Path]:
    img_dir, mask_dir = out_dir / "images", out_dir / "masks"
    for d in (img_dir, mask_dir):
        if d.is_dir() and any(d.iterdir()):
            # never mix two exports: a stale mask would silently relabel an image
            raise ValueError(f"{d}: not empty; export into a new folder")
        d.mkdir(parents=True, exist_ok=True)
    return img_dir, mask_dir


def _reviewed_rows(db: Target, since: datetime | None, station: str | None) -> list[queries.HistoryRow]:
    rows: list[queries.HistoryRow] = []
    while True:
        page = queries.history(
            db, reviewed=True, since=since, station=station, limit=PAGE, offset=len(rows), order="asc"
        )
        rows.extend(page)
        if len(page) < PAGE:
            return rows


def export_reviewed(
    db: Target,
    out_dir: Path,
    state: ProgressState | None = None,
    since: datetime | None = None,
    station: str | None = None,
) -> ExportReport:
    """Write every reviewed inspection (latest review counts) under ``out_dir``; see the module doc."""
    state = state or SimpleState()
    out_dir = Path(out_dir)
    img_dir, mask_dir = _prepare_out(out_dir)
    report = ExportReport(out_dir)
    rows = _reviewed_rows(db, since, station)
    for n, row in enumerate(rows):
        if state.cancelled():
            report.cancelled = True
            break
        state.progress(n, len(rows), f"inspection {row.id}")
        disposition = Disposition(row.review) if row.review else None
        detail = queries.get_inspection(db, row.id) if disposition else None
        if disposition is None or detail is None:
            continue  # the review vanished between the two reads
        image, why = source_image(row)
        if image is None:
            report.skipped.append((row.id, f"image not readable: {why}"))
            continue
        mask, why = mask_for(detail, disposition, image.shape[:2])
        if why:
            report.skipped.append((row.id, why))
            continue
        stem = stem_for(row.id)
        write_png(img_dir / f"{stem}.png", image)
        if mask is not None:
            write_png(mask_dir / f"{stem}.png", mask)
            report.defective += 1
        report.written += 1
        report.by_disposition[disposition.value] += 1
    state.progress(len(rows), len(rows), report.summary())
    return report
