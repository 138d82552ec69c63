"""Safe promotion: the gate fails closed, promotion is confirmed, overrides stay marked,
rollback reaches any earlier production model (the shipped one included), and the
station refuses a production model whose file is missing or changed."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialog
from sqlalchemy import select

from db import queries
from db.models import Model
from db.session import Database, open_db
from inspector.core.model_card import load_card, sha256_file
from inspector.services.promotion import (
    INITIAL,
    REVIEWED,
    VALIDATION,
    GateDecision,
    Metrics,
    MetricsError,
    ModelEval,
    choose_production_model,
    compare,
    ensure_production_model,
    ensure_shipped_production_model,
    gate,
    install_model,
    override_mark,
    production_history,
    promote,
    rollback,
)
from inspector.ui.context import AppContext, ModelState
from tests.db_factories import make_metrics
from tests.review_helpers import RECIPE
from tests.tiny_model import build_tiny_model

pytestmark = pytest.mark.filterwarnings("error")

PASSED = GateDecision(True, [])
FAILED = GateDecision(False, ["validation: TPR 0.0 % is lower than production's 100.0 %"])

TRAINER_METRICS: dict[str, Any] = {  # what `python -m trainer evaluate` writes (the gate's part)
    "model": "cand/model.onnx",
    "dice_defective": 0.8,
    "dice_all": 0.9,
    "tpr": 0.9,
    "tnr": 0.95,
    "fp": 1,
    "fn": 1,
    "n_images": 40,
    "n_defective": 10,
}


def ev(path: Path | str = "m.onnx", sha: str = "s" * 64, **sets: Metrics) -> ModelEval:
    return ModelEval(Path(path), sha, sets or {VALIDATION: make_metrics()})


@pytest.fixture
def shipped(tmp_path: Path) -> Path:
    """The shipped model where the station looks for it (resources/models/demo/model.onnx)."""
    return build_tiny_model(
        tmp_path / "resources" / "models" / "demo" / "model.onnx", level=0.62, card={"name": "shipped"}
    )


@pytest.fixture
def candidates(tmp_path: Path) -> dict[str, Path]:
    """Installed models: ``good`` finds defects, ``blind`` (TPR 0) does not, ``good2`` another good one."""
    made = {
        "good": build_tiny_model(tmp_path / "runs" / "good" / "model.onnx", card={"name": "good"}),
        "blind": build_tiny_model(
            tmp_path / "runs" / "blind" / "model.onnx", level=10.0, card={"name": "blind"}
        ),
        "good2": build_tiny_model(
            tmp_path / "runs" / "good2" / "model.onnx", level=0.55, card={"name": "good2"}
        ),
    }
    return {k: install_model(p, tmp_path / "installed") for k, p in made.items()}


def sha(path: Path) -> str:
    return load_card(path).sha256


# -- the gate fails closed --------------------------------------------------------------------------
def test_from_trainer_refuses_a_missing_metric_instead_of_defaulting_to_zero() -> None:
    assert Metrics.from_trainer(TRAINER_METRICS) == make_metrics(false_rejects=1)
    for key in ("fp", "fn", "n_images", "n_defective", "tpr", "tnr", "dice_defective", "dice_all"):
        broken = {k: v for k, v in TRAINER_METRICS.items() if k != key}
        with pytest.raises(MetricsError, match=f"'{key}' missing"):
            Metrics.from_trainer(broken)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("tpr", None),  # metrics.json writes NaN as null: defective images exist, so TPR is defined
        ("tpr", math.nan),
        ("tnr", None),
        ("dice_defective", None),
        ("dice_all", None),
        ("tnr", math.inf),
        ("tpr", 1.5),
        ("fn", None),
        ("fp", math.nan),
        ("n_images", None),
        ("n_defective", "10"),
        ("fn", 2.5),
        ("fn", 11),  # more escapes than defective images: the counts do not add up
    ],
)
def test_from_trainer_refuses_non_finite_or_inconsistent_values(key: str, value: object) -> None:
    with pytest.raises(MetricsError, match=key if key != "fn" or value != 11 else "do not add up"):
        Metrics.from_trainer({**TRAINER_METRICS, key: value})


def test_from_trainer_accepts_only_legitimately_undefined_rates() -> None:
    no_defects = {**TRAINER_METRICS, "n_defective": 0, "fn": 0, "tpr": None, "dice_defective": None}
    m = Metrics.from_trainer(no_defects)
    assert math.isnan(m.tpr)
    assert math.isnan(m.dice_defective)
    all_defective = {**TRAINER_METRICS, "n_defective": 40, "fp": 0, "tnr": None}
    assert math.isnan(Metrics.from_trainer(all_defective).tnr)
    with pytest.raises(MetricsError, match="no images"):
        Metrics.from_trainer({**TRAINER_METRICS, "n_images": 0, "n_defective": 0, "fp": 0, "fn": 0})


def test_scoring_with_a_missing_metric_stops_the_evaluation(
    tmp_path: Path, candidates: dict[str, Path]
) -> None:
    from inspector.services.promotion_eval import DataSpec, evaluate_pair

    def evaluator(model: Path, data: DataSpec, out: Path) -> dict[str, Any]:
        return {k: v for k, v in TRAINER_METRICS.items() if k != "fn"}

    with pytest.raises(MetricsError, match="'fn' missing"):
        evaluate_pair(
            candidates["good"], candidates["blind"], [(VALIDATION, DataSpec(tmp_path))], None, evaluator
        )


def test_gate_fails_on_a_nan_metric_where_it_is_defined() -> None:
    prod = ev()
    for field, label in (("tpr", "TPR"), ("tnr", "TNR"), ("dice_defective", "Dice defective")):
        d = gate(ev(**{VALIDATION: make_metrics(**{field: math.nan})}), prod)
        assert not d.passed, field
        assert any(f"metric {label} missing/not finite" in r for r in d.reasons), d.reasons
        d = gate(prod, ev(**{VALIDATION: make_metrics(**{field: math.inf})}))  # production's side too
        assert not d.passed, field
    d = gate(ev(**{VALIDATION: make_metrics(escapes=math.nan)}), prod)
    assert not d.passed
    assert any("escapes missing/not finite" in r for r in d.reasons)


def test_gate_fails_on_missing_image_counts() -> None:
    for field in ("n_images", "n_defective"):
        for bad in (None, math.nan):
            d = gate(ev(**{VALIDATION: make_metrics(**{field: bad})}), ev())
            assert not d.passed
            assert any(f"{field} missing/not finite" in r for r in d.reasons), d.reasons
    # with nothing to compare with, the candidate's own counts still have to hold
    assert not gate(ev(**{VALIDATION: make_metrics(n_images=None)}), None).passed
    assert gate(ev(), None).passed


def test_gate_fails_when_a_data_set_is_missing_for_either_model() -> None:
    both = ev(**{VALIDATION: make_metrics(), REVIEWED: make_metrics()})
    only_val = ev(**{VALIDATION: make_metrics()})
    d = gate(both, only_val)
    assert not d.passed
    assert any(
        "reviewed: data set scored for the candidate but not for the production model" in r for r in d.reasons
    )
    d = gate(only_val, both)
    assert not d.passed
    assert any(
        "reviewed: data set scored for the production model but not for the candidate" in r for r in d.reasons
    )
    rows = compare(only_val, both)  # the confirmation table shows the set too, with "–" for the candidate
    assert {r.data_set for r in rows} == {VALIDATION, REVIEWED}
    assert gate(both, both).passed


def test_gate_skips_only_what_the_data_cannot_define() -> None:
    no_defects = make_metrics(tpr=math.nan, dice_defective=math.nan, escapes=0, n_defective=0)
    d = gate(ev(**{VALIDATION: no_defects}), ev(**{VALIDATION: no_defects}))
    assert d.passed, d.reasons
    assert any("TPR undefined (no defective images)" in n for n in d.notes)
    no_good = make_metrics(tnr=math.nan, false_rejects=0, n_defective=40)
    d = gate(ev(**{VALIDATION: no_good}), ev(**{VALIDATION: no_good}))
    assert d.passed, d.reasons
    assert any("TNR undefined (no good images)" in n for n in d.notes)
    # scored on different images: the comparison means nothing
    d = gate(ev(**{VALIDATION: make_metrics(n_images=39)}), ev())
    assert not d.passed
    assert any("different images" in r for r in d.reasons)


# -- the shipped model is the first production model -------------------------------------------------
def test_shipped_model_is_registered_once_as_first_production_model(db: Database, shipped: Path) -> None:
    info = ensure_production_model(db, load_card(shipped), shipped, "station:line-1")
    assert info is not None
    active = queries.active_model(db)
    assert active is not None
    assert (active.sha256, active.path, active.is_active) == (sha(shipped), str(shipped), True)
    assert active.promoted_at is not None
    (event,) = queries.audit_events(db, action=INITIAL)
    assert (event.actor, event.details["sha256"]) == ("station:line-1", sha(shipped))
    # idempotent: nothing more is written
    assert ensure_production_model(db, load_card(shipped), shipped, "station:line-1") is None
    assert ensure_shipped_production_model(db, "station:line-2", shipped) is None
    assert len(queries.audit_events(db, action=INITIAL)) == 1
    (entry,) = production_history(db)
    assert (entry.gate_passed, entry.overridden, entry.promoted_by) == (None, False, "station:line-1")


def test_no_registration_when_a_production_model_is_active(
    db: Database, shipped: Path, candidates: dict[str, Path]
) -> None:
    good = candidates["good"]
    promote(db, good, load_card(good), "qa", PASSED)
    assert ensure_shipped_production_model(db, "station", shipped) is None
    assert queries.active_model(db).sha256 == sha(good)
    assert ensure_shipped_production_model(db, "station", shipped.parent / "missing.onnx") is None


# -- override mark and rollback (core) --------------------------------------------------------------
def test_override_mark_persists_until_a_gate_passing_model_replaces_it(
    db: Database, shipped: Path, candidates: dict[str, Path]
) -> None:
    ensure_shipped_production_model(db, "station", shipped)
    blind, good = candidates["blind"], candidates["good"]
    promote(db, blind, load_card(blind), "qa-anna", FAILED, override_reason="customer trial")
    assert override_mark(db, sha(blind)) == "customer trial"
    with db.read() as s:
        row = s.scalar(select(Model).where(Model.sha256 == sha(blind)))
        assert (row.gate_passed, row.override_reason, row.promoted_by) == (False, "customer trial", "qa-anna")
    assert production_history(db)[0].gate_text() == "⚠ OVERRIDE: customer trial"

    promote(db, good, load_card(good), "qa-bob", PASSED)
    active = queries.active_model(db)
    assert active.sha256 == sha(good)
    assert override_mark(db, active.sha256) is None
    # the mark belongs to the model: it is still there (e.g. if QA rolls back to it)
    assert override_mark(db, sha(blind)) == "customer trial"
    rollback(db, "qa-bob", to_sha=sha(blind))
    assert override_mark(db, queries.active_model(db).sha256) == "customer trial"


def test_rollback_after_a_failed_override_returns_to_the_shipped_model(
    db: Database, shipped: Path, candidates: dict[str, Path]
) -> None:
    """The reported case: override-promote a TPR 0 % model, then "Roll back" must work."""
    ensure_shipped_production_model(db, "station", shipped)
    blind = candidates["blind"]
    promote(db, blind, load_card(blind), "qa-anna", FAILED, override_reason="trial")
    back = rollback(db, "qa-anna")
    assert back.sha256 == sha(shipped)
    assert queries.active_model(db).sha256 == sha(shipped)


def test_rollback_reaches_the_first_registered_model_in_one_step(
    db: Database, shipped: Path, candidates: dict[str, Path]
) -> None:
    ensure_shipped_production_model(db, "station", shipped)
    good, good2, blind = candidates["good"], candidates["good2"], candidates["blind"]
    promote(db, good, load_card(good), "qa", PASSED)
    promote(db, good2, load_card(good2), "qa", PASSED)
    promote(db, blind, load_card(blind), "qa", FAILED, override_reason="trial")
    assert [e.sha256 for e in production_history(db)] == [sha(blind), sha(good2), sha(good), sha(shipped)]

    back = rollback(db, "qa-carl", to_sha=sha(shipped), reason="back to the known model")
    assert back.sha256 == sha(shipped)
    assert queries.active_model(db).sha256 == sha(shipped)
    ev_ = queries.audit_events(db, action="model.rollback")[0]
    assert ev_.actor == "qa-carl"
    assert (ev_.details["from"], ev_.details["to"]) == (sha(blind), sha(shipped))
    assert production_history(db)[0].promoted_by == "qa-carl"

    with pytest.raises(ValueError, match="already"):
        rollback(db, "qa", to_sha=sha(shipped))
    never = build_tiny_model(
        shipped.parent.parent / "never" / "model.onnx", level=0.7, card={"name": "never"}
    )
    queries.register_model(db, load_card(never), never)  # known, but never production
    with pytest.raises(LookupError, match="never production"):
        rollback(db, "qa", to_sha=sha(never))
    # a production model whose file changed since is refused, not loaded
    good2_sha = sha(good2)
    good2.write_bytes(never.read_bytes())
    with pytest.raises(ValueError, match="changed"):
        rollback(db, "qa", to_sha=good2_sha)
    assert queries.active_model(db).sha256 == sha(shipped)


def test_choose_production_model_refuses_a_missing_or_changed_file(
    db: Database, shipped: Path, candidates: dict[str, Path]
) -> None:
    ensure_shipped_production_model(db, "station", shipped)
    good, blind = candidates["good"], candidates["blind"]
    promote(db, good, load_card(good), "qa", PASSED)
    promote(db, blind, load_card(blind), "qa", FAILED, override_reason="trial")
    choice = choose_production_model(db)
    assert (choice.entry.sha256, choice.fallback, choice.refused) == (sha(blind), False, [])
    assert choice.entry.overridden

    blind.write_bytes(good.read_bytes())  # same path, other model
    choice = choose_production_model(db)
    assert choice.fallback
    assert choice.entry.sha256 == sha(good)  # the previous production model
    ((refused, why),) = choice.refused
    assert refused.sha256 == choice.active.sha256
    assert "changed" in why

    good.unlink()
    shipped.unlink()
    choice = choose_production_model(db)
    assert choice.entry is None
    assert len(choice.refused) == 3
    assert any("not found" in why for _, why in choice.refused)


def test_migration_0003_keeps_the_override_mark_of_earlier_promotions(tmp_path: Path) -> None:
    from sqlalchemy import create_engine, text

    from db.session import upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0002")
    engine = create_engine(url)
    with engine.begin() as c:
        for s_, active in (("a" * 64, 0), ("b" * 64, 1)):
            c.execute(
                text(
                    "INSERT INTO model (sha256, name, path, card, created_at, promoted_at, is_active) "
                    "VALUES (:s, 'm', '', '{}', '2026-01-01', '2026-01-02', :a)"
                ),
                {"s": s_, "a": active},
            )
        events = [
            ("qa1", "model.promote.gate", {"sha256": "a" * 64, "gate_passed": True}),
            ("qa2", "model.promote.override", {"sha256": "b" * 64, "reason": "trial"}),
            ("qa2", "model.promote.gate", {"sha256": "b" * 64, "gate_passed": False}),
        ]
        for actor, action, details in events:
            c.execute(
                text(
                    "INSERT INTO audit_event (at, actor, action, details) VALUES ('2026-01-02', :a, :x, :d)"
                ),
                {"a": actor, "x": action, "d": json.dumps(details)},
            )
    upgrade(url, "0003")
    with engine.connect() as c:
        rows = c.execute(text("SELECT sha256, promoted_by, gate_passed, override_reason FROM model")).all()
    engine.dispose()
    assert sorted(rows) == [("a" * 64, "qa1", 1, None), ("b" * 64, "qa2", 0, "trial")]


# -- GUI: confirmation, mark, rollback ---------------------------------------------------------------
class Confirm:
    """Stands in for the modal dialog: records what it showed, then answers like QA would."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from inspector.ui.promotion_dialog import PromotionConfirmDialog

        self.answer = "cancel"  # cancel | accept | type+accept
        self.shown: list[dict[str, Any]] = []
        monkeypatch.setattr(PromotionConfirmDialog, "exec", lambda dialog: self.respond(dialog))

    def respond(self, dialog: Any) -> int:
        self.shown.append(
            {
                "gate": dialog.gate_label.text(),
                "rows": dialog.table.rowCount(),
                "cells": [
                    [dialog.table.item(r, c).text() for c in range(dialog.table.columnCount())]
                    for r in range(dialog.table.rowCount())
                ],
                "override": dialog.override,
                "reason": dialog.reason_label.text() if dialog.override else "",
                "enabled_before_typing": dialog.promote_button.isEnabled(),
            }
        )
        if self.answer == "cancel":
            dialog.buttons.rejected.emit()
            return QDialog.DialogCode.Rejected
        if self.answer == "type+accept":
            dialog.confirm_edit.setText("OVERRIDE")
            assert dialog.promote_button.isEnabled()
            dialog.promote_button.click()
            return dialog.result()
        return QDialog.DialogCode.Accepted  # "accept" without typing anything


