"""Fake ``pycuda.driver``: device memory as numpy arrays keyed by integer pointers.

Mirrors the real names: init, Device(i).name()/compute_capability()/
retain_primary_context()/make_context(), Context.push/pop/detach/get_current,
mem_alloc -> DeviceAllocation (int(), free()), pagelocked_empty, Stream
(.handle, .synchronize()), memcpy_htod(_async), memcpy_dtoh(_async).

Like CUDA, a context is current *per thread*; allocations, streams and copies
need one on the calling thread. Async work runs when the stream synchronizes.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from typing import Any

import numpy as np


class Error(Exception):
    pass


class LogicError(Error):
    pass


class RuntimeError(Error):
    pass


class MemoryError(Error):
    pass


_initialized = False
_tls = threading.local()
_lock = threading.Lock()
# next free device address: allocations never overlap whatever their size (a fixed stride did, and
# a buffer over the stride then aliased its neighbour); 256-byte aligned like cuMemAlloc's pointers
_next_ptr = 0x7F0000000000
_ALIGN = 256
_handles = itertools.count(0x5000)
# base pointer -> backing bytes
_DEVICE_MEMORY: dict[int, np.ndarray] = {}
# stream handle -> queued operations (run on synchronize)
_STREAM_QUEUES: dict[int, list[Callable[[], None]]] = {}
_PAGELOCKED: list[np.ndarray] = []
# counters tests read to check buffer reuse and copy discipline
STATS: dict[str, int] = {"mem_alloc": 0, "free": 0, "pagelocked_empty": 0, "pageable_async_copies": 0}


def _device_count() -> int:
    return int(os.environ.get("FAKE_CUDA_DEVICES", "1"))


def init(flags: int = 0) -> None:
    global _initialized
    if _device_count() <= 0:
        raise RuntimeError("cuInit failed: no CUDA-capable device is detected")
    _initialized = True


def get_version() -> tuple[int, int, int]:
    return (12, 4, 0)


def get_driver_version() -> int:
    return 12040


def _need_init() -> None:
    if not _initialized:
        raise LogicError("cuDeviceGet failed: initialization error")


def _stack() -> list[Context]:
    if not hasattr(_tls, "stack"):
        _tls.stack = []
    return _tls.stack


def _need_context(what: str) -> None:
    _need_init()
    if not _stack():
        raise LogicError(f"{what} failed: invalid device context")


class Device:
    def __init__(self, number: int) -> None:
        _need_init()
        if not 0 <= number < _device_count():
            raise LogicError("cuDeviceGet failed: invalid device ordinal")
        self._number = number

    @staticmethod
    def count() -> int:
        _need_init()
        return _device_count()

    def name(self) -> str:
        return os.environ.get("FAKE_CUDA_GPU_NAME", "NVIDIA L4")

    def compute_capability(self) -> tuple[int, int]:
        major, minor = os.environ.get("FAKE_CUDA_CC", "8.9").split(".")
        return (int(major), int(minor))

    def total_memory(self) -> int:
        return 24 * 1024**3

    def pci_bus_id(self) -> str:
        return f"0000:{self._number + 1:02x}:00.0"

    def retain_primary_context(self) -> Context:
        return Context(self)

    def make_context(self, flags: int = 0) -> Context:
        ctx = Context(self)
        ctx.push()
        return ctx


class Context:
    def __init__(self, device: Device) -> None:
        self._device = device
        self.detached = False

    def push(self) -> None:
        if self.detached:
            raise LogicError("cuCtxPushCurrent failed: invalid device context")
        _stack().append(self)

    @staticmethod
    def pop() -> None:
        stack = _stack()
        if not stack:
            raise LogicError("cuCtxPopCurrent failed: invalid device context")
        stack.pop()

    @staticmethod
    def get_current() -> Context | None:
        stack = _stack()
        return stack[-1] if stack else None

    @staticmethod
    def get_device() -> Device:
        _need_context("cuCtxGetDevice")
        return _stack()[-1]._device

    @staticmethod
    def synchronize() -> None:
        _need_context("cuCtxSynchronize")
        for handle in list(_STREAM_QUEUES):
            _run_queue(handle)

    def detach(self) -> None:
        self.detached = True


class DeviceAllocation:
    def __init__(self, ptr: int, nbytes: int) -> None:
        self._ptr = ptr
        self.nbytes = nbytes

    def __int__(self) -> int:
        return self._ptr

    def __index__(self) -> int:
        return self._ptr

    def free(self) -> None:
        with _lock:
            if _DEVICE_MEMORY.pop(self._ptr, None) is not None:
                STATS["free"] += 1


def mem_alloc(nbytes: int) -> DeviceAllocation:
    _need_context("cuMemAlloc")
    if nbytes <= 0:
        raise LogicError("cuMemAlloc failed: invalid argument")
    global _next_ptr
    with _lock:
        ptr = _next_ptr
        _next_ptr += -(-int(nbytes) // _ALIGN) * _ALIGN + _ALIGN  # a guard gap between allocations
        _DEVICE_MEMORY[ptr] = np.zeros(int(nbytes), dtype=np.uint8)
        STATS["mem_alloc"] += 1
    return DeviceAllocation(ptr, int(nbytes))


def pagelocked_empty(shape: Any, dtype: Any, order: str = "C", mem_flags: int = 0) -> np.ndarray:
    _need_context("cuMemHostAlloc")
    arr = np.empty(shape, dtype=dtype, order=order)
    _PAGELOCKED.append(arr)
    STATS["pagelocked_empty"] += 1
    return arr


def _is_pagelocked(arr: np.ndarray) -> bool:
    return any(np.shares_memory(arr, p) for p in _PAGELOCKED)


def device_view(ptr: int, nbytes: int) -> np.ndarray:
    """Bytes [ptr, ptr+nbytes) of one live allocation (the fake TensorRT uses this)."""
    with _lock:
        for base, mem in _DEVICE_MEMORY.items():
            if base <= ptr < base + mem.size:
                off = ptr - base
                if off + nbytes > mem.size:
                    raise LogicError(
                        f"out-of-bounds device access: {nbytes} bytes at offset {off} "
                        f"of a {mem.size}-byte allocation"
                    )
                return mem[off : off + nbytes]
    raise LogicError("cuMemcpy failed: invalid argument (pointer is not a live device allocation)")


class Stream:
    def __init__(self, flags: int = 0) -> None:
        _need_context("cuStreamCreate")
        self.handle = next(_handles)
        _STREAM_QUEUES[self.handle] = []

    def synchronize(self) -> None:
        _need_context("cuStreamSynchronize")
        _run_queue(self.handle)

    def is_done(self) -> bool:
        return not _STREAM_QUEUES.get(self.handle)


def enqueue(handle: int, op: Callable[[], None]) -> None:
    """Queue work on a stream (the fake TensorRT enqueues execute_async_v3 here)."""
    if handle not in _STREAM_QUEUES:
        raise LogicError("invalid resource handle (unknown stream)")
    _STREAM_QUEUES[handle].append(op)


def _run_queue(handle: int) -> None:
    queue = _STREAM_QUEUES.get(handle, [])
    while queue:
        queue.pop(0)()


def _host_bytes(arr: np.ndarray) -> np.ndarray:
    if not arr.flags.c_contiguous:
        raise LogicError("host buffer must be contiguous")
    return arr.reshape(-1).view(np.uint8)


def memcpy_htod(dest: Any, src: np.ndarray) -> None:
    _need_context("cuMemcpyHtoD")
    data = _host_bytes(src)
    device_view(int(dest), data.size)[:] = data


def memcpy_dtoh(dest: np.ndarray, src: Any) -> None:
    _need_context("cuMemcpyDtoH")
    out = _host_bytes(dest)
    out[:] = device_view(int(src), out.size)


def memcpy_htod_async(dest: Any, src: np.ndarray, stream: Stream | None = None) -> None:
    _need_context("cuMemcpyHtoDAsync")
    if not _is_pagelocked(src):
        STATS["pageable_async_copies"] += 1
    data = _host_bytes(src)
    ptr = int(dest)
    device_view(ptr, data.size)  # validate now, as CUDA does for bad pointers

    def op() -> None:
        # reads host memory when the copy runs, not when it was queued
        device_view(ptr, data.size)[:] = data

    _submit(stream, op)


def memcpy_dtoh_async(dest: np.ndarray, src: Any, stream: Stream | None = None) -> None:
    _need_context("cuMemcpyDtoHAsync")
    if not _is_pagelocked(dest):
        STATS["pageable_async_copies"] += 1
    out = _host_bytes(dest)
    ptr = int(src)
    device_view(ptr, out.size)

    def op() -> None:
        out[:] = device_view(ptr, out.size)

    _submit(stream, op)


def _submit(stream: Stream | None, op: Callable[[], None]) -> None:
    if stream is None:
        op()  # legacy default stream: behaves synchronously here
    else:
        enqueue(stream.handle, op)
