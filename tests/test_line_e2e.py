"""Issue 10 end to end, on the real station window (offscreen) with the real protocol clients:

pick the product in the picker -> start a lot from the line view (L, the id typed, Enter) -> start
(Space) -> the line triggers parts over OPC UA (asyncua client) and Modbus TCP (pymodbus client)
-> each verdict reaches the clients and the MQTT subscriber (mosquitto; that part is left out when
no broker is installed) in order and only after its row is committed -> end the lot (L) -> the lot
report (R: HTML and PDF) shows the counts of the database.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

pytest.importorskip("asyncua")
pytest.importorskip("pymodbus")
pytest.importorskip("paho.mqtt")

from inspector.lineio.modbus_out import RESULT_COUNTER, RESULT_VALID, TRIGGER
from inspector.lineio.opcua_out import NAMESPACE
from inspector.services import products
from inspector.ui.line_control import EndLotDialog
from tests.lineio_helpers import Broker, Subscriber, free_port, mosquitto_binary
from tests.test_line_view import key
from tests.test_ui_products import make_product, pick
from tests.ui_helpers import close_window, make_window

LOT = "LOT-E2E-1"
PARTS = 6  # the image folder's six parts: odd ones NG


class OpcUaClient:
    """An asyncua client on its own event-loop thread; calls return futures the test waits on with
    the Qt event loop running (the station's UI thread is never blocked by the test)."""

    def __init__(self, url: str, db_path: Path) -> None:
        from asyncua import Client

        self.db_path = db_path
        self.seen: list[tuple[str, bool]] = []  # (LastPartId, its row committed when the change came)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="opcua-client", daemon=True)
        self.thread.start()
        self.client = Client(url, timeout=10)
        self.ns = 0

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    async def connect(self) -> None:
        from asyncua import ua

        await self.client.connect()
        self.ns = await self.client.get_namespace_index(NAMESPACE)
        outer = self

        class Handler:
            def datachange_notification(self, _node: Any, value: Any, _data: Any) -> None:
                if value:
                    outer.seen.append((value, committed(outer.db_path, source_key=value)))

        sub = await self.client.create_subscription(10, Handler())
        await sub.subscribe_data_change(
            self.client.get_node(ua.NodeId("Station.LastPartId", self.ns)), queuesize=100
        )

    async def trigger_and_wait(self, part: str) -> tuple[str, str, int, bool]:
        from asyncua import ua

        station = self.client.get_node(ua.NodeId("Station", self.ns))
        method = ua.NodeId("Station.Trigger", self.ns)
        accepted, message = await station.call_method(method, part)
        assert accepted, message
        result = ua.NodeId("Station.Result", self.ns)
        while True:
            status, verdict, _reasons, ins_id, reject = await station.call_method(result, part)
            if status == "done":
                return part, verdict, int(ins_id), bool(reject)
            assert status == "pending", status
            await asyncio.sleep(0.01)

    def close(self) -> None:
        self.run(self.client.disconnect()).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def committed(db_path: Path, *, source_key: str | None = None, inspection_id: int | None = None) -> bool:
    con = sqlite3.connect(db_path, timeout=10)
    try:
        if inspection_id is not None:
            row = con.execute("select 1 from inspection where id = ?", (inspection_id,)).fetchone()
        else:
            row = con.execute("select 1 from inspection where source_key = ?", (source_key,)).fetchone()
        return row is not None
    finally:
        con.close()


def db_rows(db_path: Path) -> list[tuple[int, str, str, int | None]]:
    con = sqlite3.connect(db_path, timeout=10)
    try:
        return con.execute("select id, source_key, verdict, lot_id from inspection order by id").fetchall()
    finally:
        con.close()


def pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(path).pages)