def fake_scores(monkeypatch: pytest.MonkeyPatch, cand_metrics: Metrics, prod_metrics: Metrics) -> None:
    """evaluate_for_gate as the background task calls it, with fixed numbers (no trainer child)."""
    import inspector.ui.release_panel as rp

    def fake(candidate: Path, current: Path | None, *a: Any, **k: Any) -> Any:
        cur = (
            None if current is None else ModelEval(current, sha256_file(current), {VALIDATION: prod_metrics})
        )
        return ModelEval(candidate, sha256_file(candidate), {VALIDATION: cand_metrics}), cur, []

    monkeypatch.setattr(rp, "evaluate_for_gate", fake)


def make_run(root: Path, name: str, model: Path) -> Path:
    run = root / name
    (run / "export").mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"data": str(root)}), encoding="utf-8")
    (run / "export" / "model.onnx").write_bytes(model.read_bytes())
    return run


@pytest.fixture
def station(qtbot, db: Database, shipped: Path, tmp_path: Path) -> tuple[AppContext, Any, Any]:
    """A context running the registered shipped model, the release panel and the status bar."""
    from inspector.ui.release_panel import ReleasePanel
    from inspector.ui.status_bar import StationStatusBar

    ensure_shipped_production_model(db, "station:test", shipped)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("trainer/models_dir", str(tmp_path / "models"))
    ctx = AppContext(db, "test", settings, RECIPE, ModelState(shipped, load_card(shipped)))
    bar = StationStatusBar(ctx)
    qtbot.addWidget(bar)
    panel = ReleasePanel(ctx)
    qtbot.addWidget(panel)
    return ctx, panel, bar


