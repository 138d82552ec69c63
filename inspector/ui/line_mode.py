"""The line view on the station window: F11 full screen, its keys, and kiosk mode.

:class:`LineMode` puts the window's tabs and the :class:`~inspector.ui.line_view.LineView` page in
one stack. F11 shows the page full screen (menus, toolbar, status bar and messages hidden) and
back; Esc leaves it. On the page, everything is one key (no mouse needed; ``line_view.KEYS``):
Space start / pause / resume, L start a lot (scan the id) or end it, P product, R lot report,
M sound on / off; the window's own keys (F5-F8, F1, Ctrl+Q) keep working.

Kiosk (``inspector --kiosk PRODUCT``): the station starts on the page for that product and
runs; leaving it (Esc, F11, closing the window, Ctrl+Q) takes a QA login through the role
controller's login entry point (``RoleController.request_qa``); the person who logged in is the
actor of the ``kiosk.leave`` audit event. Quitting while a run is active asks first, as always.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from inspector.services import lots
from inspector.ui.line_sound import LineSound
from inspector.ui.line_view import LineView

if TYPE_CHECKING:
    from inspector.ui.main_window import MainWindow

log = logging.getLogger(__name__)

# the window's keys that make no sense on the line view (tabs, the message dock), off while it shows
BLOCKED_KEYS = frozenset({"Ctrl+1", "Ctrl+2", "Ctrl+3", "Ctrl+4", "Ctrl+M"})
KIOSK_BLOCKED_KEYS = BLOCKED_KEYS | {"Ctrl+P"}  # the kiosk runs its product: QA changes it


class LotIdDialog(QDialog):
    """Start lot from the line view: a scanner types the id and Enter (Esc cancels)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Start lot"))
        self.setMinimumWidth(520)
        self.edit = QLineEdit()
        self.edit.setMaxLength(lots.MAX_CODE)
        self.edit.setPlaceholderText(self.tr("scan or type the lot id, Enter"))
        self.edit.setStyleSheet("font-size: 22pt; padding: 8px;")
        text = QLabel(self.tr("Scan the lot's barcode or type its id, then Enter."))
        text.setStyleSheet("font-size: 14pt;")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("Start lot"))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(text)
        lay.addWidget(self.edit)
        lay.addWidget(buttons)

    def code(self) -> str:
        return self.edit.text()


