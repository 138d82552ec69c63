"""Run a plain ``fn(state)`` function off the UI thread and hear back through signals.

For the short-to-medium jobs of the Trainer tab that touch the DB or files
(exporting reviewed inspections, scoring models for the gate): a job of the GUI task
runner (inspector.ui.tasks), not a child process, because they need no TensorFlow and
share the station's DB handle (the scoring itself runs ``python -m trainer`` children,
with a timeout). ``fn`` gets a ProgressState (long work takes progress/cancel); the
signals arrive on the UI thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from inspector.ui.tasks import USER_ERRORS, Job, TaskRunner, TaskState

log = logging.getLogger(__name__)


class BackgroundTask(QObject):
    """One job at a time; ``succeeded(result)`` or ``failed(message)`` ends it."""

    progress = Signal(int, int, str)
    succeeded = Signal(object)  # whatever the job function returned (each caller knows its type)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks = TaskRunner(self, "background-task")
        self._job: Job[Any] | None = None
        # Cleared just before the ending signal is emitted: a slot reacting to
        # succeeded/failed must already see the task as finished.
        self._active = False

    def is_running(self) -> bool:
        return self._active

    def start(self, fn: Callable[[Any], Any], name: str = "task") -> None:
        if self.is_running():
            raise RuntimeError("a background task is already running")

        def run(state: TaskState) -> Any:
            return fn(state)

        def done(result: Any) -> None:
            self._active = False
            self.succeeded.emit(result)

        def failed(message: str) -> None:
            self._active = False
            job = self._job
            error = job.error if job is not None else None
            if error is not None and not isinstance(error, USER_ERRORS):
                # a bug must end the task, not the station; user-facing errors name the file and what is wrong
                message = self.tr("{task} stopped by an unexpected error: {error}").format(task=name,
                                                                                         error=repr(error))
            self.failed.emit(message)

        self._active = True
        self._job = self._tasks.submit(name, run, on_done=done, on_error=failed,
                                       on_progress=self.progress.emit)

    def cancel(self) -> None:
        """Ask the job to stop (``state.cancelled()``); it still ends with succeeded or failed."""
        if self._job is not None:
            self._job.cancel(drop=False)

    def wait(self, timeout: float) -> bool:
        """Wait for the job (and deliver its ending signal when called on the UI thread)."""
        return self._tasks.wait(timeout)
