"""LineIO: the station's one object for line I/O (hub, outputs, triggers, deadlines).

Wiring, wherever verdicts are submitted to the writer (the CLI does exactly this)::

    line = LineIO(station, triggered=True, deadline_s=2.0)
    line.add(OpcUaOutput(4840, triggers=line))
    source = line.wrap_source(source)            # TriggeredSource when triggered
    line.bind(writer.submit, pipeline.error_result)
    line.start()
    sink = lambda result: line.submit(result)    # claim -> writer.submit -> hub.track
    ...
    line.end_triggers()                          # before writer.close(): waiting parts get ERROR rows
    writer.close(); line.close()
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from inspector.core.sources.base import Source
from inspector.core.types import FrameError, InspectionResult, Verdict
from inspector.lineio.events import (
    ConnectionStatus,
    EventKind,
    LineOutput,
    TriggerReply,
    VerdictEvent,
)
from inspector.lineio.hub import LineHub, not_logged
from inspector.lineio.triggers import Part, PartState, TriggerBoard, TriggeredSource

log = logging.getLogger(__name__)

DEFAULT_DEADLINE_S = 2.0
MAX_PART_ID = 200  # characters: a serial number or a counter, not a document
SubmitFn = Callable[[InspectionResult], "Future[int]"]
# Pipeline.error_result(item, message, stage): an ERROR result with the model and recipe
ErrorResultFn = Callable[[FrameError, str, str], InspectionResult]


class LineIO:
    """Committed verdicts out to every output; triggers in (when ``triggered``)."""

    def __init__(
        self, station: str, *, triggered: bool = False, deadline_s: float = DEFAULT_DEADLINE_S
    ) -> None:
        self.station = station
        self.board = TriggerBoard(deadline_s, self._expired) if triggered else None
        self.hub = LineHub(station, settle=self.board.settle if self.board is not None else None)
        self._submit: SubmitFn | None = None
        self._error_result: ErrorResultFn | None = None
        self._rows: queue.Queue[tuple[Part, str] | threading.Event | None] = queue.Queue()
        self._logger = threading.Thread(target=self._log_rows, name="line-deadline-rows", daemon=True)
        self._logger.start()
        self._state = "starting"
        self._product = ""
        self.refused = 0
        self.deadline_rows = 0  # ERROR rows submitted for parts past their deadline
        self.late_verdicts: Counter[str] = Counter()  # dropped late verdicts, by verdict
        self._closed = False

    @property
    def triggered(self) -> bool:
        return self.board is not None

    @property
    def deadline_s(self) -> float | None:
        return self.board.deadline_s if self.board is not None else None

    def add(self, output: LineOutput) -> LineOutput:
        self.hub.add(output)
        return output

    @property
    def outputs(self) -> list[LineOutput]:
        return self.hub.outputs

    def bind(self, submit: SubmitFn, error_result: ErrorResultFn) -> None:
        """Where rows go (the writer's ``submit``) and how an ERROR row is made (the pipeline's)."""
        self._submit, self._error_result = submit, error_result

    def start(self) -> None:
        self.hub.start()

    def wrap_source(self, source: Source) -> Source:
        return TriggeredSource(source, self.board) if self.board is not None else source

    # -- verdicts ------------------------------------------------------------
    def submit(self, result: InspectionResult) -> Future[int] | None:
        """Submit ``result`` to the writer and send it to the line once committed.

        None when the result is the late verdict of a part that already expired: that part's
        one row is its ERROR "deadline" row (logged when it expired), so this one is dropped.
        """
        if self._submit is None:
            raise RuntimeError("LineIO.bind(submit, error_result) was not called")
        if self.board is not None and not self.board.claim(result.frame.key):
            log.warning(
                "line: %s came after the part's deadline (was %s): dropped, the part is logged as ERROR",
                result.frame.key,
                result.decision.verdict.value,
            )
            self.late_verdicts[result.decision.verdict.value] += 1
            return None
        fut = self._submit(result)
        self.hub.track(result, fut)
        return fut

    def track(self, result: InspectionResult, future: Future[int]) -> None:
        """Send a result submitted elsewhere once its commit settles (the GUI worker's path)."""
        self.hub.track(result, future)

    def publish_summary(self, summary: dict[str, object]) -> None:
        self.hub.publish_summary(summary)

    def set_state(self, state: str, product: str | None = None) -> None:
        """Station state for the line ("running", "blocked: ...", "stopped") and product."""
        self._state = state
        if product is not None:
            self._product = product
        self.hub.set_station(self._state, self._product)

    # -- triggers ------------------------------------------------------------
    def trigger(self, part_id: str, origin: str) -> TriggerReply:
        """A part from the line (called on a server's thread)."""
        part_id = part_id.strip()
        if not part_id:
            return TriggerReply(False, "empty part id")
        if len(part_id) > MAX_PART_ID:
            return TriggerReply(False, f"part id longer than {MAX_PART_ID} characters")
        if self.board is None:
            return TriggerReply(False, "the station is not in triggered mode (inspect --triggered)")
        reply = self.board.trigger(part_id, origin)
        if not reply.accepted and self.board.closed:
            # the line must not wait: a reject now (there is no run left to log a row in)
            self.refused += 1
            self.hub.publish(
                VerdictEvent(
                    part_id,
                    Verdict.ERROR,
                    (f"not inspected: {reply.message}",),
                    self.station,
                    kind=EventKind.REFUSED,
                )
            )
        return reply

    def is_pending(self, part_id: str) -> bool:
        return self.board is not None and self.board.is_pending(part_id)

    def _expired(self, part: Part, was: PartState, reason: str) -> None:
        # the reject first (the line must not wait for the database), then the part's row
        self.hub.publish(
            VerdictEvent(
                part.part_id, Verdict.ERROR, (f"deadline: {reason}",), self.station, kind=EventKind.DEADLINE
            )
        )
        if was in (PartState.QUEUED, PartState.INSPECTING):
            self._rows.put((part, reason))
        # SUBMITTED: its own verdict is being committed; that row is the part's one row

    def _log_rows(self) -> None:
        while (job := self._rows.get()) is not None:
            if isinstance(job, threading.Event):  # end_triggers waits for the rows before it
                job.set()
                continue
            part, reason = job
            try:
                self._log_row(part, reason)
            except Exception:
                log.exception("line: logging the ERROR row of part %s failed", part.part_id)

    def _log_row(self, part: Part, reason: str) -> None:
        item = FrameError(key=part.part_id, source=f"line trigger ({part.origin})", message=reason)
        if self._submit is None or self._error_result is None:
            self._row_lost(part, "no verdict writer is bound")
            return
        result = self._error_result(item, reason, "deadline")
        try:
            fut = self._submit(result)
        except Exception as exc:  # the writer is closed: the reject went out, the row cannot
            self._row_lost(part, str(exc) or type(exc).__name__)
            return
        self.deadline_rows += 1
        self.hub.track(result, fut)

    def _row_lost(self, part: Part, why: str) -> None:
        log.error("line: part %s: its ERROR row cannot be logged: %s", part.part_id, why)
        if self.board is not None:
            self.board.settle(part.part_id)
        event = VerdictEvent(part.part_id, Verdict.ERROR, ("deadline",), self.station, repeat=True)
        self.hub.publish(not_logged(event, why))

    # -- status and shutdown -----------------------------------------------------
    def status(self) -> list[ConnectionStatus]:
        return self.hub.status()

    def describe(self) -> str:
        """One line for a status bar or a log: every output's state."""
        return " · ".join(s.line() for s in self.status()) or "no line outputs"

    def stats(self) -> LineStats:
        b = self.board
        return LineStats(
            published=self.hub.published,
            triggered=b.triggered if b else 0,
            expired=b.expired if b else 0,
            late=b.late if b else 0,
            refused=self.refused,
        )

    def open_triggers(self) -> None:
        """Take triggers again after ``end_triggers`` (a GUI station starting its next run)."""
        if self.board is not None:
            self.board.reopen()

    def end_triggers(self, timeout: float = 10.0) -> None:
        """No more triggers; parts still waiting expire now and their ERROR rows are submitted
        (call before the writer closes)."""
        if self.board is not None:
            self.board.close()
        if not self._logger.is_alive():
            return
        done = threading.Event()
        self._rows.put(done)
        done.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Send what is queued (up to ``timeout``) and close every output. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self.end_triggers(timeout)
        self.hub.close(timeout)
        self._rows.put(None)
        self._logger.join(timeout)


@dataclass(frozen=True, slots=True)
class LineStats:
    published: int  # verdict events sent to the outputs
    triggered: int  # parts the line triggered
    expired: int  # parts that got no committed verdict in time (reject + ERROR row)
    late: int  # verdicts that came after their part expired (dropped)
    refused: int  # triggers after the station stopped (reject, no row)
