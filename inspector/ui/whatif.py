"""Qt glue for the what-if analysis: a debounced, cancellable background runner and the flips table.

Every edit restarts a short timer; when it fires, the running job (if any) is
cancelled and a new one starts on a private one-thread pool, so at most one
job computes and a stale result is never shown (each carries a generation
number). The replay result is posted first, the PR sweeps after it: the flip
count is what a QA engineer watches while dragging a value.

The sweeps are cached by "every parameter except the swept one": moving the
threshold leaves the threshold curve as it was (only the marker moves) and
recomputes only the level curve, and the other way round.
"""

from __future__ import annotations

import dataclasses
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from db import queries
from inspector.core.progress import SimpleState
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


class _Bridge(QObject):
    # Signals must live on a QObject; QRunnable is not one. Queued to the UI thread.
    replay_ready = Signal(object)
    pr_ready = Signal(object)
    failed = Signal(int, str)


class _Job(QRunnable):
    def __init__(
        self, runner: WhatIfRunner, generation: int, recipe: Recipe, n: int, state: SimpleState
    ) -> None:
        super().__init__()
        self.runner, self.generation, self.recipe, self.n, self.state = runner, generation, recipe, n, state

    def run(self) -> None:
        try:
            self._run()
        except Exception as exc:  # reported in the panel; the pool thread must survive
            self.runner.bridge.failed.emit(self.generation, f"{type(exc).__name__}: {exc}")

    def _run(self) -> None:
        db, st = self.runner.db, self.state
        t0 = time.perf_counter()
        items = queries.recent_with_prob_maps(db, self.n)
        # ERROR rows have no map, so the query leaves them out; never replay one that has one either:
        # the part was not inspected, and no recipe can turn it into a pass (or count it as a flip).
        rows = [
            ReplayRow(it.row.id, it.row.verdict, it.prob_png)
            for it in items
            if it.row.verdict is not Verdict.ERROR
        ]
        flips = replay(rows, self.recipe, st)
        if st.cancelled():
            return
        self.runner.bridge.replay_ready.emit(
            ReplayOutcome(self.generation, self.recipe, len(rows), flips, time.perf_counter() - t0)
        )

        t1 = time.perf_counter()
        reviewed_items = queries.recent_with_prob_maps(db, self.n, reviewed=True)
        reviewed = [
            ReviewedRow(it.row.id, it.prob_png, bool(truth_of(it.row.review)))
            for it in reviewed_items
            if truth_of(it.row.review) is not None and it.row.verdict is not Verdict.ERROR
        ]
        data_key = tuple((r.inspection_id, r.defective) for r in reviewed)
        out = PROutcome(self.generation, self.recipe, len(reviewed))
        for param in PARAMS:
            key = _sweep_key(self.recipe, param, data_key)
            points = self.runner.cached(key)
            if points is None:
                points = pr_curve(reviewed, param, self.runner.values, self.recipe, st)
                if st.cancelled():
                    return
                self.runner.store(key, points)
            # One emit per curve: on large 512x512 sets a sweep takes seconds, and
            # the first curve is worth showing while the second computes.
            done = param == PARAMS[-1]
            out = dataclasses.replace(
                out, points={**out.points, param: points}, complete=done, seconds=time.perf_counter() - t1
            )
            self.runner.bridge.pr_ready.emit(out)


class WhatIfRunner(QObject):
    """Debounced replay + PR sweeps over the last ``n`` logged inspections."""

    replay_ready = Signal(object)  # ReplayOutcome
    pr_ready = Signal(object)  # PROutcome, once per computed curve (complete=True on the last)
    failed = Signal(str)
    busy_changed = Signal(bool)

    def __init__(
        self, db: Any, n: int = 200, parent: QObject | None = None, debounce_ms: int = DEBOUNCE_MS
    ) -> None:
        super().__init__(parent)
        self.db = db
        self.n = n
        self.values = default_values()
        self.bridge = _Bridge()
        self.bridge.replay_ready.connect(self._on_replay, Qt.ConnectionType.QueuedConnection)
        self.bridge.pr_ready.connect(self._on_pr, Qt.ConnectionType.QueuedConnection)
        self.bridge.failed.connect(self._on_failed, Qt.ConnectionType.QueuedConnection)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # one job at a time; a new one cancels the old
        self._timer = QTimer(self, singleShot=True, interval=debounce_ms)
        self._timer.timeout.connect(self._start)
        self._recipe: Recipe | None = None
        self._generation = 0
        self._state: SimpleState | None = None
        self._cache: OrderedDict[tuple[Any, ...], list[PRPoint]] = OrderedDict()
        self.last_replay: ReplayOutcome | None = None
        self.last_pr: PROutcome | None = None

    # cache access happens on the worker thread; a dict get/set is atomic under the GIL
    def cached(self, key: tuple[Any, ...]) -> list[PRPoint] | None:
        return self._cache.get(key)

    def store(self, key: tuple[Any, ...], points: list[PRPoint]) -> None:
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
        if self._state is not None:
            self._state.cancel()

    def wait(self, msecs: int = 30_000) -> bool:
        return self._pool.waitForDone(msecs)

    def _start(self) -> None:
        if self._recipe is None:
            return
        if self._state is not None:
            self._state.cancel()
        self._state = SimpleState()
        self.busy_changed.emit(True)
        self._pool.start(_Job(self, self._generation, self._recipe, self.n, self._state))

    def _current(self, generation: int) -> bool:
        return generation == self._generation

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
    HEADERS = ("ID", "Logged", "Would be", "Why")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel("No replay yet")
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, len(self.HEADERS))
        self.table.setHorizontalHeaderLabels(list(self.HEADERS))
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
            text = "No logged inspections with a stored probability map to replay."
        elif not out.flips:
            text = f"Replayed {out.replayed}: no verdict would change."
        else:
            kinds = ", ".join(f"{k} {v}" for k, v in out.counts.items())
            text = f"Replayed {out.replayed}: {len(out.flips)} would change ({kinds})."
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