def evaluate_run(qtbot, panel: Any, run: Path) -> None:
    from inspector.core.training_runs import read_run

    panel.set_run(read_run(run))  # whether it was exported: a job finds out (the runs table knows)
    panel.reviewed_check.setChecked(False)
    qtbot.waitUntil(panel.evaluate_button.isEnabled, timeout=10000)
    panel.evaluate_button.click()
    qtbot.waitUntil(lambda: panel.decision is not None or "failed" in panel.state_label.text(), timeout=10000)
    assert panel.decision is not None, panel.state_label.text()


def click_promote(qtbot, panel: Any) -> None:
    """Promote as QA does; the promotion runs off the UI thread: wait until it has ended."""
    panel.promote_button.click()
    qtbot.waitUntil(lambda: not panel.promoting(), timeout=10_000)
    qtbot.waitUntil(lambda: not panel.tasks.busy(), timeout=10_000)


def test_failed_gate_promotion_needs_confirmation_and_shows_the_gate_result(
    qtbot, station: tuple[AppContext, Any, Any], candidates: dict[str, Path], tmp_path: Path, monkeypatch
) -> None:
    ctx, panel, bar = station
    confirm = Confirm(monkeypatch)
    fake_scores(monkeypatch, make_metrics(tpr=0.0, escapes=10), make_metrics(tpr=1.0, escapes=0))
    evaluate_run(qtbot, panel, make_run(tmp_path / "runs2", "blind-run", candidates["blind"]))
    assert not panel.decision.passed
    ctx.set_role("qa", "qa-anna")
    assert not panel.promote_button.isEnabled()  # a failed gate needs the override and its reason
    panel.override_check.setChecked(True)
    qtbot.keyClicks(panel.override_reason, "customer trial, signed off")
    assert panel.promote_button.isEnabled()

    click_promote(qtbot, panel)  # QA cancels in the confirmation
    (shown,) = confirm.shown
    assert shown["gate"].startswith("FAILED")
    assert "TPR 0.0 %" in shown["gate"]
    assert shown["override"]
    assert "customer trial, signed off" in shown["reason"]
    assert not shown["enabled_before_typing"]  # OVERRIDE must be typed first
    assert shown["rows"] == 6
    assert ["validation", "TPR", "0.000", "1.000", "-1.000"] in shown["cells"]
    assert queries.active_model(ctx.db).sha256 == ctx.model.card.sha256  # nothing promoted
    assert queries.audit_events(ctx.db, action="model.promote.override") == []

    confirm.answer = "accept"  # an accepted dialog without the typed word still promotes nothing
    click_promote(qtbot, panel)
    assert queries.audit_events(ctx.db, action="model.promote.override") == []
    assert bar.override_label.isHidden()

    confirm.answer = "type+accept"
    click_promote(qtbot, panel)  # off the UI thread
    assert len(confirm.shown) == 3
    blind_sha = sha(candidates["blind"])
    assert queries.active_model(ctx.db).sha256 == blind_sha
    (override,) = queries.audit_events(ctx.db, action="model.promote.override")
    assert (override.actor, override.details["reason"]) == ("qa-anna", "customer trial, signed off")
    assert ctx.model.override_reason == "customer trial, signed off"
    assert not bar.override_label.isHidden()
    assert "OVERRIDE" in bar.override_label.text()
    assert "OVERRIDE" in panel.production_label.text()
    assert panel.history[0].sha256 == blind_sha
    assert "OVERRIDE" in panel.history_table.item(0, 5).text()


