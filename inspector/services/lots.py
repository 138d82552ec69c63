"""Lots: started and ended on a station by a person (typed or scanned id); counters from the log.

A station has at most one open lot. The verdict writer stamps every row with the open lot
(``inspection.lot_id``) and its shift (``inspection.shift``), so the counters of a lot and of a
shift are queries on the log: they survive restarts, and they are the same numbers the reports
show. Starting and ending a lot are audit events (``lot.start``, ``lot.end``) with the person.

Qt-free; reads and writes the database like :mod:`inspector.services.promotion`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from db import registry
from db._scope import Target, reading, writing
from db.models import Inspection, Lot, Product, Station
from inspector.core.types import Verdict

MAX_CODE = 200


class LotError(ValueError):
    """The lot cannot be started or ended as asked; the message says why."""


@dataclass(frozen=True, slots=True)
class LotInfo:
    id: int
    code: str
    station: str
    product_id: int | None
    product: str  # "" without a product
    started_at: datetime
    started_by: str
    ended_at: datetime | None
    ended_by: str | None

    @property
    def is_open(self) -> bool:
        return self.ended_at is None


def empty_counts() -> dict[str, int]:
    return {v.value: 0 for v in Verdict}


def yield_pct(counts: dict[str, int]) -> float | None:
    """OK / all parts (ERROR parts included, so they lower it), None without parts."""
    total = sum(counts.values())
    return 100.0 * counts.get("OK", 0) / total if total else None


def check_code(code: str) -> str:
    """A lot id as typed or scanned, stripped; LotError when empty, too long or not printable."""
    text = code.strip()
    if not text:
        raise LotError("enter or scan a lot id first")
    if len(text) > MAX_CODE:
        raise LotError(f"lot id longer than {MAX_CODE} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise LotError(f"lot id {text!r} contains control characters (a scanner misconfigured?)")
    return text


def _select() -> Any:
    return (
        select(Lot, Station.name, Product.name)
        .join(Station, Station.id == Lot.station_id)
        .outerjoin(Product, Product.id == Lot.product_id)
    )


def _info(row: Any) -> LotInfo:
    lot, station, product = row
    return LotInfo(
        lot.id,
        lot.code,
        station,
        lot.product_id,
        product or "",
        lot.started_at,
        lot.started_by,
        lot.ended_at,
        lot.ended_by,
    )


def open_lot(db: Target, station: str) -> LotInfo | None:
    """The station's open lot (resumed after a restart), None when there is none."""
    with reading(db) as s:
        row = s.execute(
            _select().where(Station.name == station, Lot.ended_at.is_(None)).order_by(Lot.id.desc()).limit(1)
        ).one_or_none()
        return _info(row) if row is not None else None


def get_lot(db: Target, lot_id: int) -> LotInfo | None:
    with reading(db) as s:
        row = s.execute(_select().where(Lot.id == lot_id)).one_or_none()
        return _info(row) if row is not None else None


def find_lots(db: Target, code: str, station: str | None = None) -> list[LotInfo]:
    """Every lot with this id (one per station that ran it), oldest first."""
    with reading(db) as s:
        q = _select().where(Lot.code == code.strip())
        if station is not None:
            q = q.where(Station.name == station)
        return [_info(r) for r in s.execute(q.order_by(Lot.started_at, Lot.id))]


def recent_lots(db: Target, station: str | None = None, limit: int = 50) -> list[LotInfo]:
    with reading(db) as s:
        q = _select()
        if station is not None:
            q = q.where(Station.name == station)
        return [_info(r) for r in s.execute(q.order_by(Lot.started_at.desc(), Lot.id.desc()).limit(limit))]