def test_line_end_to_end(qtbot, tmp_path, tiny_model, image_folder, monkeypatch):
    try:
        mosquitto_binary()
        broker: Broker | None = Broker(tmp_path / "broker")
    except pytest.skip.Exception:  # no broker installed: the OPC UA and Modbus parts still run
        broker = None
    window = make_window(qtbot, tmp_path, tiny_model, monkeypatch)
    db_path = tmp_path / "station.db"
    opc: OpcUaClient | None = None
    sub: Subscriber | None = None
    modbus: Any = None
    try:
        mqtt_target = None
        if broker is not None:
            broker.start()
            mqtt_target = f"127.0.0.1:{broker.port}/plant"
            sub = Subscriber(broker.port, "plant/+/verdict", client_id="e2e-mes")
            sub.on_message = lambda _t, payload: arrived.append(
                (json.loads(payload), committed(db_path, inspection_id=json.loads(payload)["inspection_id"]))
            )
        arrived: list[tuple[dict[str, Any], bool]] = []
        opcua_port, modbus_port = free_port(), free_port()
        line = products.LineSettings(
            opcua_port=opcua_port,
            modbus_port=modbus_port,
            mqtt=mqtt_target,
            host="127.0.0.1",
            triggered=True,
            deadline_s=20.0,
        )
        make_product(window, tiny_model, image_folder, line_io=line)

        # pick the product in the picker; its line I/O comes up
        pick(qtbot, window)
        pc, live, mode = window.products, window.live, window.line_view
        assert pc.line is not None
        qtbot.waitUntil(lambda: all(str(s.state) == "up" for s in pc.line.status()), timeout=20000)

        # the line view: start the lot (L, the id typed like a scanner, Enter), then the run (Space)
        key(qtbot, window, Qt.Key.Key_F11)
        assert mode.active
        key(qtbot, window, Qt.Key.Key_L)
        qtbot.keyClicks(mode.lot_dialog.edit, LOT)
        qtbot.keyClick(mode.lot_dialog.edit, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: pc.lot is not None, timeout=5000)
        key(qtbot, window, Qt.Key.Key_Space)
        qtbot.waitUntil(lambda: live.controller.state == "running", timeout=5000)
        qtbot.waitUntil(lambda: "line: OPC UA up" in mode.view.station_label.text(), timeout=5000)

        # the line triggers the parts: even ones over OPC UA, odd ones over Modbus
        from pymodbus.client import ModbusTcpClient

        opc = OpcUaClient(f"opc.tcp://127.0.0.1:{opcua_port}/defect-inspector/", db_path)
        opc.run(opc.connect()).result(15)
        modbus = ModbusTcpClient("127.0.0.1", port=modbus_port, timeout=5)
        assert modbus.connect()
        answers: list[tuple[str, str, bool]] = []  # (part id, verdict, its row committed when answered)
        for i in range(PARTS):
            if i % 2 == 0:
                fut = opc.run(opc.trigger_and_wait(f"SN-{i:04d}"))
                qtbot.waitUntil(fut.done, timeout=20000)
                part, verdict, ins_id, reject = fut.result()
                answers.append((part, verdict, committed(db_path, inspection_id=ins_id)))
                assert reject == (verdict != "OK")
            else:
                counter = i
                assert not modbus.write_register(TRIGGER, counter).isError()

                def answered(counter: int = counter) -> bool:
                    valid = modbus.read_coils(RESULT_VALID, count=1).bits[0]
                    regs = modbus.read_holding_registers(RESULT_COUNTER, count=2).registers
                    return bool(valid) and regs[0] == counter

                qtbot.waitUntil(answered, timeout=20000)
                code = modbus.read_holding_registers(RESULT_COUNTER + 1, count=1).registers[0]
                part = f"modbus:{counter}"
                answers.append(
                    (
                        part,
                        {1: "OK", 2: "NG", 3: "REVIEW", 4: "ERROR"}[code],
                        committed(db_path, source_key=part),
                    )
                )
        parts = [a[0] for a in answers]
        assert [a[1] for a in answers] == ["NG" if i % 2 else "OK" for i in range(PARTS)]
        assert all(a[2] for a in answers)  # each answer is a committed row

        # the log: one row per triggered part, in the lot, with the verdict the line got
        rows = db_rows(db_path)
        assert [r[1] for r in rows] == parts
        assert [r[2] for r in rows] == [a[1] for a in answers]
        assert {r[3] for r in rows} == {pc.lot.id}
        qtbot.waitUntil(lambda: [p for p, _ in opc.seen] == parts, timeout=10000)  # OPC UA: every part,
        assert all(ok for _, ok in opc.seen)  # in order, each only after its commit
        if sub is not None:
            qtbot.waitUntil(lambda: len(arrived) == PARTS, timeout=10000)
            assert [m["part_id"] for m, _ in arrived] == parts  # MQTT: in order,
            assert all(ok for _, ok in arrived)  # each only after its commit
            assert [m["inspection_id"] for m, _ in arrived] == [r[0] for r in rows]
            assert all(m["logged"] for m, _ in arrived)

        # the operator's screen follows: the last part and the lot's counters
        view = mode.view
        # the live panel and this view get each result as two queued calls, and a refresh of the
        # view (every 50 ms) can fall between them: the count may be one refresh ahead of the tile
        qtbot.waitUntil(
            lambda: view.counts["total"].value.text() == str(PARTS)
            and view.tile.title.text() == answers[-1][1],
            timeout=5000,
        )
        assert view.counts["NG"].value.text() == "3"
        assert view.counts["lot"].value.text() == LOT

        # stop, end the lot (L; it asks, End lot), the lot report (R): HTML and PDF
        key(qtbot, window, Qt.Key.Key_F7)
        qtbot.waitUntil(lambda: live.controller.state == "idle", timeout=20000)
        monkeypatch.setattr(EndLotDialog, "exec", lambda _d: QDialog.DialogCode.Accepted)
        key(qtbot, window, Qt.Key.Key_L)
        qtbot.waitUntil(lambda: pc.lot is None, timeout=10000)
        key(qtbot, window, Qt.Key.Key_R)
        dialog = pc.toolbar.report_dialog
        qtbot.waitUntil(lambda: dialog.lot_box.findData(LOT) >= 0, timeout=5000)
        assert dialog.lot_box.currentData() == LOT
        assert dialog.generate()
        qtbot.waitUntil(lambda: len(dialog.written) == 2, timeout=20000)
        counts = Counter(r[2] for r in db_rows(db_path))
        assert sum(counts.values()) == PARTS
        html = next(p for p in dialog.written if p.suffix == ".html").read_text()
        assert f"Lot {LOT}" in html
        for verdict, css in (("OK", "ok"), ("NG", "ng"), ("REVIEW", "review"), ("ERROR", "error")):
            assert f"<td class='tile {css}'>{counts[verdict]}</td>" in html
        text = pdf_text(next(p for p in dialog.written if p.suffix == ".pdf"))
        assert LOT in text
        tiles = f"{PARTS} {counts['OK']} {counts['NG']} {counts['REVIEW']} {counts['ERROR']}"
        assert re.search(rf"Parts OK NG REVIEW ERROR Yield {tiles} 50\.0 ?%", text), text[:400]
        dialog.close()
        key(qtbot, window, Qt.Key.Key_Escape)
        assert not mode.active
    finally:
        if window.live.controller.is_active():
            window.live.stop()
            qtbot.waitUntil(lambda: not window.live.controller.is_active(), timeout=30000)
        if modbus is not None:
            modbus.close()
        if opc is not None:
            opc.close()
        if sub is not None:
            sub.close()
        close_window(window)
        if broker is not None:
            broker.stop()
