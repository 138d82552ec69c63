"""The operator's line view: one full-screen page readable from across the line.

A verdict tile (OK / NG / REVIEW / ERROR in its colour, a third of the screen), the top reasons in
large type, the image with the mask overlay as large as the rest allows, a stack light (green /
amber / red), the lot's counters and the station's state (product, lot, run, line I/O, sound).
Every size follows the window (:meth:`LineView.apply_sizes`), so the same page reads at 1920x1080
and at 1366x768.

Fed like the Live tab: the worker's ``result`` signal (queued to the UI thread) is only stored;
drawing happens on a 50 ms timer while the page is shown. Counters come from the Live tab's
in-memory counters (per result; the lot's, once a lot is open), the lot and product from the
product controller and the line state from ``LineIO.status()`` (thread-safe): the UI thread
never waits on the database. Keys and kiosk: :mod:`inspector.ui.line_mode`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QResizeEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from inspector.core.overlay import OverlayMode
from inspector.core.selftest import SelfTestReport
from inspector.core.types import InspectionResult, Verdict
from inspector.ui.image_view import ImageView
from inspector.ui.line_sound import LineSound
from inspector.ui.run_state import RunState
from inspector.ui.style import (
    BG,
    BORDER,
    IDLE_COLOR,
    MUTED,
    PANEL,
    TEXT,
    VERDICT_COLORS,
    VIEW_BG,
    verdict_color,
)

if TYPE_CHECKING:
    from inspector.ui.context import AppContext
    from inspector.ui.line_control import ProductController
    from inspector.ui.live_panel import LivePanel

REFRESH_MS = 50
LINE_POLL_MS = 1000
MESSAGE_S = 20.0  # how long a message stays in the footer
TILE_SHARE = 45  # the verdict tile's share of the width beside the image (the image gets the rest)
MAX_REASONS = 3
# The keys of the line view (docs/gui.md); inspector.ui.line_mode binds them. (Documentation only:
# the F1 list on screen is the main window's, translated there.)
KEYS: list[tuple[str, str]] = [
    ("F11", "line view on / off"),
    ("Esc", "leave the line view (kiosk: QA login)"),
    ("Space", "start / pause / resume"),
    ("F7", "stop"),
    ("L", "start lot (scan the id) / end lot"),
    ("P", "product"),
    ("R", "lot report"),
    ("M", "sound on / off"),
    ("F1", "all keys"),
    ("Ctrl+Q", "quit"),
]
KEY_HINT = QT_TRANSLATE_NOOP("LineView", "Space start/pause · L lot · P product · R report · M sound · Esc "
                                         "leave · F1 keys")
LAMP_COLORS = {
    "red": ("#ff453a", "#3b2426"),
    "amber": ("#ffb020", "#3b3322"),
    "green": ("#32d74b", "#203a27"),
}


def lamps_for(verdict: str | None) -> frozenset[str]:
    """The stack light for a verdict: OK green, NG red, REVIEW amber, ERROR red and amber."""
    return {
        Verdict.OK.value: frozenset({"green"}),
        Verdict.NG.value: frozenset({"red"}),
        Verdict.REVIEW.value: frozenset({"amber"}),
        Verdict.ERROR.value: frozenset({"red", "amber"}),
    }.get(str(verdict), frozenset())


def tile_text(result: InspectionResult) -> tuple[str, str, list[str]]:
    """(title, subtitle, reasons) of the verdict tile for ``result``.

    The title is the verdict code (never translated); the subtitle is in the GUI's language; the
    reasons are the logged ones (English, as in the database)."""
    d = result.decision
    reasons = list(d.reasons)
    if result.is_error:
        # reasons[0] "not inspected (<stage>): <cause>", reasons[1] "treated as NG (recipe on_error)"
        prefix = f"not inspected ({result.error_stage}): "
        cause = reasons[0].removeprefix(prefix) if reasons else "unknown reason"
        for where in (str(result.frame.path or ""), result.frame.key):  # the file name is in the meta line
            if where:
                cause = cause.removeprefix(f"{where}: ")
        how = next((r for r in reasons[1:] if r.startswith("treated as")), "")
        sub = QCoreApplication.translate("LineView", "not inspected")
        treated = how.split(" (")[0].removeprefix("treated as ").strip()
        if treated:
            sub += " · " + QCoreApplication.translate("LineView",
                                                      "treated as {verdict}").format(verdict=treated)
        rest = [r for r in reasons[1:] if r != how]
        return "ERROR", sub, [cause[:1].upper() + cause[1:], *rest][:MAX_REASONS]
    shown = reasons[:MAX_REASONS]
    if len(reasons) > MAX_REASONS:
        shown[-1] = QCoreApplication.translate("LineView", "{reason} (+{n} more)").format(
            reason=shown[-1], n=len(reasons) - MAX_REASONS)
    if d.verdict is Verdict.OK:
        return "OK", "", shown or [QCoreApplication.translate("LineView", "no defect found")]
    return d.verdict.value, "", shown


class StackLight(QWidget):
    """Three lamps, red over amber over green, like the stack light on the line."""

    ORDER = ("red", "amber", "green")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lit: frozenset[str] = frozenset()
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Ignored)

    def set_lamps(self, lit: frozenset[str]) -> None:
        if lit != self.lit:
            self.lit = lit
            self.update()

    def paintEvent(self, _event: object) -> None:
        p = QPainter(self)
        try:
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            w, h = self.width(), self.height()
            d = min(w - 8.0, (h - 32.0) / 3.0)
            if d <= 0:
                return
            p.setPen(QColor(BORDER))
            p.setBrush(QColor(PANEL))
            p.drawRoundedRect(QRectF((w - d) / 2 - 4, 4, d + 8, 3 * d + 24), 8, 8)
            for i, name in enumerate(self.ORDER):
                on, off = LAMP_COLORS[name]
                p.setBrush(QColor(on if name in self.lit else off))
                p.drawEllipse(QRectF((w - d) / 2, 10 + i * (d + 6), d, d))
        finally:
            p.end()


class CountBox(QFrame):
    """One counter of the lot: a caption and a big number."""

    def __init__(self, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("LineCount")
        self.caption = QLabel(caption.upper())
        self.caption.setObjectName("LineCountCaption")
        self.value = QLabel("–")
        self.value.setObjectName("LineCountValue")
        for label in (self.caption, self.value):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 2, 4, 4)
        lay.setSpacing(0)
        lay.addWidget(self.caption)
        lay.addWidget(self.value)
        self._color = ""

    def set(self, text: str, color: str = "") -> None:
        if text != self.value.text():
            self.value.setText(text)
        if color != self._color:
            self._color = color
            self.value.setStyleSheet(f"color: {color};" if color else "")


class VerdictTile(QFrame):
    """The verdict in big type on its colour, the reasons under it; the title fits the tile."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("LineTile")
        self.title = QLabel(self.tr("READY"))
        self.title.setObjectName("LineVerdict")
        self.sub = QLabel("")
        self.sub.setObjectName("LineSub")
        self.reasons = QLabel("")
        self.reasons.setObjectName("LineReasons")
        self.reasons.setWordWrap(True)
        self.meta = QLabel("")
        self.meta.setObjectName("LineMeta")
        for label in (self.title, self.sub, self.reasons, self.meta):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            # sizes come from the tile, never from the text: a long reason must not move the layout
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.reasons.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(16, 12, 16, 12)
        lay.setSpacing(4)
        lay.addWidget(self.title, 9)
        lay.addWidget(self.sub, 2)
        lay.addWidget(self.reasons, 8)
        lay.addWidget(self.meta, 1)
        self.verdict: str | None = None
        self.color = ""
        self._title_px = 0
        self.paint(IDLE_COLOR)

    def paint(self, color: str) -> None:
        if color != self.color:
            self.color = color
            self.setStyleSheet(f"QFrame#LineTile {{ background: {color}; border-radius: 14px; }}")

    def set_title(self, text: str) -> None:
        if text != self.title.text():
            self.title.setText(text)
            self.fit_title()

    def fit_title(self) -> None:
        """The title's pixel size: as large as fits the tile's width and its share of the height."""
        text = self.title.text() or "OK"
        avail_w = max(40, self.width() - 48)
        avail_h = max(20, int(self.height() * 0.42))
        font = QFont(self.title.font())
        font.setWeight(QFont.Weight.Black)
        font.setPixelSize(100)
        width = max(1, QFontMetrics(font).horizontalAdvance(text))
        px = int(min(100 * avail_w / width, avail_h / 1.15))
        px = max(12, px)
        if px != self._title_px:
            self._title_px = px
            self.title.setStyleSheet(f"font-size: {px}px;")

    @property
    def title_px(self) -> int:
        return self._title_px

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.fit_title()


