"""A model promoted by override keeps its mark in History: every part it judged says so."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from db import registry
from db.models import Inspection
from db.session import open_db
from inspector.core.model_card import load_card
from inspector.services.promotion import GateDecision, ensure_shipped_production_model, promote
from inspector.services.queries_extra import load_stored_view
from inspector.ui.history_panel import InspectionDetailView
from tests.tiny_model import build_tiny_model

FAILED = GateDecision(False, ["validation: TPR 0.0 % is lower than production's 100.0 %"])


def _log(db, sha: str, key: str) -> int:
    now = datetime.now(UTC)
    with db.write() as s:
        row = Inspection(
            station_id=registry.ensure_station(s, "st", "host"),
            source="folder:/line",
            source_key=key,
            captured_at=now,
            inspected_at=now,
            model_id=registry.ensure_model(s, sha, "m"),
            recipe_id=registry.ensure_recipe(s, "default", 1, {}),
            backend="cpu",
            threshold=0.5,
            verdict="OK",
            reasons=["no defect regions"],
            timings={},
        )
        s.add(row)
        s.flush()
        return int(row.id)


def test_history_detail_marks_parts_judged_by_an_override_model(qtbot, tmp_path: Path) -> None:
    db = open_db(f"sqlite:///{tmp_path}/t.db")
    try:
        shipped = build_tiny_model(tmp_path / "shipped" / "model.onnx", card={"name": "shipped"})
        blind = build_tiny_model(tmp_path / "blind" / "model.onnx", level=10.0, card={"name": "blind"})
        ensure_shipped_production_model(db, "station", shipped)
        promote(db, blind, load_card(blind), "qa-anna", FAILED, override_reason="customer trial")
        by_blind = _log(db, load_card(blind).sha256, "/line/a.png")
        by_shipped = _log(db, load_card(shipped).sha256, "/line/b.png")

        view = load_stored_view(db, by_blind)
        assert view is not None
        assert view.model_override == "customer trial"
        detail = InspectionDetailView()
        qtbot.addWidget(detail)
        detail.show_view(view)
        assert "OVERRIDE" in detail.header.text()
        assert "customer trial" in detail.header.text()

        clean = load_stored_view(db, by_shipped)
        assert clean is not None
        assert clean.model_override is None
        detail.show_view(clean)
        assert "OVERRIDE" not in detail.header.text()
    finally:
        db.dispose()
