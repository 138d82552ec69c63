"""Live tab: pick a source, run it, watch verdicts, counters and the recent strip.

Results arrive from the worker at any rate (hundreds per second with a small
model); counting happens per result, but drawing is coalesced on a display
timer so the UI thread never falls behind the worker.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections import deque
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt, QTimer
from PySide6.QtWidgets import (
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from inspector.core.backends.base import BackendInfo
from inspector.core.pipeline import RunSummary
from inspector.core.recipe import Recipe
from inspector.core.selftest import SelfTestReport
from inspector.core.sources.base import Source
from inspector.core.types import InspectionResult
from inspector.ui.context import AppContext, ModelState
from inspector.ui.image_view import ImageView
from inspector.ui.live_widgets import CounterTiles, LiveCounters, RecentStrip, VerdictBanner
from inspector.ui.run_state import RunState
from inspector.ui.selftest_banner import SelfTestBanner
from inspector.ui.source_chooser import SourceChoice, SourceChooser
from inspector.ui.workers import (
    InspectionController,
    RunControl,
    RunRequest,
    SourceFactory,
    gui_threads,
)
from inspector.ui.zone_overlay import ZoneOverlay

DEMO_FPS = 10.0
WEEKDAYS = [
    QT_TRANSLATE_NOOP("Weekdays", "Mon"),
    QT_TRANSLATE_NOOP("Weekdays", "Tue"),
    QT_TRANSLATE_NOOP("Weekdays", "Wed"),
    QT_TRANSLATE_NOOP("Weekdays", "Thu"),
    QT_TRANSLATE_NOOP("Weekdays", "Fri"),
    QT_TRANSLATE_NOOP("Weekdays", "Sat"),
    QT_TRANSLATE_NOOP("Weekdays", "Sun"),
]
DISPLAY_INTERVAL_MS = 50  # 20 redraws/s: smooth for the eye, cheap for the UI thread


class LivePanel(QWidget):
    def __init__(
        self,
        ctx: AppContext,
        parent: QWidget | None = None,
        *,
        controller: InspectionController | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.controller = controller or InspectionController(ctx.db, ctx.station, ctx.archive_dir, self)
        self.counters = LiveCounters()
        self.last_summary: RunSummary | None = None
        self._latest: InspectionResult | None = None
        self._pending: deque[InspectionResult] = deque(maxlen=32)
        self._dirty = False
        self._follow = True
        self._source_name = ""
        # set by the lot controls (inspector.ui.line_control): True = reset handled as "end lot"
        self.reset_hook: Callable[[], bool] | None = None
        self._build()
        self._restore()
        self._connect()
        self._timer = QTimer(self)
        self._timer.setInterval(DISPLAY_INTERVAL_MS)
        self._timer.timeout.connect(self._refresh)
        self._timer.start()
        self._update_buttons("idle")
        self._model_path = Path(ctx.model.path)
        # preload the model once the context says its file is there (checked off the UI thread)
        self._preload_pending = True
        self._preload_if_present()

    # -- layout -------------------------------------------------------------------------------
    def _build(self) -> None:
        icon = self.style().standardIcon
        sp = QStyle.StandardPixmap
        self.chooser = SourceChooser()

        self.start_button = QPushButton(self.tr("Start"))
        self.start_button.setIcon(icon(sp.SP_MediaPlay))
        self.start_button.setProperty("primary", True)
        self.start_button.setToolTip(self.tr("Start / resume (F5)"))
        self.pause_button = QPushButton(self.tr("Pause"))
        self.pause_button.setIcon(icon(sp.SP_MediaPause))
        self.pause_button.setToolTip(self.tr("Pause / resume (F6)"))
        self.stop_button = QPushButton(self.tr("Stop"))
        self.stop_button.setIcon(icon(sp.SP_MediaStop))
        self.stop_button.setToolTip(self.tr("Stop (F7)"))
        self.step_button = QPushButton(self.tr("Step"))
        self.step_button.setIcon(icon(sp.SP_MediaSkipForward))
        self.step_button.setToolTip(self.tr("Inspect one image, then wait (F8 / Space)"))
        self.state_label = QLabel(self.tr("Idle"))
        self.state_label.setProperty("muted", True)

        src = QGroupBox(self.tr("Source"))
        row = QHBoxLayout(src)
        row.addWidget(self.chooser, 1)
        row.addSpacing(16)
        for b in (self.start_button, self.pause_button, self.stop_button, self.step_button):
            row.addWidget(b)

        self.image_view = ImageView()
        # the recipe's ROI (green) and exclusion (orange, dashed) zones, outlined on every image
        self.zones = ZoneOverlay(self.image_view, editable=False)
        self._show_zones(self.ctx.recipe)
        self.banner = VerdictBanner()
        self.tiles = CounterTiles()
        self.since_label = QLabel("")
        self.since_label.setProperty("muted", True)
        self.reset_button = QPushButton(self.tr("Reset counters"))
        self.reset_button.setIcon(icon(sp.SP_BrowserReload))
        self.reset_button.setToolTip(self.tr("Start counting a new shift or lot (recorded in the audit log)"))
        counters = QGroupBox(self.tr("Counters"))
        cl = QVBoxLayout(counters)
        cl.addWidget(self.tiles)
        foot = QHBoxLayout()
        foot.addWidget(self.since_label, 1)
        foot.addWidget(self.reset_button)
        cl.addLayout(foot)

        self.review_bar = QFrame()
        self.review_bar.setObjectName("Tile")
        rb = QHBoxLayout(self.review_bar)
        rb.setContentsMargins(8, 4, 8, 4)
        self.review_label = QLabel("")
        self.live_button = QPushButton(self.tr("Back to live"))
        self.live_button.setIcon(icon(sp.SP_MediaSeekForward))
        rb.addWidget(self.review_label, 1)
        rb.addWidget(self.live_button)
        self.review_bar.hide()

        side = QWidget()
        sl = QVBoxLayout(side)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.addWidget(self.banner)
        sl.addWidget(counters)
        sl.addStretch(1)
        side.setMinimumWidth(470)  # five readable tiles in a row

        # Under the image: run progress on the left, the "showing a recent result" bar on the right.
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.image_view, 1)
        foot_row = QHBoxLayout()
        foot_row.addWidget(self.state_label, 1)
        foot_row.addWidget(self.review_bar)
        ll.addLayout(foot_row)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(side)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)

        self.recent = RecentStrip()
        recent_box = QGroupBox(self.tr("Recent verdicts"))
        QVBoxLayout(recent_box).addWidget(self.recent)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 10)
        layout.setSpacing(8)
        layout.addWidget(src)
        self.selftest_banner = SelfTestBanner()  # hidden unless the self-test fails
        layout.addWidget(self.selftest_banner)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(recent_box)

    def _connect(self) -> None:
        w = self.controller.worker
        w.result.connect(self._on_result)
        w.error.connect(lambda text: self.ctx.notify("error", text))
        w.backend_ready.connect(self._on_backend)
        w.selftest_done.connect(self._on_selftest)
        w.started.connect(self._on_started)
        w.finished.connect(self._on_finished)
        w.logged.connect(self.ctx.inspection_logged)
        self.controller.state_changed.connect(self._update_buttons)
        self.ctx.recipe_changed.connect(self.controller.set_recipe)
        self.ctx.recipe_changed.connect(self._show_zones)
        self.ctx.model_changed.connect(self._on_model_changed)
        self.ctx.model_file_checked.connect(lambda _present: self._preload_if_present())
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button.clicked.connect(self.stop)
        self.step_button.clicked.connect(self.step)
        self.reset_button.clicked.connect(self.reset_counters)
        self.recent.picked.connect(self.show_recent)
        self.live_button.clicked.connect(self.follow_live)
        self.image_view.mode_changed.connect(lambda m: self.ctx.settings.setValue("live/overlay", str(m)))

    # -- settings -----------------------------------------------------------------------------
    def _restore(self) -> None:
        s = self.ctx.settings
        self.chooser.restore(s)
        mode = s.value("live/overlay")
        if mode:
            with contextlib.suppress(ValueError):  # a mode from another version: keep the default
                self.image_view.set_mode(str(mode))
        state = s.value("live/splitter")
        if state is not None:
            self.splitter.restoreState(state)

    def save_settings(self) -> None:
        s = self.ctx.settings
        self.chooser.save(s)
        s.setValue("live/splitter", self.splitter.saveState())

    # -- source chooser -----------------------------------------------------------------------
    def set_source(self, kind: str, text: str = "") -> None:
        self.chooser.set_source(kind, text)

    def source_choice(self) -> SourceChoice:
        # Paced by default: the demo is a showcase, and on a GPU it would otherwise log
        # thousands of synthetic rows a second. 0 in the settings = as fast as possible.
        try:
            fps = float(self.ctx.settings.value("live/demo_fps", DEMO_FPS))
        except (TypeError, ValueError):
            fps = DEMO_FPS
        return self.chooser.choice(demo_fps=fps)

    # -- run control (also the main window's shortcuts) -----------------------------------------
    def start(self, *, paused: bool = False) -> bool:
        """Start a run on the chosen source (or resume a paused one)."""
        if self.controller.state is RunState.PAUSED and not paused:
            self.controller.resume()
            return True
        if self.controller.is_active():
            return False
        model = self.ctx.model
        # the context's answer (checked off the UI thread); while it is pending the worker loads the
        # model and names a missing file itself
        if self.ctx.model_file_present() is False:
            self.ctx.notify(
                "error",
                self.tr(
                    "Cannot start: no model at {path}. Train or install one "
                    "(resources/models/demo/model.onnx) or start with --model."
                ).format(path=model.path),
            )
            return False
        choice = self.source_choice()
        try:
            choice.spec()  # catches an empty path here, with a readable message
        except ValueError as exc:
            self.ctx.notify("error", str(exc))
            return False
        self.save_settings()
        req = self._request(paused, choice.factory(self.ctx.db, self.ctx.station))
        req.skip_logged = choice.skip_logged and choice.kind in ("folder", "hot", "video")
        self.last_summary = None
        self.state_label.setText(self.tr("Starting…"))
        return self.controller.start(req)

    def _request(self, paused: bool, open_source: SourceFactory | None) -> RunRequest:
        return RunRequest(
            open_source=open_source or _no_source,
            model_path=Path(self.ctx.model.path),
            recipe=self.ctx.recipe,
            backend_kind=str(self.ctx.settings.value("backend/kind", "auto")),
            threads=self.inference_threads(),
            control=RunControl(paused=paused),
        )

    def inference_threads(self) -> int:
        """ONNX Runtime threads for the run: ``live/threads`` in the settings when set (> 0), else
        ``gui_threads()`` (cores - 1; measured with scripts/ui_stall.py, see docs/gui.md)."""
        try:
            n = int(self.ctx.settings.value("live/threads", 0) or 0)
        except (TypeError, ValueError):
            n = 0
        return n if n > 0 else gui_threads()

    def _show_zones(self, recipe: Recipe) -> None:
        self.zones.set_zones(list(recipe.roi), list(recipe.exclusions))

    def toggle_pause(self) -> None:
        if self.controller.state is RunState.RUNNING:
            self.controller.pause()
        elif self.controller.state is RunState.PAUSED:
            self.controller.resume()

    def pause(self) -> None:
        self.controller.pause()

    def stop(self) -> None:
        self.controller.stop()
        if self.controller.is_active():
            self.state_label.setText(self.tr("Stopping…"))

    def step(self) -> None:
        """One image, then wait; from idle this starts a paused run."""
        if self.controller.is_active():
            self.controller.step()
        else:
            self.start(paused=True)

    def shutdown(self) -> None:
        self._timer.stop()
        self.save_settings()
        self.controller.shutdown()

    def reset_counters(self) -> None:
        if self.reset_hook is not None and self.reset_hook():  # a lot is open: a confirmed "end lot"
            return
        before = dict(self.counters.counts)
        self.counters = LiveCounters()
        self.ctx.audit("counters.reset", {"counts": before})
        self.tiles.update_from(self.counters)
        self._update_since()

    # -- worker signals -----------------------------------------------------------------------
    def _on_result(self, result: InspectionResult) -> None:
        self.counters.add(result)
        self._latest = result
        self._pending.append(result)
        self._dirty = True

    def _on_backend(self, info: BackendInfo) -> None:
        self.ctx.set_model(
            dataclasses.replace(self.ctx.model, backend_display=info.display, notice=info.notice)
        )
        if info.notice:
            self.ctx.notify("info", info.notice)

    def _on_selftest(self, report: SelfTestReport) -> None:
        was_failing = self.selftest_banner.failing
        if self.selftest_banner.show_report(report):  # say it once per change, not per run
            if report.passed and was_failing:
                self.ctx.notify(
                    "info",
                    self.tr("Self-test passed: model {model} with recipe {recipe} v{version}").format(
                        model=report.model_name, recipe=report.recipe_name, version=report.recipe_version
                    ),
                )
            elif not report.passed:
                self.ctx.notify(
                    "error",
                    self.tr(
                        "Self-test failed: station will not pass parts — every part "
                        "is logged as ERROR. {reason}"
                    ).format(reason=report.reason),
                )

    def _on_model_changed(self, model: ModelState) -> None:
        # backend_ready also calls set_model (same path, backend filled in): only a new file matters.
        path = Path(model.path)
        if path == self._model_path:
            return
        self._model_path = path
        if self.controller.is_active():
            self._preload_pending = False
            self.ctx.notify(
                "info", self.tr("Model {name} will be used from the next Start").format(name=model.card.name)
            )
        else:
            self._preload_pending = True
            self._preload_if_present()

    def _preload_if_present(self) -> None:
        """Preload the current model once the context knows its file is there (a missing one is
        not loaded: Start says so)."""
        if not self._preload_pending or self.ctx.model_file_present() is not True:
            return
        self._preload_pending = False
        if not self.controller.is_active() and Path(self.ctx.model.path) == self._model_path:
            self.controller.preload(self._request(paused=False, open_source=None))

    def _on_started(self, name: str) -> None:
        self._source_name = name
        self.ctx.notify("info", self.tr("Inspecting {source}").format(source=name))

    def _on_finished(self, summary: RunSummary) -> None:
        self.last_summary = summary
        self._refresh()
        # ERROR parts are counted like the others: each one has a logged row (never a pass)
        errors = self.tr(", ERROR {n} not inspected").format(n=summary.n_errors) if summary.n_errors else ""
        text = (
            self.tr("Run stopped: {n} parts (OK {ok}, NG {ng}, REVIEW {review}{errors}) in {seconds:.1f} s")
            if summary.cancelled
            else self.tr(
                "Run finished: {n} parts (OK {ok}, NG {ng}, REVIEW {review}{errors}) in {seconds:.1f} s"
            )
        ).format(
            n=summary.inspected,
            ok=summary.counts["OK"],
            ng=summary.counts["NG"],
            review=summary.counts["REVIEW"],
            errors=errors,
            seconds=summary.elapsed_s,
        )
        self.ctx.notify("info", text)  # each ERROR part was reported as it came
        if summary.skipped:
            self.ctx.notify(
                "info",
                self.tr("{n} parts skipped: already logged with this content, model and recipe").format(
                    n=summary.skipped
                ),
            )
        self.state_label.setText(text)
        if self._latest is None:
            self.banner.show_idle(self.tr("READY"), self.tr("No image was inspected"))

    # -- display --------------------------------------------------------------------------------
    def _refresh(self) -> None:
        control = self.controller.control
        if control is not None:
            total = f" / {control.total}" if control.total else ""
            verb = self.tr("Paused") if control.paused else self.tr("Running")
            self.state_label.setText(f"{verb} · {self._source_name} · {control.done}{total}")
        if not self._dirty:
            return
        self._dirty = False
        if self._pending:
            self.recent.add_results(list(self._pending))
            self._pending.clear()
        if self._follow and self._latest is not None:
            self._show(self._latest)
        self.tiles.update_from(self.counters)
        self._update_since()

    def _show(self, result: InspectionResult, note: str = "") -> None:
        if result.frame.image is None:  # an ERROR part whose file could not be decoded
            self.image_view.show_message(
                self.tr("image could not be read: {error}").format(error=_error_message(result))
            )
        else:  # an ERROR has no map: the view draws the raw image in every mode
            self.image_view.show_result(
                result.frame.image, result.prob_map, result.decision, result.threshold
            )
        self.banner.show_result(result, note)

    def show_recent(self, result: InspectionResult) -> None:
        """Show a result from the strip; the view stays on it until "Back to live"."""
        self._follow = False
        self._show(result, note=self.tr("recent"))
        self.review_label.setText(self.tr("Showing {name}").format(name=result.frame.key.rsplit("/", 1)[-1]))
        self.review_bar.show()

    def follow_live(self) -> None:
        self._follow = True
        self.review_bar.hide()
        self.recent.clearSelection()
        if self._latest is not None:
            self._show(self._latest)

    def _update_since(self) -> None:
        self.since_label.setText(self.tr("since {time}").format(time=_weekday_time(self.counters.since)))

    def _update_buttons(self, value: str) -> None:
        state = RunState(value)
        active = state.active
        # one button per action: while paused, Pause reads "Resume" and Start stays "Start", disabled
        # (F5 still resumes a paused run)
        self.start_button.setEnabled(not active)
        self.start_button.setText(self.tr("Start"))
        self.pause_button.setEnabled(active)
        self.pause_button.setText(self.tr("Resume") if state is RunState.PAUSED else self.tr("Pause"))
        self.stop_button.setEnabled(active)
        self.chooser.set_locked(active)
        if state is RunState.IDLE and self.last_summary is None:
            self.state_label.setText(self.tr("Idle"))
        self.ctx.set_run_state(state)


def _weekday_time(when: datetime) -> str:
    """ "Mon 06:00" in the GUI's language (strftime's %a follows the C locale, not the GUI)."""
    day = QCoreApplication.translate("Weekdays", WEEKDAYS[when.weekday()])
    return f"{day} {when.strftime('%H:%M')}"


def _error_message(result: InspectionResult) -> str:
    """An ERROR's cause without the "not inspected (<stage>): " prefix of its first reason."""
    reason = result.decision.reasons[0] if result.decision.reasons else "unknown reason"
    prefix = f"not inspected ({result.error_stage}): "
    return reason.removeprefix(prefix)


def _no_source() -> Source:
    raise RuntimeError("no source: this request only loads the model")
