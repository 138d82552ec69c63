"""Promotion gate on real scores, promote/override audit, rollback (core and through the Trainer tab)."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QSettings

from db import queries
from db.blobs import encode_mask_png
from db.session import Database
from inspector.core.model_card import load_card
from inspector.services.promotion import (
    REVIEWED,
    VALIDATION,
    GateDecision,
    GateRefusedError,
    GateRules,
    Metrics,
    ModelEval,
    gate,
    install_model,
    promote,
    rollback,
)
from inspector.services.promotion_eval import DataSpec, evaluate_for_gate
from inspector.ui.context import AppContext, ModelState
from tests.db_factories import make_metrics
from tests.review_helpers import RECIPE, log_inspection
from tests.tiny_model import build_tiny_model, synthetic_image

pytestmark = pytest.mark.filterwarnings("error")  # pyqtgraph/Qt warnings are bugs here

PASSED = GateDecision(True, [])


def ev(m: Metrics, name: str = VALIDATION) -> ModelEval:
    return ModelEval(Path("m.onnx"), "s" * 64, {name: m})


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """images/ + masks/: 5 bright defects, 5 clean parts (what the tiny model detects)."""
    root = tmp_path_factory.mktemp("val")
    (root / "images").mkdir()
    (root / "masks").mkdir()
    for i in range(10):
        img, mask = synthetic_image(64, defect=i % 2 == 0, seed=100 + i, center=(24 + i * 2, 30))
        cv2.imwrite(str(root / "images" / f"p{i:02d}.png"), img)
        if mask.any():
            cv2.imwrite(str(root / "masks" / f"p{i:02d}.png"), mask)
    return root


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(good: finds the bright defects, blind: outputs ~0 everywhere)."""
    d = tmp_path_factory.mktemp("models")
    good = build_tiny_model(d / "good" / "model.onnx", card={"name": "good"})
    blind = build_tiny_model(d / "blind" / "model.onnx", level=10.0, card={"name": "blind"})
    return good, blind


def test_gate_rules_and_tolerances() -> None:
    prod = ev(make_metrics())
    assert gate(ev(make_metrics()), prod).passed
    assert gate(ev(make_metrics(tnr=0.946)), prod).passed  # -0.4 pp: inside the 0.5 pp tolerance
    assert not gate(ev(make_metrics(tnr=0.944)), prod).passed
    assert gate(ev(make_metrics(tnr=0.944)), prod, GateRules(tnr_tolerance=0.01)).passed
    assert gate(ev(make_metrics(dice_defective=0.795)), prod).passed
    d = gate(ev(make_metrics(dice_defective=0.78, tpr=0.85, escapes=2)), prod)
    assert not d.passed
    assert len(d.reasons) == 3
    assert any("TPR" in r for r in d.reasons)
    assert any("escapes" in r for r in d.reasons)
    # undefined on this data (no defective images): noted, not failed
    clean = {"tpr": math.nan, "dice_defective": math.nan, "escapes": 0, "n_defective": 0}
    d = gate(ev(make_metrics(**clean)), ev(make_metrics(**clean)))
    assert d.passed
    assert d.notes
    # NaN although the data has defective images: fails closed (it used to be skipped)
    d = gate(ev(make_metrics(tpr=math.nan, dice_defective=math.nan)), ev(make_metrics(tpr=math.nan)))
    assert not d.passed
    assert any("TPR missing/not finite" in r for r in d.reasons)
    assert gate(ev(make_metrics()), None).passed  # first model: nothing to compare
    assert not gate(ev(make_metrics(), REVIEWED), prod).passed  # scored on different data


def test_gate_refuses_the_worse_model_and_accepts_the_better_on_real_scores(
    data: Path, models: tuple[Path, Path], db: Database, tmp_path: Path
) -> None:
    good, blind = models
    # reviewed inspections: two escapes labelled by an operator, one false reject
    for n, i in enumerate((0, 2, 1)):
        img = cv2.imread(str(data / "images" / f"p{i:02d}.png"), cv2.IMREAD_GRAYSCALE)
        insp = log_inspection(db, img, np.zeros((64, 64), np.float32), tmp_path / "line", n)
        if i % 2 == 0:
            mask = cv2.imread(str(data / "masks" / f"p{i:02d}.png"), cv2.IMREAD_GRAYSCALE)
            queries.add_review(db, insp, "missed_defect", by="op", mask_png=encode_mask_png(mask))
        else:
            queries.add_review(db, insp, "confirm_ok", by="op")

    cand, cur, notes = evaluate_for_gate(good, blind, DataSpec(data), db)
    assert notes == []
    assert cur is not None
    assert set(cand.by_set) == set(cur.by_set) == {VALIDATION, REVIEWED}
    assert cand.by_set[VALIDATION].tpr == 1.0
    assert cur.by_set[VALIDATION].escapes == 5
    assert cand.by_set[REVIEWED].n_images == 3

    better = gate(cand, cur)
    assert better.passed, better.reasons
    worse = gate(cur, cand)
    assert not worse.passed
    assert any("TPR" in r for r in worse.reasons)
    assert any("escapes" in r and "reviewed" in r for r in worse.reasons)


