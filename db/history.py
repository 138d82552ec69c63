"""Read side of the verdict log: resume keys, history paging, details, replay, reviews."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import numpy as np
from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import Session

from db import registry
from db._scope import Target, reading, writing
from db.blobs import decode_prob_png
from db.models import DefectRegion, Disposition, Inspection, Model, ProbMap, RecipeVersion, Review, Station
from inspector.core.types import Region, Verdict

VerdictFilter = Verdict | str | Iterable[Verdict | str] | None


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One inspection without blobs: what a history table pages through."""

    id: int
    station: str
    source: str
    source_key: str
    image_path: str | None
    image_sha256: str | None
    captured_at: datetime
    inspected_at: datetime
    verdict: Verdict
    score: float
    area_ratio: float
    n_regions: int
    reasons: list[str]
    timings: dict[str, float]
    backend: str
    threshold: float
    model_sha256: str
    recipe_name: str
    recipe_version: int
    archive_image_path: str | None
    archive_overlay_path: str | None
    review: str | None  # latest review disposition, None when unreviewed
    error_stage: str = ""  # ERROR verdicts: the step that failed (read, infer, output, selftest...)


@dataclass(frozen=True, slots=True)
class ReviewRow:
    id: int
    inspection_id: int
    disposition: Disposition
    by: str
    at: datetime
    note: str
    mask_png: bytes | None


@dataclass(frozen=True, slots=True)
class InspectionDetail:
    row: HistoryRow
    regions: list[Region]
    reviews: list[ReviewRow]
    prob_png: bytes | None

    def prob_map(self) -> np.ndarray | None:
        """float32 HxW (8-bit quantised) or None when no map was stored."""
        return decode_prob_png(self.prob_png) if self.prob_png else None


@dataclass(frozen=True, slots=True)
class ReplayItem:
    row: HistoryRow
    prob_png: bytes

    def prob_map(self) -> np.ndarray:
        return decode_prob_png(self.prob_png)


def _latest_review() -> Any:
    return (
        select(Review.disposition)
        .where(Review.inspection_id == Inspection.id)
        .order_by(Review.at.desc(), Review.id.desc())
        .limit(1)
        .scalar_subquery()
    )


_ROW_COLUMNS = (
    Inspection.id,
    Station.name,
    Inspection.source,
    Inspection.source_key,
    Inspection.image_path,
    Inspection.image_sha256,
    Inspection.captured_at,
    Inspection.inspected_at,
    Inspection.verdict,
    Inspection.score,
    Inspection.area_ratio,
    Inspection.n_regions,
    Inspection.reasons,
    Inspection.timings,
    Inspection.backend,
    Inspection.threshold,
    Model.sha256,
    RecipeVersion.name,
    RecipeVersion.version,
    Inspection.archive_image_path,
    Inspection.archive_overlay_path,
)


def _row_select(*extra: Any) -> Select[Any]:
    return (
        select(*_ROW_COLUMNS, _latest_review().label("review"), Inspection.error_stage, *extra)
        .join(Station, Station.id == Inspection.station_id)
        .join(Model, Model.id == Inspection.model_id)
        .join(RecipeVersion, RecipeVersion.id == Inspection.recipe_id)
    )


def _to_row(r: Any) -> HistoryRow:
    values = list(r[: len(_ROW_COLUMNS) + 2])  # + review, error_stage
    values[8] = Verdict(values[8])
    return HistoryRow(*values)


