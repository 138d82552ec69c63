"""The inspection worker: model, source and DB writes on a QThread, signals out.

The UI thread never waits on the model or the DB. It talks to the worker in
two ways only: a queued signal to start a run, and :class:`RunControl`
(thread-safe flags) for pause / resume / step / stop, which take effect
between frames even while the worker is busy inside ``run_source``.

One long-lived thread, not one per run: the backend is built ON that thread
(CUDA contexts are per thread) and kept between runs, so a restart does not
reload the model.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from inspector.core.backends.base import BackendInfo
from inspector.core.model_card import ModelCard
from inspector.core.pipeline import Pipeline, RunSummary, run_source
from inspector.core.recipe import Recipe
from inspector.core.selftest import SelfTestReport, run_selftest
from inspector.core.sources.base import Source
from inspector.core.types import Frame, InspectionResult
from inspector.ui.run_state import RunState

if TYPE_CHECKING:
    from inspector.lineio.line import LineIO
    from inspector.services.station_db import RowContext

log = logging.getLogger(__name__)

SourceFactory = Callable[[], Source]
# A product's check of a frame before it is inspected: the reason to refuse the product, or None
# (inspector.services.products.FrameGuard). A refusal blocks the run: that part and every later one
# is logged as ERROR, nothing passes.
FrameCheck = Callable[[Frame], str | None]


def gui_threads() -> int:
    """Inference threads for the GUI: leave one core to the UI thread so it never stalls."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores - 1)


class RunControl:
    """The ``ProgressState`` handed to ``run_source``; the UI flips its flags from its own thread.

    Pause blocks inside ``progress()`` (called after every result, on the run's post-processing
    thread), so the frame in flight finishes and is shown, and no further result is shown until
    resume or step; the few frames already taken wait in the run's bounded queues.
    A run started paused shows exactly one result and waits: that is "single step".
    """

    def __init__(self, paused: bool = False) -> None:
        self._cond = threading.Condition()
        self._stop = False
        self._paused = paused
        self._steps = 0
        self.done = 0
        self.total: int | None = None

    # -- ProgressState (worker thread) ------------------------------------------------------
    def cancelled(self) -> bool:
        return self._stop

    def progress(self, done: int, total: int | None, message: str = "") -> None:
        self.done, self.total = done, total
        with self._cond:
            while self._paused and self._steps == 0 and not self._stop:
                self._cond.wait()
            if self._paused and self._steps > 0:
                self._steps -= 1

    # -- controls (any thread, never block) ---------------------------------------------------
    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        with self._cond:
            self._paused = True

    def resume(self) -> None:
        with self._cond:
            self._paused, self._steps = False, 0
            self._cond.notify_all()

    def step(self) -> None:
        with self._cond:
            self._paused = True
            self._steps += 1
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()


@dataclass(slots=True)
class RunRequest:
    """Everything one run needs; built on the UI thread, used on the worker thread."""

    open_source: SourceFactory  # called on the worker thread: opening a camera can block
    model_path: Path
    recipe: Recipe
    backend_kind: str = "auto"
    threads: int | None = None
    limit: int | None = None
    control: RunControl = field(default_factory=RunControl)
    skip_logged: bool = False  # skip parts already logged with the same content, model and recipe


class _StationPipeline(Pipeline):
    """The worker's pipeline: a recipe swapped in from the UI thread takes effect before the next
    part, on the worker thread, after the self-test has run with it (a failure blocks the station)."""

    def __init__(
        self, backend: Any, card: ModelCard, recipe: Recipe, selftest: Callable[[Pipeline], SelfTestReport]
    ) -> None:
        super().__init__(backend, card, recipe)
        self._selftest = selftest
        self._next_recipe: Recipe | None = None
        self._next_lock = threading.Lock()
        self.frame_check: FrameCheck | None = None
        self.on_refused: Callable[[str], None] | None = None
        self.refused: str | None = None  # why the product was refused (blocks, survives self-tests)

    def swap_recipe(self, recipe: Recipe) -> None:
        """Any thread: use ``recipe`` from the next part on."""
        with self._next_lock:
            self._next_recipe = recipe

    def admit(self, frame: Frame) -> None:
        with self._next_lock:
            recipe, self._next_recipe = self._next_recipe, None
        if recipe is not None:
            self.recipe = recipe
            self._selftest(self)
        if self.frame_check is not None and self.refused is None:
            why = self.frame_check(frame)
            if why is not None:
                self.refused = why
                if self.on_refused is not None:
                    self.on_refused(why)
        if self.refused is not None:  # logged as a blocked station's part: a rerun inspects it again
            self.blocked = self.refused


