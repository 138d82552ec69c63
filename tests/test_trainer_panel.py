"""Trainer tab against a fake trainer child (progress, failure, cancel, release) and one real tiny run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QSettings

from db import queries
from db.session import Database
from inspector.core.model_card import load_card
from inspector.core.training_runs import list_runs
from inspector.ui.context import AppContext, ModelState
from inspector.ui.trainer_process import LineBuffer, parse_event
from tests.review_helpers import RECIPE, log_inspection
from tests.tiny_model import build_tiny_model, synthetic_image
from trainer.data.synth import write_synthetic

pytestmark = pytest.mark.filterwarnings("error")  # pyqtgraph/Qt warnings are bugs here

FAKE = Path(__file__).parent / "fakes" / "fake_trainer.py"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synth")
    write_synthetic(root, 8, seed=3, size=32, p_defective=0.5)
    return root


@pytest.fixture
def ctx(db: Database, tmp_path: Path) -> AppContext:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("trainer/runs_dir", str(tmp_path / "runs"))
    settings.setValue("trainer/models_dir", str(tmp_path / "models"))
    blind = build_tiny_model(tmp_path / "prod" / "model.onnx", level=10.0, card={"name": "blind"})
    c = AppContext(db, "test", settings, RECIPE, ModelState(blind, load_card(blind)))
    c.set_role("engineer", "erin")  # training and export need an engineer (inspector.core.accounts)
    return c


def make_panel(qtbot, ctx: AppContext, data: Path | None, mode: str = "ok", export_from: Path | None = None):
    from inspector.ui.trainer_panel import TrainerPanel

    panel = TrainerPanel(ctx)
    qtbot.addWidget(panel)
    panel.trainer_cmd = [sys.executable, str(FAKE), "--mode", mode]
    if export_from is not None:
        panel.trainer_cmd += ["--export-from", str(export_from)]
    panel.data_edit.setText(str(data) if data else "")
    panel.params["--epochs"].setValue(2)
    panel.params["--steps-per-epoch"].setValue(3)
    return panel


def messages(ctx: AppContext) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    ctx.message.connect(lambda level, text: seen.append((level, text)))
    return seen


def test_line_buffer_joins_partial_lines_and_parse_skips_non_json() -> None:
    buf = LineBuffer()
    assert buf.feed(b'{"event": "st') == []
    assert buf.feed(b'ep", "loss": 0.5}\nplain text\n{"a"') == [
        '{"event": "step", "loss": 0.5}',
        "plain text",
    ]
    assert buf.flush() == ['{"a"']
    assert parse_event('{"event": "step", "loss": 0.5}') == {"event": "step", "loss": 0.5}
    for line in ("plain text", '{"a"', "[1, 2]", "", "  42"):
        assert parse_event(line) is None


def test_progress_lines_drive_curves_progress_and_the_runs_list(qtbot, ctx: AppContext, data: Path) -> None:
    panel = make_panel(qtbot, ctx, data)
    finished: list[tuple[str, str]] = []
    panel.run_finished.connect(lambda run, status: finished.append((run, status)))
    assert panel.start_training()
    assert not panel.start_button.isEnabled()
    assert panel.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: panel.status == "idle", timeout=20000)

    assert finished == [(str(panel.run_dir), "completed")]
    assert len(panel.curves.steps) == 6  # 2 epochs x 3 steps, each line arrived in two pieces
    xs, ys = panel.curves.val_dice.getData()
    assert list(xs) == [1, 2]
    assert np.allclose(ys, [0.3, 0.6])
    assert panel.curves.train_loss.getData()[0].size == 6
    assert (panel.progress.value(), panel.progress.maximum()) == (6, 6)
    assert panel.eta_label.text().startswith("ETA")
    log = panel.log_view.toPlainText()
    assert "Some library says hello (not JSON)" in log
    assert '"event"' not in log  # JSON lines were parsed, not dumped
    assert panel.runs.rowCount() == 1
    assert panel.runs.item(0, 1).text() == "completed"
    assert panel.release.run is not None
    assert panel.release.run.path == panel.run_dir
    assert panel.start_button.isEnabled()


def test_a_failing_trainer_shows_its_error(qtbot, ctx: AppContext, data: Path) -> None:
    seen = messages(ctx)
    panel = make_panel(qtbot, ctx, data, mode="fail")
    panel.start_training()
    qtbot.waitUntil(lambda: panel.status == "idle", timeout=20000)
    assert panel.last_error == "data/images/bad.png: not a readable image"
    assert "Training failed" in panel.status_label.text()
    assert seen[-1][0] == "error"
    assert "not a readable image" in seen[-1][1]


def test_cancel_stops_cleanly_and_leaves_a_usable_checkpoint(qtbot, ctx: AppContext, data: Path) -> None:
    seen = messages(ctx)
    panel = make_panel(qtbot, ctx, data, mode="hang")
    panel.start_training()
    qtbot.waitUntil(lambda: len(panel.curves.steps) >= 2, timeout=20000)
    panel.cancel_button.click()
    assert panel.status == "cancelling"
    qtbot.waitUntil(lambda: panel.status == "idle", timeout=20000)
    run = panel.run_dir
    assert (run / "best.keras").is_file()
    assert json.loads((run / "result.json").read_text())["status"] == "cancelled"
    assert "best checkpoint kept" in panel.status_label.text()
    assert seen[-1][0] == "warning"
    (info,) = list_runs(panel.runs_dir)
    assert info.status == "cancelled"
    assert info.has_checkpoint
    assert panel.release.export_button.isEnabled()  # a cancelled run can still be exported


def test_resume_continues_a_cancelled_run(qtbot, ctx: AppContext, data: Path) -> None:
    panel = make_panel(qtbot, ctx, data, mode="hang")
    panel.start_training()
    qtbot.waitUntil(lambda: len(panel.curves.epochs) >= 1, timeout=20000)
    panel.cancel()
    qtbot.waitUntil(lambda: panel.status == "idle", timeout=20000)
    run = panel.run_dir
    assert panel.runs.selected().path == run
    assert panel.resume_button.isEnabled()
    panel.trainer_cmd = [sys.executable, str(FAKE), "--mode", "ok"]
    panel.resume_button.click()
    qtbot.waitUntil(lambda: panel.status == "idle", timeout=20000)
    assert "Finished" in panel.status_label.text()
    assert "--resume" in panel.log_view.toPlainText()
    assert json.loads((run / "result.json").read_text())["status"] == "completed"
    assert len(list_runs(panel.runs_dir)) == 1  # the same run, continued


def test_a_child_that_ignores_sigterm_is_killed(qtbot, ctx: AppContext, data: Path) -> None:
    panel = make_panel(qtbot, ctx, data, mode="stubborn")
    panel.proc.kill_after_ms = 300
    panel.start_training()
    qtbot.waitUntil(lambda: len(panel.curves.steps) >= 1, timeout=20000)
    panel.cancel()
    qtbot.waitUntil(lambda: panel.status == "idle", timeout=10000)
    assert "killed" in panel.status_label.text()
    assert "killing the process" in panel.log_view.toPlainText()
    assert panel.start_button.isEnabled()


def test_reviewed_inspections_are_merged_with_the_folder(
    qtbot, ctx: AppContext, data: Path, tmp_path: Path
) -> None:
    img, _ = synthetic_image(32, defect=False)
    insp = log_inspection(ctx.db, img, np.zeros((32, 32), np.float32), tmp_path / "line", 0)
    queries.add_review(ctx.db, insp, "confirm_ok", by="op")
    panel = make_panel(qtbot, ctx, data)
    panel.reviewed_check.setChecked(True)
    panel.start_training()
    qtbot.waitUntil(lambda: panel.status == "idle", timeout=20000)
    cfg = json.loads((panel.run_dir / "config.json").read_text())
    merged = Path(cfg["data"])
    assert merged == panel.run_dir / "data"
    names = sorted(p.stem for p in (merged / "images").iterdir())
    assert names == [f"data_synth_{i:05d}" for i in range(8)] + [f"review_{insp:08d}"]


def test_export_gate_promote_and_engine_rebuild(
    qtbot, ctx: AppContext, data: Path, tmp_path: Path, monkeypatch
) -> None:
    """Fake run + fake export of a good tiny model; real scoring, real promotion, real engine child."""
    from PySide6.QtWidgets import QDialog

    from inspector.ui.promotion_dialog import PromotionConfirmDialog

    shown: list[str] = []

    def confirm(dialog: PromotionConfirmDialog) -> int:  # QA clicks Promote in the confirmation
        shown.append(dialog.gate_label.text())
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(PromotionConfirmDialog, "exec", confirm)
    seen = messages(ctx)
    good = build_tiny_model(tmp_path / "cand" / "model.onnx", card={"name": "candidate"})
    bright = tmp_path / "bright"  # defects the tiny model can see (bright ellipses)
    for sub in ("images", "masks"):
        (bright / sub).mkdir(parents=True)
    for i in range(6):
        img, mask = synthetic_image(64, defect=i % 2 == 0, seed=i)
        cv2.imwrite(str(bright / "images" / f"p{i}.png"), img)
        if mask.any():
            cv2.imwrite(str(bright / "masks" / f"p{i}.png"), mask)
    panel = make_panel(qtbot, ctx, bright, export_from=good)
    rel = panel.release
    rel.reviewed_check.setChecked(False)
    panel.start_training()
    qtbot.waitUntil(lambda: panel.status == "idle", timeout=20000)
    rel.export_button.click()
    qtbot.waitUntil(lambda: rel.evaluate_button.isEnabled(), timeout=20000)
    assert rel.run.exported_model is not None
    assert rel.run_exported  # the export's own job read it back
    qtbot.waitUntil(lambda: panel.runs.item(0, 5).text() == "yes", timeout=10000)  # the list follows
    assert panel.runs.selected().path == rel.run.path
    rel.evaluate_button.click()
    qtbot.waitUntil(lambda: rel.decision is not None or "failed" in rel.state_label.text(), timeout=60000)
    assert rel.decision is not None, rel.state_label.text()
    assert rel.decision.passed, rel.decision.reasons
    assert rel.table.rowCount() == 6
    assert rel.table.item(0, 1).text() == "Dice defective"

    ctx.set_role("operator")
    assert not rel.promote_button.isEnabled()  # operator
    ctx.set_role("qa", "qa-anna")
    assert rel.promote_button.isEnabled()
    rel.promote_button.click()
    qtbot.waitUntil(lambda: not rel.promoting(), timeout=20000)  # off the UI thread
    assert len(shown) == 1
    assert shown[0].startswith("PASSED")
    active = queries.active_model(ctx.db)
    assert active.sha256 == load_card(good).sha256
    assert ctx.model.path == Path(active.path)
    assert ctx.model.path.parent.parent == tmp_path / "models"  # installed, not pointing into the run
    qtbot.waitUntil(lambda: rel.engine_status not in ("", "building"), timeout=60000)
    # no TensorRT on CI machines: said clearly, ONNX Runtime stays
    if rel.engine_status == "unavailable":
        assert "TensorRT unavailable" in ctx.model.notice
        assert "ONNX Runtime" in ctx.model.notice
    assert any(level == "info" and "promoted" in text for level, text in seen)


@pytest.mark.slow
def test_a_tiny_real_training_run(qtbot, ctx: AppContext, tmp_path: Path) -> None:
    from inspector.services.promotion_eval import trainer_command

    write_synthetic(tmp_path / "tiny", 6, seed=5, size=32, p_defective=0.5)
    panel = make_panel(qtbot, ctx, tmp_path / "tiny")
    panel.trainer_cmd = trainer_command()
    for flag, value in (
        ("--epochs", 1),
        ("--steps-per-epoch", 2),
        ("--batch", 2),
        ("--crop", 32),
        ("--base-filters", 2),
    ):
        panel.params[flag].setValue(value)
    panel.start_training()
    qtbot.waitUntil(lambda: panel.status == "idle", timeout=120000)
    assert "Finished" in panel.status_label.text(), panel.log_view.toPlainText()[-2000:]
    assert len(panel.curves.steps) == 2
    assert len(panel.curves.epochs) == 1
    (run,) = list_runs(panel.runs_dir)
    assert run.status == "completed"
    assert run.has_checkpoint


def test_background_task_is_finished_when_its_ending_signal_arrives(qtbot) -> None:
    """Buttons re-enabled in a succeeded/failed slot must not see the task as still busy."""
    from PySide6.QtCore import Qt

    from inspector.ui.trainer_tasks import BackgroundTask

    task = BackgroundTask()
    seen: list[bool] = []
    # direct connection: the slot runs inside the emit, while the worker thread is alive
    task.succeeded.connect(lambda _r: seen.append(task.is_running()), Qt.ConnectionType.DirectConnection)
    task.failed.connect(lambda _m: seen.append(task.is_running()), Qt.ConnectionType.DirectConnection)
    task.start(lambda _state: 42)
    assert task.wait(5)
    task.start(lambda _state: (_ for _ in ()).throw(ValueError("bad file")))
    assert task.wait(5)
    assert seen == [False, False]
