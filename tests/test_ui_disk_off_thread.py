"""Issue 13: the GUI's UI thread never waits on files. The Trainer tab's runs list, starting a run
(the data folder, the new run's name), the data summary's folder check, a finished run's
checkpoint, result and precision/recall image, whether a run's model was exported (the release
steps), the model-file checks of the status bar, the Live tab and the Trainer tab, the report
folder and the line view's sound files are read by task runner jobs; these tests record every file
access those modules make on the main thread. A product's model file, already read when the
product was resolved, is not checked again."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QPixmap

from db.session import Database
from inspector.core.model_card import load_card
from inspector.ui.context import AppContext, ModelState
from tests.review_helpers import RECIPE
from tests.tiny_model import build_tiny_model

FAKE = Path(__file__).parent / "fakes" / "fake_trainer.py"
# the modules issue 13 moved off the UI thread
WATCHED = (
    "trainer_panel.py",
    "trainer_runs.py",
    "release_panel.py",
    "line_control.py",
    "status_bar.py",
    "live_panel.py",
    "context.py",
    "line_sound.py",
    "report_dialog.py",
)
PATH_CALLS = ("is_file", "is_dir", "exists", "iterdir", "mkdir", "read_text", "read_bytes", "stat")


class DiskWatch:
    """Records file accesses made on the main thread whose nearest GUI caller is a WATCHED module."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.on = True

    def record(self, what: str, target: object) -> None:
        if not self.on or threading.current_thread() is not threading.main_thread():
            return
        frame = sys._getframe(2)
        while frame is not None:
            name = frame.f_code.co_filename.replace("\\", "/")
            if "/inspector/ui/" in name:  # the nearest GUI module decides
                if name.endswith(WATCHED):
                    self.seen.append(f"{Path(name).name}:{frame.f_lineno} {what} {target}")
                return
            frame = frame.f_back


@pytest.fixture
def disk(monkeypatch: pytest.MonkeyPatch) -> DiskWatch:
    watch = DiskWatch()
    for name in PATH_CALLS:
        real = getattr(Path, name)

        def wrapper(self: Path, *a: Any, _real: Any = real, _name: str = name, **k: Any) -> Any:
            watch.record(_name, self)
            return _real(self, *a, **k)

        monkeypatch.setattr(Path, name, wrapper)
    real_load = QPixmap.load

    def load(self: QPixmap, *a: Any, **k: Any) -> bool:
        watch.record("QPixmap.load", a[0] if a else "")
        return real_load(self, *a, **k)

    monkeypatch.setattr(QPixmap, "load", load)
    return watch


@pytest.fixture
def ctx(db: Database, tmp_path: Path) -> AppContext:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("trainer/runs_dir", str(tmp_path / "runs"))
    settings.setValue("trainer/models_dir", str(tmp_path / "models"))
    model = build_tiny_model(tmp_path / "prod" / "model.onnx", card={"name": "prod"})
    c = AppContext(db, "test", settings, RECIPE, ModelState(model, load_card(model)))
    c.set_role("engineer", "erin")
    return c


def write_run(run: Path, status: str, *, resumable: bool = False, exported: bool = False) -> Path:
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"data": "d", "epochs": 4}))
    (run / "result.json").write_text(json.dumps({"status": status, "epochs_done": 2}))
    (run / "best.keras").write_bytes(b"checkpoint")
    if resumable:
        (run / "state.json").write_text("{}")
        (run / "last.keras").write_bytes(b"checkpoint")
    if exported:
        (run / "export").mkdir()
        (run / "export" / "model.onnx").write_bytes(b"onnx")
    return run


def make_panel(qtbot, ctx: AppContext) -> Any:
    from inspector.ui.trainer_panel import TrainerPanel

    panel = TrainerPanel(ctx)
    qtbot.addWidget(panel)
    return panel