class LineMode(QObject):
    """Owned by the main window; see the module doc."""

    def __init__(self, window: MainWindow, sound: LineSound | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.ctx = window.ctx
        self.view = LineView(window.ctx, window.live, window.products, sound)
        self.stack = QStackedWidget()
        self.stack.setObjectName("CentralStack")
        tabs = window.takeCentralWidget()
        self.stack.addWidget(tabs)
        self.stack.addWidget(self.view)
        window.setCentralWidget(self.stack)
        self.active = False
        self.kiosk = False
        self.kiosk_product: str | None = None
        self.lot_dialog: LotIdDialog | None = None
        self._pending: Callable[[], None] | None = None  # what a QA login is asked for
        self._saved_state = Qt.WindowState.WindowNoState
        self._hidden: list[QWidget] = []
        self._blocked: list[QAction] = []
        self._step_keys: list[QKeySequence] = []
        self.toggle_action = QAction(self.tr("&Line view (full screen)"), window)
        self.toggle_action.setShortcut(QKeySequence("F11"))
        self.toggle_action.triggered.connect(self.toggle)
        window.addAction(self.toggle_action)  # works from the tabs and from the page
        self.keys: dict[str, QAction] = {}
        for key, slot in (
            ("Esc", self.request_leave),
            ("Space", self.space),
            ("L", self.lot_key),
            ("P", self.product_key),
            ("R", self.report_key),
            ("M", self.sound_key),
        ):
            act = QAction(key, self.view)
            act.setShortcut(QKeySequence(key))
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)  # only while the page shows
            act.triggered.connect(slot)
            self.view.addAction(act)
            self.keys[key] = act
        self.ctx.role_changed.connect(self._on_role)

    # -- entering and leaving ---------------------------------------------------------------------
    def toggle(self) -> None:
        if self.active:
            self.request_leave()
        else:
            self.enter()

    def enter(self, *, kiosk: bool = False) -> None:
        w = self.window
        self.kiosk = self.kiosk or kiosk
        self.view.kiosk = self.kiosk
        if self.active:
            self._block_keys()
            self.view.update_header()
            return
        self.active = True
        self._saved_state = w.windowState() & ~Qt.WindowState.WindowFullScreen
        self._hidden = [
            x
            for x in (w.menuBar(), w.products.toolbar, w.statusBar(), w.dock)
            if x is not None and x.isVisible()
        ]
        for x in self._hidden:
            x.hide()
        self._block_keys()
        step = getattr(w, "step_action", None)
        if step is not None:  # Space pauses / resumes here; F8 still steps
            self._step_keys = list(step.shortcuts())
            step.setShortcuts([k for k in self._step_keys if k.toString() != "Space"])
        self.stack.setCurrentWidget(self.view)
        w.showFullScreen()
        self.view.activate(True)
        self.view.setFocus(Qt.FocusReason.OtherFocusReason)

    def _block_keys(self) -> None:
        blocked = KIOSK_BLOCKED_KEYS if self.kiosk else BLOCKED_KEYS
        for act in self.window.actions():
            keys = {k.toString() for k in act.shortcuts()}
            if keys & blocked and act.isEnabled() and act not in self._blocked:
                act.setEnabled(False)
                self._blocked.append(act)

    def request_leave(self) -> bool:
        """Esc / F11 on the page: leave, unless this is a kiosk and no QA is logged in (then ask)."""
        if not self.active:
            return True
        if self.kiosk and not self.ctx.is_qa():
            self._ask_qa(self.leave)
            return False
        self.leave()
        return True

    def leave(self) -> None:
        if not self.active:
            return
        w = self.window
        if self.kiosk:
            self.ctx.audit("kiosk.leave", {"product": self.kiosk_product})
            self.ctx.notify("info", self.tr("Kiosk left by {user}").format(user=self.ctx.user))
        self.kiosk = False
        self.view.kiosk = False
        self.active = False
        self.view.activate(False)
        self.stack.setCurrentIndex(0)
        for act in self._blocked:
            act.setEnabled(True)
        self._blocked = []
        step = getattr(w, "step_action", None)
        if step is not None and self._step_keys:
            step.setShortcuts(self._step_keys)
        for x in self._hidden:
            x.show()
        self._hidden = []
        w.setWindowState(self._saved_state)
        if not w.isVisible():
            w.show()

    def may_close(self) -> bool:
        """The window's close: True unless a kiosk without QA login (then the login is asked for,
        and a successful one closes the window: a run still active asks first, as always)."""
        if not (self.active and self.kiosk) or self.ctx.is_qa():
            return True
        self._ask_qa(self.window.close)
        return False

    def shutdown(self) -> None:
        """At exit (after may_close): stop drawing; the window state is not restored."""
        self.view.activate(False)

    # -- QA login -----------------------------------------------------------------------------------
    def _ask_qa(self, then: Callable[[], None]) -> None:
        self._pending = then
        self.view.show_message("warning", self.tr("Kiosk: leaving needs a QA login"))
        dialog: Any = self.window.roles.request_qa()
        if dialog is None:  # already QA (or nothing to ask): go on
            self._run_pending()
            return
        finished = getattr(dialog, "finished", None)
        if finished is not None:
            finished.connect(lambda _code: self._login_closed())

    def _login_closed(self) -> None:
        if not self.ctx.is_qa():
            self._pending = None  # cancelled or failed: the kiosk stays

    def _on_role(self, _role: str) -> None:
        if self.ctx.is_qa() and self._pending is not None:
            QTimer.singleShot(0, self._run_pending)  # after the login dialog has closed

    def _run_pending(self) -> None:
        then, self._pending = self._pending, None
        if then is not None and self.ctx.is_qa():
            then()

    # -- kiosk ---------------------------------------------------------------------------------------
    def start_kiosk(self, product: str, autostart: bool = True) -> None:
        """Full screen on the line view for ``product`` (a known product's name), then run it."""
        self.kiosk_product = product
        self.enter(kiosk=True)
        self.ctx.audit("kiosk.start", {"product": product})
        pc = self.window.products
        if pc.product is not None and pc.product.spec.name == product:
            if autostart:
                QTimer.singleShot(0, self.window.live.start)
            return

        def loaded(rp: Any) -> None:
            if rp is None or rp.spec.name != product:
                return
            pc.product_changed.disconnect(loaded)
            if autostart and not self.window.live.controller.is_active():
                self.window.live.start()

        pc.product_changed.connect(loaded)
        if not pc.choose(product):
            pc.product_changed.disconnect(loaded)

    # -- keys on the page ------------------------------------------------------------------------------
    def space(self) -> None:
        live = self.window.live
        state = live.controller.state
        if state == "idle":
            live.start()
        else:
            live.toggle_pause()

    def lot_key(self) -> LotIdDialog | None:
        pc = self.window.products
        if pc.lot is not None:
            pc.end_lot()  # asks first (Cancel is the default)
            return None
        dialog = LotIdDialog(self.window)
        dialog.accepted.connect(lambda: pc.start_lot(dialog.code()))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.lot_dialog = dialog
        dialog.open()
        return dialog

    def product_key(self) -> object | None:
        if self.kiosk:
            self.ctx.notify(
                "warning",
                self.tr("Kiosk runs {product}: a QA login (Esc) is needed to change the product")
                .format(product=self.kiosk_product),
            )
            return None
        return self.window.products.choose_dialog()

    def report_key(self) -> object:
        return self.window.products.toolbar.open_report()

    def sound_key(self) -> None:
        sound = self.view.sound
        sound.set_enabled(not sound.enabled)
        self.view.poll_line()
        self.ctx.notify("info", self.tr("Sound per NG / ERROR part on") if sound.enabled
                        else self.tr("Sound per NG / ERROR part off"))
