"""History's "Export CSV…": the verdicts the current filter shows, oldest first, as a CSV file.

The rows are read and written on the GUI task runner (a big log takes seconds), with the
product, lot and shift of each part; inspector.core.verdict_export writes the file.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QPushButton, QWidget

from inspector.ui.tasks import TaskRunner, TaskState

if TYPE_CHECKING:
    from inspector.ui.history_panel import HistoryPanel


class CsvExporter(QObject):
    """Exports what ``panel.current_filter()`` selects; says the outcome in the message area."""

    def __init__(self, panel: HistoryPanel) -> None:
        super().__init__(panel)
        self.panel = panel
        self.ctx = panel.ctx
        self.tasks = TaskRunner(self, "history-export")
        self.button = QPushButton("Export CSV…")
        self.button.setToolTip("Write the verdicts the filter shows (all pages) to a CSV file")
        self.button.clicked.connect(lambda: self.export())

    def export(self, path: Path | None = None) -> bool:
        if path is None:
            start = str(Path.home() / f"verdicts_{datetime.now():%Y%m%d-%H%M}.csv")
            parent: QWidget = self.panel
            chosen, _ = QFileDialog.getSaveFileName(parent, "Export verdicts", start, "CSV (*.csv)")
            if not chosen:
                return False
            path = Path(chosen)
        filters = self.panel.current_filter().query_kwargs(None)
        db = self.ctx.db

        def run(state: TaskState) -> int:
            from inspector.core.verdict_export import export_csv

            return export_csv(db, path, state, **filters)

        self.button.setEnabled(False)
        self.tasks.submit("export", run, on_done=lambda n: self._done(n, path), on_error=self._failed,
                          on_progress=lambda done, _t, _m: self.button.setText(f"Exporting… {done}"))
        return True

    def _done(self, n: int, path: Path) -> None:
        self._reset()
        self.ctx.notify("info", f"{n} verdicts exported to {path}")

    def _failed(self, message: str) -> None:
        self._reset()
        self.ctx.notify("error", f"Verdicts not exported: {message}")

    def _reset(self) -> None:
        self.button.setEnabled(True)
        self.button.setText("Export CSV…")
