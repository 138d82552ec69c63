"""Products (jobs): storage, export/import as one file, resolving what the station loads, the
frame and defect-rate guards, the rows they stamp, and ``inspector product`` / ``inspect --product``."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from db import queries
from db.models import Inspection
from db.session import Database, open_db
from db.writer import RowContext, VerdictWriter
from inspector.cli.main import main
from inspector.core.model_card import load_card
from inspector.core.recipe import Recipe
from inspector.core.shifts import ShiftSchedule
from inspector.core.types import Frame, Verdict
from inspector.services import products
from inspector.services.products import (
    DefectRateGuard,
    FrameGuard,
    ImageSpec,
    LineSettings,
    ProductError,
    ProductExistsError,
    ProductSpec,
    SourceSettings,
)
from inspector.services.promotion import ensure_production_model
from tests.db_factories import make_result
from tests.tiny_model import synthetic_image


@pytest.fixture
def db(tmp_path: Path) -> Database:
    d = open_db(f"sqlite:///{tmp_path / 'p.db'}")
    yield d
    d.dispose()


def released(db: Database, model: Path) -> str:
    """Register ``model`` as production (released) and save the default recipe; its sha256."""
    card = load_card(model)
    ensure_production_model(db, card, model, "qa")
    queries.save_recipe_version(db, Recipe(name="default", version=1), "qa", "first")
    return card.sha256


def spec(sha: str, name: str = "Housing A, camera 2", **kw: object) -> ProductSpec:
    return ProductSpec(name=name, model_sha256=sha, recipe_name="default", recipe_version=1, **kw)


def test_create_list_update_and_audit(db, tiny_model, tmp_path):
    sha = released(db, tiny_model)
    src = SourceSettings.from_spec(str(tmp_path / "imgs"), recursive=True)
    p = products.create_product(db, spec(sha, source=src, description="left housing"), "anna")
    assert (p.name, p.revision, p.model_name, p.created_by) == ("Housing A, camera 2", 1, "tiny-test", "anna")
    assert [x.name for x in products.list_products(db)] == ["Housing A, camera 2"]
    got = products.get_product(db, "Housing A, camera 2")
    assert got is not None
    assert got.spec.source == src
    assert got.spec.source.source_spec() == str(tmp_path / "imgs")
    with pytest.raises(ProductExistsError):
        products.create_product(db, spec(sha), "anna")
    line = LineSettings(modbus_port=5020, mqtt="broker:1883/plant", triggered=True, deadline_s=1.5)
    upd = products.update_product(db, spec(sha, source=src, line_io=line), "ben")
    assert (upd.revision, upd.updated_by) == (2, "ben")
    assert upd.spec.line_io.describe() == "Modbus :5020 · MQTT broker:1883/plant · triggered (deadline 1.5 s)"
    events = {e.action: e for e in queries.audit_events(db)}
    assert events["product.create"].actor == "anna"
    assert events["product.update"].details["changed"] == ["description", "line_io"]


def test_create_refuses_unknown_model_or_recipe(db, tiny_model):
    sha = released(db, tiny_model)
    with pytest.raises(ProductError, match="not registered"):
        products.create_product(db, spec("0" * 64), "anna")
    with pytest.raises(ProductError, match="v7 is not in the database"):
        products.create_product(db, spec(sha).model_copy(update={"recipe_version": 7}), "anna")
    with pytest.raises(ValueError, match="MQTT broker"):
        LineSettings(mqtt="host:notaport")


def test_source_specs_round_trip():
    cases = {
        "demo": ("demo", ""),
        "hot:/line/drop": ("hot", "/line/drop"),
        "camera:0": ("camera", "0"),
        "rtsp://cam/1": ("camera", "rtsp://cam/1"),
        "genicam:/opt/p.cti": ("genicam", "genicam:/opt/p.cti"),
        "/data/run.mp4": ("video", "/data/run.mp4"),
        "/data/lot42": ("folder", "/data/lot42"),
    }
    for text, (kind, value) in cases.items():
        s = SourceSettings.from_spec(text)
        assert (s.kind, s.spec) == (kind, value)
        assert s.source_spec() == text


def test_export_import_carries_card_golden_and_recipe(db, tiny_model, tmp_path):
    sha = released(db, tiny_model)
    products.create_product(db, spec(sha, image=ImageSpec(width=64, height=64, channels=1)), "anna")
    path = products.write_export(db, "Housing A, camera 2", tmp_path / "p.json")
    doc = json.loads(path.read_text())
    assert doc["format"] == products.EXPORT_FORMAT
    assert doc["model"]["card"]["sha256"] == sha
    golden = load_card(tiny_model).golden
    assert sorted(g["sha256"] for g in doc["golden"]) == sorted(g.sha256 for g in golden)
    assert doc["recipe"]["params"]["threshold"] == 0.5

    other = open_db(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        # no model file here: imported, but it says the model is missing
        res = products.import_product(other, products.read_export(path), "ben")
        assert (res.created, res.model_registered, res.recipe_created) == (True, True, True)
        assert res.notes
        assert "no file on this station" in res.notes[0]
        with pytest.raises(ProductExistsError):
            products.import_product(other, doc, "ben")
        # the model file checked by its sha256, its golden samples by theirs
        res = products.import_product(other, doc, "ben", model_path=tiny_model, replace=True)
        assert (res.created, res.product.revision, res.notes) == (False, 2, ())
        assert res.model_path == str(tiny_model.resolve())
        wrong = tmp_path / "wrong.onnx"
        wrong.write_bytes(b"not the model")
        with pytest.raises(ProductError, match="is not the product's model"):
            products.import_product(other, doc, "ben", model_path=wrong, replace=True)
        tampered = json.loads(json.dumps(doc))
        tampered["golden"][0]["sha256"] = "0" * 64
        with pytest.raises(ProductError, match="golden-sample list"):
            products.import_product(other, tampered, "ben", replace=True)
        actions = [e.action for e in queries.audit_events(other)]
        assert actions.count("product.import") == 2
    finally:
        other.dispose()


def test_import_refuses_a_recipe_version_with_other_parameters(db, tiny_model, tmp_path):
    sha = released(db, tiny_model)
    products.create_product(db, spec(sha), "anna")
    doc = products.export_product(db, "Housing A, camera 2")
    other = open_db(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        queries.save_recipe_version(other, Recipe(name="default", version=1, threshold=0.7), "qa", "local")
        with pytest.raises(ProductError, match="other parameters"):
            products.import_product(other, doc, "ben", model_path=tiny_model)
    finally:
        other.dispose()


def test_resolve_checks_release_file_and_recipe(db, tiny_model, tmp_path):
    sha = released(db, tiny_model)
    products.create_product(db, spec(sha), "anna")
    rp = products.resolve_product(db, "Housing A, camera 2")
    assert rp.model_path == tiny_model
    assert (rp.card.sha256, rp.recipe.version, rp.baseline_rate, rp.override_reason) == (sha, 1, None, "")
    with pytest.raises(ProductError, match="no product named"):
        products.resolve_product(db, "nothing")
    # a model nobody released does not run on the line
    from tests.tiny_model import build_tiny_model

    other = build_tiny_model(tmp_path / "b" / "b.onnx", gain=30.0, card={"name": "tiny-b"})
    info = queries.register_model(db, load_card(other), other)
    products.create_product(db, spec(info.sha256, name="B"), "anna")
    with pytest.raises(ProductError, match="never released"):
        products.resolve_product(db, "B")
    queries.promote_model(db, info.sha256, "qa")
    assert products.resolve_product(db, "B").card.name == "tiny-b"
    other.unlink()  # the file went away: refused with the reason
    with pytest.raises(ProductError, match="model file not found"):
        products.resolve_product(db, "B")


def frame(image: np.ndarray) -> Frame:
    from datetime import UTC, datetime

    return Frame(key="k", image=image, source="t", captured_at=datetime.now(UTC))


def test_frame_guard_channels_size_and_aspect(tiny_model):
    card = load_card(tiny_model)
    gray = synthetic_image(64, defect=False, seed=1)[0]
    assert FrameGuard("P", card)(frame(gray)) is None
    assert FrameGuard("P", card)(frame(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))) is None  # gray stored as BGR
    colour = np.dstack([gray, gray // 2, 255 - gray])
    why = FrameGuard("P", card)(frame(colour))
    assert why is not None
    assert "colour" in why
    assert "wrong model" in why
    assert FrameGuard("P", card, ImageSpec(channels=3))(frame(colour)) is None  # said so: accepted
    assert "gray" in (FrameGuard("P", card, ImageSpec(channels=3))(frame(gray)) or "")
    guard = FrameGuard("P", card, ImageSpec(width=64, height=64))
    assert guard(frame(gray)) is None
    assert "expects 64x64" in (guard(frame(np.zeros((48, 64), np.uint8))) or "")
    assert guard.refused is not None
    warned: list[str] = []
    resize = card.model_copy(update={"resize": "resize"})
    g2 = FrameGuard("P", resize, on_warning=warned.append)
    assert g2(frame(np.zeros((64, 200), np.uint8))) is None  # only a warning
    assert g2(frame(np.zeros((64, 200), np.uint8))) is None
    assert len(warned) == 1
    assert "stretched 3.1x" in warned[0]


def test_defect_rate_guard_warns_once_per_jump():
    guard = DefectRateGuard(0.04)  # limit max(20 %, 3 x 4 %) = 20 %
    assert guard.limit == pytest.approx(0.20)
    for _ in range(50):
        assert guard.add(Verdict.OK) is None
    texts = [guard.add(Verdict.NG) for _ in range(11)]  # 11/50 = 22 % > 20 %
    assert [t is not None for t in texts] == [False] * 10 + [True]
    assert "Wrong model for these parts?" in texts[-1]
    assert "normal rate is 4.0 %" in texts[-1]
    assert all(guard.add(Verdict.NG) is None for _ in range(5))  # once until it falls back
    for _ in range(50):
        guard.add(Verdict.OK)
    assert guard.add(Verdict.ERROR) is None  # not judged: not counted
    assert sum(guard.add(Verdict.NG) is not None for _ in range(11)) == 1  # re-armed
    high = DefectRateGuard(0.10)
    assert high.limit == pytest.approx(0.30)
    assert DefectRateGuard(None).limit == pytest.approx(products.NO_BASELINE_RATE)


def test_writer_stamps_product_and_shift_and_long_run_rate(db, tiny_model):
    sha = released(db, tiny_model)
    p = products.create_product(db, spec(sha), "anna")
    shifts = ShiftSchedule.parse("06:00,14:00,22:00")
    w = VerdictWriter(db, "st", recipes=[Recipe()], context=RowContext(product_id=p.id, shifts=shifts))
    futs = [
        w.submit(make_result(f"/d/{i}.png", Verdict.NG if i % 10 == 0 else Verdict.OK)) for i in range(250)
    ]
    w.set_context(RowContext())
    late = w.submit(make_result("/d/late.png"))
    w.close()
    ids = [f.result() for f in futs]
    with db.read() as s:
        row = s.get(Inspection, ids[0])
        assert (row.product_id, row.lot_id, row.shift) == (p.id, None, shifts.label(row.inspected_at))
        assert s.get(Inspection, late.result()).product_id is None
    rate, n = products.long_run_rate(db, p.id)
    assert n == 250
    assert rate == pytest.approx(0.1)
    assert products.resolve_product(db, p.name).baseline_rate == pytest.approx(0.1)


def test_cli_create_list_show_export_import(tmp_path, tiny_model, capsys, monkeypatch):
    monkeypatch.setenv("INSPECTOR_DATA_DIR", str(tmp_path / "data"))
    url = f"sqlite:///{tmp_path / 'c.db'}"
    recipe = tmp_path / "r.json"
    recipe.write_text(Recipe(name="housing", version=3).model_dump_json())
    assert (
        main(
            [
                "product",
                "create",
                "Housing A",
                "--model",
                str(tiny_model),
                "--recipe",
                str(recipe),
                "--source",
                "hot:/line/drop",
                "--modbus",
                "5020",
                "--image",
                "64x64",
                "--db",
                url,
                "--by",
                "anna",
            ]
        )
        == 0
    )
    out = capsys.readouterr()
    assert "created (revision 1)" in out.out
    assert "never released" in out.err
    assert main(["product", "list", "--db", url]) == 0
    assert "Housing A" in capsys.readouterr().out
    assert main(["product", "show", "Housing A", "--db", url]) == 0
    shown = capsys.readouterr().out
    assert "hot /line/drop" in shown
    assert "Modbus :5020" in shown
    assert "64x64" in shown
    assert (
        main(
            [
                "product",
                "create",
                "Housing A",
                "--model",
                str(tiny_model),
                "--recipe",
                "housing@3",
                "--db",
                url,
                "--update",
            ]
        )
        == 0
    )
    assert "updated (revision 2)" in capsys.readouterr().out
    out_file = tmp_path / "housing.json"
    assert main(["product", "export", "Housing A", str(out_file), "--db", url]) == 0
    other = f"sqlite:///{tmp_path / 'o.db'}"
    assert main(["product", "import", str(out_file), "--model", str(tiny_model), "--db", other]) == 0
    assert "imported (revision 1); model registered; recipe version created" in capsys.readouterr().out
    assert main(["product", "import", str(out_file), "--db", other]) == 2
    assert "exists already" in capsys.readouterr().err
    assert main(["product", "show", "nope", "--db", url]) == 2


def test_inspect_product_uses_its_model_recipe_source_and_stamps_rows(
    tmp_path, tiny_model, image_folder, capsys, monkeypatch
):
    monkeypatch.setenv("INSPECTOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("INSPECTOR_SHIFTS", "06:00,18:00")
    url = f"sqlite:///{tmp_path / 'c.db'}"
    db = open_db(url)
    try:
        sha = released(db, tiny_model)
        p = products.create_product(db, spec(sha, source=SourceSettings.from_spec(str(image_folder))), "anna")
    finally:
        db.dispose()
    assert main(["inspect", "--db", url, "--no-progress", "--station", "s1"]) == 2  # no source, no product
    assert "--product" in capsys.readouterr().err
    code = main(["inspect", "--product", p.name, "--db", url, "--no-progress", "--station", "s1"])
    assert code == 1  # NG parts found
    db = open_db(url)
    try:
        with db.read() as s:
            rows = s.query(Inspection).all()
        assert len(rows) == 6
        assert {r.product_id for r in rows} == {p.id}
        schedule = ShiftSchedule.parse("06:00,18:00")
        assert {r.shift for r in rows} == {schedule.label(rows[0].inspected_at)}
        assert any(e.action == "product.select" and e.actor == "cli:s1" for e in queries.audit_events(db))
    finally:
        db.dispose()
    assert main(["inspect", "--product", p.name, "--model", str(tiny_model), "--db", url]) == 2
    assert "leave out --model" in capsys.readouterr().err
