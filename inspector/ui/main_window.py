"""The station window: tabs, menus/shortcuts, status bar, message dock. Deliberately thin:
each tab is its own module and talks to the others only through the AppContext."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractButton,
    QDialog,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from inspector.core.accounts import Right
from inspector.ui.context import AppContext
from inspector.ui.line_mode import LineMode
from inspector.ui.live_panel import LivePanel
from inspector.ui.messages import MessageArea
from inspector.ui.roles import RoleController
from inspector.ui.run_state import RunState
from inspector.ui.status_bar import StationStatusBar

log = logging.getLogger(__name__)

# (key, what): English source texts, translated when shown (context "MainWindow")
SHORTCUTS: list[tuple[str, str]] = [
    ("F5", QT_TRANSLATE_NOOP("MainWindow", "Start the run / resume a paused one")),
    ("F6", QT_TRANSLATE_NOOP("MainWindow", "Pause / resume")),
    ("F7", QT_TRANSLATE_NOOP("MainWindow", "Stop")),
    (QT_TRANSLATE_NOOP("MainWindow", "F8 or Space"),
     QT_TRANSLATE_NOOP("MainWindow", "Single step: inspect one image, then wait")),
    (QT_TRANSLATE_NOOP("MainWindow", "Left / Right"),
     QT_TRANSLATE_NOOP("MainWindow", "Walk the recent verdicts (strip focused)")),
    (QT_TRANSLATE_NOOP("MainWindow", "Ctrl+1 / Ctrl+2 / Ctrl+3 / Ctrl+4"),
     QT_TRANSLATE_NOOP("MainWindow", "Live / History / Rules / Trainer tab")),
    (QT_TRANSLATE_NOOP("MainWindow", "Ctrl+M"),
     QT_TRANSLATE_NOOP("MainWindow", "Show / hide the message area")),
    (QT_TRANSLATE_NOOP("MainWindow", "Ctrl+P"),
     QT_TRANSLATE_NOOP("MainWindow", "Choose the product (model, recipe, source and line I/O in one step)")),
    ("F11", QT_TRANSLATE_NOOP("MainWindow", "Line view, full screen (Esc leaves; there: Space start/pause, "
                                            "L lot, P product, R report, M sound)")),
    (QT_TRANSLATE_NOOP("MainWindow", "Ctrl+Q"),
     QT_TRANSLATE_NOOP("MainWindow", "Quit (asks first while a run is active)")),
    # the review keys of the History tab (inspector.ui.review, inspector.ui.history_panel)
    ("N / F / M / O", QT_TRANSLATE_NOOP("MainWindow", "History, selected part: confirm NG / false reject / "
                                                      "missed defect / confirm OK")),
    ("L", QT_TRANSLATE_NOOP("MainWindow", "History, selected part: label the defect (draw its mask)")),
    ("j / k", QT_TRANSLATE_NOOP("MainWindow", "History: next / previous row (like Down / Up)")),
]

# (tab title, module, class, required): built by name so a panel that fails to import
# cannot take the station down; the error goes to the message area instead. A missing
# optional tab is left out entirely (no placeholder). The titles are the panels' keys
# (``self.panels``), translated only where shown.
def _history_panel(ctx: AppContext) -> QWidget:
    from inspector.ui.history_panel import HistoryPanel

    return HistoryPanel(ctx)


def _rules_panel(ctx: AppContext) -> QWidget:
    from inspector.ui.rules_panel import RulesPanel

    return RulesPanel(ctx)


def _trainer_panel(ctx: AppContext) -> QWidget:
    from inspector.ui.trainer_panel import TrainerPanel

    return TrainerPanel(ctx)


# the tabs after Live, each built by a plain function that imports its panel (the import edges
# stay visible to import-linter); a panel that fails to build leaves a placeholder, not a crash
PANEL_TABS: list[tuple[str, Callable[[AppContext], QWidget]]] = [
    (QT_TRANSLATE_NOOP("MainWindow", "History"), _history_panel),
    (QT_TRANSLATE_NOOP("MainWindow", "Rules"), _rules_panel),
    (QT_TRANSLATE_NOOP("MainWindow", "Trainer"), _trainer_panel),
]


class MainWindow(QMainWindow):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(self.tr("Defect Inspector — {station}").format(station=ctx.station))
        self.setMinimumSize(760, 560)  # small laptops; panels keep their own minimums
        self.messages = MessageArea(ctx)
        self.dock = QDockWidget(self.tr("Messages"), self)
        self.dock.setObjectName("MessagesDock")  # saveState() needs object names
        self.dock.setWidget(self.messages)
        self.dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                              | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.dock)

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.live = LivePanel(ctx)
        self.tabs.addTab(self.live, self.tr("Live"))
        self.panels: dict[str, QWidget] = {"Live": self.live}
        for title, build in PANEL_TABS:
            panel = self._load_panel(title, build)
            self.panels[title] = panel
            self.tabs.addTab(panel, self.tr(title))
        self.setCentralWidget(self.tabs)

        self.status = StationStatusBar(ctx, self)
        self.setStatusBar(self.status)
        self.messages.unread_changed.connect(self.status.set_problems)
        self.roles = RoleController(ctx, self)
        from inspector.ui.line_control import ProductController  # products, lots, shifts, line I/O

        self.products = ProductController(ctx, self.live, self)
        self.addToolBar(self.products.toolbar)
        self.status.watch_line(lambda: self.products.line)
        self.line_view = LineMode(self)  # F11: the operator's full-screen line view; kiosk mode
        self.shortcuts_dialog: QDialog | None = None
        self.settings_dialog: QDialog | None = None
        self.quit_dialog: QMessageBox | None = None
        self._closed = False
        self._quit_confirmed = False
        self._build_menus()
        self._restore()

    def _load_panel(self, title: str, build: Callable[[AppContext], QWidget]) -> QWidget:
        try:
            return build(self.ctx)
        except Exception as exc:  # any failure in another panel must not take the station down
            if isinstance(exc, ModuleNotFoundError):
                why = self.tr("not installed")
                self.ctx.notify("warning", self.tr("The {tab} tab is not installed ({module})")
                                .format(tab=self.tr(title), module=exc.name))
            else:
                log.exception("%s tab failed to load", title)
                why = str(exc)
                self.ctx.notify("error", self.tr("The {tab} tab could not be loaded: {error}")
                                .format(tab=self.tr(title), error=exc))
        label = QLabel(self.tr("The {tab} tab is not available: {why}").format(tab=self.tr(title), why=why))
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setProperty("muted", True)
        return label

    # -- menus and shortcuts ----------------------------------------------------------------
    def _action(self, text: str, slot: object, keys: list[str] | None = None, menu: object = None) -> QAction:
        act = QAction(text, self)
        if keys:
            act.setShortcuts([QKeySequence(k) for k in keys])
        act.triggered.connect(slot)
        # On the window (not only the menu) so shortcuts work whichever widget has focus.
        self.addAction(act)
        if menu is not None:
            menu.addAction(act)  # type: ignore[attr-defined]
        return act

    def _build_menus(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu(self.tr("&File"))
        self._action(self.tr("Choose &product…"), self.products.choose_dialog, ["Ctrl+P"], f)
        self._action(self.tr("Lot / shift &report…"), self.products.toolbar.open_report, None, f)
        f.addSeparator()
        self.settings_action = self._action(self.tr("&Settings…"), self.show_settings, None, f)
        f.addSeparator()
        self._action(self.tr("&Quit"), self.close, ["Ctrl+Q"], f)
        run = mb.addMenu(self.tr("&Run"))
        self.start_action = self._action(self.tr("&Start / resume"), self.live.start, ["F5"], run)
        self.pause_action = self._action(self.tr("&Pause / resume"), self.live.toggle_pause, ["F6"], run)
        self.stop_action = self._action(self.tr("S&top"), self.live.stop, ["F7"], run)
        self.step_action = self._action(self.tr("Single s&tep"), self.live.step, ["F8", "Space"], run)
        run.addSeparator()
        self._action(self.tr("&Reset counters"), self.live.reset_counters, None, run)
        view = mb.addMenu(self.tr("&View"))
        for i, title in enumerate(self.panels):
            self._action("&" + self.tr(title), lambda _=False, i=i: self.tabs.setCurrentIndex(i),
                         [f"Ctrl+{i + 1}"], view)
        view.addSeparator()
        view.addAction(self.line_view.toggle_action)
        toggle = self.dock.toggleViewAction()
        toggle.setShortcut(QKeySequence("Ctrl+M"))
        view.addAction(toggle)
        self.addAction(toggle)
        role = mb.addMenu(self.tr("R&ole"))
        self.qa_action = self._action(self.tr("&Log in…"), self.roles.request_login, None, role)
        self.logout_action = self._action(self.tr("Log &out (operator mode)"), self.roles.logout, None, role)
        self.pin_action = self._action(self.tr("&Change PIN…"), self.roles.change_pin, None, role)
        role.addSeparator()
        self.users_action = self._action(self.tr("&Users…"), self.roles.open_users, None, role)
        self.ctx.role_changed.connect(self._on_role)
        self._on_role(self.ctx.role)
        helpm = mb.addMenu(self.tr("&Help"))
        self._action(self.tr("&Keyboard shortcuts"), self.show_shortcuts, ["F1"], helpm)

    def _on_role(self, _role: str) -> None:
        qa, account = self.ctx.is_qa(), self.roles.session == "account"
        self.qa_action.setEnabled(not qa)
        self.logout_action.setEnabled(self.ctx.personal)
        # a PIN session may change the shared PIN; an account session its own password
        self.pin_action.setText(self.tr("&Change my password…") if account else self.tr("&Change PIN…"))
        self.pin_action.setEnabled(account or (qa and not self.ctx.accounts))
        self.users_action.setEnabled(self.ctx.may(Right.USERS))
        self.users_action.setStatusTip(self.ctx.needs(Right.USERS) or self.tr("Add users, reset passwords, "
                                                                              "roles"))

    def show_shortcuts(self) -> QDialog:
        """A non-modal list of the shortcuts (it never blocks the line)."""
        if self.shortcuts_dialog is None:
            dlg = QDialog(self)
            dlg.setWindowTitle(self.tr("Keyboard shortcuts"))
            table = QTableWidget(len(SHORTCUTS), 2)
            table.setHorizontalHeaderLabels([self.tr("Key"), self.tr("Action")])
            table.verticalHeader().hide()
            table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
            for r, (key, what) in enumerate(SHORTCUTS):
                table.setItem(r, 0, QTableWidgetItem(self.tr(key)))
                table.setItem(r, 1, QTableWidgetItem(self.tr(what)))
            table.resizeColumnsToContents()
            width = table.horizontalHeader().length() + table.verticalScrollBar().sizeHint().width() + 40
            table.horizontalHeader().setStretchLastSection(True)
            QVBoxLayout(dlg).addWidget(table)
            # the longest line readable in every language, every row without scrolling
            height = table.verticalHeader().length() + table.horizontalHeader().height() + 60
            dlg.resize(min(max(660, width), 1400), min(max(340, height), 800))
            self.shortcuts_dialog = dlg
        self.shortcuts_dialog.show()
        self.shortcuts_dialog.raise_()
        return self.shortcuts_dialog

    def show_settings(self) -> QDialog:
        """File ▸ Settings… (the language; it applies at the next start). Non-modal."""
        from inspector.ui.settings_dialog import SettingsDialog

        if self.settings_dialog is None:
            self.settings_dialog = SettingsDialog(self.ctx, self)
        if not self.settings_dialog.isVisible():
            self.settings_dialog.reload()  # type: ignore[attr-defined]
        self.settings_dialog.show()
        self.settings_dialog.raise_()
        return self.settings_dialog

    # -- persistence ------------------------------------------------------------------------
    def _restore(self) -> None:
        s = self.ctx.settings
        geometry = s.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1440, 900)
        state = s.value("window/state")
        if state is not None:
            self.restoreState(state)
        else:  # first start: a few lines of messages; the Live view gets the height
            self.resizeDocks([self.dock], [150], Qt.Orientation.Vertical)
        self.tabs.setCurrentIndex(int(s.value("window/tab", 0) or 0))

    def save_settings(self) -> None:
        s = self.ctx.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("window/tab", self.tabs.currentIndex())
        self.live.save_settings()
        s.sync()

    def ask_quit(self) -> QMessageBox:
        """Ctrl+Q or closing the window while a run is active: ask (non-blocking) before stopping it."""
        if self.quit_dialog is not None and self.quit_dialog.isVisible():
            return self.quit_dialog
        state = self.ctx.run_state
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle(self.tr("Quit during a run"))
        box.setText(self.tr("An inspection run is paused. Stop it and quit?") if state is RunState.PAUSED
                    else self.tr("An inspection run is running. Stop it and quit?"))
        box.setInformativeText(self.tr("The part in flight is finished and logged; parts not yet inspected "
                                       "are not. Cancel keeps the station running."))
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel)
        box.button(QMessageBox.StandardButton.Yes).setText(self.tr("Stop and quit"))
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)  # an Enter in passing must not stop the line

        def clicked(button: QAbstractButton) -> None:
            if box.standardButton(button) == QMessageBox.StandardButton.Yes:
                self._quit_confirmed = True
                self.close()

        box.buttonClicked.connect(clicked)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        self.quit_dialog = box
        box.open()
        return box

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._closed:  # close() may come twice (menu, then the app or a test)
            super().closeEvent(event)
            return
        if not self.line_view.may_close():  # a kiosk: leaving takes a QA login
            event.ignore()
            return
        if self.ctx.run_state.active and not self._quit_confirmed:
            event.ignore()  # the station keeps inspecting unless the person confirms
            self.ask_quit()
            return
        self._closed = True
        self.line_view.shutdown()
        self.save_settings()
        self.products.shutdown()
        self.live.shutdown()
        for panel in self.panels.values():
            close = getattr(panel, "shutdown", None)
            if callable(close) and panel is not self.live:
                close()
        super().closeEvent(event)
