"""Fail-safe item 9, "roles that hold": the QA PIN and its lockout cannot be read, reset or outwaited.

Findings reproduced here (each failed before the fix):
- the PIN's PBKDF2 hash sat in the world-readable QSettings ini (mode 644): 4 digits fall offline;
- deleting that hash brought PIN "0000" back (PinStore recreated the default);
- the 5-try lockout reset with every new login dialog (and every restart).
"""

from __future__ import annotations

import io
import json
import logging
import os
import stat
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialogButtonBox, QPushButton

from db.queries import audit_events
from db.session import open_db
from inspector.cli import exitcodes
from inspector.cli.main import main as cli_main
from inspector.core import secret_store
from inspector.core.secret_store import (
    ITERATIONS,
    LOCK_MAX_S,
    Outcome,
    SecretStore,
    hash_pin,
    lock_seconds,
)
from inspector.ui.roles import PIN_KEY, LoginDialog, PinStore
from tests.ui_helpers import close_window, make_window

PIN = "271828"

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


class FakeClock:
    def __init__(self, now: float = 1_900_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "data"
    monkeypatch.setenv("INSPECTOR_DATA_DIR", str(path))
    return path


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _secrets(data_dir: Path) -> Path:
    return data_dir / "secrets" / "roles.json"


def _set_pin_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pin: str, by: str = "Quinn QA") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(pin + "\n"))
    return cli_main(["set-pin", "--by", by, "--pin-stdin", "--db", f"sqlite:///{tmp_path / 'station.db'}"])


def _ok_button(dialog: LoginDialog) -> QPushButton:
    return dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)


def _ok(dialog: LoginDialog) -> None:
    _ok_button(dialog).click()


def _login(qtbot, dialog: LoginDialog, pin: str, name: str = "Alice") -> None:
    dialog.name_edit.clear()
    qtbot.keyClicks(dialog.name_edit, name)
    qtbot.keyClicks(dialog.pin_edit, pin)
    _ok(dialog)


def _dialog(qtbot, pins: PinStore) -> LoginDialog:
    dlg = LoginDialog(pins)
    qtbot.addWidget(dlg)
    dlg.show()
    return dlg


# -- finding 1: the hash sat in a world-readable file ----------------------------------------
def test_pin_hash_is_only_in_an_owner_only_secrets_file(qtbot, tmp_path, data_dir, settings, monkeypatch):
    ini = tmp_path / "settings.ini"
    PinStore(settings)
    settings.sync()
    assert not ini.exists() or "pbkdf2" not in ini.read_text()
    assert _set_pin_cli(tmp_path, monkeypatch, PIN) == exitcodes.OK
    assert not ini.exists() or "pbkdf2" not in ini.read_text()
    path = _secrets(data_dir)
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    assert PIN not in path.read_text()
    assert json.loads(path.read_text())["pin_hash"].startswith(f"pbkdf2_sha256${ITERATIONS}$")
    # nothing world- or group-readable anywhere holds the hash
    for f in tmp_path.rglob("*"):
        if f.is_file() and "pbkdf2" in f.read_text(errors="ignore"):
            assert _mode(f) & 0o077 == 0, f
    assert ITERATIONS >= 600_000


def test_a_loose_secrets_file_is_tightened_with_a_warning(data_dir, caplog):
    store = SecretStore()
    assert store.ensure() is True
    assert _mode(store.path) == 0o600
    store.set_pin(PIN)
    store.path.chmod(0o644)
    store.folder.chmod(0o755)
    with caplog.at_level(logging.WARNING, logger="inspector.core.secret_store"):
        assert SecretStore().has_pin()
    assert _mode(store.path) == 0o600
    assert _mode(store.folder) == 0o700
    assert "tightened to 0600" in caplog.text
    assert "tightened to 0700" in caplog.text


def test_secrets_file_is_created_0600_even_under_a_permissive_umask(data_dir):
    old = os.umask(0)
    try:
        store = SecretStore()
        store.set_pin(PIN)
        assert _mode(store.path) == 0o600
        assert _mode(store.folder) == 0o700
        assert not list(store.folder.glob(".roles-*"))  # no temp files left behind
    finally:
        os.umask(old)


def test_a_hash_left_in_qsettings_moves_once_to_the_secrets_file(qtbot, tmp_path, data_dir, settings):
    legacy = hash_pin("135790", iterations=120_000)
    settings.setValue(PIN_KEY, legacy)
    settings.setValue("roles/pin_is_default", "false")
    settings.sync()
    pins = PinStore(settings)
    settings.sync()
    assert "pbkdf2" not in (tmp_path / "settings.ini").read_text()
    assert settings.value(PIN_KEY) is None
    assert pins.check("135790")
    # the successful check re-hashed it at today's iteration count
    assert pins.store.pin_hash().startswith(f"pbkdf2_sha256${ITERATIONS}$")
    # once: a hash put back into QSettings later is not taken (and is removed)
    settings.setValue(PIN_KEY, hash_pin("999999", iterations=120_000))
    settings.sync()
    pins = PinStore(settings)
    assert settings.value(PIN_KEY) is None
    assert not pins.check("999999")
    assert pins.check("135790")