def test_promote_override_and_rollback_are_audited(
    models: tuple[Path, Path], db: Database, tmp_path: Path
) -> None:
    good, blind = (install_model(m, tmp_path / "installed") for m in models)
    a = promote(db, good, load_card(good), "qa-anna", PASSED)
    assert queries.active_model(db).sha256 == a.sha256
    failed = GateDecision(False, ["validation: TPR 0.0 % is lower than production's 100.0 %"])
    with pytest.raises(GateRefusedError):
        promote(db, blind, load_card(blind), "qa-anna", failed)
    with pytest.raises(GateRefusedError):
        promote(db, blind, load_card(blind), "qa-anna", failed, override_reason="   ")
    assert queries.active_model(db).sha256 == a.sha256
    b = promote(db, blind, load_card(blind), "qa-anna", failed, override_reason="customer trial, signed off")
    assert queries.active_model(db).sha256 == b.sha256
    (override,) = queries.audit_events(db, action="model.promote.override")
    assert override.actor == "qa-anna"
    assert override.details["reason"] == "customer trial, signed off"
    assert override.details["gate_reasons"] == failed.reasons

    back = rollback(db, "qa-bob", reason="escapes on line 2")
    assert back.sha256 == a.sha256
    assert queries.active_model(db).sha256 == a.sha256
    (ev_,) = queries.audit_events(db, action="model.rollback")
    assert (ev_.actor, ev_.details["from"], ev_.details["to"]) == ("qa-bob", b.sha256, a.sha256)
    with pytest.raises(LookupError):
        rollback(db, "qa-bob", to_sha="0" * 64)


def test_rollback_button_updates_the_context_and_the_status_bar(
    qtbot, models: tuple[Path, Path], db: Database, tmp_path: Path
) -> None:
    from inspector.ui.release_panel import ReleasePanel
    from inspector.ui.status_bar import StationStatusBar

    good, blind = (install_model(m, tmp_path / "installed") for m in models)
    promote(db, good, load_card(good), "qa", PASSED)
    promote(db, blind, load_card(blind), "qa", PASSED)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    ctx = AppContext(db, "test", settings, RECIPE, ModelState(blind, load_card(blind)))
    bar = StationStatusBar(ctx)
    qtbot.addWidget(bar)
    panel = ReleasePanel(ctx)
    qtbot.addWidget(panel)
    seen: list[ModelState] = []
    ctx.model_changed.connect(seen.append)

    assert not panel.rollback_button.isEnabled()  # operators may not
    assert not panel.rollback()
    assert ctx.model.path == blind
    ctx.set_role("qa", "qa-anna")
    assert panel.rollback_button.isEnabled()
    panel.rollback_button.click()
    qtbot.waitUntil(lambda: not panel.tasks.busy(), timeout=10_000)  # the rollback runs off the UI thread
    assert ctx.model.path == good
    assert seen[-1].path == good
    assert load_card(good).sha256[:8] in bar.model_label.text()
    assert queries.active_model(db).path == str(good)


def test_scores_use_the_recipe_the_line_runs(data: Path, models: tuple[Path, Path]) -> None:
    from inspector.core.recipe import Recipe

    strict = Recipe(threshold=0.5, min_area_px=100_000)  # no region can be that big: nothing is NG
    cand, cur, _ = evaluate_for_gate(models[0], None, DataSpec(data), recipe=strict)
    assert cur is None
    assert cand.by_set[VALIDATION].tpr == 0.0
    assert cand.by_set[VALIDATION].escapes == 5


def test_rollback_from_the_trainer_tab_shows_in_the_main_window(
    qtbot, models: tuple[Path, Path], tmp_path: Path, monkeypatch
) -> None:
    """The tab as the main window will host it: the window's own status bar follows a rollback."""
    from inspector.ui.trainer_panel import TrainerPanel
    from tests.ui_helpers import close_window, make_window

    good, blind = (install_model(m, tmp_path / "installed") for m in models)
    window = make_window(qtbot, tmp_path, blind, monkeypatch)
    try:
        promote(window.ctx.db, good, load_card(good), "qa", PASSED)
        promote(window.ctx.db, blind, load_card(blind), "qa", PASSED)
        window.ctx.settings.setValue("trainer/runs_dir", str(tmp_path / "runs"))
        panel = TrainerPanel(window.ctx)
        window.tabs.addTab(panel, "Trainer")
        window.ctx.set_role("qa", "qa-anna")
        assert load_card(blind).sha256[:8] in window.status.model_label.text()
        assert panel.release.rollback()
        qtbot.waitUntil(lambda: not panel.release.tasks.busy(), timeout=10_000)  # off the UI thread
        assert load_card(good).sha256[:8] in window.status.model_label.text()
        assert window.ctx.model.path == good
    finally:
        close_window(window)
