"""Operator / QA roles: a PIN-protected QA mode, and the audit trail of who did what.

The PIN is stored only as a salted PBKDF2 hash in QSettings. On first run the
PIN is "0000" and the login dialog says so until it is changed. Logins (also
failed ones), logouts and PIN changes are audit events; every write goes
through :class:`AuditLog` on a background thread so the UI never waits on the DB.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, QSettings, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from inspector.ui.context import AppContext
from inspector.ui.settings import get_flag, set_flag

log = logging.getLogger(__name__)

DEFAULT_PIN = "0000"
ITERATIONS = 120_000  # ~50 ms per check here: slow for guessing, unnoticeable at a login
PIN_KEY = "roles/qa_pin_hash"
LOCK_AFTER, LOCK_S = 5, 30  # wrong PINs in a row, then the OK button rests this long
OPERATOR, QA = "operator", "qa"


def hash_pin(pin: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str) -> bool:
    try:
        algo, iters, salt_hex, digest_hex = stored.split("$")
        if algo != "pbkdf2_sha256":
            return False
        digest = hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), bytes.fromhex(salt_hex), int(iters))
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), digest_hex)


class PinStore:
    """The QA PIN hash in QSettings; created with the default PIN on first use."""

    def __init__(self, settings: QSettings) -> None:
        self.settings = settings
        if not self.settings.value(PIN_KEY):
            self._store(DEFAULT_PIN, is_default=True)

    def _store(self, pin: str, is_default: bool) -> None:
        self.settings.setValue(PIN_KEY, hash_pin(pin))
        set_flag(self.settings, "roles/pin_is_default", is_default)
        self.settings.sync()

    def check(self, pin: str) -> bool:
        return verify_pin(pin, str(self.settings.value(PIN_KEY, "")))

    @property
    def is_default(self) -> bool:
        return get_flag(self.settings, "roles/pin_is_default", True)

    def change(self, old: str, new: str) -> None:
        """Raise ValueError (with the reason to show) unless ``old`` is right and ``new`` acceptable."""
        if not self.check(old):
            raise ValueError("The current PIN is wrong.")
        if len(new) < 4:
            raise ValueError("The new PIN needs at least 4 characters.")
        if new == DEFAULT_PIN:
            raise ValueError("Choose a PIN other than the default.")
        self._store(new, is_default=False)


class AuditLog(QObject):
    """Writes audit events with db.queries.audit on one background thread, in order."""

    failed = Signal(str)

    def __init__(self, db: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._db = db
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit")

    def record(self, actor: str, action: str, details: dict[str, Any]) -> Future[int]:
        from db.queries import audit

        fut = self._pool.submit(audit, self._db, actor, action, details)
        fut.add_done_callback(lambda f: self._check(f, action))
        return fut

    def _check(self, fut: Future[int], action: str) -> None:
        exc = fut.exception()
        if exc is not None:
            log.error("audit event %s not written: %r", action, exc)
            self.failed.emit(f"audit event '{action}' could not be written: {exc}")

    def close(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait)


class LoginDialog(QDialog):
    """PIN prompt for QA mode; stays open with a message on a wrong PIN."""

    wrong_pin = Signal()

    def __init__(self, pins: PinStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("QA login")
        self.setMinimumWidth(360)
        self.pins = pins
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("your name (for the audit log)")
        self.pin_edit = QLineEdit()
        self.pin_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin_edit.setPlaceholderText("PIN")
        self.error_label = QLabel("")
        self.error_label.setProperty("error", True)
        self.hint_label = QLabel(f'The PIN is still the default "{DEFAULT_PIN}". '
                                 "Change it after logging in: Role ▸ Change PIN…")
        self.hint_label.setProperty("hint", True)
        self.hint_label.setWordWrap(True)
        self.hint_label.setVisible(pins.is_default)
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
        self.failures = 0
        self.user = ""

    def _try(self) -> None:
        if self.pins.check(self.pin_edit.text()):
            self.user = self.name_edit.text().strip() or QA
            self.accept()
            return
        self.failures += 1
        self.error_label.setText("Wrong PIN.")
        self.pin_edit.clear()
        self.pin_edit.setFocus()
        self.wrong_pin.emit()
        if self.failures % LOCK_AFTER == 0:
            # Slows guessing a 4-digit PIN down to hours, without locking QA out for long.
            ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
            ok.setEnabled(False)
            self.error_label.setText(f"Wrong PIN {self.failures} times: wait {LOCK_S} s.")
            QTimer.singleShot(LOCK_S * 1000, lambda: ok.setEnabled(True))


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
        self.error_label = QLabel("")
        self.error_label.setProperty("error", True)
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
    """Opens the (non-blocking) dialogs and switches ``ctx`` role, auditing each step."""

    def __init__(self, ctx: AppContext, parent_widget: QWidget | None = None) -> None:
        super().__init__(parent_widget)
        self.ctx = ctx
        self.pins = PinStore(ctx.settings)
        self._parent = parent_widget
        self.login_dialog: LoginDialog | None = None
        self.pin_dialog: ChangePinDialog | None = None

    def request_qa(self) -> LoginDialog | None:
        """Show the login dialog (window-modal, non-blocking); returns it, or None if already QA."""
        if self.ctx.is_qa():
            return None
        dlg = LoginDialog(self.pins, self._parent)
        dlg.wrong_pin.connect(lambda: self.ctx.audit("qa.login_failed", {"name": dlg.name_edit.text()}))
        dlg.accepted.connect(lambda: self._logged_in(dlg))
        self.login_dialog = dlg
        dlg.open()
        return dlg

    def _logged_in(self, dlg: LoginDialog) -> None:
        self.ctx.set_role(QA, dlg.user)
        self.ctx.audit("qa.login", {"failures_before": dlg.failures})
        self.ctx.notify("info", f"QA mode: {dlg.user}")
        if self.pins.is_default:
            self.ctx.notify("warning", f'The QA PIN is still the default "{DEFAULT_PIN}": '
                                       "change it with Role ▸ Change PIN…")

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
