"""The GUI's one way to run database and file work off the UI thread.

A job is a plain function ``fn(state, *args)``, like the pipeline's long functions:
``state`` is a :class:`TaskState` (the ``ProgressState`` protocol: ``progress(done, total,
message)`` and ``cancelled()``, plus ``post(value)`` for partial results). It runs on the
process-wide pool of :data:`MAX_WORKERS` threads; its result, error, progress and partial
results come back to the UI thread through a queued signal of the :class:`TaskRunner` that
submitted it, and the callbacks given to :meth:`TaskRunner.submit` run there.

Every job carries a *tag* ("history-detail", "rules-view", ...). A newer job with the same
tag supersedes the older one: the older one is asked to stop (``state.cancelled()``), is
skipped if it has not started, and its result is dropped, so a slow answer to an old
question never overwrites the answer to the new one. Jobs submitted with
``supersede=False`` (writes: a review, a recipe version, an audit event) are never dropped.

A job may name a *lane*: jobs of one lane run one at a time, in the order they were
submitted, across every runner of the process. All GUI writes use :data:`WRITE_LANE`, so
reviews, recipe versions and audit events reach the database in the order the user made
them, and a locked database holds up one pool thread, not all of them.

Each panel owns its own runner (a child QObject): when the panel goes away its pending
callbacks go with it, while the threads are shared. ``wait()`` blocks until the runner's
jobs are done and then delivers their results at once (shutdown and tests; never the UI
thread's normal path).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QObject, QThread, Signal

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_WORKERS = 8  # threads mostly wait on the database or the disk; CPU work is short
WRITE_LANE = "db-write"  # every GUI write to the database, in submission order

_ids = itertools.count(1)
_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(MAX_WORKERS, thread_name_prefix="ui-task")
        return _pool


class _Lanes:
    """Process-wide serial queues: at most one job of a lane runs at a time, in FIFO order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._busy: set[str] = set()
        self._waiting: dict[str, deque[Job[Any]]] = {}

    def start(self, job: Job[Any]) -> None:
        lane = job.lane
        if lane is None:
            job.runner_submit()
            return
        with self._lock:
            if lane in self._busy:
                self._waiting.setdefault(lane, deque()).append(job)
                return
            self._busy.add(lane)
        job.runner_submit()

    def finished(self, lane: str | None) -> None:
        if lane is None:
            return
        with self._lock:
            queue = self._waiting.get(lane)
            nxt = queue.popleft() if queue else None
            if nxt is None:
                self._busy.discard(lane)
                return
        nxt.runner_submit()


_lanes = _Lanes()


# Errors a user must read: they name the file or record and what is wrong. Anything else is a bug.
USER_ERRORS: tuple[type[BaseException], ...] = (OSError, ValueError, LookupError, InterruptedError)


def user_message(exc: BaseException) -> str:
    """What the message area shows for a failed job: a user error as it is, a bug with its type."""
    if isinstance(exc, USER_ERRORS):
        return str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {exc}"


class _Kind(Enum):
    PROGRESS = "progress"
    PARTIAL = "partial"
    DONE = "done"
    ERROR = "error"
    SKIPPED = "skipped"


@dataclass(slots=True)
class _Outcome:
    kind: _Kind
    job: Job[Any]
    value: Any = None
    progress: tuple[int, int, str] = (0, 0, "")


class TaskState:
    """The ``ProgressState`` a job function gets; thread-safe."""

    def __init__(self, job: Job[Any]) -> None:
        self._job = job

    def progress(self, done: int, total: int | None, message: str = "") -> None:
        if self._job.on_progress is None:  # nobody listens: no traffic to the UI thread
            return
        done_total = (int(done), int(total or 0), message)
        self._job.post_outcome(_Outcome(_Kind.PROGRESS, self._job, progress=done_total))

    def cancelled(self) -> bool:
        return self._job.cancelled()

    def post(self, value: Any) -> None:
        """Hand a partial result to the job's ``on_partial`` callback (dropped when stale)."""
        self._job.post_outcome(_Outcome(_Kind.PARTIAL, self._job, value))