def test_the_old_default_pin_hash_is_not_migrated(qtbot, data_dir, settings):
    settings.setValue(PIN_KEY, hash_pin("0000", iterations=120_000))
    settings.setValue("roles/pin_is_default", "true")
    pins = PinStore(settings)
    assert settings.value(PIN_KEY) is None
    assert not pins.has_pin()
    assert pins.attempt("0000").outcome is Outcome.NO_PIN


# -- finding 2: deleting the hash restored PIN 0000 ------------------------------------------
def test_deleting_the_hash_locks_qa_until_set_pin(qtbot, tmp_path, data_dir, settings, monkeypatch):
    SecretStore().set_pin(PIN)
    PinStore(settings)
    # "delete that line": from the secrets file, and from QSettings where older versions kept it
    path = _secrets(data_dir)
    data = json.loads(path.read_text())
    del data["pin_hash"]
    path.write_text(json.dumps(data))
    settings.remove(PIN_KEY)
    settings.sync()
    pins = PinStore(settings)
    dlg = _dialog(qtbot, pins)
    for pin in ("0000", PIN, "000000", ""):
        _login(qtbot, dlg, pin)
        assert not dlg.result()
        assert dlg.isVisible()
    assert dlg.hint_label.isVisible()
    assert "inspector set-pin" in dlg.hint_label.text()
    assert "locked" in dlg.hint_label.text()
    assert "no PIN" in dlg.error_label.text()
    assert not pins.has_pin()
    # the file gone entirely: the same
    path.unlink()
    assert not PinStore(settings).check("0000")
    # `inspector set-pin` unlocks it; the same dialog accepts the new PIN
    assert _set_pin_cli(tmp_path, monkeypatch, "314159") == exitcodes.OK
    _login(qtbot, dlg, "314159")
    assert dlg.result() == LoginDialog.DialogCode.Accepted
    assert dlg.user == "Alice"


def test_set_pin_refuses_short_pins_and_audits_who_set_it(tmp_path, data_dir, monkeypatch, capsys):
    assert _set_pin_cli(tmp_path, monkeypatch, "4711") == exitcodes.USAGE
    err = capsys.readouterr().err
    assert "at least 6" in err
    assert "offline search" in err  # says why
    assert not SecretStore().has_pin()
    assert _set_pin_cli(tmp_path, monkeypatch, "0000") == exitcodes.USAGE
    assert _set_pin_cli(tmp_path, monkeypatch, "482613", by="Quinn QA") == exitcodes.OK
    out = capsys.readouterr().out
    assert str(_secrets(data_dir)) in out
    db = open_db(f"sqlite:///{tmp_path / 'station.db'}")
    try:
        (event,) = audit_events(db, action="pin_set")
        assert event.actor == "Quinn QA"
        assert event.details["secrets_file"] == str(_secrets(data_dir))
        assert "482613" not in json.dumps(event.details)
    finally:
        db.dispose()
    assert SecretStore().attempt("482613").ok


