"""``inspector replay --recipe NEW``: which logged verdicts would a recipe change flip?

Re-decides from the stored probability maps (no model run), with the same
rules code the station uses, and reports every flip.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import asdict, dataclass

from inspector.cli import exitcodes
from inspector.cli.history_cmd import key_prefix
from inspector.cli.report import check_export_path, export_rows


@dataclass(slots=True)
class FlipRow:
    inspection_id: int
    source_key: str
    old: str
    new: str
    logged_recipe: str
    new_reasons: str
    station: str = ""


def run_replay(args: argparse.Namespace) -> int:
    from db.queries import recent_with_prob_maps
    from db.session import open_db
    from inspector.core.recipe import load_recipe
    from inspector.core.whatif import ReplayRow, flip_counts, replay

    try:
        if args.export:
            check_export_path(args.export)
        recipe = load_recipe(args.recipe)
    except (OSError, ValueError) as exc:
        print(f"inspector: error: {exc}", file=sys.stderr)
        return exitcodes.USAGE
    db = None
    try:
        db = open_db(args.db)
        items = recent_with_prob_maps(
            db, args.last, station=args.station, source_key_prefix=key_prefix(args.source)
        )
    except Exception as exc:
        print(f"inspector: error: cannot read the database: {exc}", file=sys.stderr)
        return exitcodes.FATAL
    finally:
        if db is not None:  # the rows are read: no connection stays open behind them
            db.dispose()
    by_id = {it.row.id: it.row for it in items}
    flips = replay((ReplayRow(it.row.id, it.row.verdict, it.prob_png) for it in items), recipe)
    rows = [
        FlipRow(
            f.inspection_id,
            by_id[f.inspection_id].source_key,
            f.old.value,
            f.new.value,
            f"{by_id[f.inspection_id].recipe_name} v{by_id[f.inspection_id].recipe_version}",
            "; ".join(f.reasons),
            by_id[f.inspection_id].station,
        )
        for f in flips
    ]
    # many stations can log into one database: replay covers all of them unless --station says one
    stations = dict(sorted(Counter(it.row.station for it in items).items()))
    counts = flip_counts(flips)
    if args.json:
        print(
            json.dumps(
                {
                    "replayed": len(items),
                    "stations": stations,
                    "flipped": len(flips),
                    "by_kind": counts,
                    "recipe": f"{recipe.name} v{recipe.version}",
                    "flips": [asdict(r) for r in rows],
                },
                indent=1,
            )
        )
    else:
        print(
            f"replayed {len(items)} logged inspections under {recipe.name} v{recipe.version} "
            f"(from their stored probability maps)"
        )
        if len(stations) > 1 or args.station:
            print("  stations: " + ", ".join(f"{name} {n}" for name, n in stations.items()))
        print(
            f"  {len(flips)} verdicts would flip"
            + (": " + ", ".join(f"{k} {n}" for k, n in counts.items()) if counts else "")
        )
        for r in rows[:50]:
            print(f"  #{r.inspection_id:<7} {r.old:>6} -> {r.new:<6} {r.source_key}  [{r.new_reasons}]")
        if len(rows) > 50:
            print(f"  ... {len(rows) - 50} more (use --export to get them all)")
    if args.export:
        try:
            export_rows(rows, args.export)
        except OSError as exc:
            print(f"inspector: error: cannot write {args.export}: {exc}", file=sys.stderr)
            return exitcodes.FATAL
    return exitcodes.OK