@dataclass(eq=False)
class Job(Generic[T]):
    """One submitted function call. ``result()`` waits on the calling thread (tests, shutdown)."""

    runner: TaskRunner
    tag: str
    fn: Callable[..., T]
    args: tuple[Any, ...]
    lane: str | None
    supersede: bool
    on_done: Callable[[T], None] | None = None
    on_error: Callable[[str], None] | None = None
    on_progress: Callable[[int, int, str], None] | None = None
    on_partial: Callable[[Any], None] | None = None
    id: int = field(default_factory=lambda: next(_ids))
    submitted_at: float = field(default_factory=time.perf_counter)
    future: Future[T] = field(default_factory=Future)
    error: BaseException | None = None
    dropped: bool = False  # its result is not wanted any more (superseded, cancelled with drop)
    _cancel: threading.Event = field(default_factory=threading.Event)

    def cancel(self, drop: bool = True) -> None:
        """Ask the job to stop (``state.cancelled()`` turns True). ``drop``: its result is not
        delivered either, and it is skipped if it has not started; without ``drop`` it still
        ends with its ``on_done``/``on_error``. Writes already made stay made."""
        if drop:
            self.dropped = True
        self._cancel.set()

    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def done(self) -> bool:
        return self.future.done()

    def result(self, timeout: float | None = None) -> T:
        return self.future.result(timeout)

    # -- used by the runner ------------------------------------------------------------------
    def runner_submit(self) -> None:
        try:
            _executor().submit(self.runner._execute, self)
        except RuntimeError:  # interpreter shutting down: the pool takes no more work
            self.runner._finish(self, _Outcome(_Kind.SKIPPED, self))

    def post_outcome(self, outcome: _Outcome) -> None:
        self.runner._post(outcome)