def test_a_passing_promotion_is_confirmed_too_and_clears_the_override_badge(
    qtbot, station: tuple[AppContext, Any, Any], candidates: dict[str, Path], tmp_path: Path, monkeypatch
) -> None:
    ctx, panel, bar = station
    blind, good = candidates["blind"], candidates["good"]
    promote(ctx.db, blind, load_card(blind), "qa-anna", FAILED, override_reason="trial")
    ctx.set_model(ModelState(blind, load_card(blind), override_reason="trial"))
    assert not bar.override_label.isHidden()

    confirm = Confirm(monkeypatch)
    fake_scores(monkeypatch, make_metrics(), make_metrics())
    evaluate_run(qtbot, panel, make_run(tmp_path / "runs2", "good-run", good))
    assert panel.decision.passed
    ctx.set_role("qa", "qa-bob")
    click_promote(qtbot, panel)  # cancelled
    assert queries.active_model(ctx.db).sha256 == sha(blind)
    assert not bar.override_label.isHidden()
    assert confirm.shown[0]["gate"].startswith("PASSED")
    assert not confirm.shown[0]["override"]
    confirm.answer = "accept"
    click_promote(qtbot, panel)
    assert queries.active_model(ctx.db).sha256 == sha(good)
    assert override_mark(ctx.db, sha(good)) is None
    assert bar.override_label.isHidden()
    assert "OVERRIDE" not in panel.production_label.text()


