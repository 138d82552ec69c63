"""Products, lots and shifts on the station window, and the line I/O of the product.

:class:`ProductController` holds what the station runs for: the product (model, recipe, source and
line I/O in one step, audited), the open lot and the shift schedule. It stamps every logged row
with product, lot and shift (the writer's ``RowContext``), checks frames against the product
(``FrameGuard``: a product whose model does not fit the images is refused, every part ERROR),
watches the defect rate (``DefectRateGuard``: "wrong model for these parts?") and feeds the
product's line outputs (OPC UA, Modbus TCP, MQTT) with committed verdicts.

:class:`LineToolBar` is what the operator sees: the product, the lot id field (a barcode
scanner types the id and Enter), the lot's and the shift's counters from the database, and
Report. Database work runs on the GUI task runner (inspector.ui.tasks); the UI never waits on it.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from inspector.core.accounts import Right
from inspector.core.shifts import DEFAULT_SCHEDULE, ShiftSchedule
from inspector.core.types import InspectionResult
from inspector.services import lots
from inspector.services.lots import LotError, LotInfo
from inspector.services.products import (
    DefectRateGuard,
    FrameGuard,
    ProductError,
    ResolvedProduct,
    image_channels,
)
from inspector.services.station_db import RowContext
from inspector.ui.context import AppContext, ModelState
from inspector.ui.run_state import RunState
from inspector.ui.tasks import WRITE_LANE, TaskRunner, TaskState

if TYPE_CHECKING:
    from inspector.lineio.line import LineIO
    from inspector.ui.live_panel import LivePanel
    from inspector.ui.product_picker import ProductPicker
    from inspector.ui.report_dialog import ReportDialog

log = logging.getLogger(__name__)

PRODUCT_KEY = "product/current"  # the product the station runs for (restored at start-up)
SHIFTS_KEY = "shifts/schedule"  # shift starts, e.g. "06:00,14:00,22:00"
COUNTS_DELAY_MS = 1000  # lot/shift counters: at most one DB read a second while parts are logged
SHIFT_CHECK_MS = 30_000


def _counts_text(counts: dict[str, int]) -> str:
    total = sum(counts.values())
    y = lots.yield_pct(counts)
    err = f" · ERROR {counts.get('ERROR', 0)}" if counts.get("ERROR") else ""
    return (
        QCoreApplication.translate("LineToolBar", "{n} parts · yield {pct}").format(
            n=total, pct="–" if y is None else f"{y:.1f} %"
        )
        + err
    )


class EndLotDialog(QDialog):
    """The confirmation of "end lot": what the lot holds, and that counting starts again."""

    def __init__(self, lot: LotInfo, counts: dict[str, int] | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("End lot"))
        lay = QVBoxLayout(self)
        what = _counts_text(counts) if counts is not None else self.tr("counts are being read")
        text = QLabel(
            self.tr(
                "<b>End lot {lot}?</b><br/>{counts}<br/><br/>The lot is closed (recorded with your name); "
                "its counters start again with the next lot. A lot id is used once."
            ).format(lot=lot.code, counts=what)
        )
        text.setWordWrap(True)
        lay.addWidget(text)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.end_button = self.buttons.addButton(self.tr("End lot"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setDefault(True)


class ProductController(QObject):
    """Owned by the main window; see the module doc."""

    product_changed = Signal(ResolvedProduct)  # ResolvedProduct | None
    lot_changed = Signal(LotInfo)  # LotInfo | None
    # lot counts (dict[str, int] | None), shift counts (dict[str, int]): object, as Signal(dict) would
    # make them a QVariantMap, which cannot carry None
    counts_changed = Signal(object, object)
    _warned = Signal(str)  # FrameGuard warnings, from the worker thread

    def __init__(self, ctx: AppContext, live: LivePanel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.live = live
        self.worker = live.controller.worker
        self.tasks = TaskRunner(self, "line-control")
        self.product: ResolvedProduct | None = None
        self.lot: LotInfo | None = None
        self.last_lot: LotInfo | None = None  # the open lot, else the one ended last (reports)
        self.line: LineIO | None = None  # the product's line outputs, started
        self.rate_guard: DefectRateGuard | None = None
        self.last_image: tuple[int, int, int] | None = None  # (width, height, channels) of the last part
        self.lot_counts: dict[str, int] | None = None
        self.shift_counts: dict[str, int] = lots.empty_counts()
        self.schedule = self._load_schedule()
        self.shift = self.schedule.shift_at(datetime.now().astimezone())
        self._switching = False
        self._seed_live = False
        self._run_state = RunState.IDLE
        self._counts_timer = QTimer(self, singleShot=True, interval=COUNTS_DELAY_MS)
        self._counts_timer.timeout.connect(self.refresh_counts)
        self._shift_timer = QTimer(self, interval=SHIFT_CHECK_MS)
        self._shift_timer.timeout.connect(self._check_shift)
        self._shift_timer.start()
        self._warned.connect(lambda text: self.ctx.notify("warning", text))
        self.worker.result.connect(self._on_result)
        self.worker.refused.connect(self._on_refused)
        ctx.inspection_logged.connect(
            lambda _id: self._counts_timer.start() if not self._counts_timer.isActive() else None
        )
        ctx.run_state_changed.connect(self._on_run_state)
        live.reset_hook = self._reset_is_end_lot
        self.toolbar = LineToolBar(self)
        self._apply_context()
        self._restore()

    # -- start-up ---------------------------------------------------------------------------
    def _load_schedule(self) -> ShiftSchedule:
        text = str(self.ctx.settings.value(SHIFTS_KEY, "") or "")
        try:
            return ShiftSchedule.parse(text) if text else ShiftSchedule.default()
        except ValueError as exc:
            self.ctx.notify(
                "error",
                self.tr("Shift schedule in the settings ({key}): {error}; using {default}").format(
                    key=SHIFTS_KEY, error=exc, default=DEFAULT_SCHEDULE
                ),
            )
            return ShiftSchedule.parse(DEFAULT_SCHEDULE)

    def _restore(self) -> None:
        """The open lot and the product the station ran for, as before the restart (read at start-up,
        like the recipe and the model, so the first run already runs for them)."""
        from inspector.services.products import get_product_by_id, line_for_product, resolve_product

        try:
            lot = lots.open_lot(self.ctx.db, self.ctx.station)
        except Exception as exc:  # the station still opens; the message says what is missing
            self.ctx.notify("error", self.tr("The open lot could not be read: {error}").format(error=exc))
            lot = None
        name = str(self.ctx.settings.value(PRODUCT_KEY, "") or "")
        if lot is not None and lot.product_id is not None:
            stored = get_product_by_id(self.ctx.db, lot.product_id)
            name = stored.name if stored is not None else name
        if name:
            try:
                rp = resolve_product(self.ctx.db, name)
            except (ProductError, OSError) as exc:
                self.ctx.notify(
                    "error",
                    self.tr("Product {name} could not be restored: {error}").format(
                        name=repr(name), error=exc
                    ),
                )
            else:
                line = None
                try:  # the servers bind on their own threads: starting them does not wait
                    line = line_for_product(rp.spec, self.ctx.station)
                    if line is not None:
                        line.start()
                        line.set_state("stopped", rp.spec.name)
                except (ValueError, ImportError, OSError) as exc:
                    self.ctx.notify(
                        "error",
                        self.tr("Product {name}: its line I/O did not start: {error}").format(
                            name=name, error=exc
                        ),
                    )
                self._apply(rp, line, restored=True)
        if lot is not None:
            self._set_lot(lot, started=False)
        self.refresh_counts()

    # -- products ---------------------------------------------------------------------------
    def choose_dialog(self) -> ProductPicker:
        from inspector.ui.product_picker import ProductPicker

        dialog = ProductPicker(self, self.toolbar.window())
        dialog.show()
        return dialog

    def why_not_switch(self) -> str | None:
        if self.live.controller.is_active():
            return self.tr("Stop the run (F7) before switching products")
        if self.lot is not None:
            return self.tr("Lot {lot} is open for this product: end it before switching products").format(
                lot=self.lot.code
            )
        if self._switching:
            return self.tr("A product is being loaded")
        return None

    def choose(self, name: str) -> bool:
        """Switch to product ``name``: model, recipe, source and line I/O in one step (audited)."""
        why = self.why_not_switch()
        if why is not None:
            self.ctx.notify("warning", why)
            return False
        from inspector.services.products import line_for_product, resolve_product

        self._switching = True
        old_line, self.line = self.line, None
        self.worker.set_line(None)
        station = self.ctx.station

        def load(_state: TaskState) -> tuple[ResolvedProduct, LineIO | None]:
            if old_line is not None:  # its ports may be the new product's
                old_line.close(timeout=2.0)
            rp = resolve_product(self.ctx.db, name)
            line = line_for_product(rp.spec, station)
            if line is not None:
                line.start()
                line.set_state("stopped", rp.spec.name)
            return rp, line

        def done(got: tuple[ResolvedProduct, LineIO | None]) -> None:
            self._switching = False
            rp, line = got
            if self.live.controller.is_active():  # a run was started meanwhile: keep it consistent
                if line is not None:
                    self.tasks.submit("close-line", lambda _s: line.close(timeout=2.0), supersede=False)
                self.ctx.notify(
                    "warning",
                    self.tr("Product {name} not loaded: a run was started; stop it and choose again").format(
                        name=name
                    ),
                )
                return
            self._apply(rp, line)

        def failed(message: str) -> None:
            self._switching = False
            self.ctx.notify(
                "error", self.tr("Product {name} cannot be used: {error}").format(name=name, error=message)
            )
            self.ctx.audit("product.refused", {"name": name, "why": message})

        self.tasks.submit("product-load", load, on_done=done, on_error=failed)
        return True

    def _apply(self, rp: ResolvedProduct, line: LineIO | None, *, restored: bool = False) -> None:
        previous = self.product.spec.name if self.product is not None else None
        self.product = rp
        spec = rp.spec
        current = self.ctx.model
        # resolve_product read the model file (its sha256 and card): the context need not look again
        if (
            Path(current.path) == rp.model_path and current.card.sha256 == rp.card.sha256
        ):  # loaded: keep backend
            self.ctx.set_model(
                dataclasses.replace(current, card=rp.card, override_reason=rp.override_reason),
                file_present=True,
            )
        else:
            self.ctx.set_model(
                ModelState(path=rp.model_path, card=rp.card, override_reason=rp.override_reason),
                file_present=True,
            )
        self.ctx.set_recipe(rp.recipe)
        src = spec.source
        try:
            self.live.set_source(src.kind, src.spec)
        except ValueError as exc:  # e.g. genicam without harvesters installed
            self.ctx.notify(
                "error",
                self.tr("Product {name}: source {source}: {error}").format(
                    name=spec.name, source=src.describe(), error=exc
                ),
            )
        chooser = self.live.chooser
        chooser.recursive_check.setChecked(src.recursive)
        chooser.skip_check.setChecked(src.skip_logged)
        self.worker.set_frame_check(FrameGuard(spec.name, rp.card, spec.image, on_warning=self._warned.emit))
        self.line = line
        self.worker.set_line(line)
        self.rate_guard = DefectRateGuard(rp.baseline_rate)
        self._apply_context()
        self.ctx.settings.setValue(PRODUCT_KEY, spec.name)
        self.product_changed.emit(rp)
        normal = (
            self.tr("normal defect rate not known yet")
            if rp.baseline_rate is None
            else self.tr("normal defect rate {pct:.1f} %").format(pct=100 * rp.baseline_rate)
        )
        self.ctx.notify(
            "info",
            self.tr(
                "Product {name}: model {model} · {sha}, recipe {recipe} v{version}, {source}, {line_io}; "
                "{normal}"
            ).format(
                name=spec.name,
                model=rp.card.name,
                sha=spec.model_sha256[:8],
                recipe=spec.recipe_name,
                version=spec.recipe_version,
                source=src.describe(),
                line_io=spec.line_io.describe(),
                normal=normal,
            ),
        )
        if restored:  # the station comes back as it was: not a switch
            return
        details = {
            "name": spec.name,
            "product_id": rp.id,
            "previous": previous,
            "model_sha256": spec.model_sha256,
            "recipe": f"{spec.recipe_name} v{spec.recipe_version}",
            "source": src.describe(),
            "line_io": spec.line_io.describe(),
        }
        self.ctx.audit("product.select", details)

    # -- lots -------------------------------------------------------------------------------
    def start_lot(self, code: str) -> bool:
        if self.ctx.refuse(Right.LOT, QT_TRANSLATE_NOOP("Refusal", "Starting a lot")):
            return False
        try:
            code = lots.check_code(code)
        except LotError as exc:
            self.ctx.notify("warning", str(exc))
            return False
        if self.lot is not None:
            self.ctx.notify(
                "warning",
                self.tr("Lot {lot} is open: end it before starting {code}").format(
                    lot=self.lot.code, code=code
                ),
            )
            return False
        product_id = self.product.id if self.product is not None else None
        db, station, actor = self.ctx.db, self.ctx.station, self.ctx.user
        self.tasks.submit(
            "lot-start",
            lambda _s: lots.start_lot(db, station, code, actor, product_id),
            on_done=lambda lot: self._set_lot(lot, started=True),
            on_error=lambda msg: self._lot_not_started(code, msg),
            lane=WRITE_LANE,
            supersede=False,
        )
        return True

    def _lot_not_started(self, code: str, message: str) -> None:
        self.ctx.notify("error", self.tr("Lot {lot} not started: {error}").format(lot=code, error=message))
        self.lot_changed.emit(self.lot)  # the lot field takes input again

    def end_lot(self, confirm: bool = True) -> bool:
        """End the open lot after a confirmation (audited with the person and the final counts)."""
        lot = self.lot
        if lot is None:
            self.ctx.notify("warning", self.tr("No lot is open"))
            return False
        if self.ctx.refuse(Right.LOT, QT_TRANSLATE_NOOP("Refusal", "Ending a lot")):
            return False
        if self.live.controller.is_active():
            self.ctx.notify(
                "warning",
                self.tr(
                    "Stop the run (F7) before ending lot {lot}: parts in flight would straddle two lots"
                ).format(lot=lot.code),
            )
            return False
        if (
            confirm
            and EndLotDialog(lot, self.lot_counts, self.toolbar.window()).exec()
            != QDialog.DialogCode.Accepted
        ):
            return False
        db, station, actor, worker = self.ctx.db, self.ctx.station, self.ctx.user, self.worker

        def end(_state: TaskState) -> tuple[LotInfo, dict[str, int]]:
            worker.flush_writer(10.0)  # the lot's last parts committed: its counts are final
            return lots.end_lot(db, station, actor, lot.id)

        def done(got: tuple[LotInfo, dict[str, int]]) -> None:
            ended, counts = got
            self.ctx.notify(
                "info",
                self.tr("Lot {lot} ended: {counts}").format(lot=ended.code, counts=_counts_text(counts)),
            )
            self.last_lot = ended
            self._set_lot(None, started=False)

        self.tasks.submit(
            "lot-end",
            end,
            on_done=done,
            on_error=lambda msg: self.ctx.notify(
                "error", self.tr("Lot {lot} not ended: {error}").format(lot=lot.code, error=msg)
            ),
            lane=WRITE_LANE,
            supersede=False,
        )
        return True

    def _reset_is_end_lot(self) -> bool:
        """The Live tab's "Reset counters" while a lot is open: a confirmed "end lot"."""
        if self.lot is None:
            return False
        self.end_lot()
        return True

    def _set_lot(self, lot: LotInfo | None, *, started: bool) -> None:
        from inspector.ui.live_widgets import LiveCounters

        self.lot = lot
        if lot is not None:
            self.last_lot = lot
        self._apply_context()
        counters = LiveCounters()
        if lot is not None:
            counters.since = lot.started_at.astimezone()
        self.live.counters = counters  # the Live tiles count the lot (seeded from the DB below)
        self.live.tiles.update_from(counters)
        self.lot_counts = None if lot is None else lots.empty_counts()
        if lot is not None and started:
            self.ctx.notify(
                "info",
                self.tr("Lot {lot} started by {user} for {product}").format(
                    lot=lot.code, user=lot.started_by, product=lot.product
                )
                if lot.product
                else self.tr("Lot {lot} started by {user}").format(lot=lot.code, user=lot.started_by),
            )
        self._seed_live = lot is not None and not started  # a restart: the Live tiles start at the lot's
        self.refresh_counts()
        self.lot_changed.emit(lot)

    # -- counters and shifts -------------------------------------------------------------------
    def refresh_counts(self) -> None:
        db, station, lot, label = self.ctx.db, self.ctx.station, self.lot, self.shift.label

        def read(_state: TaskState) -> tuple[dict[str, int] | None, dict[str, int]]:
            return (
                lots.lot_counts(db, lot.id) if lot is not None else None,
                lots.shift_counts(db, label, station),
            )

        def done(got: tuple[dict[str, int] | None, dict[str, int]]) -> None:
            if self.lot is not lot:
                return
            self.lot_counts, self.shift_counts = got
            if self._seed_live and got[0] is not None:
                self._seed_live = False
                if self.live.counters.total == 0:
                    self.live.counters.counts.update(got[0])  # the lot's parts so far
                    self.live.tiles.update_from(self.live.counters)
            self.counts_changed.emit(self.lot_counts, self.shift_counts)

        self.tasks.submit(
            "counts",
            read,
            on_done=done,
            on_error=lambda msg: log.warning("lot/shift counters not read: %s", msg),
        )

    def _check_shift(self) -> None:
        shift = self.schedule.shift_at(datetime.now().astimezone())
        if shift.label != self.shift.label:
            self.ctx.notify(
                "info",
                self.tr("Shift {shift} began ({time})").format(
                    shift=shift.label, time=shift.start.strftime("%H:%M")
                ),
            )
            self.shift = shift
            self.refresh_counts()

    def _apply_context(self) -> None:
        self.worker.set_row_context(
            RowContext(
                product_id=self.product.id if self.product is not None else None,
                lot_id=self.lot.id if self.lot is not None else None,
                shifts=self.schedule,
            )
        )

    # -- guards ---------------------------------------------------------------------------------
    def _on_result(self, result: InspectionResult) -> None:
        img = result.frame.image
        if img is not None and (
            self.last_image is None or self.last_image[:2] != (img.shape[1], img.shape[0])
        ):
            self.last_image = (int(img.shape[1]), int(img.shape[0]), image_channels(img)[0])
        guard, product = self.rate_guard, self.product
        if guard is None or product is None:
            return
        text = guard.add(result.decision.verdict)
        if text is not None:
            self.ctx.notify(
                "warning", self.tr("Product {name}: {warning}").format(name=product.spec.name, warning=text)
            )
            self.ctx.audit(
                "product.defect_rate_warning",
                {
                    "name": product.spec.name,
                    "rate": guard.rate,
                    "baseline": guard.baseline,
                    "window": guard.window,
                    "limit": guard.limit,
                },
            )

    def _on_refused(self, why: str) -> None:
        name = self.product.spec.name if self.product is not None else "?"
        self.ctx.notify(
            "error",
            self.tr(
                "Product {name} REFUSED for these images: {why} — the run is stopped; the parts it saw "
                "are logged as ERROR (never OK)."
            ).format(name=name, why=why),
        )
        self.ctx.audit("product.refused", {"name": name, "why": why})
        self.live.stop()

    def _on_run_state(self, value: str) -> None:
        state = RunState(value)
        if not self._run_state.active and state.active and self.rate_guard is not None:
            self.rate_guard.reset()  # the defect rate of this run
        self._run_state = state
        self._check_shift()

    def shutdown(self) -> None:
        """At exit: the worker closes the line (after the writer's last commits)."""
        self._counts_timer.stop()
        self._shift_timer.stop()
        self.tasks.close(wait=True, timeout=5.0)


