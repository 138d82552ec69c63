"""Line I/O never lets a part pass unseen, never leaves the line waiting, never stalls inspection.

- a triggered part with no committed verdict before its deadline: a reject (ERROR "deadline")
  at once AND an ERROR row for that part id; a late verdict is dropped (one row per part);
- a verdict whose commit failed reaches the line as ERROR "not logged";
- a broker that goes away: inspection goes on at full pace, messages are buffered (bounded)
  and arrive in order when it is back;
- a PLC or OPC UA client that vanishes or hangs, or an output that blocks or fails, never
  stalls inspection or the other outputs.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("asyncua")
pytest.importorskip("pymodbus")
pytest.importorskip("paho.mqtt")

from inspector.core.pipeline import Pipeline
from inspector.core.types import Frame, InspectionResult, Verdict
from inspector.lineio import EventKind, LineIO, LinkState
from inspector.lineio.modbus_out import (
    C_ERROR,
    C_REJECT,
    LOGGED,
    RESULT_COUNTER,
    RESULT_VALID,
    TRIGGER,
    ModbusOutput,
)
from inspector.lineio.mqtt_out import MqttOutput
from inspector.lineio.opcua_out import NAMESPACE, OpcUaOutput
from tests.db_factories import make_result
from tests.lineio_helpers import (
    STATION,
    Broker,
    GatedSource,
    RecordingOutput,
    Station,
    Subscriber,
    SyntheticSource,
    free_port,
    wait_for,
)


class SlowPipeline(Pipeline):
    """Takes 0.8 s per part: its verdicts come after a 0.3 s line deadline."""

    def inspect(self, frame: Frame, read_ms: float = 0.0) -> InspectionResult:
        time.sleep(0.8)
        return super().inspect(frame, read_ms)


# -- deadlines ------------------------------------------------------------------------


def test_deadline_without_a_frame_rejects_on_opcua_and_modbus_and_logs_error(
    tiny_model: Path, tmp_path: Path
) -> None:
    from asyncua import Client, ua
    from pymodbus.client import ModbusTcpClient

    st = Station(tmp_path, tiny_model, triggered=True, deadline_s=0.5)
    ua_port, mb_port = free_port(), free_port()
    st.add(OpcUaOutput(ua_port, host="127.0.0.1", triggers=st.line, station=STATION))
    modbus = st.add(ModbusOutput(mb_port, host="127.0.0.1", triggers=st.line))
    st.start_line()
    st.run(SyntheticSource(block=True))  # a camera that never delivers

    async def opcua() -> tuple[Any, ...]:
        async with Client(f"opc.tcp://127.0.0.1:{ua_port}/defect-inspector/", timeout=10) as client:
            ns = await client.get_namespace_index(NAMESPACE)
            station = client.get_node(ua.NodeId("Station", ns))

            async def call(method: str, part: str) -> Any:
                return await station.call_method(ua.NodeId(f"Station.{method}", ns), part)

            t0 = time.monotonic()
            assert (await call("Trigger", "P-nothing"))[0]
            assert not (await call("Trigger", "P-nothing"))[0]  # already waiting: not twice
            assert (await call("Result", "P-nothing"))[0] == "pending"
            while (res := await call("Result", "P-nothing"))[0] != "done":
                await asyncio.sleep(0.01)
            waited = time.monotonic() - t0
            last = await client.get_node(ua.NodeId("Station.LastVerdict", ns)).read_value()
            return res, waited, last

    mb = ModbusTcpClient("127.0.0.1", port=mb_port, timeout=5)
    try:
        (status, verdict, reasons, _ins_id, reject), waited, last = asyncio.run(opcua())
        assert mb.connect()
        assert not mb.write_register(TRIGGER, 7).isError()

        def modbus_result() -> Any:
            coils = mb.read_coils(0, count=8).bits
            regs = mb.read_holding_registers(0, count=11).registers
            return (coils, regs) if coils[RESULT_VALID] and regs[RESULT_COUNTER] == 7 else None

        coils, _regs = wait_for(modbus_result, 5, "the Modbus reject")
        rows_ua = wait_for(lambda: st.rows("source_key = 'P-nothing'"), 5, "the OPC UA part's ERROR row")
        rows_mb = wait_for(lambda: st.rows("source_key = 'modbus:7'"), 5, "the Modbus part's ERROR row")
        wait_for(lambda: mb.read_holding_registers(LOGGED, count=1).registers[0] == 1, 5, "LOGGED")
    finally:
        mb.close()
        st.stop()
    assert (status, verdict, reject, last) == ("done", "ERROR", True, "ERROR")
    assert reasons[0].startswith("deadline")
    assert 0.4 < waited < 3.0  # the line waited for the deadline, not for ever
    assert coils[C_ERROR]
    assert coils[C_REJECT]
    for rows in (rows_ua, rows_mb):
        assert len(rows) == 1
        _id, _key, row_verdict, stage, row_reasons = rows[0]
        assert (row_verdict, stage) == ("ERROR", "deadline")
        assert "no committed verdict within 0.5 s" in row_reasons
    assert modbus.ledger.counts["ERROR"] == 2  # two parts; their committed rows did not count them twice


def test_late_verdict_is_dropped_and_the_part_keeps_one_error_row(tiny_model: Path, tmp_path: Path) -> None:
    st = Station(tmp_path, tiny_model, triggered=True, deadline_s=0.3, pipeline_cls=SlowPipeline)
    rec = st.add(RecordingOutput())
    st.start_line()
    st.run(SyntheticSource())
    try:
        assert st.line.trigger("P1", "test").accepted
        wait_for(lambda: st.line.board.late == 1, 5, "the late verdict")  # type: ignore[union-attr]
        wait_for(lambda: len(rec.verdicts()) >= 2, 5, "the committed ERROR row's event")
        assert st.line.trigger("P2", "test").accepted  # the next part is not disturbed
        wait_for(lambda: st.rows("source_key = 'P2'"), 5, "P2's row")
    finally:
        st.stop()
    rows = st.rows("source_key = 'P1'")
    assert [(r[2], r[3]) for r in rows] == [("ERROR", "deadline")]  # one row: the late OK is not logged
    p1 = [e for e in rec.verdicts() if e.part_id == "P1"]
    assert [(e.kind, e.verdict, e.repeat) for e in p1] == [
        (EventKind.DEADLINE, Verdict.ERROR, False),  # the reject, at the deadline
        (EventKind.VERDICT, Verdict.ERROR, True),  # its committed row (the line keeps its answer)
    ]
    assert "P1" not in st.submitted  # the pipeline's late verdict never reached the writer


def test_frame_that_comes_after_its_part_expired_goes_to_the_next_part(
    tiny_model: Path, tmp_path: Path
) -> None:
    st = Station(tmp_path, tiny_model, triggered=True, deadline_s=0.3)
    st.start_line()
    st.run(SyntheticSource(delay_s=0.6))
    try:
        assert st.line.trigger("P1", "test").accepted
        wait_for(lambda: st.rows("source_key = 'P1'"), 5, "P1's ERROR row")
        time.sleep(0.4)  # the frame taken for P1 arrives now
        assert st.line.trigger("P2", "test").accepted
        rows = wait_for(lambda: st.rows("source_key = 'P2'"), 5, "P2's row")
    finally:
        st.stop()
    assert [r[2] for r in st.rows("source_key = 'P1'")] == ["ERROR"]
    assert rows[0][2] == "OK"  # frame 0 (clean) went to P2


def test_parts_waiting_when_the_station_stops_get_error_rows_and_later_triggers_a_reject(
    tiny_model: Path, tmp_path: Path
) -> None:
    st = Station(tmp_path, tiny_model, triggered=True, deadline_s=60.0)
    rec = st.add(RecordingOutput())
    st.start_line()
    st.run(SyntheticSource(block=True))
    assert st.line.trigger("P-wait", "test").accepted
    st.state.cancel()
    st.line.end_triggers()  # the run is over; the outputs are still up
    reply = st.line.trigger("P-after", "test")
    assert not reply.accepted
    assert "stopped" in reply.message
    st.stop()
    rows = st.rows("source_key = 'P-wait'")
    assert [(r[2], r[3]) for r in rows] == [("ERROR", "deadline")]
    assert "station stopped" in rows[0][4]
    after = [e for e in rec.verdicts() if e.part_id == "P-after"]
    assert [(e.verdict, e.kind) for e in after] == [(Verdict.ERROR, EventKind.REFUSED)]


# -- commits ------------------------------------------------------------------------------


def test_commit_failure_reaches_the_line_as_error_not_logged_and_order_holds() -> None:
    line = LineIO("st")
    rec = line.add(RecordingOutput())
    futures: list[Future[int]] = []

    def submit(_result: InspectionResult) -> Future[int]:
        futures.append(Future())
        return futures[-1]

    line.bind(submit, lambda *_a: None)  # type: ignore[arg-type, return-value]
    line.start()
    for i in range(3):
        line.submit(make_result(f"/p/{i}.png", Verdict.OK))
    futures[2].set_result(12)  # commits may settle out of order...
    futures[1].set_exception(OSError("database is locked"))
    assert rec.verdicts() == []  # ...nothing goes out before the first one
    futures[0].set_result(10)
    assert line.hub.flush(5)
    line.close()
    got = [(e.part_id, e.verdict, e.kind, e.inspection_id) for e in rec.verdicts()]
    assert got == [
        ("/p/0.png", Verdict.OK, EventKind.VERDICT, 10),
        ("/p/1.png", Verdict.ERROR, EventKind.NOT_LOGGED, None),  # an OK that is not logged: rejected
        ("/p/2.png", Verdict.OK, EventKind.VERDICT, 12),
    ]
    assert rec.verdicts()[1].reasons[0] == "not logged: database is locked"
    assert rec.verdicts()[1].reject


# -- outputs that block, fail or vanish -------------------------------------------------------


def test_a_blocked_or_failing_output_never_blocks_submission_or_the_others() -> None:
    line = LineIO("st")
    stuck = threading.Event()
    line.add(RecordingOutput("stuck", block=stuck))
    line.add(RecordingOutput("broken", fail=True))
    rec = line.add(RecordingOutput("good"))
    line.bind(lambda _r: _done(1), lambda *_a: None)  # type: ignore[arg-type, return-value]
    line.start()
    t0 = time.perf_counter()
    for i in range(500):
        line.submit(make_result(f"/p/{i}.png", Verdict.NG if i % 2 else Verdict.OK))
    took = time.perf_counter() - t0
    wait_for(lambda: len(rec.verdicts()) == 500, 5, "the good output's events")
    assert took < 1.0  # nothing waited for the stuck output
    assert [e.part_id for e in rec.verdicts()] == [f"/p/{i}.png" for i in range(500)]
    stuck.set()
    line.close(timeout=2)


def _done(value: int) -> Future[int]:
    fut: Future[int] = Future()
    fut.set_result(value)
    return fut


def test_mqtt_buffer_is_bounded_oldest_dropped_and_counted(tmp_path: Path) -> None:
    broker = Broker(tmp_path / "broker")
    out = MqttOutput("127.0.0.1", broker.port, station="b", prefix="buf", max_buffer=5, retry=(0.05, 0.2))
    out.start()
    from inspector.lineio import VerdictEvent

    wait_for(lambda: out.status().state is LinkState.DOWN, 10, "the output to find no broker")
    for i in range(20):
        out.publish(VerdictEvent(f"p{i}", Verdict.OK, (), "b", inspection_id=i))
    s = out.status()
    assert (s.state, s.buffered, s.dropped) == (LinkState.DOWN, 5, 15)
    broker.start()
    sub = Subscriber(broker.port, "buf/#")  # subscribes before the output's next retry, usually
    try:
        wait_for(lambda: out.status().buffered == 0, 10, "the buffer to drain")
        assert out.status().state is LinkState.UP
    finally:
        out.close()
        sub.close()
        broker.stop()
    assert out.status().sent == 5


def test_broker_down_mid_run_inspection_goes_on_and_buffered_messages_arrive_in_order(
    tiny_model: Path, tmp_path: Path
) -> None:
    broker = Broker(tmp_path / "broker")
    broker.start()
    sub = Subscriber(broker.port, "test/#", client_id="mes-1")  # a persistent session (QoS 1)
    st = Station(tmp_path, tiny_model)
    out = st.add(MqttOutput("127.0.0.1", broker.port, station=STATION, prefix="test", retry=(0.1, 0.5)))
    source = GatedSource(n=40, first=5)
    try:
        st.start_line()
        wait_for(lambda: out.status().state is LinkState.UP, 10, "MQTT connected")
        st.run(source)
        wait_for(lambda: len(sub.payloads("/verdict")) >= 5, 10, "the first messages")
        broker.stop()
        wait_for(lambda: out.status().state is LinkState.DOWN, 10, "the output to see the broker gone")
        t0 = time.perf_counter()
        source.gate.set()
        st.wait_finished(30)  # inspection finished while the broker is down: the sink never blocked
        took = time.perf_counter() - t0
        assert st.line.hub.flush(10)
        assert broker.proc is None
        assert len(st.rows()) == 40  # every part logged
        s = out.status()
        assert s.state is LinkState.DOWN
        assert s.buffered == 35
        broker.start()  # same port, same persistence file: the subscriber's session is back
        wait_for(lambda: out.status().buffered == 0, 20, "the buffer to flush")
        wait_for(
            lambda: len({json.loads(p)["inspection_id"] for p in sub.payloads("/verdict")}) >= 40,
            20,
            "every verdict at the subscriber",
        )
    finally:
        st.stop()
        sub.close()
        broker.stop()
    ids = [json.loads(p)["inspection_id"] for p in sub.payloads("/verdict")]
    unique = list(dict.fromkeys(ids))  # QoS 1: a message in flight at the drop may come twice
    assert unique == [r[0] for r in st.rows()]
    assert unique == sorted(unique)
    print(f"\n35 parts inspected in {took:.2f} s while the broker was down")


_VANISHING_CLIENTS = """
import asyncio, sys, time
from asyncua import Client, ua
from pymodbus.client import ModbusTcpClient
ua_port, mb_port = int(sys.argv[1]), int(sys.argv[2])
class H:
    def datachange_notification(self, *a): pass
