"""Qt glue for the what-if analysis: a debounced, cancellable background runner and the flips table.

Every edit (each keystroke that makes a valid value) restarts a short timer
(DEBOUNCE_MS); when it fires, the running job (if any) is cancelled and a new one
starts on the GUI task runner (inspector.ui.tasks, tag "whatif"), so a stale result
is never shown. The replay result is posted first, the PR sweeps after it: the flip
count is what a QA engineer watches while typing or dragging a value.

The sweeps are cached by "every parameter except the swept one": moving the
threshold leaves the threshold curve as it was (only the marker moves) and
recomputes only the level curve, and the other way round.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QObject, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inspector.core.recipe import Recipe
from inspector.core.types import Verdict
from inspector.core.whatif import (
    Flip,
    Param,
    PRPoint,
    ReplayRow,
    ReviewedRow,
    default_values,
    flip_counts,
    pr_curve,
    replay,
    truth_of,
)
from inspector.services.history import recent_with_prob_maps
from inspector.ui.tasks import TaskRunner, TaskState

DEBOUNCE_MS = 300
PARAMS: tuple[Param, ...] = ("threshold", "level")
_SWEPT_FIELDS = {"threshold": ("threshold",), "level": ("level_ng",)}


@dataclass(slots=True)
class ReplayOutcome:
    generation: int
    recipe: Recipe
    replayed: int  # inspections with a stored map among the last N (ERROR verdicts never are)
    flips: list[Flip]
    seconds: float

    @property
    def counts(self) -> dict[str, int]:
        return flip_counts(self.flips)


@dataclass(slots=True)
class PROutcome:
    generation: int
    recipe: Recipe
    reviewed: int
    points: dict[str, list[PRPoint]] = field(default_factory=dict)  # curves computed so far
    seconds: float = 0.0
    complete: bool = False  # False while the other sweep is still computing


def _sweep_key(recipe: Recipe, param: Param, data_key: tuple[Any, ...]) -> tuple[Any, ...]:
    params = recipe.params()
    for f in _SWEPT_FIELDS[param]:
        params.pop(f, None)
    return (param, repr(sorted(params.items())), data_key)


def _whatif_job(
    state: TaskState, runner: WhatIfRunner, generation: int, recipe: Recipe, n: int
) -> PROutcome | None:
    """Replay, then the PR sweeps; each result is posted as soon as it is ready (``state.post``)."""
    db = runner.db
    t0 = time.perf_counter()
    items = recent_with_prob_maps(db, n)
    # ERROR rows have no map, so the query leaves them out; never replay one that has one either:
    # the part was not inspected, and no recipe can turn it into a pass (or count it as a flip).
    rows = [
        ReplayRow(it.row.id, it.row.verdict, it.prob_png)
        for it in items
        if it.row.verdict is not Verdict.ERROR
    ]
    flips = replay(rows, recipe, state)
    if state.cancelled():
        return None
    state.post(ReplayOutcome(generation, recipe, len(rows), flips, time.perf_counter() - t0))

    t1 = time.perf_counter()
    reviewed_items = recent_with_prob_maps(db, n, reviewed=True)
    reviewed = [
        ReviewedRow(it.row.id, it.prob_png, bool(truth_of(it.row.review)))
        for it in reviewed_items
        if truth_of(it.row.review) is not None and it.row.verdict is not Verdict.ERROR
    ]
    data_key = tuple((r.inspection_id, r.defective) for r in reviewed)
    out = PROutcome(generation, recipe, len(reviewed))
    for param in PARAMS:
        key = _sweep_key(recipe, param, data_key)
        points = runner.cached(key)
        if points is None:
            points = pr_curve(reviewed, param, runner.values, recipe, state)
            if state.cancelled():
                return None
            runner.store(key, points)
        # One post per curve: on large 512x512 sets a sweep takes seconds, and
        # the first curve is worth showing while the second computes.
        done = param == PARAMS[-1]
        out = dataclasses.replace(
            out, points={**out.points, param: points}, complete=done, seconds=time.perf_counter() - t1
        )
        state.post(out)
    return out


class WhatIfRunner(QObject):
    """Debounced replay + PR sweeps over the last ``n`` logged inspections."""

    replay_ready = Signal(ReplayOutcome)
    pr_ready = Signal(PROutcome)  # once per computed curve (complete=True on the last)
    failed = Signal(str)
    busy_changed = Signal(bool)

    def __init__(
        self, db: Any, n: int = 200, parent: QObject | None = None, debounce_ms: int = DEBOUNCE_MS
    ) -> None:
        super().__init__(parent)
        self.db = db
        self.n = n
        self.values = default_values()
        self.tasks = TaskRunner(self, "whatif")  # one "whatif" job at a time: a new one supersedes the old
        self._timer = QTimer(self, singleShot=True, interval=debounce_ms)
        self._timer.timeout.connect(self._start)
        self._recipe: Recipe | None = None
        self._generation = 0
        self._cache: OrderedDict[tuple[Any, ...], list[PRPoint]] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.last_replay: ReplayOutcome | None = None
        self.last_pr: PROutcome | None = None

    # cache access happens on the worker thread
    def cached(self, key: tuple[Any, ...]) -> list[PRPoint] | None:
        with self._cache_lock:
            return self._cache.get(key)

    def store(self, key: tuple[Any, ...], points: list[PRPoint]) -> None:
        with self._cache_lock:
            self._cache[key] = points
            while len(self._cache) > 32:
                self._cache.popitem(last=False)

    def request(self, recipe: Recipe, n: int | None = None) -> None:
        """Run for ``recipe`` once edits pause for the debounce interval."""
        self._recipe = recipe
        if n is not None:
            self.n = n
        # Stale from this moment: a result for the previous request that lands
        # while the timer runs must not be shown as if it were this one's.
        self.cancel()
        self._generation += 1
        self._timer.start()

    def run_now(self) -> None:
        """Skip the debounce (Refresh button, tests)."""
        self._timer.stop()
        self._start()

    def cancel(self) -> None:
        self._timer.stop()
        self.tasks.cancel("whatif")

    def wait(self, msecs: int = 30_000) -> bool:
        return self.tasks.wait(msecs / 1000)

    def _start(self) -> None:
        if self._recipe is None:
            return
        gen = self._generation
        self.busy_changed.emit(True)
        self.tasks.submit(
            "whatif",
            _whatif_job,
            self,
            gen,
            self._recipe,
            self.n,
            on_partial=self._on_partial,
            on_error=lambda message: self._on_failed(gen, message),
        )

    def _current(self, generation: int) -> bool:
        return generation == self._generation

    def _on_partial(self, out: ReplayOutcome | PROutcome) -> None:
        if isinstance(out, ReplayOutcome):
            self._on_replay(out)
        else:
            self._on_pr(out)

    def _on_replay(self, out: ReplayOutcome) -> None:
        if self._current(out.generation):
            self.last_replay = out
            self.replay_ready.emit(out)

    def _on_pr(self, out: PROutcome) -> None:
        if self._current(out.generation):
            self.last_pr = out
            if out.complete:
                self.busy_changed.emit(False)
            self.pr_ready.emit(out)

    def _on_failed(self, generation: int, message: str) -> None:
        if self._current(generation):
            self.busy_changed.emit(False)
            self.failed.emit(message)


class FlipsTable(QWidget):
    """Summary line + one row per flipped inspection; ``flip_selected(id)`` on click or arrow keys."""

    flip_selected = Signal(int)
    HEADERS = (
        QT_TRANSLATE_NOOP("FlipsTable", "ID"),
        QT_TRANSLATE_NOOP("FlipsTable", "Logged"),
        QT_TRANSLATE_NOOP("FlipsTable", "Would be"),
        QT_TRANSLATE_NOOP("FlipsTable", "Why"),
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel(self.tr("No replay yet"))
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, len(self.HEADERS))
        self.table.setHorizontalHeaderLabels([self.tr(h) for h in self.HEADERS])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.currentCellChanged.connect(self._on_current)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.summary)
        lay.addWidget(self.table, 1)
        self.flips: list[Flip] = []

    def show_outcome(self, out: ReplayOutcome) -> None:
        self.flips = out.flips
        if out.replayed == 0:
            text = self.tr("No logged inspections with a stored probability map to replay.")
        elif not out.flips:
            text = self.tr("Replayed {n}: no verdict would change.").format(n=out.replayed)
        else:
            kinds = ", ".join(f"{k} {v}" for k, v in out.counts.items())
            text = self.tr("Replayed {n}: {flips} would change ({kinds}).").format(
                n=out.replayed, flips=len(out.flips), kinds=kinds
            )
        self.summary.setText(text + f"  [{out.seconds * 1000:.0f} ms]")
        self.table.blockSignals(True)
        self.table.setRowCount(len(out.flips))
        for i, f in enumerate(out.flips):
            for j, text in enumerate((str(f.inspection_id), f.old.value, f.new.value, "; ".join(f.reasons))):
                self.table.setItem(i, j, QTableWidgetItem(text))
        self.table.blockSignals(False)

    def _on_current(self, row: int, _col: int, _prow: int, _pcol: int) -> None:
        if 0 <= row < len(self.flips):
            self.flip_selected.emit(self.flips[row].inspection_id)
