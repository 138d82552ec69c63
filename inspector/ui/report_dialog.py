"""The Report dialog: a lot's or a shift's report as an HTML page and a PDF, with a preview.

Reports are written to ``<data dir>/reports/`` (``$INSPECTOR_DATA_DIR`` moves it), named after
the lot or shift and the time; the same numbers as ``inspector report``. The log is read and the
files are written on the GUI task runner; only the preview is laid out on the UI thread.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from inspector.services import lots
from inspector.services.lot_report import ReportData, lot_report, render_html, shift_report
from inspector.services.products import slug
from inspector.ui.tasks import TaskRunner, TaskState

if TYPE_CHECKING:
    from inspector.ui.line_control import ProductController


def reports_dir() -> Path:
    """Where reports go; only the path (no mkdir here: the dialog opens on the UI thread, and
    :func:`write_report` creates the folder in its job)."""
    from inspector.core.paths import user_data_path

    return user_data_path() / "reports"


def write_report(data: ReportData, folder: Path, html: bool = True, pdf: bool = True) -> list[Path]:
    """The report's HTML page and PDF in ``folder`` (any thread); returns the files written."""
    from inspector.ui.report_pdf import write_pdf

    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{data.kind}_{slug(data.key)}_{datetime.now():%Y%m%d-%H%M%S}"
    written: list[Path] = []
    if html:
        path = folder / f"{stem}.html"
        tmp = path.with_name(path.name + ".part")
        tmp.write_text(render_html(data), encoding="utf-8")
        tmp.replace(path)
        written.append(path)
    if pdf:
        written.append(write_pdf(data, folder / f"{stem}.pdf"))
    return written


