"""Personal accounts in the database: add, list, disable, reset passwords, change roles, log in.

Rules (roles, rights, hashing, lockout) are in :mod:`inspector.core.accounts`; this module
stores them. Every change writes its audit event in the same transaction, so a change is
never unaudited; no audit event ever holds a password or a hash.

- The first account must be an admin (``inspector user add --role admin NAME``). While no
  admin exists the station keeps the old shared QA PIN as a fallback (:func:`has_accounts`).
- Changes made from the GUI name the acting admin (``by``); it is checked in the same
  transaction that it is still an enabled admin (a disabled or demoted admin's open session
  cannot change accounts). The CLI runs as the station's own OS user, who can open the
  database anyway, and passes ``as_owner=True``.
- The last enabled admin can be neither disabled nor demoted.
- :func:`authenticate` counts wrong passwords per user and locks the account for
  :func:`~inspector.core.accounts.lock_seconds`; a password typed while locked is not
  checked. Unknown and disabled users cost the same hashing time as a real check and get the
  same answer as a wrong password, so the answer does not tell which names exist.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db import registry
from db._scope import Target, reading, writing
from db.coltypes import utcnow
from db.models import User
from inspector.core.accounts import (
    FIRST_ADMIN_COMMAND,
    LOCK_MAX_S,
    Role,
    burn_verify,
    hash_password,
    lock_seconds,
    needs_rehash,
    normalise_display,
    normalise_username,
    validate_password,
    verify_password,
)

ACTOR_MAX = 200


class UserError(ValueError):
    """A change that is refused; the message says why (shown to the person as it is)."""


class NotAllowedError(UserError):
    """The acting person may not change accounts (not an enabled admin any more)."""


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: int
    username: str
    display_name: str
    role: Role
    enabled: bool
    created_at: datetime
    created_by: str
    changed_at: datetime
    changed_by: str
    password_changed_at: datetime
    failed_logins: int
    locked_until: datetime | None
    last_login_at: datetime | None

    def locked_s(self, now: datetime | None = None) -> float:
        return _remaining(self.locked_until, self.failed_logins, now or utcnow())


class LoginOutcome(enum.StrEnum):
    OK = "ok"
    WRONG = "wrong_password"  # checked and wrong (counted)
    LOCKED = "locked"  # not checked: locked after earlier wrong passwords
    DISABLED = "disabled"
    UNKNOWN = "unknown_user"
    ROLE = "role_too_low"  # right password, but the login asked for a higher role (user says which)


@dataclass(frozen=True, slots=True)
class LoginResult:
    outcome: LoginOutcome
    user: UserInfo | None = None  # the account (OK and ROLE only)
    failures: int = 0  # wrong passwords in a row, this one included
    locked_s: float = 0.0  # how long the account is locked now

    @property
    def ok(self) -> bool:
        return self.outcome is LoginOutcome.OK


def _info(row: User) -> UserInfo:
    return UserInfo(
        row.id,
        row.username,
        row.display_name,
        Role(row.role),
        bool(row.enabled),
        row.created_at,
        row.created_by,
        row.changed_at,
        row.changed_by,
        row.password_changed_at,
        int(row.failed_logins or 0),
        row.locked_until,
        row.last_login_at,
    )


def _remaining(locked_until: datetime | None, failures: int, now: datetime) -> float:
    if locked_until is None or locked_until <= now:
        return 0.0
    # a clock set back must not lock the account longer than the lock itself lasts
    return min((locked_until - now).total_seconds(), lock_seconds(failures) or LOCK_MAX_S)


def _actor(name: str) -> str:
    return " ".join(str(name).split())[:ACTOR_MAX] or "?"


# -- reads -------------------------------------------------------------------------------------
def has_accounts(db: Target) -> bool:
    """True once an admin account exists: the shared QA PIN is then no longer accepted."""
    with reading(db) as s:
        return s.scalar(select(func.count()).select_from(User).where(User.role == Role.ADMIN.value)) > 0


def list_users(db: Target) -> list[UserInfo]:
    with reading(db) as s:
        return [_info(r) for r in s.scalars(select(User).order_by(User.username))]


def get_user(db: Target, username: str) -> UserInfo | None:
    with reading(db) as s:
        row = s.scalar(select(User).where(User.username == username.strip().lower()))
        return _info(row) if row is not None else None


# -- changes -----------------------------------------------------------------------------------
def _row(s: Session, username: str, *, lock: bool = True) -> User:
    name = username.strip().lower()
    q = select(User).where(User.username == name)
    row = s.scalar(q.with_for_update() if lock else q)
    if row is None:
        raise UserError(f"There is no user {name!r}.")
    return row


def _enabled_admins(s: Session) -> int:
    return int(
        s.scalar(select(func.count()).select_from(User).where(User.role == Role.ADMIN.value, User.enabled))
        or 0
    )


def _check_actor(s: Session, by: str, as_owner: bool) -> None:
    """Accounts change only by an enabled admin (or the station's OS user through the CLI)."""
    if as_owner:
        return
    row = s.scalar(select(User).where(User.username == by.strip().lower()))
    if row is None or not row.enabled or row.role != Role.ADMIN.value:
        raise NotAllowedError(f"{by!r} may not change user accounts: that needs an enabled admin account.")


def _audit(s: Session, by: str, action: str, user: str, station: str, **details: Any) -> None:
    registry.add_audit(
        s, _actor(by), action, {"user": user, **({"station": station} if station else {}), **details}
    )


def add_user(
    db: Target,
    username: str,
    password: str,
    role: Role | str,
    *,
    by: str,
    display_name: str = "",
    station: str = "",
    as_owner: bool = False,
) -> UserInfo:
    """Create an account (audited ``user.add``). The first account must be an admin."""
    name = normalise_username(username)
    role = Role(role)
    validate_password(password, name)
    digest = hash_password(password)  # before the transaction: it takes ~0.1-0.2 s
    try:
        with writing(db) as s:
            first = not s.scalar(select(func.count()).select_from(User).where(User.role == Role.ADMIN.value))
            if first and role is not Role.ADMIN:
                raise UserError(
                    f"The first account must be an admin: `{FIRST_ADMIN_COMMAND}` (then add the others)."
                )
            if not first:
                _check_actor(s, by, as_owner)
            if s.scalar(select(User.id).where(User.username == name)) is not None:
                raise UserError(f"User {name!r} exists already.")
            now = utcnow()
            row = User(
                username=name,
                display_name=normalise_display(display_name, name),
                role=role.value,
                password_hash=digest,
                enabled=True,
                created_at=now,
                created_by=_actor(by),
                changed_at=now,
                changed_by=_actor(by),
                password_changed_at=now,
                failed_logins=0,
            )
            s.add(row)
            s.flush()
            _audit(
                s,
                by,
                "user.add",
                name,
                station,
                role=role.value,
                display_name=row.display_name,
                first_admin=first,
            )
            return _info(row)
    except IntegrityError as exc:  # another station added the same name in between
        raise UserError(f"User {name!r} exists already.") from exc


def reset_password(
    db: Target, username: str, password: str, *, by: str, station: str = "", as_owner: bool = False
) -> UserInfo:
    """An admin sets a new password (audited ``user.password_reset``); clears the lockout."""
    name = username.strip().lower()
    validate_password(password, name)
    digest = hash_password(password)
    with writing(db) as s:
        _check_actor(s, by, as_owner)
        row = _row(s, name)
        now = utcnow()
        row.password_hash, row.password_changed_at = digest, now
        row.failed_logins, row.locked_until = 0, None
        row.changed_at, row.changed_by = now, _actor(by)
        _audit(s, by, "user.password_reset", row.username, station)
        s.flush()
        return _info(row)


def change_own_password(
    db: Target,
    username: str,
    old: str,
    new: str,
    *,
    station: str = "",
    clock: Callable[[], datetime] = utcnow,
) -> LoginResult:
    """A person changes their own password: the old one is checked like a login (counted,
    locked); on success the new one is stored (audited ``user.password_changed``)."""
    validate_password(new, username.strip().lower())
    result = authenticate(db, username, old, station=station, clock=clock, action="user.password_check")
    if not result.ok:
        return result
    digest = hash_password(new)
    with writing(db) as s:
        row = _row(s, username)
        now = clock()
        row.password_hash, row.password_changed_at = digest, now
        row.changed_at, row.changed_by = now, row.username
        _audit(s, row.username, "user.password_changed", row.username, station)
        s.flush()
        return LoginResult(LoginOutcome.OK, _info(row))


def set_enabled(
    db: Target, username: str, enabled: bool, *, by: str, station: str = "", as_owner: bool = False
) -> UserInfo:
    """Enable or disable an account (audited ``user.enable`` / ``user.disable``)."""
    with writing(db) as s:
        _check_actor(s, by, as_owner)
        row = _row(s, username)
        if bool(row.enabled) == enabled:
            return _info(row)
        if not enabled and row.role == Role.ADMIN.value and _enabled_admins(s) <= 1:
            raise UserError(f"{row.username!r} is the last enabled admin: enable or add another admin first.")
        now = utcnow()
        row.enabled = enabled
        if enabled:
            row.failed_logins, row.locked_until = 0, None
        row.changed_at, row.changed_by = now, _actor(by)
        _audit(s, by, "user.enable" if enabled else "user.disable", row.username, station, role=row.role)
        s.flush()
        return _info(row)


def set_role(
    db: Target, username: str, role: Role | str, *, by: str, station: str = "", as_owner: bool = False
) -> UserInfo:
    """Change an account's role (audited ``user.role`` with the old and the new role)."""
    new = Role(role)
    with writing(db) as s:
        _check_actor(s, by, as_owner)
        row = _row(s, username)
        old = Role(row.role)
        if old is new:
            return _info(row)
        if old is Role.ADMIN and row.enabled and _enabled_admins(s) <= 1:
            raise UserError(f"{row.username!r} is the last enabled admin: make another admin first.")
        now = utcnow()
        row.role = new.value
        row.changed_at, row.changed_by = now, _actor(by)
        _audit(s, by, "user.role", row.username, station, old=old.value, new=new.value)
        s.flush()
        return _info(row)


# -- login -------------------------------------------------------------------------------------
def _refuse_locked(
    s: Session, typed: str, action: str, station: str, failures: int, remaining: float
) -> LoginResult:
    """Audit a login attempt on a locked account (not checked) and give its LOCKED result."""
    _audit(
        s,
        typed,
        f"{action}_failed",
        typed,
        station,
        reason=LoginOutcome.LOCKED.value,
        locked_s=round(remaining, 1),
        failures_in_a_row=failures,
    )
    return LoginResult(LoginOutcome.LOCKED, None, failures, remaining)


def authenticate(
    db: Target,
    username: str,
    password: str,
    *,
    station: str = "",
    clock: Callable[[], datetime] = utcnow,
    action: str = "user.login",
    min_role: Role | None = None,
) -> LoginResult:
    """Check a login; counts a wrong password, locks, resets on success; audited either way
    (``user.login`` / ``user.login_failed`` with the reason; never the password).

    ``min_role``: a right password of an account below it is refused (ROLE), not logged in.
    """
    typed = _actor(username.strip().lower())[:64]
    with reading(db) as s:
        row = s.scalar(select(User).where(User.username == typed))
        if row is not None:
            stored, enabled, failures = row.password_hash, bool(row.enabled), int(row.failed_logins or 0)
            remaining = _remaining(row.locked_until, failures, clock())
    if row is None or not enabled:
        burn_verify(password)
        outcome = LoginOutcome.UNKNOWN if row is None else LoginOutcome.DISABLED
        with writing(db) as s:
            _audit(s, typed, f"{action}_failed", typed, station, reason=outcome.value)
        return LoginResult(outcome)
    if remaining > 0:  # locked (perhaps by another station): the password is not checked at all
        with writing(db) as s:
            return _refuse_locked(s, typed, action, station, failures, remaining)
    right = verify_password(password, stored)  # ~0.1-0.2 s: outside any transaction
    rehashed = hash_password(password) if right and needs_rehash(stored) else None
    with writing(db) as s:
        row = _row(s, typed)
        now = clock()
        if row.password_hash != stored:  # reset by an admin in between: check the new one
            right = verify_password(password, row.password_hash)
            rehashed = None
        if not row.enabled:
            _audit(s, typed, f"{action}_failed", typed, station, reason=LoginOutcome.DISABLED.value)
            return LoginResult(LoginOutcome.DISABLED)
        remaining = _remaining(row.locked_until, int(row.failed_logins or 0), now)
        if remaining > 0:  # locked by another station's attempts while this one was hashing
            return _refuse_locked(s, typed, action, station, int(row.failed_logins or 0), remaining)
        if not right:
            failures = int(row.failed_logins or 0) + 1
            locked = lock_seconds(failures)
            row.failed_logins = failures
            row.locked_until = now + timedelta(seconds=locked) if locked else None
            _audit(
                s,
                typed,
                f"{action}_failed",
                typed,
                station,
                reason=LoginOutcome.WRONG.value,
                failures_in_a_row=failures,
                locked_s=locked,
            )
            return LoginResult(LoginOutcome.WRONG, None, failures, locked)
        before = int(row.failed_logins or 0)
        row.failed_logins, row.locked_until = 0, None
        if min_role is not None and Role(row.role).rank < min_role.rank:
            _audit(
                s,
                typed,
                f"{action}_failed",
                typed,
                station,
                reason=LoginOutcome.ROLE.value,
                role=row.role,
                needed=min_role.value,
            )
            return LoginResult(LoginOutcome.ROLE, _info(row))
        if action == "user.login":
            row.last_login_at = now
        if rehashed is not None:
            row.password_hash = rehashed
        _audit(
            s,
            typed,
            action,
            typed,
            station,
            role=row.role,
            failures_before=before,
            **({"rehashed": True} if rehashed is not None else {}),
        )
        s.flush()
        return LoginResult(LoginOutcome.OK, _info(row))