class LineToolBar(QToolBar):
    """Product · lot (scan or type, Enter) · lot and shift counters · Report."""

    def __init__(self, controller: ProductController) -> None:
        super().__init__(QCoreApplication.translate("LineToolBar", "Product and lot"))
        self.setObjectName("LineToolBar")
        self.setMovable(False)
        self.c = controller
        self.product_label = QLabel(self.tr("No product"))
        self.product_label.setObjectName("ProductLabel")
        self.product_label.setTextFormat(Qt.TextFormat.RichText)
        self.choose_button = QPushButton(self.tr("Product…"))
        self.choose_button.setToolTip(
            self.tr("Choose the product: model, recipe, source and line I/O in one step")
        )
        self.lot_edit = QLineEdit()
        self.lot_edit.setPlaceholderText(self.tr("scan or type lot id, Enter"))
        self.lot_edit.setMaximumWidth(220)
        self.lot_edit.setMaxLength(lots.MAX_CODE)
        self.lot_edit.setClearButtonEnabled(True)
        self.start_lot_button = QPushButton(self.tr("Start lot"))
        self.end_lot_button = QPushButton(self.tr("End lot…"))
        self.lot_label = QLabel("")
        self.shift_label = QLabel("")
        self.report_button = QPushButton(self.tr("Report…"))
        self.report_button.setToolTip(self.tr("Lot or shift report: HTML page and PDF"))
        for w in (self.product_label, self.choose_button):
            self.addWidget(w)
        self.addSeparator()
        self.addWidget(QLabel(" " + self.tr("Lot") + " "))
        for w in (self.lot_edit, self.start_lot_button, self.end_lot_button, self.lot_label):
            self.addWidget(w)
        self.addSeparator()
        self.addWidget(self.shift_label)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.addWidget(spacer)
        self.addWidget(self.report_button)
        self.choose_button.clicked.connect(controller.choose_dialog)
        self.lot_edit.returnPressed.connect(self._start)  # a scanner ends the id with Enter
        self.start_lot_button.clicked.connect(self._start)
        self.end_lot_button.clicked.connect(lambda: controller.end_lot())
        self.report_button.clicked.connect(self.open_report)
        controller.product_changed.connect(lambda _p: self.update_view())
        controller.lot_changed.connect(lambda _l: self.update_view())
        controller.counts_changed.connect(lambda _a, _b: self.update_view())
        self.report_dialog: ReportDialog | None = None
        self.update_view()

    def _start(self) -> None:
        if self.c.start_lot(self.lot_edit.text()):
            self.lot_edit.setEnabled(False)

    def open_report(self) -> ReportDialog:
        from inspector.ui.report_dialog import ReportDialog

        if self.report_dialog is None:
            self.report_dialog = ReportDialog(self.c, self.window())
        self.report_dialog.reload()
        self.report_dialog.show()
        self.report_dialog.raise_()
        return self.report_dialog

    def update_view(self) -> None:
        c = self.c
        if c.product is not None:
            spec = c.product.spec
            self.product_label.setText(self.tr("Product <b>{name}</b>").format(name=spec.name))
            self.product_label.setToolTip(
                self.tr(
                    "{description}\nmodel {model} · {sha}\nrecipe {recipe} v{version}"
                    "\nsource {source}\n{line_io}"
                ).format(
                    description=spec.description,
                    model=c.product.card.name,
                    sha=spec.model_sha256[:12],
                    recipe=spec.recipe_name,
                    version=spec.recipe_version,
                    source=spec.source.describe(),
                    line_io=spec.line_io.describe(),
                )
            )
        else:
            self.product_label.setText(self.tr("No product"))
            self.product_label.setToolTip(self.tr("Choose a product (File ▸ Choose product…)"))
        lot = c.lot
        self.lot_edit.setEnabled(lot is None)
        self.start_lot_button.setEnabled(lot is None)
        self.end_lot_button.setEnabled(lot is not None)
        if lot is not None:
            self.lot_edit.setText(lot.code)
            counts = _counts_text(c.lot_counts) if c.lot_counts is not None else "…"
            self.lot_label.setText(f" <b>{lot.code}</b>: {counts} ")
            self.lot_label.setToolTip(
                self.tr("started {time} by {user}").format(
                    time=f"{lot.started_at.astimezone():%Y-%m-%d %H:%M}", user=lot.started_by
                )
            )
        else:
            if c.last_lot is not None and self.lot_edit.text().strip() == c.last_lot.code:
                self.lot_edit.clear()  # the lot just ended: ready for the next id
            self.lot_label.setText(" " + self.tr("no lot open") + " ")
            self.lot_label.setToolTip("")
        self.shift_label.setText(
            " "
            + self.tr("Shift {shift}: {counts}").format(
                shift=c.shift.label, counts=_counts_text(c.shift_counts)
            )
            + " "
        )
        self.shift_label.setToolTip(
            self.tr("{start}–{end} (schedule {schedule}, setting {key})").format(
                start=f"{c.shift.start:%H:%M}",
                end=f"{c.shift.end:%H:%M}",
                schedule=c.schedule.text(),
                key=SHIFTS_KEY,
            )
        )
