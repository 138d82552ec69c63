"""Role ▸ Users…: the admin's panel for personal accounts (list, add, reset a password, change a
role, disable / enable).

Admin only: the menu is disabled for everyone else, each action checks ``ctx.may(Right.USERS)``
again, and ``inspector.services.accounts`` checks in the same transaction that the acting user
name is still an enabled admin. Every change is an audit event written with it. All database
work runs on the GUI task runner (reads superseded by newer reads, writes on the write lane), so
the window never waits; the dialogs stay open with the reason when a change is refused.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inspector.core.accounts import (
    MIN_PASSWORD_LEN,
    Right,
    Role,
    format_wait,
    normalise_username,
    validate_password,
)
from inspector.services.accounts import UserInfo
from inspector.ui.context import AppContext
from inspector.ui.i18n import role_label, role_summary
from inspector.ui.style import VERDICT_COLORS
from inspector.ui.table_rows import select_item, selected_item
from inspector.ui.tasks import WRITE_LANE, TaskRunner

HEADERS = [
    QT_TRANSLATE_NOOP("UserAdminDialog", "User name"),
    QT_TRANSLATE_NOOP("UserAdminDialog", "Name"),
    QT_TRANSLATE_NOOP("UserAdminDialog", "Role"),
    QT_TRANSLATE_NOOP("UserAdminDialog", "Enabled"),
    QT_TRANSLATE_NOOP("UserAdminDialog", "Last login"),
    QT_TRANSLATE_NOOP("UserAdminDialog", "Last changed"),
    QT_TRANSLATE_NOOP("UserAdminDialog", "Login"),
]


def _when(at: datetime | None) -> str:
    if at is None:
        return QCoreApplication.translate("UserAdminDialog", "never")
    return at.astimezone().strftime("%Y-%m-%d %H:%M")


def _role_combo(current: Role = Role.OPERATOR) -> QComboBox:
    combo = QComboBox()
    for role in Role:
        combo.addItem(role_label(role), role.value)
    combo.setCurrentIndex(combo.findData(current.value))
    return combo


class _FormDialog(QDialog):
    """A small window-modal (non-blocking) form whose OK hands the values to ``submit``; it
    stays open with the error until the change is stored."""

    def __init__(self, title: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(400)
        self.form = QFormLayout()
        self.error_label = QLabel("")
        self.error_label.setProperty("error", True)
        self.error_label.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self._ok)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self.submit: Any = None  # set by the panel: callable(dialog) -> None

    @property
    def ok_button(self) -> QPushButton:
        return self.buttons.button(QDialogButtonBox.StandardButton.Ok)

    def _password(self, edit: QLineEdit) -> QLineEdit:
        edit.setEchoMode(QLineEdit.EchoMode.Password)
        edit.setPlaceholderText(self.tr("at least {n} characters").format(n=MIN_PASSWORD_LEN))
        return edit

    def check(self) -> str | None:  # the reason the values are not acceptable, or None
        return None

    def _ok(self) -> None:
        why = self.check()
        if why:
            self.error_label.setText(why)
            return
        self.error_label.setText(self.tr("Saving…"))
        self.ok_button.setEnabled(False)
        if self.submit is not None:
            self.submit(self)

    def failed(self, message: str) -> None:
        self.ok_button.setEnabled(True)
        self.error_label.setText(message)


class AddUserDialog(_FormDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(QCoreApplication.translate("AddUserDialog", "Add user"), parent)
        self.username_edit = QLineEdit()
        self.username_edit.setPlaceholderText(self.tr("e.g. anovak (a-z 0-9 . _ @ -)"))
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText(self.tr("e.g. Anna Novak"))
        self.role_combo = _role_combo()
        self.password_edit = self._password(QLineEdit())
        self.again_edit = self._password(QLineEdit())
        self.again_edit.setPlaceholderText(self.tr("the same again"))
        self.form.addRow(self.tr("User name"), self.username_edit)
        self.form.addRow(self.tr("Full name"), self.name_edit)
        self.form.addRow(self.tr("Role"), self.role_combo)
        self.form.addRow(self.tr("Password"), self.password_edit)
        self.form.addRow(self.tr("Repeat password"), self.again_edit)

    def role(self) -> Role:
        return Role(self.role_combo.currentData())

    def check(self) -> str | None:
        try:
            name = normalise_username(self.username_edit.text())
        except ValueError as exc:
            return str(exc)
        if self.password_edit.text() != self.again_edit.text():
            return self.tr("The passwords differ.")
        try:
            validate_password(self.password_edit.text(), name)
        except ValueError as exc:
            return str(exc)
        return None


class ResetPasswordDialog(_FormDialog):
    def __init__(self, username: str, parent: QWidget | None = None) -> None:
        super().__init__(
            QCoreApplication.translate("ResetPasswordDialog", "Reset password · {user}").format(
                user=username
            ),
            parent,
        )
        self.username = username
        self.password_edit = self._password(QLineEdit())
        self.again_edit = self._password(QLineEdit())
        self.again_edit.setPlaceholderText(self.tr("the same again"))
        note = QLabel(self.tr("The person logs in with this password; it also clears the account's lockout."))
        note.setWordWrap(True)
        note.setProperty("hint", True)
        self.form.addRow(note)
        self.form.addRow(self.tr("New password"), self.password_edit)
        self.form.addRow(self.tr("Repeat password"), self.again_edit)

    def check(self) -> str | None:
        if self.password_edit.text() != self.again_edit.text():
            return self.tr("The passwords differ.")
        try:
            validate_password(self.password_edit.text(), self.username)
        except ValueError as exc:
            return str(exc)
        return None


class UserAdminDialog(QDialog):
    """The user list and its actions (non-modal: the line keeps running behind it)."""

    changed = Signal(UserInfo)  # after a change was stored

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(self.tr("Users"))
        self.tasks = TaskRunner(self, "users")
        self.users: list[UserInfo] = []
        self.form_dialog: _FormDialog | None = None
        self.who_label = QLabel("")
        self.who_label.setWordWrap(True)
        lines = role_summary()
        roles = self.tr("Roles") + " · " + " · ".join(lines[:2]) + "\n" + " · ".join(lines[2:])
        self.rights_label = QLabel(roles)
        self.rights_label.setWordWrap(True)
        self.rights_label.setProperty("muted", True)
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels([self.tr(h) for h in HEADERS])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(90)
        self.table.itemSelectionChanged.connect(self._update)
        self.add_button = QPushButton(self.tr("Add user…"))
        self.add_button.clicked.connect(lambda: self.add_user())
        self.reset_button = QPushButton(self.tr("Reset password…"))
        self.reset_button.clicked.connect(lambda: self.reset_password())
        self.enable_button = QPushButton(self.tr("Disable"))
        self.enable_button.clicked.connect(lambda: self.toggle_enabled())
        self.role_combo = _role_combo()
        self.role_button = QPushButton(self.tr("Set role"))
        self.role_button.clicked.connect(lambda: self.set_role())
        self.refresh_button = QPushButton(self.tr("Refresh"))
        self.refresh_button.clicked.connect(lambda: self.reload())
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        side = QVBoxLayout()
        side.addWidget(self.add_button)
        side.addWidget(self.reset_button)
        side.addWidget(self.enable_button)
        side.addSpacing(12)
        side.addWidget(QLabel(self.tr("Role of the selected user")))
        side.addWidget(self.role_combo)
        side.addWidget(self.role_button)
        side.addStretch(1)
        side.addWidget(self.refresh_button)
        body = QHBoxLayout()
        body.addWidget(self.table, 1)
        body.addLayout(side)
        layout = QVBoxLayout(self)
        layout.addWidget(self.who_label)
        layout.addWidget(self.rights_label)
        layout.addLayout(body, 1)
        layout.addWidget(self.status_label)
        self.resize(1000, 420)
        ctx.role_changed.connect(self._on_role)  # a bound slot: disconnected when the dialog goes
        self._update()

    def _on_role(self, _role: str) -> None:
        self._update()

    # -- reading -----------------------------------------------------------------------------
    def reload(self) -> None:
        from inspector.services.accounts import list_users

        db = self.ctx.db
        self.tasks.submit(
            "users-list",
            lambda _s: list_users(db),
            on_done=self._show,
            on_error=lambda msg: self.status_label.setText(
                self.tr("Cannot read the users: {error}").format(error=msg)
            ),
        )

    def _show(self, users: list[UserInfo]) -> None:
        selected = self.selected()
        keep = selected.username if selected is not None else None
        self.users = users
        self.table.setRowCount(len(users))
        for r, u in enumerate(users):
            locked = u.locked_s()
            if locked > 0:
                login = self.tr("locked {wait}").format(wait=format_wait(locked))
            elif u.failed_logins:
                login = self.tr("{n} wrong in a row").format(n=u.failed_logins)
            else:
                login = self.tr("ok")
            cells = [
                u.username,
                u.display_name,
                role_label(u.role),
                self.tr("yes") if u.enabled else self.tr("disabled"),
                _when(u.last_login_at),
                self.tr("{time} by {user}").format(time=_when(u.changed_at), user=u.changed_by),
                login,
            ]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if not u.enabled:
                    item.setForeground(QColor("#8a8f98"))
                if c == 6 and locked > 0:
                    item.setForeground(QColor(VERDICT_COLORS["NG"]))
                self.table.setItem(r, c, item)
        if keep is not None:
            self.select(keep)
        self._update()

    def selected(self) -> UserInfo | None:
        return selected_item(self.table, self.users)

    def select(self, username: str) -> bool:
        return select_item(self.table, self.users, lambda u: u.username == username)

    def _update(self) -> None:
        admin = self.ctx.may(Right.USERS)
        self.who_label.setText(
            self.tr(
                "Signed in as <b>{user}</b>. Every change here is an audit event under that name."
            ).format(user=self.ctx.user)
            if admin
            else self.tr("User administration {needs}.").format(needs=self.ctx.needs(Right.USERS))
        )
        u = self.selected()
        busy = self.tasks.busy("users-write")
        self.add_button.setEnabled(admin and not busy)
        for b in (self.reset_button, self.enable_button, self.role_button, self.role_combo):
            b.setEnabled(admin and not busy and u is not None)
        enable = u is not None and not u.enabled
        self.enable_button.setText(self.tr("Enable") if enable else self.tr("Disable"))
        if u is not None:
            self.role_combo.setCurrentIndex(self.role_combo.findData(u.role.value))

    # -- changes -------------------------------------------------------------------------------
    def _write(self, what: str, fn: Any, *args: Any, dialog: _FormDialog | None = None, **kw: Any) -> bool:
        """Run an inspector.services.accounts change as the logged-in admin on the write lane
        (``what``: English, marked for the "Refusal" context; the audit event keeps it as it is)."""
        if self.ctx.refuse(Right.USERS, what):
            return False
        db, by, station = self.ctx.db, self.ctx.user, self.ctx.station
        shown = QCoreApplication.translate("Refusal", what)

        def done(info: UserInfo) -> None:
            self.status_label.setText(
                (
                    self.tr("{what}: {user} ({role}, enabled).")
                    if info.enabled
                    else self.tr("{what}: {user} ({role}, disabled).")
                ).format(what=shown, user=info.username, role=role_label(info.role))
            )
            if dialog is not None:
                dialog.accept()
            self.changed.emit(info)
            self.reload()
            self._update()

        def failed(message: str) -> None:
            self.status_label.setText(self.tr("{what} refused: {error}").format(what=shown, error=message))
            if dialog is not None:
                dialog.failed(message)
            self._update()

        self.tasks.submit(
            "users-write",
            lambda _s: fn(db, *args, by=by, station=station, **kw),
            on_done=done,
            on_error=failed,
            lane=WRITE_LANE,
            supersede=False,
        )
        self._update()
        return True

    def add_user(self) -> AddUserDialog | None:
        if self.ctx.refuse(Right.USERS, QT_TRANSLATE_NOOP("Refusal", "Adding a user")):
            return None
        from inspector.services.accounts import add_user

        dlg = AddUserDialog(self)

        def submit(d: AddUserDialog) -> None:
            self._write(
                QT_TRANSLATE_NOOP("Refusal", "User added"),
                add_user,
                d.username_edit.text(),
                d.password_edit.text(),
                d.role(),
                display_name=d.name_edit.text(),
                dialog=d,
            )

        dlg.submit = submit
        self.form_dialog = dlg
        dlg.open()
        return dlg

    def reset_password(self) -> ResetPasswordDialog | None:
        u = self.selected()
        if u is None or self.ctx.refuse(Right.USERS, QT_TRANSLATE_NOOP("Refusal", "Resetting a password")):
            return None
        from inspector.services.accounts import reset_password

        dlg = ResetPasswordDialog(u.username, self)
        dlg.submit = lambda d: self._write(
            QT_TRANSLATE_NOOP("Refusal", "Password reset"),
            reset_password,
            d.username,
            d.password_edit.text(),
            dialog=d,
        )
        self.form_dialog = dlg
        dlg.open()
        return dlg

    def toggle_enabled(self) -> bool:
        u = self.selected()
        if u is None:
            return False
        from inspector.services.accounts import set_enabled

        what = (
            QT_TRANSLATE_NOOP("Refusal", "User enabled")
            if not u.enabled
            else QT_TRANSLATE_NOOP("Refusal", "User disabled")
        )
        return self._write(what, set_enabled, u.username, not u.enabled)

    def set_role(self, role: Role | None = None) -> bool:
        u = self.selected()
        if u is None:
            return False
        from inspector.services.accounts import set_role

        new = role or Role(self.role_combo.currentData())
        if new is u.role:
            self.status_label.setText(
                self.tr("{user} is {role} already.").format(user=u.username, role=role_label(new))
            )
            return False
        return self._write(QT_TRANSLATE_NOOP("Refusal", "Role changed"), set_role, u.username, new)