def test_rollback_to_the_first_registered_model_from_the_release_panel(
    qtbot, station: tuple[AppContext, Any, Any], candidates: dict[str, Path], shipped: Path
) -> None:
    ctx, panel, bar = station
    good, blind = candidates["good"], candidates["blind"]
    promote(ctx.db, good, load_card(good), "qa", PASSED)
    promote(ctx.db, blind, load_card(blind), "qa", FAILED, override_reason="trial")
    ctx.set_model(ModelState(blind, load_card(blind), override_reason="trial"))
    ctx.production_changed.emit()
    qtbot.waitUntil(lambda: not panel.tasks.busy(), timeout=10_000)  # off the UI thread
    assert [e.name for e in panel.history] == ["blind", "good", "shipped"]
    assert panel.history_table.rowCount() == 3
    assert panel.history_table.item(0, 0).text() == "▶ active"
    assert "OVERRIDE" in panel.history_table.item(0, 5).text()
    assert panel.history_table.item(2, 5).text() == "not gated (registered)"

    assert panel.select_history(sha(shipped))
    assert not panel.rollback_to_button.isEnabled()  # operators may not
    ctx.set_role("qa", "qa-carl")
    assert panel.rollback_to_button.isEnabled()
    panel.rollback_to_button.click()
    qtbot.waitUntil(lambda: not panel.tasks.busy(), timeout=10_000)  # off the UI thread
    assert queries.active_model(ctx.db).sha256 == sha(shipped)
    assert ctx.model.path == shipped
    assert ctx.model.override_reason == ""
    assert bar.override_label.isHidden()
    assert sha(shipped)[:8] in bar.model_label.text()
    assert panel.history[0].sha256 == sha(shipped)
    (ev_,) = queries.audit_events(ctx.db, action="model.rollback")
    assert (ev_.actor, ev_.details["from"], ev_.details["to"]) == ("qa-carl", sha(blind), sha(shipped))