class InspectionWorker(QObject):
    """Lives on the worker thread. Signals are emitted from worker/writer threads (queued to the UI)."""

    result = Signal(InspectionResult)
    error = Signal(str)
    backend_ready = Signal(BackendInfo)
    started = Signal(str)  # the source's name
    logged = Signal(int)  # inspection id, after its commit
    finished = Signal(RunSummary)
    selftest_done = Signal(SelfTestReport)  # after every (cached) self-test of model + recipe
    refused = Signal(str)  # a frame did not fit the product (FrameCheck): the run is blocked

    def __init__(self, db: Any, station: str, archive_dir: Path | None = None) -> None:
        super().__init__()
        self._db = db
        self._station = station
        self._archive_dir = archive_dir
        self._backend: Any = None
        self._backend_key: tuple[object, ...] | None = None
        self._card: Any = None
        self._writer: Any = None
        self._pipeline: Pipeline | None = None
        self._lock = threading.Lock()
        self._selftests: dict[tuple[str, ...], SelfTestReport] = {}  # by model, golden, recipe, backend
        # set by the product controller (inspector.ui.line_control) while idle
        self._frame_check: FrameCheck | None = None
        self._line: LineIO | None = None  # committed verdicts out, triggers in
        self._row_context: RowContext | None = None  # product, lot and shift stamped on each row
        self._writer_fast = False

    # -- called from the UI thread (cheap, thread-safe) ---------------------------------------
    def set_recipe(self, recipe: Recipe) -> None:
        """Swap the recipe of the running pipeline between frames."""
        with self._lock:
            if self._writer is not None:
                self._writer.add_recipe(recipe)  # registered before any result can carry it
            if isinstance(self._pipeline, _StationPipeline):
                self._pipeline.swap_recipe(recipe)  # self-tested on the worker thread, before the next part
            elif self._pipeline is not None:
                self._pipeline.recipe = recipe

    def set_frame_check(self, check: FrameCheck | None) -> None:
        """The product's frame check, from the next run on."""
        with self._lock:
            self._frame_check = check

    def set_line(self, line: LineIO | None) -> None:
        """The LineIO the next runs send committed verdicts to (None: no line I/O). While idle."""
        with self._lock:
            self._line = line

    def set_row_context(self, context: RowContext) -> None:
        """Product, lot and shift schedule stamped on every row from now on."""
        with self._lock:
            self._row_context = context
            if self._writer is not None:
                self._writer.set_context(context)

    def flush_writer(self, timeout: float = 5.0) -> bool:
        """Wait (any thread but the UI's) until every submitted verdict is committed or failed."""
        writer = self._writer
        return writer.flush(timeout) if writer is not None else True

    def close_writer(self, timeout: float = 5.0) -> None:
        with self._lock:
            writer, self._writer = self._writer, None
            line, self._line = self._line, None
        if line is not None:  # waiting parts get their ERROR rows first, then the outputs close
            line.end_triggers()
        if writer is not None:
            writer.close(timeout)
        if line is not None:
            line.close(timeout)

    # -- worker thread -----------------------------------------------------------------------
    @Slot(object)
    def run(self, req: RunRequest) -> None:
        _yield_cpu_to_ui()
        summary = RunSummary()
        source: Source | None = None
        try:
            pipeline = self._prepare(req)
            source = req.open_source()
            self.started.emit(source.name)
            already_done = self._already_done(req, pipeline)
            line = self._line
            if line is not None:
                line.bind(self._writer.submit, pipeline.error_result)
                line.set_state(f"blocked: {pipeline.blocked}" if pipeline.blocked else "running")
                if line.triggered:  # a frame per part the line triggers; it always gets its verdict
                    line.open_triggers()
                    source, already_done = line.wrap_source(source), None
            summary = run_source(
                source,
                pipeline,
                self._sink,
                req.control,
                limit=req.limit,
                on_error=self._on_frame_error,
                already_done=already_done,
            )
        except (OSError, ValueError, RuntimeError) as exc:
            # Model, source and backend failures all name what is wrong: show them as they are.
            self.error.emit(str(exc))
        except Exception as exc:  # a bug must end the run, not the station
            log.exception("inspection run failed")
            self.error.emit(
                self.tr("inspection stopped by an unexpected error: {error}").format(error=repr(exc))
            )
        finally:
            if self._line is not None:  # parts still waiting get their ERROR rows (writer still open)
                self._line.end_triggers()
                self._line.set_state("stopped")
            if source is not None:
                try:
                    source.close()
                except Exception as exc:  # a dead camera may fail to close
                    log.warning("closing %s failed: %r", source.name, exc)
            with self._lock:
                self._pipeline = None
            summary.cancelled = summary.cancelled or req.control.cancelled()
            self.finished.emit(summary)

    @Slot()
    def release(self) -> None:
        """Free the backend on the thread that made it."""
        if self._backend is not None:
            self._backend.close()
        self._backend = self._backend_key = None
        self._selftests.clear()

    @Slot(object)
    def preload(self, req: RunRequest) -> None:
        """Load the model before the first Start, so the status bar shows the backend at once."""
        _yield_cpu_to_ui()
        try:
            self._load_backend(req)
            self._selftest(Pipeline(self._backend, self._card, req.recipe))
        except (OSError, ValueError, RuntimeError) as exc:
            self.error.emit(self.tr("the model could not be loaded: {error}").format(error=exc))

    @Slot(object)
    def check_recipe(self, recipe: Recipe) -> None:
        """Self-test a new recipe with the loaded model while idle (a run does it before its next
        part), so the live panel shows at once whether the station will pass parts."""
        with self._lock:
            running = self._pipeline is not None
        if self._backend is None or self._card is None or running:
            return
        try:
            self._selftest(Pipeline(self._backend, self._card, recipe))
        except ValueError as exc:
            self.error.emit(self.tr("self-test not run: {error}").format(error=exc))

    def _selftest(self, pipeline: Pipeline) -> SelfTestReport:
        """Run (or reuse) the golden-sample self-test for this model, recipe and backend; a failure
        blocks ``pipeline`` (every part a logged ERROR saying why). Worker thread only."""
        card, recipe = pipeline.card, pipeline.recipe
        key = (
            card.sha256,
            str([g.model_dump(mode="json") for g in card.golden]),
            str((card.model_extra or {}).get("card_sha_mismatch")),
            recipe.model_dump_json(),
            pipeline.backend.info().display,
        )
        report = self._selftests.get(key)
        if report is None:
            report = run_selftest(pipeline, recipe=recipe)
            self._selftests[key] = report
            log.info(
                "self-test of %s with recipe %s v%d: %s (%.0f ms)",
                card.name,
                recipe.name,
                recipe.version,
                "passed" if report.passed else report.reason,
                report.duration_s * 1e3,
            )
        pipeline.blocked = None if report.passed else report.reason
        self.selftest_done.emit(report)
        return report

    def _load_backend(self, req: RunRequest) -> None:
        from inspector.core.backends.select import select_backend
        from inspector.core.model_card import load_card, verify_card

        path = Path(req.model_path)
        stat = path.stat() if path.is_file() else None
        key = (str(path), stat.st_mtime_ns if stat else None, req.backend_kind, req.threads)
        if key != self._backend_key or self._backend is None:
            self.release()
            card = verify_card(load_card(path), path)  # names a missing model or a card for another one
            self._backend = select_backend(req.backend_kind, path, threads=req.threads)
            self._card, self._backend_key = card, key
            self.backend_ready.emit(self._backend.info())

    def _prepare(self, req: RunRequest) -> Pipeline:
        from inspector.services.station_db import preflight

        # before the first image (and at every Start: disks fill up): a read-only, locked or full
        # database or archive disk stops the run here, with the reason, not at the first commit
        preflight(self._db, self._archive_dir)
        self._load_backend(req)
        path = Path(req.model_path)
        writer = self._ensure_writer()
        writer.add_model(self._card, str(path))
        writer.add_recipe(req.recipe)
        pipeline = _StationPipeline(self._backend, self._card, req.recipe, self._selftest)
        pipeline.frame_check = self._frame_check

        def refused(why: str) -> None:  # the run stops after this part (its row is an ERROR), then says why
            req.control.stop()
            self.refused.emit(why)

        pipeline.on_refused = refused
        self._selftest(pipeline)
        with self._lock:
            self._pipeline = pipeline
        return pipeline

    def _ensure_writer(self) -> Any:
        from inspector.services.station_db import start_verdict_writer

        old = None
        with self._lock:
            fast = self._line is not None  # the line waits for the commit: commit within 20 ms
            if self._writer is not None and self._writer.alive and self._writer_fast != fast:
                old, self._writer = self._writer, None
        if old is not None:
            old.close(5.0)  # idle here (worker thread, before the run)
        with self._lock:
            if self._writer is None or not self._writer.alive:
                overlay = _archive_overlay()
                self._writer = start_verdict_writer(
                    self._db,
                    self._station,
                    archive_dir=self._archive_dir,
                    overlay=overlay,
                    context=self._row_context,
                    flush_interval_s=0.02 if fast else 0.2,
                )
                self._writer_fast = fast
            return self._writer

    def _sink(self, result: InspectionResult) -> None:
        writer = self._writer
        line = self._line
        if writer is not None:
            # submit() blocks only while the writer's queue is full (DB stalled): back-pressure
            # on this thread, never on the UI. With line I/O the hub gets the future now (order
            # kept) and sends the verdict once committed; None: a late verdict of an expired part.
            fut = writer.submit(result) if line is None else line.submit(result)
            if fut is not None:
                fut.add_done_callback(lambda f, key=result.frame.key: self._on_logged(f, key))
        self.result.emit(result)

    def _on_logged(self, fut: Future[int], key: str) -> None:
        # Runs on the writer thread; the signal is queued to the UI.
        exc = fut.exception()
        if exc is not None:
            self.error.emit(self.tr("verdict for {key} was NOT logged: {error}").format(key=key, error=exc))
        else:
            self.logged.emit(fut.result())

    def _on_frame_error(self, result: InspectionResult) -> None:
        # The part is logged as ERROR (a reject or review per the recipe); say so in the messages.
        self.error.emit(f"ERROR {result.frame.key}: {result.decision.reasons[0]}")

    def _already_done(self, req: RunRequest, pipeline: Pipeline) -> Callable[[Any], bool] | None:
        """Skip parts whose content was logged with this model and recipe (resume by identity)."""
        if not req.skip_logged:
            return None
        from inspector.services.station_db import already_logged

        return already_logged(
            self._db, self._station, pipeline.card.sha256, pipeline.recipe.name, pipeline.recipe.version
        )