async def main():
    client = Client(f"opc.tcp://127.0.0.1:{ua_port}/defect-inspector/", timeout=10)
    await client.connect()
    ns = await client.get_namespace_index("urn:defect-inspector:line")
    sub = await client.create_subscription(10, H())
    await sub.subscribe_data_change(client.get_node(ua.NodeId("Station.LastPartId", ns)))
    mb = ModbusTcpClient("127.0.0.1", port=mb_port); mb.connect(); mb.read_coils(0, count=8)
    print("ready", flush=True)
    await asyncio.sleep(600)
asyncio.run(main())
"""


def test_clients_that_vanish_or_hang_never_stall_inspection(tiny_model: Path, tmp_path: Path) -> None:
    import socket

    st = Station(tmp_path, tiny_model)
    ua_port, mb_port = free_port(), free_port()
    opcua = st.add(OpcUaOutput(ua_port, host="127.0.0.1", station=STATION))
    modbus = st.add(ModbusOutput(mb_port, host="127.0.0.1"))
    st.start_line()
    proc = subprocess.Popen(
        [sys.executable, "-c", _VANISHING_CLIENTS, str(ua_port), str(mb_port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # and two peers that connect, send half a request and then never read nor write again
    hung = [socket.create_connection(("127.0.0.1", p), 5) for p in (ua_port, mb_port)]
    hung[0].sendall(b"HELF")
    hung[1].sendall(b"\x00\x01\x00")
    source = GatedSource(n=60, first=10)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", proc.stderr
        wait_for(lambda: opcua.status().clients and modbus.status().clients, 5, "clients connected")
        st.run(source)
        wait_for(lambda: len(st.rows()) >= 10, 10, "the first parts")
        proc.kill()  # the PLC and the OPC UA client vanish mid-run (no goodbye)
        proc.wait(10)
        source.gate.set()
        st.wait_finished(30)
        assert st.line.hub.flush(10)
    finally:
        if proc.poll() is None:
            proc.kill()
        for s in hung:
            s.close()
        st.stop()
    assert len(st.rows()) == 60
    assert opcua.ledger.seq == modbus.ledger.seq == 60  # every verdict reached both servers


def test_a_server_whose_port_is_taken_says_so_and_binds_once_it_is_free() -> None:
    import socket

    from pymodbus.client import ModbusTcpClient

    port = free_port()
    squatter = socket.socket()
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    squatter.bind(("127.0.0.1", port))
    squatter.listen()
    out = ModbusOutput(port, host="127.0.0.1", retry=(0.05, 0.2))
    out.start()
    try:
        down = wait_for(lambda: out.status() if out.status().state is LinkState.DOWN else None, 10, "DOWN")
        assert "retry in" in down.detail
        squatter.close()
        wait_for(lambda: out.status().state is LinkState.UP, 10, "the server to bind")
        client = ModbusTcpClient("127.0.0.1", port=port, timeout=5)
        assert client.connect()
        assert not client.read_coils(0, count=8).isError()
        client.close()
    finally:
        squatter.close()
        out.close()
    assert out.status().state is LinkState.CLOSED


def test_a_station_that_stays_up_takes_triggers_again_in_its_next_run(
    tiny_model: Path, tmp_path: Path
) -> None:
    st = Station(tmp_path, tiny_model, triggered=True, deadline_s=0.3)
    st.start_line()
    st.line.end_triggers()  # a run ended...
    assert not st.line.trigger("P0", "test").accepted
    st.line.open_triggers()  # ...and the next one starts
    st.run(SyntheticSource(block=True))
    try:
        assert st.line.trigger("P1", "test").accepted
        rows = wait_for(lambda: st.rows("source_key = 'P1'"), 5, "P1's deadline row")
    finally:
        st.stop()
    assert [(r[2], r[3]) for r in rows] == [("ERROR", "deadline")]  # deadlines are watched again
