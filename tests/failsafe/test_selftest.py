"""A verified model or nothing: the golden-sample self-test (inspector/core/selftest.py).

The station runs it at start-up and when the model, recipe or backend changes; when it fails,
every part is logged as ERROR with the reason (never OK). Broken model outputs are refused at
load by the output-sanity probes, a card written for another model file is refused, and a card
without golden samples leaves the model "unverified" (refused unless --allow-unverified).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspector.cli import exitcodes
from inspector.cli.main import main
from inspector.core.backends.onnxruntime_backend import OnnxRuntimeBackend
from inspector.core.model_card import CardMismatchError, copy_golden, load_card, verify_card
from inspector.core.paths import default_recipe_path, shipped_model
from inspector.core.pipeline import Pipeline
from inspector.core.recipe import Recipe, load_recipe, save_recipe
from inspector.core.selftest import NO_GOLDEN, SelfTestReport, run_selftest
from tests.failsafe.broken_models import scaled_output_model
from tests.test_cli import _inspect
from tests.tiny_model import build_tiny_model, synthetic_image

SHIPPED = ("demo", "dagm-class1", "dagm-class1-fp32")
ROOT = Path(__file__).resolve().parents[2]


def _rows(db: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(db) as con:
        return con.execute("select verdict, reasons, error_stage from inspection").fetchall()


def _edit_card(model: Path, **changes: object) -> None:
    card = model.with_suffix(".json")
    data = json.loads(card.read_text())
    data.update(changes)
    card.write_text(json.dumps(data))


def _golden(model: Path) -> list[dict]:
    return json.loads(model.with_suffix(".json").read_text())["golden"]


def _selftest(model: Path, *extra: str) -> int:
    return main(["selftest", "--model", str(model), "--backend", "onnxruntime", "--threads", "1", *extra])


def _report(model: Path, recipe: Recipe | None = None, **kw: bool) -> SelfTestReport:
    backend = OnnxRuntimeBackend(threads=1)
    backend.load(model)
    try:
        return run_selftest(Pipeline(backend, verify_card(load_card(model), model), recipe or Recipe()), **kw)
    finally:
        backend.close()


def _assert_all_blocked(db: Path, why: str) -> None:
    rows = _rows(db)
    assert rows, "every part must have a row"
    assert {v for v, _, _ in rows} == {"ERROR"}  # none OK, none judged by an untested model
    for _, reasons, stage in rows:
        assert stage == "selftest"
        assert "not inspected (selftest): self-test failed" in reasons
        assert why in reasons


# --- findings: broken models and mismatched cards were used without complaint ------------------


@pytest.mark.parametrize(("factor", "why"), [(float("nan"), "non-finite"), (-1.0, "outside [0, 1]")])
def test_a_broken_model_is_refused_at_load(
    factor: float, why: str, image_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = scaled_output_model(tmp_path / "m" / "broken.onnx", factor)
    assert _selftest(model) == exitcodes.USAGE
    out = capsys.readouterr().out
    assert "probe: mid-grey" in out
    assert why in out
    assert "FAIL" in out

    db = tmp_path / "v.db"
    assert _inspect(image_folder, model, db) == exitcodes.UNREADABLE
    assert "SELF-TEST FAILED" in capsys.readouterr().err
    _assert_all_blocked(db, why)
    assert len(_rows(db)) == 6


def test_the_output_probes_run_even_without_golden_samples(tmp_path: Path) -> None:
    model = scaled_output_model(tmp_path / "m" / "nan.onnx", float("nan"))
    _edit_card(model, golden=[])
    report = _report(model, allow_unverified=True)  # even "allowed" cannot pass a NaN model
    assert not report.passed
    assert report.unverified
    assert [c.name for c in report.failed] == ["probe: mid-grey 64x64", "probe: noise 64x64"]
    assert "non-finite" in report.reason


def test_a_card_for_another_model_file_is_refused(
    tmp_path: Path, image_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = build_tiny_model(tmp_path / "m" / "tiny.onnx")
    _edit_card(model, sha256="0" * 64)
    # tools still read it, and see why
    card = load_card(model)
    assert card.model_extra["card_sha_mismatch"] == "0" * 64
    with pytest.raises(CardMismatchError, match="written for another model file"):
        verify_card(card, model)
    # the station refuses it: exit 2, nothing inspected
    db = tmp_path / "v.db"
    assert _inspect(image_folder, model, db) == exitcodes.USAGE
    assert "written for another model file" in capsys.readouterr().err
    assert not db.exists() or not _rows(db)
    assert _selftest(model) == exitcodes.USAGE
    assert "written for another model file" in capsys.readouterr().err


# --- golden samples ----------------------------------------------------------------------------


def test_the_tiny_model_passes_and_the_report_reads_well(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = _report(tiny_model)
    assert report.passed, report.lines()
    assert not report.unverified
    assert [c.expected for c in report.checks[2:]] == ["OK", "NG/REVIEW, >= 1 region(s)"]
    assert report.duration_s < 5
    assert _selftest(tiny_model, "--json") == exitcodes.OK
    data = json.loads(capsys.readouterr().out)
    assert data["passed"] is True
    assert len(data["checks"]) == 4
    assert {c["passed"] for c in data["checks"]} == {True}


def test_a_golden_sample_that_disagrees_blocks_inspection(
    tmp_path: Path, image_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = build_tiny_model(tmp_path / "m" / "tiny.onnx")
    golden = _golden(model)
    golden[0]["expected"] = "NG"  # the clean reference image: the model (rightly) says OK
    _edit_card(model, golden=golden)
    db = tmp_path / "v.db"
    assert _inspect(image_folder, model, db) == exitcodes.UNREADABLE
    err = capsys.readouterr().err
    assert "SELF-TEST FAILED" in err
    assert "golden/tiny_ok.png" in err
    _assert_all_blocked(db, "golden/tiny_ok.png: expected NG/REVIEW, got OK")
    assert len(_rows(db)) == 6
    assert _selftest(model) == exitcodes.USAGE
    assert "golden/tiny_ok.png" in capsys.readouterr().out


def test_expected_ng_means_flagged_and_uses_the_active_recipe(tiny_model: Path) -> None:
    # a REVIEW still does not pass the part unattended: it counts as "flagged"
    review = Recipe(name="review-only", max_count=None, level_review=0.5)
    report = _report(tiny_model, review)
    assert report.passed, report.lines()
    assert "REVIEW" in report.checks[-1].got
    # a recipe under which the reference defect passes as OK is refused with this model
    blind = Recipe(name="blind", min_area_px=100_000)
    report = _report(tiny_model, blind)
    assert not report.passed
    assert report.failed[0].name == "golden/tiny_ng.png"
    assert "expected NG/REVIEW, >= 1 region(s), got OK" in report.reason
    assert (report.recipe_name, report.recipe_version) == ("blind", 1)


def test_the_self_test_recipe_is_the_one_inspect_uses(
    tmp_path: Path, image_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = build_tiny_model(tmp_path / "m" / "tiny.onnx")
    blind = tmp_path / "blind.json"
    save_recipe(Recipe(name="blind", min_area_px=100_000), blind)
    db = tmp_path / "v.db"
    assert _inspect(image_folder, model, db, "--recipe", str(blind)) == exitcodes.UNREADABLE
    _assert_all_blocked(db, "golden/tiny_ng.png")
    assert _selftest(model, "--recipe", str(blind)) == exitcodes.USAGE
    capsys.readouterr()


def test_a_swapped_golden_image_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = build_tiny_model(tmp_path / "m" / "tiny.onnx")
    golden_dir = model.parent / "golden"
    # another clean image of the same kind: the verdict would still be OK, the content is not the card's
    cv2.imwrite(str(golden_dir / "tiny_ok.png"), synthetic_image(64, defect=False, seed=7)[0])
    report = _report(model)
    assert not report.passed
    (bad,) = report.failed
    assert bad.name == "golden/tiny_ok.png"
    assert bad.got == "other image"
    assert "swapped or edited" in bad.why
    assert _selftest(model) == exitcodes.USAGE
    assert "swapped or edited" in capsys.readouterr().out
    # a missing one fails too
    (golden_dir / "tiny_ok.png").unlink()
    assert "image file not found" in _report(model).reason


def test_a_card_without_golden_samples_is_unverified_unless_allowed(
    tmp_path: Path, image_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = build_tiny_model(tmp_path / "m" / "tiny.onnx", card={"golden": []})
    assert _selftest(model) == exitcodes.USAGE
    assert NO_GOLDEN in capsys.readouterr().out

    db = tmp_path / "strict.db"
    assert _inspect(image_folder, model, db) == exitcodes.UNREADABLE
    err = capsys.readouterr().err
    assert NO_GOLDEN in err
    assert "--allow-unverified" in err
    _assert_all_blocked(db, NO_GOLDEN)

    db = tmp_path / "allowed.db"
    assert _inspect(image_folder, model, db, "--allow-unverified") == exitcodes.DEFECTS
    assert "UNVERIFIED" in capsys.readouterr().err  # allowed, never silently
    assert sorted(v for v, _, _ in _rows(db)) == ["NG"] * 3 + ["OK"] * 3


# --- the shipped models ------------------------------------------------------------------------


@pytest.mark.parametrize("name", SHIPPED)
def test_the_shipped_models_pass_their_self_test(name: str) -> None:
    model = shipped_model(name)
    card = load_card(model)
    verify_card(card, model)
    kinds = [g.expected for g in card.golden]
    assert 2 <= len(kinds) <= 6
    assert {"OK", "NG"} <= set(kinds)
    for g in card.golden:
        path = model.parent / g.image
        assert path.suffix == ".png"
        assert path.stat().st_size < 300_000
    report = _report(model, load_recipe(default_recipe_path()))
    assert report.passed, "\n".join(report.lines())
    assert not report.notes


# --- the GUI -----------------------------------------------------------------------------------


def test_gui_shows_a_red_banner_and_inspects_nothing_when_the_self_test_fails(
    qtbot, tmp_path: Path, image_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.ui_helpers import close_window, make_window, run_folder

    model = build_tiny_model(tmp_path / "m" / "model.onnx")
    golden = _golden(model)
    golden[1]["expected"] = "OK"  # the defect reference "should" pass: the model disagrees
    _edit_card(model, golden=golden)
    window = make_window(qtbot, tmp_path, model, monkeypatch)
    try:
        live = window.live
        banner = live.selftest_banner
        qtbot.waitUntil(banner.isVisible, timeout=10000)  # at start-up, before any Start
        assert "Self-test failed: station will not pass parts" in banner.title_label.text()
        assert "every part is logged as ERROR" in banner.title_label.text()
        assert "golden/model_ng.png" in banner.detail_label.text()
        assert any("Self-test failed" in t for lvl, t in window.messages.messages() if lvl == "error")
        run_folder(qtbot, window, image_folder)
        assert live.counters.counts["OK"] == 0
        assert live.counters.counts["ERROR"] == 6
        assert banner.isVisible()
    finally:
        close_window(window)


def test_gui_self_tests_a_new_recipe(qtbot, tmp_path: Path, tiny_model: Path, monkeypatch) -> None:
    from tests.ui_helpers import close_window, make_window

    window = make_window(qtbot, tmp_path, tiny_model, monkeypatch)
    try:
        live = window.live
        reports: list = []
        live.controller.worker.selftest_done.connect(reports.append)
        qtbot.waitUntil(lambda: live.selftest_banner.report is not None, timeout=10000)
        assert live.selftest_banner.report.passed
        assert not live.selftest_banner.isVisible()
        window.ctx.set_recipe(Recipe(name="blind", version=2, min_area_px=100_000))
        qtbot.waitUntil(lambda: any(r.recipe_name == "blind" for r in reports), timeout=10000)
        qtbot.waitUntil(live.selftest_banner.isVisible, timeout=5000)
        window.ctx.set_recipe(Recipe(name="ok-again", version=3))
        qtbot.waitUntil(lambda: not live.selftest_banner.isVisible(), timeout=10000)
    finally:
        close_window(window)


def test_gui_refuses_a_card_for_another_model(qtbot, tmp_path: Path, monkeypatch) -> None:
    from tests.ui_helpers import close_window, make_window

    model = build_tiny_model(tmp_path / "m" / "model.onnx")
    _edit_card(model, sha256="f" * 64)
    window = make_window(qtbot, tmp_path, model, monkeypatch)
    try:
        qtbot.waitUntil(
            lambda: any("written for another model file" in t for _, t in window.messages.messages()),
            timeout=10000,
        )
        assert window.live.controller.worker._backend is None  # nothing loaded, so nothing inspected
    finally:
        close_window(window)


def test_copy_golden_keeps_a_copied_model_verified(tmp_path: Path) -> None:
    model = build_tiny_model(tmp_path / "run" / "model.onnx")
    target = tmp_path / "installed" / "tiny-abc" / "model.onnx"
    target.parent.mkdir(parents=True)
    shutil.copy2(model, target)
    shutil.copy2(model.with_suffix(".json"), target.with_suffix(".json"))
    assert "image file not found" in _report(target).reason  # the card alone is not enough
    copies = copy_golden(model, target)
    assert sorted(p.name for p in copies) == ["model_ng.png", "model_ok.png"]
    assert _report(target).passed


# --- golden samples of newly exported models ---------------------------------------------------


def test_export_picks_correctly_decided_val_images(tmp_path: Path) -> None:
    from trainer.data.sample import Sample
    from trainer.golden import golden_from_evaluation

    data = tmp_path / "data"
    data.mkdir()
    samples, rows = [], []
    for i, (defective, verdict, max_prob, dice) in enumerate(
        [(False, "OK", 0.3, 1.0), (False, "OK", 0.1, 1.0), (False, "NG", 0.9, 0.0), (False, "OK", 0.2, 1.0),
         (True, "NG", 0.99, 0.4), (True, "OK", 0.2, 0.0), (True, "NG", 0.98, 0.8), (True, "REVIEW", 0.7, 0.6)]
    ):
        path = data / f"img{i}.png"
        cv2.imwrite(str(path), np.full((8, 8), i, np.uint8))
        samples.append(Sample(key=f"img{i}", image=path, mask=None, defective=defective))
        rows.append({"key": f"img{i}", "defective": defective, "verdict": verdict, "max_prob": max_prob,
                     "dice": dice, "n_regions": int(verdict != "OK")})
    out = tmp_path / "export"
    entries = golden_from_evaluation(rows, samples, out)
    assert [(e["expected"], e["origin"]) for e in entries] == [
        ("OK", "val split: img1"),
        ("OK", "val split: img3"),
        ("NG", "val split: img6"),
        ("NG", "val split: img7"),
    ]
    for e in entries:
        copied = out / e["image"]
        assert copied.parent == out / "golden"
        assert hashlib.sha256(copied.read_bytes()).hexdigest() == e["sha256"]
    assert all(e.get("min_regions") == 1 for e in entries if e["expected"] == "NG")


def test_make_golden_script_keeps_only_verified_samples(tmp_path: Path) -> None:
    """The script that made the shipped sets, here on the tiny model: every sample it writes is one
    whose verdict it verified, so the self-test passes on what it kept."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_golden", ROOT / "scripts" / "make_golden.py")
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    model = build_tiny_model(tmp_path / "m" / "tiny.onnx", card={"golden": []})
    shutil.rmtree(model.parent / "golden")
    rc = mod.main(["--model", str(model), "--out", str(model.parent / "golden"), "--size", "64",
                   "--tries", "6", "--threads", "1"])
    golden = _golden(model)
    assert golden, "at least the OK side"
    for g in golden:
        assert (model.parent / g["image"]).is_file()
    # whatever was kept passes: the script verified every sample it wrote
    report = _report(model, load_recipe(default_recipe_path()))
    assert all(c.passed for c in report.checks)
    assert rc == (0 if report.passed else 1)
