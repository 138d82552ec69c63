"""Helpers for the TensorRT tests: install the fakes, make tiny contract-following ONNX models.

Imported by tests/test_trt_*.py as tests.fakes.support (a namespace package).
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

FAKES = Path(__file__).resolve().parent
FAKE_MODULES = ("tensorrt", "pycuda", "pycuda.driver", "pycuda.autoinit")


def install_fakes(
    monkeypatch: pytest.MonkeyPatch,
    version: str = "10.3.0",
    gpu: str = "NVIDIA L4",
    cc: str = "8.9",
    devices: int = 1,
) -> tuple[ModuleType, ModuleType]:
    """Fresh fake tensorrt + pycuda.driver in sys.modules; undone by monkeypatch at teardown."""
    monkeypatch.setenv("FAKE_TENSORRT_VERSION", version)
    monkeypatch.setenv("FAKE_CUDA_GPU_NAME", gpu)
    monkeypatch.setenv("FAKE_CUDA_CC", cc)
    monkeypatch.setenv("FAKE_CUDA_DEVICES", str(devices))
    monkeypatch.syspath_prepend(str(FAKES))
    for name in FAKE_MODULES:
        monkeypatch.delitem(sys.modules, name, raising=False)
    trt = importlib.import_module("tensorrt")
    cuda = importlib.import_module("pycuda.driver")
    for name in ("tensorrt", "pycuda", "pycuda.driver"):
        # re-register through monkeypatch so that undo removes the fakes (and restores any original)
        monkeypatch.setitem(sys.modules, name, sys.modules.pop(name))
    assert trt.__file__.startswith(str(FAKES)), "a real tensorrt shadows the fake"
    return trt, cuda


def block_modules(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """Make ``import name`` raise ImportError (None in sys.modules does that)."""
    for name in names:
        monkeypatch.setitem(sys.modules, name, None)


def make_model(
    path: Path,
    sign: float = 1.0,
    hw: tuple[int, int] | None = None,
    input_name: str = "image",
    bad_ops: tuple[str, ...] = (),
    card_hw: tuple[int, int] = (32, 48),
) -> Path:
    """NHWC 'image' -> Transpose -> Conv3x3 (local mean, x8*sign) -> Sigmoid -> Transpose -> 'mask'.

    sigmoid(8*sign*(local_mean - 0.5)): a mask where the image is bright (or dark for sign=-1),
    so thresholded masks are non-trivial. ``bad_ops`` adds nodes TensorRT has no importer for.
    """
    import onnx
    from onnx import TensorProto, helper

    dims = ["N", *(hw if hw else ("H", "W")), 1]
    w = np.full((1, 1, 3, 3), 8.0 * sign / 9.0, np.float32)
    b = np.array([-4.0 * sign], np.float32)
    nodes = [
        helper.make_node("Transpose", [input_name], ["nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["nchw", "w", "b"], ["conv"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        helper.make_node("Sigmoid", ["conv"], ["prob"]),
        helper.make_node("Transpose", ["prob"], ["mask"], perm=[0, 2, 3, 1]),
    ]
    for i, op in enumerate(bad_ops):
        nodes.insert(1, helper.make_node(op, ["nchw"], [f"unused{i}"], name=f"bad{i}", domain="custom.ops"))
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info("mask", TensorProto.FLOAT, dims)],
        [onnx.numpy_helper.from_array(w, "w"), onnx.numpy_helper.from_array(b, "b")],
    )
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid("custom.ops", 1)] if bad_ops else [])
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 8
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    card = {"name": path.stem, "input_height": card_hw[0], "input_width": card_hw[1], "threshold": 0.5}
    path.with_suffix(".json").write_text(json.dumps(card), encoding="utf-8")
    return path


def images(n: int, h: int = 32, w: int = 48, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.0, 1.0, (n, h // 4 + 1, w // 4 + 1)).astype(np.float32)
    big = np.repeat(np.repeat(base, 4, axis=1), 4, axis=2)[:, :h, :w]  # blocky, so masks have regions
    return np.ascontiguousarray(big[..., None])


def ort_run(path: Path, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(["mask"], {"image": x})[0]
