"""History tab: filterable verdict log, keyboard click-through, detail and dispositions.

Keys on the table: Up/Down or j/k move, PgUp/PgDn/Home/End jump, Enter
focuses the detail (Esc returns), N/F/M/O record a disposition (review.py).
ERROR rows (parts that were not inspected) are tinted, have no map (the detail
shows the image alone, or why there is none) and take N or O (review.py).
The detail loads on a short timer so holding Down skims rows without
decoding every image on the way. Every read (pages, detail and image, the filter
lists) runs on the GUI task runner (inspector.ui.tasks); the UI thread never waits
on the database or the disk, and a stale answer (the cursor moved on) is dropped.
"""

from __future__ import annotations

import html
import logging
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QCoreApplication,
    QDateTime,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inspector.core.types import Verdict
from inspector.services.history import HistoryRow, station_names
from inspector.services.queries_extra import StoredView, distinct_sources, load_stored_view
from inspector.services.review_export import decode_mask_png
from inspector.ui.context import AppContext
from inspector.ui.history_model import ROW_ROLE, Column, HistoryFilter, HistoryModel, disposition_label
from inspector.ui.image_view import ImageView
from inspector.ui.review import ReviewActions
from inspector.ui.style import VERDICT_COLORS
from inspector.ui.tasks import TaskRunner, TaskState

log = logging.getLogger(__name__)
DETAIL_DELAY_MS = 40
REVIEW_MASK_RGBA = (0, 200, 255, 120)  # a reviewer's drawn mask over the image: translucent cyan
INDENT = "    "  # a review's note and mask under its line
FILTER_DELAY_MS = 250
FOLLOW_DELAY_MS = 1000  # a line logs several rows a second; one recount per second is plenty
_COLUMN_WIDTHS = {
    Column.ID: 70,
    Column.INSPECTED: 150,
    Column.VERDICT: 70,
    Column.SCORE: 55,
    Column.REGIONS: 60,
    Column.REVIEW: 110,
    Column.SOURCE: 160,
    Column.KEY: 220,
}


# fixed phrases of queries_extra's image notes (Qt-free there), translated where shown
_NOTE_PHRASES = (
    QT_TRANSLATE_NOOP("InspectionDetailView", "image not available: showing the stored probability map"),
    QT_TRANSLATE_NOOP("InspectionDetailView", "image not available"),
    QT_TRANSLATE_NOOP("InspectionDetailView", "differs from the stored map"),
)


def image_note_text(note: str) -> str:
    for phrase in _NOTE_PHRASES:  # longest first: "image not available: ..." before "image not available"
        note = note.replace(phrase, QCoreApplication.translate("InspectionDetailView", phrase))
    return note


def _error_cause(row: HistoryRow) -> str:
    """An ERROR row's cause: its first reason without the "not inspected (<stage>): " prefix."""
    reason = row.reasons[0] if row.reasons else "unknown reason"
    return reason.removeprefix(f"not inspected ({row.error_stage}): ")


class SelectionBus(QObject):
    """Carries "the inspection the user is looking at" from History to Rules.

    One per AppContext, parented to it (found with ``selection_bus(ctx)``): the
    main window builds tabs by name and never has to wire panels together.
    """

    inspection_selected = Signal(int)


def selection_bus(ctx: AppContext) -> SelectionBus:
    bus = ctx.findChild(SelectionBus)
    if bus is None:
        bus = SelectionBus(ctx)
    return bus


