"""Issue 13's GUI rough edges, the ones no other test pinned, each through the real widgets.

The rest are pinned elsewhere: zones drawn, edited and outlined, the version list with its
diff, the restore confirmation, what-if as you type and Ctrl+Q during a run in
tests/test_ui_zones.py and tests/test_ui_rules.py; the TensorRT hint at the backend in
tests/test_backend_select.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QAbstractSpinBox, QDialog, QTableWidget

from db.session import Database
from inspector.core.model_card import load_card
from inspector.core.types import Verdict
from inspector.services import reviews
from inspector.ui.app import StartOptions, create_window
from inspector.ui.context import AppContext, ModelState
from tests.fakes.support import block_modules
from tests.review_helpers import RECIPE
from tests.test_ui_history import logged, panel, wait_detail  # noqa: F401 (fixtures)
from tests.tiny_model import build_tiny_model
from tests.ui_helpers import close_window, make_window, settle
from trainer.data.synth import write_synthetic

pytestmark = pytest.mark.filterwarnings("error")


@pytest.fixture
def window(qtbot, tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch):
    w = make_window(qtbot, tmp_path, tiny_model, monkeypatch)
    yield w
    if w.live.controller.is_active():
        w.live.stop()
        qtbot.waitUntil(lambda: w.live.controller.state == "idle", timeout=5000)
    close_window(w)


def _stop(qtbot, w) -> None:
    w.live.stop()
    qtbot.waitUntil(lambda: w.live.controller.state == "idle", timeout=5000)


# -- (a) the Trainer tab at the default window size -----------------------------------------------
def test_trainer_spin_boxes_keep_their_height_at_1440x900(qtbot, window) -> None:
    trainer = window.panels.get("Trainer")
    if trainer is None:
        pytest.skip("the Trainer tab is not installed")
    window.resize(1440, 900)
    window.dock.show()  # the message area takes its share of the height, as at an operator's start
    qtbot.keyClick(window, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentWidget() is trainer
    settle(qtbot, 100)
    assert (window.width(), window.height()) == (1440, 900)
    boxes = [b for b in trainer.findChildren(QAbstractSpinBox) if b.isVisibleTo(trainer)]
    assert len(boxes) >= 5  # the training settings and the release steps
    squashed = [(b.toolTip()[:40], b.height()) for b in boxes if b.height() < b.minimumSizeHint().height()]
    assert squashed == []  # the form scrolls instead (the issue saw ~8 px)


# -- (b) Start and Pause while paused --------------------------------------------------------------
def test_paused_run_has_one_resume_button_and_f5_still_resumes(qtbot, window) -> None:
    live = window.live
    window.ctx.settings.setValue("live/demo_fps", 20)
    live.set_source("demo")
    qtbot.mouseClick(live.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: live.counters.total >= 1, timeout=10_000)
    assert (live.start_button.text(), live.pause_button.text()) == ("Start", "Pause")
    assert not live.start_button.isEnabled()

    qtbot.mouseClick(live.pause_button, Qt.MouseButton.LeftButton)
    assert live.controller.state == "paused"
    assert live.pause_button.text() == "Resume"
    assert live.pause_button.isEnabled()
    assert live.start_button.text() == "Start"  # not a second "Resume"
    assert not live.start_button.isEnabled()

    qtbot.keyClick(window, Qt.Key.Key_F5)  # F5 is start / resume
    assert live.controller.state == "running"
    assert live.pause_button.text() == "Pause"
    _stop(qtbot, window)
    assert live.start_button.isEnabled()
    assert live.start_button.text() == "Start"


# -- (c) the Trainer tab after a cancelled training ------------------------------------------------
FAKE_TRAINER = Path(__file__).parent / "fakes" / "fake_trainer.py"


@pytest.fixture
def trainer(qtbot, db: Database, tmp_path: Path):
    pytest.importorskip("inspector.ui.trainer_panel")
    from inspector.ui.trainer_panel import TrainerPanel

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("trainer/runs_dir", str(tmp_path / "runs"))
    settings.setValue("trainer/models_dir", str(tmp_path / "models"))
    model = build_tiny_model(tmp_path / "prod" / "model.onnx", level=10.0, card={"name": "blind"})
    ctx = AppContext(db, "test", settings, RECIPE, ModelState(model, load_card(model)))
    ctx.set_role("engineer", "erin")
    data = tmp_path / "synth"
    write_synthetic(data, 8, seed=3, size=32, p_defective=0.5)
    tab = TrainerPanel(ctx)
    qtbot.addWidget(tab)
    tab.data_edit.setText(str(data))
    tab.params["--epochs"].setValue(2)
    tab.params["--steps-per-epoch"].setValue(3)
    yield tab
    tab.proc.cancel()


def test_a_cancelled_training_leaves_no_progress_eta_or_log_behind(qtbot, trainer) -> None:
    from inspector.ui.trainer_panel import format_eta

    trainer.trainer_cmd = [sys.executable, str(FAKE_TRAINER), "--mode", "hang"]
    assert trainer.start_training()
    qtbot.waitUntil(lambda: trainer.progress.value() >= 2, timeout=20_000)
    assert trainer.eta_label.text() != format_eta(None)
    trainer.cancel_button.click()
    qtbot.waitUntil(lambda: trainer.status == "idle", timeout=20_000)
    assert "signal 15" in trainer.log_view.toPlainText()
    assert trainer.progress.value() in (trainer.progress.minimum(), -1)  # no 91 % left standing
    assert trainer.eta_label.text() == format_eta(None)  # no ETA of a run that is over

    trainer.trainer_cmd = [sys.executable, str(FAKE_TRAINER), "--mode", "ok"]
    assert trainer.start_training()
    qtbot.waitUntil(
        lambda: trainer.status == "idle" and "run completed" in trainer.log_view.toPlainText(), timeout=20_000
    )
    log = trainer.log_view.toPlainText()
    assert "Some library says hello" in log  # the new run's log
    assert "signal 15" not in log  # and only that


# -- (d) what the window starts with ----------------------------------------------------------------
def _station(qtbot, tmp_path: Path, model: Path, monkeypatch: pytest.MonkeyPatch, source: str | None = None):
    """The window as `inspector` opens it: autostart on (make_window turns it off)."""
    monkeypatch.setenv("INSPECTOR_SETTINGS", str(tmp_path / "settings.ini"))
    monkeypatch.setenv("INSPECTOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("INSPECTOR_RESOURCES", str(tmp_path / "resources"))
    w = create_window(StartOptions(db_url=f"sqlite:///{tmp_path / 'station.db'}", model=model,
                                   source=source, station="test-station", archive_dir=tmp_path / "archive"))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_a_restored_folder_source_is_chosen_but_not_started(
    qtbot, tmp_path: Path, tiny_model: Path, image_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = make_window(qtbot, tmp_path, tiny_model, monkeypatch)
    first.live.set_source("folder", str(image_folder))
    close_window(first)  # the choice is saved with the window

    w = _station(qtbot, tmp_path, tiny_model, monkeypatch)
    try:
        settle(qtbot, 400)
        assert w.live.chooser.kind() == "folder"  # the last session's source, chosen again
        assert w.live.chooser.source_edit.text() == str(image_folder)
        assert w.live.controller.state == "idle"  # ... and not started unasked
        assert w.live.counters.total == 0
        infos = [t for lvl, t in w.messages.messages() if lvl == "info"]
        assert any(str(image_folder) in t and "press Start (F5)" in t for t in infos)
    finally:
        close_window(w)


def test_the_demo_source_and_a_source_on_the_command_line_start_at_once(
    qtbot, tmp_path: Path, tiny_model: Path, image_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = _station(qtbot, tmp_path / "first", tiny_model, monkeypatch)  # first start: the demo source
    try:
        assert w.live.chooser.kind() == "demo"
        qtbot.waitUntil(lambda: w.live.counters.total >= 1, timeout=10_000)
        _stop(qtbot, w)
    finally:
        close_window(w)

    w = _station(qtbot, tmp_path / "cli", tiny_model, monkeypatch, source=str(image_folder))
    try:
        qtbot.waitUntil(lambda: w.live.last_summary is not None, timeout=15_000)
        assert w.live.counters.total == 6  # --source: asked for, so inspected
    finally:
        close_window(w)


# -- (e) no TensorRT hint on a machine without TensorRT --------------------------------------------
def test_a_run_without_tensorrt_says_nothing_about_engines(
    qtbot, window, image_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.ui_helpers import run_folder

    block_modules(monkeypatch, "tensorrt")
    assert str(window.ctx.settings.value("backend/kind", "auto")) == "auto"
    run_folder(qtbot, window, image_folder)
    run_folder(qtbot, window, image_folder)  # every start, not only the first
    said = [t for _lvl, t in window.messages.messages()]
    assert not [t for t in said if "TensorRT" in t or "rebuild" in t.lower()]


# -- (i) a review's note and drawn mask in History -------------------------------------------------
def test_history_shows_a_reviews_note_and_its_drawn_mask(
    qtbot, panel, db: Database, logged: list[int]  # noqa: F811 (tests.test_ui_history's fixtures)
) -> None:
    target = logged[3]  # NG, 32x32 map with the blob at x 12..17, y 10..15
    mask = np.zeros((32, 32), np.uint8)
    mask[10:16, 12:18] = 255
    ok, png = cv2.imencode(".png", mask)
    assert ok
    reviews.add_review(db, target, "confirm_ng", by="quinn", note="scratch near the edge",
                       mask_png=png.tobytes())
    reviews.add_review(db, logged[1], "confirm_ng", by="quinn")  # no note, no mask

    newest_first = logged[::-1]
    panel.select_row(newest_first.index(target))
    panel.load_detail_now()
    wait_detail(qtbot, panel, target)
    detail = panel.detail
    text = detail.reviews.text()
    assert "by quinn" in text
    assert "note: scratch near the edge" in text
    assert "defect mask drawn" in text
    assert detail.review_mask_shown()
    drawn = np.asarray(detail.review_mask.image)
    assert drawn.shape[:2] == (32, 32)
    assert drawn[12, 14, 3] > 0  # over the blob
    assert drawn[0, 0, 3] == 0  # nowhere else
    assert detail.mask_check.isVisible()
    qtbot.mouseClick(detail.mask_check, Qt.MouseButton.LeftButton)  # the person can hide it
    assert not detail.review_mask_shown()
    qtbot.mouseClick(detail.mask_check, Qt.MouseButton.LeftButton)
    assert detail.review_mask_shown()

    other = logged[1]  # reviewed without note or mask: nothing left over from the last part
    panel.select_row(newest_first.index(other))
    panel.load_detail_now()
    wait_detail(qtbot, panel, other)
    assert "note:" not in detail.reviews.text()
    assert not detail.review_mask_shown()
    assert not detail.mask_check.isVisible()
    assert panel.detail.view is not None
    assert panel.detail.view.decision.verdict is Verdict.NG


# -- (j) F1 lists the review keys -------------------------------------------------------------------
def test_f1_lists_the_review_keys(qtbot, window) -> None:
    from inspector.ui.review import DISPOSITIONS

    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    qtbot.keyClick(window, Qt.Key.Key_F1)
    dlg = window.shortcuts_dialog
    assert isinstance(dlg, QDialog)
    assert dlg.isVisible()
    table = dlg.findChild(QTableWidget)
    rows = {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}
    keys = {k for key in rows for k in key.split(" / ")}
    assert {d.key for d in DISPOSITIONS} | {"L", "j", "k"} <= keys  # N/F/M/O, L, j/k
    (review_row,) = [what for key, what in rows.items() if "N" in key.split(" / ")]
    for d in DISPOSITIONS:
        assert d.name.lower() in review_row.lower()
    assert dlg.height() >= table.verticalHeader().length()  # every row readable without scrolling


# -- (l) inference threads chosen by measurement, and said ----------------------------------------
def test_inference_threads_leave_a_core_to_the_ui_and_the_setting_overrides(
    window, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from inspector.ui import workers

    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    assert workers.gui_threads() == 1  # measured on 2 cores: a second thread bought nothing
    live = window.live
    assert live.inference_threads() == 1
    assert live._request(False, None).threads == 1  # what the run gets
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(8)), raising=False)
    assert live.inference_threads() == 7
    window.ctx.settings.setValue("live/threads", 2)
    assert live._request(False, None).threads == 2
    doc = (Path(__file__).resolve().parents[1] / "docs" / "gui.md").read_text(encoding="utf-8")
    assert "**Inference threads**: `gui_threads()` = cores − 1" in doc  # the rule and its measurement
    assert "scripts/ui_stall.py --n 300 --threads N" in doc
