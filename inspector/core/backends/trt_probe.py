"""What this machine offers TensorRT: library version and GPU, with readable failures.

Every import of tensorrt / pycuda happens in here, inside functions, so that
``import inspector`` never loads them (heavy imports live inside functions).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from inspector.core.backends.base import BackendUnavailable


@dataclass(frozen=True, slots=True)
class GpuInfo:
    name: str  # "NVIDIA L4"
    compute_capability: str  # "8.9"

    @property
    def sm(self) -> str:
        return "sm_" + self.compute_capability.replace(".", "")

    def __str__(self) -> str:
        return f"{self.name} ({self.sm})"


def import_tensorrt() -> ModuleType:
    try:
        import tensorrt
    except ImportError as exc:
        raise BackendUnavailable(
            f"TensorRT is not installed ({exc}); "
            "install the 'gpu' extra or run in NVIDIA's TensorRT container"
        ) from exc
    except OSError as exc:  # the wheel is there but its CUDA libraries are not
        raise BackendUnavailable(f"TensorRT cannot load its libraries: {exc}") from exc
    return tensorrt


def import_cuda() -> ModuleType:
    try:
        import pycuda.driver as cuda
    except ImportError as exc:
        # pycuda raises ImportError too when libcuda.so (the NVIDIA driver) is absent
        raise BackendUnavailable(
            f"pycuda cannot be imported ({exc}); no NVIDIA driver or pycuda missing"
        ) from exc
    return cuda


def tensorrt_version() -> str:
    return str(import_tensorrt().__version__)


def trt_major(trt: ModuleType) -> int:
    return int(str(trt.__version__).split(".")[0])


def current_gpu(index: int = 0) -> GpuInfo:
    """Name and compute capability of GPU ``index``; needs no CUDA context."""
    cuda = import_cuda()
    try:
        cuda.init()
        count = cuda.Device.count()
    except Exception as exc:  # pycuda.driver.Error subclasses: no device, driver too old...
        raise BackendUnavailable(f"no usable NVIDIA GPU: {exc}") from exc
    if count <= index:
        raise BackendUnavailable(f"no NVIDIA GPU #{index} (found {count})")
    dev = cuda.Device(index)
    major, minor = dev.compute_capability()
    return GpuInfo(name=str(dev.name()), compute_capability=f"{major}.{minor}")
