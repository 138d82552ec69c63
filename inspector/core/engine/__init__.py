"""TensorRT engines as derived artifacts of an ONNX model (rebuilt, never edited).

Nothing here imports tensorrt or pycuda at module import (heavy imports stay lazy): those are
imported inside the functions that need them. Build runs as a child process
(``python -m inspector.core.engine build ...``) so a crash in the builder
cannot take the station down.
"""

from inspector.core.engine.sidecar import (
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
