"""The Trainer tab's list of past runs (read from the runs folder, see core.training_runs)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QTableWidget, QTableWidgetItem, QWidget

from inspector.core.training_runs import RunInfo, list_runs

COLUMNS = ("Run", "Status", "Epochs", "Best val Dice", "Val Dice defective", "Exported")


def _f(v: float | None) -> str:
    return "–" if v is None else f"{v:.3f}"


class RunsTable(QTableWidget):
    """``run_selected(RunInfo | None)`` when the selection changes."""

    run_selected = Signal(object)

    def __init__(self, runs_dir: Callable[[], Path], parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self._runs_dir = runs_dir
        self.runs: list[RunInfo] = []
        self.setHorizontalHeaderLabels(list(COLUMNS))
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.horizontalHeader().setStretchLastSection(True)
        self.itemSelectionChanged.connect(lambda: self.run_selected.emit(self.selected()))

    def refresh(self, select: Path | None = None) -> None:
        """Re-read the runs folder; keeps (or moves to ``select``) the selected run."""
        keep = select or (cur.path if (cur := self.selected()) else None)
        self.runs = list_runs(self._runs_dir())
        self.blockSignals(True)  # one run_selected at the end, not one per row
        self.setRowCount(len(self.runs))
        for r, run in enumerate(self.runs):
            values = (
                run.name,
                run.status,
                f"{run.epochs_done}/{run.epochs}",
                _f(run.best_val_dice),
                _f(run.last_val_dice_defective),
                "yes" if run.exported_model else "no",
            )
            for c, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{run.path}\ndata: {run.data}")
                if c >= 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.setItem(r, c, item)
        self.clearSelection()
        for r, run in enumerate(self.runs):
            if keep is not None and run.path == Path(keep):
                self.selectRow(r)
        self.blockSignals(False)
        self.resizeColumnsToContents()
        self.run_selected.emit(self.selected())

    def selected(self) -> RunInfo | None:
        rows = self.selectionModel().selectedRows() if self.selectionModel() else []
        return self.runs[rows[0].row()] if rows and rows[0].row() < len(self.runs) else None
