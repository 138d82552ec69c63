"""Shifts by schedule, lots (start/end, one open per station, counters from the log), lot and
shift reports (numbers, HTML with charts, PDF), CSV export, and ``inspector report``."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from db import queries
from db.models import Inspection
from db.session import Database, open_db
from db.writer import RowContext, VerdictWriter
from inspector.cli.main import main
from inspector.core.recipe import Recipe
from inspector.core.shifts import ShiftSchedule, check_label
from inspector.core.types import Verdict
from inspector.services import lot_report, lots
from inspector.services.lots import LotError
from tests.db_factories import make_result

CET = timezone(timedelta(hours=1))
T0 = datetime(2026, 11, 28, 6, 30, tzinfo=CET)


@pytest.fixture
def db(tmp_path: Path) -> Database:
    d = open_db(f"sqlite:///{tmp_path / 'l.db'}")
    yield d
    d.dispose()


# -- shifts ------------------------------------------------------------------------------------
def test_shift_labels_night_shift_belongs_to_the_day_it_started():
    s = ShiftSchedule.parse("06:00, 14:00 22:00", tz=CET)
    assert s.text() == "06:00,14:00,22:00"
    assert s.label(datetime(2026, 11, 28, 6, 0, tzinfo=CET)) == "2026-11-28/1"
    assert s.label(datetime(2026, 11, 28, 13, 59, tzinfo=CET)) == "2026-11-28/1"
    assert s.label(datetime(2026, 11, 28, 14, 0, tzinfo=CET)) == "2026-11-28/2"
    assert s.label(datetime(2026, 11, 28, 23, 0, tzinfo=CET)) == "2026-11-28/3"
    assert s.label(datetime(2026, 11, 29, 2, 0, tzinfo=CET)) == "2026-11-28/3"  # after midnight
    assert s.label(datetime(2026, 11, 29, 1, 0, tzinfo=UTC)) == "2026-11-28/3"  # 02:00 CET
    night = s.shift("2026-11-28/3")
    assert (night.start, night.end) == (
        datetime(2026, 11, 28, 22, tzinfo=CET),
        datetime(2026, 11, 29, 6, tzinfo=CET),
    )
    assert s.previous(s.shift("2026-11-28/1")).label == "2026-11-27/3"
    one = ShiftSchedule.parse("07:30", tz=CET)
    assert one.label(datetime(2026, 11, 28, 7, 0, tzinfo=CET)) == "2026-11-27/1"


@pytest.mark.parametrize("bad", ["", "6", "25:00", "06:00,06:00", "06:61"])
def test_bad_schedules_are_refused(bad):
    with pytest.raises(ValueError, match="shift"):
        ShiftSchedule.parse(bad)


def test_shift_labels_are_checked():
    assert check_label(" 2026-11-28/2 ") == "2026-11-28/2"
    for bad in ("2026-11-28", "2026-13-01/1", "yesterday/1"):
        with pytest.raises(ValueError, match=r"shift|month"):
            check_label(bad)
    with pytest.raises(ValueError, match=r"shifts 1\.\.3"):
        ShiftSchedule.parse("06:00,14:00,22:00").shift("2026-11-28/4")


# -- lots --------------------------------------------------------------------------------------
def test_one_open_lot_per_station_ids_used_once(db):
    lot = lots.start_lot(db, "st1", "  L-42 ", "anna")
    assert (lot.code, lot.station, lot.is_open, lot.started_by) == ("L-42", "st1", True, "anna")
    assert lots.start_lot(db, "st1", "L-42", "ben").id == lot.id  # the open lot again
    with pytest.raises(LotError, match="still open"):
        lots.start_lot(db, "st1", "L-43", "anna")
    assert lots.start_lot(db, "st2", "L-42", "carl").id != lot.id  # another station, the same lot id
    assert lots.open_lot(db, "st1").id == lot.id
    ended, counts = lots.end_lot(db, "st1", "anna")
    assert (ended.ended_by, counts) == ("anna", lots.empty_counts())
    assert lots.open_lot(db, "st1") is None
    with pytest.raises(LotError, match="used once"):
        lots.start_lot(db, "st1", "L-42", "anna")
    with pytest.raises(LotError, match="no open lot"):
        lots.end_lot(db, "st1", "anna")
    for bad in ("", "   ", "a\x00b", "x" * 201):
        with pytest.raises(LotError):
            lots.check_code(bad)
    actions = [(e.action, e.actor) for e in queries.audit_events(db)]
    assert ("lot.start", "anna") in actions
    assert ("lot.end", "anna") in actions
    assert [x.code for x in lots.find_lots(db, "L-42")] == ["L-42", "L-42"]


def write_parts(
    db: Database,
    station: str,
    context: RowContext,
    verdicts: list[Verdict],
    start: datetime = T0,
    step_min: float = 2.0,
    key: str = "p",
) -> list[int]:
    w = VerdictWriter(db, station, recipes=[Recipe()], context=context)
    futs = []
    for i, v in enumerate(verdicts):
        r = make_result(f"/d/{key}{i}.png", v, inspected_at=start + timedelta(minutes=step_min * i))
        if v is Verdict.ERROR:
            from inspector.core.pipeline import error_result

            r = error_result(
                r.frame, "cannot decode", "read", model_sha256=r.model_sha256, recipe=Recipe(), backend="cpu"
            )
            r.inspected_at = start + timedelta(minutes=step_min * i)
        futs.append(w.submit(r))
    w.close()
    return [f.result() for f in futs]


def test_counters_come_from_the_log_and_survive_a_restart(db, tmp_path):
    shifts = ShiftSchedule.parse("06:00,14:00,22:00", tz=CET)
    lot = lots.start_lot(db, "st1", "L-1", "anna")
    write_parts(db, "st1", RowContext(lot_id=lot.id, shifts=shifts), [Verdict.OK] * 5 + [Verdict.NG] * 2)
    write_parts(db, "st1", RowContext(shifts=shifts), [Verdict.OK] * 3, key="x")  # no lot
    db.dispose()
    again = open_db(f"sqlite:///{tmp_path / 'l.db'}")  # a restart
    try:
        resumed = lots.open_lot(again, "st1")
        assert resumed is not None
        assert lots.lot_counts(again, resumed.id) == {"OK": 5, "NG": 2, "REVIEW": 0, "ERROR": 0}
        assert lots.shift_counts(again, "2026-11-28/1") == {"OK": 8, "NG": 2, "REVIEW": 0, "ERROR": 0}
        assert lots.shift_counts(again, "2026-11-28/1", station="other") == lots.empty_counts()
        assert lots.recent_shifts(again) == ["2026-11-28/1"]
        assert lots.yield_pct({"OK": 8, "NG": 2}) == pytest.approx(80.0)
    finally:
        again.dispose()


# -- reports -----------------------------------------------------------------------------------
@pytest.fixture
def lot_with_parts(db):
    shifts = ShiftSchedule.parse("06:00,14:00,22:00", tz=CET)
    lot = lots.start_lot(db, "st1", "LOT-7", "anna")
    verdicts = [Verdict.OK] * 20 + [Verdict.NG] * 4 + [Verdict.REVIEW] * 2 + [Verdict.ERROR] * 2
    ids = write_parts(db, "st1", RowContext(lot_id=lot.id, shifts=shifts), verdicts, step_min=5)
    queries.add_review(db, ids[20], "false_reject", by="qa-ben")  # an NG that was good
    queries.add_review(db, ids[0], "missed_defect", by="qa-ben")  # an OK that was bad: an escape
    queries.add_review(db, ids[21], "confirm_ng", by="qa-ben")
    lots.end_lot(db, "st1", "anna")
    return lot, ids


def test_lot_report_numbers_match_the_log(db, lot_with_parts):
    data = lot_report.lot_report(db, "LOT-7")
    with db.read() as s:
        rows = s.query(Inspection).filter(Inspection.lot_id == lot_with_parts[0].id).all()
    from collections import Counter

    assert data.counts == {**lots.empty_counts(), **Counter(r.verdict for r in rows)}
    assert (data.total, data.errors) == (28, 2)
    assert data.yield_pct == pytest.approx(100 * 20 / 28)
    assert (data.reviewed, data.false_rejects, data.escapes, data.confirmed_ng) == (3, 1, 1, 1)
    assert {e["review"] for e in data.review_examples} == {"false_reject", "missed_defect"}
    pareto = dict(data.pareto)
    assert pareto == {"defect level": 6, "ERROR: read": 2}  # the test rows' NG and REVIEW share a reason
    assert data.pareto[0] == ("defect level", 6)  # largest first
    assert sum(b.parts for b in data.buckets) == 28
    assert data.bucket_unit == "hour"
    assert [(v.recipe_name, v.recipe_version, v.parts) for v in data.versions] == [("default", 1, 28)]
    assert data.stations == ["st1"]
    assert data.window[1] is not None  # ended
    text = lot_report.text_summary(data)
    assert "parts 28: OK 20  NG 4  REVIEW 2  ERROR 2" in text
    page = lot_report.render_html(data)
    assert page.count("<svg") == 2
    assert "Lot LOT-7" in page
    assert "false rejects" in page
    with pytest.raises(lot_report.ReportError, match="no lot"):
        lot_report.lot_report(db, "LOT-8")


def test_shift_report_and_reason_categories(db, lot_with_parts):
    data = lot_report.shift_report(
        db, "2026-11-28/1", schedule=ShiftSchedule.parse("06:00,14:00,22:00", tz=CET)
    )
    assert data.total == 28
    assert data.window == (datetime(2026, 11, 28, 6, tzinfo=CET), datetime(2026, 11, 28, 14, tzinfo=CET))
    with pytest.raises(lot_report.ReportError, match="no parts"):
        lot_report.shift_report(db, "2026-11-28/2")
    cats = lot_report.reason_categories
    assert cats("NG", ["2 regions > max 0", "treated as NG (recipe on_error)"], "") == {"too many regions"}
    assert cats("NG", ["region 1: area 812 px > 500 px", "region 2: area 900 px > 500 px"], "") == {
        "region area too large"
    }
    assert cats("REVIEW", ["region 1: level 0.55 in review band [0.50, 0.70)"], "") == {
        "defect level in review band"
    }
    assert cats("ERROR", ["not inspected (infer): boom"], "infer") == {"ERROR: infer"}


def test_pdf_and_page_image(db, lot_with_parts, tmp_path):
    from inspector.ui.report_pdf import render_page_image, write_pdf

    data = lot_report.lot_report(db, "LOT-7")
    pdf = write_pdf(data, tmp_path / "lot.pdf")
    head = pdf.read_bytes()[:8]
    assert head.startswith(b"%PDF-")
    assert pdf.stat().st_size > 5000  # text and two chart images
    assert not list(tmp_path.glob("*.part"))
    img = render_page_image(data)
    assert img.width() == 900
    assert img.height() > 600


def test_csv_export_of_verdicts(db, lot_with_parts, tmp_path):
    from inspector.services.verdict_export import export_csv

    n = export_csv(db, tmp_path / "v.csv", verdict=Verdict.NG)
    assert n == 4
    with open(tmp_path / "v.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["verdict"] for r in rows] == ["NG"] * 4
    assert {r["lot"] for r in rows} == {"LOT-7"}
    assert {r["shift"] for r in rows} == {"2026-11-28/1"}
    assert rows[0]["review"] == "false_reject"
    assert json.loads(rows[0]["reasons"])
    assert export_csv(db, tmp_path / "all.csv") == 28


def test_report_cli_text_json_html_pdf(db, lot_with_parts, tmp_path, capsys, monkeypatch):
    url = str(db.url)
    monkeypatch.setenv("INSPECTOR_SHIFTS", "06:00,14:00,22:00")
    html, pdf = tmp_path / "lot.html", tmp_path / "lot.pdf"
    assert main(["report", "--lot", "LOT-7", "--db", url, "--html", str(html), "--pdf", str(pdf)]) == 0
    out = capsys.readouterr().out
    assert "parts 28: OK 20  NG 4  REVIEW 2  ERROR 2" in out
    assert "<svg" in html.read_text()
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert main(["report", "--shift", "2026-11-28/1", "--db", url, "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert (got["total"], got["counts"]["ERROR"], got["false_rejects"], got["escapes"]) == (28, 2, 1, 1)
    assert main(["report", "--lot", "NOPE", "--db", url]) == 2
    assert "no lot 'NOPE'" in capsys.readouterr().err
    assert main(["report", "--shift", "28.11.2026", "--db", url]) == 2
    assert main(["report", "--lot", "LOT-7", "--db", url, "--pdf", str(tmp_path / "missing" / "x.pdf")]) == 2
