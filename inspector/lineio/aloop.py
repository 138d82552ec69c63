"""An asyncio event loop on a background thread (the OPC UA and Modbus servers live there)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class LoopThread:
    """``start(coro)`` runs ``coro`` as the loop's main task (it should return soon after
    ``stopping`` is set); ``call(coro)`` runs another coroutine there from any thread and waits
    (bounded) for its result."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._main: Future[Any] | None = None
        self.stopping = asyncio.Event()  # the main task returns once this is set

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            try:
                pending = asyncio.all_tasks(self.loop)
                for task in pending:
                    task.cancel()
                if pending:
                    self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            finally:
                self.loop.close()

    def start(self, main: Coroutine[Any, Any, Any]) -> None:
        self._thread.start()
        self._main = asyncio.run_coroutine_threadsafe(main, self.loop)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run ``coro`` on the loop; raises TimeoutError when it takes longer than ``timeout``."""
        if not self._thread.is_alive() or self.loop.is_closed():
            coro.close()
            raise RuntimeError(f"{self.name}: the loop is not running")
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return fut.result(timeout)
        except TimeoutError:
            fut.cancel()
            raise

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the main task to end (``stopping``), let it clean up, stop the loop, join."""
        if not self._thread.is_alive():
            return
        if self._main is not None:
            self.loop.call_soon_threadsafe(self.stopping.set)
            try:
                self._main.result(timeout)
            except BaseException as exc:  # its own failure, or it took too long
                log.debug("%s: main task ended: %r", self.name, exc)
                self._main.cancel()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)
