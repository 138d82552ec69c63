"""FP16 ONNX for strongly typed TensorRT (11.x has no BuilderFlag.FP16).

On TensorRT 11 precision lives in the graph, so an FP16 engine needs an ONNX
whose weights/compute are float16. The route NVIDIA prescribes for TensorRT 11
is ModelOpt AutoCast (``modelopt.onnx.autocast.convert_to_mixed_precision``),
which keeps precision-sensitive nodes in FP32; onnxconverter-common's
``float16.convert_float_to_float16`` (everything FP16) is the fallback. The
model's I/O stays float32 (``keep_io_types``) so the backend contract (float32
``image`` -> ``mask``) is unchanged. The parity check after the build decides
whether the converted engine may be used.
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


MODELOPT_MISSING = (
    "NVIDIA ModelOpt AutoCast (the converter NVIDIA prescribes for TensorRT 11) is not installed: "
    "pip install nvidia-modelopt[onnx]"
)
CONVERTER_MISSING = "onnxconverter-common (the fallback) is not installed: pip install onnxconverter-common"


def _convert(onnx_path: Path) -> tuple[Any, str]:
    missing = []
    try:  # NVIDIA's route for TensorRT 11: mixed precision, sensitive nodes stay FP32
        from modelopt.onnx.autocast import convert_to_mixed_precision
    except ImportError as exc:
        missing.append(f"{MODELOPT_MISSING} ({exc})")
    else:
        model = convert_to_mixed_precision(
            onnx_path=str(onnx_path), low_precision_type="fp16", keep_io_types=True
        )
        return model, "modelopt-autocast"
    try:
        from onnxconverter_common import float16
    except ImportError as exc:
        missing.append(f"{CONVERTER_MISSING} ({exc})")
    else:
        import onnx

        model = onnx.load(str(onnx_path))
        return float16.convert_float_to_float16(model, keep_io_types=True), "onnxconverter-common"
    raise Fp16ConversionUnavailable(
        "FP16 on TensorRT 11 needs an FP16 ONNX, and no converter is installed. "
        + "; ".join(missing)
        + ". Or build with --precision fp32."
    )
