"""Personal accounts in the station window (real widgets): rights per role, login, user admin,
reviews signed by the logged-in person, and the shared PIN retired by the first admin."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtWidgets import QWidget

from db import queries, users
from db.session import open_db
from inspector.core import accounts
from inspector.core.accounts import Role
from tests.review_helpers import log_inspection
from tests.ui_helpers import QA_PIN, close_window, make_window, set_qa_pin
from trainer.data.synth import write_synthetic

pytestmark = pytest.mark.filterwarnings("error")

FAKE_TRAINER = Path(__file__).parent / "fakes" / "fake_trainer.py"
PASSWORDS = {
    "anna": "anna admin pw",
    "erin": "erin engineer",
    "quinn": "quinn qa pw",
    "olga": "olga operator",
}
ROLES = {"anna": Role.ADMIN, "erin": Role.ENGINEER, "quinn": Role.QA, "olga": Role.OPERATOR}


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accounts, "ITERATIONS", 2000)


def add_accounts(tmp_path: Path, names: tuple[str, ...] = ("anna", "erin", "quinn", "olga")) -> None:
    """Accounts in the window's database (make_window opens tmp_path/station.db), as the CLI would."""
    db = open_db(f"sqlite:///{tmp_path / 'station.db'}")
    try:
        for name in names:
            users.add_user(db, name, PASSWORDS[name], ROLES[name], by="cli:root", as_owner=True)
    finally:
        db.dispose()


@pytest.fixture
def window(qtbot, tmp_path, tiny_model, monkeypatch):
    add_accounts(tmp_path)
    w = make_window(qtbot, tmp_path, tiny_model, monkeypatch)
    w.messages_seen = []
    w.ctx.message.connect(lambda level, text: w.messages_seen.append((level, text)))
    yield w
    close_window(w)


def login(qtbot, window, name: str, password: str | None = None, *, qa: bool = False) -> Any:
    dlg = window.roles.request_qa() if qa else window.roles.request_login()
    assert dlg is not None
    assert dlg.accounts  # user name + password, not the shared PIN
    qtbot.keyClicks(dlg.name_edit, name)
    qtbot.keyClicks(dlg.pin_edit, PASSWORDS.get(name, "") if password is None else password)
    dlg.ok_button.click()
    qtbot.waitUntil(lambda: not dlg.checking, timeout=10000)
    return dlg


def audit_of(window) -> list[tuple[str, str, dict]]:
    window.audit_log.tasks.wait(10)
    return [(e.actor, e.action, e.details) for e in reversed(queries.audit_events(window.ctx.db, limit=500))]


def test_an_operator_sees_training_engine_promotion_and_recipes_disabled_and_forced_calls_refused(
    qtbot, window, tmp_path
):
    trainer, rules = window.panels["Trainer"], window.panels["Rules"]
    release = trainer.release
    login(qtbot, window, "olga")
    assert (window.ctx.user, window.ctx.role) == ("olga", "operator")
    assert window.status.role_label.text() == "Operator · olga"

    assert not trainer.start_button.isEnabled()
    assert "needs Engineer or Admin" in trainer.start_button.toolTip()
    assert not release.engine_button.isEnabled()
    assert "needs Engineer or Admin" in release.engine_button.toolTip()
    assert not release.promote_button.isEnabled()
    assert "needs QA, Engineer or Admin" in release.promote_button.toolTip()
    assert not release.rollback_button.isEnabled()
    assert not rules.apply_button.isEnabled()
    assert "needs QA, Engineer or Admin" in rules.apply_button.toolTip()
    assert not window.users_action.isEnabled()

    # a disabled button is not security: the actions themselves refuse
    write_synthetic(tmp_path / "data", 4, seed=1, size=32, p_defective=0.5)
    trainer.trainer_cmd = [sys.executable, str(FAKE_TRAINER), "--mode", "ok"]
    trainer.data_edit.setText(str(tmp_path / "data"))
    assert trainer.start_training() is False
    assert trainer.status == "idle"
    assert not trainer.proc.is_running()
    assert release.rebuild_engine() is False
    assert release.engine_status == ""
    assert release.promote() is False
    assert release.rollback() is False
    rules.reason_edit.setText("tighter")
    assert rules.apply("tighter") is None
    assert rules.restore(1) is None
    assert window.roles.open_users() is None
    assert window.products.choose_dialog().new_from_current() is None
    refused = [text for level, text in window.messages_seen if level == "warning" and "refused" in text]
    assert "Training refused: needs Engineer or Admin (Role ▸ Log in…)." in refused
    assert any(t.startswith("Rebuilding the TensorRT engine refused: needs Engineer") for t in refused)
    assert any(t.startswith("Promotion refused: needs QA") for t in refused)
    denied = [(actor, d["right"]) for actor, action, d in audit_of(window) if action == "access.denied"]
    assert ("olga", "train") in denied
    assert ("olga", "engine") in denied
    assert ("olga", "promote") in denied
    assert ("olga", "recipe") in denied
    assert ("olga", "users") in denied

    # an engineer may: the same call starts the (fake) trainer
    window.roles.logout()
    login(qtbot, window, "erin")
    assert trainer.start_button.isEnabled()
    assert release.engine_button.isEnabled()
    assert trainer.start_training() is True
    qtbot.waitUntil(lambda: trainer.status == "idle", timeout=20000)
    assert "Finished" in trainer.status_label.text()
    assert ("erin", "train.start") in [(a, action) for a, action, _d in audit_of(window)]


