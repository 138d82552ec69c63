"""The Live panel's building blocks: verdict banner, counter tiles, recent-verdict strip.

An ERROR result (a part that was not inspected: unreadable image, model failure...) has no
probability map and, when the file could not be decoded, no image: every widget here shows
it in the ERROR colour and never as a pass.
"""

from __future__ import annotations

import dataclasses
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

import cv2
import numpy as np
from PySide6.QtCore import QT_TRANSLATE_NOOP, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from inspector.core.overlay import to_display_bgr
from inspector.core.postprocess import quantise_prob
from inspector.core.types import InspectionResult, Verdict
from inspector.ui.style import IDLE_COLOR, verdict_color

RATE_WINDOW_S = 5.0
ERROR_TITLE = QT_TRANSLATE_NOOP("VerdictBanner", "ERROR — not inspected")  # shown translated


@dataclass
class LiveCounters:
    """Per shift/lot counts; plain Python so tests can check the arithmetic without Qt.

    ERROR parts count in the total, so they lower the yield (OK / all parts).
    """

    counts: dict[str, int] = field(default_factory=lambda: {v.value: 0 for v in Verdict})
    since: datetime = field(default_factory=lambda: datetime.now().astimezone())
    _stamps: deque[float] = field(default_factory=lambda: deque(maxlen=2000))
    _latency: deque[float] = field(default_factory=lambda: deque(maxlen=50))

    def add(self, result: InspectionResult, now: float | None = None) -> None:
        self.counts[result.decision.verdict.value] += 1
        self._stamps.append(time.monotonic() if now is None else now)
        if not result.is_error:  # an ERROR's time is not an inspection's
            self._latency.append(float(result.timings_ms.get("total", 0.0)))

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def yield_pct(self) -> float | None:
        return 100.0 * self.counts[Verdict.OK.value] / self.total if self.total else None

    def rate(self, now: float | None = None) -> float:
        """Images per second over the last few seconds (0 when idle)."""
        now = time.monotonic() if now is None else now
        recent = [t for t in self._stamps if now - t <= RATE_WINDOW_S]
        if len(recent) < 2:
            return 0.0
        span = max(now - recent[0], 1e-3)
        return len(recent) / span

    def latency_ms(self) -> float | None:
        """Median end-to-end time per image over the last 50."""
        return float(np.median(self._latency)) if self._latency else None


