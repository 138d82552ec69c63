"""Table model over the verdict log with lazy, windowed paging.

The station logs ~1 row/s for months, so the model never loads the table:
``rowCount`` is one COUNT query and rows come in pages of ``page_size``
(no blobs) fetched the first time the view asks for a cell in that page. Only
``max_pages`` pages stay cached, so jumping to the end of 100,000 rows costs
two page queries, not 500.

The row set is a *snapshot*: every query carries ``until = snapshot time``.
Without it a row logged while the operator scrolls would shift every offset by
one and show a row twice or skip one. New rows are announced through
``new_rows_available``; :meth:`HistoryModel.refresh` takes a new snapshot.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor

from db import queries
from db.queries import HistoryRow
from inspector.core.types import Verdict
from inspector.ui.style import VERDICT_COLORS

log = logging.getLogger(__name__)
Index = QModelIndex | QPersistentModelIndex
ReviewFilter = Literal["any", "unreviewed", "reviewed"]

# Qt.UserRole: the HistoryRow behind a cell, so panels never re-query for it.
ROW_ROLE = Qt.ItemDataRole.UserRole

DISPOSITION_LABELS = {
    "confirm_ng": "confirmed NG",
    "false_reject": "false reject",
    "missed_defect": "missed defect",
    "confirm_ok": "confirmed OK",
}


def _tint(verdict: Verdict, alpha: int) -> QColor:
    colour = QColor(VERDICT_COLORS[verdict.value])
    colour.setAlpha(alpha)
    return colour


_VERDICT_BG = {
    Verdict.NG: QColor(230, 90, 90, 70),
    Verdict.REVIEW: QColor(240, 170, 40, 70),
    Verdict.ERROR: _tint(Verdict.ERROR, 110),
}
# An ERROR part was never inspected: its whole row is tinted so it cannot pass for an OK in a long list.
_ERROR_ROW_BG = _tint(Verdict.ERROR, 38)


class Column(enum.IntEnum):
    ID = 0
    INSPECTED = 1
    VERDICT = 2
    SCORE = 3
    REGIONS = 4
    REVIEW = 5
    SOURCE = 6
    KEY = 7
    STATION = 8  # many stations can log into one database (docs/multistation.md)


HEADERS = {
    Column.ID: "ID",
    Column.INSPECTED: "Inspected",
    Column.VERDICT: "Verdict",
    Column.SCORE: "Score",
    Column.REGIONS: "Regions",
    Column.REVIEW: "Review",
    Column.SOURCE: "Source",
    Column.KEY: "Image",
    Column.STATION: "Station",
}


@dataclass(frozen=True, slots=True)
class HistoryFilter:
    """What the history table shows; ``None`` / "any" = no restriction."""

    verdict: Verdict | None = None
    since: datetime | None = None
    until: datetime | None = None
    source: str | None = None  # exact source name, e.g. "folder:/data/line2"
    key_prefix: str | None = None  # image path / source key starts with this
    review: ReviewFilter = "any"
    station: str | None = None  # one station's inspections; None: every station's

    def query_kwargs(self, snapshot: datetime | None) -> dict[str, Any]:
        """Keyword arguments for db.queries.history / count_history."""
        until = self.until
        if snapshot is not None:
            until = snapshot if until is None else min(until, snapshot)
        return {
            "verdict": self.verdict,
            "since": self.since,
            "until": until,
            "source": self.source or None,
            "source_key_prefix": self.key_prefix or None,
            "reviewed": {"any": None, "unreviewed": False, "reviewed": True}[self.review],
            "station": self.station or None,
        }


class HistoryModel(QAbstractTableModel):
    """Newest-first inspections for a :class:`HistoryFilter`, fetched a page at a time."""

    refreshed = Signal(int)  # total rows in the new snapshot
    new_rows_available = Signal(int)  # inspections logged since the snapshot (not shown yet)
    failed = Signal(str)  # a DB read failed; the panel shows the message

    def __init__(
        self, db: Any, page_size: int = 200, max_pages: int = 32, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._db = db
        self.page_size = max(1, page_size)
        self.max_pages = max(2, max_pages)
        self._filter = HistoryFilter()
        self._snapshot: datetime | None = None
        self._total = 0
        self._pages: OrderedDict[int, list[HistoryRow]] = OrderedDict()  # LRU
        self._pending_new = 0
        self.pages_fetched = 0  # page queries since construction (tests and the status line read it)
        self.last_error = ""
        self.refresh()

    # -- public API -------------------------------------------------------------------------
    @property
    def filter(self) -> HistoryFilter:
        return self._filter

    @property
    def total(self) -> int:
        return self._total

    def set_filter(self, f: HistoryFilter) -> None:
        self._filter = f
        self.refresh()

    def refresh(self) -> None:
        """New snapshot: recount and drop every cached page."""
        self.beginResetModel()
        self._snapshot = datetime.now(UTC)
        self.last_error = ""
        self._pages.clear()
        self._pending_new = 0
        try:
            self._total = queries.count_history(self._db, **self._filter.query_kwargs(self._snapshot))
        except Exception as exc:  # DB gone or locked: an empty table and a message, not a crash
            log.warning("history count failed: %r", exc)
            self._total = 0
            self.last_error = f"Could not read the inspection log: {exc}"
            self.failed.emit(self.last_error)
        self.endResetModel()
        self.refreshed.emit(self._total)

    def note_logged(self, _inspection_id: int = 0) -> None:
        """An inspection was committed after the snapshot; counted, shown on the next refresh."""
        self._pending_new += 1
        self.new_rows_available.emit(self._pending_new)

    @property
    def pending_new(self) -> int:
        return self._pending_new

    def row_at(self, row: int) -> HistoryRow | None:
        if not 0 <= row < self._total:
            return None
        page = self._page(row // self.page_size)
        k = row % self.page_size
        return page[k] if k < len(page) else None

    def cached_row_of(self, inspection_id: int) -> int | None:
        """The row of ``inspection_id`` if its page is cached (never queries)."""
        for p, rows in self._pages.items():
            for k, r in enumerate(rows):
                if r.id == inspection_id:
                    return p * self.page_size + k
        return None

    def set_review(self, inspection_id: int, disposition: str) -> None:
        """Show a just-recorded review at once; the row stays even if the filter now excludes it
        (rows vanishing under the operator's keys would make them lose their place)."""
        for p, rows in self._pages.items():
            for k, r in enumerate(rows):
                if r.id == inspection_id:
                    rows[k] = dataclasses.replace(r, review=disposition)
                    row = p * self.page_size + k
                    self.dataChanged.emit(self.index(row, 0), self.index(row, len(Column) - 1))

    # -- paging -----------------------------------------------------------------------------
    def _page(self, p: int) -> list[HistoryRow]:
        rows = self._pages.get(p)
        if rows is not None:
            self._pages.move_to_end(p)
            return rows
        try:
            rows = self._fetch(p)
        except Exception as exc:  # called from data() during paint: must not raise into Qt
            log.warning("history page %d failed: %r", p, exc)
            self.last_error = f"Could not read the inspection log: {exc}"
            self.failed.emit(self.last_error)
            return []  # not cached: the next paint retries
        self._pages[p] = rows
        while len(self._pages) > self.max_pages:
            self._pages.popitem(last=False)
        return rows

    def _fetch(self, p: int) -> list[HistoryRow]:
        self.pages_fetched += 1
        kwargs = self._filter.query_kwargs(self._snapshot)
        offset = p * self.page_size
        size = min(self.page_size, self._total - offset)
        if size <= 0:
            return []
        # OFFSET costs a scan of the skipped rows: for the older half, read the
        # snapshot from its oldest end instead, so the last page is as cheap as the first.
        if offset > self._total // 2:
            tail = self._total - offset - size
            rows = queries.history(self._db, limit=size, offset=tail, order="asc", **kwargs)
            return rows[::-1]
        return queries.history(self._db, limit=size, offset=offset, order="desc", **kwargs)

    # -- Qt model ---------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else self._total

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(Column)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return HEADERS[Column(section)]
        return None  # row numbers mean nothing in a moving log; the ID column identifies rows

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r = self.row_at(index.row())
        if r is None:
            return None
        col = Column(index.column())
        if role == ROW_ROLE:
            return r
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(r, col)
        if role == Qt.ItemDataRole.BackgroundRole:
            if col == Column.VERDICT:
                colour = _VERDICT_BG.get(r.verdict)
                return QBrush(colour) if colour is not None else None
            return QBrush(_ERROR_ROW_BG) if r.verdict is Verdict.ERROR else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return "\n".join(r.reasons) or None
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (Column.ID, Column.SCORE, Column.REGIONS):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


def _display(r: HistoryRow, col: Column) -> str:
    if col == Column.ID:
        return str(r.id)
    if col == Column.INSPECTED:
        # local time: operators match rows to the shift clock on the wall
        return r.inspected_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    if col == Column.VERDICT:
        return r.verdict.value
    if col == Column.SCORE:
        return "–" if r.verdict is Verdict.ERROR else f"{r.score:.2f}"  # not inspected: no score
    if col == Column.REGIONS:
        return "–" if r.verdict is Verdict.ERROR else str(r.n_regions)
    if col == Column.REVIEW:
        return DISPOSITION_LABELS.get(r.review or "", r.review or "")
    if col == Column.SOURCE:
        return r.source
    if col == Column.STATION:
        return r.station
    key = r.source_key
    return key.replace("\\", "/").rsplit("/", 1)[-1] or key