def test_a_qa_login_enables_recipes_but_not_training(qtbot, window):
    trainer, rules = window.panels["Trainer"], window.panels["Rules"]
    dlg = login(qtbot, window, "olga", qa=True)  # the QA login (also the kiosk's) refuses an operator
    assert dlg.isVisible()
    assert "needs a QA account" in dlg.error_label.text()
    assert window.ctx.role == "operator"
    assert not window.ctx.personal
    dlg.reject()

    dlg = login(qtbot, window, "quinn", qa=True)
    assert not dlg.isVisible()
    assert (window.ctx.user, window.ctx.role) == ("quinn", "qa")
    assert window.ctx.is_qa()
    assert window.status.role_label.text() == "QA · quinn"
    assert rules.apply_button.isEnabled()
    assert rules.apply_button.toolTip() == ""
    assert trainer.trainer_cmd  # the tab is there
    assert not trainer.start_button.isEnabled()
    assert "needs Engineer or Admin" in trainer.start_button.toolTip()
    assert not trainer.release.engine_button.isEnabled()
    assert trainer.release.rollback_button.isEnabled()  # QA rolls back
    assert not window.users_action.isEnabled()
    assert window.pin_action.isEnabled()
    assert "password" in window.pin_action.text()
    assert window.roles.request_qa() is None  # already QA
    window.logout_action.trigger()
    assert window.ctx.role == "operator"
    assert window.status.role_label.text() == "Operator"
    assert not rules.apply_button.isEnabled()
    events = [(a, action) for a, action, _d in audit_of(window)]
    assert ("olga", "user.login_failed") in events
    assert ("quinn", "user.login") in events
    assert ("quinn", "user.logout") in events


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(qtbot, window):
    dlg = login(qtbot, window, "quinn", "not the password")
    assert dlg.error_label.text() == "Wrong user name or password."
    dlg.name_edit.clear()
    qtbot.keyClicks(dlg.name_edit, "mallory")
    qtbot.keyClicks(dlg.pin_edit, "whatever pw")
    dlg.ok_button.click()
    qtbot.waitUntil(lambda: not dlg.checking, timeout=10000)
    assert dlg.error_label.text() == "Wrong user name or password."
    assert dlg.pin_edit.text() == ""  # the password never stays in the field
    assert window.ctx.role == "operator"
    assert dlg.failures == 2
    dlg.reject()


def test_the_admin_panel_adds_a_user_who_can_then_log_in(qtbot, window):
    login(qtbot, window, "anna")
    assert window.status.role_label.text() == "Admin · anna"
    assert window.users_action.isEnabled()
    window.users_action.trigger()
    panel = window.roles.users_dialog
    assert panel is not None
    assert panel.isVisible()
    qtbot.waitUntil(lambda: panel.table.rowCount() == 4, timeout=5000)
    assert [panel.table.item(r, 0).text() for r in range(4)] == ["anna", "erin", "olga", "quinn"]

    add = panel.add_user()
    qtbot.keyClicks(add.username_edit, "Ben.K")
    qtbot.keyClicks(add.name_edit, "Ben Kowalski")
    add.role_combo.setCurrentIndex(add.role_combo.findData("qa"))
    qtbot.keyClicks(add.password_edit, "ben secret 1")
    qtbot.keyClicks(add.again_edit, "ben secret 2")
    add.ok_button.click()
    assert add.error_label.text() == "The passwords differ."
    add.again_edit.clear()
    qtbot.keyClicks(add.again_edit, "ben secret 1")
    add.ok_button.click()
    qtbot.waitUntil(lambda: not add.isVisible(), timeout=10000)
    qtbot.waitUntil(lambda: panel.table.rowCount() == 5, timeout=5000)
    assert panel.select("ben.k")
    assert panel.table.item(panel.table.currentRow(), 1).text() == "Ben Kowalski"
    assert panel.table.item(panel.table.currentRow(), 2).text() == "QA"

    # a role change, a disable and an enable, all audited under anna
    assert panel.set_role(Role.ENGINEER)
    qtbot.waitUntil(lambda: not panel.tasks.busy("users-write"), timeout=10000)
    qtbot.waitUntil(
        lambda: panel.selected() is not None and panel.selected().role is Role.ENGINEER, timeout=5000
    )
    assert panel.toggle_enabled()
    qtbot.waitUntil(lambda: panel.selected() is not None and not panel.selected().enabled, timeout=10000)
    assert panel.enable_button.text() == "Enable"
    assert panel.toggle_enabled()
    qtbot.waitUntil(lambda: panel.selected() is not None and panel.selected().enabled, timeout=10000)
    # the last admin cannot disable herself: refused with the reason, nothing changes
    assert panel.select("anna")
    assert panel.toggle_enabled()
    qtbot.waitUntil(lambda: "last enabled admin" in panel.status_label.text(), timeout=10000)
    panel.close()

    window.logout_action.trigger()
    login(qtbot, window, "ben.k", "ben secret 1")
    assert (window.ctx.user, window.ctx.role) == ("ben.k", "engineer")
    assert window.panels["Trainer"].start_button.isEnabled()
    events = [(a, action, d.get("user")) for a, action, d in audit_of(window)]
    for expected in (
        ("anna", "user.add", "ben.k"),
        ("anna", "user.role", "ben.k"),
        ("anna", "user.disable", "ben.k"),
        ("anna", "user.enable", "ben.k"),
        ("ben.k", "user.login", "ben.k"),
    ):
        assert expected in events


