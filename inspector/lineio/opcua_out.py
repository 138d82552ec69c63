"""OPC UA server (asyncua) for the line: station state, last verdict, counters, trigger handshake.

Address space (namespace ``urn:defect-inspector:line``, string node ids ``Station.<name>``),
described for PLC programmers in docs/line_io.md:

- variables: State, Product, StationName, Triggered, DeadlineS, LastPartId, LastVerdict,
  LastReasons (String[]), LastInspectionId (Int64, -1: not logged), LastLogged, LastReject,
  LastInspectedAt, CountOK, CountNG, CountREVIEW, CountERROR and VerdictSeq (written last:
  when it changes, the Last* values belong to that answer);
- methods: ``Trigger(PartId) -> (Accepted, Message)`` and
  ``Result(PartId) -> (Status "done"|"pending"|"unknown", Verdict, Reasons, InspectionId, Reject)``.

The server runs on its own asyncio loop thread; it (re)binds with back-off and a client that
hangs or vanishes never reaches the pipeline: events are applied on the server's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from datetime import UTC, datetime
from typing import Any

from inspector.core.sources.live import backoff_delays
from inspector.lineio.aloop import LoopThread
from inspector.lineio.events import (
    ConnectionStatus,
    LineEvent,
    LineLedger,
    LinkState,
    StationEvent,
    TriggerSink,
    VerdictEvent,
)

log = logging.getLogger(__name__)

NAMESPACE = "urn:defect-inspector:line"
APPLY_TIMEOUT_S = 5.0
_VERDICTS = ("OK", "NG", "REVIEW", "ERROR")


class OpcUaOutput:
    """An OPC UA server on ``host:port`` fed by the hub (one lane thread calls ``publish``)."""

    def __init__(
        self,
        port: int,
        *,
        host: str = "0.0.0.0",
        triggers: TriggerSink | None = None,
        station: str = "",
        retry: tuple[float, float] = (0.5, 10.0),
    ) -> None:
        self.host, self.port = host, int(port)
        self.endpoint = f"opc.tcp://{host}:{self.port}/defect-inspector/"
        self.name = f"OPC UA {self.endpoint}"
        self.triggers = triggers
        self.station = station
        self._retry = retry
        self.ledger = LineLedger()  # touched only on the server's loop
        self._awaiting: set[str] = set()  # parts triggered here whose answer is not applied yet
        self._loop = LoopThread("opcua-server")
        self._server: Any = None
        self._nodes: dict[str, Any] = {}
        self._ns = 0
        self._lock = threading.Lock()
        self._state = LinkState.STARTING
        self._detail = ""
        self._sent = 0
        self.started = threading.Event()  # set once the server listens (tests, CLI start-up)

    # -- LineOutput ----------------------------------------------------------
    def start(self) -> None:
        _quiet_asyncua()
        self._loop.start(self._main())

    def publish(self, event: LineEvent) -> None:
        if isinstance(event, VerdictEvent | StationEvent):
            self._loop.call(self._apply(event), APPLY_TIMEOUT_S)

    def status(self) -> ConnectionStatus:
        clients = None
        bserver = getattr(self._server, "bserver", None)
        if bserver is not None and self._state is LinkState.UP:
            clients = len(getattr(bserver, "clients", ()))
        with self._lock:
            detail = self._detail if self._state is not LinkState.UP else f"{clients or 0} clients"
            return ConnectionStatus(self.name, self._state, detail, clients=clients, sent=self._sent)

    def close(self) -> None:
        self._loop.stop()
        self._set(LinkState.CLOSED, "")

    # -- server loop ----------------------------------------------------------
    def _set(self, state: LinkState, detail: str) -> None:
        with self._lock:
            self._state, self._detail = state, detail

    async def _main(self) -> None:
        delays = backoff_delays(*self._retry)
        stopping = self._loop.stopping
        while not stopping.is_set():
            server = None
            try:
                server = await self._build()
                await server.start()
                self._server = server
                self._set(LinkState.UP, "")
                self.started.set()
                log.info("OPC UA server listening on %s", self.endpoint)
                delays = backoff_delays(*self._retry)
                await stopping.wait()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # port busy, bad host...: said in the status, retried
                delay = next(delays)
                self._set(LinkState.DOWN, f"{exc or type(exc).__name__}; retry in {delay:g} s")
                log.warning("OPC UA server on %s: %s (retry in %g s)", self.endpoint, exc, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), delay)
            finally:
                self._server = None
                self._nodes = {}
                if server is not None:
                    try:
                        await server.stop()
                    except Exception as exc:
                        log.debug("OPC UA server stop: %r", exc)

    async def _build(self) -> Any:
        from asyncua import Server, ua

        server = Server()
        await server.init()
        server.set_endpoint(self.endpoint)
        server.set_server_name("Defect Inspector station")
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        ns = self._ns = await server.register_namespace(NAMESPACE)
        station = await server.nodes.objects.add_object(
            ua.NodeId("Station", ns), ua.QualifiedName("Station", ns)
        )
        led = self.ledger
        last = led.last
        String, Boolean = ua.VariantType.String, ua.VariantType.Boolean
        UInt32, Double = ua.VariantType.UInt32, ua.VariantType.Double
        deadline = getattr(self.triggers, "deadline_s", None)
        initial: dict[str, tuple[Any, Any]] = {
            "State": (led.state, String),
            "Product": (led.product, String),
            "StationName": (self.station, String),
            "Triggered": (bool(self.triggers is not None and self.triggers.triggered), Boolean),
            "DeadlineS": (float(deadline or 0.0), Double),
            **_last_values(last, ua),
            **{f"Count{v}": (led.counts[v], UInt32) for v in _VERDICTS},
            "VerdictSeq": (led.seq, UInt32),
        }
        for name, (value, vtype) in initial.items():
            self._nodes[name] = await station.add_variable(
                ua.NodeId(f"Station.{name}", ns), ua.QualifiedName(name, ns), ua.Variant(value, vtype)
            )

        def arg(name: str, type_id: int, rank: int = -1) -> Any:
            return ua.Argument(Name=name, DataType=ua.NodeId(type_id), ValueRank=rank)

        s, b, i = ua.ObjectIds.String, ua.ObjectIds.Boolean, ua.ObjectIds.Int64
        await station.add_method(
            ua.NodeId("Station.Trigger", ns),
            ua.QualifiedName("Trigger", ns),
            self._trigger,
            [arg("PartId", s)],
            [arg("Accepted", b), arg("Message", s)],
        )
        await station.add_method(
            ua.NodeId("Station.Result", ns),
            ua.QualifiedName("Result", ns),
            self._result,
            [arg("PartId", s)],
            [
                arg("Status", s),
                arg("Verdict", s),
                arg("Reasons", s, 1),
                arg("InspectionId", i),
                arg("Reject", b),
            ],
        )
        return server

    # -- methods (run on the server's loop) -----------------------------------
    async def _trigger(self, _parent: Any, part: Any) -> list[Any]:
        from asyncua import ua

        part_id = str(getattr(part, "Value", part) or "")
        if self.triggers is None:
            accepted, message = False, "this station takes no triggers"
        else:
            # thread-safe and quick (a refusal only queues its reject on the hub's lanes)
            reply = self.triggers.trigger(part_id, "opcua")
            accepted, message = reply.accepted, reply.message
            if accepted:
                self._awaiting.add(part_id)
        return [ua.Variant(accepted, ua.VariantType.Boolean), ua.Variant(message, ua.VariantType.String)]

    async def _result(self, _parent: Any, part: Any) -> list[Any]:
        from asyncua import ua

        part_id = str(getattr(part, "Value", part) or "")
        event = self.ledger.result(part_id)
        # pending until this server shows the answer (the board lets go of it a little earlier)
        pending = part_id in self._awaiting or (
            self.triggers is not None and self.triggers.is_pending(part_id)
        )
        if event is not None and not pending:
            status, verdict, reasons = "done", event.verdict.value, list(event.reasons)
            ins_id = event.inspection_id if event.inspection_id is not None else -1
            reject = event.reject
        else:
            status = "pending" if pending else "unknown"
            verdict, reasons, ins_id, reject = "", [], -1, False
        return [
            ua.Variant(status, ua.VariantType.String),
            ua.Variant(verdict, ua.VariantType.String),
            ua.Variant(reasons, ua.VariantType.String),
            ua.Variant(ins_id, ua.VariantType.Int64),
            ua.Variant(reject, ua.VariantType.Boolean),
        ]

    # -- events (applied on the server's loop) ---------------------------------
    async def _apply(self, event: VerdictEvent | StationEvent) -> None:
        from asyncua import ua

        led = self.ledger
        if isinstance(event, StationEvent):
            led.state, led.product = event.state, event.product
            await self._write(
                {"State": (led.state, ua.VariantType.String), "Product": (led.product, ua.VariantType.String)}
            )
            return
        if not led.apply(event):
            return  # the committed row of a part already answered (a deadline reject)
        self._awaiting.discard(event.part_id)
        values = {
            **_last_values(event, ua),
            f"Count{event.verdict.value}": (led.counts[event.verdict.value], ua.VariantType.UInt32),
        }
        await self._write(values)
        await self._write({"VerdictSeq": (led.seq, ua.VariantType.UInt32)})  # last: "a new answer"
        with self._lock:
            self._sent += 1

    async def _write(self, values: dict[str, tuple[Any, Any]]) -> None:
        from asyncua import ua

        if not self._nodes:
            return  # not listening now: the ledger keeps the values for the next start
        for name, (value, vtype) in values.items():
            await self._nodes[name].write_value(ua.Variant(value, vtype))


def _last_values(event: VerdictEvent | None, ua: Any) -> dict[str, tuple[Any, Any]]:
    String, Boolean, Int64 = ua.VariantType.String, ua.VariantType.Boolean, ua.VariantType.Int64
    if event is None:
        return {
            "LastPartId": ("", String),
            "LastVerdict": ("", String),
            "LastReasons": ([], String),
            "LastInspectionId": (-1, Int64),
            "LastLogged": (False, Boolean),
            "LastReject": (False, Boolean),
            "LastInspectedAt": (datetime(1970, 1, 1, tzinfo=UTC), ua.VariantType.DateTime),
        }
    return {
        "LastPartId": (event.part_id, String),
        "LastVerdict": (event.verdict.value, String),
        "LastReasons": (list(event.reasons), String),
        "LastInspectionId": (event.inspection_id if event.inspection_id is not None else -1, Int64),
        "LastLogged": (event.logged, Boolean),
        "LastReject": (event.reject, Boolean),
        "LastInspectedAt": (event.inspected_at, ua.VariantType.DateTime),
    }


def _quiet_asyncua() -> None:
    """asyncua warns about every anonymous, unencrypted session: the station says it once."""
    for name in ("asyncua.server.server", "asyncua.server.address_space", "asyncua.server.uaprocessor"):
        logging.getLogger(name).setLevel(logging.ERROR)
