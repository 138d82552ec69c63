"""Wrong-model guard: a product whose model card does not fit the images is refused with a message
and nothing passes OK (GUI and CLI); the parts it saw are logged as ERROR and inspected again by a
rerun once the product is fixed; a defect rate far above the product's normal warns (audited)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt

from db import queries
from db.models import Inspection
from db.session import open_db
from inspector.cli.main import main
from inspector.core.backends.onnxruntime_backend import OnnxRuntimeBackend
from inspector.core.model_card import load_card
from inspector.core.recipe import Recipe
from inspector.core.types import Frame, Verdict
from inspector.services import products
from inspector.services.products import FrameGuard, GuardedPipeline, ImageSpec, ProductSpec, SourceSettings
from inspector.services.promotion import ensure_production_model
from tests.tiny_model import synthetic_image
from tests.ui_helpers import close_window, make_window

pytestmark = pytest.mark.filterwarnings("error")


def colour_folder(folder: Path, n: int = 4) -> Path:
    """Colour images (the channels really differ): not what a gray model was made for."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        gray = synthetic_image(64, defect=False, seed=i)[0]
        cv2.imwrite(str(folder / f"c_{i}.png"), np.dstack([gray, gray // 2, 255 - gray]))
    return folder


def defect_folder(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        cv2.imwrite(str(folder / f"d_{i:03d}.png"), synthetic_image(64, defect=True, seed=i)[0])
    return folder


def add_product(
    db, model: Path, folder: Path, name: str = "Gray part", **kw: object
) -> products.StoredProduct:
    card = load_card(model)
    ensure_production_model(db, card, model, "qa")
    if queries.get_recipe(db, "default", 1) is None:
        queries.save_recipe_version(db, Recipe(), "qa", "first")
    spec = ProductSpec(
        name=name,
        model_sha256=card.sha256,
        recipe_name="default",
        recipe_version=1,
        source=SourceSettings(kind="folder", spec=str(folder)),
        **kw,
    )  # type: ignore[arg-type]
    return products.create_product(db, spec, "qa")


def test_a_refused_frame_blocks_the_pipeline_for_good(tiny_model):
    card = load_card(tiny_model)
    seen: list[str] = []
    backend = OnnxRuntimeBackend(threads=1)
    backend.load(tiny_model)
    pipe = GuardedPipeline(
        backend, card, Recipe(), FrameGuard("P", card, ImageSpec(width=64, height=64)), on_refused=seen.append
    )
    try:
        ok = synthetic_image(64, defect=False, seed=1)[0]

        def frame(img: np.ndarray) -> Frame:
            return Frame(key="k", image=img, source="t", captured_at=datetime.now(UTC))

        assert pipe.inspect(frame(ok)).decision.verdict is Verdict.OK
        wrong = pipe.inspect(frame(np.zeros((32, 64), np.uint8)))
        assert wrong.decision.verdict is Verdict.ERROR
        assert "expects 64x64" in wrong.decision.reasons[0]
        # the same fitting image now: still ERROR (the product was refused; nothing passes)
        after = pipe.inspect(frame(ok))
        assert after.decision.verdict is Verdict.ERROR
        assert after.error_stage == "selftest"  # a blocked station's part: a rerun inspects it again
        assert len(seen) == 1
    finally:
        pipe.backend.close()


def test_gui_refuses_a_product_whose_model_does_not_fit_the_images(qtbot, tmp_path, tiny_model, monkeypatch):
    window = make_window(qtbot, tmp_path, tiny_model, monkeypatch)
    try:
        folder = colour_folder(tmp_path / "colour", n=4)
        add_product(window.ctx.db, tiny_model, folder)
        pc = window.products
        assert pc.choose("Gray part")
        qtbot.waitUntil(lambda: pc.product is not None, timeout=10000)
        live = window.live
        qtbot.mouseClick(live.start_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: live.last_summary is not None, timeout=15000)
        errors = [t for lvl, t in window.messages.messages() if lvl == "error"]
        assert any("Gray part REFUSED" in t and "colour" in t for t in errors)
        assert live.counters.counts["OK"] == 0
        window.live.controller.worker.flush_writer(5.0)
        with window.ctx.db.read() as s:
            rows = s.query(Inspection).all()
        assert rows  # every part it saw has its row ...
        assert {r.verdict for r in rows} == {"ERROR"}  # ... and none passed
        assert all("wrong model for these parts?" in r.reasons[0] for r in rows)
        assert live.last_summary.inspected == 1  # the run stopped at the first part that did not fit
        assert len(rows) == 1
        window.audit_log.close()
        refused = queries.audit_events(window.ctx.db, action="product.refused")
        assert refused
        assert refused[0].details["name"] == "Gray part"
    finally:
        close_window(window)


def test_gui_warns_when_the_defect_rate_jumps(qtbot, tmp_path, tiny_model, monkeypatch):
    window = make_window(qtbot, tmp_path, tiny_model, monkeypatch)
    try:
        folder = defect_folder(tmp_path / "bad", n=55)
        add_product(window.ctx.db, tiny_model, folder, normal_defect_rate=0.02)
        pc = window.products
        assert pc.choose("Gray part")
        qtbot.waitUntil(lambda: pc.product is not None, timeout=10000)
        live = window.live
        qtbot.mouseClick(live.start_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: live.last_summary is not None, timeout=30000)
        assert live.counters.counts["NG"] == 55
        warnings = [t for lvl, t in window.messages.messages() if "Wrong model for these parts?" in t]
        assert len(warnings) == 1  # once, not per part
        assert {lv for lv, t in window.messages.messages() if "Wrong model" in t} == {"warning"}
        assert "normal rate is 2.0 %" in warnings[0]
        window.audit_log.close()
        events = queries.audit_events(window.ctx.db, action="product.defect_rate_warning")
        assert len(events) == 1
        assert events[0].details["rate"] == 1.0
    finally:
        close_window(window)


def test_cli_refuses_the_product_logs_error_rows_and_a_fixed_product_inspects_them_again(
    tmp_path, tiny_model, capsys, monkeypatch
):
    monkeypatch.setenv("INSPECTOR_DATA_DIR", str(tmp_path / "data"))
    url = f"sqlite:///{tmp_path / 'c.db'}"
    folder = colour_folder(tmp_path / "colour", n=3)
    db = open_db(url)
    try:
        p = add_product(db, tiny_model, folder)
    finally:
        db.dispose()
    assert main(["inspect", "--product", p.name, "--db", url, "--no-progress"]) == 3
    err = capsys.readouterr().err
    assert "refused" in err
    assert "none passed" in err
    db = open_db(url)
    try:
        with db.read() as s:
            verdicts = [r.verdict for r in s.query(Inspection).all()]
        assert verdicts
        assert set(verdicts) == {"ERROR"}
        # QA says these are colour images on purpose: the next run inspects them (not "already logged")
        fixed = p.spec.model_copy(update={"image": ImageSpec(channels=3)})
        products.update_product(db, fixed, "qa")
    finally:
        db.dispose()
    assert main(["inspect", "--product", p.name, "--db", url, "--no-progress"]) in (0, 1)
    db = open_db(url)
    try:
        with db.read() as s:
            judged = [r.verdict for r in s.query(Inspection).all() if r.verdict != "ERROR"]
        assert len(judged) == 3
    finally:
        db.dispose()
