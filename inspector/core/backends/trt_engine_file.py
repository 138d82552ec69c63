"""The engine sidecar (``model.fp16.engine.json``) and the "may I use this engine?" check.

An engine only runs on the TensorRT version and GPU it was built with, and is
only valid for the exact ONNX file it came from. The sidecar records all of
that so :func:`check_engine` can refuse *before* deserialising (a mismatched
plan can crash or silently misbehave inside TensorRT).
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from inspector.core.backends.base import BackendUnavailable
from inspector.core.model_card import ModelCard, load_card

Precision = Literal["fp32", "fp16"]
# what the engine really computes in: an "fp32" build on which TF32 could not be cleared is "tf32"
ComputePrecision = Literal["fp32", "tf32", "fp16"]
SIDECAR_SCHEMA = 1


class EngineSidecar(BaseModel):
    model_config = ConfigDict(frozen=True)

    schema_version: int = SIDECAR_SCHEMA
    tensorrt_version: str
    gpu_name: str
    compute_capability: str  # "8.9"
    onnx_sha256: str
    precision: Precision
    max_batch: int
    opt_batch: int = 1
    input_height: int  # the profile's opt H x W (the card's input size)
    input_width: int
    # the H x W range of the profile (None in sidecars written before ranges: fixed at input_*);
    # `native` cards get a range up to the pixel budget, `resize`/`pad` cards exactly their input
    min_height: int | None = None
    min_width: int | None = None
    max_height: int | None = None
    max_width: int | None = None
    resize: str | None = None  # the card's resize mode the profile was made for
    # H, W fixed in the ONNX (None: dynamic there); None as a whole in sidecars that predate it
    onnx_hw: tuple[int | None, int | None] | None = None
    compute_precision: ComputePrecision | None = None  # None in sidecars that predate it
    built_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    builder: dict[str, Any] = Field(default_factory=dict)  # workspace, flags, fp16 method, timing cache...
    # "built": not yet compared against ONNX Runtime; "verified": parity passed;
    # "parity_failed": engine deleted, sidecar kept so the reason stays visible
    status: Literal["built", "verified", "parity_failed"] = "built"
    parity: dict[str, Any] | None = None

    @property
    def sm(self) -> str:
        return "sm_" + self.compute_capability.replace(".", "")

    @property
    def min_hw(self) -> tuple[int, int]:
        return (self.min_height or self.input_height, self.min_width or self.input_width)

    @property
    def max_hw(self) -> tuple[int, int]:
        return (self.max_height or self.input_height, self.max_width or self.input_width)

    @property
    def math(self) -> str:
        """The precision the engine computes in, for display: FP32, TF32 or FP16."""
        return (self.compute_precision or self.precision).upper()

    @property
    def parity_passed(self) -> bool:
        """The sidecar records a parity check against ONNX Runtime that passed."""
        return self.status == "verified" and bool((self.parity or {}).get("passed"))


class EngineProblem(enum.StrEnum):
    OK = "ok"
    ONNX_MISSING = "onnx_missing"
    ENGINE_MISSING = "engine_missing"
    SIDECAR_MISSING = "sidecar_missing"
    SIDECAR_CORRUPT = "sidecar_corrupt"
    STALE = "stale"  # ONNX changed since the build
    PRECISION = "precision"
    PARITY_FAILED = "parity_failed"
    NOT_VERIFIED = "not_verified"  # no passed parity check recorded (built with --skip-parity, older)
    CARD_INVALID = "card_invalid"  # the model card cannot be read
    PROFILE_MISMATCH = "profile_mismatch"  # the engine's H x W profile is not what the card asks for
    NO_TENSORRT = "no_tensorrt"  # tensorrt / pycuda not importable
    TRT_VERSION = "trt_version"
    NO_GPU = "no_gpu"
    FOREIGN_GPU = "foreign_gpu"


@dataclass(frozen=True, slots=True)
class EngineStatus:
    ok: bool
    reason: str  # one sentence an operator can act on
    engine_path: Path
    sidecar: EngineSidecar | None
    problem: EngineProblem = EngineProblem.OK


class SidecarError(ValueError):
    """The sidecar file is missing fields or is not JSON."""


def engine_path_for(onnx_path: Path, precision: Precision = "fp16") -> Path:
    """``models/x/model.onnx`` -> ``models/x/model.fp16.engine`` (fp16 and fp32 engines coexist)."""
    onnx_path = Path(onnx_path)
    return onnx_path.with_name(f"{onnx_path.stem}.{precision}.engine")


def sidecar_path_for(engine_path: Path) -> Path:
    engine_path = Path(engine_path)
    return engine_path.with_name(engine_path.name + ".json")


def read_sidecar(engine_path: Path) -> EngineSidecar:
    path = sidecar_path_for(engine_path)
    try:
        return EngineSidecar.model_validate_json(path.read_text(encoding="utf-8"))
    except (ValidationError, UnicodeDecodeError) as exc:
        raise SidecarError(f"{path}: engine sidecar is unreadable: {exc}") from exc


def write_sidecar(sidecar: EngineSidecar, engine_path: Path) -> Path:
    """Atomic (temp + rename) so a reader never sees half a sidecar."""
    path = sidecar_path_for(engine_path)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    tmp.write_text(sidecar.model_dump_json(indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def _status(
    ok: bool, reason: str, engine: Path, sc: EngineSidecar | None, problem: EngineProblem
) -> EngineStatus:
    return EngineStatus(ok=ok, reason=reason, engine_path=engine, sidecar=sc, problem=problem)


HW = tuple[int, int]


def _hw(hw: HW) -> str:
    return f"{hw[0]}x{hw[1]}"


def card_profile(card: ModelCard, onnx_hw: tuple[int | None, int | None] = (None, None)) -> tuple[HW, HW]:
    """(min, opt) H x W the card asks of an engine's profile; its max must be opt for ``resize`` and
    ``pad`` cards, at least opt for ``native`` ones (the pixel budget sets it at build time).
    Dimensions fixed in the ONNX win. Mirrors ``inspector.services.engine.build.profile_range``."""
    m = max(1, card.multiple)
    opt = (card.input_height, card.input_width)
    mn = opt
    if card.resize == "native":
        opt = (-(-opt[0] // m) * m, -(-opt[1] // m) * m)
        mn = (m, m)
    fh, fw = onnx_hw
    if fh is not None:
        mn, opt = (fh, mn[1]), (fh, opt[1])
    if fw is not None:
        mn, opt = (mn[0], fw), (opt[0], fw)
    return mn, opt


def profile_mismatch(sc: EngineSidecar, card: ModelCard) -> str:
    """Empty when the engine's recorded H x W profile is the one ``card`` asks for, else why not."""
    if sc.resize is not None and sc.resize != card.resize:
        return f"the engine's profile was made for a '{sc.resize}' card, the card now says '{card.resize}'"
    fixed = sc.onnx_hw or (None, None)
    mn, opt = card_profile(card, fixed)
    exact = card.resize != "native" or sc.resize is None
    mx_ok = (
        sc.max_hw == opt
        if exact
        else all(
            (f is not None and x == f) or (f is None and x >= o)
            for x, o, f in zip(sc.max_hw, opt, fixed, strict=True)
        )
    )
    have = (sc.min_hw, (sc.input_height, sc.input_width), sc.max_hw)
    if (have[0], have[1]) == (mn, opt) and mx_ok:
        return ""
    want_max = _hw(opt) if exact else f">= {_hw(opt)}"
    return (
        f"the engine's H x W profile {_hw(have[0])}..{_hw(have[2])} (opt {_hw(have[1])}) is not what the "
        f"model card asks for ({card.resize}: {_hw(mn)}..{want_max}, opt {_hw(opt)})"
    )