class HistoryTable(QTableView):
    """QTableView with vi-style j/k and Enter-to-open, safe on a lazily paged model."""

    open_requested = Signal()

    def keyboardSearch(self, search: str) -> None:
        # The default walks every row looking for a match: on a paged model that
        # would fetch the whole log because someone typed a letter.
        return

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if event.modifiers() == Qt.KeyboardModifier.NoModifier and key in (Qt.Key.Key_J, Qt.Key.Key_K):
            self._step(1 if key == Qt.Key.Key_J else -1)
            return
        if key in (Qt.Key.Key_Home, Qt.Key.Key_End):
            # QTableView moves along the row on Home/End; in a row-selected log
            # the operator means newest/oldest.
            self._step(-(1 << 62) if key == Qt.Key.Key_Home else 1 << 62)
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.open_requested.emit()
            return
        super().keyPressEvent(event)

    def _step(self, delta: int) -> None:
        model = self.model()
        if model is None or model.rowCount() == 0:
            return
        cur = self.currentIndex()
        n = model.rowCount()
        start = cur.row() if cur.isValid() else (-1 if delta > 0 else n)  # first j lands on the newest
        row = min(max(start + delta, 0), n - 1)
        col = cur.column() if cur.isValid() else 0
        self.setCurrentIndex(model.index(row, col))


