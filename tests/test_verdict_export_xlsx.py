"""Excel export of the verdicts: the workbook holds the rows of the database, column for column as the
CSV; text that looks like a formula stays text; characters Excel cannot hold are replaced; a long
log goes on in further sheets; a cancelled export leaves no file; History's button writes it off
the UI thread with the panel's filter."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import openpyxl
import pytest

from db import queries
from db.models import Inspection, Lot, Model, Station
from db.session import Database, open_db
from db.writer import RowContext
from inspector.core.shifts import ShiftSchedule
from inspector.core.types import Verdict
from inspector.services import lots
from inspector.services.verdict_export import COLUMNS, export_csv, export_xlsx
from tests.test_lots_reports import CET, write_parts


@pytest.fixture
def db(tmp_path: Path) -> Database:
    d = open_db(f"sqlite:///{tmp_path / 'x.db'}")
    yield d
    d.dispose()


@pytest.fixture
def logged(db: Database) -> list[int]:
    shifts = ShiftSchedule.parse("06:00,14:00,22:00", tz=CET)
    lot = lots.start_lot(db, "st1", "=LOT-1", "anna")  # a lot id that looks like a formula
    verdicts = [Verdict.OK] * 5 + [Verdict.NG] * 3 + [Verdict.REVIEW] + [Verdict.ERROR] * 2
    ids = write_parts(db, "st1", RowContext(lot_id=lot.id, shifts=shifts), verdicts, key="=cmd|x\x07")
    queries.add_review(db, ids[5], "false_reject", by="qa")
    return ids


def sheet_rows(path: Path) -> tuple[list[str], list[dict[str, object]], list[str]]:
    wb = openpyxl.load_workbook(path, read_only=True)
    names = wb.sheetnames
    rows: list[dict[str, object]] = []
    header: list[str] = []
    for name in names:
        values = list(wb[name].iter_rows(values_only=True))
        header = list(values[0])
        rows += [dict(zip(header, r, strict=True)) for r in values[1:]]
    wb.close()
    return header, rows, names


def test_xlsx_rows_equal_the_database(db, logged, tmp_path):
    out = tmp_path / "v.xlsx"
    assert export_xlsx(db, out) == len(logged)
    header, rows, names = sheet_rows(out)
    assert header == COLUMNS
    assert names == ["verdicts"]
    with db.read() as s:
        got = (
            s.query(Inspection, Lot.code, Station.name, Model.sha256)
            .outerjoin(Lot, Lot.id == Inspection.lot_id)
            .join(Station, Station.id == Inspection.station_id)
            .join(Model, Model.id == Inspection.model_id)
            .order_by(Inspection.id)
        )
        db_rows = list(got)
    assert [r["id"] for r in rows] == [i.id for i, *_ in db_rows]
    for row, (ins, code, station, sha) in zip(rows, db_rows, strict=True):
        assert row["verdict"] == ins.verdict
        assert row["lot"] == code == "=LOT-1"  # stored as text, not run as a formula
        assert row["station"] == station == "st1"
        assert row["shift"] == ins.shift
        assert row["score"] == pytest.approx(ins.score)  # a number, not text
        assert row["n_regions"] == ins.n_regions
        assert row["threshold"] == pytest.approx(ins.threshold)
        assert row["model_sha256"] == sha
        assert row["error_stage"] == (ins.error_stage or None)
        assert json.loads(str(row["reasons"])) == list(ins.reasons)
        assert "\x07" not in str(row["source_key"])  # Excel cannot hold it: replaced
        assert str(row["source_key"]).startswith("/d/=cmd|x\ufffd")
    assert [r["review"] for r in rows if r["review"]] == ["false_reject"]
    wb = openpyxl.load_workbook(out)  # the cell types as Excel sees them
    cells = {c.value: c.data_type for c in wb["verdicts"][2]}
    assert cells["=LOT-1"] == "s"


def test_xlsx_and_csv_hold_the_same_rows_under_a_filter(db, logged, tmp_path):
    assert export_xlsx(db, tmp_path / "ng.xlsx", verdict=Verdict.NG) == 3
    assert export_csv(db, tmp_path / "ng.csv", verdict=Verdict.NG) == 3
    _, rows, _ = sheet_rows(tmp_path / "ng.xlsx")
    with open(tmp_path / "ng.csv", encoding="utf-8-sig", newline="") as fh:
        csv_rows = list(csv.DictReader(fh))
    assert [str(r["id"]) for r in rows] == [r["id"] for r in csv_rows]
    assert [r["verdict"] for r in rows] == ["NG"] * 3
    assert [f"{r['score']:.4f}" for r in rows] == [r["score"] for r in csv_rows]
    assert [r["inspected_at"] for r in rows] == [r["inspected_at"] for r in csv_rows]


def test_long_logs_go_on_in_further_sheets_and_cancel_keeps_nothing(db, logged, tmp_path):
    out = tmp_path / "split.xlsx"
    assert export_xlsx(db, out, sheet_rows=4) == 11
    header, rows, names = sheet_rows(out)
    assert names == ["verdicts", "verdicts (2)", "verdicts (3)"]
    assert [r["id"] for r in rows] == sorted(logged)

    class Cancelled:
        def progress(self, *_a) -> None:
            pass

        def cancelled(self) -> bool:
            return True

    with pytest.raises(InterruptedError):
        export_xlsx(db, tmp_path / "c.xlsx", Cancelled())
    assert not list(tmp_path.glob("c.xlsx*"))
    assert export_xlsx(db, tmp_path / "none.xlsx", verdict=Verdict.OK, station="elsewhere") == 0
    header, rows, _ = sheet_rows(tmp_path / "none.xlsx")
    assert (header, rows) == (COLUMNS, [])


def test_history_exports_excel_off_the_ui_thread(qtbot, tmp_path, tiny_model, image_folder, monkeypatch):
    from tests.test_ui_products import start_run
    from tests.ui_helpers import close_window, make_window

    window = make_window(qtbot, tmp_path, tiny_model, monkeypatch)
    try:
        window.live.set_source("folder", str(image_folder))
        start_run(qtbot, window)
        window.live.controller.worker.flush_writer(5.0)
        history = window.panels["History"]
        exporter = history.xlsx_export
        assert exporter.button.text() == "Export Excel…"
        assert not exporter.button.isHidden()
        assert exporter.button.parent() is history.csv_export.button.parent()  # beside "Export CSV…"
        history.verdict_box.setCurrentIndex(history.verdict_box.findData(Verdict.NG))
        out = tmp_path / "ng.xlsx"
        assert exporter.export(out)
        qtbot.waitUntil(
            lambda: any(f"exported to {out}" in t for _l, t in window.messages.messages()), timeout=10000
        )
        _, rows, _ = sheet_rows(out)
        with window.ctx.db.read() as s:
            q = s.query(Inspection).filter(Inspection.verdict == "NG").order_by(Inspection.id)
            ng = [i.id for i in q]
        assert [r["id"] for r in rows] == ng
        assert len(ng) == 3
        assert all(r["shift"] for r in rows)
        assert exporter.button.isEnabled()
    finally:
        close_window(window)