class LineView(QWidget):
    """The page; :mod:`inspector.ui.line_mode` shows it full screen and binds the keys."""

    def __init__(
        self,
        ctx: AppContext,
        live: LivePanel,
        products: ProductController,
        sound: LineSound | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("LineView")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.ctx = ctx
        self.live = live
        self.products = products
        self.sound = sound or LineSound(ctx.settings, parent=self)
        self.kiosk = False
        self._latest: InspectionResult | None = None
        self._cue: str | None = None  # the loudest cue since the last refresh: ERROR over NG
        self._dirty = False
        self._message_until = 0.0
        self._scale = 0.0
        self._build()
        self._refresh_timer = QTimer(self, interval=REFRESH_MS)
        self._refresh_timer.timeout.connect(self.refresh)
        self._line_timer = QTimer(self, interval=LINE_POLL_MS)
        self._line_timer.timeout.connect(self.poll_line)
        live.controller.worker.result.connect(self._on_result)
        # a bound method, not a lambda: the worker thread emits it, and only a receiver object
        # makes Qt queue the call to the GUI thread (a lambda ran on the worker thread and touched
        # the widgets there, which crashed the process now and then)
        live.controller.worker.selftest_done.connect(self._on_selftest_done)
        ctx.run_state_changed.connect(lambda _s: self.update_header())
        ctx.message.connect(self.show_message)
        products.product_changed.connect(lambda _p: self.update_header())
        products.lot_changed.connect(lambda _l: self._lot_changed())
        self.apply_sizes()
        self.update_header()

    # -- layout -------------------------------------------------------------------------------
    def _build(self) -> None:
        self.product_label = QLabel("")
        self.product_label.setObjectName("LineHead")
        self.state_label = QLabel("")
        self.state_label.setObjectName("LineState")
        self.state_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.station_label = QLabel("")
        self.station_label.setObjectName("LineHead")
        self.station_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        for label in (self.product_label, self.station_label):
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        head = QHBoxLayout()
        head.setSpacing(16)
        head.addWidget(self.product_label, 3)
        head.addWidget(self.state_label, 0)
        head.addWidget(self.station_label, 3)

        self.light = StackLight()
        self.tile = VerdictTile()
        self.image = ImageView(toolbar=False, mode=OverlayMode.MASK)
        for w in (self.tile, self.image):
            w.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        body = QHBoxLayout()
        body.setSpacing(12)
        body.addWidget(self.light)
        body.addWidget(self.tile, TILE_SHARE)
        body.addWidget(self.image, 100 - TILE_SHARE)

        self.counts = {
            "lot": CountBox(self.tr("Lot")),
            "total": CountBox(self.tr("Total")),
            "OK": CountBox("OK"),
            "NG": CountBox("NG"),
            "REVIEW": CountBox(self.tr("Review")),
            "ERROR": CountBox(self.tr("Error")),
            "yield": CountBox(self.tr("Yield")),
        }
        counts = QHBoxLayout()
        counts.setSpacing(10)
        for key, box in self.counts.items():
            counts.addWidget(box, 2 if key == "lot" else 1)
            box.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        self.message_label = QLabel("")
        self.message_label.setObjectName("LineMessage")
        self.message_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.keys_label = QLabel(self.tr(KEY_HINT))
        self.keys_label.setObjectName("LineKeys")
        self.keys_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        foot = QHBoxLayout()
        foot.addWidget(self.message_label, 1)
        foot.addWidget(self.keys_label, 0)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(16, 10, 16, 8)
        lay.setSpacing(10)
        lay.addLayout(head)
        lay.addLayout(body, 1)
        lay.addLayout(counts)
        lay.addLayout(foot)

    def apply_sizes(self) -> None:
        """Type sizes from the window: 1.0 at 1920x1080 (reasons 30 pt there), less on smaller screens."""
        s = min(self.width() / 1920, self.height() / 1080) if self.width() > 0 else 1.0
        s = max(0.45, s)
        if abs(s - self._scale) < 1e-3:
            return
        self._scale = s
        self.light.setFixedWidth(max(40, int(86 * s)))
        self.image.placeholder.setStyleSheet(  # its own sheet: a parent's rule would not win
            f"QLabel#ImagePlaceholder {{ background: {VIEW_BG}; color: {MUTED}; "
            f"font-size: {max(14, round(36 * s))}px; }}"
        )
        self.setStyleSheet(
            f"""
            QWidget#LineView {{ background: {BG}; }}
            QLabel#LineHead {{ color: {TEXT}; font-size: {max(13, round(26 * s))}px; }}
            QLabel#LineState {{ font-size: {max(13, round(26 * s))}px; font-weight: 800; padding: 2px 18px;
                border-radius: 6px; }}
            QLabel#LineVerdict {{ color: white; font-weight: 900; }}
            QLabel#LineSub {{ color: white; font-size: {max(14, round(40 * s))}px; font-weight: 700; }}
            QLabel#LineReasons {{ color: white; font-size: {max(14.0, round(30 * s, 1))}pt;
                font-weight: 600; }}
            QLabel#LineMeta {{ color: rgba(255,255,255,0.8); font-size: {max(11, round(20 * s))}px; }}
            QFrame#LineCount {{ background: {PANEL}; border: 1px solid {BORDER}; border-radius: 10px; }}
            QLabel#LineCountCaption {{ color: {MUTED}; font-size: {max(10, round(18 * s))}px;
                font-weight: 700; }}
            QLabel#LineCountValue {{ color: {TEXT}; font-size: {max(18, round(50 * s))}px;
                font-weight: 800; }}
            QLabel#LineMessage {{ font-size: {max(11, round(20 * s))}px; }}
            QLabel#LineKeys {{ color: {MUTED}; font-size: {max(10, round(18 * s))}px; }}
            """
        )

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.apply_sizes()

    # -- measurements (tests, docs) -------------------------------------------------------------
    def tile_fraction(self) -> float:
        """The verdict tile's area over the page's."""
        area = self.width() * self.height()
        return self.tile.width() * self.tile.height() / area if area else 0.0

    def reasons_pt(self) -> float:
        return self.tile.reasons.font().pointSizeF()

    # -- feeding --------------------------------------------------------------------------------
    def _on_result(self, result: InspectionResult) -> None:
        self._latest = result
        verdict = result.decision.verdict.value
        if verdict == Verdict.ERROR.value or (verdict == Verdict.NG.value and self._cue is None):
            self._cue = verdict
        self._dirty = True

    def activate(self, on: bool) -> None:
        """Draw while the page is shown; nothing is drawn (or played) while it is not."""
        if on:
            self._refresh_timer.start()
            self._line_timer.start()
            self._cue = None  # no sound for parts seen before the page came up
            self._dirty = True
            self.update_header()
            self.poll_line()
            self.refresh()
        else:
            self._refresh_timer.stop()
            self._line_timer.stop()

    def refresh(self) -> None:
        self._update_counts()
        if time.monotonic() > self._message_until and self.message_label.text():
            self.message_label.setText("")
        if not self._dirty:
            return
        self._dirty = False
        cue, self._cue = self._cue, None
        if cue is not None:
            self.sound.cue(cue)
        if self._latest is not None:
            self.show_result(self._latest)

    def show_result(self, result: InspectionResult) -> None:
        title, sub, reasons = tile_text(result)
        verdict = result.decision.verdict.value
        self.tile.verdict = verdict
        self.tile.paint(verdict_color(verdict))
        self.tile.set_title(title)
        self.tile.sub.setText(sub)
        self.tile.reasons.setText("\n".join(reasons))
        name = result.frame.path.name if result.frame.path is not None else result.frame.key
        when = result.inspected_at.astimezone().strftime("%H:%M:%S")
        self.tile.meta.setText(f"{name} · {when}")
        self.light.set_lamps(lamps_for(verdict))
        if result.frame.image is None:
            self.image.show_message(self.tr("image could not be read"))
        else:  # an ERROR has no map: the plain image
            self.image.show_result(result.frame.image, result.prob_map, result.decision, result.threshold)

    def show_idle(self, title: str, detail: str) -> None:
        self.tile.verdict = None
        self.tile.paint(IDLE_COLOR)
        self.tile.set_title(title)
        self.tile.sub.setText("")
        self.tile.reasons.setText(detail)
        self.tile.meta.setText("")
        self.light.set_lamps(frozenset())

    def _lot_changed(self) -> None:
        self.update_header()
        self._update_counts()

    def _update_counts(self) -> None:
        counters = self.live.counters
        lot = self.products.lot
        self.counts["lot"].set(lot.code if lot is not None else self.tr("no lot"),
                               "" if lot is not None else MUTED)
        self.counts["total"].set(f"{counters.total:,}")
        for v in Verdict:
            n = counters.counts.get(v.value, 0)
            self.counts[v.value].set(f"{n:,}", VERDICT_COLORS[v.value] if n else "")
        y = counters.yield_pct
        self.counts["yield"].set("–" if y is None else f"{y:.1f} %")

    # -- header and footer ----------------------------------------------------------------------
    def _on_selftest_done(self, _report: SelfTestReport) -> None:
        self.update_header()

    def update_header(self) -> None:
        p = self.products.product
        lot = self.products.lot
        product = p.spec.name if p is not None else self.tr("no product")
        lot_text = (self.tr("lot <b>{lot}</b>").format(lot=lot.code) if lot is not None
                    else self.tr("no lot open"))
        self.product_label.setText(f"<b>{product}</b> &nbsp;·&nbsp; {lot_text}")
        state = self.ctx.run_state
        blocked = self.live.selftest_banner.failing
        text, color = {
            RunState.RUNNING: (self.tr("RUNNING"), VERDICT_COLORS["OK"]),
            RunState.PAUSED: (self.tr("PAUSED"), VERDICT_COLORS["REVIEW"]),
        }.get(state, (self.tr("STOPPED"), IDLE_COLOR))
        if blocked:
            text, color = self.tr("BLOCKED: self-test failed"), VERDICT_COLORS["NG"]
        if self.kiosk:
            text += " · KIOSK"
        self.state_label.setText(text)
        self.state_label.setStyleSheet(f"background: {color}; color: white;")
        if self._latest is None:
            if state == "idle":
                self.show_idle(
                    self.tr("READY"),
                    self.tr("Space starts inspection") if p is not None else self.tr("P chooses the product"),
                )
            else:
                self.show_idle(self.tr("WAITING"), self.tr("for the first part"))
        self.poll_line()

    def poll_line(self) -> None:
        line = self.products.line
        sound = self.tr("sound on") if self.sound.enabled else self.tr("sound off")
        if line is None:
            io = self.tr("no line I/O")
        else:
            parts = []
            for s in line.status():
                short = next((k for k in ("OPC UA", "Modbus", "MQTT") if s.name.startswith(k)), s.name)
                state = str(s.state)
                mark = "⚠ " if state in ("down", "closed") else ""
                parts.append(f"{mark}{short} {state}")
            io = self.tr("line: {outputs}").format(outputs=", ".join(parts) if parts else "–")
        station = self.tr("station <b>{station}</b>").format(station=self.ctx.station)
        self.station_label.setText(f"{io} &nbsp;·&nbsp; {sound} &nbsp;·&nbsp; {station}")

    def show_message(self, level: str, text: str) -> None:
        color = {"error": "#ff7b72", "warning": "#f0c060"}.get(level, MUTED)
        self.message_label.setStyleSheet(f"color: {color};")
        self.message_label.setText(text)
        self.message_label.setToolTip(text)
        self._message_until = time.monotonic() + MESSAGE_S
