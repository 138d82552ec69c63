"""Who is at the station: personal accounts (user name + password, roles operator / qa /
engineer / admin), the legacy shared QA PIN until the first admin exists, and the audit trail.

- With accounts (``inspector.services.accounts``; rules and the rights table in
  :mod:`inspector.core.accounts`) *Role ▸ Log in…* takes a user name and password; the
  session's role decides what the panels enable (``ctx.may(right)``), and each action checks
  again (``ctx.refuse``). The user name is the actor of every audit event, review, recipe
  version, promotion and lot action. Without a login the station runs as the anonymous
  operator (inspect, lots).
- Until the first admin account exists (``inspector user add --role admin NAME``) the shared
  QA PIN keeps working as a QA login, with a name typed at login, as before: the PIN and its
  lockout live in the owner-only secrets file of :mod:`inspector.core.secret_store`. Once an
  admin exists the PIN is no longer accepted (a PIN session still open is ended): a shared
  secret cannot say who did something, and every account holder has their own password.
- Logins (also failed ones), logouts and PIN / password changes are audit events; every
  database write goes through the GUI task runner so the UI never waits on the DB.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QObject, QSettings, Signal
from PySide6.QtWidgets import QDialog, QWidget

from inspector.core.accounts import Right, Role, min_role
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
from inspector.ui.i18n import role_label
from inspector.ui.login_dialog import NAME_MAX, ChangePasswordDialog, ChangePinDialog, LoginDialog
from inspector.ui.settings import get_flag
from inspector.ui.tasks import WRITE_LANE, Job, TaskRunner, TaskState

log = logging.getLogger(__name__)

__all__ = [
    "ITERATIONS",
    "LOCK_AFTER",
    "NAME_MAX",
    "OPERATOR",
    "PIN_KEY",
    "QA",
    "AuditLog",
    "ChangePasswordDialog",
    "ChangePinDialog",
    "LoginDialog",
    "PinStore",
    "RoleController",
    "hash_pin",
    "startup_accounts",
    "verify_pin",
]

PIN_KEY = "roles/qa_pin_hash"  # where versions before the secrets file kept the hash (migrated once)
PIN_DEFAULT_KEY = "roles/pin_is_default"
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
            self.error = QCoreApplication.translate(
                "PinStore", "cannot use the secrets file {path}: {error}"
            ).format(path=self.store.path, error=exc)
            log.error("QA is locked: %s", self.error)

    def _migrate(self) -> None:
        legacy = self.settings.value(PIN_KEY)
        stored = str(legacy) if legacy else None
        done = self.store.adopt_legacy_hash(
            stored,
            get_flag(self.settings, PIN_DEFAULT_KEY, False),
            origin=f"QSettings {self.settings.fileName()}",
        )
        if stored is not None or self.settings.contains(PIN_DEFAULT_KEY):
            self.settings.remove(PIN_KEY)
            self.settings.remove(PIN_DEFAULT_KEY)
            self.settings.sync()
        if done == "adopted":
            log.warning(
                "the QA PIN hash moved from %s to %s (owner-only)", self.settings.fileName(), self.store.path
            )
        elif done != "none":
            log.warning(
                "a QA PIN hash in %s was not used (%s) and is removed; QA login needs `%s`"
                " unless %s already holds a PIN",
                self.settings.fileName(),
                done,
                SET_PIN_COMMAND,
                self.store.path,
            )

    def has_pin(self) -> bool:
        try:
            return self.store.has_pin()
        except OSError as exc:
            self.error = QCoreApplication.translate(
                "PinStore", "cannot use the secrets file {path}: {error}"
            ).format(path=self.store.path, error=exc)
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
                raise ValueError(
                    QCoreApplication.translate("PinStore", "Too many wrong PINs: wait {wait}.").format(
                        wait=format_wait(result.locked_s)
                    )
                )
            if not result.ok:
                raise ValueError(QCoreApplication.translate("PinStore", "The current PIN is wrong."))
            self.store.set_pin(new)
        except OSError as exc:
            raise ValueError(
                QCoreApplication.translate("PinStore", "Cannot use the secrets file: {error}").format(
                    error=exc
                )
            ) from exc


class AuditLog(QObject):
    """Writes audit events with inspector.services.audit through the GUI task runner
    (inspector.ui.tasks), on its write lane: in order, never on the UI thread."""

    failed = Signal(str)

    def __init__(self, db: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._db = db
        self.tasks = TaskRunner(self, "audit")

    def record(self, actor: str, action: str, details: dict[str, Any]) -> Job[int]:
        return self.tasks.submit(
            "audit",
            _write_audit,
            self._db,
            actor,
            action,
            details,
            lane=WRITE_LANE,
            supersede=False,
            on_error=lambda message: self._failed(action, message),
        )

    def submit(self, tag: str, fn: Callable[..., Any], *args: Any, **callbacks: Any) -> Job[Any]:
        """Another station write (e.g. registering the shipped model) on the same lane; waited for
        by ``close``, so it ends before the database is disposed."""
        return self.tasks.submit(tag, fn, *args, lane=WRITE_LANE, supersede=False, **callbacks)

    def _failed(self, action: str, message: str) -> None:
        log.error("audit event %s not written: %s", action, message)
        self.failed.emit(
            self.tr("audit event '{action}' could not be written: {error}").format(
                action=action, error=message
            )
        )

    def close(self, wait: bool = True) -> None:
        self.tasks.close(wait)


def _write_audit(_state: TaskState, db: Any, actor: str, action: str, details: dict[str, Any]) -> int:
    from inspector.services.audit import write_audit

    return write_audit(db, actor, action, details)


def startup_accounts(db: Any, messages: list[tuple[str, str]]) -> bool:
    """Read once at start-up (before the event loop, like the recipe): does the station have
    user accounts? When the database cannot say, accounts are assumed (the shared PIN is not
    accepted and reviews need a login): failing closed."""
    from inspector.services.accounts import has_accounts

    try:
        return has_accounts(db)
    except Exception as exc:
        messages.append(
            (
                "error",
                QCoreApplication.translate(
                    "RoleController", "cannot read the user accounts: {error}; logins may fail"
                ).format(error=exc),
            )
        )
        return True


class RoleController(QObject):
    """Opens the (non-blocking) login and account dialogs and switches ``ctx`` role and user,
    auditing each step.

    ``ctx.user`` is the logged-in user name (accounts) or the name given with the PIN (no
    accounts yet), so every audit event of the session (ctx.audit, reviews, recipe versions,
    promotions, lots) names the person, not the role.
    """

    def __init__(
        self, ctx: AppContext, parent_widget: QWidget | None = None, store: SecretStore | None = None
    ) -> None:
        super().__init__(parent_widget)
        self.ctx = ctx
        self.pins = PinStore(ctx.settings, store)
        self._parent = parent_widget
        self.login_dialog: LoginDialog | None = None
        self.pin_dialog: QDialog | None = None  # ChangePinDialog, or ChangePasswordDialog with accounts
        self.users_dialog: Any = None  # inspector.ui.user_admin.UserAdminDialog
        self.session = ""  # "" (anonymous) | "pin" (shared QA PIN) | "account"
        self.tasks = TaskRunner(self, "roles")

    def _audit_as(self, actor: str, action: str, details: dict[str, Any]) -> None:
        if self.ctx.audit_sink is not None:
            self.ctx.audit_sink(actor, action, details)

    # -- accounts or PIN ------------------------------------------------------------------------
    def refresh_accounts(self) -> Job[bool] | None:
        """Ask the database (off the UI thread) whether accounts exist; the answer switches an
        open login dialog and ends a shared-PIN session once the first admin exists."""
        db = self.ctx.db
        if db is None:
            return None
        from inspector.services.accounts import has_accounts

        return self.tasks.submit(
            "accounts",
            lambda _s: has_accounts(db),
            on_done=self._accounts_known,
            on_error=lambda msg: log.warning("cannot read the user accounts: %s", msg),
        )

    def _accounts_known(self, accounts: bool) -> None:
        self.ctx.set_accounts(accounts)
        dlg = self.login_dialog
        if dlg is not None and dlg.isVisible() and dlg.accounts != accounts:
            dlg.set_accounts(accounts)
        if accounts and self.session == "pin":
            self.ctx.audit("qa.logout", {"reason": "user accounts exist: the shared PIN is retired"})
            self._end_session()
            self.ctx.notify(
                "warning",
                self.tr(
                    "The shared QA PIN is no longer accepted: user accounts exist. "
                    "Log in with your own account (Role ▸ Log in…)."
                ),
            )

    # -- login / logout ---------------------------------------------------------------------------
    def request_qa(self) -> LoginDialog | None:
        """The QA login (window-modal, non-blocking): a QA, engineer or admin account, or the
        shared PIN while no accounts exist. Returns the dialog, or None if QA is already logged in.
        Leaving kiosk mode uses this."""
        if self.ctx.is_qa():
            return None
        return self._open_login(min_role(Right.LEAVE_KIOSK))

    def request_login(self) -> LoginDialog | None:
        """Log in with any account (an operator signs reviews and lots with their name); without
        accounts this is the QA PIN login. None if a QA (or higher) session is open: log out first."""
        if self.ctx.is_qa():
            return None
        return self._open_login(None)

    def _open_login(self, need: Role | None) -> LoginDialog:
        if self.login_dialog is not None and self.login_dialog.isVisible():
            self.login_dialog.reject()
        dlg = LoginDialog(
            self.pins,
            self._parent,
            db=self.ctx.db,
            station=self.ctx.station,
            accounts=self.ctx.accounts,
            min_role=need,
        )
        dlg.login_failed.connect(lambda name, details: self._audit_as(name, "qa.login_failed", details))
        dlg.accepted.connect(lambda: self._logged_in(dlg))
        self.login_dialog = dlg
        dlg.open()
        self.refresh_accounts()  # a first admin added meanwhile (CLI) retires the PIN at once
        return dlg

    def _logged_in(self, dlg: LoginDialog) -> None:
        account = dlg.account
        if account is not None:  # the database wrote the user.login event
            self.session = "account"
            self.ctx.set_role(account.role.value, account.username)
            self.ctx.notify(
                "info",
                self.tr("Logged in: {name} ({user}, {role})").format(
                    name=account.display_name, user=account.username, role=role_label(account.role)
                ),
            )
            return
        self.session = "pin"
        self.ctx.set_role(QA, dlg.user)
        self.ctx.audit("qa.login", {"failures_before": dlg.failures})
        self.ctx.notify("info", self.tr("QA mode: {user}").format(user=dlg.user))
        if dlg.weak_pin:
            self.ctx.notify(
                "warning",
                self.tr(
                    "The QA PIN is shorter than {n} characters (from an older version): change it with "
                    "Role ▸ Change PIN…"
                ).format(n=MIN_PIN_LEN),
            )

    def logout(self) -> None:
        if not self.ctx.personal:
            return
        if self.session == "account":
            self.ctx.audit("user.logout", {"role": self.ctx.role, "station": self.ctx.station})
        else:
            self.ctx.audit("qa.logout")
        self._end_session()
        self.ctx.notify("info", self.tr("Logged out: operator mode"))

    def _end_session(self) -> None:
        self.session = ""
        self.ctx.set_role(OPERATOR)

    # -- PIN / password -----------------------------------------------------------------------------
    def change_pin(self) -> QDialog:
        """Change the shared QA PIN (PIN session), or one's own password (account session)."""
        if self.session == "account":
            return self.change_password()
        dlg = ChangePinDialog(self.pins, self._parent)

        def done() -> None:
            self.ctx.audit("qa.pin_changed")
            self.ctx.notify("info", self.tr("QA PIN changed"))

        dlg.accepted.connect(done)
        self.pin_dialog = dlg
        dlg.open()
        return dlg

    def change_password(self) -> QDialog:
        dlg = ChangePasswordDialog(self.ctx.db, self.ctx.user, self.ctx.station, self._parent)
        dlg.accepted.connect(
            lambda: self.ctx.notify("info", self.tr("Password of {user} changed").format(user=self.ctx.user))
        )
        self.pin_dialog = dlg
        dlg.open()
        return dlg

    # -- user administration -------------------------------------------------------------------------
    def open_users(self) -> QWidget | None:
        """The user admin panel (admin only; each change is checked again in the database)."""
        if self.ctx.refuse(Right.USERS, QT_TRANSLATE_NOOP("Refusal", "User administration")):
            return None
        from inspector.ui.user_admin import UserAdminDialog

        if self.users_dialog is None:
            self.users_dialog = UserAdminDialog(self.ctx, self._parent)
            self.users_dialog.changed.connect(self._user_changed)
        self.users_dialog.show()
        self.users_dialog.raise_()
        self.users_dialog.reload()
        return self.users_dialog

    def _user_changed(self, info: Any) -> None:
        """An admin changed an account here: the first admin retires the PIN; a change to the
        logged-in person's own account applies to the open session at once."""
        self.refresh_accounts()
        if self.session != "account" or info.username != self.ctx.user:
            return
        if not info.enabled:
            self.ctx.audit("user.logout", {"reason": "account disabled"})
            self._end_session()
            self.ctx.notify("warning", self.tr("{user} was disabled: logged out").format(user=info.username))
        elif info.role.value != self.ctx.role:
            self.ctx.set_role(info.role.value, info.username)
            self.ctx.notify(
                "info", self.tr("{user} is now {role}").format(user=info.username, role=role_label(info.role))
            )
