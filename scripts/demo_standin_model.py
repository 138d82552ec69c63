"""A hand-built stand-in for the demo model, for the screenshot and UI-stall scripts.

Used only when resources/models/demo/model.onnx is not there (it is trained,
not shipped in git). It follows the model contract and flags local contrast
anomalies: p = sigmoid(gain * (mean15(|x - mean41(x)|) - level)). On the demo
source's synthetic textures it finds most defects with a few false rejects, so
the screenshots show a realistic mix of verdicts. It is no substitute for a
trained U-Net.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def build_standin_model(path: Path, level: float = 0.13, gain: float = 60.0) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    def pool(name: str, src: str, k: int) -> onnx.NodeProto:
        pad = k // 2
        return helper.make_node("AveragePool", [src], [name], kernel_shape=[k, k], strides=[1, 1],
                                pads=[pad, pad, pad, pad], count_include_pad=0)

    nodes = [
        helper.make_node("Transpose", ["image"], ["x"], perm=[0, 3, 1, 2]),
        pool("local", "x", 41),
        helper.make_node("Sub", ["x", "local"], ["diff"]),
        helper.make_node("Abs", ["diff"], ["adiff"]),
        pool("smooth", "adiff", 15),
        helper.make_node("Sub", ["smooth", "level"], ["centred"]),
        helper.make_node("Mul", ["centred", "gain"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["prob"]),
        helper.make_node("Transpose", ["prob"], ["mask"], perm=[0, 2, 3, 1]),
    ]
    graph = helper.make_graph(
        nodes, "contrast-standin",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", "H", "W", 1])],
        [helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["N", "H", "W", 1])],
        initializer=[numpy_helper.from_array(np.array(level, np.float32), "level"),
                     numpy_helper.from_array(np.array(gain, np.float32), "gain")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    card = {"name": "demo-standin", "input_height": 256, "input_width": 256, "resize": "native",
            "multiple": 1, "normalisation": {"scale": 255.0, "mean": 0.0, "std": 1.0}, "threshold": 0.5,
            "trained_on": "nothing: a hand-built local-contrast detector for screenshots"}
    path.with_suffix(".json").write_text(json.dumps(card), encoding="utf-8")
    return path


def pick_model(tmp: Path, requested: Path | None) -> Path:
    """--model, else the shipped demo model, else this stand-in (built under ``tmp``)."""
    import sys

    from inspector.core.paths import default_model

    if requested is not None:
        return requested
    if default_model().is_file():
        return default_model()
    print("no shipped demo model: using the hand-built stand-in model", file=sys.stderr)
    return build_standin_model(tmp / "standin" / "model.onnx")
