"""Contract-following ONNX models whose outputs are broken in controlled ways."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.tiny_model import build_tiny_model


def scaled_output_model(path: Path, factor: float, offset: float = 0.0) -> Path:
    """The tiny model with its output replaced by ``prob * factor + offset``.

    factor NaN -> every output NaN; factor -1 -> all outputs in [-1, 0]; offset 5 -> all > 1.
    """
    import onnx
    from onnx import helper, numpy_helper

    build_tiny_model(path)
    model = onnx.load(str(path))
    graph = model.graph
    last = graph.node[-1]  # Transpose(prob) -> mask
    last.output[0] = "mask_raw"
    graph.initializer.extend(
        [
            numpy_helper.from_array(np.array([factor], np.float32), "k_factor"),
            numpy_helper.from_array(np.array([offset], np.float32), "k_offset"),
        ]
    )
    graph.node.extend(
        [
            helper.make_node("Mul", ["mask_raw", "k_factor"], ["mask_scaled"]),
            helper.make_node("Add", ["mask_scaled", "k_offset"], ["mask"]),
        ]
    )
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path
