"""Personal accounts in the database: migration 0006, changes and their audit, login and lockout."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, select
from sqlalchemy.exc import IntegrityError

from db import users
from db.models import AuditEvent, Base, User
from db.queries import audit, audit_events
from db.session import Database, alembic_config, open_db, upgrade
from db.users import LoginOutcome, NotAllowedError, UserError
from inspector.core import accounts
from inspector.core.accounts import Role, hash_iterations

PW = "correct horse"
PG_URL = os.environ.get("INSPECTOR_TEST_PG_URL")


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests hash dozens of passwords: 2,000 iterations instead of 600,000 (the rules are the same)."""
    monkeypatch.setattr(accounts, "ITERATIONS", 2000)


@pytest.fixture
def db(tmp_path: Path) -> Database:
    d = open_db(f"sqlite:///{tmp_path / 'accounts.db'}")
    yield d
    d.dispose()


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _admin(db: Database, name: str = "anna") -> None:
    users.add_user(db, name, PW, Role.ADMIN, by="cli:root", display_name="Anna Novak", as_owner=True)


def _actions(db: Database) -> list[tuple[str, str, dict]]:
    return [(e.actor, e.action, e.details) for e in reversed(audit_events(db, limit=1000))]


# -- migration 0006 ------------------------------------------------------------------------------
def _check_upgrade_from_0005(url: str) -> None:
    upgrade(url, revision="0005")
    engine = create_engine(url)
    try:
        assert "app_user" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()
    d = open_db(url, migrate=False)
    try:
        audit(d, "qa-anna", "recipe.apply", {"before": "0006"})  # data logged before the upgrade
    finally:
        d.dispose()
    d = open_db(url)  # upgrades to head
    try:
        with d.engine.connect() as conn:
            assert (
                compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
                == []
            )
        assert [e.actor for e in audit_events(d)] == ["qa-anna"]
        assert not users.has_accounts(d)
        _admin(d)
        assert users.has_accounts(d)
        assert users.authenticate(d, "anna", PW).ok
        cols = {c["name"] for c in inspect(d.engine).get_columns("app_user")}
        assert {
            "username",
            "display_name",
            "role",
            "password_hash",
            "enabled",
            "created_at",
            "created_by",
            "changed_at",
            "changed_by",
            "failed_logins",
            "locked_until",
        } <= cols
        with pytest.raises(IntegrityError), d.write() as s:
            s.add(User(username="anna", role="qa", password_hash="x"))
        with pytest.raises(IntegrityError), d.write() as s:
            s.add(User(username="boss", role="superuser", password_hash="x"))
    finally:
        d.dispose()


def test_migration_0006_upgrades_a_0005_sqlite_database(tmp_path: Path) -> None:
    _check_upgrade_from_0005(f"sqlite:///{tmp_path / 'old.db'}")


@pytest.mark.skipif(not PG_URL, reason="set INSPECTOR_TEST_PG_URL to a throwaway PostgreSQL DB")
def test_migration_0006_upgrades_a_0005_postgresql_database() -> None:
    wipe = create_engine(PG_URL)
    with wipe.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    wipe.dispose()
    _check_upgrade_from_0005(PG_URL)


def test_migration_0006_downgrades_and_upgrades_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'down.db'}"
    upgrade(url)
    command.downgrade(alembic_config(url), "0005")
    engine = create_engine(url)
    try:
        assert "app_user" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()
    upgrade(url)
    engine = create_engine(url)
    try:
        assert "app_user" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


# -- accounts and their changes -------------------------------------------------------------------
def test_the_first_account_must_be_an_admin(db: Database) -> None:
    with pytest.raises(UserError, match="first account must be an admin"):
        users.add_user(db, "olga", PW, Role.OPERATOR, by="cli:root", as_owner=True)
    assert users.list_users(db) == []
    _admin(db)
    (u,) = users.list_users(db)
    assert (u.username, u.display_name, u.role, u.enabled, u.created_by) == (
        "anna",
        "Anna Novak",
        Role.ADMIN,
        True,
        "cli:root",
    )
    (event,) = audit_events(db, action="user.add")
    assert event.actor == "cli:root"
    assert event.details["first_admin"] is True


