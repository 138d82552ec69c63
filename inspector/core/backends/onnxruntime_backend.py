"""ONNX Runtime on CPU: the default backend, tuned for throughput.

Graph optimisation stays at ORT_ENABLE_ALL (lowering it cost 37 % here) and
intra-op threads match the physical cores the process may use.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from inspector.core.backends.base import Backend, BackendInfo, BackendUnavailable, ModelLoadError
from inspector.core.contract import INPUT_NAME, OUTPUT_NAME

__all__ = ["INPUT_NAME", "OUTPUT_NAME", "OnnxRuntimeBackend", "default_threads", "make_session"]


def default_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def make_session(
    model: Path | str,
    threads: int | None = None,
    *,
    spin: bool | None = None,
    providers: list[str] | None = None,
) -> Any:
    """The one place an ONNX Runtime ``InferenceSession`` is made (station, trainer, bench).

    Graph optimisation at ORT_ENABLE_ALL (see the module note), one sequential
    inter-op lane. ``threads``: intra-op threads, None or 0 for ONNX Runtime's own default
    (one per physical core). ``spin``: whether idle intra-op workers spin-wait; None keeps
    ONNX Runtime's default (they spin). ``providers``: CPU only unless given.
    Raises what ``onnxruntime`` raises for a file that is missing or not a model.
    """
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    if spin is not None:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    return ort.InferenceSession(
        str(model), sess_options=opts, providers=providers or ["CPUExecutionProvider"]
    )


class OnnxRuntimeBackend(Backend):
    name = "onnxruntime"

    def __init__(
        self, threads: int | None = None, providers: list[str] | None = None, spin: bool = False
    ) -> None:
        self.threads = threads or default_threads()
        self.spin = spin
        self.providers = providers or ["CPUExecutionProvider"]
        self._session: object | None = None
        self._model_path: Path | None = None
        self._version = ""
        self.notice = ""  # set by select_backend when auto fell back to ONNX Runtime

    def load(self, model_path: Path) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:  # pragma: no cover - it is a core dependency
            raise BackendUnavailable(f"onnxruntime is not installed: {exc}") from exc
        model_path = Path(model_path)
        if not model_path.is_file():
            raise ModelLoadError(f"model file not found: {model_path}")
        # Idle ORT workers spin by default. In the station, decode, rules and the DB
        # writer share the cores with inference; a spinning worker that gets
        # descheduled makes the whole parallel section wait. Measured on 2 cores
        # (bench/pipeline.py, DAGM model): spinning off costs the bare model 2 %
        # (14.35 -> 14.08 img/s) and gains the full pipeline 6 % (12.12 -> 12.81 img/s).
        try:
            sess = make_session(model_path, self.threads, spin=self.spin, providers=self.providers)
        except Exception as exc:
            raise ModelLoadError(f"{model_path}: not a loadable ONNX model: {exc}") from exc
        _check_contract(sess, model_path)
        self._session = sess
        self._model_path = model_path
        self._version = ort.__version__

    def infer(self, batch: np.ndarray) -> np.ndarray:
        if self._session is None:
            raise RuntimeError("backend not loaded")
        if batch.dtype != np.float32:
            batch = batch.astype(np.float32)
        batch = np.ascontiguousarray(batch)
        (out,) = self._session.run([OUTPUT_NAME], {INPUT_NAME: batch})  # type: ignore[attr-defined]
        return out

    def info(self) -> BackendInfo:
        return BackendInfo(
            name=self.name,
            display=f"ONNX Runtime {self._version} CPU ({threads_label(self.threads)})",
            device="CPU",
            model_path=self._model_path or Path(),
            notice=self.notice,
        )

    def close(self) -> None:
        self._session = None


def _check_contract(sess: object, model_path: Path) -> None:
    """Refuse models that do not follow the contract, with a message naming what differs."""
    inputs = {i.name: i for i in sess.get_inputs()}  # type: ignore[attr-defined]
    outputs = {o.name: o for o in sess.get_outputs()}  # type: ignore[attr-defined]
    if INPUT_NAME not in inputs or OUTPUT_NAME not in outputs:
        raise ModelLoadError(
            f"{model_path}: expected input '{INPUT_NAME}' and output '{OUTPUT_NAME}', "
            f"found inputs {sorted(inputs)} and outputs {sorted(outputs)}"
        )
    inp = inputs[INPUT_NAME]
    if inp.type != "tensor(float)" or len(inp.shape) != 4 or inp.shape[-1] not in (1, "1"):
        raise ModelLoadError(
            f"{model_path}: input '{INPUT_NAME}' must be float32 NHWC [N, H, W, 1], "
            f"got {inp.type} {inp.shape}"
        )
    out = outputs[OUTPUT_NAME]
    # The pipeline reads out[0, ..., 0]: another layout would be silently misread as a mask.
    if out.type != "tensor(float)" or len(out.shape) != 4 or out.shape[-1] not in (1, "1"):
        raise ModelLoadError(
            f"{model_path}: output '{OUTPUT_NAME}' must be float32 NHWC [N, H, W, 1], "
            f"got {out.type} {out.shape}"
        )


def threads_label(n: int) -> str:
    """ "1 thread", "2 threads": for the backend's display name."""
    return f"{n} thread{'' if n == 1 else 's'}"
