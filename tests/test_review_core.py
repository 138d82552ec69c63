"""Review findings on inspector/core: model cards and other values users write by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inspector.core.model_card import load_card
from tests.tiny_model import build_tiny_model


@pytest.mark.parametrize(
    "bad",
    [
        {"input_height": 0},
        {"input_width": -64},
        {"multiple": 0},
        {"channels": 0},
        {"normalisation": {"scale": 255.0, "mean": 0.0, "std": 0.0}},
        {"normalisation": {"scale": 0.0, "mean": 0.0, "std": 1.0}},
    ],
)
def test_impossible_model_card_values_are_refused_at_load(tmp_path: Path, bad: dict) -> None:
    # else they surface per image as cv2.error / inf tensors deep inside the pipeline
    model = build_tiny_model(tmp_path / "m.onnx", card=bad)
    with pytest.raises(ValueError, match=r"m\.json"):
        load_card(model)


def test_shipped_and_test_cards_still_load(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    for onnx in sorted((root / "resources" / "models").glob("*/model.onnx")):
        assert load_card(onnx).input_height > 0
    model = build_tiny_model(tmp_path / "t.onnx")
    assert json.loads(model.with_suffix(".json").read_text())["multiple"] == 1
    assert load_card(model).multiple == 1