def test_changes_need_an_enabled_admin_and_are_audited(db: Database) -> None:
    _admin(db)
    users.add_user(db, "Olga", PW, "operator", by="anna", display_name="Olga O.")
    users.add_user(db, "quinn", PW, Role.QA, by="anna")
    with pytest.raises(UserError, match="exists already"):
        users.add_user(db, "OLGA", PW, Role.QA, by="anna")  # names are case-insensitive
    with pytest.raises(NotAllowedError):
        users.add_user(db, "eve", PW, Role.ADMIN, by="olga")  # an operator
    with pytest.raises(NotAllowedError):
        users.set_role(db, "olga", Role.ADMIN, by="quinn")  # QA is no admin either
    with pytest.raises(NotAllowedError):
        users.add_user(db, "eve", PW, Role.ADMIN, by="nobody")
    users.set_role(db, "quinn", Role.ADMIN, by="anna")
    users.set_enabled(db, "quinn", False, by="anna")
    with pytest.raises(NotAllowedError):  # a disabled admin's open session changes nothing
        users.reset_password(db, "olga", "new password", by="quinn")
    users.reset_password(db, "olga", "new password", by="anna")
    assert not users.authenticate(db, "olga", PW).ok
    assert users.authenticate(db, "olga", "new password").ok
    got = [
        (actor, action, d.get("user"))
        for actor, action, d in _actions(db)
        if action != "user.login" and not action.endswith("_failed")
    ]
    assert got == [
        ("cli:root", "user.add", "anna"),
        ("anna", "user.add", "olga"),
        ("anna", "user.add", "quinn"),
        ("anna", "user.role", "quinn"),
        ("anna", "user.disable", "quinn"),
        ("anna", "user.password_reset", "olga"),
    ]
    role_event = next(d for _a, action, d in _actions(db) if action == "user.role")
    assert (role_event["old"], role_event["new"]) == ("qa", "admin")


def test_the_last_enabled_admin_stays(db: Database) -> None:
    _admin(db)
    with pytest.raises(UserError, match="last enabled admin"):
        users.set_enabled(db, "anna", False, by="anna")
    with pytest.raises(UserError, match="last enabled admin"):
        users.set_role(db, "anna", Role.ENGINEER, by="anna")
    users.add_user(db, "ben", PW, Role.ADMIN, by="anna")
    users.set_role(db, "anna", Role.ENGINEER, by="ben")
    assert users.get_user(db, "anna").role is Role.ENGINEER


def test_passwords_are_never_stored_or_audited_in_clear(db: Database, tmp_path: Path) -> None:
    secret = "unmistakable-Passw0rd"
    _admin(db)
    users.add_user(db, "olga", secret, Role.OPERATOR, by="anna")
    users.reset_password(db, "olga", secret + "2", by="anna")
    users.authenticate(db, "olga", secret)  # wrong now: audited as a failure
    users.authenticate(db, "olga", secret + "2")
    with db.read() as s:
        stored = s.scalar(select(User.password_hash).where(User.username == "olga"))
        details = [json.dumps(d) for d in s.scalars(select(AuditEvent.details))]
    assert stored.startswith("pbkdf2_sha256$2000$")
    assert secret not in stored
    assert not any(secret in d or "pbkdf2" in d for d in details)
    db.dispose()
    for f in tmp_path.glob("accounts.db*"):
        assert secret.encode() not in f.read_bytes(), f


