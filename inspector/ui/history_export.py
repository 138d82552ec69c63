"""History's "Export CSV…" and "Export Excel…": the verdicts the current filter shows, oldest first.

The rows are read and the file written on the GUI task runner (a big log takes seconds), with the
product, lot and shift of each part; inspector.services.verdict_export writes the file (the same
columns in both formats).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QObject
from PySide6.QtWidgets import QFileDialog, QPushButton, QWidget

from inspector.ui.tasks import TaskRunner, TaskState

if TYPE_CHECKING:
    from inspector.ui.history_panel import HistoryPanel


def write_file(kind: str, db: Any, path: Path, state: TaskState, filters: dict[str, Any]) -> int:
    """Any thread: the verdicts as ``kind`` ("csv" | "xlsx"); the number of rows written."""
    from inspector.services.verdict_export import export_csv, export_xlsx

    return (export_xlsx if kind == "xlsx" else export_csv)(db, path, state, **filters)


class VerdictExporter(QObject):
    """Exports what ``panel.current_filter()`` selects; says the outcome in the message area."""

    kind = "csv"
    label = QT_TRANSLATE_NOOP("VerdictExporter", "Export CSV…")  # shown translated
    suffix = ".csv"
    file_filter = QT_TRANSLATE_NOOP("VerdictExporter", "CSV (*.csv)")

    def __init__(self, panel: HistoryPanel) -> None:
        super().__init__(panel)
        self.panel = panel
        self.ctx = panel.ctx
        self.tasks = TaskRunner(self, f"history-export{self.suffix}")
        self.button = QPushButton(self.tr(self.label))
        self.button.setToolTip(self.tr("Write the verdicts the filter shows (all pages): {format}")
                               .format(format=self.tr(self.file_filter)))
        self.button.clicked.connect(lambda: self.export())

    def export(self, path: Path | None = None) -> bool:
        if path is None:
            start = str(Path.home() / f"verdicts_{datetime.now():%Y%m%d-%H%M}{self.suffix}")
            parent: QWidget = self.panel
            chosen, _ = QFileDialog.getSaveFileName(parent, self.tr("Export verdicts"), start,
                                                    self.tr(self.file_filter))
            if not chosen:
                return False
            path = Path(chosen)
        filters = self.panel.current_filter().query_kwargs(None)
        db, kind = self.ctx.db, self.kind

        def run(state: TaskState) -> int:
            return write_file(kind, db, path, state, filters)

        self.button.setEnabled(False)
        self.tasks.submit(
            "export",
            run,
            on_done=lambda n: self._done(n, path),
            on_error=self._failed,
            on_progress=lambda done, _t, _m: self.button.setText(self.tr("Exporting… {n}").format(n=done)),
        )
        return True

    def _done(self, n: int, path: Path) -> None:
        self._reset()
        self.ctx.notify("info", self.tr("{n} verdicts exported to {path}").format(n=n, path=path))

    def _failed(self, message: str) -> None:
        self._reset()
        self.ctx.notify("error", self.tr("Verdicts not exported: {error}").format(error=message))

    def _reset(self) -> None:
        self.button.setEnabled(True)
        self.button.setText(self.tr(self.label))


class CsvExporter(VerdictExporter):
    """History's "Export CSV…"."""


class XlsxExporter(VerdictExporter):
    """History's "Export Excel…": the same rows and columns as an .xlsx workbook."""

    kind = "xlsx"
    label = QT_TRANSLATE_NOOP("VerdictExporter", "Export Excel…")
    suffix = ".xlsx"
    file_filter = QT_TRANSLATE_NOOP("VerdictExporter", "Excel (*.xlsx)")
