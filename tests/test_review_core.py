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


def test_training_data_names_that_sanitise_alike_do_not_overwrite(tmp_path: Path) -> None:
    # "part 1" and "part_1" both became data_part_1: the second image silently replaced the
    # first and inherited its defect mask
    import cv2
    import numpy as np

    from inspector.services.training_data import add_folder

    src = tmp_path / "src"
    (src / "images").mkdir(parents=True)
    (src / "masks").mkdir()
    defect = np.full((16, 16), 200, np.uint8)
    clean = np.full((16, 16), 50, np.uint8)
    cv2.imwrite(str(src / "images" / "part 1.png"), defect)
    cv2.imwrite(str(src / "masks" / "part 1.png"), np.full((16, 16), 255, np.uint8))
    cv2.imwrite(str(src / "images" / "part_1.png"), clean)
    out = tmp_path / "out"
    assert add_folder(out, src) == 2
    images = sorted((out / "images").iterdir())
    masks = sorted((out / "masks").iterdir())
    assert len(images) == 2
    assert len(masks) == 1
    masked = cv2.imread(str(out / "images" / masks[0].name), cv2.IMREAD_UNCHANGED)
    assert (masked == 200).all()
