"""Triggered inspection: a part id from the line pairs with the next frame, under a deadline.

The line (an OPC UA ``Trigger`` call, a Modbus trigger register) says "part P is at the
camera"; :class:`TriggerBoard` queues P with a deadline and :class:`TriggeredSource` yields
the next frame of the wrapped source keyed by P. A watchdog thread expires every part with
no committed verdict in time: the line gets a reject at once, and the part gets an ERROR
row (unless its own verdict is already being committed), so the line never waits forever
and no part goes unrecorded. A late verdict of an expired part is dropped (its row is the
ERROR), so every part keeps exactly one row.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from inspector.core.sources.base import Source, SourceStats, StopFn
from inspector.core.types import Frame, FrameError
from inspector.lineio.events import TriggerReply

log = logging.getLogger(__name__)

POLL_S = 0.05  # how often a waiting source re-checks stop()
TOMBSTONES_KEPT = 10_000  # expired parts whose late verdict may still come


class PartState(enum.Enum):
    QUEUED = "queued"  # triggered, waiting for its frame
    INSPECTING = "inspecting"  # its frame is in the pipeline
    SUBMITTED = "submitted"  # its verdict is being committed
    EXPIRED = "expired"  # the deadline passed first: the line got a reject


@dataclass(slots=True)
class Part:
    part_id: str
    origin: str  # "opcua", "modbus", ...
    deadline: float  # time.monotonic()
    triggered_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    t0: float = field(default_factory=time.monotonic)
    state: PartState = PartState.QUEUED
    expired_from: PartState | None = None
    settled: bool = False


# part, the state it expired in, why ("no committed verdict within 2 s of the trigger")
ExpiredFn = Callable[[Part, PartState, str], None]


class TriggerBoard:
    """Parts triggered by the line, from trigger to committed verdict (thread-safe)."""

    def __init__(self, deadline_s: float, on_expired: ExpiredFn | None = None) -> None:
        if not deadline_s > 0:
            raise ValueError(f"the line deadline must be more than 0 s, not {deadline_s}")
        self.deadline_s = float(deadline_s)
        self._on_expired = on_expired
        self._cond = threading.Condition()
        self._parts: OrderedDict[str, Part] = OrderedDict()  # active and expired-not-yet-settled
        self._queue: deque[Part] = deque()
        self._closed = False
        self.triggered = 0
        self.expired = 0
        self.late = 0  # verdicts that came after their part's deadline (dropped)
        self._watchdog = threading.Thread(target=self._watch, name="line-deadline", daemon=True)
        self._watchdog.start()

    def reopen(self) -> None:
        """Take triggers again after ``close`` (the next run of a station that stays up)."""
        if self._watchdog.is_alive():  # it ends once it sees the board closed
            self._watchdog.join(timeout=2)
        with self._cond:
            if not self._closed:
                return
            self._closed = False
            self._queue.clear()
            self._watchdog = threading.Thread(target=self._watch, name="line-deadline", daemon=True)
            self._watchdog.start()

    @property
    def closed(self) -> bool:
        return self._closed

    def set_on_expired(self, on_expired: ExpiredFn) -> None:
        self._on_expired = on_expired

    # -- the line's side ---------------------------------------------------
    def trigger(self, part_id: str, origin: str) -> TriggerReply:
        with self._cond:
            if self._closed:
                return TriggerReply(False, "the station is stopped: part not inspected")
            known = self._parts.get(part_id)
            if known is not None and known.state is not PartState.EXPIRED:
                return TriggerReply(False, f"part {part_id!r} is already waiting for its verdict")
            part = Part(part_id, origin, deadline=time.monotonic() + self.deadline_s)
            self._parts[part_id] = part
            self._parts.move_to_end(part_id)
            self._queue.append(part)
            self.triggered += 1
            self._cond.notify_all()
        return TriggerReply(True, f"part {part_id!r} queued; verdict within {self.deadline_s:g} s")

    def is_pending(self, part_id: str) -> bool:
        with self._cond:
            part = self._parts.get(part_id)
            return part is not None and part.state is not PartState.EXPIRED

    def pending(self) -> int:
        with self._cond:
            return sum(p.state is not PartState.EXPIRED for p in self._parts.values())

    # -- the source's side ---------------------------------------------------
    def next_part(self, timeout: float) -> Part | None:
        """The oldest part still waiting for a frame, or None after ``timeout``."""
        end = time.monotonic() + timeout
        with self._cond:
            while True:
                while self._queue and self._queue[0].state is not PartState.QUEUED:
                    self._queue.popleft()  # expired while queued: its ERROR row is logged already
                if self._queue:
                    return self._queue.popleft()
                left = end - time.monotonic()
                if left <= 0 or self._closed:
                    return None
                self._cond.wait(left)

    def begin(self, part: Part) -> bool:
        """Its frame goes to the pipeline now; False when the part expired meanwhile."""
        with self._cond:
            if part.state is not PartState.QUEUED:
                return False
            part.state = PartState.INSPECTING
            return True

    # -- the sink's and the hub's side ----------------------------------------
    def claim(self, key: str) -> bool:
        """The verdict for ``key`` is about to be submitted; False when its part expired (its
        ERROR row is the part's one row, so this late verdict must not be logged)."""
        with self._cond:
            part = self._parts.get(key)
            if part is None:
                return True  # not a triggered part
            if part.state is PartState.EXPIRED:
                if part.expired_from is PartState.INSPECTING:
                    part.expired_from = None  # this was the late verdict it waited for
                    if part.settled:
                        self._parts.pop(key, None)
                self.late += 1
                return False
            part.state = PartState.SUBMITTED
            return True

    def settle(self, key: str) -> bool:
        """The verdict for ``key`` goes to the line now; True when the line already got its
        answer (a reject at the deadline)."""
        with self._cond:
            part = self._parts.get(key)
            if part is None:
                return False
            expired = part.state is PartState.EXPIRED
            part.settled = True
            # an expired part whose frame was in the pipeline waits for its late verdict (claim)
            if not (expired and part.expired_from is PartState.INSPECTING):
                self._parts.pop(key, None)
            self._trim()
            return expired

    def _trim(self) -> None:
        while len(self._parts) > TOMBSTONES_KEPT:
            oldest = next(iter(self._parts.values()))
            if oldest.state is not PartState.EXPIRED:
                break
            self._parts.popitem(last=False)

    # -- deadlines ---------------------------------------------------------
    def _watch(self) -> None:
        while True:
            with self._cond:
                if self._closed:
                    return
                now = time.monotonic()
                due = [
                    p for p in self._parts.values() if p.state is not PartState.EXPIRED and p.deadline <= now
                ]
                for p in due:
                    p.expired_from, p.state = p.state, PartState.EXPIRED
                    self.expired += 1
                if not due:
                    nxt = min(
                        (p.deadline for p in self._parts.values() if p.state is not PartState.EXPIRED),
                        default=now + 1.0,
                    )
                    self._cond.wait(min(max(nxt - now, 0.001), 1.0))
                    continue
            reason = f"no committed verdict within {self.deadline_s:g} s of the trigger"
            for p in due:
                self._expired(p, reason)

    def _expired(self, part: Part, reason: str) -> None:
        was = part.expired_from or PartState.QUEUED
        log.warning("line: part %s: %s (it was %s)", part.part_id, reason, was.value)
        if self._on_expired is not None:
            try:
                self._on_expired(part, was, reason)
            except Exception:
                log.exception("line: handling the expired part %s failed", part.part_id)

    def close(self, reason: str = "the station stopped before this part's verdict") -> None:
        """No more triggers; every part still waiting expires now (reject + ERROR row)."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            due = [p for p in self._parts.values() if p.state is not PartState.EXPIRED]
            for p in due:
                p.expired_from, p.state = p.state, PartState.EXPIRED
                self.expired += 1
            self._cond.notify_all()
        for p in due:
            self._expired(p, reason)
        if self._watchdog.is_alive() and threading.current_thread() is not self._watchdog:
            self._watchdog.join(timeout=2)


class TriggeredSource:
    """Wraps any Source: yields a frame only for a trigger, keyed by the part id.

    A non-live source (folder, video, demo) gives its next frame in order; a live source
    (camera) the newest frame taken at or after the trigger. A part whose frame cannot be had
    (the source ended, the camera is gone) gets a FrameError, so an ERROR row. A frame taken
    for a part that expired meanwhile goes to the next part (non-live) or is dropped (live).
    The run ends when the wrapped source has ended and no part is waiting, or on stop().
    """

    live = True  # not prefetched: a frame is taken only when a part asks for it

    def __init__(self, source: Source, board: TriggerBoard) -> None:
        self.source = source
        self.board = board
        self.name = f"{source.name}, triggered by the line"
        self._dropped = 0

    def frames(self, stop: StopFn) -> Iterator[Frame | FrameError]:
        inner: Iterator[Frame | FrameError] | None = None
        held: Frame | FrameError | None = None
        ended = False
        try:
            while not stop():
                part = self.board.next_part(POLL_S)
                if part is None:
                    if (ended and held is None) or self.board.closed:
                        return
                    continue
                t0 = time.perf_counter()
                item, held = held, None
                if item is None and not ended:
                    if inner is None:
                        inner = self.source.frames(stop)
                    item = self._take(inner, part, stop)
                    ended = item is None
                if item is None:
                    if stop():
                        return  # the board expires the part (ERROR row) when the station stops
                    item = FrameError(
                        key=part.part_id,
                        source=self.source.name,
                        message="no frame for this trigger: the source has ended",
                    )
                if not self.board.begin(part):  # expired while its frame was coming
                    if self.source.live:
                        self._dropped += 1
                    else:
                        held = item  # the next part's frame
                    continue
                yield _rekey(item, part.part_id, (time.perf_counter() - t0) * 1e3)
        finally:
            close = getattr(inner, "close", None)
            if close is not None:
                close()

    def _take(
        self, inner: Iterator[Frame | FrameError], part: Part, stop: StopFn
    ) -> Frame | FrameError | None:
        while True:
            try:
                item = next(inner)
            except StopIteration:
                return None
            if (
                self.source.live
                and isinstance(item, Frame)
                and item.captured_at < part.triggered_at
                and part.state is PartState.QUEUED
                and not stop()
            ):
                self._dropped += 1  # taken before the trigger: not this part's image
                continue
            return item

    def stats(self) -> SourceStats:
        s = self.source.stats()
        return replace(s, total=None, dropped=s.dropped + self._dropped)

    def close(self) -> None:
        self.source.close()


def _rekey(item: Frame | FrameError, part_id: str, wait_ms: float) -> Frame | FrameError:
    if isinstance(item, FrameError):
        return replace(item, key=part_id)
    read_ms = item.read_ms if item.read_ms is not None else wait_ms
    return replace(item, key=part_id, read_ms=read_ms)
