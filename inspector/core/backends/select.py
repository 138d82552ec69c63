"""Choose a backend at run time: TensorRT when its engine matches, else ONNX Runtime."""

from __future__ import annotations

import logging
from pathlib import Path

from inspector.core.backends.base import Backend, BackendKind, BackendUnavailable

log = logging.getLogger(__name__)


def _tensorrt_backend(model_path: Path, precision: str) -> Backend:
    """Load TensorRT for ``model_path`` or raise BackendUnavailable saying why."""
    try:
        from inspector.core.backends.tensorrt_backend import TensorRTBackend
        from inspector.core.engine.sidecar import check_engine
    except ImportError as exc:  # the TensorRT glue itself is part of the project
        raise BackendUnavailable(f"TensorRT support is not available: {exc}") from exc
    status = check_engine(model_path, precision=precision)
    if not status.ok:
        raise BackendUnavailable(status.reason)
    backend = TensorRTBackend(precision=precision)
    backend.load(model_path)
    return backend


def select_backend(
    kind: BackendKind | str, model_path: Path, *, threads: int | None = None, precision: str = "fp16"
) -> Backend:
    """A loaded backend for ``model_path``.

    ``auto`` tries TensorRT and falls back to ONNX Runtime with a notice that
    the GUI and CLI show; an explicit ``tensorrt`` fails loudly instead.
    Must be called on the thread that will run inference (CUDA contexts are per thread).
    """
    from inspector.core.backends.onnxruntime_backend import OnnxRuntimeBackend

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