def test_set_pin_needs_a_name_and_asks_twice_with_getpass(tmp_path, data_dir, monkeypatch):
    db = f"sqlite:///{tmp_path / 'station.db'}"
    with pytest.raises(SystemExit) as exc:
        cli_main(["set-pin", "--db", db])  # --by is required
    assert exc.value.code == 2
    monkeypatch.setattr("sys.stdin", io.StringIO("482613\n"))
    assert cli_main(["set-pin", "--by", "  ", "--pin-stdin", "--db", db]) == exitcodes.USAGE
    answers = iter(["482613", "482614"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert cli_main(["set-pin", "--by", "Quinn", "--db", db]) == exitcodes.USAGE  # they differ
    assert not SecretStore().has_pin()
    answers = iter(["482613", "482613"])
    assert cli_main(["set-pin", "--by", "Quinn", "--db", db]) == exitcodes.OK
    assert SecretStore().attempt("482613").ok


def test_set_pin_is_undone_when_the_audit_event_cannot_be_written(tmp_path, data_dir, monkeypatch):
    assert _set_pin_cli(tmp_path, monkeypatch, PIN) == exitcodes.OK

    def broken(*_a: object, **_k: object) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr("db.queries.audit", broken)
    assert _set_pin_cli(tmp_path, monkeypatch, "999999") == exitcodes.FATAL
    store = SecretStore()
    assert store.attempt(PIN).ok
    assert not store.attempt("999999").ok


def test_the_cli_module_does_not_load_qt():
    import subprocess
    import sys

    code = ("import sys, inspector.cli.main, inspector.cli.setpin_cmd, inspector.core.secret_store; "
            "sys.exit(any(m.startswith('PySide6') for m in sys.modules))")
    root = Path(__file__).resolve().parents[2]
    assert subprocess.run([sys.executable, "-c", code], check=False, cwd=root).returncode == 0


# -- finding 3: the lockout reset with each new dialog ---------------------------------------
def test_lockout_persists_across_dialogs_and_restarts_and_grows(qtbot, data_dir, settings, monkeypatch):
    SecretStore().set_pin(PIN)
    pins = PinStore(settings)
    dlg = _dialog(qtbot, pins)
    for _ in range(5):
        _login(qtbot, dlg, "000000")
    assert not _ok_button(dlg).isEnabled()
    assert "wait 30 s" in dlg.error_label.text()
    dlg.reject()

    # a new dialog: still locked, OK disabled, the wait shown
    dlg2 = _dialog(qtbot, pins)
    assert not _ok_button(dlg2).isEnabled()
    assert "wait" in dlg2.error_label.text()
    dlg2.reject()

    # a restart (new PinStore, new SecretStore), 10 s later: still locked, and the right
    # PIN is not even checked
    clock = FakeClock(json.loads(_secrets(data_dir).read_text())["locked_until"] - 20)
    checked: list[str] = []
    real_verify = secret_store.verify_pin

    def spy(pin: str, stored: str) -> bool:
        checked.append(pin)
        return real_verify(pin, stored)

    monkeypatch.setattr(secret_store, "verify_pin", spy)
    restarted = PinStore(QSettings(settings.fileName(), QSettings.Format.IniFormat), SecretStore(clock=clock))
    result = restarted.attempt(PIN)
    assert result.outcome is Outcome.LOCKED
    assert checked == []
    assert result.locked_s == 20

    # the dialog counts the wait down
    dlg3 = _dialog(qtbot, restarted)
    assert not _ok_button(dlg3).isEnabled()
    assert "wait 20 s" in dlg3.error_label.text()
    clock.now += 5
    qtbot.waitUntil(lambda: "wait 15 s" in dlg3.error_label.text(), timeout=3000)

    # after the wait a wrong PIN doubles the lock: 60 s, then 120 s ... up to the cap
    clock.now += 16
    qtbot.waitUntil(_ok_button(dlg3).isEnabled, timeout=3000)
    _login(qtbot, dlg3, "000000")
    assert checked == ["000000"]
    assert not _ok_button(dlg3).isEnabled()
    assert "wait 1 min 00 s" in dlg3.error_label.text()
    assert restarted.store.failures() == 6
    clock.now += 61
    assert restarted.attempt("000000").locked_s == 120
    assert [lock_seconds(n) for n in (4, 5, 6, 7, 8)] == [0, 30, 60, 120, 240]
    assert lock_seconds(40) == LOCK_MAX_S == 3600

    # a right PIN after the wait resets the count
    clock.now += 121
    qtbot.waitUntil(_ok_button(dlg3).isEnabled, timeout=3000)
    _login(qtbot, dlg3, PIN)
    assert dlg3.result() == LoginDialog.DialogCode.Accepted
    assert restarted.store.failures() == 0
    assert restarted.store.lock_remaining() == 0


def test_a_clock_set_back_does_not_lock_qa_for_longer_than_the_lock(data_dir):
    clock = FakeClock()
    store = SecretStore(clock=clock)
    store.set_pin(PIN)
    for _ in range(5):
        store.attempt("000000")
    clock.now -= 86_400
    assert store.lock_remaining() <= 30


# -- item 4: the person's name is the actor --------------------------------------------------
def test_audit_actor_is_the_persons_name(qtbot, tmp_path, tiny_model, monkeypatch):
    window = make_window(qtbot, tmp_path, tiny_model, monkeypatch)
    try:
        SecretStore().set_pin(PIN)  # INSPECTOR_DATA_DIR is the window's temp data dir
        window.qa_action.trigger()
        dlg = window.roles.login_dialog
        qtbot.keyClicks(dlg.pin_edit, PIN)
        _ok(dlg)  # no name: refused before the PIN is checked
        assert dlg.isVisible()
        assert "name" in dlg.error_label.text()
        assert SecretStore().failures() == 0
        _login(qtbot, dlg, "123456", name="Mallory")
        _login(qtbot, dlg, PIN, name="  Alice   Smith ")
        assert window.ctx.is_qa()
        assert window.ctx.user == "Alice Smith"
        window.ctx.audit("counters.reset", {"counts": {}})  # any privileged action of the session
        window.logout_action.trigger()
        window.audit_log.close()
        events = {(e.action, e.actor) for e in audit_events(window.ctx.db)}
        assert ("qa.login_failed", "Mallory") in events
        assert ("qa.login", "Alice Smith") in events
        assert ("counters.reset", "Alice Smith") in events
        assert ("qa.logout", "Alice Smith") in events
        assert not any(actor == "qa" for _, actor in events)
    finally:
        close_window(window)
