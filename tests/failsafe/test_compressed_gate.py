"""A compressed model (a distilled student, INT8) reaches production only through the gate
against the FP32 model: TPR not lower, TNR lower by at most one image in a hundred, Dice on
defective images within 0.01, and its golden samples passing. QA may tighten those limits, never
loosen them; a golden-sample failure refuses any candidate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from inspector.core.model_card import load_card
from inspector.core.recipe import Recipe
from inspector.services.promotion import (
    COMPRESSED_LIMITS,
    VALIDATION,
    Compression,
    GateRules,
    GoldenCheck,
    Metrics,
    ModelEval,
    compression_of,
    gate,
)
from inspector.services.promotion_eval import check_golden, evaluate_pair
from tests.tiny_model import build_tiny_model

INT8 = Compression("int8", "t" * 64)
GOLDEN_OK = GoldenCheck(True, "", 2)


def metrics(**kw: Any) -> Metrics:
    # 100 good + 20 defective images: one good image is 1 pp of TNR
    base: dict[str, Any] = {
        "dice_defective": 0.86,
        "dice_all": 0.98,
        "tpr": 1.0,
        "tnr": 1.0,
        "false_rejects": 0,
        "escapes": 0,
        "n_images": 120,
        "n_defective": 20,
    }
    return Metrics(**{**base, **kw})


def teacher() -> ModelEval:
    return ModelEval(Path("fp32.onnx"), "t" * 64, {VALIDATION: metrics()}, GOLDEN_OK)


def student(golden: GoldenCheck | None = GOLDEN_OK, comp: Compression = INT8, **kw: Any) -> ModelEval:
    return ModelEval(Path("int8.onnx"), "c" * 64, {VALIDATION: metrics(**kw)}, golden, comp)


def test_a_student_within_the_limits_passes() -> None:
    d = gate(student(tnr=0.99, false_rejects=1, dice_defective=0.851), teacher())
    assert d.passed, d.reasons
    assert any("compressed candidate (int8" in n for n in d.notes)


@pytest.mark.parametrize(
    ("kw", "why"),
    [
        ({"tnr": 0.98, "false_rejects": 2}, "TNR 98.0 % is more than 1.0 pp below"),
        ({"tpr": 0.95, "escapes": 1}, "TPR 95.0 % is lower"),
        ({"dice_defective": 0.845}, "Dice defective 0.845 is more than 0.010 below"),
    ],
)
def test_a_student_that_loses_accuracy_is_refused_even_with_loose_qa_tolerances(
    kw: dict[str, Any], why: str
) -> None:
    loose = GateRules(
        tpr_tolerance=0.1, max_extra_escapes=5, tnr_tolerance=0.05, dice_defective_tolerance=0.1
    )
    d = gate(student(**kw), teacher(), loose)
    assert not d.passed
    assert any(why in r for r in d.reasons), d.reasons
    # the same numbers from a plain FP32 retrain pass under those (QA's) tolerances
    assert gate(student(comp=Compression("fp32", None), **kw), teacher(), loose).passed


def test_stricter_qa_tolerances_still_apply_to_a_student() -> None:
    strict = GateRules(tnr_tolerance=0.0)
    assert not gate(student(tnr=0.99, false_rejects=1), teacher(), strict).passed
    assert strict.capped(COMPRESSED_LIMITS).tnr_tolerance == 0.0


def test_golden_samples_must_pass() -> None:
    failed = GoldenCheck(False, "self-test failed: golden/ok_1.png: expected OK, got NG", 4)
    d = gate(student(golden=failed), teacher())
    assert not d.passed
    assert any("golden samples: self-test failed" in r for r in d.reasons)
    # not checked: refused for a compressed model, a note for a plain one
    d = gate(student(golden=None), teacher())
    assert not d.passed
    assert any("golden samples were not checked" in r for r in d.reasons)
    plain = gate(student(golden=None, comp=Compression("fp32", None)), teacher())
    assert plain.passed
    assert "golden samples not checked" in plain.notes
    # a failing golden check refuses a plain candidate too: the station would block on it
    assert not gate(student(golden=failed, comp=Compression("fp32", None)), teacher()).passed


def test_a_student_needs_a_model_to_be_compared_with() -> None:
    d = gate(student(), None)
    assert not d.passed
    assert any("needs a production model" in r for r in d.reasons)


def test_a_student_of_another_teacher_is_compared_with_production_and_says_so() -> None:
    d = gate(student(comp=Compression("int8", "x" * 64)), teacher())
    assert d.passed
    assert any("distilled from xxxxxxxxxxxx, not from the production model" in n for n in d.notes)


def test_the_card_says_what_compression_a_model_has(tmp_path: Path) -> None:
    model = build_tiny_model(tmp_path / "m" / "tiny.onnx")
    assert compression_of(load_card(model)) == Compression("fp32", None)
    card = json.loads(model.with_suffix(".json").read_text())
    card |= {"precision": "INT8", "teacher": {"sha256": "a" * 64, "name": "dagm-class1-fp32"}}
    model.with_suffix(".json").write_text(json.dumps(card))
    comp = compression_of(load_card(model))
    assert comp == Compression("int8", "a" * 64)
    assert comp.compressed


def test_the_golden_check_runs_the_candidates_self_test(tmp_path: Path) -> None:
    model = build_tiny_model(tmp_path / "m" / "tiny.onnx")
    ok = check_golden(model, Recipe())
    assert ok.passed
    assert ok.n_samples == 2
    next((tmp_path / "m" / "golden").glob("*ok*.png")).unlink()  # a golden image left behind
    bad = check_golden(model, Recipe())
    assert not bad.passed
    assert "image file not found" in bad.reason
    broken = tmp_path / "broken" / "model.onnx"
    broken.parent.mkdir()
    broken.write_bytes(b"not a model")
    assert not check_golden(broken).passed


def test_scoring_a_pair_records_the_golden_check_and_the_compression(tmp_path: Path) -> None:
    cand = build_tiny_model(tmp_path / "c" / "tiny.onnx")
    card = json.loads(cand.with_suffix(".json").read_text())
    card |= {"precision": "int8", "teacher": {"sha256": "b" * 64}}
    cand.with_suffix(".json").write_text(json.dumps(card))
    prod = build_tiny_model(tmp_path / "p" / "tiny.onnx")
    scored = {
        "dice_defective": 0.8,
        "dice_all": 0.9,
        "tpr": 1.0,
        "tnr": 1.0,
        "fp": 0,
        "fn": 0,
        "n_images": 10,
        "n_defective": 2,
    }
    c, p = evaluate_pair(cand, prod, [(VALIDATION, None)], evaluator=lambda *_: scored)  # type: ignore[list-item]
    assert c.golden is not None
    assert c.golden.passed
    assert c.compression == Compression("int8", "b" * 64)
    assert p is not None
    assert p.golden is None