def _filtered(
    q: Select[Any],
    *,
    verdict: VerdictFilter = None,
    since: datetime | None = None,
    until: datetime | None = None,
    source: str | None = None,
    source_key_prefix: str | None = None,
    station: str | None = None,
    reviewed: bool | None = None,
    disposition: Disposition | str | None = None,
) -> Select[Any]:
    if verdict is not None:
        wanted = [verdict] if isinstance(verdict, str) else list(verdict)
        q = q.where(Inspection.verdict.in_([Verdict(v).value for v in wanted]))
    if since is not None:
        q = q.where(Inspection.inspected_at >= since)
    if until is not None:
        q = q.where(Inspection.inspected_at < until)
    if source is not None:
        q = q.where(Inspection.source == source)
    if source_key_prefix is not None:
        q = q.where(Inspection.source_key.startswith(source_key_prefix, autoescape=True))
    if station is not None:
        q = q.where(
            Inspection.station_id == select(Station.id).where(Station.name == station).scalar_subquery()
        )
    any_review = exists().where(Review.inspection_id == Inspection.id)
    if reviewed is not None:
        q = q.where(any_review if reviewed else ~any_review)
    if disposition is not None:
        q = q.where(_latest_review() == Disposition(disposition).value)
    return q


def station_names(db: Target) -> list[str]:
    """The stations that log into this database, by name (for a station filter)."""
    with reading(db) as s:
        return [str(n) for n in s.scalars(select(Station.name).order_by(Station.name))]


def logged_keys(
    db: Target, station: str, *, source: str | None = None, prefix: str | None = None
) -> set[str]:
    """source_keys with a committed inspection on ``station``: what a resumed run skips."""
    with reading(db) as s:
        q = (
            select(Inspection.source_key)
            .join(Station, Station.id == Inspection.station_id)
            .where(Station.name == station)
            .distinct()
        )
        if source is not None:
            q = q.where(Inspection.source == source)
        if prefix is not None:
            q = q.where(Inspection.source_key.startswith(prefix, autoescape=True))
        return set(s.scalars(q))


class AlreadyLogged:
    """Resume by identity, not by path: a part is done when this station has logged a verdict
    for the same image content (sha256) with the same model and recipe version.

    So a changed model or recipe inspects everything again, and a hot folder that re-uses
    a file name inspects each new part. Items without a content hash (video frames, files
    that could not be read) fall back to their key. Loaded once, for one folder's keys.
    """

    def __init__(
        self,
        db: Target,
        station: str,
        model_sha256: str,
        recipe_name: str,
        recipe_version: int,
        *,
        prefix: str | None = None,
    ) -> None:
        with reading(db) as s:
            q = (
                select(Inspection.image_sha256, Inspection.source_key)
                .join(Station, Station.id == Inspection.station_id)
                .join(Model, Model.id == Inspection.model_id)
                .join(RecipeVersion, RecipeVersion.id == Inspection.recipe_id)
                .where(
                    Station.name == station,
                    Model.sha256 == model_sha256,
                    RecipeVersion.name == recipe_name,
                    RecipeVersion.version == recipe_version,
                )
            )
            if prefix is not None:
                q = q.where(Inspection.source_key.startswith(prefix, autoescape=True))
            # parts rejected unseen because the station was blocked (self-test failed) were never
            # looked at by the model: a rerun inspects them
            blocked = (Inspection.verdict == Verdict.ERROR.value) & (Inspection.error_stage == "selftest")
            q = q.where(~blocked)
            self._shas: set[str] = set()
            self._keys: set[str] = set()
            for sha, key in s.execute(q):
                if sha:
                    self._shas.add(sha)
                else:
                    self._keys.add(key)

    def __len__(self) -> int:
        return len(self._shas) + len(self._keys)

    def __call__(self, item: Any) -> bool:
        """``item``: a Frame or FrameError (anything with ``sha256`` and ``key``)."""
        sha = getattr(item, "sha256", None)
        if sha:
            return sha in self._shas
        return item.key in self._keys


