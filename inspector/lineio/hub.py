"""LineHub: fans each committed verdict out to every line output, each on its own thread.

``track(result, future)`` is called where the result is handed to the verdict writer; the
event goes out when the writer's future resolves (after the commit), in submission order.
A commit that failed goes out as ERROR "not logged" so the line rejects the part. Every
output has its own bounded queue and thread, so a slow or dead peer never blocks
inspection, the writer or the other outputs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import replace

from inspector.core.types import InspectionResult, Verdict
from inspector.lineio.events import (
    ConnectionStatus,
    EventKind,
    LineEvent,
    LineOutput,
    LinkState,
    StationEvent,
    SummaryEvent,
    VerdictEvent,
)

log = logging.getLogger(__name__)

LANE_CAPACITY = 10_000  # events waiting for one output; beyond that the oldest are dropped
SettleFn = Callable[[str], bool]  # part id -> True when the line already had its answer


def not_logged(event: VerdictEvent, error: BaseException | str) -> VerdictEvent:
    """``event`` as the reject the line gets when its commit failed."""
    message = error if isinstance(error, str) else (str(error) or type(error).__name__)
    return replace(
        event,
        verdict=Verdict.ERROR,
        kind=EventKind.NOT_LOGGED,
        inspection_id=None,
        reasons=(f"not logged: {message[:300]}", f"inspected as {event.verdict.value}"),
    )


class _Lane:
    """One output's queue and thread: events are handed over in order, one at a time."""

    def __init__(self, output: LineOutput, capacity: int) -> None:
        self.output = output
        self._q: deque[LineEvent] = deque()
        self._capacity = max(1, capacity)
        self._cond = threading.Condition()
        self._busy = False
        self._closing = False
        self.dropped = 0
        self.errors = 0
        self._thread = threading.Thread(target=self._run, name=f"line-{output.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def put(self, event: LineEvent) -> None:
        with self._cond:
            if len(self._q) >= self._capacity:
                self._q.popleft()
                self.dropped += 1
            self._q.append(event)
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._q and not self._closing:
                    self._cond.wait()
                if not self._q:
                    return
                event = self._q.popleft()
                self._busy = True
            try:
                self.output.publish(event)
            except Exception as exc:  # a peer's trouble never ends the lane
                self.errors += 1
                log.warning("line output %s: %s", self.output.name, exc)
                log.debug("line output %s failure", self.output.name, exc_info=True)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def drain(self, timeout: float) -> bool:
        end = time.monotonic() + timeout
        with self._cond:
            while self._q or self._busy:
                left = end - time.monotonic()
                if left <= 0 or not self._thread.is_alive():
                    return False
                self._cond.wait(left)
        return True

    def close(self, timeout: float) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)


class LineHub:
    """Committed verdicts (and station state, summaries) to every output, in order."""

    def __init__(
        self,
        station: str,
        outputs: Iterable[LineOutput] = (),
        *,
        settle: SettleFn | None = None,
        lane_capacity: int = LANE_CAPACITY,
    ) -> None:
        self.station = station
        self._settle = settle
        self._capacity = lane_capacity
        self._lanes: list[_Lane] = []
        self._lock = threading.Condition()
        self._next_in = 0  # sequence numbers in submission order
        self._next_out = 0
        self._ready: dict[int, VerdictEvent] = {}
        self._started = False
        self._closed = False
        self._last_station: StationEvent | None = None
        self.published = 0
        for output in outputs:
            self.add(output)

    @property
    def outputs(self) -> list[LineOutput]:
        return [lane.output for lane in self._lanes]

    def add(self, output: LineOutput) -> None:
        lane = _Lane(output, self._capacity)
        with self._lock:
            self._lanes.append(lane)
            if self._last_station is not None:
                lane.put(self._last_station)
        if self._started:
            output.start()
            lane.start()

    def start(self) -> None:
        """Start every output (servers bind, clients connect in the background) and its lane."""
        if self._started:
            return
        self._started = True
        for lane in list(self._lanes):
            try:
                lane.output.start()
            except Exception as exc:  # reported by its status; the others go on
                log.warning("line output %s did not start: %s", lane.output.name, exc)
            lane.start()

    # -- producer side (pipeline thread, writer thread) ------------------
    def track(self, result: InspectionResult, future: Future[int]) -> None:
        """Send ``result`` once ``future`` (the writer's) has settled: committed, or not logged."""
        event = VerdictEvent.from_result(result, self.station)  # small: the result is not kept
        with self._lock:
            seq = self._next_in
            self._next_in += 1
        future.add_done_callback(lambda fut: self._settled(seq, event, fut))

    def _settled(self, seq: int, event: VerdictEvent, fut: Future[int]) -> None:
        if fut.cancelled():
            done = not_logged(event, "the write was cancelled")
        elif (exc := fut.exception()) is not None:
            done = not_logged(event, exc)
        else:
            done = replace(event, inspection_id=int(fut.result()))
        with self._lock:
            self._ready[seq] = done
            while self._next_out in self._ready:  # in submission order, whatever order commits end
                ready = self._ready.pop(self._next_out)
                self._next_out += 1
                if self._settle is not None and self._settle(ready.part_id):
                    ready = replace(ready, repeat=True)
                self._fan_out(ready)
            self._lock.notify_all()

    def publish(self, event: LineEvent) -> None:
        """Send ``event`` now (deadline rejects, station state, summaries)."""
        with self._lock:
            if isinstance(event, StationEvent):
                self._last_station = event
            self._fan_out(event)

    def publish_summary(self, summary: dict[str, object]) -> None:
        self.publish(SummaryEvent(dict(summary)))

    def set_station(self, state: str, product: str = "") -> None:
        self.publish(StationEvent(state, product))

    def _fan_out(self, event: LineEvent) -> None:
        if self._closed:
            log.debug("line hub closed: %s not sent", event)
            return
        if isinstance(event, VerdictEvent):
            self.published += 1
        for lane in self._lanes:
            lane.put(event)

    # -- observers --------------------------------------------------------
    def status(self) -> list[ConnectionStatus]:
        out = []
        for lane in list(self._lanes):
            try:
                s = lane.output.status()
            except Exception as exc:
                s = ConnectionStatus(lane.output.name, state=LinkState.DOWN, detail=f"status failed: {exc}")
            out.append(replace(s, dropped=s.dropped + lane.dropped) if lane.dropped else s)
        return out

    @property
    def in_flight(self) -> int:
        """Verdicts handed over whose commit has not settled yet (or wait for an earlier one)."""
        with self._lock:
            return self._next_in - self._next_out

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every tracked verdict is sent to the outputs' lanes and the lanes are empty."""
        end = time.monotonic() + timeout
        with self._lock:
            while self._next_out < self._next_in:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
        return all(lane.drain(max(0.0, end - time.monotonic())) for lane in list(self._lanes))

    def close(self, timeout: float = 5.0) -> None:
        """Hand over what is queued (up to ``timeout``), then close every output. Idempotent."""
        if self._closed:
            return
        self.flush(timeout)
        with self._lock:
            self._closed = True
        for lane in list(self._lanes):
            lane.close(timeout)
            try:
                lane.output.close()
            except Exception as exc:
                log.warning("line output %s: close failed: %s", lane.output.name, exc)
