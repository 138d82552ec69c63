"""The station window with products and lots, driven through its widgets: pick a product, start a
lot (typed like a scanner, ending in Enter), run a folder, end the lot (confirmed), write the lot
report (HTML and PDF) and check it against the database; the lot survives a restart; QA saves the
current setup as a product; the product's line I/O gets the committed verdicts."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from db import queries
from db.models import Inspection
from inspector.core.model_card import load_card
from inspector.core.recipe import Recipe
from inspector.services import products
from inspector.services.products import ProductSpec, SourceSettings
from inspector.services.promotion import ensure_production_model
from inspector.ui.line_control import EndLotDialog
from tests.ui_helpers import close_window, make_window, settle

pytestmark = pytest.mark.filterwarnings("error")

NAME = "Housing A, camera 2"


def make_product(window, model: Path, folder: Path, **kw: object) -> products.StoredProduct:
    db = window.ctx.db
    card = load_card(model)
    ensure_production_model(db, card, model, "qa")  # a released model
    if queries.get_recipe(db, "housing", 2) is None:
        queries.save_recipe_version(
            db, Recipe(name="housing", version=2, min_area_px=5), "qa", "for housing A"
        )
    spec = ProductSpec(
        name=kw.pop("name", NAME),
        model_sha256=card.sha256,
        recipe_name="housing",  # type: ignore[arg-type]
        recipe_version=2,
        source=SourceSettings(kind="folder", spec=str(folder)),
        **kw,
    )
    return products.create_product(db, spec, "qa")


def pick(qtbot, window, name: str = NAME) -> None:
    picker = window.products.choose_dialog()
    qtbot.waitUntil(lambda: picker.list.count() > 0, timeout=5000)
    assert picker.select(name)
    assert name in picker.detail.text()
    qtbot.mouseClick(picker.choose_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: window.products.product is not None and window.products.product.spec.name == name,
        timeout=10000,
    )


def start_run(qtbot, window) -> None:
    live = window.live
    qtbot.mouseClick(live.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: live.last_summary is not None, timeout=20000)


@pytest.fixture
def window(qtbot, tmp_path, tiny_model, monkeypatch):
    w = make_window(qtbot, tmp_path, tiny_model, monkeypatch)
    yield w
    close_window(w)


def test_pick_product_start_lot_run_end_lot_report(qtbot, window, tiny_model, image_folder, monkeypatch):
    ctx, pc, bar = window.ctx, window.products, window.products.toolbar
    make_product(window, tiny_model, image_folder)
    pick(qtbot, window)
    # one step: model, recipe and source of the product
    assert Path(ctx.model.path) == tiny_model
    assert (ctx.recipe.name, ctx.recipe.version) == ("housing", 2)
    assert window.live.chooser.kind() == "folder"
    assert window.live.chooser.source_edit.text() == str(image_folder)
    assert NAME in bar.product_label.text()

    # a scanner types the lot id and Enter
    bar.lot_edit.setFocus()
    qtbot.keyClicks(bar.lot_edit, "LOT-100")
    qtbot.keyClick(bar.lot_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: pc.lot is not None, timeout=5000)
    assert not bar.lot_edit.isEnabled()
    assert pc.lot.product == NAME
    # no product switch while a lot is open
    assert pc.choose(NAME) is False

    start_run(qtbot, window)
    qtbot.waitUntil(lambda: pc.lot_counts is not None and sum(pc.lot_counts.values()) == 6, timeout=5000)
    assert "LOT-100" in bar.lot_label.text()
    assert "6 parts" in bar.lot_label.text()

    # "end lot" is confirmed: Cancel keeps it open, End lot ends it
    asked: list[str] = []

    def answer(result: QDialog.DialogCode):
        def exec_(dialog: EndLotDialog) -> int:
            asked.append(dialog.findChild(type(bar.lot_label)).text())
            return result

        return exec_

    monkeypatch.setattr(EndLotDialog, "exec", answer(QDialog.DialogCode.Rejected))
    qtbot.mouseClick(window.live.reset_button, Qt.MouseButton.LeftButton)  # reset = end lot while one is open
    settle(qtbot, 100)
    assert pc.lot is not None
    assert "End lot LOT-100?" in asked[0]
    monkeypatch.setattr(EndLotDialog, "exec", answer(QDialog.DialogCode.Accepted))
    qtbot.mouseClick(bar.end_lot_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pc.lot is None, timeout=5000)
    assert window.live.counters.total == 0  # the next lot counts from zero
    assert bar.lot_edit.isEnabled()
    assert bar.lot_edit.text() == ""

    # the lot report: HTML and PDF, the same counts as the database
    dialog = bar.open_report()
    qtbot.waitUntil(lambda: dialog.lot_box.findData("LOT-100") >= 0, timeout=5000)
    assert dialog.lot_box.currentData() == "LOT-100"
    assert dialog.generate()
    qtbot.waitUntil(lambda: len(dialog.written) == 2, timeout=15000)
    with ctx.db.read() as s:
        rows = s.query(Inspection).all()
    assert len(rows) == 6
    assert {r.lot_id for r in rows} == {pc.last_lot.id}
    assert {r.product_id for r in rows} == {pc.product.id}
    assert all(r.shift for r in rows)
    db_counts = Counter(r.verdict for r in rows)
    assert {k: v for k, v in dialog.data.counts.items() if v} == dict(db_counts)
    html = next(p for p in dialog.written if p.suffix == ".html")
    pdf = next(p for p in dialog.written if p.suffix == ".pdf")
    assert html.parent == Path(window.ctx.settings.fileName()).parent / "data" / "reports"
    page = html.read_text()
    assert "Lot LOT-100" in page
    assert f"<td class='tile ok'>{db_counts['OK']}</td>" in page
    assert f"<td class='tile ng'>{db_counts['NG']}</td>" in page
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert "6 parts" in dialog.status_label.text()

    window.audit_log.close()  # waits for the background writes
    events = {e.action: e for e in queries.audit_events(ctx.db, limit=500)}
    assert events["product.select"].details["name"] == NAME
    assert events["lot.start"].actor == "operator"
    assert events["lot.end"].details["counts"] == {
        "OK": db_counts["OK"],
        "NG": db_counts["NG"],
        "REVIEW": 0,
        "ERROR": 0,
    }


def test_open_lot_and_product_come_back_after_a_restart(
    qtbot, tmp_path, tiny_model, image_folder, monkeypatch
):
    from tests.lineio_helpers import free_port

    first = make_window(qtbot, tmp_path, tiny_model, monkeypatch)
    try:
        mqtt = f"127.0.0.1:{free_port()}"  # no broker there: the output buffers and says so
        make_product(first, tiny_model, image_folder, line_io=products.LineSettings(mqtt=mqtt))
        pick(qtbot, first)
        assert first.products.line is not None
        assert first.products.start_lot("LOT-7")
        qtbot.waitUntil(lambda: first.products.lot is not None, timeout=5000)
        start_run(qtbot, first)
        qtbot.waitUntil(
            lambda: first.products.lot_counts is not None and sum(first.products.lot_counts.values()) == 6,
            timeout=5000,
        )
    finally:
        close_window(first)
    second = make_window(qtbot, tmp_path, tiny_model, monkeypatch, name="again")
    try:
        pc = second.products
        assert pc.lot is not None
        assert pc.lot.code == "LOT-7"
        assert pc.product is not None
        assert pc.product.spec.name == NAME
        assert pc.line is not None  # the product's line outputs run again
        assert "MQTT" in pc.line.describe()
        assert (second.ctx.recipe.name, second.ctx.recipe.version) == ("housing", 2)
        qtbot.waitUntil(
            lambda: second.live.counters.total == 6, timeout=5000
        )  # the lot's counters, from the DB
        assert "6 parts" in pc.toolbar.lot_label.text()
    finally:
        close_window(second)


def test_qa_saves_the_current_setup_as_a_product(qtbot, window, tiny_model, image_folder):
    ctx = window.ctx
    ensure_production_model(ctx.db, load_card(tiny_model), tiny_model, "qa")
    window.live.set_source("folder", str(image_folder))
    start_run(qtbot, window)  # the last part's size becomes the product's image size
    picker = window.products.choose_dialog()
    assert not picker.new_button.isEnabled()  # operators cannot
    ctx.set_role("qa", "Quinn QA")
    picker._update_buttons()
    assert not picker.new_button.isEnabled()  # nor QA: products are set up by engineers
    ctx.set_role("engineer", "Erin Engineer")
    picker._update_buttons()
    assert picker.new_button.isEnabled()
    dialog = picker.new_from_current()
    assert dialog is not None
    dialog.name_edit.setText("Bracket B")
    dialog.modbus_spin.setValue(15020)
    assert dialog.image_check.isChecked()
    assert dialog.save()
    qtbot.waitUntil(lambda: products.get_product(ctx.db, "Bracket B") is not None, timeout=5000)
    p = products.get_product(ctx.db, "Bracket B")
    assert (p.spec.image.width, p.spec.image.height, p.spec.image.channels) == (64, 64, 1)
    assert p.spec.source.spec == str(image_folder)
    assert p.spec.line_io.modbus_port == 15020
    assert p.created_by == "Erin Engineer"
    qtbot.waitUntil(lambda: picker.select("Bracket B"), timeout=5000)


def test_product_line_io_gets_the_committed_verdicts(qtbot, window, tiny_model, image_folder):
    pytest.importorskip("pymodbus")
    from pymodbus.client import ModbusTcpClient

    from tests.lineio_helpers import free_port

    port = free_port()
    make_product(
        window, tiny_model, image_folder, line_io=products.LineSettings(modbus_port=port, host="127.0.0.1")
    )
    pick(qtbot, window)
    pc = window.products
    assert pc.line is not None
    status = window.status
    status.poll_line()
    assert status.line_label.isVisible()
    assert "Modbus" in status.line_label.text()
    qtbot.waitUntil(lambda: str(pc.line.status()[0].state) == "up", timeout=15000)  # the server listens
    start_run(qtbot, window)
    client = ModbusTcpClient("127.0.0.1", port=port)
    try:
        assert client.connect()

        def counts() -> list[int]:
            rr = client.read_holding_registers(5, count=4)
            return list(rr.registers)

        qtbot.waitUntil(lambda: counts() == [3, 3, 0, 0], timeout=10000)  # OK, NG, REVIEW, ERROR
    finally:
        client.close()


def test_triggered_product_answers_the_plc_after_commit_in_the_lot(qtbot, window, tiny_model, image_folder):
    pytest.importorskip("pymodbus")
    from pymodbus.client import ModbusTcpClient

    from tests.lineio_helpers import free_port

    port = free_port()
    make_product(
        window,
        tiny_model,
        image_folder,
        line_io=products.LineSettings(modbus_port=port, host="127.0.0.1", triggered=True, deadline_s=10.0),
    )
    pick(qtbot, window)
    pc = window.products
    assert pc.start_lot("LOT-T")
    qtbot.waitUntil(lambda: pc.lot is not None, timeout=5000)
    qtbot.waitUntil(lambda: str(pc.line.status()[0].state) == "up", timeout=15000)
    live = window.live
    qtbot.mouseClick(live.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: live.controller.state == "running", timeout=5000)
    client = ModbusTcpClient("127.0.0.1", port=port, timeout=5)
    try:
        assert client.connect()
        for counter in (1, 2, 3):
            assert not client.write_register(0, counter).isError()  # TRIGGER

            def answered(counter: int = counter) -> bool:
                valid = client.read_coils(0, count=1).bits[0]  # RESULT_VALID
                return bool(valid) and client.read_holding_registers(1, count=1).registers[0] == counter

            qtbot.waitUntil(answered, timeout=10000)
            with window.ctx.db.read() as s:  # the answer is the committed row, in the open lot
                row = s.query(Inspection).filter(Inspection.source_key == f"modbus:{counter}").one()
            assert row.lot_id == pc.lot.id
            code = client.read_holding_registers(2, count=1).registers[0]  # RESULT_CODE 1 OK, 2 NG
            assert code == {"OK": 1, "NG": 2}[row.verdict]
    finally:
        client.close()
        live.stop()
    qtbot.waitUntil(lambda: live.last_summary is not None, timeout=10000)
    with window.ctx.db.read() as s:
        keys = sorted(r.source_key for r in s.query(Inspection).all())
    assert keys == ["modbus:1", "modbus:2", "modbus:3"]  # one row per triggered part, nothing else


def test_history_exports_the_filtered_verdicts_as_csv(qtbot, window, tiny_model, image_folder, tmp_path):
    import csv

    from inspector.core.types import Verdict

    window.live.set_source("folder", str(image_folder))
    start_run(qtbot, window)
    window.live.controller.worker.flush_writer(5.0)
    history = window.panels["History"]
    history.verdict_box.setCurrentIndex(history.verdict_box.findData(Verdict.NG))
    out = tmp_path / "ng.csv"
    exporter = history.csv_export
    assert exporter.button.text() == "Export CSV…"
    assert exporter.export(out)
    qtbot.waitUntil(lambda: any("exported to" in t for _l, t in window.messages.messages()), timeout=10000)
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["verdict"] for r in rows] == ["NG"] * 3
    assert all(r["shift"] for r in rows)
