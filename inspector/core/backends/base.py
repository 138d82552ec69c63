"""One inference interface for every backend (ONNX Runtime, TensorRT, ...)."""

from __future__ import annotations

import abc
import enum
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class BackendKind(enum.StrEnum):
    AUTO = "auto"
    ONNXRUNTIME = "onnxruntime"
    OPENVINO = "openvino"
    TENSORRT = "tensorrt"


class BackendUnavailable(RuntimeError):
    """This backend cannot run here (library missing, no GPU, stale engine...).

    The message says why, in words an operator can act on.
    """


class ModelLoadError(ValueError):
    """The model file is missing, corrupt, or does not follow the model contract."""


@dataclass(frozen=True, slots=True)
class BackendInfo:
    name: str  # "onnxruntime" | "openvino" | "tensorrt" | "triton"
    display: str  # e.g. "ONNX Runtime 1.19 CPU (2 threads)"
    device: str  # e.g. "CPU" or "NVIDIA H100 (sm_90)"
    model_path: Path
    notice: str = ""  # e.g. why auto fell back to ONNX Runtime, or chose OpenVINO


class Backend(abc.ABC):
    """Load a model once, then ``infer`` float32 NHWC batches -> probabilities NHWC.

    Contract: input named ``image`` float32 [N, H, W, 1]; output ``mask``
    float32 [N, H, W, 1] sigmoid probabilities.
    """

    name: str = "abstract"

    @abc.abstractmethod
    def load(self, model_path: Path) -> None: ...

    @abc.abstractmethod
    def infer(self, batch: np.ndarray) -> np.ndarray: ...

    @abc.abstractmethod
    def info(self) -> BackendInfo: ...

    def infer_async(
        self, batch: np.ndarray, backlog: bool = False
    ) -> Future[tuple[np.ndarray, float]] | None:
        """Start ``batch`` without waiting for it: a Future of (output, ms the model spent on it),
        or None when this backend (or this batch) runs through :meth:`infer` only (the default).
        ``backlog``: more frames are waiting (a backend may then favour throughput over latency).

        A backend that overlaps calls bounds how many are in flight (this call blocks while that
        many are) and completes them in order; the Future carries an inference error. Any thread
        may wait on it."""
        return None

    @property
    def in_flight_max(self) -> int:
        """The most :meth:`infer_async` calls in flight at once (0: it never overlaps calls); a
        run keeps that many frames queued behind the model, so none of them waits for a slot."""
        return 0

    def close(self) -> None:  # noqa: B027 - optional hook
        """Free native resources; safe to call twice."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
