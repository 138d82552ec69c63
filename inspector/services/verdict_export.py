"""Logged verdicts to a CSV or an Excel file (History's "Export CSV…" / "Export Excel…").

Both hold the same columns (:data:`COLUMNS`) and rows (:func:`iter_rows`: the filter's rows, oldest
first, with product, lot and shift).

* CSV: UTF-8 with a byte-order mark, so spreadsheet programs (Excel included) read the names
  right; a text cell that starts with ``= + - @`` gets a leading apostrophe so a spreadsheet shows
  it as text instead of running it as a formula.
* Excel (``.xlsx``, openpyxl, streamed in write-only mode): numbers are numbers, the time is the
  ISO text of the log (Excel has no time zones), every text cell is stored as text (never a
  formula) and characters Excel cannot hold (control characters) become U+FFFD. More rows than a
  sheet holds go on to "verdicts (2)", "verdicts (3)"...

Written to a temporary file and renamed, so a failed or cancelled export never leaves half a file
under the chosen name. Qt-free.
"""

from __future__ import annotations

import contextlib
import csv
import json
import re
from collections.abc import Iterator
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
SHEET_ROWS = 1_048_575  # an Excel sheet's rows, less the header
SHEET = "verdicts"
# what an Excel cell cannot hold (openpyxl refuses it): control characters but tab, LF and CR
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


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


def iter_rows(db: Target, state: ProgressState | None = None, **filters: Any) -> Iterator[list[Any]]:
    """Every inspection matching ``filters`` (the keyword arguments of ``db.history.history``:
    verdict, since, until, source, reviewed, station, source_key_prefix), oldest first, as
    :data:`COLUMNS` values (numbers as numbers). Raises InterruptedError once ``state`` is
    cancelled (checked per page)."""
    offset = 0
    while True:
        rows = history(db, limit=PAGE, offset=offset, order="asc", **filters)
        if not rows:
            return
        extras = _extras(db, [r.id for r in rows])
        for r in rows:
            product, lot, shift = extras.get(r.id, ("", "", ""))
            yield [
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
                float(r.score),
                r.n_regions,
                float(r.area_ratio),
                json.dumps(list(r.reasons), ensure_ascii=False),
                r.review or "",
                r.model_sha256,
                r.recipe_name,
                r.recipe_version,
                r.backend,
                r.threshold,
            ]
        offset += len(rows)
        if state is not None:
            state.progress(offset, None, f"{offset} rows")
            if state.cancelled():
                raise InterruptedError("export cancelled")


def _csv_value(column: str, v: object) -> object:
    if column == "score":
        return f"{v:.4f}"
    if column == "area_ratio":
        return f"{v:.6f}"
    return _cell(v)


def export_csv(db: Target, path: Path, state: ProgressState | None = None, **filters: Any) -> int:
    """The rows of :func:`iter_rows` as CSV. Returns the number of rows written; stops early
    (keeping nothing) when ``state`` is cancelled."""
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    n = 0
    try:
        with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
            out = csv.writer(fh)
            out.writerow(COLUMNS)
            for row in iter_rows(db, state, **filters):
                out.writerow([_csv_value(c, v) for c, v in zip(COLUMNS, row, strict=True)])
                n += 1
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return n


def _xlsx_cell(sheet: Any, v: object) -> Any:
    from openpyxl.cell import WriteOnlyCell

    if v is None or not isinstance(v, str):
        return v
    cell = WriteOnlyCell(sheet, value=_ILLEGAL.sub("\ufffd", v))
    cell.data_type = "s"  # text, also when it starts with "=": never a formula
    return cell


def export_xlsx(
    db: Target,
    path: Path,
    state: ProgressState | None = None,
    *,
    sheet_rows: int = SHEET_ROWS,
    **filters: Any,
) -> int:
    """The rows of :func:`iter_rows` as an Excel workbook (``sheet_rows`` rows a sheet). Returns the
    number of rows written; stops early (keeping nothing) when ``state`` is cancelled."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    wb = Workbook(write_only=True)
    n = 0
    sheet: Any = None
    try:
        for row in iter_rows(db, state, **filters):
            if sheet is None or n % sheet_rows == 0:
                sheet = wb.create_sheet(SHEET if n == 0 else f"{SHEET} ({n // sheet_rows + 1})")
                sheet.freeze_panes = "A2"
                header = []
                for name in COLUMNS:
                    cell = _xlsx_cell(sheet, name)
                    cell.font = Font(bold=True)
                    header.append(cell)
                sheet.append(header)
            sheet.append([_xlsx_cell(sheet, v) for v in row])
            n += 1
        if sheet is None:  # no rows: the header alone
            sheet = wb.create_sheet(SHEET)
            sheet.append(list(COLUMNS))
        wb.save(tmp)
        tmp.replace(path)
    except BaseException:
        for ws in wb.worksheets:  # end the sheets' streams to their temporary files
            with contextlib.suppress(Exception):
                ws.close()
        raise
    finally:
        tmp.unlink(missing_ok=True)
    return n
