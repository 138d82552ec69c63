"""Run a plain ``fn(state)`` function off the UI thread and hear back through signals.

For the short-to-medium jobs of the Trainer tab that touch the DB or files
(exporting reviewed inspections, scoring models for the gate): a Python thread,
not a child process, because they need no TensorFlow and share the station's
DB handle. ``fn`` gets a ProgressState (long work takes progress/cancel); signals are queued to
the UI thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)


class _State:
    def __init__(self, task: BackgroundTask) -> None:
        self._task = task
        self.cancel_event = threading.Event()

    def progress(self, done: int, total: int | None, message: str = "") -> None:
        self._task.progress.emit(int(done), int(total or 0), message)

    def cancelled(self) -> bool:
        return self.cancel_event.is_set()


class BackgroundTask(QObject):
    """One job at a time; ``succeeded(result)`` or ``failed(message)`` ends it."""

    progress = Signal(int, int, str)
    succeeded = Signal(object)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: threading.Thread | None = None
        self._state: _State | None = None
        # Cleared just before the ending signal is emitted: a slot reacting to
        # succeeded/failed must already see the task as finished (the thread
        # itself is still alive while it emits).
        self._active = False

    def is_running(self) -> bool:
        return self._active

    def start(self, fn: Callable[[Any], Any], name: str = "task") -> None:
        if self.is_running():
            raise RuntimeError("a background task is already running")
        state = self._state = _State(self)

        def run() -> None:
            try:
                result = fn(state)
            except (OSError, ValueError, LookupError, InterruptedError) as exc:
                # user-facing errors name the file / model and what is wrong
                self._active = False
                self.failed.emit(str(exc))
            except Exception as exc:  # a bug must end the task, not the station
                log.exception("%s failed", name)
                self._active = False
                self.failed.emit(f"{name} stopped by an unexpected error: {exc!r}")
            else:
                self._active = False
                self.succeeded.emit(result)

        self._active = True
        self._thread = threading.Thread(target=run, name=name, daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        if self._state is not None:
            self._state.cancel_event.set()

    def wait(self, timeout: float) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
        return self._thread is None or not self._thread.is_alive()
