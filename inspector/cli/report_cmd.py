"""``inspector report --lot ID | --shift YYYY-MM-DD/N | --current-shift [--html F] [--pdf F] [--json]``.

The lot or shift report from the log: counts, yield, ERROR parts, the Pareto of reject reasons,
the defect rate per hour, reviewed false rejects and escapes, the model and recipe versions
used. A text summary on stdout; ``--html`` writes the page with its charts, ``--pdf`` the same as
a PDF (Qt, no display needed).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from inspector.cli import exitcodes


def add_parser(sub: argparse._SubParsersAction, common: Any) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    p = sub.add_parser("report", help="a lot's or a shift's report (text, HTML, PDF)")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--lot", metavar="ID", help="the lot id (as typed or scanned)")
    which.add_argument(
        "--shift", metavar="YYYY-MM-DD/N", help="a shift, e.g. 2026-11-28/1 (the day it started)"
    )
    which.add_argument("--current-shift", action="store_true", help="the shift running now")
    p.add_argument("--html", type=Path, metavar="FILE", help="write the report as an HTML page")
    p.add_argument("--pdf", type=Path, metavar="FILE", help="write the report as a PDF")
    p.add_argument("--json", action="store_true", help="print the report's numbers as JSON")
    p.add_argument(
        "--shifts", metavar="HH:MM,...", help="shift starts (default $INSPECTOR_SHIFTS or 06:00,14:00,22:00)"
    )
    common(p, "only this station's parts (default: every station that logged the lot or shift)")
    return p


def _fail(message: str, code: int = exitcodes.USAGE) -> int:
    print(f"inspector: error: {message}", file=sys.stderr)
    return code


def run_report(args: argparse.Namespace) -> int:
    from db.session import check_db_url, open_db
    from db.storable import short_error
    from inspector.core.shifts import ShiftSchedule
    from inspector.services.lot_report import ReportError, lot_report, render_html, shift_report, text_summary

    try:
        schedule = ShiftSchedule.parse(args.shifts) if args.shifts else ShiftSchedule.default()
        check_db_url(args.db)
    except ValueError as exc:
        return _fail(str(exc))
    for out in (args.html, args.pdf):
        if out is not None and not out.parent.resolve().is_dir():
            return _fail(f"folder for {out} does not exist")
    try:
        db = open_db(args.db)
    except Exception as exc:
        return _fail(f"cannot open the database: {short_error(exc)}", exitcodes.FATAL)
    try:
        if args.lot is not None:
            data = lot_report(db, args.lot, args.station)
        else:
            label = args.shift or schedule.label(datetime.now().astimezone())
            data = shift_report(db, label, args.station, schedule)
    except ReportError as exc:
        return _fail(str(exc))
    except ValueError as exc:
        return _fail(str(exc))
    finally:
        db.dispose()
    if args.json:
        print(json.dumps(data.to_dict(), indent=2))
    else:
        print(text_summary(data))
    try:
        if args.html is not None:
            tmp = args.html.with_name(args.html.name + ".part")
            tmp.write_text(render_html(data), encoding="utf-8")
            tmp.replace(args.html)
            print(f"HTML: {args.html}", file=sys.stderr)
        if args.pdf is not None:
            from inspector.ui.report_pdf import write_pdf  # Qt only when a PDF is asked for

            write_pdf(data, args.pdf)
            print(f"PDF: {args.pdf}", file=sys.stderr)
    except OSError as exc:
        return _fail(f"cannot write the report: {exc}", exitcodes.FATAL)
    return exitcodes.OK
