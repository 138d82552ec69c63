"""User accounts as the GUI uses them: are there any, the login and password checks, and the
admin's changes (add a user, reset a password, enable or disable, change a role).

The rules (roles, rights, password policy, lockout) are :mod:`inspector.core.accounts`; storage
and the audit events are ``db.users``: every change checks, in its own transaction, that ``by``
is still an enabled admin, and audits itself. Each function takes the station's ``Database``.
No Qt here: the GUI calls these on its task runner (logins and changes on its write lane), off
the UI thread.
"""

from __future__ import annotations

# The GUI's entry points are db.users' own functions: each already owns its transaction and audit.
from db.users import (
    LoginOutcome,
    LoginResult,
    NotAllowedError,
    UserError,
    UserInfo,
    add_user,
    authenticate,
    change_own_password,
    has_accounts,
    list_users,
    reset_password,
    set_enabled,
    set_role,
)

__all__ = [
    "LoginOutcome",
    "LoginResult",
    "NotAllowedError",
    "UserError",
    "UserInfo",
    "add_user",
    "authenticate",
    "change_own_password",
    "has_accounts",
    "list_users",
    "reset_password",
    "set_enabled",
    "set_role",
]
