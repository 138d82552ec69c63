"""The TensorRT engine build tool: engines are derived artifacts of an ONNX model (rebuilt, never
edited). ``build``, ``check`` and ``bench`` are application work, not domain; what the TensorRT
backend itself needs at inference time (the sidecar, :func:`check_engine`, the TensorRT/GPU probe)
lives in ``inspector.core.backends.trt_engine_file`` and ``trt_probe`` and is re-exported here.

Nothing here imports tensorrt or pycuda at module import (heavy imports stay lazy): those are
imported inside the functions that need them. Build runs as a child process
(``python -m inspector.services.engine build ...``) so a crash in the builder
cannot take the station down.
"""

from inspector.core.backends.trt_engine_file import (
    EngineProblem,
    EngineSidecar,
    EngineStatus,
    check_engine,
    engine_path_for,
    read_sidecar,
    sidecar_path_for,
)

__all__ = [
    "EngineProblem",
    "EngineSidecar",
    "EngineStatus",
    "check_engine",
    "engine_path_for",
    "read_sidecar",
    "sidecar_path_for",
]
