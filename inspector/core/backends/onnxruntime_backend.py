"""ONNX Runtime on CPU: the default backend, tuned for throughput.

Graph optimisation stays at ORT_ENABLE_ALL (lowering it cost 37 % here) and
intra-op threads match the physical cores the process may use.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from inspector.core.backends.base import Backend, BackendInfo, BackendUnavailable, ModelLoadError

INPUT_NAME = "image"
OUTPUT_NAME = "mask"


def default_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


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
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Idle ORT workers spin by default. In the station, decode, rules and the DB
        # writer share the cores with inference; a spinning worker that gets
        # descheduled makes the whole parallel section wait. Measured on 2 cores
        # (bench/pipeline.py, DAGM model): spinning off costs the bare model 2 %
        # (14.35 -> 14.08 img/s) and gains the full pipeline 6 % (12.12 -> 12.81 img/s).
        opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if self.spin else "0")
        try:
            sess = ort.InferenceSession(str(model_path), sess_options=opts, providers=self.providers)
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
            display=f"ONNX Runtime {self._version} CPU ({self.threads} threads)",
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