def check_engine(
    onnx_path: Path,
    precision: Precision = "fp16",
    engine_path: Path | None = None,
    *,
    require_parity: bool = True,
) -> EngineStatus:
    """Can the engine for ``onnx_path`` run here? Decided from files, the library and the GPU,
    without deserialising the engine. Never raises for an expected problem.

    An engine is only used when its sidecar records a passed parity check against ONNX Runtime
    and its H x W profile is the one the current model card asks for. ``require_parity=False``
    is for the parity check itself, which must run an engine that has not passed one yet.
    """
    from inspector.core.backends import trt_probe  # tensorrt/pycuda are imported inside its functions

    onnx_path = Path(onnx_path)
    engine = Path(engine_path) if engine_path else engine_path_for(onnx_path, precision)
    rebuild = (
        "rebuild needed (python -m inspector.services.engine build "
        f"--onnx {onnx_path} --precision {precision})"
    )
    if not onnx_path.is_file():
        return _status(False, f"model file not found: {onnx_path}", engine, None, EngineProblem.ONNX_MISSING)
    try:
        sc = read_sidecar(engine)
    except FileNotFoundError:
        sc = None
    except SidecarError as exc:
        return _status(False, f"{exc}: {rebuild}", engine, None, EngineProblem.SIDECAR_CORRUPT)
    if sc is not None and sc.status == "parity_failed":
        why = (sc.parity or {}).get("reason", "")
        return _status(
            False,
            f"the engine failed its parity check against ONNX Runtime ({why}); not used",
            engine,
            sc,
            EngineProblem.PARITY_FAILED,
        )
    if not engine.is_file():
        return _status(
            False, f"no TensorRT engine at {engine}: {rebuild}", engine, sc, EngineProblem.ENGINE_MISSING
        )
    if sc is None:
        return _status(
            False,
            f"engine {engine.name} has no sidecar, so its origin is unknown: {rebuild}",
            engine,
            None,
            EngineProblem.SIDECAR_MISSING,
        )
    if sc.precision != precision:
        return _status(
            False,
            f"engine is {sc.precision}, {precision} was asked for: {rebuild}",
            engine,
            sc,
            EngineProblem.PRECISION,
        )
    try:
        card = load_card(onnx_path)  # recomputes the sha256 that names the model
    except (OSError, ValueError) as exc:
        return _status(False, f"model card unreadable: {exc}", engine, sc, EngineProblem.CARD_INVALID)
    if sc.onnx_sha256 != card.sha256:
        return _status(
            False,
            f"engine is stale: built from another version of {onnx_path.name} "
            f"(sha256 {sc.onnx_sha256[:12]}...): {rebuild}",
            engine,
            sc,
            EngineProblem.STALE,
        )
    if require_parity and not sc.parity_passed:
        return _status(
            False,
            f"engine {engine.name} has no passed parity check against ONNX Runtime recorded; not used: "
            f"{rebuild.replace('rebuild needed', 'rebuild it with its parity check')}",
            engine,
            sc,
            EngineProblem.NOT_VERIFIED,
        )
    mismatch = profile_mismatch(sc, card)
    if mismatch:
        return _status(False, f"{mismatch}: {rebuild}", engine, sc, EngineProblem.PROFILE_MISMATCH)
    try:
        here_trt = trt_probe.tensorrt_version()
        trt_probe.import_cuda()
    except BackendUnavailable as exc:
        return _status(False, str(exc), engine, sc, EngineProblem.NO_TENSORRT)
    if here_trt != sc.tensorrt_version:
        return _status(
            False,
            f"engine was built with TensorRT {sc.tensorrt_version}, this machine has "
            f"TensorRT {here_trt}: {rebuild}",
            engine,
            sc,
            EngineProblem.TRT_VERSION,
        )
    try:
        gpu = trt_probe.current_gpu()
    except BackendUnavailable as exc:
        return _status(False, str(exc), engine, sc, EngineProblem.NO_GPU)
    # same compute capability is not enough: TensorRT tunes tactics per GPU model
    if (gpu.name, gpu.compute_capability) != (sc.gpu_name, sc.compute_capability):
        return _status(
            False,
            f"engine was built for {sc.gpu_name} ({sc.sm}), this GPU is {gpu}: {rebuild}",
            engine,
            sc,
            EngineProblem.FOREIGN_GPU,
        )
    note = ", parity-checked against ONNX Runtime" if sc.parity_passed else " (not parity-checked)"
    return _status(
        True,
        f"engine matches: TensorRT {here_trt} {sc.math} on {gpu}{note}",
        engine,
        sc,
        EngineProblem.OK,
    )
