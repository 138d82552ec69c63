"""Progress/cancel state passed to long-running functions (Qt-free)."""

from __future__ import annotations

import threading
from typing import Protocol


class ProgressState(Protocol):
    def progress(self, done: int, total: int | None, message: str = "") -> None: ...

    def cancelled(self) -> bool: ...


class SimpleState:
    """A thread-safe state for CLIs and tests: records progress, cancel via ``cancel()``."""

    def __init__(self) -> None:
        self._cancel = threading.Event()
        self.done = 0
        self.total: int | None = None
        self.message = ""

    def progress(self, done: int, total: int | None, message: str = "") -> None:
        self.done, self.total, self.message = done, total, message

    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        self._cancel.set()