class ReportDialog(QDialog):
    def __init__(self, controller: ProductController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Lot and shift reports"))
        self.resize(1000, 820)
        self.c = controller
        self.ctx = controller.ctx
        self.tasks = TaskRunner(self, "reports")
        self.folder = reports_dir()
        self.data: ReportData | None = None
        self.written: list[Path] = []
        self.lot_radio = QRadioButton(self.tr("Lot"))
        self.shift_radio = QRadioButton(self.tr("Shift"))
        self.lot_radio.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.lot_radio)
        group.addButton(self.shift_radio)
        self.lot_box = QComboBox()
        self.lot_box.setMinimumWidth(340)
        self.shift_box = QComboBox()
        self.shift_box.setMinimumWidth(160)
        self.station_check = QCheckBox(self.tr("only station {station}").format(station=self.ctx.station))
        self.station_check.setChecked(True)
        self.generate_button = QPushButton(self.tr("Write report"))
        self.generate_button.setProperty("primary", True)
        self.generate_button.setToolTip(self.tr("HTML page and PDF in {folder}").format(folder=self.folder))
        self.open_html_button = QPushButton(self.tr("Open HTML"))
        self.open_pdf_button = QPushButton(self.tr("Open PDF"))
        self.open_folder_button = QPushButton(self.tr("Open folder"))
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        self.preview = QTextBrowser()
        self.preview.setStyleSheet("QTextBrowser { background: white; color: #222222; }")  # as printed
        top = QHBoxLayout()
        for w in (self.lot_radio, self.lot_box, self.shift_radio, self.shift_box, self.station_check):
            top.addWidget(w)
        top.addStretch(1)
        top.addWidget(self.generate_button)
        foot = QHBoxLayout()
        foot.addWidget(self.status_label, 1)
        for b in (self.open_html_button, self.open_pdf_button, self.open_folder_button):
            foot.addWidget(b)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.preview, 1)
        lay.addLayout(foot)
        self.generate_button.clicked.connect(self.generate)
        self.lot_box.activated.connect(lambda _i: self.lot_radio.setChecked(True))
        self.shift_box.activated.connect(lambda _i: self.shift_radio.setChecked(True))
        self.open_html_button.clicked.connect(lambda: self._open(".html"))
        self.open_pdf_button.clicked.connect(lambda: self._open(".pdf"))
        self.open_folder_button.clicked.connect(
            lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.folder)))
        )
        self._update_buttons()

    def reload(self) -> None:
        """Fill the lot and shift lists (recent first; the open or last lot and this shift selected)."""
        db, station = self.ctx.db, self.ctx.station

        def read(_state: TaskState) -> tuple[list[lots.LotInfo], list[str]]:
            return lots.recent_lots(db, station), lots.recent_shifts(db, station)

        self.tasks.submit("report-lists", read, on_done=self._fill, on_error=self._failed)

    def _fill(self, got: tuple[list[lots.LotInfo], list[str]]) -> None:
        recent, shifts = got
        self.lot_box.clear()
        for lot in recent:
            state = (
                self.tr("open")
                if lot.is_open
                else self.tr("ended {time}").format(time=f"{lot.ended_at.astimezone():%Y-%m-%d %H:%M}")
            )  # type: ignore[union-attr]
            self.lot_box.addItem(f"{lot.code} ({state})", lot.code)
        current = self.c.lot or self.c.last_lot
        if current is not None:
            self.lot_box.setCurrentIndex(max(0, self.lot_box.findData(current.code)))
        labels = list(dict.fromkeys([self.c.shift.label, *shifts]))
        self.shift_box.clear()
        for label in labels:
            now = label == self.c.shift.label
            self.shift_box.addItem(self.tr("{shift} (now)").format(shift=label) if now else label, label)
        if not recent:
            self.shift_radio.setChecked(True)
        self._update_buttons()

    def generate(self) -> bool:
        """Read the log and write the HTML and PDF; the preview shows the report when done."""
        lot_mode = self.lot_radio.isChecked()
        key = self.lot_box.currentData() if lot_mode else self.shift_box.currentData()
        if not key:
            self.status_label.setText(self.tr("No lot or shift to report on yet."))
            return False
        db = self.ctx.db
        station = self.ctx.station if self.station_check.isChecked() else None
        schedule, folder = self.c.schedule, self.folder

        def make(_state: TaskState) -> tuple[ReportData, list[Path]]:
            data = lot_report(db, key, station) if lot_mode else shift_report(db, key, station, schedule)
            return data, write_report(data, folder)

        self.generate_button.setEnabled(False)
        self.status_label.setText(
            (
                self.tr("Writing the report of lot {key}…")
                if lot_mode
                else self.tr("Writing the report of shift {key}…")
            ).format(key=key)
        )
        self.tasks.submit("report-write", make, on_done=self._done, on_error=self._failed)
        return True

    def _done(self, got: tuple[ReportData, list[Path]]) -> None:
        from inspector.ui.report_pdf import report_document

        self.data, self.written = got
        doc = report_document(self.data)
        doc.setParent(self.preview)
        self.preview.setDocument(doc)
        names = ", ".join(p.name for p in self.written)
        self.status_label.setText(
            self.tr("{title}: {n} parts · written {files} in {folder}").format(
                title=self.data.title, n=self.data.total, files=names, folder=self.folder
            )
        )
        self.ctx.notify(
            "info",
            self.tr("Report {title} written: {files}").format(
                title=self.data.title, files=", ".join(str(p) for p in self.written)
            ),
        )
        self._update_buttons()

    def _failed(self, message: str) -> None:
        self.status_label.setText(self.tr("No report: {error}").format(error=message))
        self.ctx.notify("warning", self.tr("Report not written: {error}").format(error=message))
        self._update_buttons()

    def _open(self, suffix: str) -> None:
        for p in self.written:
            if p.suffix == suffix:
                QDesktopServices.openUrl(QUrl.fromLocalFile(str(p)))

    def _update_buttons(self) -> None:
        self.generate_button.setEnabled(self.lot_box.count() > 0 or self.shift_box.count() > 0)
        self.open_html_button.setEnabled(any(p.suffix == ".html" for p in self.written))
        self.open_pdf_button.setEnabled(any(p.suffix == ".pdf" for p in self.written))