_NICE_DONE: set[int] = set()
WORKER_NICENESS = 5


def _yield_cpu_to_ui() -> None:
    """Make this thread (and the prefetch/writer threads it starts, which inherit it) a little
    nicer than the UI thread: on a loaded machine the scheduler then runs the UI first.
    Linux nice values are per thread; elsewhere this does nothing."""
    if not hasattr(os, "setpriority") or os.environ.get("INSPECTOR_WORKER_NICE") == "0":
        return
    tid = threading.get_native_id()
    if tid in _NICE_DONE:
        return
    _NICE_DONE.add(tid)
    try:
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + WORKER_NICENESS)
    except OSError as exc:
        log.debug("cannot lower the worker's priority: %s", exc)


def _archive_overlay() -> Callable[[InspectionResult], Any] | None:
    try:
        from inspector.core.overlay import render_result
    except ImportError:  # archive the raw image only
        return None
    return render_result


class InspectionController(QObject):
    """The UI-side handle: owns the worker thread; no method blocks except ``shutdown``."""

    state_changed = Signal(str)  # a RunState (a StrEnum)
    _submit = Signal(RunRequest)
    _preload = Signal(RunRequest)
    _release = Signal()
    _check_recipe = Signal(Recipe)

    def __init__(
        self, db: Any, station: str, archive_dir: Path | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("inspection-worker")
        self.worker = InspectionWorker(db, station, archive_dir)
        self.worker.moveToThread(self.thread)
        self._submit.connect(self.worker.run)
        self._preload.connect(self.worker.preload)
        self._release.connect(self.worker.release)
        self._check_recipe.connect(self.worker.check_recipe)
        self.worker.finished.connect(self._on_finished)
        self._control: RunControl | None = None
        self._state = RunState.IDLE
        self.thread.start()

    @property
    def state(self) -> RunState:
        return self._state

    @property
    def control(self) -> RunControl | None:
        return self._control

    def is_active(self) -> bool:
        return self._state.active

    def start(self, req: RunRequest) -> bool:
        """Queue a run; False if one is already active (stop it first)."""
        if self.is_active():
            return False
        self._control = req.control
        self._set_state(RunState.PAUSED if req.control.paused else RunState.RUNNING)
        self._submit.emit(req)
        return True

    def preload(self, req: RunRequest) -> None:
        """Queue loading the backend for ``req``'s model (a later run reuses it)."""
        self._preload.emit(req)

    def pause(self) -> None:
        if self._control is not None and self._state is RunState.RUNNING:
            self._control.pause()
            self._set_state(RunState.PAUSED)

    def resume(self) -> None:
        if self._control is not None and self._state is RunState.PAUSED:
            self._control.resume()
            self._set_state(RunState.RUNNING)

    def step(self) -> None:
        if self._control is not None and self.is_active():
            self._control.step()
            self._set_state(RunState.PAUSED)

    def stop(self) -> None:
        if self._control is not None:
            self._control.stop()

    def set_recipe(self, recipe: Recipe) -> None:
        self.worker.set_recipe(recipe)
        self._check_recipe.emit(recipe)  # self-test it on the worker thread (cached)

    def shutdown(self, timeout_ms: int = 5000) -> None:
        """Stop the run, free the backend on its thread, flush the writer. Only at exit."""
        self.stop()
        self._release.emit()  # queued behind the run: runs once it has returned
        self.thread.quit()
        if not self.thread.wait(timeout_ms):
            log.warning("inspection thread did not stop within %d ms", timeout_ms)
        self.worker.close_writer(timeout_ms / 1000)

    def _on_finished(self, _summary: RunSummary) -> None:
        self._control = None
        self._set_state(RunState.IDLE)

    def _set_state(self, state: RunState) -> None:
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)
