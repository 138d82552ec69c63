"""The login dialog (user name + password, or the legacy name + shared QA PIN) and the dialogs
that change a PIN or one's own password. Opened by :class:`inspector.ui.roles.RoleController`.

With accounts (``inspector.services.accounts.has_accounts``) the check runs off the UI
thread (GUI task runner, write lane: it counts wrong passwords and writes the audit event in
one transaction); the answer never says whether a user name exists. Without accounts the
shared QA PIN is checked as before (owner-only secrets file), and the dialog says how to create
the first admin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, QTimer, Signal
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

from inspector.core.accounts import FIRST_ADMIN_COMMAND, MIN_PASSWORD_LEN, Role, validate_password
from inspector.core.secret_store import MIN_PIN_LEN, SET_PIN_COMMAND, Outcome, format_wait
from inspector.ui.i18n import role_label, roles_from
from inspector.ui.tasks import WRITE_LANE, TaskRunner, TaskState

if TYPE_CHECKING:
    from inspector.services.accounts import LoginResult, UserInfo
    from inspector.ui.roles import PinStore

NAME_MAX = 100  # audit_event.actor holds 200
WRONG_LOGIN = QT_TRANSLATE_NOOP("LoginDialog", "Wrong user name or password.")  # shown translated


def _error_label() -> QLabel:
    label = QLabel("")
    label.setProperty("error", True)
    label.setWordWrap(True)
    return label


def _hint_label() -> QLabel:
    label = QLabel("")
    label.setProperty("hint", True)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class LoginDialog(QDialog):
    """User name and password (accounts), or name and PIN (no accounts yet: the shared QA PIN).

    ``min_role``: the login is refused for an account below it (the QA login that leaves the
    kiosk, for instance); None accepts every role. PIN mode: while QA is locked (no PIN set, or
    too many wrong PINs: the secrets file says so, whichever dialog or process counted them)
    OK is disabled and the wait counts down.
    """

    # PIN mode: name given, audit details ({"reason": "wrong_pin" | "locked" | "no_pin", ...}).
    # With accounts the database writes the audit events itself.
    login_failed = Signal(str, object)

    def __init__(
        self,
        pins: PinStore,
        parent: QWidget | None = None,
        *,
        db: Any = None,
        station: str = "",
        accounts: bool = False,
        min_role: Role | None = None,
    ) -> None:
        super().__init__(parent)
        self.setMinimumWidth(420)
        self.pins = pins
        self.db, self.station, self.min_role = db, station, min_role
        self.accounts = False
        self.name_edit = QLineEdit()
        self.name_edit.setMaxLength(NAME_MAX)
        self.pin_edit = QLineEdit()  # the PIN, or the password with accounts
        self.pin_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit = self.pin_edit
        self.error_label = _error_label()
        self.hint_label = _hint_label()  # PIN mode: "QA is locked: no PIN is set ..."
        self.accounts_hint = _hint_label()  # PIN mode: how to create the first admin account
        self.title = QLabel("")
        self.title.setWordWrap(True)
        self.form = QFormLayout()
        self.form.addRow(self.tr("Name"), self.name_edit)
        self.form.addRow(self.tr("PIN"), self.pin_edit)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self._try)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        layout.addWidget(self.title)
        layout.addLayout(self.form)
        layout.addWidget(self.hint_label)
        layout.addWidget(self.accounts_hint)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self.failures = 0  # wrong PINs / passwords typed in this dialog
        self.user = ""  # the name (PIN mode) or the user name (accounts) once accepted
        self.account: UserInfo | None = None  # the account once accepted (accounts)
        self.weak_pin = False  # the right PIN was shorter than MIN_PIN_LEN (kept from an older version)
        self.checking = False  # an account check is running
        self.tasks = TaskRunner(self, "login")
        self.countdown = QTimer(self)
        self.countdown.setInterval(500)
        self.countdown.timeout.connect(self._refresh_lock)
        self.set_accounts(accounts and db is not None)

    @property
    def ok_button(self) -> QPushButton:
        return self.buttons.button(QDialogButtonBox.StandardButton.Ok)

    def set_accounts(self, accounts: bool) -> None:
        """Switch between the account login and the shared-PIN login (the station learnt which)."""
        self.accounts = accounts and self.db is not None
        qa = self.min_role is not None and self.min_role.rank >= Role.QA.rank
        if self.accounts:
            self.setWindowTitle(self.tr("QA login") if qa else self.tr("Log in"))
            if self.min_role is not None and self.min_role is not Role.OPERATOR:
                title = self.tr(
                    "Log in with a {roles} account: your name goes with every review, recipe "
                    "change, promotion and lot action."
                ).format(roles=roles_from(self.min_role))
            else:
                title = self.tr(
                    "Log in with your account: your name goes with every review, recipe change, "
                    "promotion and lot action."
                )
            self.title.setText(title)
            self.form.labelForField(self.name_edit).setText(self.tr("User name"))  # type: ignore[attr-defined]
            self.form.labelForField(self.pin_edit).setText(self.tr("Password"))  # type: ignore[attr-defined]
            self.name_edit.setPlaceholderText(self.tr("user name"))
            self.pin_edit.setPlaceholderText(self.tr("password"))
            self.countdown.stop()
            self.hint_label.hide()
            self.accounts_hint.hide()
            self.ok_button.setEnabled(not self.checking)
            self.error_label.setText("")
            return
        self.setWindowTitle(self.tr("QA login"))
        self.title.setText(self.tr("QA mode unlocks recipe changes and model promotion."))
        self.form.labelForField(self.name_edit).setText(self.tr("Name"))  # type: ignore[attr-defined]
        self.form.labelForField(self.pin_edit).setText(self.tr("PIN"))  # type: ignore[attr-defined]
        self.name_edit.setPlaceholderText(self.tr("your name (required, for the audit log)"))
        self.pin_edit.setPlaceholderText(self.tr("PIN"))
        self.accounts_hint.setText(
            self.tr(
                "No user accounts yet: QA logs in with the shared PIN until the first admin account exists. "
                "Create it in a terminal with\n    {command}\nthen log in with it and add everyone's account "
                "under Role ▸ Users…"
            ).format(command=FIRST_ADMIN_COMMAND)
        )
        self.accounts_hint.show()
        self._show_no_pin(not self.pins.has_pin())
        self._refresh_lock()

    # -- PIN mode ----------------------------------------------------------------------------
    def _show_no_pin(self, no_pin: bool) -> None:
        if no_pin:
            why = self.pins.error or self.tr("no QA PIN is set on this computer")
            self.hint_label.setText(
                self.tr(
                    "QA is locked: {why}. Set a PIN (at least {n} characters) in a terminal with"
                    "\n    {command}"
                ).format(why=why, n=MIN_PIN_LEN, command=SET_PIN_COMMAND)
            )
        self.hint_label.setVisible(no_pin)

    def _refresh_lock(self) -> None:
        """Disable OK while the secrets file says QA is locked; show the wait; re-enable after."""
        if self.accounts:
            self.countdown.stop()
            return
        remaining = self.pins.lock_remaining()
        if remaining > 0:
            self.ok_button.setEnabled(False)
            self.error_label.setText(
                self.tr("Too many wrong PINs in a row: wait {wait} before the next try.").format(
                    wait=format_wait(remaining)
                )
            )
            if not self.countdown.isActive():
                self.countdown.start()
            return
        self.countdown.stop()
        if not self.ok_button.isEnabled():
            self.ok_button.setEnabled(True)
            self.error_label.setText("")

    def _try(self) -> None:
        if self.accounts:
            self._try_account()
            return
        name = " ".join(self.name_edit.text().split())
        if not name:
            self.error_label.setText(
                self.tr("Enter your name: it goes into the audit log with every QA action.")
            )
            self.name_edit.setFocus()
            return
        pin = self.pin_edit.text()
        self.pin_edit.clear()
        self.pin_edit.setFocus()
        try:
            result = self.pins.attempt(pin)
        except OSError as exc:
            self.pins.error = self.tr("cannot use the secrets file {path}: {error}").format(
                path=self.pins.store.path, error=exc
            )
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
            self.error_label.setText(self.tr("QA is locked: no PIN is set."))
            self.login_failed.emit(name, {"reason": "no_pin"})
            return
        self._show_no_pin(False)
        details: dict[str, Any] = {"failures_in_a_row": result.failures}
        if result.outcome is Outcome.LOCKED:
            details.update(reason="locked", locked_s=round(result.locked_s, 1))
        else:
            self.failures += 1
            details.update(reason="wrong_pin", locked_s=result.locked_s)
            self.error_label.setText(self.tr("Wrong PIN."))
        self.login_failed.emit(name, details)
        self._refresh_lock()

    # -- accounts -------------------------------------------------------------------------------
    def _try_account(self) -> None:
        if self.checking:
            return
        name = self.name_edit.text().strip()
        if not name:
            self.error_label.setText(self.tr("Enter your user name."))
            self.name_edit.setFocus()
            return
        password = self.pin_edit.text()
        self.pin_edit.clear()
        self.pin_edit.setFocus()
        self.checking = True
        self.ok_button.setEnabled(False)
        self.error_label.setText(self.tr("Checking…"))
        self.tasks.submit(
            "login",
            _authenticate,
            self.db,
            name,
            password,
            self.station,
            self.min_role,
            on_done=self._answered,
            on_error=self._check_failed,
            lane=WRITE_LANE,
            supersede=False,
        )

    def _answered(self, result: LoginResult) -> None:
        from inspector.services.accounts import LoginOutcome

        self.checking = False
        self.ok_button.setEnabled(True)
        if result.ok and result.user is not None:
            self.user, self.account = result.user.username, result.user
            self.accept()
            return
        if result.outcome is LoginOutcome.ROLE and result.user is not None:
            self.error_label.setText(
                self.tr("{user} is {role}: this login needs a {needed} account or higher.").format(
                    user=result.user.username,
                    role=role_label(result.user.role),
                    needed=role_label(self.min_role) if self.min_role else "",
                )
            )
            return
        self.failures += 1
        if result.outcome is LoginOutcome.LOCKED:
            self.error_label.setText(
                self.tr("Too many wrong passwords for this user: wait {wait} before the next try.").format(
                    wait=format_wait(result.locked_s)
                )
            )
        elif result.locked_s > 0:
            self.error_label.setText(
                self.tr(WRONG_LOGIN)
                + " "
                + self.tr("Too many in a row: this user is locked for {wait}.").format(
                    wait=format_wait(result.locked_s)
                )
            )
        else:
            self.error_label.setText(self.tr(WRONG_LOGIN))

    def _check_failed(self, message: str) -> None:
        self.checking = False
        self.ok_button.setEnabled(True)
        self.error_label.setText(self.tr("The login could not be checked: {error}").format(error=message))


def _authenticate(
    _state: TaskState, db: Any, name: str, password: str, station: str, min_role: Role | None
) -> LoginResult:
    from inspector.services.accounts import authenticate

    return authenticate(db, name, password, station=station, min_role=min_role)


class ChangePinDialog(QDialog):
    def __init__(self, pins: PinStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Change QA PIN"))
        self.setMinimumWidth(340)
        self.pins = pins
        self.old_edit, self.new_edit, self.again_edit = QLineEdit(), QLineEdit(), QLineEdit()
        form = QFormLayout()
        for label, edit in (
            (self.tr("Current PIN"), self.old_edit),
            (self.tr("New PIN"), self.new_edit),
            (self.tr("Repeat new PIN"), self.again_edit),
        ):
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            form.addRow(label, edit)
        self.new_edit.setPlaceholderText(self.tr("at least {n} characters").format(n=MIN_PIN_LEN))
        self.error_label = _error_label()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self._try)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

    def _try(self) -> None:
        if self.new_edit.text() != self.again_edit.text():
            self.error_label.setText(self.tr("The new PINs differ."))
            return
        try:
            self.pins.change(self.old_edit.text(), self.new_edit.text())
        except ValueError as exc:
            self.error_label.setText(str(exc))
            return
        self.accept()


class ChangePasswordDialog(QDialog):
    """A logged-in person changes their own password (the current one is checked like a login)."""

    def __init__(self, db: Any, username: str, station: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Change password · {user}").format(user=username))
        self.setMinimumWidth(380)
        self.db, self.username, self.station = db, username, station
        self.old_edit, self.new_edit, self.again_edit = QLineEdit(), QLineEdit(), QLineEdit()
        form = QFormLayout()
        for label, edit in (
            (self.tr("Current password"), self.old_edit),
            (self.tr("New password"), self.new_edit),
            (self.tr("Repeat new password"), self.again_edit),
        ):
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            form.addRow(label, edit)
        self.new_edit.setPlaceholderText(self.tr("at least {n} characters").format(n=MIN_PASSWORD_LEN))
        self.error_label = _error_label()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self._try)
        self.buttons.rejected.connect(self.reject)
        self.tasks = TaskRunner(self, "password")
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

    @property
    def ok_button(self) -> QPushButton:
        return self.buttons.button(QDialogButtonBox.StandardButton.Ok)

    def _try(self) -> None:
        old, new = self.old_edit.text(), self.new_edit.text()
        if new != self.again_edit.text():
            self.error_label.setText(self.tr("The new passwords differ."))
            return
        try:
            validate_password(new, self.username)
        except ValueError as exc:
            self.error_label.setText(str(exc))
            return
        for edit in (self.old_edit, self.new_edit, self.again_edit):
            edit.clear()
        self.ok_button.setEnabled(False)
        self.error_label.setText(self.tr("Checking…"))
        self.tasks.submit(
            "password",
            _change_password,
            self.db,
            self.username,
            old,
            new,
            self.station,
            on_done=self._answered,
            on_error=self._failed,
            lane=WRITE_LANE,
            supersede=False,
        )

    def _answered(self, result: LoginResult) -> None:
        from inspector.services.accounts import LoginOutcome

        self.ok_button.setEnabled(True)
        if result.ok:
            self.accept()
        elif result.outcome is LoginOutcome.LOCKED or result.locked_s > 0:
            self.error_label.setText(
                self.tr("Too many wrong passwords: wait {wait}.").format(wait=format_wait(result.locked_s))
            )
        else:
            self.error_label.setText(self.tr("The current password is wrong."))

    def _failed(self, message: str) -> None:
        self.ok_button.setEnabled(True)
        self.error_label.setText(self.tr("The password was not changed: {error}").format(error=message))


def _change_password(
    _state: TaskState, db: Any, username: str, old: str, new: str, station: str
) -> LoginResult:
    from inspector.services.accounts import change_own_password

    return change_own_password(db, username, old, new, station=station)
