"""Logged verdicts to a CSV file (History's "Export CSV…", a lot's or a shift's rows).

UTF-8 with a byte-order mark, so spreadsheet programs (Excel included) read the names right;
a text cell that starts with ``= + - @`` gets a leading apostrophe so a spreadsheet shows it as
text instead of running it as a formula. Written to a temporary file and renamed, so a failed
export never leaves half a file under the chosen name. Qt-free.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from db._scope import Target, reading
from db.history import history
from db.models import Inspection, Lot, Product
from inspector.core.progress import ProgressState

COLUMNS = [
    "id",
    "inspected_at",
    "station",
    "product",
    "lot",
    "shift",
    "source",
    "source_key",
    "verdict",
    "error_stage",
    "score",
    "n_regions",
    "area_ratio",
    "reasons",
    "review",
    "model_sha256",
    "recipe",
    "recipe_version",
    "backend",
    "threshold",
]
PAGE = 2000


def _cell(v: object) -> object:
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + v
    return v


def _extras(db: Target, ids: list[int]) -> dict[int, tuple[str, str, str]]:
    """(product, lot, shift) per inspection id."""
    with reading(db) as s:
        q = (
            select(Inspection.id, Product.name, Lot.code, Inspection.shift)
            .outerjoin(Product, Product.id == Inspection.product_id)
            .outerjoin(Lot, Lot.id == Inspection.lot_id)
            .where(Inspection.id.in_(ids))
        )
        return {int(i): (p or "", lot or "", sh or "") for i, p, lot, sh in s.execute(q)}


def export_csv(db: Target, path: Path, state: ProgressState | None = None, **filters: Any) -> int:
    """Every inspection matching ``filters`` (the keyword arguments of ``db.history.history``:
    verdict, since, until, source, reviewed, station, source_key_prefix), oldest first. Returns
    the number of rows written; stops early (keeping nothing) when ``state`` is cancelled."""
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    n = 0
    try:
        with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
            out = csv.writer(fh)
            out.writerow(COLUMNS)
            offset = 0
            while True:
                rows = history(db, limit=PAGE, offset=offset, order="asc", **filters)
                if not rows:
                    break
                extras = _extras(db, [r.id for r in rows])
                for r in rows:
                    product, lot, shift = extras.get(r.id, ("", "", ""))
                    out.writerow(
                        [
                            _cell(v)
                            for v in (
                                r.id,
                                r.inspected_at.isoformat(),
                                r.station,
                                product,
                                lot,
                                shift,
                                r.source,
                                r.source_key,
                                r.verdict.value,
                                r.error_stage,
                                f"{r.score:.4f}",
                                r.n_regions,
                                f"{r.area_ratio:.6f}",
                                json.dumps(list(r.reasons), ensure_ascii=False),
                                r.review or "",
                                r.model_sha256,
                                r.recipe_name,
                                r.recipe_version,
                                r.backend,
                                r.threshold,
                            )
                        ]
                    )
                n += len(rows)
                offset += len(rows)
                if state is not None:
                    state.progress(n, None, f"{n} rows")
                    if state.cancelled():
                        raise InterruptedError("export cancelled")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return n
