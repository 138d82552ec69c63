"""``inspector history``: recent verdicts from the database, filterable."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from inspector.cli import exitcodes


def parse_when(text: str) -> datetime:
    """ISO date or date-time; naive values are taken as UTC (what the DB stores)."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"not an ISO date/time: {text!r} (e.g. 2026-11-28 or 2026-11-28T06:00)") from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def key_prefix(source: str | None) -> str | None:
    """An existing path becomes the absolute prefix its files were logged under."""
    if not source:
        return None
    path = Path(source)
    if path.is_dir():
        # with the separator: /data/line1 must not also match /data/line10/x.png
        return os.path.join(str(path.resolve()), "")
    return str(path.resolve()) if path.exists() else source


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def run_history(args: argparse.Namespace) -> int:
    from db.queries import history
    from db.session import open_db

    try:
        since = parse_when(args.since) if args.since else None
    except ValueError as exc:
        print(f"inspector: error: {exc}", file=sys.stderr)
        return exitcodes.USAGE
    db = None
    try:
        db = open_db(args.db)
        rows = history(
            db,
            verdict=args.verdict,
            since=since,
            station=args.station,
            limit=args.limit,
            source_key_prefix=key_prefix(args.source),
        )
    except Exception as exc:
        print(f"inspector: error: cannot read the database: {exc}", file=sys.stderr)
        return exitcodes.FATAL
    finally:
        if db is not None:  # the rows are read: no connection stays open behind them
            db.dispose()
    if args.json:
        for r in rows:
            print(
                json.dumps(
                    {
                        "id": r.id,
                        "inspected_at": r.inspected_at.isoformat(),
                        "station": r.station,
                        "source_key": r.source_key,
                        "verdict": r.verdict.value,
                        "error_stage": r.error_stage,
                        "score": r.score,
                        "n_regions": r.n_regions,
                        "reasons": r.reasons,
                        "review": r.review,
                        "model_sha256": r.model_sha256,
                        "recipe": f"{r.recipe_name} v{r.recipe_version}",
                        "backend": r.backend,
                        "threshold": r.threshold,
                        "timings_ms": r.timings,
                    }
                )
            )
        return exitcodes.OK
    if not rows:
        print("no inspections match")
        return exitcodes.OK
    header = f"{'id':>7}  {'inspected (UTC)':19}  {'verdict':7} {'score':>5} {'reg':>3}  {'review':13}"
    # many stations can log into one database: say whose row it is when the list mixes them
    many = len({r.station for r in rows}) > 1
    print(header + (f" {'station':16}" if many else "") + " source / reasons")
    for r in rows:
        when = r.inspected_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        name = r.source_key if len(r.source_key) <= 48 else "…" + r.source_key[-47:]
        error = r.verdict.value == "ERROR"  # not inspected: no score, no regions
        score, regions = ("-", "-") if error else (f"{r.score:.2f}", str(r.n_regions))
        print(
            f"{r.id:>7}  {when:19}  {r.verdict.value:7} {score:>5} {regions:>3}  "
            f"{(r.review or '-'):13} " + (f"{_cut(r.station, 16):16} " if many else "") + name
        )
        if r.reasons and r.verdict.value != "OK":
            print(f"{'':>43}{'; '.join(r.reasons)}")
    return exitcodes.OK
