"""The Trainer tab's list of past runs (read from the runs folder, see core.training_runs)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QTableWidget, QTableWidgetItem, QWidget

from inspector.core.training_runs import RunInfo, list_runs
from inspector.ui.table_rows import selected_item

COLUMNS = (QT_TRANSLATE_NOOP("RunsTable", "Run"), QT_TRANSLATE_NOOP("RunsTable", "Status"),
           QT_TRANSLATE_NOOP("RunsTable", "Epochs"), QT_TRANSLATE_NOOP("RunsTable", "Best val Dice"),
           QT_TRANSLATE_NOOP("RunsTable", "Val Dice defective"), QT_TRANSLATE_NOOP("RunsTable", "Exported"))
# a run's status (result.json) -> shown text; an unknown status is shown as it is
STATUS = {"completed": QT_TRANSLATE_NOOP("RunsTable", "completed"),
          "early_stop": QT_TRANSLATE_NOOP("RunsTable", "early stop"),
          "cancelled": QT_TRANSLATE_NOOP("RunsTable", "cancelled"),
          "incomplete": QT_TRANSLATE_NOOP("RunsTable", "incomplete")}


def _f(v: float | None) -> str:
    return "–" if v is None else f"{v:.3f}"


class RunsTable(QTableWidget):
    """``run_selected(RunInfo | None)`` when the selection changes."""

    run_selected = Signal(RunInfo)  # RunInfo | None

    def __init__(self, runs_dir: Callable[[], Path], parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self._runs_dir = runs_dir
        self.runs: list[RunInfo] = []
        self.setHorizontalHeaderLabels([self.tr(c) for c in COLUMNS])
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
                self.tr(STATUS[run.status]) if run.status in STATUS else run.status,
                f"{run.epochs_done}/{run.epochs}",
                _f(run.best_val_dice),
                _f(run.last_val_dice_defective),
                self.tr("yes") if run.exported_model else self.tr("no"),
            )
            for c, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setToolTip(self.tr("{path}\ndata: {data}").format(path=run.path, data=run.data))
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
        return selected_item(self, self.runs)