class TaskRunner(QObject):
    """Submits jobs to the shared pool and calls their callbacks on this object's (UI) thread."""

    _wake = Signal()

    def __init__(self, parent: QObject | None = None, name: str = "tasks") -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self._lock = threading.Condition()
        self._outbox: deque[_Outcome] = deque()
        self._latest: dict[str, int] = {}  # tag -> id of the newest job with that tag
        self._jobs: dict[int, Job[Any]] = {}  # submitted, not yet delivered
        self._unfinished = 0  # submitted, not yet finished on the worker side
        self._wake_pending = False
        self._closed = False
        self.dropped = 0  # stale results dropped (tests and the benchmark read it)
        self._wake.connect(self.deliver)  # queued: the signal is emitted on worker threads

    # -- submitting ---------------------------------------------------------------------------
    def submit(
        self,
        tag: str,
        fn: Callable[..., T],
        *args: Any,
        on_done: Callable[[T], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        on_progress: Callable[[int, int, str], None] | None = None,
        on_partial: Callable[[Any], None] | None = None,
        lane: str | None = None,
        supersede: bool = True,
    ) -> Job[T]:
        """Run ``fn(state, *args)`` off the UI thread.

        ``supersede`` (default): this job makes older jobs with the same ``tag`` stale
        (cancelled, results dropped). ``lane``: run after the earlier jobs of that lane.
        """
        job: Job[T] = Job(self, tag, fn, args, lane, supersede, on_done, on_error, on_progress, on_partial)
        with self._lock:
            if self._closed:  # shutting down: a callback asked for more work; nobody will see it
                log.debug("task %s not run: runner %s is closed", tag, self.objectName())
                job.cancel(drop=True)
                job.future.cancel()
                return job
            if supersede:
                old = self._latest.get(tag)
                if old is not None and old in self._jobs:
                    self._jobs[old].cancel()
                self._latest[tag] = job.id
            self._jobs[job.id] = job
            self._unfinished += 1
        _lanes.start(job)
        return job

    def cancel(self, tag: str | None = None) -> None:
        """Cancel (and drop the results of) the pending jobs with ``tag``, or all of them."""
        with self._lock:
            for job in self._jobs.values():
                if tag is None or job.tag == tag:
                    job.cancel()

    def is_current(self, job: Job[Any]) -> bool:
        """False once a newer job with the same tag was submitted, or the job was dropped."""
        if job.dropped:
            return False
        return not job.supersede or self._latest.get(job.tag) == job.id

    def pending(self, tag: str | None = None) -> int:
        """Jobs submitted and not yet delivered (all, or those with ``tag``)."""
        with self._lock:
            return sum(1 for j in self._jobs.values() if tag is None or j.tag == tag)

    def busy(self, tag: str | None = None) -> bool:
        return self.pending(tag) > 0

    # -- worker side ----------------------------------------------------------------------------
    def _execute(self, job: Job[Any]) -> None:
        if job.dropped:
            self._finish(job, _Outcome(_Kind.SKIPPED, job))
            return
        try:
            value = job.fn(TaskState(job), *job.args)
        except BaseException as exc:  # reported on the UI thread; the pool thread must survive
            job.error = exc
            if not isinstance(exc, USER_ERRORS):
                log.error("task %s failed", job.tag, exc_info=exc)
            job.future.set_exception(exc)
            self._finish(job, _Outcome(_Kind.ERROR, job, exc))
            return
        job.future.set_result(value)
        self._finish(job, _Outcome(_Kind.DONE, job, value))

    def _finish(self, job: Job[Any], outcome: _Outcome) -> None:
        if outcome.kind is _Kind.SKIPPED and not job.future.done():
            job.future.cancel()
            job.future.set_running_or_notify_cancel()
        self._post(outcome)
        _lanes.finished(job.lane)
        with self._lock:
            self._unfinished -= 1
            self._lock.notify_all()

    def _post(self, outcome: _Outcome) -> None:
        with self._lock:
            self._outbox.append(outcome)
            if self._wake_pending:  # one wake-up delivers everything queued until then
                return
        self._post_wake()

    def _post_wake(self) -> None:
        with self._lock:
            self._wake_pending = True
        # RuntimeError: the runner (and the panel that owned it) is gone: nobody to tell
        with contextlib.suppress(RuntimeError):
            self._wake.emit()

    # -- UI side --------------------------------------------------------------------------------
    def deliver(self) -> None:
        """Run the callbacks of everything that came back (called on the runner's thread)."""
        while True:
            with self._lock:
                self._wake_pending = False
                if not self._outbox:
                    return
                outcome = self._outbox.popleft()
                job = outcome.job
                current = self.is_current(job)
                if outcome.kind in (_Kind.DONE, _Kind.ERROR, _Kind.SKIPPED):
                    self._jobs.pop(job.id, None)
                    if self._latest.get(job.tag) == job.id:
                        del self._latest[job.tag]
            if outcome.kind is _Kind.SKIPPED:
                continue
            if not current:
                if outcome.kind in (_Kind.DONE, _Kind.ERROR):
                    self.dropped += 1
                continue
            try:
                self._call(outcome)
            except BaseException:
                self._post_wake()  # what is still queued is delivered on the next turn of the loop
                raise

    def _call(self, outcome: _Outcome) -> None:
        job = outcome.job
        if outcome.kind is _Kind.PROGRESS:
            if job.on_progress is not None:
                job.on_progress(*outcome.progress)
        elif outcome.kind is _Kind.PARTIAL:
            if job.on_partial is not None:
                job.on_partial(outcome.value)
        elif outcome.kind is _Kind.DONE:
            if job.on_done is not None:
                job.on_done(outcome.value)
        elif job.on_error is not None:
            job.on_error(user_message(outcome.value))
        else:
            log.error("task %s failed: %s", job.tag, user_message(outcome.value))

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every job of this runner has finished, then deliver the results when
        called on the runner's thread. False on timeout. Shutdown and tests only."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while self._unfinished > 0:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._lock.wait(left)
        if QThread.currentThread() is self.thread():
            self.deliver()
        return True

    def close(self, wait: bool = True, timeout: float | None = None) -> bool:
        """Take no more jobs; with ``wait``, let the submitted ones finish (and deliver them)."""
        with self._lock:
            self._closed = True
        return self.wait(timeout) if wait else True
