"""A tiny ONNX model that follows the model contract, built with onnx.helper.

mask = sigmoid(gain * (box_blur_3x3(image/255) - level)): bright blobs on a
darker texture come out as defects, so tests get real, predictable masks
without TensorFlow or a trained model.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def build_tiny_model(path: Path, gain: float = 25.0, level: float = 0.6, card: dict | None = None) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = np.full((1, 1, 3, 3), gain / 9.0, dtype=np.float32)
    b = np.array([-gain * level], dtype=np.float32)
    nodes = [
        helper.make_node("Transpose", ["image"], ["nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["nchw", "w", "b"], ["logit"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        helper.make_node("Sigmoid", ["logit"], ["prob"]),
        helper.make_node("Transpose", ["prob"], ["mask"], perm=[0, 2, 3, 1]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", "H", "W", 1])],
        [helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["N", "H", "W", 1])],
        initializer=[numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    import hashlib

    import cv2

    # golden samples for the station's self-test (a card without them is "unverified"): a clean
    # texture must be OK and a bright blob NG, beside the model like a shipped model's
    golden = []
    for expected, defect, seed in (("OK", False, 100), ("NG", True, 101)):
        data = cv2.imencode(".png", synthetic_image(64, defect=defect, seed=seed)[0])[1].tobytes()
        rel = f"golden/{path.stem}_{expected.lower()}.png"
        (path.parent / "golden").mkdir(exist_ok=True)
        (path.parent / rel).write_bytes(data)
        entry = {"image": rel, "sha256": hashlib.sha256(data).hexdigest(), "expected": expected}
        golden.append(entry | ({"min_regions": 1} if defect else {}))
    card_data = {
        "name": "tiny-test",
        "input_height": 64,
        "input_width": 64,
        "resize": "native",
        "multiple": 1,
        "normalisation": {"scale": 255.0, "mean": 0.0, "std": 1.0},
        "threshold": 0.5,
        "trained_on": "nothing: a hand-built test model",
        "golden": golden,
    }
    card_data.update(card or {})
    path.with_suffix(".json").write_text(json.dumps(card_data), encoding="utf-8")
    return path


def synthetic_image(
    size: int = 64, defect: bool = True, seed: int = 0, center: tuple[int, int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """A dark texture (uint8) with an optional bright ellipse; returns (image, mask)."""
    import cv2

    rng = np.random.default_rng(seed)
    img = (rng.normal(70, 12, (size, size))).clip(0, 255).astype(np.uint8)
    mask = np.zeros((size, size), np.uint8)
    if defect:
        cx, cy = center or (size // 2, size // 2)
        cv2.ellipse(mask, (cx, cy), (max(3, size // 8), max(2, size // 12)), 30, 0, 360, 255, -1)
        img[mask > 0] = 240
    return img, mask
