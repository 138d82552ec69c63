"""Live tab, driven through its real widgets: runs, counters, banner, errors, pause/stop, recent strip."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer

from db.queries import audit_events, count_history
from inspector.core.overlay import render
from inspector.core.sources.base import SourceStats
from inspector.core.types import Frame
from inspector.ui import source_chooser
from tests.tiny_model import synthetic_image
from tests.ui_helpers import close_window, make_window, run_folder, settle, write_broken

pytestmark = pytest.mark.filterwarnings("error")


@pytest.fixture
def window(qtbot, tmp_path, tiny_model, monkeypatch):
    w = make_window(qtbot, tmp_path, tiny_model, monkeypatch)
    yield w
    close_window(w)


def test_folder_run_updates_counters_banner_and_db(qtbot, window, image_folder):
    logged: list[int] = []
    window.ctx.inspection_logged.connect(logged.append)
    run_folder(qtbot, window, image_folder)
    live = window.live
    assert live.counters.counts == {"OK": 3, "NG": 3, "REVIEW": 0, "ERROR": 0}
    settle(qtbot, 120)  # the display timer draws the last result
    assert live.tiles.tiles["total"].value.text() == "6"
    assert live.tiles.tiles["NG"].value.text() == "3"
    assert live.tiles.tiles["yield"].value.text() == "50.0 %"
    # img_005 is the last file and has a defect
    assert live.banner.verdict_label.text() == "NG"
    assert "region" in live.banner.reasons_label.text()
    assert live.image_view.has_image()
    assert live.recent.count() == 6
    qtbot.waitUntil(lambda: len(logged) == 6, timeout=5000)
    assert count_history(window.ctx.db) == 6
    assert not live.last_summary.cancelled
    assert live.start_button.isEnabled()
    assert not live.stop_button.isEnabled()


def test_clean_image_shows_ok_banner(qtbot, window, tmp_path):
    import cv2

    folder = tmp_path / "clean"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), synthetic_image(64, defect=False, seed=3)[0])
    run_folder(qtbot, window, folder)
    settle(qtbot, 120)
    assert window.live.banner.verdict_label.text() == "OK"
    reasons = window.live.banner.reasons_label.text()
    assert "no defect" in reasons
    assert ">" not in reasons


def test_unreadable_files_become_messages_and_the_run_goes_on(qtbot, window, tmp_path):
    folder = tmp_path / "mixed"
    write_broken(folder, n=2)
    run_folder(qtbot, window, folder)
    errors = [t for lvl, t in window.messages.messages() if lvl == "error"]
    assert sum("broken_" in t for t in errors) == 2
    assert window.live.counters.total == 3  # the unreadable files count too, as ERROR
    assert window.live.counters.counts["ERROR"] == 2
    assert window.status.problems_label.isVisible()


class ExplodingSource:
    """Yields one good frame, then fails like a camera driver would."""

    name = "exploding test source"
    live = False

    def frames(self, stop) -> Iterator[Frame]:
        img, _ = synthetic_image(64, defect=True, seed=1)
        from datetime import UTC, datetime

        yield Frame(key="boom#0", image=img, source=self.name, captured_at=datetime.now(UTC))
        time.sleep(0.4)  # a driver hanging a while before it fails: the UI must keep ticking
        raise RuntimeError("camera driver exploded")

    def stats(self) -> SourceStats:
        return SourceStats()

    def close(self) -> None:
        pass


def test_source_that_raises_leaves_window_responsive(qtbot, window, image_folder, monkeypatch):
    monkeypatch.setattr(source_chooser.SourceChoice, "factory", lambda self, db, station: ExplodingSource)
    beats: list[float] = []
    heart = QTimer()
    heart.timeout.connect(lambda: beats.append(time.monotonic()))
    heart.start(10)
    live = window.live
    live.set_source("demo")
    qtbot.mouseClick(live.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: live.last_summary is not None, timeout=10000)
    heart.stop()
    assert any("camera driver exploded" in t for _, t in window.messages.messages())
    assert live.counters.total == 1  # the frame before the failure still counts
    assert live.controller.state == "idle"
    assert live.start_button.isEnabled()
    assert len(beats) > 3
    assert max(np.diff(beats)) < 0.5
    monkeypatch.undo()  # the window still works: a normal run afterwards
    run_folder(qtbot, window, image_folder)
    assert live.counters.total == 7


def test_bad_folder_path_is_a_message_not_a_dialog(qtbot, window, tmp_path):
    live = window.live
    live.set_source("folder", str(tmp_path / "does-not-exist"))
    qtbot.mouseClick(live.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: live.last_summary is not None, timeout=10000)
    assert any("does-not-exist" in t for lvl, t in window.messages.messages() if lvl == "error")
    live.set_source("folder", "")
    assert live.start() is False
    assert "enter a path" in window.messages.messages()[0][1]


def test_pause_step_resume_and_stop(qtbot, window):
    live = window.live
    live.set_source("demo")
    qtbot.mouseClick(live.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: live.counters.total >= 3, timeout=10000)

    qtbot.mouseClick(live.pause_button, Qt.MouseButton.LeftButton)
    assert live.controller.state == "paused"
    assert live.pause_button.text() == "Resume"
    settle(qtbot, 200)  # the frame in flight may still land
    n = live.counters.total
    settle(qtbot, 300)
    assert live.counters.total == n

    qtbot.mouseClick(live.step_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: live.counters.total == n + 1, timeout=5000)
    settle(qtbot, 300)
    assert live.counters.total == n + 1

    qtbot.mouseClick(live.pause_button, Qt.MouseButton.LeftButton)  # resume
    qtbot.waitUntil(lambda: live.counters.total > n + 5, timeout=5000)

    t0 = time.monotonic()
    qtbot.mouseClick(live.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: live.last_summary is not None, timeout=5000)
    assert time.monotonic() - t0 < 2.0
    assert live.last_summary.cancelled
    assert live.controller.state == "idle"


def test_stop_while_paused_is_prompt(qtbot, window):
    live = window.live
    live.set_source("demo")
    live.start()
    qtbot.waitUntil(lambda: live.counters.total >= 1, timeout=10000)
    live.pause()
    settle(qtbot, 100)
    t0 = time.monotonic()
    live.stop()
    qtbot.waitUntil(lambda: live.last_summary is not None, timeout=3000)
    assert time.monotonic() - t0 < 1.0


def test_single_step_from_idle_inspects_one_image(qtbot, window, image_folder):
    live = window.live
    live.set_source("folder", str(image_folder))
    qtbot.mouseClick(live.step_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: live.counters.total == 1, timeout=10000)
    settle(qtbot, 300)
    assert live.counters.total == 1
    assert live.controller.state == "paused"
    live.step()
    qtbot.waitUntil(lambda: live.counters.total == 2, timeout=5000)
    live.stop()
    qtbot.waitUntil(lambda: live.controller.state == "idle", timeout=3000)


def test_recent_strip_click_shows_that_result(qtbot, window, image_folder):
    run_folder(qtbot, window, image_folder)
    settle(qtbot, 120)
    live = window.live
    strip = live.recent
    # newest first: row 0 is img_005 (NG), row 1 is img_004 (clean, OK)
    picked = strip.result_at(1)
    assert picked.frame.path.name == "img_004.png"
    rect = strip.visualItemRect(strip.item(1))
    qtbot.mouseClick(strip.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert live.banner.verdict_label.text() == "OK"
    assert live.review_bar.isVisible()
    expected = render(picked.frame.image, picked.prob_map, picked.decision, live.image_view.mode(),
                      picked.threshold)[:, :, ::-1]
    np.testing.assert_array_equal(live.image_view.rendered(), expected)
    # keyboard: Right moves to the next older verdict (img_003, NG)
    qtbot.keyClick(strip, Qt.Key.Key_Right)
    assert live.banner.verdict_label.text() == "NG"
    assert "img_003" in live.review_label.text()
    qtbot.mouseClick(live.live_button, Qt.MouseButton.LeftButton)
    assert not live.review_bar.isVisible()
    assert live.banner.verdict_label.text() == "NG"  # back on the newest result, img_005


def test_overlay_mode_combo_changes_the_view(qtbot, window, image_folder):
    run_folder(qtbot, window, image_folder)
    settle(qtbot, 120)
    view = window.live.image_view
    seen: list[object] = []
    view.mode_changed.connect(seen.append)
    raw_index = view.mode_combo.findText("Raw image")
    view.mode_combo.setCurrentIndex(raw_index)
    raw = view.rendered().copy()
    view.mode_combo.setCurrentIndex(view.mode_combo.findText("Heatmap"))
    assert [str(m) for m in seen] == ["raw", "heatmap"]
    assert not np.array_equal(raw, view.rendered())


def test_reset_counters_zeroes_tiles_and_is_audited(qtbot, window, image_folder):
    run_folder(qtbot, window, image_folder)
    live = window.live
    qtbot.mouseClick(live.reset_button, Qt.MouseButton.LeftButton)
    assert live.counters.total == 0
    assert live.tiles.tiles["total"].value.text() == "0"
    window.audit_log.close()  # waits for the background write
    events = audit_events(window.ctx.db, action="counters.reset")
    assert events
    assert events[0].details["counts"]["NG"] == 3


def test_a_promoted_model_is_loaded_and_used_from_the_next_start(qtbot, window, image_folder, tmp_path):
    from inspector.core.model_card import load_card
    from inspector.ui.context import ModelState
    from tests.tiny_model import build_tiny_model

    path = build_tiny_model(tmp_path / "other" / "model.onnx", gain=30.0, card={"name": "tiny-b"})
    card = load_card(path)
    window.ctx.set_model(ModelState(path=path, card=card))  # what the release panel does on promote
    assert window.status.model_label.text().startswith("Model tiny-b")
    seen: list[str] = []
    window.live.controller.worker.result.connect(lambda r: seen.append(r.model_sha256))
    run_folder(qtbot, window, image_folder)
    assert seen
    assert set(seen) == {card.sha256}


def test_closing_while_running_is_prompt_and_commits_what_was_inspected(qtbot, tmp_path, tiny_model,
                                                                        monkeypatch):
    w = make_window(qtbot, tmp_path, tiny_model, monkeypatch)
    w.ctx.settings.setValue("live/demo_fps", 0)
    w.live.set_source("demo")
    w.live.start()
    qtbot.waitUntil(lambda: w.live.counters.total >= 5, timeout=10000)
    w.close()  # a run is active: the window asks first (issue 13), and keeps running meanwhile
    assert w.isVisible()
    box = w.quit_dialog
    assert box is not None
    t0 = time.monotonic()
    box.button(box.StandardButton.Yes).click()  # "Stop and quit"
    assert time.monotonic() - t0 < 3.0
    assert not w.live.controller.thread.isRunning()
    # the writer is closed only after the run ended: every inspected image is in the DB
    assert count_history(w.ctx.db) >= w.live.counters.total >= 5
    close_window(w)