# -- login --------------------------------------------------------------------------------------
def test_login_counts_wrong_passwords_locks_and_does_not_check_while_locked(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _admin(db)
    users.add_user(db, "olga", PW, Role.OPERATOR, by="anna")
    clock = Clock()
    for n in range(1, 5):
        r = users.authenticate(db, "olga", "wrong one", station="s1", clock=clock)
        assert (r.outcome, r.failures, r.locked_s) == (LoginOutcome.WRONG, n, 0)
    r = users.authenticate(db, "olga", "wrong one", clock=clock)
    assert (r.outcome, r.failures, r.locked_s) == (LoginOutcome.WRONG, 5, 30)

    checked: list[str] = []
    real = users.verify_password

    def spy(password: str, stored: str) -> bool:
        checked.append(password)
        return real(password, stored)

    monkeypatch.setattr(users, "verify_password", spy)
    clock.now += timedelta(seconds=10)
    r = users.authenticate(db, "olga", PW, clock=clock)  # the right password, while locked
    assert r.outcome is LoginOutcome.LOCKED
    assert r.locked_s == 20
    assert checked == []
    assert users.get_user(db, "olga").locked_s(clock.now) == 20  # every station sees the lock

    clock.now += timedelta(seconds=21)
    r = users.authenticate(db, "olga", "wrong again", clock=clock)
    assert (r.outcome, r.failures, r.locked_s) == (LoginOutcome.WRONG, 6, 60)  # doubled
    clock.now += timedelta(seconds=61)
    r = users.authenticate(db, "olga", PW, station="s1", clock=clock)
    assert r.ok
    assert r.user is not None
    assert (r.user.username, r.user.role, r.user.failed_logins) == ("olga", Role.OPERATOR, 0)
    assert r.user.last_login_at == clock.now
    reasons = [d.get("reason") for _a, action, d in _actions(db) if action == "user.login_failed"]
    assert reasons == ["wrong_password"] * 5 + ["locked", "wrong_password"]
    (ok,) = [d for _a, action, d in _actions(db) if action == "user.login"]
    assert ok["failures_before"] == 6
    assert ok["station"] == "s1"


def test_a_clock_set_back_does_not_lock_longer_than_the_lock(db: Database) -> None:
    _admin(db)
    clock = Clock()
    for _ in range(5):
        users.authenticate(db, "anna", "wrong one", clock=clock)
    clock.now -= timedelta(days=1)
    assert users.get_user(db, "anna").locked_s(clock.now) == 30


def test_unknown_and_disabled_users_get_the_same_answer_as_a_wrong_password(db: Database) -> None:
    _admin(db)
    users.add_user(db, "olga", PW, Role.OPERATOR, by="anna")
    users.set_enabled(db, "olga", False, by="anna")
    unknown = users.authenticate(db, "mallory", PW)
    disabled = users.authenticate(db, "olga", PW)  # the right password of a disabled account
    assert (unknown.outcome, disabled.outcome) == (LoginOutcome.UNKNOWN, LoginOutcome.DISABLED)
    for r in (unknown, disabled):
        assert not r.ok
        assert r.user is None  # nothing about the account goes back to the dialog
    assert users.get_user(db, "olga").failed_logins == 0  # nothing to count against
    users.set_enabled(db, "olga", True, by="anna")
    assert users.authenticate(db, "olga", PW).ok
    failed = [(a, d["reason"]) for a, action, d in _actions(db) if action == "user.login_failed"]
    assert failed == [("mallory", "unknown_user"), ("olga", "disabled")]


def test_a_login_that_needs_qa_refuses_an_operator(db: Database) -> None:
    _admin(db)
    users.add_user(db, "olga", PW, Role.OPERATOR, by="anna")
    users.add_user(db, "quinn", PW, Role.QA, by="anna")
    r = users.authenticate(db, "olga", PW, min_role=Role.QA)
    assert r.outcome is LoginOutcome.ROLE
    assert users.authenticate(db, "quinn", PW, min_role=Role.QA).ok
    assert users.authenticate(db, "anna", PW, min_role=Role.QA).ok


def test_an_older_work_factor_is_rehashed_at_the_next_right_login(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _admin(db)  # hashed with 2000 iterations (the fixture)
    monkeypatch.setattr(accounts, "ITERATIONS", 3000)
    assert not users.authenticate(db, "anna", "wrong one").ok
    with db.read() as s:
        assert hash_iterations(s.scalar(select(User.password_hash))) == 2000  # a wrong one changes nothing
    assert users.authenticate(db, "anna", PW).ok
    with db.read() as s:
        assert hash_iterations(s.scalar(select(User.password_hash))) == 3000
    assert users.authenticate(db, "anna", PW).ok
    (first, _second) = [d for _a, action, d in _actions(db) if action == "user.login"]
    assert first.get("rehashed") is True


def test_a_person_changes_their_own_password(db: Database) -> None:
    _admin(db)
    r = users.change_own_password(db, "anna", "not it", "brand new pw")
    assert r.outcome is LoginOutcome.WRONG
    assert users.get_user(db, "anna").failed_logins == 1
    with pytest.raises(ValueError, match="at least 8"):
        users.change_own_password(db, "anna", PW, "short")
    assert users.change_own_password(db, "anna", PW, "brand new pw").ok
    assert not users.authenticate(db, "anna", PW).ok
    assert users.authenticate(db, "anna", "brand new pw").ok
    assert [a for a, action, _d in _actions(db) if action == "user.password_changed"] == ["anna"]