def history(
    db: Target,
    verdict: VerdictFilter = None,
    since: datetime | None = None,
    until: datetime | None = None,
    source: str | None = None,
    reviewed: bool | None = None,
    limit: int = 100,
    offset: int = 0,
    order: Literal["desc", "asc"] = "desc",
    *,
    station: str | None = None,
    source_key_prefix: str | None = None,
    disposition: Disposition | str | None = None,
) -> list[HistoryRow]:
    """A page of inspections ordered by inspected_at (newest first by default)."""
    q = _filtered(
        _row_select(),
        verdict=verdict,
        since=since,
        until=until,
        source=source,
        reviewed=reviewed,
        station=station,
        source_key_prefix=source_key_prefix,
        disposition=disposition,
    )
    keys = (Inspection.inspected_at, Inspection.id)
    q = q.order_by(*(k.desc() for k in keys) if order == "desc" else keys).limit(limit).offset(offset)
    with reading(db) as s:
        return [_to_row(r) for r in s.execute(q)]


def count_history(db: Target, **filters: Any) -> int:
    """Rows :func:`history` would page through with the same filter keywords."""
    q = _filtered(select(func.count(Inspection.id)), **filters)
    with reading(db) as s:
        return int(s.scalar(q) or 0)


def verdict_counts(db: Target, **filters: Any) -> dict[Verdict, int]:
    q = _filtered(select(Inspection.verdict, func.count(Inspection.id)), **filters).group_by(
        Inspection.verdict
    )
    counts = dict.fromkeys(Verdict, 0)
    with reading(db) as s:
        for verdict, n in s.execute(q):
            counts[Verdict(verdict)] = int(n)
    return counts


def _reviews(s: Session, inspection_id: int) -> list[ReviewRow]:
    q = select(Review).where(Review.inspection_id == inspection_id).order_by(Review.at, Review.id)
    return [
        ReviewRow(r.id, r.inspection_id, Disposition(r.disposition), r.by, r.at, r.note, r.mask_png)
        for r in s.scalars(q)
    ]


def get_inspection(db: Target, inspection_id: int) -> InspectionDetail | None:
    with reading(db) as s:
        r = s.execute(_row_select().where(Inspection.id == inspection_id)).first()
        if r is None:
            return None
        regions = [
            Region(
                index=g.index,
                area_px=g.area_px,
                bbox=(g.bbox_x, g.bbox_y, g.bbox_w, g.bbox_h),
                centroid=(g.centroid_x, g.centroid_y),
                mean_prob=g.mean_prob,
                max_prob=g.max_prob,
            )
            for g in s.scalars(
                select(DefectRegion)
                .where(DefectRegion.inspection_id == inspection_id)
                .order_by(DefectRegion.index)
            )
        ]
        png = s.scalar(select(ProbMap.png).where(ProbMap.inspection_id == inspection_id))
        return InspectionDetail(_to_row(r), regions, _reviews(s, inspection_id), png)


def recent_with_prob_maps(db: Target, n: int = 500, **filters: Any) -> list[ReplayItem]:
    """The newest ``n`` inspections that have a stored map, for replaying a recipe change."""
    q = _filtered(_row_select(ProbMap.png).join(ProbMap, ProbMap.inspection_id == Inspection.id), **filters)
    q = q.order_by(Inspection.inspected_at.desc(), Inspection.id.desc()).limit(n)
    with reading(db) as s:
        return [ReplayItem(_to_row(r), r[-1]) for r in s.execute(q)]


def add_review(
    db: Target,
    inspection_id: int,
    disposition: Disposition | str,
    by: str,
    note: str = "",
    mask_png: bytes | None = None,
) -> int:
    """Record a reviewer's call on a logged verdict (and audit it); returns the review id."""
    disposition = Disposition(disposition)
    with writing(db) as s:
        if s.get(Inspection, inspection_id) is None:
            raise LookupError(f"inspection {inspection_id} does not exist")
        row = Review(
            inspection_id=inspection_id, disposition=disposition.value, by=by, note=note, mask_png=mask_png
        )
        s.add(row)
        s.flush()
        registry.add_audit(
            s,
            by,
            "review.add",
            {"inspection_id": inspection_id, "review_id": row.id, "disposition": disposition.value},
        )
        return row.id