# -- GUI: station start-up ---------------------------------------------------------------------------
def test_station_start_registers_the_shipped_model_and_marks_an_override_model(
    qtbot, tmp_path: Path, shipped: Path, candidates: dict[str, Path], monkeypatch
) -> None:
    from tests.ui_helpers import close_window, make_window

    window = make_window(qtbot, tmp_path, None, monkeypatch)
    try:
        db = window.ctx.db
        qtbot.waitUntil(lambda: queries.active_model(db) is not None, timeout=5000)
        assert queries.active_model(db).sha256 == sha(shipped)
        (event,) = queries.audit_events(db, action=INITIAL)
        assert event.actor == "station:test-station"
        assert window.ctx.model.path == shipped
        assert window.status.override_label.isHidden()
        qtbot.waitUntil(lambda: any("first production model" in t for _, t in window.messages.messages()))
        blind = candidates["blind"]
        promote(db, blind, load_card(blind), "qa-anna", FAILED, override_reason="customer trial")
    finally:
        close_window(window)

    window = make_window(qtbot, tmp_path, None, monkeypatch, name="w2")
    try:
        assert window.ctx.model.path == blind
        assert window.ctx.model.override_reason == "customer trial"
        assert not window.status.override_label.isHidden()
        warnings = [t for lvl, t in window.messages.messages() if lvl == "warning"]
        assert any("OVERRIDE" in t and "customer trial" in t for t in warnings)
        assert len(queries.audit_events(window.ctx.db, action=INITIAL)) == 1  # registered once only
    finally:
        close_window(window)


