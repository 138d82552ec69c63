"""FP16 ONNX for strongly typed TensorRT (11.x has no BuilderFlag.FP16).

On TensorRT 11 precision lives in the graph, so an FP16 engine needs an ONNX
whose weights/compute are float16. The model's I/O stays float32
(``keep_io_types``) so the backend contract (float32 ``image`` -> ``mask``)
is unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class Fp16ConversionUnavailable(RuntimeError):
    """No converter installed; the message says what to install."""


def convert_to_fp16(onnx_path: Path) -> tuple[bytes, str]:
    """(FP16 ONNX bytes with float32 I/O, name of the converter used)."""
    converted, how = _convert(Path(onnx_path))
    return converted.SerializeToString(), how


def _convert(onnx_path: Path) -> tuple[Any, str]:
    try:
        from onnxconverter_common import float16
    except ImportError:
        pass
    else:
        import onnx

        model = onnx.load(str(onnx_path))
        return float16.convert_float_to_float16(model, keep_io_types=True), "onnxconverter-common"
    try:  # NVIDIA's recommended route for TensorRT 11 (ModelOpt AutoCast, keeps sensitive nodes FP32)
        from modelopt.onnx.autocast import convert_to_mixed_precision
    except ImportError:
        pass
    else:
        model = convert_to_mixed_precision(
            onnx_path=str(onnx_path), low_precision_type="fp16", keep_io_types=True
        )
        return model, "modelopt-autocast"
    raise Fp16ConversionUnavailable(
        "FP16 on TensorRT 11 needs an FP16 ONNX, and no converter is installed: "
        "pip install onnxconverter-common (or nvidia-modelopt), or build with --precision fp32"
    )
