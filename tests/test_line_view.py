"""The operator's line view and kiosk mode, on a real station window: F11 toggles it full screen, the
verdict tile shows each verdict in its colour with its reasons, sizes follow the screen, every
action is one key, sound cues per NG / ERROR, the kiosk needs a QA login to leave, and quitting
during a run asks first."""

from __future__ import annotations

import dataclasses
import wave
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog

from db import queries
from inspector.core.pipeline import error_result
from inspector.core.recipe import Recipe
from inspector.core.types import Verdict
from inspector.ui.line_control import EndLotDialog
from inspector.ui.line_sound import SOUND_KEY, TONES, LineSound, sound_file, write_default_sounds
from inspector.ui.line_view import LineView, lamps_for
from inspector.ui.style import IDLE_COLOR, VERDICT_COLORS
from tests.db_factories import make_result
from tests.test_ui_products import NAME, make_product
from tests.ui_helpers import close_window, make_window, settle

pytestmark = pytest.mark.filterwarnings("error")

# Measured with LineView.tile_fraction() at 1920x1080 and 1366x768 (docs/gui.md): 34.1 % and 32.8 %.
MIN_TILE_FRACTION = 0.30


@pytest.fixture
def window(qtbot, tmp_path, tiny_model, monkeypatch):
    w = make_window(qtbot, tmp_path, tiny_model, monkeypatch)
    yield w
    close_window(w)


def finish(qtbot, window) -> None:
    """End of a test that ran or left a kiosk: stop the run, QA on (pytest-qt closes the window
    before the fixtures' teardown, and a kiosk would ask for the login)."""
    if window.line_view.kiosk and not window.ctx.is_qa():
        window.ctx.set_role("qa", "test teardown")
    window.live.stop()
    qtbot.waitUntil(lambda: not window.live.controller.is_active(), timeout=30000)


