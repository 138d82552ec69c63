"""Build a TensorRT engine from the model's ONNX (TensorRT 10 and 11 Python API).

Run it through ``python -m inspector.services.engine build`` from the GUI: the
builder cannot be interrupted mid-build and can take minutes, so it lives in a
child process that can be killed. ``state`` is only polled between steps.

A build ends with the parity check against ONNX Runtime (``engine.parity``):
only an engine whose sidecar records a passed check is ever used.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from inspector.core.backends import trt_probe
from inspector.core.backends.base import ModelLoadError
from inspector.core.backends.trt_engine_file import (
    ComputePrecision,
    EngineSidecar,
    Precision,
    engine_path_for,
    read_sidecar,
    sidecar_path_for,
    write_sidecar,
)
from inspector.core.contract import INPUT_NAME, OUTPUT_NAME
from inspector.core.model_card import ModelCard, load_card
from inspector.core.progress import ProgressState

_STEPS = 7


class EngineBuildError(RuntimeError):
    """The build failed; the message lists every reason TensorRT gave."""


class BuildCancelled(RuntimeError):
    pass


def _step(state: ProgressState | None, done: int, msg: str) -> None:
    if state is not None:
        if state.cancelled():
            raise BuildCancelled(f"engine build cancelled before: {msg}")
        state.progress(done, _STEPS, msg)


class _CollectingLogger:
    """Factory for a trt.ILogger subclass that keeps errors for our exception text."""

    @staticmethod
    def make(trt: ModuleType) -> Any:
        class Logger(trt.ILogger):  # type: ignore[name-defined,misc]
            def __init__(self) -> None:
                trt.ILogger.__init__(self)
                self.errors: list[str] = []

            def log(self, severity: Any, msg: str) -> None:
                # membership, not "<=": pybind enums need not be ordered
                if severity in (trt.ILogger.Severity.INTERNAL_ERROR, trt.ILogger.Severity.ERROR):
                    self.errors.append(str(msg))

        return Logger()


def _network_flags(trt: ModuleType, precision: Precision) -> int:
    """TRT < 10 needs EXPLICIT_BATCH; 10 with FP16 must stay weakly typed (the flag needs it);
    11 is always strongly typed, setting the flag is harmless there."""
    flags = trt.NetworkDefinitionCreationFlag
    major = trt_probe.trt_major(trt)
    if major < 10:
        return 1 << int(flags.EXPLICIT_BATCH)
    if major >= 11 and hasattr(flags, "STRONGLY_TYPED"):
        return 1 << int(flags.STRONGLY_TYPED)
    return 0


def _parse(trt: ModuleType, parser: Any, data: bytes, onnx_path: Path) -> None:
    # path lets the parser find external weight files next to the model
    ok = parser.parse(data, str(onnx_path))
    errors = [parser.get_error(i) for i in range(parser.num_errors)]
    if not ok or errors:
        lines = []
        for e in errors:
            where = f"node {e.node()}" + (f" ({e.node_operator()})" if hasattr(e, "node_operator") else "")
            lines.append(f"  - {where}: {e.desc()}")
        detail = "\n".join(lines) or "  - (parser gave no details)"
        raise EngineBuildError(f"TensorRT could not parse {onnx_path} ({len(errors)} error(s)):\n{detail}")


def _io_shape(network: Any, card: ModelCard, onnx_path: Path) -> tuple[int | None, int | None]:
    inputs = {network.get_input(i).name: network.get_input(i) for i in range(network.num_inputs)}
    outputs = {network.get_output(i).name for i in range(network.num_outputs)}
    if INPUT_NAME not in inputs or OUTPUT_NAME not in outputs:
        raise ModelLoadError(
            f"{onnx_path}: model contract needs input '{INPUT_NAME}' and output '{OUTPUT_NAME}', "
            f"found inputs {sorted(inputs)} and outputs {sorted(outputs)}"
        )
    shape = tuple(inputs[INPUT_NAME].shape)
    if len(shape) != 4 or shape[3] not in (-1, 1):
        raise ModelLoadError(f"{onnx_path}: input '{INPUT_NAME}' must be NHWC [N,H,W,1], is {list(shape)}")
    # None: dynamic in the ONNX; the card then says which sizes reach the model (profile_range)
    return (shape[1] if shape[1] > 0 else None), (shape[2] if shape[2] > 0 else None)


HW = tuple[int, int]


def _gpu_memory_bytes() -> int | None:
    try:
        cuda = trt_probe.import_cuda()
        cuda.init()
        return int(cuda.Device(0).total_memory())
    except Exception:  # no pycuda / driver: the caller falls back to the host figure
        return None


def profile_range(
    card: ModelCard,
    fixed: tuple[int | None, int | None] = (None, None),
    max_batch: int = 1,
    max_side: int | None = None,
    onnx_path: Path | None = None,
    memory_fraction: float = 0.5,
    notes: dict[str, Any] | None = None,
) -> tuple[HW, HW, HW]:
    """(min, opt, max) H x W of the engine's optimisation profile.

    ``resize`` and ``pad`` cards: exactly the card's input (pad tiles are that size).
    ``native``: from one ``multiple`` up to the pixel budget, opt at the card's size: the
    largest side S with ``max_batch * S * S`` pixels within ``memory_fraction`` of the
    GPU's memory, at the model's measured bytes per pixel (inspector.core.tiling; TensorRT
    sizes an execution context for the profile's maximum). ``max_side`` overrides S.
    Dimensions fixed in the ONNX win over all of this.
    """
    m = max(1, card.multiple)
    opt = (card.input_height, card.input_width)
    if card.resize == "native":
        opt = (-(-opt[0] // m) * m, -(-opt[1] // m) * m)
    mn, mx = opt, opt
    if card.resize == "native":
        if max_side is None:
            from inspector.core.tiling import memory_budget_bytes, model_footprint

            if onnx_path is None:
                raise ValueError("profile_range needs onnx_path (or max_side) for a native card")
            fp = model_footprint(onnx_path, card)
            gpu = _gpu_memory_bytes()
            budget = int(gpu * memory_fraction) if gpu else memory_budget_bytes(memory_fraction)
            per_sample = fp.max_pixels(budget) // max(1, max_batch)
            max_side = math.isqrt(per_sample)
            if notes is not None:
                notes["profile_budget"] = {
                    "bytes_per_pixel": fp.bytes_per_pixel,
                    "budget_bytes": budget,
                    "budget_of": "GPU memory" if gpu else "host memory (GPU memory unknown)",
                    "memory_fraction": memory_fraction,
                    "footprint": fp.method,
                }
        side = (max_side // m) * m
        mn = (m, m)
        mx = (max(side, opt[0]), max(side, opt[1]))
    fh, fw = fixed
    if fh is not None:
        mn, opt, mx = (fh, mn[1]), (fh, opt[1]), (fh, mx[1])
    if fw is not None:
        mn, opt, mx = (mn[0], fw), (opt[0], fw), (mx[0], fw)
    return mn, opt, mx


def _precision_flags(trt: ModuleType, config: Any, precision: Precision, settings: dict[str, Any]) -> None:
    """TensorRT enables TF32 by default (``BuilderFlag.TF32``): an "fp32" engine would silently
    round its convolution inputs to a 10-bit mantissa. Clear it for fp32; FP16 keeps it (its FP32
    fallback layers may use it, the parity check covers the engine as built)."""
    flag = getattr(trt.BuilderFlag, "TF32", None)
    if flag is None:
        settings["tf32"] = "no TF32 flag in this TensorRT"
    elif precision == "fp32":
        config.clear_flag(flag)
        settings["tf32"] = "cleared" if not config.get_flag(flag) else "on (could not be cleared)"
    else:
        settings["tf32"] = "on" if config.get_flag(flag) else "off"


def _compute_precision(precision: Precision, settings: dict[str, Any]) -> ComputePrecision:
    if precision == "fp16":
        return "fp16"
    return "tf32" if str(settings.get("tf32", "")).startswith("on") else "fp32"


def _timing_cache(config: Any, path: Path | None) -> Any:
    data = path.read_bytes() if path is not None and path.is_file() else b""
    cache = config.create_timing_cache(data)
    # a cache from another GPU/version is ignored rather than failing the build
    config.set_timing_cache(cache, ignore_mismatch=True)
    return cache


def _atomic_write(path: Path, data: bytes | memoryview) -> None:
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def build_engine(
    onnx_path: Path,
    out_path: Path | None = None,
    precision: Precision = "fp16",
    max_batch: int = 8,
    opt_batch: int = 1,
    workspace_mb: int = 2048,
    timing_cache_path: Path | None = None,
    state: ProgressState | None = None,
    card: ModelCard | None = None,
    max_side: int | None = None,
    memory_fraction: float = 0.5,
    *,
    parity_images: Sequence[Path] | None = None,
    parity_source: str = "",
    parity_count: int = 16,
    skip_parity: bool = False,
) -> EngineSidecar:
    """Parse ``onnx_path``, build an engine for batches 1..max_batch over the H x W range the
    card allows (:func:`profile_range`), write engine + sidecar, then compare the engine with
    ONNX Runtime (``engine.parity``) on ``parity_images`` (files or folders; ``parity_source``
    says what they are, e.g. "recent logged images") or, without them, synthetic textures.
    The returned sidecar is ``verified``; ``skip_parity`` leaves it ``built``, and such an
    engine is refused by ``check_engine``.

    Raises BackendUnavailable (no TensorRT / GPU), ModelLoadError (contract),
    EngineBuildError (parser/builder), Fp16ConversionUnavailable, BuildCancelled,
    ParityFailed (engine deleted), ValueError (no readable parity images).
    """
    onnx_path = Path(onnx_path)
    out_path = Path(out_path) if out_path else engine_path_for(onnx_path, precision)
    if not 1 <= opt_batch <= max_batch:
        raise ValueError(
            f"need 1 <= opt_batch <= max_batch, got opt_batch={opt_batch}, max_batch={max_batch}"
        )
    card = card or load_card(onnx_path)  # also recomputes the sha256 that names the model
    _step(state, 0, "loading TensorRT")
    trt = trt_probe.import_tensorrt()
    gpu = trt_probe.current_gpu()
    logger = _CollectingLogger.make(trt)
    builder = trt.Builder(logger)
    network = builder.create_network(_network_flags(trt, precision))
    config = builder.create_builder_config()
    settings: dict[str, Any] = {"workspace_mb": workspace_mb, "network_flags": _network_flags(trt, precision)}
    _precision_flags(trt, config, precision, settings)

    _step(state, 1, "parsing ONNX")
    data = onnx_path.read_bytes()
    if precision == "fp16":
        if hasattr(trt.BuilderFlag, "FP16"):  # TensorRT <= 10: weak typing, builder picks FP16 kernels
            config.set_flag(trt.BuilderFlag.FP16)
            settings["fp16"] = "BuilderFlag.FP16"
        else:  # TensorRT 11: precision must be in the graph
            from inspector.services.engine.fp16 import convert_to_fp16

            data, how = convert_to_fp16(onnx_path)
            settings["fp16"] = f"fp16 ONNX via {how}"
    parser = trt.OnnxParser(network, logger)
    _parse(trt, parser, data, onnx_path)
    fixed = _io_shape(network, card, onnx_path)
    (h0, w0), (h, w), (h1, w1) = profile_range(
        card, fixed, max_batch, max_side, onnx_path, memory_fraction, settings
    )
    what = f"{h}x{w}" if (h0, w0, h1, w1) == (h, w, h, w) else f"{h0}x{w0}..{h1}x{w1} (opt {h}x{w})"
    parity_x = None
    if not skip_parity:  # read before the build: a missing image must not cost a build first
        from inspector.services.engine.parity import parity_inputs

        parity_x, parity_what = parity_inputs(card, (h, w), parity_images, parity_count)
        if parity_images and parity_source:
            parity_what = f"{parity_what} ({parity_source})"

    _step(state, 2, f"configuring profile 1..{max_batch} x {what}")
    profile = builder.create_optimization_profile()
    try:
        profile.set_shape(INPUT_NAME, (1, h0, w0, 1), (opt_batch, h, w, 1), (max_batch, h1, w1, 1))
    except RuntimeError as exc:  # the real bindings raise on inconsistent dimensions
        raise EngineBuildError(f"invalid optimisation profile {what}, batch 1..{max_batch}: {exc}") from exc
    if config.add_optimization_profile(profile) < 0:
        raise EngineBuildError(f"invalid optimisation profile for {what}, batch 1..{max_batch}")
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_mb) << 20)
    if timing_cache_path is not None:
        _timing_cache(config, Path(timing_cache_path))
        settings["timing_cache"] = str(timing_cache_path)

    _step(state, 3, "building engine (this can take minutes)")
    t0 = time.perf_counter()
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise EngineBuildError(
            "TensorRT failed to build the engine:\n" + "\n".join(f"  - {e}" for e in logger.errors)
        )
    settings["build_seconds"] = round(time.perf_counter() - t0, 2)

    _step(state, 4, f"writing {out_path.name}")
    if timing_cache_path is not None:
        cache = config.get_timing_cache()
        if cache is not None:
            _atomic_write(Path(timing_cache_path), memoryview(cache.serialize()))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    # the old sidecar goes first: an engine without sidecar is refused, a sidecar describing
    # the wrong engine would be believed
    sidecar_path_for(out_path).unlink(missing_ok=True)
    _atomic_write(out_path, memoryview(plan))
    sidecar = EngineSidecar(
        tensorrt_version=str(trt.__version__),
        gpu_name=gpu.name,
        compute_capability=gpu.compute_capability,
        onnx_sha256=card.sha256,
        precision=precision,
        max_batch=max_batch,
        opt_batch=opt_batch,
        input_height=h,
        input_width=w,
        min_height=h0,
        min_width=w0,
        max_height=h1,
        max_width=w1,
        resize=card.resize,
        onnx_hw=fixed,
        compute_precision=_compute_precision(precision, settings),
        built_at=datetime.now(UTC),
        builder=settings,
    )
    write_sidecar(sidecar, out_path)
    if parity_x is None:
        _done(state, "engine written; parity check skipped, so the station will not use it")
        return sidecar
    _step(state, 5, f"parity check against ONNX Runtime on {parity_what}")
    from inspector.services.engine.parity import verify_engine

    verify_engine(onnx_path, out_path, precision, parity_x, card.threshold, parity_what)  # ParityFailed
    _done(state, "engine written and verified")
    return read_sidecar(out_path)


def _done(state: ProgressState | None, msg: str) -> None:
    # no cancel check: the work is done, a late cancel must not report a finished engine as cancelled
    if state is not None:
        state.progress(_STEPS - 1, _STEPS, msg)


def sidecar_json(sidecar: EngineSidecar) -> dict[str, Any]:
    return json.loads(sidecar.model_dump_json())
