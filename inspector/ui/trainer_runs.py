"""The Trainer tab's list of past runs (read from the runs folder, see core.training_runs).

The runs folder is read by a job of the table's task runner (:mod:`inspector.ui.tasks`), never on
the UI thread: :func:`read_runs` lists the runs and the files the tab asks about (an exported model,
what a resume needs), and the table keeps that answer until the next refresh.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QTableWidget, QTableWidgetItem, QWidget

from inspector.core.training_runs import RunInfo, export_path, list_runs
from inspector.ui.table_rows import selected_item
from inspector.ui.tasks import Job, TaskRunner, TaskState

RUNS_TAG = "trainer-runs"

COLUMNS = (
    QT_TRANSLATE_NOOP("RunsTable", "Run"),
    QT_TRANSLATE_NOOP("RunsTable", "Status"),
    QT_TRANSLATE_NOOP("RunsTable", "Epochs"),
    QT_TRANSLATE_NOOP("RunsTable", "Best val Dice"),
    QT_TRANSLATE_NOOP("RunsTable", "Val Dice defective"),
    QT_TRANSLATE_NOOP("RunsTable", "Exported"),
)
# a run's status (result.json) -> shown text; an unknown status is shown as it is
STATUS = {
    "completed": QT_TRANSLATE_NOOP("RunsTable", "completed"),
    "early_stop": QT_TRANSLATE_NOOP("RunsTable", "early stop"),
    "cancelled": QT_TRANSLATE_NOOP("RunsTable", "cancelled"),
    "incomplete": QT_TRANSLATE_NOOP("RunsTable", "incomplete"),
}


def _f(v: float | None) -> str:
    return "–" if v is None else f"{v:.3f}"


@dataclass(frozen=True, slots=True)
class RunFiles:
    """What the tab needs to know of a run's files, read with the run (off the UI thread)."""

    exported: bool = False  # export/model.onnx is there
    resumable: bool = False  # state.json and last.keras are there (the trainer's --resume needs both)


@dataclass(frozen=True, slots=True)
class RunsListing:
    """The runs folder as one job read it: the runs, newest first, and their files."""

    runs: list[RunInfo]
    files: dict[Path, RunFiles]


def read_runs(runs_dir: Path) -> RunsListing:
    """Every run under ``runs_dir`` with its files (any thread but the UI's: it reads every run)."""
    runs = list_runs(runs_dir)
    files = {
        run.path: RunFiles(
            exported=export_path(run.path).is_file(),
            resumable=(run.path / "state.json").is_file() and (run.path / "last.keras").is_file(),
        )
        for run in runs
    }
    return RunsListing(runs, files)


def _read_runs_job(_state: TaskState, runs_dir: Path) -> RunsListing:
    return read_runs(runs_dir)


class RunsTable(QTableWidget):
    """``run_selected(RunInfo | None)`` when the selection changes; ``read_failed(message)`` when
    the runs folder could not be read."""

    run_selected = Signal(RunInfo)  # RunInfo | None
    read_failed = Signal(str)

    def __init__(self, runs_dir: Callable[[], Path], parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self._runs_dir = runs_dir
        self.runs: list[RunInfo] = []
        self.files: dict[Path, RunFiles] = {}
        self._select: Path | None = None  # the run the pending refresh was asked to select
        self.tasks = TaskRunner(self, "trainer-runs")
        self.setHorizontalHeaderLabels([self.tr(c) for c in COLUMNS])
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.horizontalHeader().setStretchLastSection(True)
        self.itemSelectionChanged.connect(lambda: self.run_selected.emit(self.selected()))

    def refresh(self, select: Path | None = None) -> Job[RunsListing]:
        """Re-read the runs folder off the UI thread; the table keeps (or moves to ``select``) the
        selected run when the answer comes. A newer refresh makes an older one's answer stale."""
        if select is not None:
            self._select = Path(select)
        return self.tasks.submit(
            RUNS_TAG,
            _read_runs_job,
            Path(self._runs_dir()),
            on_done=self.show_listing,
            on_error=self._read_failed,
        )

    def busy(self) -> bool:
        """A refresh is on its way."""
        return self.tasks.busy(RUNS_TAG)

    def wait(self, timeout: float = 10.0) -> bool:
        """Wait for the refresh on its way and show it (tests)."""
        return self.tasks.wait(timeout)

    def show_listing(self, listing: RunsListing, select: Path | None = None) -> None:
        """Show ``listing``; keeps (or moves to ``select``, or to the run a refresh was asked to
        select) the selected run."""
        select = select or self._select
        self._select = None
        keep = select or (cur.path if (cur := self.selected()) else None)
        self.runs, self.files = list(listing.runs), dict(listing.files)
        self.blockSignals(True)  # one run_selected at the end, not one per row
        self.setRowCount(len(self.runs))
        for r, run in enumerate(self.runs):
            values = (
                run.name,
                self.tr(STATUS[run.status]) if run.status in STATUS else run.status,
                f"{run.epochs_done}/{run.epochs}",
                _f(run.best_val_dice),
                _f(run.last_val_dice_defective),
                self.tr("yes") if self.run_files(run).exported else self.tr("no"),
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

    def _read_failed(self, message: str) -> None:
        self._select = None
        self.read_failed.emit(message)

    def run_files(self, run: RunInfo | None) -> RunFiles:
        """The files of ``run`` as the last refresh read them (none known: all False)."""
        return self.files.get(run.path, RunFiles()) if run is not None else RunFiles()

    def selected(self) -> RunInfo | None:
        return selected_item(self, self.runs)