def test_station_start_refuses_a_changed_production_model_and_falls_back(
    qtbot, tmp_path: Path, shipped: Path, candidates: dict[str, Path], monkeypatch
) -> None:
    from tests.ui_helpers import close_window, make_window

    db = open_db(f"sqlite:///{tmp_path / 'station.db'}")
    ensure_shipped_production_model(db, "station", shipped)
    good, good2 = candidates["good"], candidates["good2"]
    promote(db, good, load_card(good), "qa", PASSED)
    promote(db, good2, load_card(good2), "qa", PASSED)
    good2_sha = sha(good2)
    good2.write_bytes(candidates["blind"].read_bytes())  # replaced behind the station's back
    db.dispose()

    window = make_window(qtbot, tmp_path, None, monkeypatch)
    try:
        assert window.ctx.model.path == good  # the previous production model
        msgs = window.messages.messages()
        assert any(lvl == "error" and "refused" in t and "changed" in t for lvl, t in msgs)
        assert any(lvl == "warning" and "previous production model" in t for lvl, t in msgs)
        assert queries.active_model(window.ctx.db).sha256 == good2_sha  # the database is not rewritten
        qtbot.waitUntil(
            lambda: bool(queries.audit_events(window.ctx.db, action="model.refused")), timeout=5000
        )
    finally:
        close_window(window)

    good.unlink()
    shipped.unlink()
    window = make_window(qtbot, tmp_path, None, monkeypatch, name="w3")
    try:
        assert window.status.model_label.text() == "Model: NONE"
        errors = [t for lvl, t in window.messages.messages() if lvl == "error"]
        assert any("No usable production model" in t for t in errors)
        assert window.live.start() is False
    finally:
        close_window(window)


# ---------------------------------------------------------------- promotion off the UI thread
def passed_evaluation(
    qtbot, station: tuple[AppContext, Any, Any], candidate: Path, tmp_path: Path, mp: pytest.MonkeyPatch
) -> tuple[AppContext, Any, Confirm, list[tuple[str, str]]]:
    """The release panel with ``candidate`` evaluated (gate passed) and QA logged in; the
    confirmation answers "accept"; the messages shown are recorded."""
    ctx, panel, _bar = station
    fake_scores(mp, make_metrics(), make_metrics())
    evaluate_run(qtbot, panel, make_run(tmp_path / "runs2", "good-run", candidate))
    assert panel.decision.passed
    ctx.set_role("qa", "qa-bob")
    confirm = Confirm(mp)
    confirm.answer = "accept"
    seen: list[tuple[str, str]] = []
    ctx.message.connect(lambda level, text: seen.append((level, text)))
    return ctx, panel, confirm, seen


def test_promotion_installs_and_writes_off_the_ui_thread_with_the_buttons_disabled(
    qtbot, station: tuple[AppContext, Any, Any], candidates: dict[str, Path], tmp_path: Path, monkeypatch
) -> None:
    import threading

    import inspector.ui.release_panel as rp

    ctx, panel, _confirm, _seen = passed_evaluation(qtbot, station, candidates["good"], tmp_path, monkeypatch)
    threads: dict[str, bool] = {}
    release = threading.Event()
    real_install, real_promote = rp.install_model, rp.promote

    def install(*a: Any, **k: Any) -> Path:
        threads["install"] = threading.current_thread() is threading.main_thread()
        assert release.wait(10), "the test never let the install finish"
        return real_install(*a, **k)

    def write(*a: Any, **k: Any) -> Any:
        threads["promote"] = threading.current_thread() is threading.main_thread()
        return real_promote(*a, **k)

    monkeypatch.setattr(rp, "install_model", install)
    monkeypatch.setattr(rp, "promote", write)

    assert panel.promote() is True
    qtbot.waitUntil(lambda: "install" in threads, timeout=10_000)  # held in the install
    assert panel.promoting()
    for button in (panel.promote_button, panel.rollback_button, panel.evaluate_button, panel.engine_button):
        assert not button.isEnabled(), button.text()
    assert panel.promote() is False  # no second promotion while one runs
    release.set()
    qtbot.waitUntil(lambda: not panel.promoting(), timeout=10_000)
    assert threads == {"install": False, "promote": False}  # neither on the UI (main) thread
    assert queries.active_model(ctx.db).sha256 == sha(candidates["good"])
    assert ctx.model.card.sha256 == sha(candidates["good"])


def test_a_failed_install_is_shown_and_production_is_unchanged(
    qtbot, station: tuple[AppContext, Any, Any], candidates: dict[str, Path], tmp_path: Path, monkeypatch
) -> None:
    import inspector.ui.release_panel as rp

    ctx, panel, _confirm, seen = passed_evaluation(qtbot, station, candidates["good"], tmp_path, monkeypatch)
    before = queries.active_model(ctx.db).sha256

    def full_disk(*_a: Any, **_k: Any) -> Path:
        raise OSError("No space left on device")

    monkeypatch.setattr(rp, "install_model", full_disk)
    click_promote(qtbot, panel)
    assert ("error", "Promotion failed: No space left on device") in seen
    assert queries.active_model(ctx.db).sha256 == before
    assert ctx.model.card.sha256 == before
    assert panel.decision is not None  # QA may try again
    assert panel.promote_button.isEnabled()