def test_the_runs_list_is_read_off_the_ui_thread(
    qtbot, ctx: AppContext, tmp_path: Path, disk: DiskWatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    import inspector.ui.trainer_runs as trainer_runs

    runs = tmp_path / "runs"
    write_run(runs / "run-1", "cancelled", resumable=True)
    write_run(runs / "run-2", "completed", exported=True)
    listed_on: list[bool] = []  # list_runs called on the main thread?
    real_list = trainer_runs.list_runs

    def list_runs(path: Path) -> Any:
        listed_on.append(threading.current_thread() is threading.main_thread())
        return real_list(path)

    monkeypatch.setattr(trainer_runs, "list_runs", list_runs)

    panel = make_panel(qtbot, ctx)
    assert panel.runs.rowCount() == 0  # at start-up the list comes from a job
    qtbot.waitUntil(lambda: panel.runs.rowCount() == 2, timeout=10_000)
    by_name = {panel.runs.item(r, 0).text(): r for r in range(2)}
    assert panel.runs.item(by_name["run-2"], 5).text() == "yes"  # exported
    assert panel.runs.item(by_name["run-1"], 5).text() == "no"
    panel.runs.selectRow(by_name["run-1"])
    assert panel.resume_button.isEnabled()  # state.json + last.keras, as the job read them
    panel.runs.selectRow(by_name["run-2"])
    assert not panel.resume_button.isEnabled()  # completed

    write_run(runs / "run-3", "incomplete", resumable=True)
    panel.refresh_button.click()
    qtbot.waitUntil(lambda: panel.runs.rowCount() == 3, timeout=10_000)
    assert panel.runs.selected() is not None
    assert panel.runs.selected().name == "run-2"  # the selection is kept
    assert listed_on
    assert not any(listed_on)
    assert disk.seen == []


def test_a_stale_refresh_is_dropped(qtbot, ctx: AppContext, tmp_path: Path, disk: DiskWatch) -> None:
    panel = make_panel(qtbot, ctx)
    panel.runs.wait()
    write_run(tmp_path / "runs" / "run-1", "completed")
    first = panel.runs.refresh()
    second = panel.runs.refresh()
    assert panel.runs.wait()
    assert not panel.runs.tasks.is_current(first)
    assert panel.runs.tasks.is_current(second) or second.done()
    assert panel.runs.rowCount() == 1
    assert disk.seen == []


def test_a_finished_run_is_read_off_the_ui_thread(
    qtbot, ctx: AppContext, tmp_path: Path, disk: DiskWatch
) -> None:
    """Checkpoint, result.json, the runs list and pr_curve.png: jobs; the QPixmap is made here."""
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    panel = make_panel(qtbot, ctx)
    panel.trainer_cmd = [sys.executable, str(FAKE), "--mode", "ok"]
    panel.data_edit.setText(str(data))
    panel.params["--epochs"].setValue(1)
    panel.params["--steps-per-epoch"].setValue(2)
    assert panel.start_training()
    qtbot.waitUntil(lambda: panel.status == "training", timeout=10_000)  # the folder checked by a job
    run = panel.run_dir
    assert run is not None
    (run / "eval_test").mkdir(parents=True)
    cv2.imwrite(str(run / "eval_test" / "pr_curve.png"), np.full((20, 30, 3), 200, np.uint8))
    finished: list[tuple[str, str]] = []
    panel.run_finished.connect(lambda r, status: finished.append((r, status)))

    qtbot.waitUntil(lambda: panel.status == "idle", timeout=20_000)
    assert finished == [(str(run), "completed")]
    assert "Finished" in panel.status_label.text()
    assert panel.runs.rowCount() == 1
    assert panel.runs.selected() is not None
    assert panel.runs.selected().path == run
    qtbot.waitUntil(lambda: not panel.pr_view.pixmap().isNull(), timeout=10_000)
    assert (panel.pr_view.pixmap().width(), panel.pr_view.pixmap().height()) == (30, 20)
    panel._show_result({})  # a new run clears it, and a curve still on its way is dropped
    assert panel.pr_view.pixmap().isNull()
    assert disk.seen == []


def test_starting_a_run_checks_the_data_folder_off_the_ui_thread(
    qtbot, ctx: AppContext, tmp_path: Path, disk: DiskWatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Start answers at once ("accepted, starting"); the folder check and the run's name are a job,
    a missing folder is said on the status line and in the message area, and Start comes back."""
    import inspector.ui.trainer_panel as trainer_panel

    named_on: list[bool] = []  # new_run_dir (it looks for a free name) called on the main thread?
    real_new_run_dir = trainer_panel.new_run_dir

    def new_run_dir(runs_dir: Path) -> Path:
        named_on.append(threading.current_thread() is threading.main_thread())
        return real_new_run_dir(runs_dir)

    monkeypatch.setattr(trainer_panel, "new_run_dir", new_run_dir)
    seen: list[tuple[str, str]] = []
    ctx.message.connect(lambda level, text: seen.append((level, text)))
    panel = make_panel(qtbot, ctx)
    panel.runs.wait()
    panel.trainer_cmd = [sys.executable, str(FAKE), "--mode", "ok"]
    panel.params["--epochs"].setValue(1)
    panel.params["--steps-per-epoch"].setValue(2)

    gone = tmp_path / "no-such-folder"
    panel.data_edit.setText(str(gone))
    assert panel.start_training()  # accepted: the answer comes from the job
    assert panel.status == "starting"
    assert not panel.start_button.isEnabled()
    assert panel.run_dir is None
    qtbot.waitUntil(lambda: panel.status == "idle", timeout=10_000)
    assert "data folder not found" in panel.status_label.text()
    assert seen[-1] == ("warning", f"Trainer: data folder not found: {gone}")
    assert panel.start_button.isEnabled()
    assert not panel.proc.is_running()
    assert panel.run_dir is None
    assert named_on == []

    # Cancel while the job is on its way: nothing starts
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    panel.data_edit.setText(str(data))
    assert panel.start_training()
    assert panel.cancel_button.isEnabled()
    panel.cancel()
    assert panel.status == "idle"
    assert "Cancelled before training started" in panel.status_label.text()
    panel.tasks.wait(10)
    assert panel.status == "idle"
    assert not panel.proc.is_running()

    assert panel.start_training()
    qtbot.waitUntil(lambda: panel.status == "training", timeout=10_000)
    assert panel.run_dir is not None
    assert panel.run_dir.parent == tmp_path / "runs"
    assert named_on
    assert not any(named_on)
    qtbot.waitUntil(lambda: panel.status == "idle", timeout=20_000)
    assert "Finished" in panel.status_label.text()
    assert disk.seen == []


def test_the_data_summary_checks_the_folder_off_the_ui_thread(
    qtbot, ctx: AppContext, tmp_path: Path, disk: DiskWatch
) -> None:
    panel = make_panel(qtbot, ctx)
    panel.runs.wait()
    gone = tmp_path / "no-such-folder"
    panel.data_edit.setText(str(gone))
    assert panel.check_data()  # started: the job finds out
    qtbot.waitUntil(lambda: "not found" in panel.summary_label.text(), timeout=10_000)
    assert panel.summary_label.text() == f"Data folder not found: {gone}"
    assert not panel.check.is_running()
    assert disk.seen == []


def test_the_release_steps_take_the_exported_answer_with_the_run(
    qtbot, ctx: AppContext, tmp_path: Path, disk: DiskWatch
) -> None:
    """The runs table's answer (read with the runs) goes with the selected run; a caller without
    one gets it from a job. Evaluate follows the answer."""
    from inspector.core.training_runs import read_run

    runs = tmp_path / "runs"
    write_run(runs / "run-1", "completed")
    write_run(runs / "run-2", "completed", exported=True)
    panel = make_panel(qtbot, ctx)
    rel = panel.release
    qtbot.waitUntil(lambda: panel.runs.rowCount() == 2, timeout=10_000)
    by_name = {panel.runs.item(r, 0).text(): r for r in range(2)}
    panel.runs.selectRow(by_name["run-2"])
    assert rel.run is not None
    assert rel.run.name == "run-2"
    assert rel.run_exported
    assert rel.evaluate_button.isEnabled()
    assert "exported" in rel.run_label.text()
    panel.runs.selectRow(by_name["run-1"])
    assert not rel.run_exported
    assert not rel.evaluate_button.isEnabled()

    disk.on = False
    info = read_run(runs / "run-2")
    disk.on = True
    rel.set_run(info)  # no answer given: a job checks
    assert not rel.evaluate_button.isEnabled()
    qtbot.waitUntil(rel.evaluate_button.isEnabled, timeout=10_000)
    assert rel.run_exported
    rel.set_run(None)
    assert not rel.run_exported
    assert not rel.evaluate_button.isEnabled()
    assert disk.seen == []


def test_a_new_model_is_checked_off_the_ui_thread_and_the_panels_follow(
    qtbot, tmp_path: Path, disk: DiskWatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The status bar, the Live tab's Start and preload and the Trainer tab's fine-tune offer ask the
    context, whose one job per model change looks at the file."""
    import dataclasses

    from tests.ui_helpers import close_window, make_window

    disk.on = False  # start-up checks the model once, before the window opens
    model = build_tiny_model(tmp_path / "m" / "model.onnx", card={"name": "tiny-a"})
    arch = {"base_filters": 8, "depth": 2, "batchnorm": False}
    other = build_tiny_model(tmp_path / "o" / "model.onnx", card={"name": "tiny-b", "config": arch})
    window = make_window(qtbot, tmp_path, model, monkeypatch)
    try:
        ctx = window.ctx
        assert ctx.model_file_present() is True
        trainer = next(
            window.tabs.widget(i)
            for i in range(window.tabs.count())
            if type(window.tabs.widget(i)).__name__ == "TrainerPanel"
        )
        preloads: list[Path] = []
        monkeypatch.setattr(
            window.live.controller, "preload", lambda req: preloads.append(Path(req.model_path))
        )
        disk.on = True

        gone = tmp_path / "gone" / "model.onnx"
        ctx.set_model(dataclasses.replace(ctx.model, path=gone))
        assert ctx.model_file_present() is None  # asked, not answered yet
        qtbot.waitUntil(lambda: window.status.model_label.text() == "Model: NONE", timeout=10_000)
        assert ctx.model_file_present() is False
        assert window.live.start() is False
        assert "no model" in window.messages.messages()[0][1].lower()

        ctx.set_model(ModelState(other, load_card(other)))
        assert window.status.model_label.text().startswith("Model tiny-b")
        qtbot.waitUntil(lambda: ctx.model_file_present() is True, timeout=10_000)
        qtbot.waitUntil(trainer.finetune_radio.isEnabled, timeout=10_000)
        assert preloads == [other]  # preloaded once its file is known to be there

        ctx.set_model(ModelState(model, load_card(model)), file_present=True)  # a caller that knows
        assert ctx.model_file_present() is True
        assert window.status.model_label.text().startswith("Model tiny-a")
        assert preloads == [other, model]
        assert disk.seen == []
    finally:
        disk.on = False
        close_window(window)


def test_a_product_s_model_file_is_not_checked_again(
    qtbot, tmp_path: Path, disk: DiskWatch, monkeypatch: pytest.MonkeyPatch, image_folder: Path
) -> None:
    """resolve_product (a job) read the product's model file; the context takes that answer."""
    from tests.test_ui_products import NAME, make_product
    from tests.ui_helpers import close_window, make_window

    disk.on = False
    model = build_tiny_model(tmp_path / "m" / "model.onnx", card={"name": "tiny-a"})
    other = build_tiny_model(tmp_path / "o" / "model.onnx", card={"name": "tiny-p"})
    window = make_window(qtbot, tmp_path, model, monkeypatch)
    try:
        ctx = window.ctx
        make_product(window, other, image_folder)
        checks: list[Path] = []
        real_check = AppContext.check_model_file

        def check_model_file(self: AppContext) -> Any:
            checks.append(Path(self.model.path))
            return real_check(self)

        monkeypatch.setattr(AppContext, "check_model_file", check_model_file)
        # what the panels see when they hear of the product's model: the answer, no job asked
        heard: list[tuple[bool | None, bool]] = []
        ctx.model_changed.connect(
            lambda m: heard.append((ctx.model_file_present(), other in checks)) if m.path == other else None
        )
        disk.on = True
        assert window.products.choose(NAME)
        qtbot.waitUntil(lambda: window.products.product is not None, timeout=10_000)
        assert Path(ctx.model.path) == other
        # (later the Live tab's report of the loaded backend may set the model again)
        assert heard[0] == (True, False)
        assert disk.seen == []
    finally:
        disk.on = False
        close_window(window)


def test_the_line_sound_checks_its_files_once_off_the_ui_thread(tmp_path: Path, disk: DiskWatch) -> None:
    from inspector.ui.line_sound import LineSound, write_default_sounds

    class FakeEffect:
        def setSource(self, _url: object) -> None:
            pass

        def setVolume(self, _v: float) -> None:
            pass

        def play(self) -> None:
            pass

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    disk.on = False
    write_default_sounds(tmp_path / "sounds")
    disk.on = True
    sound = LineSound(settings, tmp_path / "sounds", effect_class=FakeEffect)
    sound.set_enabled(True)
    assert sound.wait_ready()
    assert [sound.cue("NG"), sound.cue("ERROR"), sound.cue("NG")] == ["wav", "wav", "wav"]
    assert disk.seen == []


def test_the_report_folder_is_not_created_when_the_dialog_opens(
    tmp_path: Path, disk: DiskWatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inspector.ui.report_dialog import reports_dir

    monkeypatch.setenv("INSPECTOR_DATA_DIR", str(tmp_path / "data"))
    assert reports_dir() == tmp_path / "data" / "reports"
    assert not (tmp_path / "data").exists()
    assert disk.seen == []
