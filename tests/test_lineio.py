"""Line I/O with the real client libraries against the station's real servers, on loopback.

asyncua Client -> the station's OPC UA server, pymodbus client -> its Modbus TCP server, a
paho subscriber on a mosquitto broker started here <- its MQTT publisher. Every verdict
reaches the line only after its row is committed, in order.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import pytest

pytest.importorskip("asyncua")
pytest.importorskip("pymodbus")
pytest.importorskip("paho.mqtt")

from inspector.cli import exitcodes
from inspector.cli.main import main
from inspector.core.types import Verdict
from inspector.lineio import EventKind, LinkState, VerdictEvent
from inspector.lineio.modbus_out import (
    C_ERROR,
    C_NG,
    C_OK,
    C_REJECT,
    HEARTBEAT,
    RESULT_COUNTER,
    RESULT_VALID,
    TRIGGER,
    ModbusOutput,
)
from inspector.lineio.mqtt_out import MqttOutput, parse_target
from inspector.lineio.opcua_out import NAMESPACE, OpcUaOutput
from tests.lineio_helpers import (
    STATION,
    Broker,
    Station,
    Subscriber,
    SyntheticSource,
    expected,
    free_port,
    wait_for,
)
from tests.tiny_model import synthetic_image

# -- OPC UA ---------------------------------------------------------------------


async def _opcua_session(url: str, body: Any) -> Any:
    from asyncua import Client

    async with Client(url, timeout=10) as client:
        ns = await client.get_namespace_index(NAMESPACE)
        return await body(client, ns)


def _node(client: Any, ns: int, name: str) -> Any:
    from asyncua import ua

    return client.get_node(ua.NodeId(f"Station.{name}", ns))


async def _call(client: Any, ns: int, method: str, *args: Any) -> Any:
    from asyncua import ua

    station = client.get_node(ua.NodeId("Station", ns))
    return await station.call_method(ua.NodeId(f"Station.{method}", ns), *args)


def test_opcua_trigger_gives_committed_verdicts_in_order(tiny_model: Path, tmp_path: Path) -> None:
    st = Station(tmp_path, tiny_model, triggered=True, deadline_s=10.0)
    port = free_port()
    st.add(OpcUaOutput(port, host="127.0.0.1", triggers=st.line, station=STATION))
    st.start_line()
    st.run(SyntheticSource())
    url = f"opc.tcp://127.0.0.1:{port}/defect-inspector/"
    parts = [f"SN-{i:04d}" for i in range(6)]
    seen: list[tuple[str, bool]] = []  # (LastPartId, its row committed when the change arrived)
    latencies: list[float] = []

    class Handler:
        def datachange_notification(self, _node: Any, value: Any, _data: Any) -> None:
            if value:
                seen.append((value, bool(st.rows("source_key = ?", (value,)))))

    async def body(client: Any, ns: int) -> list[Any]:
        assert await _node(client, ns, "State").read_value() == "running"
        assert await _node(client, ns, "Product").read_value() == "housing A"
        sub = await client.create_subscription(10, Handler())
        await sub.subscribe_data_change(_node(client, ns, "LastPartId"), queuesize=100)
        results = []
        for part in parts:
            t0 = time.perf_counter()
            accepted, message = await _call(client, ns, "Trigger", part)
            assert accepted, message
            while True:
                status, verdict, reasons, ins_id, reject = await _call(client, ns, "Result", part)
                if status == "done":
                    break
                assert status == "pending"
                await asyncio.sleep(0.002)
            latencies.append(time.perf_counter() - t0)
            results.append((part, verdict, reasons, ins_id, reject))
        assert not (await _call(client, ns, "Trigger", ""))[0]  # an empty part id is refused
        assert (await _call(client, ns, "Result", "never-triggered"))[0] == "unknown"
        await asyncio.sleep(0.3)  # the last data change
        counts = {v: await _node(client, ns, f"Count{v}").read_value() for v in ("OK", "NG", "ERROR")}
        last = await _node(client, ns, "LastVerdict").read_value()
        seq = await _node(client, ns, "VerdictSeq").read_value()
        last_id = await _node(client, ns, "LastInspectionId").read_value()
        return [results, counts, last, seq, last_id]

    try:
        results, counts, last, seq, last_id = asyncio.run(_opcua_session(url, body))
    finally:
        st.stop()
    rows = {key: (rid, verdict) for rid, key, verdict, *_ in st.rows()}
    for i, (part, verdict, reasons, ins_id, reject) in enumerate(results):
        assert verdict == expected(i), (part, reasons)
        assert rows[part] == (ins_id, verdict)  # the line's answer is the committed row
        assert reject == (verdict != "OK")
    ids = [r[3] for r in results]
    assert ids == sorted(ids)
    assert counts == {"OK": 3, "NG": 3, "ERROR": 0}
    assert (last, seq, last_id) == ("NG", 6, ids[-1])
    assert [p for p, _ in seen] == parts  # in order...
    assert all(committed for _, committed in seen)  # ...and each only after its commit
    print(
        f"\nOPC UA trigger -> committed verdict: median {statistics.median(latencies) * 1e3:.0f} ms, "
        f"max {max(latencies) * 1e3:.0f} ms over {len(latencies)} parts"
    )


# -- Modbus ---------------------------------------------------------------------


def _modbus_round_trip(client: Any, counter: int, timeout: float = 10.0) -> tuple[list[bool], list[int]]:
    assert not client.write_register(TRIGGER, counter).isError()
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        coils = client.read_coils(0, count=8).bits
        regs = client.read_holding_registers(0, count=11).registers
        if coils[RESULT_VALID] and regs[RESULT_COUNTER] == counter:
            return coils, regs
        time.sleep(0.002)
    raise AssertionError(f"no result for counter {counter}")


def test_modbus_trigger_sets_result_coils_after_commit(tiny_model: Path, tmp_path: Path) -> None:
    from pymodbus.client import ModbusTcpClient

    st = Station(tmp_path, tiny_model, triggered=True, deadline_s=10.0)
    port = free_port()
    st.add(ModbusOutput(port, host="127.0.0.1", triggers=st.line))
    st.start_line()
    st.run(SyntheticSource())
    client = ModbusTcpClient("127.0.0.1", port=port, timeout=5)
    assert client.connect()
    latencies = []
    try:
        beat0 = client.read_holding_registers(HEARTBEAT, count=1).registers[0]
        for i, counter in enumerate(range(1, 7)):
            t0 = time.perf_counter()
            coils, regs = _modbus_round_trip(client, counter)
            latencies.append(time.perf_counter() - t0)
            rows = st.rows("source_key = ?", (f"modbus:{counter}",))
            assert len(rows) == 1
            assert rows[0][2] == expected(i)
            want_ok = expected(i) == "OK"
            assert (coils[C_OK], coils[C_NG], coils[C_ERROR], coils[C_REJECT]) == (
                want_ok,
                not want_ok,
                False,
                not want_ok,
            )
            assert regs[RESULT_COUNTER + 1] == (1 if want_ok else 2)
        # the same counter again is the same trigger: nothing new is inspected
        assert not client.write_register(TRIGGER, 6).isError()
        wait_for(
            lambda: client.read_holding_registers(HEARTBEAT, count=1).registers[0] != beat0, 3, "heartbeat"
        )
    finally:
        client.close()
        st.stop()
    assert [r[1] for r in st.rows()] == [f"modbus:{c}" for c in range(1, 7)]
    print(
        f"\nModbus trigger -> result coils: median {statistics.median(latencies) * 1e3:.0f} ms, "
        f"max {max(latencies) * 1e3:.0f} ms over {len(latencies)} parts"
    )


def test_modbus_trigger_is_refused_when_the_station_is_not_triggered(
    tiny_model: Path, tmp_path: Path
) -> None:
    from pymodbus.client import ModbusTcpClient

    st = Station(tmp_path, tiny_model, triggered=False)
    port = free_port()
    st.add(ModbusOutput(port, host="127.0.0.1", triggers=st.line))
    st.start_line()
    st.run(SyntheticSource(n=4))
    client = ModbusTcpClient("127.0.0.1", port=port, timeout=5)
    assert client.connect()
    try:
        st.wait_finished()
        assert st.line.hub.flush(10)
        assert client.write_register(TRIGGER, 1).isError()  # this station runs free: no triggers
        coils = client.read_coils(0, count=8).bits
        regs = client.read_holding_registers(0, count=11).registers
    finally:
        client.close()
        st.stop()
    # free-running verdicts still reach the PLC (counter 0: not a triggered part)
    assert coils[RESULT_VALID]
    assert coils[C_NG]
    assert regs[RESULT_COUNTER] == 0
    assert regs[4] == 4  # VERDICT_SEQ


# -- MQTT -----------------------------------------------------------------------


def test_parse_mqtt_target() -> None:
    assert parse_target("broker") == ("broker", 1883, "inspector")
    assert parse_target("broker.plant:1884/plant/line3") == ("broker.plant", 1884, "plant/line3")
    assert parse_target("[::1]:1883") == ("::1", 1883, "inspector")
    for bad in ("", ":1883", "host:x", "host:0", "host/a+b"):
        with pytest.raises(ValueError, match="MQTT"):
            parse_target(bad)


def test_mqtt_one_json_per_committed_verdict_in_order(tiny_model: Path, tmp_path: Path) -> None:
    broker = Broker(tmp_path / "broker")
    broker.start()
    sub = Subscriber(broker.port, "test/#")
    st = Station(tmp_path, tiny_model)
    out = st.add(MqttOutput("127.0.0.1", broker.port, station=STATION, prefix="test"))
    committed_on_arrival: list[bool] = []

    def check(topic: str, payload: bytes) -> None:
        if topic.endswith("/verdict"):
            committed_on_arrival.append(st.row(json.loads(payload)["inspection_id"]) is not None)

    sub.on_message = check
    try:
        st.start_line()
        wait_for(lambda: out.status().state is LinkState.UP, 10, "MQTT connected")
        st.run(SyntheticSource(n=12))
        st.wait_finished()
        assert st.line.hub.flush(10)
        st.line.publish_summary({"lot": "L-1", "counts": {"OK": 6, "NG": 6}})
        wait_for(lambda: len(sub.payloads("/verdict")) >= 12 and sub.payloads("/summary"), 10, "messages")
    finally:
        st.stop()
        sub.close()
        broker.stop()
    assert out.verdict_topic == f"test/{STATION}/verdict"
    msgs = [json.loads(p) for p in sub.payloads("/verdict")]
    rows = st.rows()
    assert [(m["inspection_id"], m["part_id"], m["verdict"]) for m in msgs] == [
        (rid, key, verdict) for rid, key, verdict, *_ in rows
    ]
    assert [m["verdict"] for m in msgs] == [expected(i) for i in range(12)]
    assert all(committed_on_arrival)
    assert len(committed_on_arrival) == 12
    m = msgs[1]
    assert m["key"] == m["part_id"] == "img1"
    assert m["reasons"]
    assert m["model_sha256"]
    assert m["recipe"] == {"name": "default", "version": 1}
    assert m["logged"] is True
    assert m["kind"] == "verdict"
    assert m["station"] == STATION
    assert m["inspected_at"].startswith("20")
    summaries = [json.loads(p) for p in sub.payloads("/summary")]
    assert summaries[0] == {"lot": "L-1", "counts": {"OK": 6, "NG": 6}}
    assert json.loads(sub.payloads("/state")[0])["state"] == "running"


def test_mqtt_throughput(tmp_path: Path) -> None:
    """Messages/s through the real broker (for the report), and all of them in order."""
    broker = Broker(tmp_path / "broker")
    broker.start()
    sub = Subscriber(broker.port, "bench/#")
    out = MqttOutput("127.0.0.1", broker.port, station="b", prefix="bench")
    out.start()
    n = 3000
    try:
        wait_for(lambda: out.status().state is LinkState.UP, 10, "MQTT connected")
        t0 = time.perf_counter()
        for i in range(n):
            out.publish(VerdictEvent(f"p{i}", Verdict.OK, (), "b", inspection_id=i))
        wait_for(lambda: len(sub.payloads()) >= n, 60, "all messages")
        rate = n / (time.perf_counter() - t0)
    finally:
        out.close()
        sub.close()
        broker.stop()
    assert [json.loads(p)["inspection_id"] for p in sub.payloads()] == list(range(n))
    assert out.status().sent == n
    print(f"\nMQTT: {rate:.0f} verdict messages/s through mosquitto on loopback (QoS 1)")


# -- the CLI ----------------------------------------------------------------------


def test_cli_refuses_triggered_without_a_trigger_input(tiny_model: Path, tmp_path: Path) -> None:
    rc = main(
        [
            "inspect",
            "demo:1",
            "--model",
            str(tiny_model),
            "--db",
            f"sqlite:///{tmp_path / 'x.db'}",
            "--triggered",
            "--mqtt",
            "127.0.0.1:1",
        ]
    )
    assert rc == exitcodes.USAGE


def test_cli_triggered_over_modbus_with_mqtt(tiny_model: Path, tmp_path: Path) -> None:
    """`inspector inspect FOLDER --triggered --modbus PORT --mqtt ...`, driven as a PLC would."""
    from pymodbus.client import ModbusTcpClient

    folder = tmp_path / "parts"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"p{i}.png"), synthetic_image(64, defect=bool(i % 2), seed=i)[0])
    broker = Broker(tmp_path / "broker")
    broker.start()
    sub = Subscriber(broker.port, "cli/#")
    port = free_port()
    db = tmp_path / "cli.db"
    env = {**os.environ, "INSPECTOR_DATA_DIR": str(tmp_path / "data"), "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "inspector.cli.main",
            "inspect",
            str(folder),
            "--model",
            str(tiny_model),
            "--db",
            f"sqlite:///{db}",
            "--station",
            "cli-st",
            "--no-progress",
            "--triggered",
            "--modbus",
            str(port),
            "--line-host",
            "127.0.0.1",
            "--mqtt",
            f"127.0.0.1:{broker.port}/cli",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    client = ModbusTcpClient("127.0.0.1", port=port, timeout=5)
    try:
        wait_for(lambda: proc.poll() is not None or client.connect(), 60, "the station's Modbus server")
        assert proc.poll() is None, proc.communicate()
        results = [_modbus_round_trip(client, counter, 30) for counter in (11, 12, 13)]
        wait_for(lambda: len(sub.payloads("/verdict")) >= 3, 10, "MQTT verdicts")
    finally:
        client.close()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        sub.close()
        broker.stop()
    assert proc.returncode == exitcodes.INTERRUPTED, err.decode()
    assert [coils[C_NG] for coils, _ in results] == [False, True, False]
    with sqlite3.connect(db) as con:
        rows = con.execute("select id, source_key, verdict from inspection order by id").fetchall()
    assert [(k, v) for _, k, v in rows] == [("modbus:11", "OK"), ("modbus:12", "NG"), ("modbus:13", "OK")]
    msgs = [json.loads(p) for p in sub.payloads("/verdict")]
    assert [(m["inspection_id"], m["part_id"], m["verdict"]) for m in msgs] == rows
    summary = [json.loads(p) for p in sub.payloads("/summary")]
    assert summary
    assert summary[-1]["counts"]["NG"] == 1
    assert summary[-1]["station"] == "cli-st"
    assert "Modbus TCP 127.0.0.1" in err.decode()
    assert "OK 2  NG 1" in out.decode()


def test_event_json_names_a_reject_that_was_not_logged() -> None:
    ev = VerdictEvent("p1", Verdict.ERROR, ("not logged: disk full",), "st", kind=EventKind.NOT_LOGGED)
    data = ev.to_json()
    assert data["logged"] is False
    assert data["inspection_id"] is None
    assert ev.reject
    assert VerdictEvent("p2", Verdict.OK, (), "st", inspection_id=3).reject is False


def test_triggered_live_source_takes_a_frame_from_after_the_trigger() -> None:
    """A camera (live source): the part gets a frame captured at or after its trigger."""
    import threading
    from datetime import UTC, datetime, timedelta

    import numpy as np

    from inspector.core.sources.base import SourceStats
    from inspector.core.types import Frame
    from inspector.lineio import TriggerBoard, TriggeredSource

    class Camera:
        live = True
        name = "camera"

        def __init__(self) -> None:
            self.n = 0

        def frames(self, stop: Any) -> Any:
            while not stop():
                self.n += 1
                # the first frames were grabbed a second ago: before any trigger
                at = datetime.now(UTC) - (timedelta(seconds=1) if self.n <= 3 else timedelta(0))
                yield Frame(
                    key=f"cam#{self.n}", image=np.zeros((4, 4), np.uint8), source="cam", captured_at=at
                )
                time.sleep(0.005)

        def stats(self) -> SourceStats:
            return SourceStats()

        def close(self) -> None:
            pass

    board = TriggerBoard(5.0)
    src = TriggeredSource(Camera(), board)
    stop = threading.Event()
    got: list[Any] = []

    def consume() -> None:
        for item in src.frames(stop.is_set):
            got.append(item)
            if len(got) == 2:
                stop.set()

    t = threading.Thread(target=consume)
    t.start()
    assert board.trigger("A", "test").accepted
    assert board.trigger("B", "test").accepted
    t.join(5)
    board.close()
    assert [f.key for f in got] == ["A", "B"]
    assert [f.path for f in got] == [None, None]
    assert src.stats().dropped == 3  # the three stale frames were not given to a part
    assert src.stats().total is None
