"""Modbus TCP server (pymodbus) for PLCs without OPC UA: trigger register, result coils, heartbeat.

Register map (0-based addresses; docs/line_io.md has the PLC handshake):

coils (read):                      holding registers:
  0 RESULT_VALID                     0 TRIGGER         PLC writes a new part counter (1..65535)
  1 OK                               1 RESULT_COUNTER  the counter the result belongs to (0: untriggered)
  2 NG                               2 RESULT_CODE     0 none, 1 OK, 2 NG, 3 REVIEW, 4 ERROR
  3 REVIEW                           3 HEARTBEAT       +1 every second (wraps at 65536)
  4 ERROR                            4 VERDICT_SEQ     +1 per answer (wraps)
  5 REJECT  (anything but OK)        5..8 COUNT_OK, COUNT_NG, COUNT_REVIEW, COUNT_ERROR (wrap)
  6 RUNNING                          9 STATE           0 starting, 1 running, 2 blocked, 3 stopped
                                    10 LOGGED          1: the result's row is committed

Handshake: the PLC writes counter N to TRIGGER; the station clears RESULT_VALID at once,
inspects the next frame as part ``modbus:N`` and, once its verdict is committed (or its
deadline passed: ERROR), sets the result coils, RESULT_COUNTER = N and RESULT_VALID last.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from typing import Any

from inspector.core.sources.live import backoff_delays
from inspector.core.types import Verdict
from inspector.lineio.aloop import LoopThread
from inspector.lineio.events import (
    VERDICT_CODES,
    ConnectionStatus,
    LineEvent,
    LineLedger,
    LinkState,
    StationEvent,
    TriggerSink,
    VerdictEvent,
)

log = logging.getLogger(__name__)

PART_PREFIX = "modbus:"
APPLY_TIMEOUT_S = 5.0
HEARTBEAT_S = 1.0

# coils
RESULT_VALID, C_OK, C_NG, C_REVIEW, C_ERROR, C_REJECT, C_RUNNING = range(7)
N_COILS = 16
# holding registers
TRIGGER, RESULT_COUNTER, RESULT_CODE, HEARTBEAT, VERDICT_SEQ = range(5)
COUNT_BASE = 5  # OK, NG, REVIEW, ERROR
STATE, LOGGED = 9, 10
N_REGS = 16

_FC_WRITE_COILS, _FC_WRITE_REGS = 15, 16
_COUNT_ORDER = (Verdict.OK, Verdict.NG, Verdict.REVIEW, Verdict.ERROR)


def state_code(state: str) -> int:
    s = state.lower()
    if s.startswith("running"):
        return 1
    if s.startswith("blocked"):
        return 2
    if s.startswith("stopped"):
        return 3
    return 0


class ModbusOutput:
    """A Modbus TCP server on ``host:port`` (any unit id) fed by the hub."""

    def __init__(
        self,
        port: int,
        *,
        host: str = "0.0.0.0",
        triggers: TriggerSink | None = None,
        retry: tuple[float, float] = (0.5, 10.0),
    ) -> None:
        self.host, self.port = host, int(port)
        self.name = f"Modbus TCP {host}:{self.port}"
        self.triggers = triggers
        self._retry = retry
        self.ledger = LineLedger()  # touched only on the server's loop
        self._loop = LoopThread("modbus-server")
        self._server: Any = None
        self._last_trigger = 0
        self._heartbeat = 0
        self._lock = threading.Lock()
        self._state = LinkState.STARTING
        self._detail = ""
        self._clients = 0
        self._sent = 0
        self.started = threading.Event()

    # -- LineOutput ----------------------------------------------------------
    def start(self) -> None:
        logging.getLogger("pymodbus").setLevel(logging.ERROR)
        self._loop.start(self._main())

    def publish(self, event: LineEvent) -> None:
        if isinstance(event, VerdictEvent | StationEvent):
            self._loop.call(self._apply(event), APPLY_TIMEOUT_S)

    def status(self) -> ConnectionStatus:
        with self._lock:
            up = self._state is LinkState.UP
            detail = f"{self._clients} clients" if up else self._detail
            return ConnectionStatus(
                self.name, self._state, detail, clients=self._clients if up else None, sent=self._sent
            )

    def close(self) -> None:
        self._loop.stop()
        with self._lock:
            self._state, self._detail = LinkState.CLOSED, ""

    # -- server loop ----------------------------------------------------------
    def _set(self, state: LinkState, detail: str) -> None:
        with self._lock:
            self._state, self._detail = state, detail

    def _connected(self, up: bool) -> None:
        with self._lock:
            self._clients = max(0, self._clients + (1 if up else -1))

    async def _main(self) -> None:
        from pymodbus.server import ModbusTcpServer

        delays = backoff_delays(*self._retry)
        stopping = self._loop.stopping
        while not stopping.is_set():
            server = None
            beat: asyncio.Task[None] | None = None
            try:
                server = ModbusTcpServer(
                    self._device(), address=(self.host, self.port), trace_connect=self._connected
                )
                await server.serve_forever(background=True)
                self._server = server
                await self._restore()
                beat = asyncio.create_task(self._beat())
                self._set(LinkState.UP, "")
                self.started.set()
                log.info("Modbus TCP server listening on %s:%d", self.host, self.port)
                delays = backoff_delays(*self._retry)
                await stopping.wait()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # port busy...: said in the status, retried
                delay = next(delays)
                self._set(LinkState.DOWN, f"{exc or type(exc).__name__}; retry in {delay:g} s")
                log.warning("Modbus server on %s:%d: %s (retry in %g s)", self.host, self.port, exc, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), delay)
            finally:
                self._server = None
                if beat is not None:
                    beat.cancel()
                if server is not None:
                    try:
                        await server.shutdown()
                    except Exception as exc:
                        log.debug("Modbus server shutdown: %r", exc)
                with self._lock:
                    self._clients = 0

    def _device(self) -> Any:
        from pymodbus.simulator import DataType, SimData, SimDevice

        def bits() -> list[Any]:
            return [SimData(0, values=[False] * N_COILS, datatype=DataType.BITS)]

        def regs() -> list[Any]:
            return [SimData(0, count=N_REGS, values=0, datatype=DataType.REGISTERS)]

        # id 0: every unit id; (coils, discrete inputs, holding registers, input registers)
        return SimDevice(0, simdata=(bits(), bits(), regs(), regs()), action=self._action)

    async def _action(
        self,
        function_code: int,
        _start: int,
        address: int,
        count: int,
        _registers: list[int],
        values: list[int] | list[bool] | None,
    ) -> Any:
        """Runs on every access; a PLC write that covers TRIGGER is a trigger."""
        if values is None or function_code not in (6, _FC_WRITE_REGS):
            return None
        if not address <= TRIGGER < address + count:
            return None
        counter = int(values[TRIGGER - address]) & 0xFFFF
        if counter == 0 or counter == self._last_trigger:
            return None  # 0 clears; the same counter again is a repeat of the same trigger
        if self.triggers is None or not self.triggers.triggered:
            from pymodbus.constants import ExcCodes

            return ExcCodes.ILLEGAL_FUNCTION  # this station takes no triggers
        self._last_trigger = counter
        await self._set_coils(RESULT_VALID, [False] * 6)  # no result for this counter yet
        self.triggers.trigger(f"{PART_PREFIX}{counter}", "modbus")
        return None

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            self._heartbeat = (self._heartbeat + 1) & 0xFFFF
            await self._set_regs(HEARTBEAT, [self._heartbeat])

    async def _set_coils(self, address: int, values: list[bool]) -> None:
        if self._server is not None:
            await self._server.async_setValues(0, _FC_WRITE_COILS, address, values)

    async def _set_regs(self, address: int, values: list[int]) -> None:
        if self._server is not None:
            await self._server.async_setValues(0, _FC_WRITE_REGS, address, [v & 0xFFFF for v in values])

    async def _restore(self) -> None:
        """A (re)started server shows what the ledger knows."""
        led = self.ledger
        await self._set_regs(HEARTBEAT, [self._heartbeat])
        await self._set_regs(STATE, [state_code(led.state)])
        await self._set_coils(C_RUNNING, [state_code(led.state) == 1])
        await self._set_regs(COUNT_BASE, [led.counts[v.value] for v in _COUNT_ORDER])
        await self._set_regs(VERDICT_SEQ, [led.seq])
        if led.last is not None:
            await self._show(led.last)

    # -- events (applied on the server's loop) ---------------------------------
    async def _apply(self, event: VerdictEvent | StationEvent) -> None:
        led = self.ledger
        if isinstance(event, StationEvent):
            led.state, led.product = event.state, event.product
            await self._set_regs(STATE, [state_code(event.state)])
            await self._set_coils(C_RUNNING, [state_code(event.state) == 1])
            return
        if not led.apply(event):
            if event.repeat and event.logged:
                await self._set_regs(LOGGED, [1])  # the deadline reject's row is committed now
            return
        await self._set_regs(COUNT_BASE, [led.counts[v.value] for v in _COUNT_ORDER])
        await self._set_regs(VERDICT_SEQ, [led.seq])
        await self._show(event)
        with self._lock:
            self._sent += 1

    async def _show(self, event: VerdictEvent) -> None:
        """The result block, RESULT_VALID last. These awaits never yield to the loop (the
        datastore is in memory), so a PLC read sees the whole block or none of it."""
        counter = 0
        if event.part_id.startswith(PART_PREFIX) and event.part_id[len(PART_PREFIX) :].isdigit():
            counter = int(event.part_id[len(PART_PREFIX) :]) & 0xFFFF
        v = event.verdict
        await self._set_coils(
            C_OK,
            [
                v is Verdict.OK and not event.reject,
                v is Verdict.NG,
                v is Verdict.REVIEW,
                v is Verdict.ERROR,
                event.reject,
            ],
        )
        await self._set_regs(RESULT_COUNTER, [counter, VERDICT_CODES[v]])
        await self._set_regs(LOGGED, [1 if event.logged else 0])
        await self._set_coils(RESULT_VALID, [True])
