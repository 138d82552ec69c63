"""User accounts as the GUI uses them: are there any, the login and password checks, and the
admin's changes (add a user, reset a password, enable or disable, change a role).

The rules (roles, rights, password policy, lockout) are :mod:`inspector.core.accounts`; storage
and the audit events are ``db.users``: every change checks, in its own transaction, that ``by``
is still an enabled admin, and audits itself. Each function takes the station's ``Database``.
No Qt here: the GUI calls these on its task runner (logins and changes on its write lane), off
the UI thread.
"""

from __future__ import annotations

from db import users
from db.session import Database
from db.users import LoginOutcome, LoginResult, NotAllowedError, UserError, UserInfo
from inspector.core.accounts import Role

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


def has_accounts(db: Database) -> bool:
    """Whether the station has user accounts (an admin exists); without, the shared QA PIN is used."""
    return users.has_accounts(db)


def list_users(db: Database) -> list[UserInfo]:
    """Every account, by user name."""
    return users.list_users(db)


def authenticate(
    db: Database, username: str, password: str, *, station: str = "", min_role: Role | None = None
) -> LoginResult:
    """Check a login on ``station`` (counting wrong passwords, locking after too many) and audit it;
    ``min_role``: the login needs at least this role (else :attr:`LoginOutcome.ROLE`)."""
    return users.authenticate(db, username, password, station=station, min_role=min_role)


def change_own_password(db: Database, username: str, old: str, new: str, *, station: str = "") -> LoginResult:
    """``username`` changes their own password: ``old`` is checked like a login first; the new one
    must follow the password policy (ValueError says why)."""
    return users.change_own_password(db, username, old, new, station=station)


def add_user(
    db: Database,
    username: str,
    password: str,
    role: Role | str,
    *,
    by: str,
    display_name: str = "",
    station: str = "",
) -> UserInfo:
    """Admin ``by`` adds an account (the first account must be an admin); a ValueError
    (:class:`UserError`) says why not: a taken name, a weak password..."""
    return users.add_user(db, username, password, role, by=by, display_name=display_name, station=station)


def reset_password(db: Database, username: str, password: str, *, by: str, station: str = "") -> UserInfo:
    """Admin ``by`` sets a new password for ``username`` (and lifts a lockout)."""
    return users.reset_password(db, username, password, by=by, station=station)


def set_enabled(db: Database, username: str, enabled: bool, *, by: str, station: str = "") -> UserInfo:
    """Admin ``by`` enables or disables ``username``; the last enabled admin cannot be disabled."""
    return users.set_enabled(db, username, enabled, by=by, station=station)


def set_role(db: Database, username: str, role: Role | str, *, by: str, station: str = "") -> UserInfo:
    """Admin ``by`` gives ``username`` another role; the last enabled admin keeps theirs."""
    return users.set_role(db, username, role, by=by, station=station)
