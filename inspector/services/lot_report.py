"""Lot and shift reports: counts, yield, ERROR parts, a Pareto of reject reasons, the defect rate
per hour, reviewed false rejects and escapes, and the model and recipe versions used.

:func:`lot_report` / :func:`shift_report` read the log (the same rows the counters count);
:func:`render_html` writes one self-contained HTML page with inline SVG charts
(:mod:`inspector.core.svgchart`); ``inspector.ui.report_pdf`` turns the same page into a PDF
with Qt. Qt-free.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any, Literal

from sqlalchemy import func, select

from db._scope import Target, reading
from db.models import Disposition, Inspection, Lot, Model, Product, RecipeVersion, Review, Station
from inspector.core import svgchart
from inspector.core.shifts import ShiftSchedule, check_label
from inspector.services.lots import LotInfo, empty_counts, find_lots, yield_pct

MAX_HOURS = 72  # longer spans are shown per day
REVIEW_EXAMPLES = 20
PARETO_TOP = 12


class ReportError(LookupError):
    """Nothing to report on (unknown lot, a shift without parts)."""


@dataclass(frozen=True, slots=True)
class Bucket:
    start: datetime  # local
    label: str
    parts: int
    flagged: int  # NG + REVIEW
    errors: int

    @property
    def defect_pct(self) -> float:
        judged = self.parts - self.errors
        return 100.0 * self.flagged / judged if judged else 0.0


@dataclass(frozen=True, slots=True)
class VersionUse:
    model_name: str
    model_sha256: str
    recipe_name: str
    recipe_version: int
    parts: int
    first_at: datetime
    last_at: datetime


@dataclass(slots=True)
class ReportData:
    kind: Literal["lot", "shift"]
    key: str  # the lot id or the shift label
    station: str | None  # the station filter (None: every station)
    stations: list[str] = field(default_factory=list)
    products: list[str] = field(default_factory=list)
    lots: list[LotInfo] = field(default_factory=list)
    window: tuple[datetime | None, datetime | None] = (None, None)  # lot start/end, shift bounds
    first_at: datetime | None = None
    last_at: datetime | None = None
    counts: dict[str, int] = field(default_factory=empty_counts)
    pareto: list[tuple[str, int]] = field(default_factory=list)
    buckets: list[Bucket] = field(default_factory=list)
    bucket_unit: str = "hour"
    reviewed: int = 0
    false_rejects: int = 0  # reviewed: flagged by the station, the part is good
    escapes: int = 0  # reviewed: passed (OK) by the station, the part is defective
    confirmed_ng: int = 0
    confirmed_ok: int = 0
    review_examples: list[dict[str, Any]] = field(default_factory=list)
    versions: list[VersionUse] = field(default_factory=list)
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def yield_pct(self) -> float | None:
        return yield_pct(self.counts)

    @property
    def errors(self) -> int:
        return self.counts.get("ERROR", 0)

    @property
    def title(self) -> str:
        return f"Lot {self.key}" if self.kind == "lot" else f"Shift {self.key}"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["lots"] = [asdict(lot) for lot in self.lots]
        d["total"], d["yield_pct"], d["errors"] = self.total, self.yield_pct, self.errors
        return _jsonable(d)


def _jsonable(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    return v


# -- reasons ---------------------------------------------------------------------------------------
_CATEGORIES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^\d+ regions? > max"), "too many regions"),
    (re.compile(r"^region \d+: area .* px >"), "region area too large"),
    (re.compile(r"^defect area .* % >"), "defect area ratio too large"),
    (re.compile(r"^region \d+: level .* (>= review|in review band)"), "defect level in review band"),
    (re.compile(r"^region \d+: level .* >="), "defect level"),
]


def reason_categories(verdict: str, reasons: list[str], error_stage: str) -> set[str]:
    """The reject reasons of one part, as Pareto categories (each counted once per part)."""
    if verdict == "ERROR":
        return {f"ERROR: {error_stage or 'not inspected'}"}
    out: set[str] = set()
    for r in reasons:
        for pattern, name in _CATEGORIES:
            if pattern.search(r):
                out.add(name)
                break
        else:
            if not r.startswith("treated as"):
                out.add(re.sub(r"\d+(\.\d+)?", "#", r)[:60])
    return out or {"(no reason recorded)"}


# -- gathering ---------------------------------------------------------------------------------------
def lot_report(db: Target, code: str, station: str | None = None) -> ReportData:
    """The report of lot ``code`` (every station that ran a lot with this id, or ``station``'s)."""
    lots = find_lots(db, code, station)
    if not lots:
        where = f" on station {station!r}" if station else ""
        raise ReportError(f"no lot {code.strip()!r}{where}")
    data = ReportData("lot", lots[0].code, station, lots=lots)
    starts = [lot.started_at for lot in lots]
    ends = [lot.ended_at for lot in lots]
    data.window = (min(starts), None if any(e is None for e in ends) else max(e for e in ends if e))
    _fill(db, data, Inspection.lot_id.in_([lot.id for lot in lots]))
    return data


def shift_report(
    db: Target, label: str, station: str | None = None, schedule: ShiftSchedule | None = None
) -> ReportData:
    """The report of shift ``label`` (``YYYY-MM-DD/N``) over every station, or ``station``'s."""
    label = check_label(label)
    data = ReportData("shift", label, station)
    try:
        shift = (schedule or ShiftSchedule.default()).shift(label)
        data.window = (shift.start, shift.end)
    except ValueError:  # another schedule named it: the rows still say which shift they were in
        pass
    where = Inspection.shift == label
    if station is not None:
        where = where & (
            Inspection.station_id == select(Station.id).where(Station.name == station).scalar_subquery()
        )
    _fill(db, data, where)
    if data.total == 0:
        raise ReportError(
            f"no parts logged in shift {label}" + (f" on station {station!r}" if station else "")
        )
    return data


def _fill(db: Target, data: ReportData, where: Any) -> None:
    with reading(db) as s:
        times: list[tuple[datetime, str]] = []
        counts = empty_counts()
        for at, verdict in s.execute(select(Inspection.inspected_at, Inspection.verdict).where(where)):
            times.append((at, str(verdict)))
            counts[str(verdict)] = counts.get(str(verdict), 0) + 1
        data.counts = counts
        if times:
            data.first_at = min(t for t, _ in times)
            data.last_at = max(t for t, _ in times)
        data.buckets, data.bucket_unit = _buckets(times)
        pareto: Counter[str] = Counter()
        q = select(Inspection.verdict, Inspection.reasons, Inspection.error_stage).where(
            where, Inspection.verdict != "OK"
        )
        for verdict, reasons, stage in s.execute(q):
            pareto.update(reason_categories(str(verdict), list(reasons or []), str(stage or "")))
        data.pareto = pareto.most_common(PARETO_TOP)
        rest = sum(pareto.values()) - sum(n for _, n in data.pareto)
        if rest:
            data.pareto.append(("(other reasons)", rest))
        data.stations = sorted(
            str(n)
            for n in s.scalars(
                select(Station.name).where(
                    Station.id.in_(select(Inspection.station_id).where(where).distinct())
                )
            )
        )
        data.products = sorted(
            str(n)
            for n in s.scalars(
                select(Product.name).where(
                    Product.id.in_(select(Inspection.product_id).where(where).distinct())
                )
            )
        )
        if data.kind == "lot":
            names = {lot.product for lot in data.lots if lot.product}
            data.products = sorted(set(data.products) | names)
        vq = (
            select(
                Model.name,
                Model.sha256,
                RecipeVersion.name,
                RecipeVersion.version,
                func.count(),
                func.min(Inspection.inspected_at),
                func.max(Inspection.inspected_at),
            )
            .select_from(Inspection)
            .join(Model, Model.id == Inspection.model_id)
            .join(RecipeVersion, RecipeVersion.id == Inspection.recipe_id)
            .where(where)
            .group_by(Model.name, Model.sha256, RecipeVersion.name, RecipeVersion.version)
        )
        data.versions = sorted(
            (
                VersionUse(str(a), str(b), str(c), int(d), int(n), lo, hi)
                for a, b, c, d, n, lo, hi in s.execute(vq)
            ),
            key=lambda v: v.first_at,
        )
        _reviews(s, data, where)


def _reviews(s: Any, data: ReportData, where: Any) -> None:
    latest = (
        select(Review.disposition)
        .where(Review.inspection_id == Inspection.id)
        .order_by(Review.at.desc(), Review.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    latest_by = (
        select(Review.by)
        .where(Review.inspection_id == Inspection.id)
        .order_by(Review.at.desc(), Review.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    q = (
        select(
            Inspection.id, Inspection.source_key, Inspection.verdict, latest.label("d"), latest_by.label("by")
        )
        .where(where, Inspection.id.in_(select(Review.inspection_id)))
        .order_by(Inspection.inspected_at)
    )
    for iid, key, verdict, disposition, by in s.execute(q):
        data.reviewed += 1
        d = str(disposition)
        if d == Disposition.FALSE_REJECT.value:
            data.false_rejects += 1
        elif d == Disposition.MISSED_DEFECT.value:
            data.escapes += 1
        elif d == Disposition.CONFIRM_NG.value:
            data.confirmed_ng += 1
        elif d == Disposition.CONFIRM_OK.value:
            data.confirmed_ok += 1
        if (
            d in (Disposition.FALSE_REJECT.value, Disposition.MISSED_DEFECT.value)
            and len(data.review_examples) < REVIEW_EXAMPLES
        ):
            data.review_examples.append(
                {"id": int(iid), "key": str(key), "verdict": str(verdict), "review": d, "by": str(by)}
            )


def _buckets(times: list[tuple[datetime, str]]) -> tuple[list[Bucket], str]:
    if not times:
        return [], "hour"
    local = [(t.astimezone(), v) for t, v in times]
    first = min(t for t, _ in local)
    last = max(t for t, _ in local)
    hourly = (last - first) <= timedelta(hours=MAX_HOURS)
    unit = "hour" if hourly else "day"

    def floor(t: datetime) -> datetime:
        return (
            t.replace(minute=0, second=0, microsecond=0)
            if hourly
            else t.replace(hour=0, minute=0, second=0, microsecond=0)
        )

    step = timedelta(hours=1) if hourly else timedelta(days=1)
    parts: Counter[datetime] = Counter()
    flagged: Counter[datetime] = Counter()
    errors: Counter[datetime] = Counter()
    for t, v in local:
        k = floor(t)
        parts[k] += 1
        if v in ("NG", "REVIEW"):
            flagged[k] += 1
        elif v == "ERROR":
            errors[k] += 1
    out: list[Bucket] = []
    k = floor(first)
    span_days = last.date() != first.date()
    while k <= last:
        if hourly:
            label = k.strftime("%d %H:00") if span_days else k.strftime("%H:00")
        else:
            label = k.strftime("%m-%d")
        out.append(Bucket(k, label, parts[k], flagged[k], errors[k]))
        k = (k + step).astimezone()  # across a DST change the wall clock is right again
    return out, unit


# -- text and HTML --------------------------------------------------------------------------------------
def _when(t: datetime | None) -> str:
    return t.astimezone().strftime("%Y-%m-%d %H:%M") if t is not None else "–"


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v:.1f} %"


def text_summary(data: ReportData) -> str:
    c = data.counts
    lines = [
        f"{data.title}" + (f" · station {data.station}" if data.station else ""),
        f"  stations: {', '.join(data.stations) or '–'} · products: {', '.join(data.products) or '–'}",
        f"  window: {_when(data.window[0])} – {_when(data.window[1]) if data.window[1] else 'open'}"
        f" · parts {_when(data.first_at)} – {_when(data.last_at)}",
        f"  parts {data.total}: OK {c['OK']}  NG {c['NG']}  REVIEW {c['REVIEW']}  ERROR {c['ERROR']}"
        f" · yield {_pct(data.yield_pct)}",
        f"  reviewed {data.reviewed}: false rejects {data.false_rejects}, escapes {data.escapes}",
    ]
    if data.pareto:
        lines.append("  reject reasons: " + "; ".join(f"{r} {n}" for r, n in data.pareto[:5]))
    for v in data.versions:
        lines.append(
            f"  model {v.model_name} · {v.model_sha256[:8]}, recipe {v.recipe_name} v{v.recipe_version}: "
            f"{v.parts} parts"
        )
    return "\n".join(lines)


def charts(data: ReportData) -> dict[str, str]:
    """The report's charts as SVG, by name."""
    labels = [r for r, _ in data.pareto]
    counts = [n for _, n in data.pareto]
    rate = svgchart.bars_over_time(
        [b.label for b in data.buckets],
        [round(b.defect_pct, 1) for b in data.buckets],
        counts=[b.parts for b in data.buckets],
        note=f"bar: NG + REVIEW of the parts judged in that {data.bucket_unit}; number: parts inspected",
    )
    return {"pareto": svgchart.pareto(labels, counts), "rate": rate}


_CSS = """
body { font-family: 'DejaVu Sans', Arial, Helvetica, sans-serif; color: #222; margin: 24px; }
h1 { font-size: 22px; margin: 0 0 4px 0; } h2 { font-size: 16px; margin: 22px 0 6px 0; }
table { border-collapse: collapse; } td, th { padding: 4px 10px; text-align: left; }
th { background: #eef1f5; } tr.rule td { border-top: 1px solid #d8dde3; }
td.num { text-align: right; } .muted { color: #666; font-size: 12px; }
.tile { font-size: 22px; font-weight: bold; } .ok { color: #2e7d32; } .ng { color: #c62828; }
.review { color: #ef6c00; } .error { color: #6a1b9a; }
"""


def _ended(lot: LotInfo) -> str:
    return f"{_when(lot.ended_at)} ({escape(lot.ended_by or '')})" if lot.ended_at else "open"


def render_html(data: ReportData, *, images: dict[str, str] | None = None, image_width: int = 640) -> str:
    """One self-contained HTML page. ``images``: chart name -> image URL to use instead of inline
    SVG (the PDF writer renders the charts to images Qt's HTML subset can show)."""
    c = data.counts
    svgs = charts(data) if images is None else {}

    def chart(name: str) -> str:
        if images is not None:
            return f"<p><img src='{escape(images[name])}' width='{image_width}'/></p>"
        return f"<div>{svgs[name]}</div>"

    lots_rows = "".join(
        f"<tr class='rule'><td>{escape(lot.code)}</td><td>{escape(lot.station)}</td>"
        f"<td>{escape(lot.product or '–')}</td><td>{_when(lot.started_at)} ({escape(lot.started_by)})</td>"
        f"<td>{_ended(lot)}</td></tr>"
        for lot in data.lots
    )
    versions = "".join(
        f"<tr class='rule'><td>{escape(v.model_name)} · {escape(v.model_sha256[:12])}</td>"
        f"<td>{escape(v.recipe_name)} v{v.recipe_version}</td><td class='num'>{v.parts}</td>"
        f"<td>{_when(v.first_at)} – {_when(v.last_at)}</td></tr>"
        for v in data.versions
    )
    examples = "".join(
        f"<tr class='rule'><td class='num'>{e['id']}</td><td>{escape(e['key'][-60:])}</td>"
        f"<td>{e['verdict']}</td>"
        f"<td>{'false reject' if e['review'] == 'false_reject' else 'escape (missed defect)'}</td>"
        f"<td>{escape(e['by'])}</td></tr>"
        for e in data.review_examples
    )
    window_end = _when(data.window[1]) if data.window[1] else "open"
    scope = f" · station {escape(data.station)}" if data.station else ""
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'/>",
        f"<title>{escape(data.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(data.title)}{scope}</h1>",
        f"<p class='muted'>Products: {escape(', '.join(data.products) or '–')} · stations: "
        f"{escape(', '.join(data.stations) or '–')}<br/>"
        f"{'Lot' if data.kind == 'lot' else 'Shift'}: {_when(data.window[0])} – {window_end} · "
        "parts inspected "
        f"{_when(data.first_at)} – {_when(data.last_at)}</p>",
        "<table cellspacing='0' cellpadding='6'><tr>",
        "<th>Parts</th><th>OK</th><th>NG</th><th>REVIEW</th><th>ERROR</th><th>Yield</th></tr><tr>",
        f"<td class='tile'>{data.total}</td><td class='tile ok'>{c['OK']}</td>",
        f"<td class='tile ng'>{c['NG']}</td>",
        f"<td class='tile review'>{c['REVIEW']}</td><td class='tile error'>{c['ERROR']}</td>",
        f"<td class='tile'>{_pct(data.yield_pct)}</td></tr></table>",
        "<p class='muted'>Yield = OK / all parts; ERROR parts (not inspected) count as not passed.</p>",
        "<h2>Reject reasons</h2>",
        chart("pareto"),
        f"<h2>Defect rate per {data.bucket_unit}</h2>",
        chart("rate"),
        "<h2>Reviews</h2>",
        f"<p>{data.reviewed} parts reviewed: <b>{data.false_rejects}</b> false rejects (rejected, the "
        f"part is good), <b>{data.escapes}</b> escapes (passed, the part is defective), "
        f"{data.confirmed_ng} confirmed NG, "
        f"{data.confirmed_ok} confirmed OK.</p>",
    ]
    if examples:
        parts.append(
            "<table cellspacing='0' cellpadding='4'><tr><th>#</th><th>Part</th><th>Verdict</th>"
            "<th>Review</th>"
            f"<th>By</th></tr>{examples}</table>"
        )
    parts += [
        "<h2>Model and recipe versions</h2>",
        "<table cellspacing='0' cellpadding='4'><tr><th>Model</th><th>Recipe</th><th>Parts</th>"
        "<th>When</th></tr>",
        versions or "<tr><td colspan='4'>–</td></tr>",
        "</table>",
    ]
    if lots_rows:
        parts.append(
            "<h2>Lots</h2><table cellspacing='0' cellpadding='4'><tr><th>Lot</th><th>Station</th>"
            "<th>Product</th>"
            f"<th>Started</th><th>Ended</th></tr>{lots_rows}</table>"
        )
    parts.append(
        f"<p class='muted'>Generated {_when(data.generated_at)} by Defect Inspector from the verdict log.</p>"
        "</body></html>"
    )
    return "".join(parts)


def lot_report_for(db: Target, lot_id: int) -> ReportData:
    """The report of the lot with row id ``lot_id`` (its code, on its station)."""
    with reading(db) as s:
        got = s.execute(
            select(Lot.code, Station.name).join(Station, Station.id == Lot.station_id).where(Lot.id == lot_id)
        ).one_or_none()
    if got is None:
        raise ReportError(f"no lot with id {lot_id}")
    return lot_report(db, got[0], got[1])
