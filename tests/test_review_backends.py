"""Review findings on the backends: models that break the output contract are refused at load."""

from __future__ import annotations

from pathlib import Path

import pytest

from inspector.core.backends.base import ModelLoadError
from inspector.core.backends.select import select_backend


def _model(path: Path, out_shape: list[object]) -> Path:
    import onnx
    from onnx import TensorProto, helper

    nodes = [helper.make_node("Identity", ["image"], ["mask"])]
    if len(out_shape) == 3:
        axes = helper.make_tensor("axes", TensorProto.INT64, [1], [3])
        nodes = [helper.make_node("Squeeze", ["image", "axes"], ["mask"])]
        init = [axes]
    else:
        init = []
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", "H", "W", 1])],
        [helper.make_tensor_value_info("mask", TensorProto.FLOAT, out_shape)],
        initializer=init,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def test_output_without_channel_axis_is_refused(tmp_path: Path) -> None:
    # [N, H, W] output: the pipeline's out[0, ..., 0] would take a column, not the mask
    bad = _model(tmp_path / "nhw.onnx", ["N", "H", "W"])
    with pytest.raises(ModelLoadError, match="output 'mask'"):
        select_backend("onnxruntime", bad)


def test_contract_model_still_loads(tmp_path: Path) -> None:
    good = _model(tmp_path / "ok.onnx", ["N", "H", "W", 1])
    assert select_backend("onnxruntime", good).info().name == "onnxruntime"


@pytest.mark.parametrize(
    "failure",
    [
        RuntimeError("cuInit failed: no CUDA-capable device is detected"),
        ModelLoadError("model.engine: profile must fix H and W"),
        OSError("model.engine: Input/output error"),
    ],
)
def test_auto_falls_back_when_tensorrt_fails_to_load(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    # "auto: TensorRT if it loads ... else ONNX Runtime": a derived engine or a CUDA failure
    # must not stop a station whose ONNX model is fine.
    from inspector.core.backends import select

    def broken(*_a: object, **_k: object) -> None:
        raise failure

    monkeypatch.setattr(select, "tensorrt_installed", lambda: True)  # as on a GPU station
    monkeypatch.setattr(select, "_tensorrt_backend", broken)
    backend = select.select_backend("auto", tiny_model)
    assert backend.info().name == "onnxruntime"
    assert str(failure) in backend.info().notice
    with pytest.raises(type(failure)):
        select.select_backend("tensorrt", tiny_model)  # asked for explicitly: fail loudly