def test_reviews_record_the_logged_in_user(qtbot, window, tmp_path):
    from inspector.ui.review import ReviewActions

    prob = np.zeros((32, 32), np.float32)
    prob[8:16, 8:16] = 0.95  # an NG part
    iid = log_inspection(window.ctx.db, np.full((32, 32), 90, np.uint8), prob, tmp_path / "parts", 1)
    host = QWidget()
    qtbot.addWidget(host)
    actions = ReviewActions(window.ctx, host)
    (row,) = queries.history(window.ctx.db)
    actions.set_row(row)
    # nobody logged in, and the station has accounts: a review must name a person
    assert actions.record("confirm_ng") is None
    assert any("needs a personal login" in t for _lvl, t in window.messages_seen)
    login(qtbot, window, "olga")
    job = actions.record("confirm_ng")
    assert job is not None
    qtbot.waitUntil(lambda: job.done(), timeout=10000)
    actions.tasks.wait(5)
    (review,) = queries.get_inspection(window.ctx.db, iid).reviews
    assert review.by == "olga"


def test_without_accounts_the_login_says_how_and_the_first_admin_retires_the_pin(
    qtbot, tmp_path, tiny_model, monkeypatch
):
    window = make_window(qtbot, tmp_path, tiny_model, monkeypatch)
    seen: list[tuple[str, str]] = []
    window.ctx.message.connect(lambda level, text: seen.append((level, text)))
    try:
        assert not window.ctx.accounts
        set_qa_pin()
        window.qa_action.trigger()
        dlg = window.roles.login_dialog
        assert not dlg.accounts
        assert dlg.accounts_hint.isVisible()
        assert "inspector user add --role admin" in dlg.accounts_hint.text()
        assert not window.users_action.isEnabled()
        qtbot.keyClicks(dlg.name_edit, "Alice")
        qtbot.keyClicks(dlg.pin_edit, QA_PIN)
        dlg.ok_button.click()
        assert (window.ctx.role, window.ctx.user) == ("qa", "Alice")  # the fallback, as before
        assert window.panels["Rules"].apply_button.isEnabled()
        assert not window.panels["Trainer"].start_button.isEnabled()  # QA by PIN does not train

        add_accounts(tmp_path, ("anna",))  # `inspector user add --role admin anna` while it runs
        window.roles.refresh_accounts()
        qtbot.waitUntil(lambda: window.ctx.accounts, timeout=5000)
        assert window.ctx.role == "operator"  # the PIN session ended
        assert not window.ctx.personal
        assert any(
            level == "warning" and "shared QA PIN is no longer accepted" in text for level, text in seen
        )
        window.qa_action.trigger()
        dlg = window.roles.login_dialog
        assert dlg.accounts
        assert not dlg.accounts_hint.isVisible()
        qtbot.keyClicks(dlg.name_edit, "Alice")
        qtbot.keyClicks(dlg.pin_edit, QA_PIN)
        dlg.ok_button.click()
        qtbot.waitUntil(lambda: not dlg.checking, timeout=10000)
        assert dlg.error_label.text() == "Wrong user name or password."
        assert window.ctx.role == "operator"
        dlg.reject()
        events = [(a, action) for a, action, _d in audit_of(window)]
        assert ("Alice", "qa.login") in events
        assert ("Alice", "qa.logout") in events
    finally:
        close_window(window)