def test_a_production_model_changed_on_disk_since_the_evaluation_is_not_promoted(
    qtbot, station: tuple[AppContext, Any, Any], candidates: dict[str, Path], tmp_path: Path, monkeypatch
) -> None:
    ctx, panel, confirm, seen = passed_evaluation(qtbot, station, candidates["good"], tmp_path, monkeypatch)
    before = queries.active_model(ctx.db).sha256
    production = Path(ctx.model.path)
    production.write_bytes(production.read_bytes() + b"\0")  # replaced behind the station's back

    click_promote(qtbot, panel)
    assert confirm.shown == []  # nothing to confirm: the evaluation is out of date
    assert any(lvl == "warning" and "changed since the evaluation" in t for lvl, t in seen)
    assert panel.decision is None
    assert queries.active_model(ctx.db).sha256 == before


def test_a_check_that_comes_back_after_the_evaluation_was_cleared_is_dropped(
    qtbot, station: tuple[AppContext, Any, Any], candidates: dict[str, Path], tmp_path: Path, monkeypatch
) -> None:
    import threading

    import inspector.ui.release_panel as rp

    ctx, panel, confirm, _seen = passed_evaluation(qtbot, station, candidates["good"], tmp_path, monkeypatch)
    before = queries.active_model(ctx.db).sha256
    started, release = threading.Event(), threading.Event()
    real = rp.production_sha

    def slow(path: Path) -> str | None:
        started.set()
        assert release.wait(10)
        return real(path)

    monkeypatch.setattr(rp, "production_sha", slow)
    assert panel.promote() is True
    assert started.wait(10)
    panel.set_run(None)  # another run selected: the evaluation QA was about to promote is gone
    release.set()
    qtbot.waitUntil(lambda: not panel.promoting(), timeout=10_000)
    qtbot.wait(50)
    assert confirm.shown == []
    assert queries.active_model(ctx.db).sha256 == before


def test_the_engine_rebuild_checks_the_model_file_off_the_ui_thread(
    qtbot, station: tuple[AppContext, Any, Any], tmp_path: Path, monkeypatch
) -> None:
    """The Rebuild button follows a file check made by the panel's task runner; a rebuild of a
    model whose file is gone ends as failed, with a message, and starts no child process."""
    import dataclasses
    import sys
    import threading

    ctx, panel, _bar = station
    seen: list[tuple[str, str]] = []
    ctx.message.connect(lambda level, text: seen.append((level, text)))
    ctx.set_role("engineer", "erin")
    qtbot.waitUntil(panel.model_file_present, timeout=10_000)
    assert panel.engine_button.isEnabled()

    on_ui_thread: list[str] = []  # file checks the release panel made on the UI thread
    real_is_file, real_exists = Path.is_file, Path.exists

    def seen_from_the_panel(what: str, path: Path) -> None:
        caller = sys._getframe(2).f_code.co_filename
        if threading.current_thread() is threading.main_thread() and caller.endswith("release_panel.py"):
            on_ui_thread.append(f"{what} {path}")

    def is_file(self: Path) -> bool:
        seen_from_the_panel("is_file", self)
        return real_is_file(self)

    def exists(self: Path, *a: Any, **k: Any) -> bool:
        seen_from_the_panel("exists", self)
        return real_exists(self, *a, **k)

    monkeypatch.setattr(Path, "is_file", is_file)
    monkeypatch.setattr(Path, "exists", exists)
    started: list[list[str]] = []
    monkeypatch.setattr(panel.proc, "start", lambda cmd, cwd=None: started.append(cmd))

    gone = tmp_path / "gone" / "model.onnx"
    ctx.set_model(dataclasses.replace(ctx.model, path=gone))
    assert not panel.engine_button.isEnabled()  # no answer for this model yet
    qtbot.waitUntil(lambda: not panel.tasks.busy("release-model-file"), timeout=10_000)
    assert not panel.model_file_present()
    assert not panel.engine_button.isEnabled()
    assert panel.rebuild_engine() is False

    panel.build_engine(gone)  # e.g. the file vanished between the promotion and the build
    assert panel.engine_status == "building"
    qtbot.waitUntil(lambda: panel.engine_status != "building", timeout=10_000)
    assert panel.engine_status == "failed"
    assert started == []
    assert any(level == "error" and "no model file" in text for level, text in seen)
    assert on_ui_thread == []