def start_lot(db: Target, station: str, code: str, actor: str, product_id: int | None = None) -> LotInfo:
    """Open lot ``code`` on ``station`` (audited ``lot.start``). LotError when another lot is open or
    this id was ended already on this station; the open lot with the same id is returned as it is."""
    code = check_code(code)
    with writing(db) as s:
        station_id = registry.ensure_station(s, station)
        current = s.scalar(select(Lot).where(Lot.station_id == station_id, Lot.ended_at.is_(None)))
        if current is not None:
            if current.code == code:
                got = s.execute(_select().where(Lot.id == current.id)).one()
                return _info(got)
            raise LotError(f"lot {current.code!r} is still open: end it before starting {code!r}")
        old = s.scalar(select(Lot).where(Lot.station_id == station_id, Lot.code == code))
        if old is not None:
            ended = old.ended_at.astimezone().strftime("%Y-%m-%d %H:%M") if old.ended_at else "?"
            raise LotError(
                f"lot {code!r} was ended on this station at {ended} (by {old.ended_by or '?'}): "
                "a lot id is used once; check the id, or give the rework lot its own id"
            )
        lot = Lot(code=code, station_id=station_id, product_id=product_id, started_by=actor)
        s.add(lot)
        s.flush()
        registry.add_audit(
            s,
            actor,
            "lot.start",
            {"lot_id": lot.id, "code": code, "station": station, "product_id": product_id},
        )
        return _info(s.execute(_select().where(Lot.id == lot.id)).one())


def end_lot(
    db: Target, station: str, actor: str, lot_id: int | None = None
) -> tuple[LotInfo, dict[str, int]]:
    """End the station's open lot (or ``lot_id``), audited ``lot.end`` with its final counts."""
    with writing(db) as s:
        q = select(Lot).join(Station, Station.id == Lot.station_id).where(Station.name == station)
        q = q.where(Lot.id == lot_id) if lot_id is not None else q.where(Lot.ended_at.is_(None))
        lot = s.scalar(q.order_by(Lot.id.desc()).limit(1))
        if lot is None:
            raise LotError(
                f"no open lot on station {station!r}" if lot_id is None else f"no lot {lot_id} on {station!r}"
            )
        if lot.ended_at is not None:
            raise LotError(f"lot {lot.code!r} was ended already")
        lot.ended_at = datetime.now(UTC)
        lot.ended_by = actor
        s.flush()
        counts = _counts(s, Inspection.lot_id == lot.id)
        registry.add_audit(
            s, actor, "lot.end", {"lot_id": lot.id, "code": lot.code, "station": station, "counts": counts}
        )
        return _info(s.execute(_select().where(Lot.id == lot.id)).one()), counts


def _counts(s: Any, where: Any) -> dict[str, int]:
    counts = empty_counts()
    for verdict, n in s.execute(
        select(Inspection.verdict, func.count()).where(where).group_by(Inspection.verdict)
    ):
        counts[str(verdict)] = int(n)
    return counts


def lot_counts(db: Target, lot_id: int) -> dict[str, int]:
    """Committed parts of the lot by verdict."""
    with reading(db) as s:
        return _counts(s, Inspection.lot_id == lot_id)


def shift_counts(db: Target, label: str, station: str | None = None) -> dict[str, int]:
    """Committed parts of shift ``label`` by verdict (one station's, or every station's)."""
    with reading(db) as s:
        where = Inspection.shift == label
        if station is not None:
            where = where & (
                Inspection.station_id == select(Station.id).where(Station.name == station).scalar_subquery()
            )
        return _counts(s, where)


def recent_shifts(db: Target, station: str | None = None, limit: int = 30) -> list[str]:
    """Shift labels with logged parts, newest first."""
    with reading(db) as s:
        q = select(Inspection.shift).where(Inspection.shift.is_not(None)).distinct()
        if station is not None:
            q = q.where(
                Inspection.station_id == select(Station.id).where(Station.name == station).scalar_subquery()
            )
        labels = [str(v) for v in s.scalars(q)]

    def key(label: str) -> tuple[str, int]:
        day, _, n = label.partition("/")
        return day, int(n) if n.isdigit() else 0

    return sorted(labels, key=key, reverse=True)[:limit]