def key(qtbot, window, k, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    """A key press as the operator makes it: to the focused widget of the active window."""
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    target = QApplication.focusWidget() or window
    qtbot.keyClick(target, k, modifier)


def login(window, name: str) -> None:
    """What a successful QA login does (the role, with the person's name), then the dialog closes:
    the kiosk follows the role, whichever login dialog asked for it."""
    dialog = window.roles.login_dialog
    assert dialog is not None
    assert dialog.isVisible()
    window.ctx.set_role("qa", name)
    dialog.close()


def with_product(qtbot, window, model: Path, folder: Path) -> None:
    make_product(window, model, folder)
    assert window.products.choose(NAME)
    qtbot.waitUntil(lambda: window.products.product is not None, timeout=10000)


def test_f11_toggles_the_full_screen_line_view_and_esc_leaves(qtbot, window):
    mode = window.line_view
    assert window.menuBar().isVisible()
    key(qtbot, window, Qt.Key.Key_F11)
    assert mode.active
    assert mode.stack.currentWidget() is mode.view
    assert window.isFullScreen()
    assert not window.menuBar().isVisible()
    assert not window.products.toolbar.isVisible()
    assert not window.statusBar().isVisible()
    assert not window.dock.isVisible()
    tab_key = next(a for a in window.actions() if "Ctrl+2" in [k.toString() for k in a.shortcuts()])
    assert not tab_key.isEnabled()  # tab switching is off on the page
    key(qtbot, window, Qt.Key.Key_F11)
    assert not mode.active
    assert mode.stack.currentWidget() is window.tabs
    assert not window.isFullScreen()
    assert window.menuBar().isVisible()
    assert window.statusBar().isVisible()
    assert tab_key.isEnabled()
    key(qtbot, window, Qt.Key.Key_F11)
    assert mode.active
    key(qtbot, window, Qt.Key.Key_Escape)
    assert not mode.active
    assert window.dock.isVisible()


def _results() -> dict[str, object]:
    ok = make_result("/d/ok.png", Verdict.OK)
    ng = make_result("/d/ng.png", Verdict.NG, n_regions=5)
    review = make_result("/d/review.png", Verdict.REVIEW)
    bad = make_result("/d/broken.png", Verdict.OK)
    frame = dataclasses.replace(bad.frame, image=None)  # could not be decoded
    error = error_result(
        frame, "/d/broken.png: truncated PNG", "read", model_sha256="a" * 64, recipe=Recipe(), backend="cpu"
    )
    return {"OK": ok, "NG": ng, "REVIEW": review, "ERROR": error}


def test_the_tile_shows_each_verdict_in_its_colour_with_its_reasons(qtbot, window):
    view = window.line_view.view
    window.line_view.enter()
    assert view.tile.title.text() == "READY"
    assert view.tile.color == IDLE_COLOR
    for verdict, result in _results().items():
        view.show_result(result)
        assert view.tile.title.text() == verdict
        assert view.tile.color == VERDICT_COLORS[verdict]
        assert view.light.lit == lamps_for(verdict)
        assert "/d/" not in view.tile.reasons.text()  # the file is named once, in the meta line
        assert Path(result.frame.key).name in view.tile.meta.text()
    assert lamps_for("OK") == {"green"}
    assert lamps_for("NG") == {"red"}
    assert lamps_for("REVIEW") == {"amber"}
    assert lamps_for("ERROR") == {"red", "amber"}
    # the last one: ERROR, not inspected, with its cause and what the line does with it
    assert view.tile.sub.text() == "not inspected · treated as NG"
    assert view.tile.reasons.text() == "Truncated PNG"
    assert view.image.message() == "image could not be read"
    view.show_result(_results()["NG"])
    lines = view.tile.reasons.text().split("\n")
    assert len(lines) == 3  # the top three reasons, the rest counted
    assert "more" in lines[-1] or len(_results()["NG"].decision.reasons) <= 3
    assert view.image.has_image()


@pytest.mark.parametrize(("size", "min_pt"), [((1920, 1080), 28.0), ((1366, 768), 18.0)])
def test_sizes_follow_the_screen(qtbot, window, size, min_pt):
    view = LineView(window.ctx, window.live, window.products)
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    view.show_result(_results()["NG"])
    settle(qtbot, 50)
    assert view.tile_fraction() >= MIN_TILE_FRACTION
    assert view.reasons_pt() >= min_pt
    assert view.tile.title_px >= 0.25 * view.tile.height()  # "NG" fills the tile, readable from afar
    assert view.image.height() == view.tile.height()  # the image takes all the height there is
    assert view.image.width() > view.tile.width()
    small = LineView(window.ctx, window.live, window.products)
    qtbot.addWidget(small)
    small.resize(size[0] // 2, size[1] // 2)
    small.show()
    small.show_result(_results()["NG"])
    settle(qtbot, 50)
    assert small.tile.title_px < view.tile.title_px
    assert small.reasons_pt() < view.reasons_pt()
    assert small.tile_fraction() >= 0.25  # a half-size window: the smallest type sizes take a bit more


def test_every_action_is_one_key(qtbot, window, tiny_model, image_folder, monkeypatch):
    with_product(qtbot, window, tiny_model, image_folder)
    mode, live, pc = window.line_view, window.live, window.products
    key(qtbot, window, Qt.Key.Key_F11)
    assert mode.active
    # L: start a lot, the id typed like a scanner and Enter
    key(qtbot, window, Qt.Key.Key_L)
    dialog = mode.lot_dialog
    assert dialog is not None
    assert dialog.isVisible()
    qtbot.keyClicks(dialog.edit, "LOT-K1")
    qtbot.keyClick(dialog.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: pc.lot is not None, timeout=5000)
    assert pc.lot.code == "LOT-K1"
    qtbot.waitUntil(lambda: "LOT-K1" in mode.view.product_label.text(), timeout=2000)
    # Space: start, pause, resume (the folder's six parts)
    window.ctx.settings.setValue("live/demo_fps", 0)
    key(qtbot, window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: live.controller.state != "idle" or live.last_summary is not None, timeout=5000)
    qtbot.waitUntil(lambda: live.last_summary is not None, timeout=20000)
    assert live.counters.total == 6
    qtbot.waitUntil(lambda: mode.view.counts["total"].value.text() == "6", timeout=2000)
    assert mode.view.counts["lot"].value.text() == "LOT-K1"
    assert mode.view.counts["NG"].value.text() == "3"
    assert mode.view.counts["yield"].value.text() == "50.0 %"
    assert mode.view.tile.title.text() in ("OK", "NG")
    # Space pauses and resumes a running run (a paused start keeps it running long enough)
    window.live.set_source("demo")
    key(qtbot, window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: live.controller.state == "running", timeout=5000)
    key(qtbot, window, Qt.Key.Key_Space)
    assert live.controller.state == "paused"
    assert "PAUSED" in mode.view.state_label.text()
    key(qtbot, window, Qt.Key.Key_Space)
    assert live.controller.state == "running"
    key(qtbot, window, Qt.Key.Key_F7)  # the window's keys work on the page
    qtbot.waitUntil(lambda: live.controller.state == "idle", timeout=10000)
    # M: sound on / off (a setting)
    assert not mode.view.sound.enabled
    key(qtbot, window, Qt.Key.Key_M)
    assert window.ctx.settings.value(SOUND_KEY) == "true"
    assert "sound on" in mode.view.station_label.text()
    key(qtbot, window, Qt.Key.Key_M)
    assert not mode.view.sound.enabled
    # R: the lot report; P: the product picker
    key(qtbot, window, Qt.Key.Key_R)
    report = window.products.toolbar.report_dialog
    assert report is not None
    assert report.isVisible()
    report.close()
    key(qtbot, window, Qt.Key.Key_P)
    picker = next(w for w in QApplication.topLevelWidgets() if w.windowTitle() == "Choose product")
    assert picker.isVisible()
    picker.close()  # deleted on close: a later login must not reach it
    settle(qtbot, 50)
    window.ctx.set_role("qa", "Quinn QA")
    window.ctx.set_role("operator")
    # L again: end the lot (it asks; the answer here is End lot)
    asked: list[bool] = []

    def accept(_dialog: EndLotDialog) -> int:
        asked.append(True)
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(EndLotDialog, "exec", accept)
    key(qtbot, window, Qt.Key.Key_L)
    assert asked == [True]
    qtbot.waitUntil(lambda: pc.lot is None, timeout=5000)
    assert mode.view.counts["lot"].value.text() == "no lot"
    finish(qtbot, window)


def test_sound_per_ng_and_error_part_when_switched_on(qtbot, window):
    view = window.line_view.view
    window.line_view.enter()
    sound = view.sound
    results = _results()
    view._on_result(results["NG"])
    view.refresh()
    assert sound.played == []  # off by default
    sound.set_enabled(True)
    for verdict in ("OK", "REVIEW", "NG"):
        view._on_result(results[verdict])
        view.refresh()
    view._on_result(results["NG"])
    view._on_result(results["ERROR"])  # ERROR wins over NG within one refresh
    view._on_result(results["OK"])
    view.refresh()
    assert [v for v, _how in sound.played] == ["NG", "ERROR"]
    assert window.line_view.active


def test_sound_plays_the_shipped_wav_or_beeps(tmp_path):
    from PySide6.QtCore import QSettings

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    played: list[str] = []

    class FakeEffect:  # QSoundEffect's interface, without audio hardware
        def setSource(self, url) -> None:
            self.source = url.toLocalFile()

        def setVolume(self, _v: float) -> None:
            pass

        def play(self) -> None:
            played.append(self.source)

    write_default_sounds(tmp_path / "sounds")
    sound = LineSound(settings, tmp_path / "sounds", effect_class=FakeEffect)
    assert sound.wait_ready()  # the files are checked off the UI thread, once
    assert sound.cue("NG") is None  # off
    sound.set_enabled(True)
    assert sound.cue("NG") == "wav"
    assert sound.cue("ERROR") == "wav"
    assert sound.cue("OK") is None
    folder = tmp_path / "sounds"
    assert played == [str(sound_file("NG", folder)), str(sound_file("ERROR", folder))]
    missing = LineSound(settings, tmp_path / "nowhere", effect_class=FakeEffect)
    assert missing.wait_ready()
    assert missing.cue("NG") == "beep"
    no_multimedia = LineSound(settings, tmp_path / "sounds", effect_class=None)
    assert no_multimedia.cue("ERROR") in ("beep", "wav")  # "wav" only where QtMultimedia is installed


def test_the_shipped_sounds_are_the_generated_short_wavs(tmp_path):
    shipped = Path(__file__).resolve().parents[1] / "resources" / "sounds"
    write_default_sounds(tmp_path)
    for verdict in TONES:
        path = sound_file(verdict, shipped)
        assert path.read_bytes() == sound_file(verdict, tmp_path).read_bytes()
        with wave.open(str(path)) as w:
            assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
            assert 0.2 < w.getnframes() / w.getframerate() < 1.0


def test_kiosk_needs_a_qa_login_to_leave(qtbot, window, tiny_model, image_folder):
    from tests.ui_helpers import set_qa_pin

    set_qa_pin()
    make_product(window, tiny_model, image_folder)
    mode, ctx = window.line_view, window.ctx
    mode.start_kiosk(NAME, autostart=False)
    qtbot.waitUntil(lambda: window.products.product is not None, timeout=10000)
    assert mode.active
    assert mode.kiosk
    assert window.isFullScreen()
    assert "KIOSK" in mode.view.state_label.text()
    for k in (Qt.Key.Key_Escape, Qt.Key.Key_F11):
        key(qtbot, window, k)
        assert mode.active  # still there: a login is asked for
        dialog = window.roles.login_dialog
        assert dialog is not None
        assert dialog.isVisible()
        dialog.reject()  # cancelled: the kiosk stays
        settle(qtbot, 20)
        assert mode.active
        assert mode.kiosk
    key(qtbot, window, Qt.Key.Key_P)  # the kiosk's product is fixed
    shown = [w.windowTitle() for w in QApplication.topLevelWidgets() if w.isVisible()]
    assert "Choose product" not in shown
    window.close()  # closing the window asks for the login too
    assert window.isVisible()
    assert window.roles.login_dialog.isVisible()
    window.roles.login_dialog.reject()
    settle(qtbot, 20)
    assert window.isVisible()
    # with the login (here the role set as a successful login sets it) the kiosk is left
    key(qtbot, window, Qt.Key.Key_Escape)
    login(window, "Quinn QA")
    qtbot.waitUntil(lambda: not mode.active, timeout=2000)
    assert not mode.kiosk
    assert not window.isFullScreen()
    assert window.menuBar().isVisible()
    window.audit_log.close()
    events = [e for e in queries.audit_events(ctx.db, limit=100) if e.action.startswith("kiosk.")]
    assert {e.action: e.actor for e in events} == {"kiosk.start": "operator", "kiosk.leave": "Quinn QA"}
    finish(qtbot, window)


def test_kiosk_quit_with_qa_login_asks_while_a_run_is_active(qtbot, window, tiny_model, image_folder):
    make_product(window, tiny_model, image_folder)
    mode, live = window.line_view, window.live
    mode.start_kiosk(NAME, autostart=True)  # the product's run starts once the product is loaded
    qtbot.waitUntil(lambda: live.controller.is_active() or live.last_summary is not None, timeout=20000)
    qtbot.waitUntil(lambda: live.last_summary is not None, timeout=30000)
    assert live.counters.total == 6
    live.start(paused=True)  # a paused run is an active run too
    qtbot.waitUntil(lambda: live.controller.state == "paused", timeout=5000)
    key(qtbot, window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert window.isVisible()
    assert window.quit_dialog is None  # first the QA login
    login(window, "Quinn QA")
    qtbot.waitUntil(lambda: window.quit_dialog is not None and window.quit_dialog.isVisible(), timeout=2000)
    assert window.isVisible()  # and then, as ever, "quit during a run?"
    assert live.controller.state == "paused"
    window.quit_dialog.reject()
    finish(qtbot, window)


def test_quit_during_a_run_asks_first(qtbot, window):
    window.ctx.settings.setValue("live/demo_fps", 20)
    live = window.live
    live.set_source("demo")
    window.line_view.enter()
    key(qtbot, window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: live.controller.state == "running", timeout=5000)
    key(qtbot, window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    box = window.quit_dialog
    assert box is not None
    assert box.isVisible()
    assert box.defaultButton() is box.button(box.StandardButton.Cancel)
    box.button(box.StandardButton.Cancel).click()
    settle(qtbot, 50)
    assert window.isVisible()
    assert live.controller.state == "running"  # Cancel keeps the line running
    key(qtbot, window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    window.quit_dialog.button(window.quit_dialog.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=30000)
    assert not live.controller.thread.isRunning()


def test_kiosk_refuses_an_unknown_product_before_anything_starts(tmp_path, tiny_model, monkeypatch, capsys):
    from db.session import open_db
    from inspector.cli.main import main
    from inspector.core.model_card import load_card
    from inspector.services import lots, products
    from inspector.services.promotion import ensure_production_model
    from inspector.ui.kiosk import KioskError, resolve_kiosk_product

    monkeypatch.setenv("INSPECTOR_DATA_DIR", str(tmp_path / "data"))
    url = f"sqlite:///{tmp_path / 'k.db'}"
    started: list[object] = []
    monkeypatch.setattr("inspector.ui.app.create_window", lambda *a, **k: started.append(a))
    assert main(["gui", "--kiosk", "Nope", "--db", url, "--station", "st"]) == 2
    assert "unknown product 'Nope'" in capsys.readouterr().err
    assert main(["--kiosk", "Nope"]) == 2  # the top-level flag, on the default database
    assert "unknown product" in capsys.readouterr().err
    assert started == []  # no window, no run
    db = open_db(url)
    try:
        card = load_card(tiny_model)
        ensure_production_model(db, card, tiny_model, "qa")
        queries.save_recipe_version(db, Recipe(name="housing", version=2), "qa", "")
        spec = products.ProductSpec(
            name="Housing A", model_sha256=card.sha256, recipe_name="housing", recipe_version=2
        )
        stored = products.create_product(db, spec, "qa")
        other = products.create_product(db, spec.model_copy(update={"name": "Bracket B"}), "qa")
        assert resolve_kiosk_product(db, "Housing A", "st") == "Housing A"
        assert resolve_kiosk_product(db, str(stored.id), "st") == "Housing A"  # by id
        lots.start_lot(db, "st", "LOT-1", "anna", other.id)
        with pytest.raises(KioskError, match="lot LOT-1 is open"):
            resolve_kiosk_product(db, "Housing A", "st")
        assert resolve_kiosk_product(db, "Bracket B", "st") == "Bracket B"
    finally:
        db.dispose()


def test_the_self_test_signal_from_the_worker_thread_updates_the_header_on_the_gui_thread(qtbot, window):
    """The inference worker emits ``selftest_done`` on its own thread; the line view's header
    (widgets) must be updated on the GUI thread, never on the emitting one."""
    import threading

    from inspector.core.selftest import SelfTestReport

    view = window.line_view.view
    seen: list[threading.Thread] = []
    view.update_header = lambda: seen.append(threading.current_thread())  # type: ignore[method-assign]
    report = SelfTestReport(True, "", (), 0.0, "m", "0" * 64, "default", 1, "onnxruntime")
    emitter = threading.Thread(target=lambda: window.live.controller.worker.selftest_done.emit(report))
    emitter.start()
    emitter.join(10)
    qtbot.waitUntil(lambda: bool(seen), timeout=5000)
    assert seen == [threading.main_thread()]