class InspectionDetailView(QWidget):
    """One logged inspection: image + overlay, reasons, regions, reviews."""

    REGION_HEADERS = (
        "#",
        QT_TRANSLATE_NOOP("InspectionDetailView", "Area px"),
        QT_TRANSLATE_NOOP("InspectionDetailView", "BBox x,y,w,h"),
        QT_TRANSLATE_NOOP("InspectionDetailView", "Centroid x,y"),
        QT_TRANSLATE_NOOP("InspectionDetailView", "Mean p"),
        QT_TRANSLATE_NOOP("InspectionDetailView", "Max p"),
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view: StoredView | None = None
        self.image = ImageView()
        self.image.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.header = QLabel(self.tr("No inspection selected"))
        self.header.setWordWrap(True)
        self.header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.reasons = QLabel("")
        self.reasons.setWordWrap(True)
        self.regions = QTableWidget(0, len(self.REGION_HEADERS))
        self.regions.setHorizontalHeaderLabels([self.tr(h) for h in self.REGION_HEADERS])
        self.regions.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.regions.verticalHeader().hide()
        self.regions.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.reviews = QLabel("")
        self.reviews.setWordWrap(True)
        self.reviews.setTextFormat(Qt.TextFormat.PlainText)  # a note is shown as typed
        # the newest drawn mask of the part's reviews, over the image (the label editor's drawing)
        self.review_mask = pg.ImageItem(axisOrder="row-major")
        self.review_mask.setZValue(10)
        self.review_mask.hide()
        self.image.view_box().addItem(self.review_mask)
        self.mask_check = QCheckBox(self.tr("Show the reviewer's mask"))
        self.mask_check.setChecked(True)
        self.mask_check.setToolTip(self.tr("The defect drawn with L (label editor), in cyan over the image"))
        self.mask_check.toggled.connect(lambda _on: self._show_mask())
        self.mask_check.hide()
        self._mask: np.ndarray | None = None
        self.image_note = QLabel("")
        self.image_note.setWordWrap(True)
        self.image_note.setProperty("muted", True)

        side = QWidget()
        sl = QVBoxLayout(side)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.addWidget(self.header)
        sl.addWidget(QLabel(self.tr("<b>Reasons</b>")))
        sl.addWidget(self.reasons)
        sl.addWidget(QLabel(self.tr("<b>Regions</b>")))
        sl.addWidget(self.regions, 1)
        sl.addWidget(QLabel(self.tr("<b>Reviews</b>")))
        sl.addWidget(self.reviews)
        sl.addWidget(self.mask_check)
        sl.addWidget(self.image_note)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.image)
        split.addWidget(side)
        side.setMinimumWidth(280)  # bbox/centroid columns and the header stay readable
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(split)

    def show_view(self, view: StoredView | None) -> None:
        self.view = view
        if view is None:
            self.image.clear()
            self.header.setText(self.tr("No inspection selected"))
            for w in (self.reasons, self.reviews, self.image_note):
                w.setText("")
            self.regions.setRowCount(0)
            self._set_mask(None)
            return
        r = view.detail.row
        threshold = r.threshold
        error = r.verdict is Verdict.ERROR
        if view.image is not None:  # an ERROR has no map: the plain image in every mode
            self.image.show_result(view.image, view.prob, view.decision, threshold)
        else:
            cause = _error_cause(r) if error else image_note_text(view.image_note)
            self.image.show_message(self.tr("image could not be read: {error}").format(error=cause))
        when = r.inspected_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        if error:
            colour = VERDICT_COLORS[Verdict.ERROR.value]
            title = self.tr(
                "<b>#{id} <span style='color:{colour}'>ERROR — not inspected</span></b> · "
                "failed at: <b>{stage}</b> · {time}"
            )
            title = title.format(id=r.id, colour=colour, stage=html.escape(r.error_stage or "?"), time=when)
        else:
            title = self.tr("<b>#{id} {verdict}</b> score {score:.2f} · {time}").format(
                id=r.id, verdict=r.verdict.value, score=r.score, time=when
            )
        override = ""
        if view.model_override:
            override = "<br>" + self.tr(
                "<span style='color:{colour}'><b>⚠ OVERRIDE</b>: this model was promoted without passing the "
                "gate ({reason})</span>"
            ).format(colour=VERDICT_COLORS[Verdict.NG.value], reason=html.escape(view.model_override))
        self.header.setText(
            f"{title}<br>{html.escape(r.source_key)}<br>"
            + self.tr(
                "station {station} · recipe {recipe} v{version} · threshold {threshold:.2f} · "
                "{backend} · model "
                "{sha}"
            ).format(
                station=html.escape(r.station),
                recipe=html.escape(r.recipe_name),
                version=r.recipe_version,
                threshold=threshold,
                backend=html.escape(r.backend),
                sha=r.model_sha256[:12],
            )
            + override
        )
        self.reasons.setText("\n".join(f"• {x}" for x in r.reasons) or "—")
        self.regions.setRowCount(len(view.detail.regions))
        for i, g in enumerate(view.detail.regions):
            cells = (
                str(g.index),
                str(g.area_px),
                ",".join(str(v) for v in g.bbox),
                f"{g.centroid[0]:.1f},{g.centroid[1]:.1f}",
                f"{g.mean_prob:.3f}",
                f"{g.max_prob:.3f}",
            )
            for j, text in enumerate(cells):
                self.regions.setItem(i, j, QTableWidgetItem(text))
        self.set_reviews(view)
        if error and view.image is None and r.error_stage == "read":
            # the reasons say why already; the note would repeat the decoder's message
            self.image_note.setText(self.tr("no image: the part's file could not be decoded"))
        else:
            self.image_note.setText(image_note_text(view.image_note))

    def set_reviews(self, view: StoredView) -> None:
        """Each review: what, who, when, its note and whether a mask was drawn; the newest drawn
        mask is shown over the image."""
        lines: list[str] = []
        for v in view.detail.reviews:
            lines.append(
                self.tr("{disposition} by {user} at {time}").format(
                    disposition=disposition_label(v.disposition),
                    user=v.by,
                    time=v.at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
                )
            )
            if v.note.strip():
                lines.append(INDENT + self.tr("note: {note}").format(note=v.note.strip()))
            if v.mask_png:
                lines.append(INDENT + self.tr("defect mask drawn"))
        self.reviews.setText("\n".join(lines) or self.tr("not reviewed"))
        drawn = next((v.mask_png for v in reversed(view.detail.reviews) if v.mask_png), None)
        mask: np.ndarray | None = None
        if drawn is not None and view.image is not None:
            try:
                mask = decode_mask_png(drawn)  # a small in-memory PNG, read with the detail
            except ValueError as exc:
                log.warning("review mask of inspection %s not shown: %s", view.id, exc)
            if mask is not None and mask.shape[:2] != view.image.shape[:2]:
                mask = None  # drawn on another image size: it would sit in the wrong place
        self._set_mask(mask)

    def review_mask_shown(self) -> bool:
        """True while a reviewer's drawn mask is on the image (tests)."""
        return self._mask is not None and self.review_mask.isVisible()

    def _set_mask(self, mask: np.ndarray | None) -> None:
        self._mask = mask
        self.mask_check.setVisible(mask is not None)
        if mask is not None:
            rgba = np.zeros((*mask.shape[:2], 4), np.uint8)
            rgba[mask > 0] = REVIEW_MASK_RGBA
            self.review_mask.setImage(rgba, autoLevels=False, levels=(0, 255))
        else:
            self.review_mask.clear()
        self._show_mask()

    def _show_mask(self) -> None:
        self.review_mask.setVisible(self._mask is not None and self.mask_check.isChecked())