class Tile(QFrame):
    """A big number with a caption."""

    def __init__(self, caption: str, tooltip: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Tile")
        self.value = QLabel("–")
        self.value.setObjectName("TileValue")
        self.value.setAlignment(Qt.AlignmentFlag.AlignCenter)
        cap = QLabel(caption)
        cap.setObjectName("TileCaption")
        cap.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(0)
        layout.addWidget(self.value)
        layout.addWidget(cap)
        self.setToolTip(tooltip)
        self.setMinimumHeight(62)
        self._color: str | None = None

    def set(self, text: str, color: str | None = None) -> None:
        # Only touch what changed: a style sheet change re-polishes the widget (~ms each).
        if text != self.value.text():
            self.value.setText(text)
        if color != self._color:
            self._color = color
            self.value.setStyleSheet(f"color: {color};" if color else "")


class CounterTiles(QWidget):
    """Total / OK / NG / REVIEW / Errors / yield / images per second / latency."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tiles = {
            "total": Tile(self.tr("Total")),
            "OK": Tile("OK"),
            "NG": Tile("NG"),
            "REVIEW": Tile(self.tr("Review")),
            "ERROR": Tile(self.tr("Errors"), self.tr("Parts not inspected (unreadable image, model "
                                                     "failure...): never a pass; the recipe's on_error says "
                                                     "whether the line rejects or reviews them")),
            "yield": Tile(self.tr("Yield"), self.tr("OK / all parts (errors included) since the counters "
                                                    "were reset")),
            "rate": Tile(self.tr("Images/s"), self.tr("over the last {seconds:.0f} s")
                                              .format(seconds=RATE_WINDOW_S)),
            "latency": Tile(self.tr("Latency ms"), self.tr("median time per image, read to verdict, last 50 "
                                                           "images")),
        }
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(6)
        # Counts on the first row, rates on the second: the eye finds NG in the same place every time.
        for name, (r, c, span) in {"total": (0, 0, 1), "OK": (0, 1, 1), "NG": (0, 2, 1), "REVIEW": (0, 3, 1),
                                   "ERROR": (0, 4, 1),
                                   "yield": (1, 0, 2), "rate": (1, 2, 1), "latency": (1, 3, 2)}.items():
            # Ignored width: equal columns from the stretch factors, whatever the numbers' widths
            self.tiles[name].setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            grid.addWidget(self.tiles[name], r, c, 1, span)
        for c in range(5):
            grid.setColumnStretch(c, 1)

    def update_from(self, counters: LiveCounters) -> None:
        c = counters.counts
        self.tiles["total"].set(f"{counters.total:,}")
        for v in Verdict:
            self.tiles[v.value].set(f"{c[v.value]:,}", verdict_color(v.value) if c[v.value] else None)
        y = counters.yield_pct
        self.tiles["yield"].set("–" if y is None else f"{y:.1f} %")
        rate = counters.rate()
        self.tiles["rate"].set(f"{rate:.1f}" if rate else "–")
        lat = counters.latency_ms()
        self.tiles["latency"].set("–" if lat is None else f"{lat:.0f}")


class VerdictBanner(QFrame):
    """The large OK / NG / REVIEW / ERROR banner with the reasons under it.

    An ERROR reads "ERROR — not inspected" in the ERROR colour, with the reason and how the
    line treats the part ("treated as NG (recipe on_error)").
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Banner")
        self.verdict_label = QLabel(self.tr("READY"))
        self.verdict_label.setObjectName("VerdictText")
        self.verdict_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.reasons_label = QLabel("")
        self.reasons_label.setObjectName("VerdictDetail")
        self.reasons_label.setWordWrap(True)
        self.reasons_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.meta_label = QLabel("")
        self.meta_label.setObjectName("VerdictDetail")
        self.meta_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.meta_label.setStyleSheet("color: rgba(255,255,255,0.75); font-size: 9pt;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.addWidget(self.verdict_label)
        layout.addWidget(self.reasons_label)
        layout.addWidget(self.meta_label)
        self.setMinimumHeight(140)
        self.verdict: str | None = None
        self._color = ""
        self.show_idle(self.tr("READY"), self.tr("Choose a source and press Start (F5)"))

    def show_idle(self, title: str, detail: str = "") -> None:
        self.verdict = None
        self._paint(IDLE_COLOR)
        self._set_title(title)
        self.reasons_label.setText(detail)
        self.meta_label.setText("")

    def show_result(self, result: InspectionResult, note: str = "") -> None:
        d = result.decision
        self.verdict = d.verdict.value
        self._paint(verdict_color(d.verdict.value))
        self._set_title(self.tr(ERROR_TITLE) if result.is_error else d.verdict.value)
        more = [self.tr("… and {n} more").format(n=len(d.reasons) - 4)] if len(d.reasons) > 4 else []
        reasons = d.reasons[:4] + more  # the reasons stay English: they are logged with the verdict
        if result.is_error:
            # reasons[1] says "treated as NG (recipe on_error)": the line must know what to do with it
            reasons = [r[:1].upper() + r[1:] for r in reasons]
        self.reasons_label.setText("\n".join(reasons) if reasons else self.tr("no defect found"))
        when = result.inspected_at.astimezone().strftime("%H:%M:%S")
        name = result.frame.path.name if result.frame.path is not None else result.frame.key
        meta = f"{name}  ·  {when}  ·  {result.timings_ms.get('total', 0.0):.0f} ms"
        self.meta_label.setText(f"{note}  ·  {meta}" if note else meta)

    def _set_title(self, title: str) -> None:
        self.verdict_label.setText(title)
        long = len(title) > 8  # "ERROR — not inspected" at the OK/NG size would not fit the side panel
        if self.verdict_label.property("long") != long:
            self.verdict_label.setProperty("long", long)
            self.verdict_label.setWordWrap(long)
            st = self.verdict_label.style()
            st.unpolish(self.verdict_label)
            st.polish(self.verdict_label)

    def _paint(self, color: str) -> None:
        if color != self._color:  # re-polishing the banner and its labels costs a few ms
            self._color = color
            self.setStyleSheet(f"QFrame#Banner {{ background: {color}; border-radius: 8px; }}")


THUMB = 84
BORDER_PX = 5


def _no_image_tile() -> np.ndarray:
    """What the strip shows for a part whose image could not be decoded: a dark tile with a cross."""
    side = THUMB - 2 * BORDER_PX
    img = np.full((side, side, 3), 40, np.uint8)
    m = side // 4
    cv2.line(img, (m, m), (side - m, side - m), (200, 200, 200), 3, cv2.LINE_AA)
    cv2.line(img, (side - m, m), (m, side - m), (200, 200, 200), 3, cv2.LINE_AA)
    return img


def thumbnail(result: InspectionResult) -> QPixmap:
    """A small copy of the image framed in its verdict colour (a crossed tile when there is no image)."""
    img = _no_image_tile() if result.frame.image is None else to_display_bgr(result.frame.image)
    h, w = img.shape[:2]
    scale = (THUMB - 2 * BORDER_PX) / max(h, w)
    img = cv2.resize(img, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    color = verdict_color(result.decision.verdict.value).lstrip("#")
    bgr = tuple(int(color[i:i + 2], 16) for i in (4, 2, 0))
    img = cv2.copyMakeBorder(img, BORDER_PX, BORDER_PX, BORDER_PX, BORDER_PX, cv2.BORDER_CONSTANT, value=bgr)
    rgb = np.ascontiguousarray(img[:, :, ::-1])
    qimg = QImage(rgb.data, rgb.shape[1], rgb.shape[0], rgb.strides[0], QImage.Format.Format_RGB888)
    return QPixmap.fromImage(qimg.copy())  # copy: the numpy buffer dies with this function


class RecentStrip(QListWidget):
    """The most recent verdicts, newest first; clicking (or arrow keys) shows one again."""

    picked = Signal(InspectionResult)

    def __init__(self, capacity: int = 24, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.capacity = capacity
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setMovement(QListView.Movement.Static)
        self.setIconSize(QSize(THUMB, THUMB))
        self.setSpacing(4)
        self.setFixedHeight(THUMB + 48)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setToolTip(self.tr("Recent verdicts: click or use the arrow keys to look at one again"))
        self.itemClicked.connect(self._emit)
        self.currentItemChanged.connect(lambda cur, _prev: self._emit(cur) if cur is not None else None)

    def add_results(self, results: list[InspectionResult]) -> None:
        self.blockSignals(True)  # inserting must not count as the operator picking one
        for r in results:
            name = r.frame.path.name if r.frame.path is not None else r.frame.key.rsplit("#", 1)[-1]
            pix = thumbnail(r)
            icon = QIcon(pix)
            icon.addPixmap(pix, QIcon.Mode.Selected)  # no blue tint: the verdict border must stay readable
            item = QListWidgetItem(icon, f"{r.decision.verdict.value} {name}"[:18])
            # The map is kept as its 8-bit levels (as the DB stores it): a quarter of the memory,
            # which matters with 24 results of a multi-megapixel camera.
            # An ERROR has no map (None) and is kept as it is.
            prob = None if r.prob_map is None else quantise_prob(r.prob_map)
            item.setData(Qt.ItemDataRole.UserRole, dataclasses.replace(r, prob_map=prob))
            reasons = "; ".join(r.decision.reasons) or self.tr("no defect")
            item.setToolTip(f"{r.frame.key}\n{r.decision.verdict.value}: {reasons}")
            self.insertItem(0, item)
        while self.count() > self.capacity:
            self.takeItem(self.count() - 1)
        self.blockSignals(False)

    def result_at(self, row: int) -> InspectionResult | None:
        item = self.item(row)
        return None if item is None else _expand(item.data(Qt.ItemDataRole.UserRole))

    def _emit(self, item: QListWidgetItem) -> None:
        result = item.data(Qt.ItemDataRole.UserRole)
        if result is not None:
            self.picked.emit(_expand(result))


def _expand(stored: InspectionResult) -> InspectionResult:
    """A stored result with its probability map back as float32 in [0, 1] (None stays None: ERROR)."""
    if stored.prob_map is None:
        return stored
    return dataclasses.replace(stored, prob_map=stored.prob_map.astype(np.float32) / np.float32(255.0))
