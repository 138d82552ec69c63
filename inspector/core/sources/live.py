"""Newest-frame-wins grabbing with reconnect, shared by OpenCV cameras and GenICam.

A grabber thread reads the device as fast as it delivers, so the driver's own
buffer never fills with stale images; the consumer always gets the newest frame,
and every frame overwritten before it was taken is counted as dropped.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Protocol

import numpy as np

from inspector.core.sources.base import StatsCounter, StopFn
from inspector.core.types import Frame, FrameError

log = logging.getLogger(__name__)

# How often a waiting consumer re-checks stop(): bounds how long stop takes.
_POLL_S = 0.05


class SourceLost(Exception):
    """The device stopped delivering (unplugged, stream ended, read failed): reconnect."""


class FrameReader(Protocol):
    def read(self) -> np.ndarray | None:
        """The next image; None when none arrived yet (a trigger timeout); raise SourceLost when gone."""
        ...

    def close(self) -> None: ...


OpenFn = Callable[[], FrameReader]  # raises (any Exception) when the device cannot be opened


def backoff_delays(initial: float, maximum: float) -> Iterator[float]:
    """0.5, 1, 2, 4, 8, 10, 10, ... for the defaults: retry fast, then stop hammering the device."""
    delay = initial
    while True:
        yield delay
        delay = min(delay * 2, maximum)


class LiveGrabber:
    """Runs ``open_fn().read()`` on a thread; hands the newest image to ``frames()``.

    On a failed open or read it queues ONE FrameError per outage, releases the
    device, and (if ``reconnect``) retries with exponential back-off until it is
    back. Without ``reconnect`` the first outage ends the stream.
    """

    def __init__(
        self,
        name: str,
        key_prefix: str,
        open_fn: OpenFn,
        stats: StatsCounter,
        reconnect: bool = True,
        backoff_s: tuple[float, float] = (0.5, 10.0),
    ) -> None:
        self.name = name
        self._key_prefix = key_prefix
        self._open = open_fn
        self._stats = stats
        self._reconnect = reconnect
        self._backoff = backoff_s
        self._cond = threading.Condition()
        self._halt = threading.Event()  # set by stop(): wakes back-off sleeps at once
        self._newest: Frame | None = None
        # Errors (and the frame just before one) must not be overwritten: they queue.
        self._queued: collections.deque[Frame | FrameError] = collections.deque()
        self._finished = False
        self._thread: threading.Thread | None = None
        self._seq = 0

    # -- consumer side -------------------------------------------------------------------
    def frames(self, stop: StopFn) -> Iterator[Frame | FrameError]:
        self._start()
        try:
            while not stop():
                item = self._take()
                if item is not None:
                    yield self._stats.count(item)
                elif self._done():
                    return
        finally:
            # A consumer that walks away (break, limit, GC) must not leave the camera streaming.
            self.stop()

    def _take(self) -> Frame | FrameError | None:
        with self._cond:
            if not (self._queued or self._newest or self._finished):
                self._cond.wait(_POLL_S)
            if self._queued:
                return self._queued.popleft()
            item, self._newest = self._newest, None
            return item

    def _done(self) -> bool:
        with self._cond:
            return self._finished and not self._queued and self._newest is None

    def _start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._halt.clear()
        with self._cond:
            self._finished = False
        self._thread = threading.Thread(target=self._run, name=f"grab {self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._halt.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            # A driver blocked inside read() cannot be interrupted; the thread is a
            # daemon, so after the timeout we let it finish on its own.
            thread.join(timeout)

    # -- grabber thread ----------------------------------------------------------------------
    def _run(self) -> None:
        delays = backoff_delays(*self._backoff)
        reader: FrameReader | None = None
        in_outage = False
        was_connected = False
        try:
            while not self._halt.is_set():
                if reader is None:
                    try:
                        reader = self._open()
                    except Exception as exc:  # any driver failure means "not there"
                        if not self._outage(in_outage, f"{self.name} unavailable ({exc})", delays):
                            return
                        in_outage = True
                        continue
                    if was_connected and in_outage:
                        self._stats.add(reconnects=1)
                        log.info("%s reconnected", self.name)
                    was_connected, in_outage = True, False
                    delays = backoff_delays(*self._backoff)  # a fresh outage starts fast again
                try:
                    image = reader.read()
                except SourceLost as exc:
                    reader = self._release(reader)
                    if not self._outage(in_outage, f"{self.name} lost ({exc})", delays):
                        return
                    in_outage = True
                    continue
                except Exception as exc:  # e.g. a pixel format we cannot convert
                    # Reconnecting would not fix a bug or an unsupported format: report and end.
                    log.exception("%s failed", self.name)
                    self._post_error(f"{self.name} failed: {exc}")
                    return
                if image is not None:
                    self._publish(image)
        finally:
            self._release(reader)
            with self._cond:
                self._finished = True
                self._cond.notify_all()

    def _outage(self, already_reported: bool, what: str, delays: Iterator[float]) -> bool:
        """Report an outage once, then sleep the back-off. False: give up (no reconnect / stopped)."""
        if not self._reconnect:
            self._post_error(f"{what}; not reconnecting")
            return False
        delay = next(delays)
        if not already_reported:
            self._post_error(f"{what}; reconnecting in {delay:.1f} s")
        log.warning("%s; retry in %.1f s", what, delay)
        return not self._halt.wait(delay)

    def _publish(self, image: np.ndarray) -> None:
        frame = Frame(
            key=f"{self._key_prefix}#{self._seq}",
            image=image,
            source=self.name,
            captured_at=datetime.now(UTC),
            seq=self._seq,
        )
        self._seq += 1
        with self._cond:
            if self._newest is not None:
                self._stats.add(dropped=1)
            self._newest = frame
            self._cond.notify_all()

    def _post_error(self, message: str) -> None:
        with self._cond:
            # Keep the order the consumer would have seen: the last good frame, then the error.
            err = FrameError(key=f"{self._key_prefix}#{self._seq}", source=self.name, message=message)
            if self._newest is not None:
                self._queued.append(self._newest)
                self._newest = None
            self._queued.append(err)
            self._cond.notify_all()

    def _release(self, reader: FrameReader | None) -> None:
        if reader is not None:
            try:
                reader.close()
            except Exception:  # a vanished device often fails to close, too
                log.debug("%s: close failed", self.name, exc_info=True)
        return None
