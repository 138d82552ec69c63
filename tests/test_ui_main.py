"""Main window: status bar, roles/PIN, shortcuts, persisted layout, starting without a model."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QDialogButtonBox
from sqlalchemy.engine import make_url

from db.queries import audit_events
from inspector.core.secret_store import SecretStore
from inspector.ui.roles import PIN_KEY, hash_pin, verify_pin
from inspector.ui.status_bar import masked_db_url
from tests.ui_helpers import QA_PIN, close_window, make_window, run_folder, set_qa_pin, settle

pytestmark = pytest.mark.filterwarnings("error")


@pytest.fixture
def window(qtbot, tmp_path, tiny_model, monkeypatch):
    w = make_window(qtbot, tmp_path, tiny_model, monkeypatch)
    yield w
    close_window(w)


def _ok(dialog) -> None:
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()


def test_status_bar_shows_backend_model_recipe_db_and_role(qtbot, window, image_folder, tmp_path):
    sb = window.status
    assert "tiny-test" in sb.model_label.text()
    assert window.ctx.model.card.sha256[:8] in sb.model_label.text()
    assert sb.recipe_label.text() == "Recipe default v1"
    assert "station.db" in sb.db_label.text()
    assert sb.db_label.text().startswith("DB sqlite")
    assert sb.role_label.text() == "Operator"
    # The model is loaded on the worker thread at start-up: the backend shows before any run.
    qtbot.waitUntil(lambda: sb.backend_label.text().startswith("ONNX Runtime"), timeout=10000)
    assert "CPU" in sb.backend_label.text()
    run_folder(qtbot, window, image_folder)
    assert sb.backend_label.text().startswith("ONNX Runtime")


def test_db_password_is_masked():
    class FakeDb:
        url = make_url("postgresql+psycopg://inspector:s3cret@db.plant/line3")

    text = masked_db_url(FakeDb())
    assert "s3cret" not in text
    assert "***" in text
    assert "db.plant/line3" in text


def test_qa_login_with_right_pin_switches_role_and_is_audited(qtbot, window):
    set_qa_pin()
    roles: list[str] = []
    window.ctx.role_changed.connect(roles.append)
    window.qa_action.trigger()
    dlg = window.roles.login_dialog
    assert dlg is not None
    assert dlg.isVisible()
    assert not dlg.hint_label.isVisible()  # the "QA is locked: no PIN set" hint
    qtbot.keyClicks(dlg.name_edit, "Alice")
    qtbot.keyClicks(dlg.pin_edit, QA_PIN)
    _ok(dlg)
    assert roles == ["qa"]
    assert window.ctx.is_qa()
    assert window.ctx.user == "Alice"
    assert window.status.role_label.text() == "QA · Alice"
    assert window.pin_action.isEnabled()
    assert not window.qa_action.isEnabled()
    window.logout_action.trigger()
    assert window.ctx.role == "operator"
    assert window.status.role_label.text() == "Operator"
    window.audit_log.close()
    actions = [e.action for e in audit_events(window.ctx.db)]
    assert "qa.login" in actions
    assert "qa.logout" in actions


def test_wrong_pin_is_refused(qtbot, window):
    set_qa_pin()
    window.qa_action.trigger()
    dlg = window.roles.login_dialog
    qtbot.keyClicks(dlg.name_edit, "Mallory")
    qtbot.keyClicks(dlg.pin_edit, "123456")
    _ok(dlg)
    assert dlg.isVisible()
    assert dlg.error_label.text() == "Wrong PIN."
    assert window.ctx.role == "operator"
    assert dlg.pin_edit.text() == ""
    dlg.reject()
    window.audit_log.close()
    assert [e.action for e in audit_events(window.ctx.db)] == ["qa.login_failed"]


def test_repeated_wrong_pins_pause_the_login(qtbot, window):
    set_qa_pin()
    window.qa_action.trigger()
    dlg = window.roles.login_dialog
    qtbot.keyClicks(dlg.name_edit, "Mallory")
    ok = dlg.buttons.button(QDialogButtonBox.StandardButton.Ok)
    for _ in range(5):
        qtbot.keyClicks(dlg.pin_edit, "9999")
        _ok(dlg)
    assert not ok.isEnabled()
    assert "wait" in dlg.error_label.text()
    _ok(dlg)  # a disabled button does nothing
    assert dlg.failures == 5
    dlg.reject()


def test_change_pin_then_only_the_new_pin_works(qtbot, window, tmp_path):
    set_qa_pin()
    window.qa_action.trigger()
    qtbot.keyClicks(window.roles.login_dialog.name_edit, "Alice")
    qtbot.keyClicks(window.roles.login_dialog.pin_edit, QA_PIN)
    _ok(window.roles.login_dialog)
    window.pin_action.trigger()
    pin = window.roles.pin_dialog
    qtbot.keyClicks(pin.old_edit, QA_PIN)
    qtbot.keyClicks(pin.new_edit, "471100")
    qtbot.keyClicks(pin.again_edit, "471200")
    _ok(pin)
    assert pin.isVisible()
    assert "differ" in pin.error_label.text()
    pin.again_edit.clear()
    qtbot.keyClicks(pin.again_edit, "471100")
    _ok(pin)
    assert not pin.isVisible()
    window.logout_action.trigger()
    window.ctx.settings.sync()
    assert QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat).value(PIN_KEY) is None
    stored = SecretStore().pin_hash()
    assert "471100" not in stored
    assert stored.startswith("pbkdf2_sha256$")
    window.qa_action.trigger()
    dlg = window.roles.login_dialog
    assert not dlg.hint_label.isVisible()
    qtbot.keyClicks(dlg.name_edit, "Alice")
    qtbot.keyClicks(dlg.pin_edit, QA_PIN)
    _ok(dlg)
    assert window.ctx.role == "operator"
    qtbot.keyClicks(dlg.pin_edit, "471100")
    _ok(dlg)
    assert window.ctx.is_qa()


def test_pin_hash_is_salted():
    a, b = hash_pin("0000"), hash_pin("0000")
    assert a != b
    assert verify_pin("0000", a)
    assert verify_pin("0000", b)
    assert not verify_pin("0001", a)
    assert not verify_pin("0000", "garbage")


def test_shortcuts_start_stop_and_switch_tabs(qtbot, window, image_folder):
    window.live.set_source("demo")
    qtbot.keyClick(window, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: window.live.counters.total > 0, timeout=10000)
    qtbot.keyClick(window, Qt.Key.Key_F6)
    assert window.live.controller.state == "paused"
    qtbot.keyClick(window, Qt.Key.Key_F7)
    qtbot.waitUntil(lambda: window.live.controller.state == "idle", timeout=5000)
    window.live.set_source("folder", str(image_folder))
    before = window.live.counters.total
    qtbot.keyClick(window.live.recent, Qt.Key.Key_Space)  # single step, whichever widget has focus
    qtbot.waitUntil(lambda: window.live.counters.total == before + 1, timeout=10000)
    assert window.live.controller.state == "paused"
    qtbot.keyClick(window, Qt.Key.Key_F8)
    qtbot.waitUntil(lambda: window.live.counters.total == before + 2, timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_F7)
    qtbot.waitUntil(lambda: window.live.controller.state == "idle", timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentIndex() == 1
    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentIndex() == 2
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentIndex() == 0


def test_shortcuts_dialog_lists_keys_and_is_not_modal(qtbot, window):
    dlg = window.show_shortcuts()
    assert dlg.isVisible()
    assert not dlg.isModal()
    table = dlg.findChild(type(dlg.layout().itemAt(0).widget()))
    keys = {table.item(r, 0).text() for r in range(table.rowCount())}
    assert {"F5", "F6", "F7", "F8 or Space", "Ctrl+Q"} <= keys


def test_tabs_are_live_history_rules_and_trainer_when_installed(window):
    import importlib.util

    titles = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    trainer = ["Trainer"] if importlib.util.find_spec("inspector.ui.trainer_panel") else []
    assert titles == ["Live", "History", "Rules", *trainer]
    for i in range(1, window.tabs.count()):  # real panels, not "not available" notices
        assert window.tabs.widget(i).__class__.__name__.endswith("Panel")


def test_layout_and_choices_persist_in_the_settings_file(qtbot, tmp_path, tiny_model, monkeypatch,
                                                         image_folder):
    w = make_window(qtbot, tmp_path, tiny_model, monkeypatch)
    w.resize(777, 654)
    w.tabs.setCurrentIndex(1)
    w.dock.hide()
    w.live.set_source("folder", str(image_folder))
    w.live.image_view.set_mode("heatmap")
    close_window(w)
    assert (tmp_path / "settings.ini").is_file()

    w2 = make_window(qtbot, tmp_path, tiny_model, monkeypatch)
    try:
        assert (w2.width(), w2.height()) == (777, 654)
        assert w2.tabs.currentIndex() == 1
        assert not w2.dock.isVisible()
        assert w2.live.chooser.kind_combo.currentData() == "folder"
        assert w2.live.chooser.source_edit.text() == str(image_folder)
        assert str(w2.live.image_view.mode()) == "heatmap"
    finally:
        close_window(w2)


def test_window_opens_without_a_model_and_says_so(qtbot, tmp_path, monkeypatch):
    w = make_window(qtbot, tmp_path, tmp_path / "missing.onnx", monkeypatch)
    try:
        assert w.status.model_label.text() == "Model: NONE"
        errors = [t for lvl, t in w.messages.messages() if lvl == "error"]
        assert any("missing.onnx" in t for t in errors)
        assert w.live.start() is False
        assert "no model" in w.messages.messages()[0][1].lower()
        settle(qtbot, 50)
        assert w.live.controller.state == "idle"
    finally:
        close_window(w)
