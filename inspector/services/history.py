"""The verdict log as the History, Rules and label views read it: pages of rows, counts, one
inspection's detail, the station names, the newest rows with a stored map (the What-if replay).

Each function takes the station's ``Database`` and reads in its own session (``db`` opens and
closes it). No Qt here: the GUI calls these on its task runner, off the UI thread.
"""

from __future__ import annotations

from typing import Any

from db import history as _log
from db import queries
from db.queries import HistoryRow, InspectionDetail, ReplayItem
from db.session import Database

__all__ = [
    "HistoryRow",
    "InspectionDetail",
    "ReplayItem",
    "count_history",
    "history_page",
    "inspection_detail",
    "recent_with_prob_maps",
    "station_names",
]


def count_history(db: Database, **filters: Any) -> int:
    """How many inspections match ``filters`` (the keywords of :func:`history_page`)."""
    return queries.count_history(db, **filters)


def history_page(db: Database, total: int, page: int, page_size: int, **filters: Any) -> list[HistoryRow]:
    """Page ``page`` (``page_size`` rows, newest first) of the ``total`` rows that match ``filters``
    (verdict, since, until, source, source_key_prefix, reviewed, station); [] past the end.

    OFFSET costs a scan of the skipped rows: a page in the older half is read from the oldest
    end instead, so the last page is as cheap as the first. ``total`` must be the count of the
    same snapshot (pass an ``until`` so rows logged meanwhile do not shift the pages)."""
    offset = page * page_size
    size = min(page_size, total - offset)
    if size <= 0:
        return []
    if offset > total // 2:
        tail = total - offset - size
        rows = queries.history(db, limit=size, offset=tail, order="asc", **filters)
        return rows[::-1]
    return queries.history(db, limit=size, offset=offset, order="desc", **filters)


def inspection_detail(db: Database, inspection_id: int) -> InspectionDetail | None:
    """One logged inspection with its regions and reviews; None when there is no such id."""
    return queries.get_inspection(db, inspection_id)


def recent_with_prob_maps(db: Database, n: int = 500, **filters: Any) -> list[ReplayItem]:
    """The newest ``n`` inspections that have a stored map (``reviewed=True``: reviewed ones only),
    for replaying a recipe change."""
    return queries.recent_with_prob_maps(db, n, **filters)


def station_names(db: Database) -> list[str]:
    """The stations that log into this database, by name (the station filter's choices)."""
    return _log.station_names(db)
