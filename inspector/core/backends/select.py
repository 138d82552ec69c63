"""Choose a backend at run time: TensorRT when its engine matches, else ONNX Runtime; or a Triton
Inference Server named by ``triton:http://HOST:PORT/MODEL``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal, cast

from inspector.core.backends.base import Backend, BackendKind, BackendUnavailable

log = logging.getLogger(__name__)


EnginePrecision = Literal["fp16", "fp32"]
PRECISIONS: tuple[EnginePrecision, ...] = ("fp16", "fp32")  # "auto" tries them in this order


def _tensorrt_backend(model_path: Path, precision: str) -> Backend:
    """Load TensorRT for ``model_path`` or raise BackendUnavailable saying why.

    ``precision`` "auto": the first usable of the FP16 and FP32 engines (each used only when
    check_engine accepts it: parity passed, profile matches the card, this GPU and TensorRT)."""
    try:
        from inspector.core.backends.tensorrt_backend import TensorRTBackend
        from inspector.core.engine.sidecar import EngineProblem, check_engine
    except ImportError as exc:  # the TensorRT glue itself is part of the project
        raise BackendUnavailable(f"TensorRT support is not available: {exc}") from exc
    if precision not in ("auto", *PRECISIONS):
        raise ValueError(f"TensorRT precision must be auto, fp16 or fp32, not {precision!r}")
    reasons: list[tuple[str, str]] = []
    for prec in PRECISIONS if precision == "auto" else (cast(EnginePrecision, precision),):
        status = check_engine(model_path, precision=prec)
        if status.ok:
            backend = TensorRTBackend(precision=prec)
            backend.load(model_path)
            return backend
        # an engine that is simply absent is not worth a word when another precision was tried
        if not reasons or status.problem is not EngineProblem.ENGINE_MISSING:
            reasons.append((prec, status.reason))
    if len(reasons) == 1:
        raise BackendUnavailable(reasons[0][1])
    raise BackendUnavailable("; ".join(f"{prec.upper()} engine: {why}" for prec, why in reasons))


def select_backend(
    kind: BackendKind | str, model_path: Path, *, threads: int | None = None, precision: str = "auto"
) -> Backend:
    """A loaded backend for ``model_path``.

    ``triton:http://HOST:PORT/MODEL`` runs the model on a Triton server, checked against
    ``model_path`` (inspector/core/backends/triton_backend.py).

    ``precision`` of the TensorRT engine: "fp16", "fp32", or "auto" (the FP16 engine when it is
    usable, else the FP32 one).

    ``auto`` tries TensorRT and falls back to ONNX Runtime with a notice that
    the GUI and CLI show; an explicit ``tensorrt`` fails loudly instead.
    Must be called on the thread that will run inference (CUDA contexts are per thread).
    """
    from inspector.core.backends.onnxruntime_backend import OnnxRuntimeBackend
    from inspector.core.backends.triton_backend import TritonBackend, is_triton_spec

    if is_triton_spec(kind):
        try:
            triton = TritonBackend(str(kind))
        except ValueError as exc:  # a malformed spec: said like any backend that cannot run
            raise BackendUnavailable(str(exc)) from None
        triton.load(Path(model_path))
        return triton
    kind = BackendKind(kind)
    model_path = Path(model_path)
    if kind is BackendKind.TENSORRT:
        return _tensorrt_backend(model_path, precision)
    notice = ""
    if kind is BackendKind.AUTO:
        try:
            return _tensorrt_backend(model_path, precision)
        except BackendUnavailable as exc:
            notice = f"TensorRT not used: {exc}"
            log.info(notice)
        except Exception as exc:  # CUDA init, a bad engine profile...: the engine is derived, ORT is not
            notice = f"TensorRT not used: {exc}"
            log.warning(notice, exc_info=True)
    ort_backend = OnnxRuntimeBackend(threads=threads)
    ort_backend.load(model_path)
    ort_backend.notice = notice
    return ort_backend
