"""Operator / QA roles: a PIN-protected QA mode, and the audit trail of who did what.

The PIN and the login lockout live in the owner-only secrets file of
:mod:`inspector.core.secret_store` (never in QSettings, which is world-readable).
There is no default PIN: until one is set with ``inspector set-pin`` QA is locked and
the login dialog says so. A hash an older version kept in QSettings is moved there
once (unless it is the old default "0000") and removed from QSettings.

The login dialog asks for the person's name and the PIN; the name is the actor of
every audit event while the QA session lasts, and of failed logins. Logins (also
failed ones), logouts and PIN changes are audit events; every write goes through
:class:`AuditLog` through the GUI task runner so the UI never waits on the DB.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from inspector.core.secret_store import (
    ITERATIONS,
    LOCK_AFTER,
    MIN_PIN_LEN,
    SET_PIN_COMMAND,
    Attempt,
    Outcome,
    SecretStore,
    format_wait,
    hash_pin,
    validate_new_pin,
    verify_pin,
)
from inspector.ui.context import AppContext
from inspector.ui.settings import get_flag
from inspector.ui.tasks import WRITE_LANE, Job, TaskRunner, TaskState

log = logging.getLogger(__name__)

__all__ = ["ITERATIONS", "LOCK_AFTER", "OPERATOR", "PIN_KEY", "QA", "AuditLog", "ChangePinDialog",
           "LoginDialog", "PinStore", "RoleController", "hash_pin", "verify_pin"]

PIN_KEY = "roles/qa_pin_hash"  # where versions before the secrets file kept the hash (migrated once)
PIN_DEFAULT_KEY = "roles/pin_is_default"
NAME_MAX = 100  # audit_event.actor holds 200
OPERATOR, QA = "operator", "qa"


class PinStore:
    """The QA PIN, in the secrets file; moves a hash left in QSettings by an older version."""

    def __init__(self, settings: QSettings, store: SecretStore | None = None) -> None:
        self.settings = settings
        self.store = store or SecretStore()
        self.error = ""  # why the secrets file cannot be used ("" when it can)
        try:
            self._migrate()
        except OSError as exc:
            self.error = f"cannot use the secrets file {self.store.path}: {exc}"
            log.error("QA is locked: %s", self.error)

    def _migrate(self) -> None:
        legacy = self.settings.value(PIN_KEY)
        stored = str(legacy) if legacy else None
        done = self.store.adopt_legacy_hash(stored, get_flag(self.settings, PIN_DEFAULT_KEY, False),
                                            origin=f"QSettings {self.settings.fileName()}")
        if stored is not None or self.settings.contains(PIN_DEFAULT_KEY):
            self.settings.remove(PIN_KEY)
            self.settings.remove(PIN_DEFAULT_KEY)
            self.settings.sync()
        if done == "adopted":
            log.warning("the QA PIN hash moved from %s to %s (owner-only)",
                        self.settings.fileName(), self.store.path)
        elif done != "none":
            log.warning("a QA PIN hash in %s was not used (%s) and is removed; QA login needs `%s`"
                        " unless %s already holds a PIN", self.settings.fileName(), done, SET_PIN_COMMAND,
                        self.store.path)

    def has_pin(self) -> bool:
        try:
            return self.store.has_pin()
        except OSError as exc:
            self.error = f"cannot use the secrets file {self.store.path}: {exc}"
            return False

    def lock_remaining(self) -> float:
        try:
            return self.store.lock_remaining()
        except OSError:
            return 0.0

    def attempt(self, pin: str) -> Attempt:
        """Raises OSError when the secrets file cannot be read or written."""
        return self.store.attempt(pin)

    def check(self, pin: str) -> bool:
        return self.attempt(pin).ok

    def change(self, old: str, new: str) -> None:
        """Raise ValueError (with the reason to show) unless ``old`` is right and ``new`` acceptable."""
        validate_new_pin(new)
        try:
            result = self.store.attempt(old)
            if result.outcome is Outcome.LOCKED:
                raise ValueError(f"Too many wrong PINs: wait {format_wait(result.locked_s)}.")
            if not result.ok:
                raise ValueError("The current PIN is wrong.")
            self.store.set_pin(new)
        except OSError as exc:
            raise ValueError(f"Cannot use the secrets file: {exc}") from exc


class AuditLog(QObject):
    """Writes audit events with db.queries.audit through the GUI task runner (inspector.ui.tasks),
    on its write lane: in order, never on the UI thread."""

    failed = Signal(str)

    def __init__(self, db: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._db = db
        self.tasks = TaskRunner(self, "audit")

    def record(self, actor: str, action: str, details: dict[str, Any]) -> Job[int]:
        return self.tasks.submit(
            "audit", _write_audit, self._db, actor, action, details,
            lane=WRITE_LANE, supersede=False, on_error=lambda message: self._failed(action, message),
        )

    def submit(self, tag: str, fn: Callable[..., Any], *args: Any, **callbacks: Any) -> Job[Any]:
        """Another station write (e.g. registering the shipped model) on the same lane; waited for
        by ``close``, so it ends before the database is disposed."""
        return self.tasks.submit(tag, fn, *args, lane=WRITE_LANE, supersede=False, **callbacks)

    def _failed(self, action: str, message: str) -> None:
        log.error("audit event %s not written: %s", action, message)
        self.failed.emit(f"audit event '{action}' could not be written: {message}")

    def close(self, wait: bool = True) -> None:
        self.tasks.close(wait)


def _write_audit(_state: TaskState, db: Any, actor: str, action: str, details: dict[str, Any]) -> int:
    from db.queries import audit

    return audit(db, actor, action, details)


class LoginDialog(QDialog):
    """Name and PIN prompt for QA mode; stays open with a message on a wrong PIN.

    While QA is locked (no PIN set, or too many wrong PINs: the secrets file says so,
    whichever dialog or process counted them) OK is disabled and the wait counts down.
    """

    # name given, audit details ({"reason": "wrong_pin" | "locked" | "no_pin", ...})
    login_failed = Signal(str, object)

    def __init__(self, pins: PinStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("QA login")
        self.setMinimumWidth(380)
        self.pins = pins
        self.name_edit = QLineEdit()
        self.name_edit.setMaxLength(NAME_MAX)
        self.name_edit.setPlaceholderText("your name (required, for the audit log)")
        self.pin_edit = QLineEdit()
        self.pin_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin_edit.setPlaceholderText("PIN")
        self.error_label = QLabel("")
        self.error_label.setProperty("error", True)
        self.error_label.setWordWrap(True)
        self.hint_label = QLabel("")
        self.hint_label.setProperty("hint", True)
        self.hint_label.setWordWrap(True)
        self.hint_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        title = QLabel("QA mode unlocks recipe changes and model management.")
        title.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Name", self.name_edit)
        form.addRow("PIN", self.pin_edit)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self._try)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        layout.addWidget(title)
        layout.addLayout(form)
        layout.addWidget(self.hint_label)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self.failures = 0  # wrong PINs typed in this dialog
        self.user = ""
        self.weak_pin = False  # the right PIN was shorter than MIN_PIN_LEN (kept from an older version)
        self.countdown = QTimer(self)
        self.countdown.setInterval(500)
        self.countdown.timeout.connect(self._refresh_lock)
        self._show_no_pin(not pins.has_pin())
        self._refresh_lock()

    @property
    def ok_button(self) -> QPushButton:
        return self.buttons.button(QDialogButtonBox.StandardButton.Ok)

    def _show_no_pin(self, no_pin: bool) -> None:
        if no_pin:
            why = self.pins.error or "no QA PIN is set on this computer"
            self.hint_label.setText(f"QA is locked: {why}. Set a PIN (at least {MIN_PIN_LEN} characters) "
                                    f"in a terminal with\n    {SET_PIN_COMMAND}")
        self.hint_label.setVisible(no_pin)

    def _refresh_lock(self) -> None:
        """Disable OK while the secrets file says QA is locked; show the wait; re-enable after."""
        remaining = self.pins.lock_remaining()
        if remaining > 0:
            self.ok_button.setEnabled(False)
            self.error_label.setText(f"Too many wrong PINs in a row: wait {format_wait(remaining)} "
                                     "before the next try.")
            if not self.countdown.isActive():
                self.countdown.start()
            return
        self.countdown.stop()
        if not self.ok_button.isEnabled():
            self.ok_button.setEnabled(True)
            self.error_label.setText("")

    def _try(self) -> None:
        name = " ".join(self.name_edit.text().split())
        if not name:
            self.error_label.setText("Enter your name: it goes into the audit log with every QA action.")
            self.name_edit.setFocus()
            return
        pin = self.pin_edit.text()
        self.pin_edit.clear()
        self.pin_edit.setFocus()
        try:
            result = self.pins.attempt(pin)
        except OSError as exc:
            self.pins.error = f"cannot use the secrets file {self.pins.store.path}: {exc}"
            self._show_no_pin(True)
            self.login_failed.emit(name, {"reason": "secrets_file", "error": str(exc)})
            return
        if result.ok:
            self.user = name
            self.weak_pin = result.weak
            self.countdown.stop()
            self.accept()
            return
        if result.outcome is Outcome.NO_PIN:
            self._show_no_pin(True)
            self.error_label.setText("QA is locked: no PIN is set.")
            self.login_failed.emit(name, {"reason": "no_pin"})
            return
        self._show_no_pin(False)
        details: dict[str, Any] = {"failures_in_a_row": result.failures}
        if result.outcome is Outcome.LOCKED:
            details.update(reason="locked", locked_s=round(result.locked_s, 1))
        else:
            self.failures += 1
            details.update(reason="wrong_pin", locked_s=result.locked_s)
            self.error_label.setText("Wrong PIN.")
        self.login_failed.emit(name, details)
        self._refresh_lock()


class ChangePinDialog(QDialog):
    def __init__(self, pins: PinStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Change QA PIN")
        self.setMinimumWidth(340)
        self.pins = pins
        self.old_edit, self.new_edit, self.again_edit = QLineEdit(), QLineEdit(), QLineEdit()
        form = QFormLayout()
        for label, edit in (("Current PIN", self.old_edit), ("New PIN", self.new_edit),
                            ("Repeat new PIN", self.again_edit)):
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            form.addRow(label, edit)
        self.new_edit.setPlaceholderText(f"at least {MIN_PIN_LEN} characters")
        self.error_label = QLabel("")
        self.error_label.setProperty("error", True)
        self.error_label.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self._try)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

    def _try(self) -> None:
        if self.new_edit.text() != self.again_edit.text():
            self.error_label.setText("The new PINs differ.")
            return
        try:
            self.pins.change(self.old_edit.text(), self.new_edit.text())
        except ValueError as exc:
            self.error_label.setText(str(exc))
            return
        self.accept()


class RoleController(QObject):
    """Opens the (non-blocking) dialogs and switches ``ctx`` role, auditing each step.

    ``ctx.user`` is the name given at login while QA lasts, so every audit event of the
    session (ctx.audit, recipe versions, promotions) names the person, not the role.
    """

    def __init__(self, ctx: AppContext, parent_widget: QWidget | None = None,
                 store: SecretStore | None = None) -> None:
        super().__init__(parent_widget)
        self.ctx = ctx
        self.pins = PinStore(ctx.settings, store)
        self._parent = parent_widget
        self.login_dialog: LoginDialog | None = None
        self.pin_dialog: ChangePinDialog | None = None

    def _audit_as(self, actor: str, action: str, details: dict[str, Any]) -> None:
        if self.ctx.audit_sink is not None:
            self.ctx.audit_sink(actor, action, details)

    def request_qa(self) -> LoginDialog | None:
        """Show the login dialog (window-modal, non-blocking); returns it, or None if already QA."""
        if self.ctx.is_qa():
            return None
        dlg = LoginDialog(self.pins, self._parent)
        dlg.login_failed.connect(lambda name, details: self._audit_as(name, "qa.login_failed", details))
        dlg.accepted.connect(lambda: self._logged_in(dlg))
        self.login_dialog = dlg
        dlg.open()
        return dlg

    def _logged_in(self, dlg: LoginDialog) -> None:
        self.ctx.set_role(QA, dlg.user)
        self.ctx.audit("qa.login", {"failures_before": dlg.failures})
        self.ctx.notify("info", f"QA mode: {dlg.user}")
        if dlg.weak_pin:
            self.ctx.notify("warning", f"The QA PIN is shorter than {MIN_PIN_LEN} characters (from an older "
                                       "version): change it with Role ▸ Change PIN…")

    def logout(self) -> None:
        if not self.ctx.is_qa():
            return
        self.ctx.audit("qa.logout")
        self.ctx.set_role(OPERATOR)
        self.ctx.notify("info", "Operator mode")

    def change_pin(self) -> ChangePinDialog:
        dlg = ChangePinDialog(self.pins, self._parent)

        def done() -> None:
            self.ctx.audit("qa.pin_changed")
            self.ctx.notify("info", "QA PIN changed")

        dlg.accepted.connect(done)
        self.pin_dialog = dlg
        dlg.open()
        return dlg
