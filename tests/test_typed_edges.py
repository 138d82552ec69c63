"""One ONNX Runtime session factory, one set of contract tensor names, one mask Dice."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from inspector.core.contract import INPUT_NAME, OUTPUT_NAME
from inspector.core.metrics import mask_dice, mask_iou

ROOT = Path(__file__).resolve().parents[1]
FACTORY = ROOT / "inspector" / "core" / "backends" / "onnxruntime_backend.py"


def _sources() -> list[Path]:
    return [p for d in ("inspector", "trainer", "bench") for p in sorted((ROOT / d).rglob("*.py"))]


def test_sessions_are_made_in_one_place():
    makers = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in _sources()
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if "InferenceSession(" in line and not line.lstrip().startswith("#")
    ]
    assert makers == [f"{FACTORY.relative_to(ROOT)}:{_factory_line()}"], makers


def _factory_line() -> int:
    lines = FACTORY.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if "InferenceSession(" in line)


# a tensor named by a literal: sess.run(["mask"], {"image": x}), get_tensor("mask"), name="image"
_LITERAL_NAME = re.compile(
    r"""\[\s*["']mask["']\s*\]"""
    r"""|\{\s*["']image["']\s*:\s*(x|batch|probe|crop|images|np\.)\b"""
    r"""|get_tensor\(\s*["'](image|mask)["']"""
    r"""|name=["'](image|mask)["']"""
)


def test_tensor_names_come_from_the_contract():
    assert (INPUT_NAME, OUTPUT_NAME) == ("image", "mask")
    literal = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in _sources()
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if _LITERAL_NAME.search(line)
    ]
    assert literal == []


def test_make_session_settings(tiny_model: Path):
    from inspector.core.backends.onnxruntime_backend import make_session

    default = make_session(tiny_model).get_session_options()
    assert default.intra_op_num_threads == 0  # ONNX Runtime picks, as the callers had it
    with pytest.raises(RuntimeError):  # not set: ONNX Runtime's default, as the callers had it
        default.get_session_config_entry("session.intra_op.allow_spinning")

    station = make_session(tiny_model, 3, spin=False).get_session_options()
    assert station.intra_op_num_threads == 3
    assert station.inter_op_num_threads == 1
    assert station.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert (
        make_session(tiny_model, spin=True)
        .get_session_options()
        .get_session_config_entry("session.intra_op.allow_spinning")
        == "1"
    )


def test_make_session_runs_the_contract(tiny_model: Path):
    from inspector.core.backends.onnxruntime_backend import make_session

    sess = make_session(tiny_model)
    x = np.random.default_rng(0).random((1, 32, 32, 1), dtype=np.float32)
    (out,) = sess.run([OUTPUT_NAME], {INPUT_NAME: x})
    assert out.shape == x.shape


def test_make_session_refuses_a_missing_file(tmp_path: Path):
    from inspector.core.backends.onnxruntime_backend import make_session

    with pytest.raises(Exception, match=r"nope\.onnx"):
        make_session(tmp_path / "nope.onnx")


def _old_formula(a: np.ndarray, b: np.ndarray) -> float:
    """The two copies this replaced agreed on bool masks: 2|A∩B| / (|A|+|B|), both empty -> 1."""
    inter = int(np.count_nonzero(a & b))
    total = int(np.count_nonzero(a)) + int(np.count_nonzero(b))
    return 1.0 if total == 0 else 2.0 * inter / total


def test_mask_dice_matches_the_replaced_copies_and_is_the_shared_one():
    from inspector.services.engine.parity import dice
    from trainer.losses import dice_np, iou_np

    assert dice is mask_dice
    assert dice_np is mask_dice
    assert iou_np is mask_iou
    rng = np.random.default_rng(7)
    for density in (0.0, 0.01, 0.3, 0.9):
        a, b = rng.random((2, 40, 50)) < density
        assert mask_dice(a, b) == _old_formula(a, b) == mask_dice(b, a)
    empty = np.zeros((4, 4), bool)
    assert mask_dice(empty, empty) == 1.0
    assert mask_iou(empty, empty) == 1.0
    one = empty.copy()
    one[0, 0] = True
    assert mask_dice(empty, one) == 0.0
    two = one.copy()
    two[1, 1] = True
    assert mask_dice(one, two) == pytest.approx(2 / 3)
    assert mask_iou(one, two) == pytest.approx(1 / 2)
    # 0/1 integer or 0/255 masks read as booleans, not bitwise
    assert mask_dice(one.astype(np.uint8) * 255, two.astype(np.uint8)) == pytest.approx(2 / 3)