class HistoryPanel(QWidget):
    """The verdict log for operators and QA.

    Signals: ``inspection_selected(id)`` when the current row changes (also
    sent on ``selection_bus(ctx)``, which the rules panel follows),
    ``inspection_opened(id)`` on Enter.
    """

    inspection_selected = Signal(int)
    inspection_opened = Signal(int)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None, *, page_size: int = 200) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.model = HistoryModel(ctx.db, page_size=page_size, parent=self)
        self.model.failed.connect(self._on_failed)
        self.table = HistoryTable()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        # Fixed row height and column widths: anything "to contents" would read every row.
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(22)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hh.setStretchLastSection(True)
        metrics = hh.fontMetrics()
        for col, width in _COLUMN_WIDTHS.items():
            # at least the header's text (longer in some languages) plus the sort indicator's room
            title = str(self.model.headerData(col, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole))
            self.table.setColumnWidth(col, max(width, metrics.horizontalAdvance(title) + 24))
        self.detail = InspectionDetailView()
        self.reviews = ReviewActions(ctx, self)
        self._bus = selection_bus(ctx)
        self._last_error = ""
        # detail, source and station lists: read off the UI thread (inspector.ui.tasks)
        self.tasks = TaskRunner(self, "history-panel")
        self._reselect: tuple[int, int] | None = None  # (inspection id, expected row) after a refresh
        self._build_filters()

        self.count_label = QLabel("")
        self.new_button = QPushButton("")
        # Ctrl+R, not F5: F5 starts the live run everywhere in the window.
        self.new_button.setToolTip(self.tr("Show inspections logged since the list was loaded (Ctrl+R)"))
        self.new_button.clicked.connect(self.refresh)
        self.new_button.hide()
        QShortcut(
            QKeySequence("Ctrl+R"),
            self,
            self.refresh,
            context=Qt.ShortcutContext.WidgetWithChildrenShortcut,
        )
        QShortcut(
            QKeySequence(Qt.Key.Key_Escape),
            self.detail,
            self.table.setFocus,
            context=Qt.ShortcutContext.WidgetWithChildrenShortcut,
        )

        status = QHBoxLayout()
        status.addWidget(self.count_label)
        status.addWidget(self.new_button)
        status.addStretch(1)
        from inspector.ui.history_export import CsvExporter, XlsxExporter  # what the filter shows

        self.csv_export = CsvExporter(self)
        status.addWidget(self.csv_export.button)
        self.xlsx_export = XlsxExporter(self)  # the same rows and columns as an Excel workbook
        status.addWidget(self.xlsx_export.button)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addLayout(self._filters)
        ll.addWidget(self.table, 1)
        ll.addLayout(status)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.detail, 1)
        rl.addWidget(self.reviews.button_bar())
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        lay = QVBoxLayout(self)
        lay.addWidget(split)

        self._follow_timer = QTimer(self, singleShot=True, interval=FOLLOW_DELAY_MS)
        self._follow_timer.timeout.connect(self._follow)
        self._detail_timer = QTimer(self, singleShot=True, interval=DETAIL_DELAY_MS)
        self._detail_timer.timeout.connect(self._load_detail)
        self.table.selectionModel().currentRowChanged.connect(self._on_current)
        self.table.open_requested.connect(self._open_current)
        self.model.refreshed.connect(self._on_refreshed)
        self.model.page_loaded.connect(self._on_page_loaded)
        self.model.new_rows_available.connect(self._on_new_rows)
        self.reviews.reviewed.connect(self._on_reviewed)
        ctx.inspection_logged.connect(self.model.note_logged)
        self._on_refreshed(self.model.total)

    # -- filters ------------------------------------------------------------------------------
    def _build_filters(self) -> None:
        self.verdict_box = QComboBox()
        self.verdict_box.addItem(self.tr("Any verdict"), None)
        for v in Verdict:
            self.verdict_box.addItem(v.value, v)
        self.review_box = QComboBox()
        for label, value in (
            (self.tr("Any review state"), "any"),
            (self.tr("Unreviewed"), "unreviewed"),
            (self.tr("Reviewed"), "reviewed"),
        ):
            self.review_box.addItem(label, value)
        # many stations can log into one database: All stations, or one of them
        self.station_box = QComboBox()
        self.station_box.setToolTip(
            self.tr("Only this station's inspections (stations logging into this database)")
        )
        self.station_box.addItem(self.tr("All stations"), None)
        self.source_box = QComboBox()
        self.source_box.setEditable(True)
        self.source_box.setToolTip(
            self.tr("Exact source name (drop-down lists those in the log); empty = all")
        )
        self.source_box.lineEdit().setPlaceholderText(self.tr("any source"))
        self.source_box.setMinimumContentsLength(14)
        self.key_edit = QLineEdit()
        self.key_edit.setPlaceholderText(self.tr("image path starts with…"))
        self.key_edit.setClearButtonEnabled(True)
        self.since_check, self.since_edit = QCheckBox(self.tr("Since")), QDateTimeEdit()
        self.until_check, self.until_edit = QCheckBox(self.tr("Until")), QDateTimeEdit()
        now = QDateTime.currentDateTime()
        self.since_edit.setDateTime(now.addDays(-1))
        self.until_edit.setDateTime(now)
        for e in (self.since_edit, self.until_edit):
            e.setCalendarPopup(True)
            e.setDisplayFormat("yyyy-MM-dd HH:mm")
            e.setEnabled(False)
        self.since_check.toggled.connect(self.since_edit.setEnabled)
        self.until_check.toggled.connect(self.until_edit.setEnabled)

        self._filter_timer = QTimer(self, singleShot=True, interval=FILTER_DELAY_MS)
        self._filter_timer.timeout.connect(self.apply_filters)
        for box in (self.verdict_box, self.review_box, self.station_box):
            box.currentIndexChanged.connect(self.apply_filters)
        for chk in (self.since_check, self.until_check):
            chk.toggled.connect(self.apply_filters)
        # typed text and dates: debounced, one query per pause rather than per keystroke
        self.source_box.currentTextChanged.connect(lambda _t: self._filter_timer.start())
        self.key_edit.textChanged.connect(lambda _t: self._filter_timer.start())
        self.since_edit.dateTimeChanged.connect(lambda _d: self._filter_timer.start())
        self.until_edit.dateTimeChanged.connect(lambda _d: self._filter_timer.start())
        self._reload_sources()
        self._reload_stations()

        # Two rows: a single row squeezes the text fields to nothing on a laptop screen.
        self._filters = QVBoxLayout()
        for group in (
            (self.verdict_box, self.review_box, self.source_box, self.key_edit),
            (self.station_box, self.since_check, self.since_edit, self.until_check, self.until_edit),
        ):
            row = QHBoxLayout()
            for w in group:
                row.addWidget(w)
            row.addStretch(0 if self.key_edit in group else 1)
            self._filters.addLayout(row)
        self.key_edit.setMinimumWidth(160)

    def _reload_sources(self) -> None:
        def failed(message: str) -> None:  # the model reports DB trouble; the list just stays short
            log.warning("could not list sources: %s", message)

        self.tasks.submit(
            "history-sources", _sources_job, self.ctx.db, on_done=self._set_sources, on_error=failed
        )

    def _set_sources(self, names: list[str]) -> None:
        text = self.source_box.currentText()
        self.source_box.blockSignals(True)
        self.source_box.clear()
        self.source_box.addItem("")
        self.source_box.addItems(names)
        self.source_box.setCurrentText(text)
        self.source_box.blockSignals(False)

    def _reload_stations(self) -> None:
        def failed(message: str) -> None:  # the model reports DB trouble; the list just stays short
            log.warning("could not list stations: %s", message)

        self.tasks.submit(
            "history-stations", _stations_job, self.ctx.db, on_done=self._set_stations, on_error=failed
        )

    def _set_stations(self, names: list[str]) -> None:
        current = self.station_box.currentData()
        self.station_box.blockSignals(True)
        try:
            while self.station_box.count() > 1:  # keep "All stations"
                self.station_box.removeItem(1)
            if current and current not in names:
                names = [*names, current]
            for name in names:
                self.station_box.addItem(name, name)
            self.station_box.setCurrentIndex(max(0, self.station_box.findData(current)))
        finally:
            self.station_box.blockSignals(False)

    def current_filter(self) -> HistoryFilter:
        def when(check: QCheckBox, edit: QDateTimeEdit) -> datetime | None:
            if not check.isChecked():
                return None
            return datetime.fromtimestamp(edit.dateTime().toSecsSinceEpoch(), UTC)

        return HistoryFilter(
            verdict=self.verdict_box.currentData(),
            since=when(self.since_check, self.since_edit),
            until=when(self.until_check, self.until_edit),
            source=self.source_box.currentText().strip() or None,
            key_prefix=self.key_edit.text().strip() or None,
            review=self.review_box.currentData(),
            station=self.station_box.currentData(),
        )

    def apply_filters(self) -> None:
        self._filter_timer.stop()
        self.model.set_filter(self.current_filter())

    # -- public API -----------------------------------------------------------------------------
    def refresh(self) -> None:
        """New snapshot of the log (off the UI thread); once it is in, the selected inspection is
        selected again when it is still listed."""
        current = self.current_row()
        shift = self.model.pending_new
        old_row = self.table.currentIndex().row()
        self._reload_sources()
        self._reload_stations()
        # New rows arrive on top (newest first), so the old row moved down by `shift`;
        # the refresh brings that row's page along.
        candidate = old_row + shift if current is not None else 0
        self._reselect = (current.id, candidate) if current is not None else None
        self.model.refresh(keep_row=candidate)

    def select_row(self, row: int) -> None:
        if 0 <= row < self.model.rowCount():
            idx = self.model.index(row, 0)
            self.table.selectionModel().setCurrentIndex(
                idx, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
            )
            self.table.scrollTo(idx)

    def current_row(self) -> HistoryRow | None:
        idx = self.table.currentIndex()
        return self.model.row_at(idx.row()) if idx.isValid() else None

    def current_id(self) -> int | None:
        row = self.current_row()
        return row.id if row is not None else None

    def load_detail_now(self) -> None:
        """Load the pending detail without waiting for the skim timer (tests, Enter)."""
        if self._detail_timer.isActive():
            self._detail_timer.stop()
            self._load_detail()

    # -- slots -----------------------------------------------------------------------------------
    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        row = current.data(ROW_ROLE) if current.isValid() else None
        # Dispositions follow the cursor at once: the detail may lag, the key must not.
        self.reviews.set_row(row)
        if row is not None:
            self.inspection_selected.emit(row.id)
            self._bus.inspection_selected.emit(row.id)
        self._detail_timer.start()

    def _on_page_loaded(self, first: int, last: int) -> None:
        """A page arrived: the current row may have been a "loading…" placeholder until now."""
        idx = self.table.currentIndex()
        if not idx.isValid() or not first <= idx.row() <= last:
            return
        row, shown = self.model.row_at(idx.row()), self.reviews.current()
        if row is not None and (shown is None or shown.id != row.id):
            self._on_current(idx, idx)

    def detail_loading(self) -> bool:
        """True while the detail of the current row is being read (tests wait on it)."""
        return self._detail_timer.isActive() or self.tasks.busy("history-detail")

    def _load_detail(self) -> None:
        row = self.current_row()
        if row is None:
            self.tasks.cancel("history-detail")
            self.detail.show_view(None)
            return
        if self.detail.view is not None and self.detail.view.id == row.id:
            return
        rid = row.id

        def loaded(view: StoredView | None) -> None:
            current = self.current_row()
            if current is not None and current.id == rid:  # the cursor may have moved on meanwhile
                self.detail.show_view(view)

        def failed(message: str) -> None:  # a broken blob must not stop the click-through
            self.ctx.notify(
                "error", self.tr("Could not load inspection {id}: {error}").format(id=rid, error=message)
            )
            loaded(None)

        # image decode and blob reads: off the UI thread; a newer selection makes this one stale
        self.tasks.submit("history-detail", _view_job, self.ctx.db, rid, on_done=loaded, on_error=failed)

    def _open_current(self) -> None:
        row = self.current_row()
        if row is None:
            return
        self.load_detail_now()
        self.detail.image.setFocus()
        self.inspection_opened.emit(row.id)

    def _on_reviewed(self, inspection_id: int, disposition: str) -> None:
        self.model.set_review(inspection_id, disposition)
        row = self.current_row()
        if row is not None and row.id == inspection_id:
            self.reviews.set_row(row)
            self.detail.view = None  # reload so the review list shows who and when
            self._load_detail()

    def _on_refreshed(self, total: int) -> None:
        self.count_label.setText(self.tr("{n} inspections").format(n=f"{total:,}"))
        self.new_button.hide()
        reselect, self._reselect = self._reselect, None
        if reselect is not None:
            rid, candidate = reselect
            found = self.model.row_at(candidate)
            if found is not None and found.id == rid:
                self.select_row(candidate)
            else:
                row = self.model.cached_row_of(rid)
                if row is not None:
                    self.select_row(row)
        self.reviews.set_row(self.current_row())

    def _on_failed(self, message: str) -> None:
        # Once per burst: a failing DB would otherwise flood the message area on every repaint.
        if message != self._last_error:
            self._last_error = message
            self.ctx.notify("error", message)
            QTimer.singleShot(10_000, self._forget_error)

    def _forget_error(self) -> None:
        self._last_error = ""

    def _on_new_rows(self, n: int) -> None:
        self.new_button.setText(self.tr("{n} new — show (Ctrl+R)").format(n=n))
        self.new_button.show()
        self._follow_timer.start()

    def _follow(self) -> None:
        if not self.isVisible():
            return  # showEvent catches up; a hidden tab costs the running line nothing
        at_top = self.table.verticalScrollBar().value() == 0
        if at_top and not self.table.currentIndex().isValid():
            self.model.refresh()  # nobody is reading a row: follow the line

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.model.pending_new:
            QTimer.singleShot(0, self._follow)


def _sources_job(_state: TaskState, db: Any) -> list[str]:
    return distinct_sources(db)


def _stations_job(_state: TaskState, db: Any) -> list[str]:
    return station_names(db)


def _view_job(_state: TaskState, db: Any, inspection_id: int) -> StoredView | None:
    return load_stored_view(db, inspection_id)
