"""Choose a backend at run time: TensorRT when its engine matches, else the faster of ONNX Runtime
and OpenVINO on this CPU (probed once per model, CPU and versions; backends/probe.py); or a Triton
Inference Server named by ``triton:http://HOST:PORT/MODEL``."""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from pathlib import Path
from typing import Literal, cast

from inspector.core.backends.base import Backend, BackendKind, BackendUnavailable

log = logging.getLogger(__name__)


EnginePrecision = Literal["fp16", "fp32"]
PRECISIONS: tuple[EnginePrecision, ...] = ("fp16", "fp32")  # "auto" tries them in this order
# What ``auto`` does without TensorRT: "probe" (default) picks the faster of ONNX Runtime and
# OpenVINO for the model; "onnxruntime" keeps ONNX Runtime without probing.
ENV_AUTO_CPU = "INSPECTOR_AUTO_CPU"


def tensorrt_installed() -> bool:
    """Whether the TensorRT runtime can be imported on this machine (found, not imported)."""
    if "tensorrt" in sys.modules:
        return sys.modules["tensorrt"] is not None  # None: import blocked
    try:
        return importlib.util.find_spec("tensorrt") is not None
    except (ImportError, ValueError):
        return False


def _tensorrt_backend(model_path: Path, precision: str) -> Backend:
    """Load TensorRT for ``model_path`` or raise BackendUnavailable saying why.

    ``precision`` "auto": the first usable of the FP16 and FP32 engines (each used only when
    check_engine accepts it: parity passed, profile matches the card, this GPU and TensorRT)."""
    try:
        from inspector.core.backends.tensorrt_backend import TensorRTBackend
        from inspector.core.backends.trt_engine_file import EngineProblem, check_engine
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


def _openvino_backend(model_path: Path, threads: int | None) -> Backend:
    """OpenVINO for ``model_path``, compiled for the card's size, or BackendUnavailable saying why."""
    from inspector.core.backends.openvino_backend import OpenVINOBackend
    from inspector.core.model_card import load_card

    try:
        card = load_card(model_path)
        warm: tuple[int, int] | None = (card.input_height, card.input_width)
    except (OSError, ValueError):  # the station checks the card itself; compile on first use then
        warm = None
    backend = OpenVINOBackend(threads=threads, warm_size=warm)
    backend.load(model_path)
    return backend


def _cpu_auto(model_path: Path, threads: int | None, probe_cache: Path | None) -> tuple[Backend, str]:
    """The faster CPU backend for ``model_path`` and a notice; ONNX Runtime whenever in doubt."""
    from inspector.core.backends.onnxruntime_backend import OnnxRuntimeBackend
    from inspector.core.backends.probe import choose_cpu_backend

    ort_backend = OnnxRuntimeBackend(threads=threads)
    ort_backend.load(model_path)  # the reference: a model it cannot load is refused here
    mode = os.environ.get(ENV_AUTO_CPU, "probe").strip().lower()
    if mode == "onnxruntime":
        return ort_backend, ""
    if mode != "probe":
        log.warning("%s=%r is not probe or onnxruntime: probing", ENV_AUTO_CPU, mode)
    return choose_cpu_backend(ort_backend, model_path, threads=ort_backend.threads, cache_path=probe_cache)


def select_backend(
    kind: BackendKind | str,
    model_path: Path,
    *,
    threads: int | None = None,
    precision: str = "auto",
    probe_cache: Path | None = None,
) -> Backend:
    """A loaded backend for ``model_path``.

    ``triton:http://HOST:PORT/MODEL`` runs the model on a Triton server, checked against
    ``model_path`` (inspector/core/backends/triton_backend.py).

    ``precision`` of the TensorRT engine: "fp16", "fp32", or "auto" (the FP16 engine when it is
    usable, else the FP32 one).

    ``auto`` tries TensorRT; without a usable engine it takes the faster of ONNX Runtime and
    OpenVINO for this model on this CPU (a probe at the first start, cached in ``probe_cache``,
    default ``<data dir>/backend_probe.json``; ONNX Runtime whenever OpenVINO is missing, fails
    or does not match it), with a notice that the GUI and CLI show. An explicit ``tensorrt`` or
    ``openvino`` fails loudly instead.
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
    if kind is BackendKind.OPENVINO:
        return _openvino_backend(model_path, threads)
    if kind is BackendKind.ONNXRUNTIME:
        ort_backend = OnnxRuntimeBackend(threads=threads)
        ort_backend.load(model_path)
        return ort_backend
    notice = ""  # auto
    if not tensorrt_installed():  # a CPU station: nothing to rebuild, nothing to say
        log.info("auto: TensorRT is not installed; a CPU backend")
    else:
        try:
            return _tensorrt_backend(model_path, precision)
        except BackendUnavailable as exc:
            notice = f"TensorRT not used: {exc}"
            log.info(notice)
        except Exception as exc:  # CUDA init, a bad engine profile...: the engine is derived, ORT is not
            notice = f"TensorRT not used: {exc}"
            log.warning(notice, exc_info=True)
    backend, cpu_notice = _cpu_auto(model_path, threads, probe_cache)
    backend.notice = "; ".join(n for n in (notice, cpu_notice) if n)  # type: ignore[attr-defined]
    return backend
