"""What the station tells the line, and the one small interface every line output implements.

Verdict events are built from COMMITTED verdicts (the writer's future resolved with the
inspection id), so the log and the line never disagree. Two uncommitted kinds exist, both
rejects: a verdict whose commit failed ("not logged") and a trigger that got no committed
verdict before its deadline ("deadline"); the line must never wait, and never pass a part
the log does not have.
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from inspector.core.types import InspectionResult, Verdict

RESULTS_KEPT = 1000  # part results a server keeps for "Result(part id)" look-ups


class EventKind(enum.StrEnum):
    VERDICT = "verdict"  # committed: the row exists (inspection_id set)
    NOT_LOGGED = "not_logged"  # the commit failed: sent as ERROR so the line rejects the part
    DEADLINE = "deadline"  # no committed verdict in time: a reject now; its ERROR row follows
    REFUSED = "refused"  # a trigger the station could not take (stopped): a reject, no row


@dataclass(frozen=True, slots=True)
class VerdictEvent:
    """One part's verdict for the line (small: no image, no map)."""

    part_id: str  # the frame key: the part id for triggered parts, the source key otherwise
    verdict: Verdict
    reasons: tuple[str, ...]
    station: str
    model_sha256: str = ""
    recipe_name: str = ""
    recipe_version: int = 0
    inspected_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    inspection_id: int | None = None  # the committed row; None when not (yet) logged
    kind: EventKind = EventKind.VERDICT
    # the line already had this part's answer (a deadline reject): line outputs keep that answer
    repeat: bool = False

    @property
    def logged(self) -> bool:
        return self.inspection_id is not None

    @property
    def reject(self) -> bool:
        """Whether the line must take the part out (everything but a committed OK)."""
        return self.verdict is not Verdict.OK or self.kind is not EventKind.VERDICT

    @classmethod
    def from_result(cls, result: InspectionResult, station: str) -> VerdictEvent:
        return cls(
            part_id=result.frame.key,
            verdict=Verdict(result.decision.verdict),
            reasons=tuple(str(r) for r in result.decision.reasons),
            station=station,
            model_sha256=result.model_sha256,
            recipe_name=result.recipe_name,
            recipe_version=result.recipe_version,
            inspected_at=result.inspected_at,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "part_id": self.part_id,
            "key": self.part_id,
            "verdict": self.verdict.value,
            "reasons": list(self.reasons),
            "station": self.station,
            "model_sha256": self.model_sha256,
            "recipe": {"name": self.recipe_name, "version": self.recipe_version},
            "inspected_at": self.inspected_at.isoformat(),
            "inspection_id": self.inspection_id,
            "logged": self.logged,
            "kind": self.kind.value,
        }


@dataclass(frozen=True, slots=True)
class StationEvent:
    """Station state ("starting", "running", "blocked: ...", "stopped") and current product."""

    state: str
    product: str


@dataclass(frozen=True, slots=True)
class SummaryEvent:
    """A lot (or run) summary for MES/dashboards; line servers ignore it."""

    summary: dict[str, Any]


LineEvent = VerdictEvent | StationEvent | SummaryEvent


class LinkState(enum.StrEnum):
    STARTING = "starting"
    UP = "up"  # server listening / client connected
    DOWN = "down"  # retrying with back-off
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class ConnectionStatus:
    """What a status bar shows for one output."""

    name: str  # "OPC UA opc.tcp://0.0.0.0:4840", "Modbus TCP :5020", "MQTT broker:1883"
    state: LinkState
    detail: str = ""  # the last error, or "2 clients"
    clients: int | None = None  # servers: connected clients
    sent: int = 0  # events delivered
    buffered: int = 0  # waiting for a connection (MQTT)
    dropped: int = 0  # dropped because a buffer was full (oldest first)

    def line(self) -> str:
        parts = [f"{self.name}: {self.state.value}"]
        if self.detail:
            parts.append(self.detail)
        if self.buffered:
            parts.append(f"{self.buffered} buffered")
        if self.dropped:
            parts.append(f"{self.dropped} dropped")
        return ", ".join(parts)


@runtime_checkable
class LineOutput(Protocol):
    """One line output. ``publish`` is called on the hub's own thread for this output, in order;
    it may take a while (a slow peer) but must not block forever, and never raises for a peer
    that is away (it buffers or drops and says so in ``status``)."""

    name: str

    def start(self) -> None: ...

    def publish(self, event: LineEvent) -> None: ...

    def status(self) -> ConnectionStatus: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class TriggerReply:
    accepted: bool
    message: str


class TriggerSink(Protocol):
    """What a server that takes triggers talks to (the station's LineIO)."""

    @property
    def triggered(self) -> bool: ...

    def trigger(self, part_id: str, origin: str) -> TriggerReply: ...

    def is_pending(self, part_id: str) -> bool: ...


VERDICT_CODES = {Verdict.OK: 1, Verdict.NG: 2, Verdict.REVIEW: 3, Verdict.ERROR: 4}


class LineLedger:
    """What a line server shows: counters, the last verdict and recent results by part id.

    One answer per part: an event marked ``repeat`` (the committed row of a part the line
    already rejected at its deadline) only adds the inspection id to that answer.
    """

    def __init__(self, kept: int = RESULTS_KEPT) -> None:
        self.counts: dict[str, int] = {v.value: 0 for v in Verdict}
        self.last: VerdictEvent | None = None
        self.seq = 0  # answers given
        self.state = "starting"
        self.product = ""
        self._results: OrderedDict[str, VerdictEvent] = OrderedDict()
        self._kept = kept

    def apply(self, event: VerdictEvent) -> bool:
        """Record ``event``; True when it is a new answer for the line (counters moved)."""
        known = self._results.get(event.part_id)
        if event.repeat and known is not None:
            if known.verdict is event.verdict and event.logged:
                self._results[event.part_id] = replace(known, inspection_id=event.inspection_id)
            return False
        self._results[event.part_id] = event
        self._results.move_to_end(event.part_id)
        while len(self._results) > self._kept:
            self._results.popitem(last=False)
        self.counts[event.verdict.value] += 1
        self.last = event
        self.seq += 1
        return True

    def result(self, part_id: str) -> VerdictEvent | None:
        return self._results.get(part_id)
