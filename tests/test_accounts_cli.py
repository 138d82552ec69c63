"""``inspector user add|list|passwd|disable|enable|role``."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from db import users
from db.queries import audit_events
from db.session import open_db
from inspector.cli import exitcodes
from inspector.cli.main import main as cli_main
from inspector.core import accounts


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accounts, "ITERATIONS", 2000)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'station.db'}"


def user(url: str, monkeypatch: pytest.MonkeyPatch, *args: str, password: str | None = None) -> int:
    if password is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
        args = (*args, "--password-stdin")
    return cli_main(["user", *args, "--db", url])


def test_first_admin_then_the_others_list_and_audit(url, monkeypatch, capsys) -> None:
    assert user(url, monkeypatch, "list") == exitcodes.OK
    assert "inspector user add --role admin" in capsys.readouterr().out  # says how to start
    assert (
        user(url, monkeypatch, "add", "olga", "--role", "operator", password="olga pass") == exitcodes.USAGE
    )
    assert "first account must be an admin" in capsys.readouterr().err
    assert (
        user(
            url,
            monkeypatch,
            "add",
            "Anna",
            "--role",
            "admin",
            "--name",
            "Anna Novak",
            "--by",
            "it-dept",
            password="anna pass",
        )
        == exitcodes.OK
    )
    assert "anna (admin) added by it-dept" in capsys.readouterr().out
    assert user(url, monkeypatch, "add", "olga", "--role", "operator", password="olga pass") == exitcodes.OK
    assert user(url, monkeypatch, "add", "olga", "--role", "qa", password="olga pass") == exitcodes.USAGE
    assert "exists already" in capsys.readouterr().err
    assert user(url, monkeypatch, "add", "x y", "--role", "qa", password="some pass") == exitcodes.USAGE
    assert user(url, monkeypatch, "add", "eve", "--role", "qa", password="short") == exitcodes.USAGE
    assert "at least 8" in capsys.readouterr().err

    assert user(url, monkeypatch, "list") == exitcodes.OK
    table = capsys.readouterr().out
    assert "anna" in table
    assert "Anna Novak" in table
    assert "olga" in table
    assert user(url, monkeypatch, "list", "--json") == exitcodes.OK
    out = capsys.readouterr().out
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["username"], r["role"], r["enabled"]) for r in rows] == [
        ("anna", "admin", True),
        ("olga", "operator", True),
    ]
    assert "pbkdf2" not in out
    assert "pass" not in out
    db = open_db(url)
    try:
        assert users.authenticate(db, "anna", "anna pass").ok
        added = [(e.actor, e.details["user"]) for e in reversed(audit_events(db, action="user.add"))]
        assert added[0] == ("it-dept", "anna")
        assert added[1][0].startswith("cli:")  # the OS user when --by is not given
    finally:
        db.dispose()


def test_passwd_disable_enable_and_role(url, monkeypatch, capsys) -> None:
    assert user(url, monkeypatch, "add", "anna", "--role", "admin", password="anna pass") == exitcodes.OK
    assert user(url, monkeypatch, "add", "olga", "--role", "operator", password="olga pass") == exitcodes.OK
    assert user(url, monkeypatch, "passwd", "olga", password="olga new pass") == exitcodes.OK
    assert user(url, monkeypatch, "disable", "olga") == exitcodes.OK
    assert user(url, monkeypatch, "disable", "anna") == exitcodes.USAGE  # the last admin
    assert "last enabled admin" in capsys.readouterr().err
    assert user(url, monkeypatch, "role", "olga", "qa") == exitcodes.OK
    assert user(url, monkeypatch, "role", "ghost", "qa") == exitcodes.USAGE
    db = open_db(url)
    try:
        assert not users.authenticate(db, "olga", "olga new pass").ok  # disabled
        assert user(url, monkeypatch, "enable", "olga") == exitcodes.OK
        assert not users.authenticate(db, "olga", "olga pass").ok
        r = users.authenticate(db, "olga", "olga new pass")
        assert r.ok
        assert r.user.role.value == "qa"
        actions = [e.action for e in reversed(audit_events(db))]
        for a in ("user.password_reset", "user.disable", "user.role", "user.enable"):
            assert a in actions
    finally:
        db.dispose()


def test_add_asks_twice_without_echo(url, monkeypatch, capsys) -> None:
    answers = iter(["anna pass", "anna pazz"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert user(url, monkeypatch, "add", "anna", "--role", "admin") == exitcodes.USAGE
    assert "differ" in capsys.readouterr().err
    answers = iter(["anna pass", "anna pass"])
    assert user(url, monkeypatch, "add", "anna", "--role", "admin") == exitcodes.OK
    db = open_db(url)
    try:
        assert users.authenticate(db, "anna", "anna pass").ok
    finally:
        db.dispose()


def test_the_user_command_does_not_load_qt() -> None:
    code = (
        "import sys, inspector.cli.main, inspector.cli.user_cmd, db.users, inspector.core.accounts; "
        "sys.exit(any(m.startswith('PySide6') for m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[1]
    assert subprocess.run([sys.executable, "-c", code], check=False, cwd=root).returncode == 0
