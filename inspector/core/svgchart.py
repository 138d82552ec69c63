"""A tiny SVG writer for the report charts: a Pareto chart and a bar chart over time.

Plain strings, no plotting library: the station must not need matplotlib. The same SVG goes
inline into the HTML report and, rendered by Qt, into the PDF.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from xml.sax.saxutils import escape

FONT = "font-family='DejaVu Sans, Arial, Helvetica, sans-serif'"
BAR = "#2f6fb0"
LINE = "#c0392b"
GRID = "#d8dde3"
TEXT = "#333333"


def _t(
    x: float, y: float, text: str, size: int = 11, anchor: str = "start", color: str = TEXT, extra: str = ""
) -> str:
    return (
        f"<text x='{x:.1f}' y='{y:.1f}' font-size='{size}' text-anchor='{anchor}' fill='{color}' "
        f"{FONT} {extra}>{escape(text)}</text>"
    )


def _nice_step(v: float, ticks: int = 4) -> float:
    """A round grid step so that ``ticks`` steps cover ``v``."""
    if v <= 0:
        return 1.0
    raw = v / ticks
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * mag >= raw:
            return float(m * mag)
    return float(10 * mag)


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def empty_chart(message: str, width: int = 640, height: int = 120) -> str:
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}'><rect width='100%' height='100%' fill='white'/>"
        f"{_t(width / 2, height / 2, message, 13, 'middle', '#777777')}</svg>"
    )


def pareto(
    labels: Sequence[str], counts: Sequence[int], *, title: str = "", width: int = 640, bar_height: int = 22
) -> str:
    """Horizontal bars, largest first, with the cumulative share of all counted reasons."""
    if not labels:
        return empty_chart("no rejects")
    total = sum(counts) or 1
    longest = max(len(_short(label, 34)) for label in labels)
    left, right, top = int(min(240, max(80, 16 + 6.4 * longest))), 90, 30 if title else 10
    height = top + bar_height * len(labels) + 24
    plot_w = width - left - right
    vmax = max(counts) or 1
    out = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}'>",
        "<rect width='100%' height='100%' fill='white'/>",
    ]
    if title:
        out.append(_t(8, 18, title, 13, extra="font-weight='bold'"))
    cum = 0
    for i, (label, n) in enumerate(zip(labels, counts, strict=True)):
        y = top + i * bar_height
        w = plot_w * n / vmax
        cum += n
        out.append(
            f"<rect x='{left}' y='{y + 3}' width='{max(w, 1):.1f}' height='{bar_height - 6}' fill='{BAR}'/>"
        )
        out.append(_t(left - 6, y + bar_height * 0.68, _short(label, 34), 11, "end"))
        out.append(_t(left + w + 4, y + bar_height * 0.68, f"{n}", 11))
        out.append(
            _t(width - 6, y + bar_height * 0.68, f"{100 * cum / total:.0f} % cum.", 10, "end", "#666666")
        )
    y = top + bar_height * len(labels) + 16
    out.append(_t(left, y, f"parts per reason ({total} reasons counted)", 10, color="#666666"))
    out.append("</svg>")
    return "".join(out)


def bars_over_time(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str = "",
    unit: str = "%",
    counts: Sequence[int] | None = None,
    width: int = 640,
    height: int = 240,
    y_max: float | None = None,
    note: str = "",
) -> str:
    """Vertical bars (e.g. the defect rate per hour) with the x labels thinned to fit; ``counts``
    are written above the bars (parts in that hour) when there is room; ``note`` under the axis."""
    if not labels:
        return empty_chart("no parts")
    left, right, top, bottom = 48, 12, 30 if title else 10, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    step = _nice_step(y_max if y_max is not None else max(max(values), 1e-9))
    vmax = 4 * step
    n = len(labels)
    slot = plot_w / n
    out = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}'>",
        "<rect width='100%' height='100%' fill='white'/>",
    ]
    if title:
        out.append(_t(8, 18, title, 13, extra="font-weight='bold'"))
    for k in range(5):  # grid and y labels
        v = vmax * k / 4
        y = top + plot_h - plot_h * k / 4
        out.append(f"<line x1='{left}' y1='{y:.1f}' x2='{width - right}' y2='{y:.1f}' stroke='{GRID}'/>")
        out.append(_t(left - 4, y + 4, f"{v:g}{unit}", 10, "end", "#666666"))
    every = max(1, int(n / max(1, plot_w // 56)))
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        x = left + i * slot
        h = plot_h * min(v, vmax) / vmax
        out.append(
            f"<rect x='{x + slot * 0.15:.1f}' y='{top + plot_h - h:.1f}' width='{max(slot * 0.7, 1):.1f}' "
            f"height='{h:.1f}' fill='{BAR}'/>"
        )
        if counts is not None and slot >= 22:
            out.append(_t(x + slot / 2, top + plot_h - h - 3, f"{counts[i]}", 9, "middle", "#666666"))
        if i % every == 0:
            out.append(_t(x + slot / 2, top + plot_h + 14, label, 10, "middle"))
    out.append(
        f"<line x1='{left}' y1='{top + plot_h}' x2='{width - right}' y2='{top + plot_h}' stroke='{TEXT}'/>"
    )
    if note:
        out.append(_t(left, height - 6, note, 10, color="#666666"))
    out.append("</svg>")
    return "".join(out)
