"""Table model over the verdict log with lazy, windowed paging.

The station logs ~1 row/s for months, so the model never loads the table:
``rowCount`` is one COUNT query and rows come in pages of ``page_size``
(no blobs) fetched the first time the view asks for a cell in that page. Only
``max_pages`` pages stay cached, so jumping to the end of 100,000 rows costs
two page queries, not 500. Every query runs off the UI thread (inspector.ui.tasks):
a row whose page is on the way reads "loading…" until it arrives.

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

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor

from inspector.core.types import Verdict
from inspector.services.history import HistoryRow, count_history, history_page
from inspector.ui.style import MUTED, VERDICT_COLORS
from inspector.ui.tasks import Job, TaskRunner, TaskState

log = logging.getLogger(__name__)
Index = QModelIndex | QPersistentModelIndex
ReviewFilter = Literal["any", "unreviewed", "reviewed"]

# Qt.UserRole: the HistoryRow behind a cell, so panels never re-query for it.
ROW_ROLE = Qt.ItemDataRole.UserRole
# English source texts, shown translated (context "HistoryModel"): disposition_label(), HEADERS
LOADING = QT_TRANSLATE_NOOP("HistoryModel", "loading…")  # what a row shows until its page arrives

DISPOSITION_LABELS = {
    "confirm_ng": QT_TRANSLATE_NOOP("HistoryModel", "confirmed NG"),
    "false_reject": QT_TRANSLATE_NOOP("HistoryModel", "false reject"),
    "missed_defect": QT_TRANSLATE_NOOP("HistoryModel", "missed defect"),
    "confirm_ok": QT_TRANSLATE_NOOP("HistoryModel", "confirmed OK"),
}


def disposition_label(review: str | None) -> str:
    """A review's disposition in the GUI's language ("" for none; an unknown code as it is)."""
    if review in DISPOSITION_LABELS:
        return QCoreApplication.translate("HistoryModel", DISPOSITION_LABELS[review])
    return review or ""


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
    Column.ID: QT_TRANSLATE_NOOP("HistoryModel", "ID"),
    Column.INSPECTED: QT_TRANSLATE_NOOP("HistoryModel", "Inspected"),
    Column.VERDICT: QT_TRANSLATE_NOOP("HistoryModel", "Verdict"),
    Column.SCORE: QT_TRANSLATE_NOOP("HistoryModel", "Score"),
    Column.REGIONS: QT_TRANSLATE_NOOP("HistoryModel", "Regions"),
    Column.REVIEW: QT_TRANSLATE_NOOP("HistoryModel", "Review"),
    Column.SOURCE: QT_TRANSLATE_NOOP("HistoryModel", "Source"),
    Column.KEY: QT_TRANSLATE_NOOP("HistoryModel", "Image"),
    Column.STATION: QT_TRANSLATE_NOOP("HistoryModel", "Station"),
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
        """Keyword arguments for inspector.services.history.history_page / count_history."""
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


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """What a refresh job brings back: the new count and the page the view needs first."""

    total: int
    page: int
    rows: list[HistoryRow]


def _fetch_page(
    db: Any, f: HistoryFilter, snapshot: datetime | None, total: int, p: int, page_size: int
) -> list[HistoryRow]:
    return history_page(db, total, p, page_size, **f.query_kwargs(snapshot))


def _page_job(
    _state: TaskState,
    db: Any,
    f: HistoryFilter,
    snapshot: datetime | None,
    total: int,
    p: int,
    page_size: int,
) -> list[HistoryRow]:
    return _fetch_page(db, f, snapshot, total, p, page_size)


def _snapshot_job(
    _state: TaskState, db: Any, f: HistoryFilter, snapshot: datetime, keep_row: int, page_size: int
) -> _Snapshot:
    total = count_history(db, **f.query_kwargs(snapshot))
    page = min(max(0, keep_row), max(0, total - 1)) // page_size
    return _Snapshot(total, page, _fetch_page(db, f, snapshot, total, page, page_size))


class HistoryModel(QAbstractTableModel):
    """Newest-first inspections for a :class:`HistoryFilter`, fetched a page at a time.

    Every query runs on the GUI task runner (inspector.ui.tasks), never in ``data()``: a
    row whose page has not arrived reads "loading…" and fills in when it does
    (``page_loaded``). A refresh keeps showing the old snapshot until the new count (and
    the page the view needs first) is in, then resets the model once (``refreshed``).
    """

    refreshed = Signal(int)  # total rows in the new snapshot
    new_rows_available = Signal(int)  # inspections logged since the snapshot (not shown yet)
    failed = Signal(str)  # a DB read failed; the panel shows the message
    page_loaded = Signal(int, int)  # first and last row of a page that arrived

    MAX_IN_FLIGHT = 8  # page queries waiting or running; older requests are dropped (scrolled past)

    def __init__(
        self, db: Any, page_size: int = 200, max_pages: int = 32, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._db = db
        self.page_size = max(1, page_size)
        self.max_pages = max(2, max_pages)
        self.tasks = TaskRunner(self, "history")
        self._filter = HistoryFilter()  # the filter of the rows shown
        self._wanted = self._filter  # the filter of the newest refresh (shown once its count is in)
        self._snapshot: datetime | None = None
        self._total = 0
        self._pages: OrderedDict[int, list[HistoryRow]] = OrderedDict()  # LRU
        self._loading: OrderedDict[int, Job[list[HistoryRow]]] = OrderedDict()  # page -> its job
        self._generation = 0  # bumped per snapshot: a page of an older snapshot is never shown
        self._pending_new = 0
        self.pages_fetched = 0  # page queries since construction (tests and the status line read it)
        self.last_error = ""
        self.refresh()

    # -- public API -------------------------------------------------------------------------
    @property
    def filter(self) -> HistoryFilter:
        return self._wanted

    @property
    def total(self) -> int:
        return self._total

    def set_filter(self, f: HistoryFilter) -> None:
        self._wanted = f
        self.refresh()

    def refresh(self, keep_row: int = 0) -> Job[_Snapshot]:
        """New snapshot: recount (and fetch the page holding ``keep_row``) off the UI thread.

        The rows on screen stay until the answer is in; then every cached page is dropped
        and ``refreshed(total)`` fires. A newer refresh makes an older one's answer stale.
        """
        snapshot = datetime.now(UTC)
        f = self._wanted
        noted = self._pending_new  # logged before this snapshot: shown by it
        self.pages_fetched += 1
        return self.tasks.submit(
            "history-snapshot",
            _snapshot_job,
            self._db,
            f,
            snapshot,
            keep_row,
            self.page_size,
            on_done=lambda snap: self._install(f, snapshot, noted, snap),
            on_error=lambda message: self._install(f, snapshot, noted, None, message),
        )

    def is_refreshing(self) -> bool:
        return self.tasks.busy("history-snapshot")

    def note_logged(self, _inspection_id: int = 0) -> None:
        """An inspection was committed after the snapshot; counted, shown on the next refresh."""
        self._pending_new += 1
        self.new_rows_available.emit(self._pending_new)

    @property
    def pending_new(self) -> int:
        return self._pending_new

    def row_at(self, row: int) -> HistoryRow | None:
        """The row if its page is here; else None, and the page is asked for (``page_loaded``)."""
        if not 0 <= row < self._total:
            return None
        p = row // self.page_size
        rows = self._pages.get(p)
        if rows is None:
            self._request(p)
            return None
        self._pages.move_to_end(p)
        k = row % self.page_size
        return rows[k] if k < len(rows) else None

    def is_loaded(self, row: int) -> bool:
        return row // self.page_size in self._pages

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

    # -- snapshots and pages (answers arrive on the UI thread) ----------------------------------
    def _install(
        self, f: HistoryFilter, snapshot: datetime, noted: int, snap: _Snapshot | None, error: str = ""
    ) -> None:
        for job in self._loading.values():
            job.cancel()
        self.beginResetModel()
        self._generation += 1
        self._filter, self._snapshot = f, snapshot
        self._pages.clear()
        self._loading.clear()
        self._pending_new = max(0, self._pending_new - noted)
        if snap is None:  # DB gone or locked: an empty table and a message, not a crash
            log.warning("history count failed: %s", error)
            self._total = 0
            self.last_error = self.tr("Could not read the inspection log: {error}").format(error=error)
        else:
            self._total = snap.total
            self.last_error = ""
            if snap.rows:
                self._pages[snap.page] = snap.rows
        self.endResetModel()
        if snap is None:
            self.failed.emit(self.last_error)
        self.refreshed.emit(self._total)

    def _request(self, p: int) -> None:
        if p in self._loading:
            return
        while len(self._loading) >= self.MAX_IN_FLIGHT:  # scrolled past: not worth a query any more
            _old, job = self._loading.popitem(last=False)
            job.cancel()
        self.pages_fetched += 1
        gen = self._generation
        self._loading[p] = self.tasks.submit(
            f"history-page:{p}",
            _page_job,
            self._db,
            self._filter,
            self._snapshot,
            self._total,
            p,
            self.page_size,
            on_done=lambda rows: self._on_page(gen, p, rows),
            on_error=lambda message: self._on_page_failed(gen, p, message),
        )

    def _on_page(self, gen: int, p: int, rows: list[HistoryRow]) -> None:
        if gen != self._generation:
            return
        self._loading.pop(p, None)
        self._pages[p] = rows
        while len(self._pages) > self.max_pages:
            self._pages.popitem(last=False)
        if not rows:
            return
        first = p * self.page_size
        last = min(first + len(rows), self._total) - 1
        self.dataChanged.emit(self.index(first, 0), self.index(last, len(Column) - 1))
        self.page_loaded.emit(first, last)

    def _on_page_failed(self, gen: int, p: int, message: str) -> None:
        if gen != self._generation:
            return
        self._loading.pop(p, None)  # not cached: the next paint asks again
        log.warning("history page %d failed: %s", p, message)
        self.last_error = self.tr("Could not read the inspection log: {error}").format(error=message)
        self.failed.emit(self.last_error)

    # -- Qt model ---------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else self._total

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(Column)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self.tr(HEADERS[Column(section)])
        return None  # row numbers mean nothing in a moving log; the ID column identifies rows

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r = self.row_at(index.row())
        col = Column(index.column())
        if r is None:  # its page is on the way: a placeholder, filled in by page_loaded
            if role == Qt.ItemDataRole.DisplayRole:
                return self.tr(LOADING) if col == Column.INSPECTED else ""
            if role == Qt.ItemDataRole.ForegroundRole:
                return QBrush(QColor(MUTED))
            return None
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
        return disposition_label(r.review)
    if col == Column.SOURCE:
        return r.source
    if col == Column.STATION:
        return r.station
    key = r.source_key
    return key.replace("\\", "/").rsplit("/", 1)[-1] or key
