"""TensorRT on an NVIDIA GPU via pycuda (TensorRT 10/11 name-based tensor API).

Threading: a CUDA context is current per *thread*. ``load()`` pushes the
device's primary context on the calling thread, so ``load``, ``infer`` and
``close`` must all run on that one thread (the inference worker). Calls from
another thread raise RuntimeError instead of failing deep inside CUDA.

tensorrt and pycuda are imported inside ``load`` only (heavy imports stay lazy).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inspector.core.backends.base import Backend, BackendInfo, BackendUnavailable, ModelLoadError
from inspector.core.backends.trt_engine_file import EngineSidecar, Precision, check_engine
from inspector.core.contract import INPUT_NAME, OUTPUT_NAME


@dataclass
class _Buffer:
    """One I/O tensor: page-locked host + device memory, grown on demand, reused otherwise."""

    name: str
    dtype: np.dtype
    capacity: int = 0  # elements
    host: np.ndarray | None = None
    device: Any = None  # pycuda DeviceAllocation

    def ensure(self, cuda: Any, elements: int) -> None:
        if elements <= self.capacity:
            return
        if self.device is not None:
            self.device.free()
        self.host = cuda.pagelocked_empty(elements, self.dtype)
        self.device = cuda.mem_alloc(elements * self.dtype.itemsize)
        self.capacity = elements

    def host_view(self, shape: tuple[int, ...]) -> np.ndarray:
        assert self.host is not None
        return self.host[: int(np.prod(shape))].reshape(shape)

    def free(self) -> None:
        if self.device is not None:
            self.device.free()
        self.device, self.host, self.capacity = None, None, 0


class TensorRTBackend(Backend):
    name = "tensorrt"

    def __init__(
        self,
        precision: Precision = "fp16",
        engine_path: Path | None = None,
        device: int = 0,
        *,
        require_parity: bool = True,
    ) -> None:
        self.precision: Precision = precision
        self.engine_path = Path(engine_path) if engine_path else None
        self.device_index = device
        # False only for the parity check of a fresh build (services.engine.parity.verify_engine)
        self.require_parity = require_parity
        self.notice = ""
        self._owner: int | None = None
        self._cuda: Any = None
        self._trt: Any = None
        self._ctx: Any = None  # pycuda primary Context, pushed on the owner thread
        self._runtime: Any = None
        self._engine: Any = None
        self._context: Any = None  # trt.IExecutionContext
        self._stream: Any = None
        self._buffers: dict[str, _Buffer] = {}
        self._out_name = OUTPUT_NAME
        self._max_batch = 1
        self._hw: tuple[int, int] = (0, 0)  # the profile's opt H, W
        self._min_hw: tuple[int, int] = (0, 0)
        self._max_hw: tuple[int, int] = (0, 0)
        self._sidecar: EngineSidecar | None = None
        self._gpu = ""
        self._model_path = Path()

    # ------------------------------------------------------------------ lifecycle
    def load(self, model_path: Path) -> None:
        """``model_path`` is the ONNX (the model's identity); the engine beside it is checked first."""
        if self._engine is not None:
            raise RuntimeError("TensorRTBackend.load called twice; close() first")
        model_path = Path(model_path)
        status = check_engine(
            model_path, self.precision, self.engine_path, require_parity=self.require_parity
        )
        if not status.ok:
            raise BackendUnavailable(status.reason)
        self._sidecar = status.sidecar
        from inspector.core.backends import trt_probe

        trt, cuda = trt_probe.import_tensorrt(), trt_probe.import_cuda()
        cuda.init()
        dev = cuda.Device(self.device_index)
        ctx = dev.retain_primary_context()
        ctx.push()
        self._cuda, self._trt, self._ctx = cuda, trt, ctx
        self._owner = threading.get_ident()
        self._gpu = f"{dev.name()} (sm_{''.join(map(str, dev.compute_capability()))})"
        try:
            self._open_engine(status.engine_path)
        except BaseException:
            self.close()
            raise
        self._model_path = model_path

    def _open_engine(self, engine_path: Path) -> None:
        trt = self._trt
        logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(logger)  # kept alive: the engine must not outlive its runtime
        engine = self._runtime.deserialize_cuda_engine(engine_path.read_bytes())
        if engine is None:
            raise BackendUnavailable(f"TensorRT could not deserialize {engine_path}; rebuild the engine")
        self._engine = engine
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        inputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        outputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        if inputs != [INPUT_NAME] or not outputs:
            raise ModelLoadError(f"{engine_path}: engine needs one input '{INPUT_NAME}', has inputs {inputs}")
        self._out_name = OUTPUT_NAME if OUTPUT_NAME in outputs else outputs[0]
        mn, opt, mx = (tuple(int(d) for d in s) for s in engine.get_tensor_profile_shape(INPUT_NAME, 0))
        if len(mn) != 4 or mn[3] != 1 or mx[3] != 1:
            raise ModelLoadError(
                f"{engine_path}: input profile must be NHWC [N, H, W, 1], has min {mn} max {mx}"
            )
        self._max_batch = mx[0]
        # any H x W inside the profile runs (an engine for a `native` card covers a range)
        self._min_hw, self._hw, self._max_hw = (mn[1], mn[2]), (opt[1], opt[2]), (mx[1], mx[2])
        for n in (INPUT_NAME, self._out_name):
            dtype = engine.get_tensor_dtype(n)
            try:
                np_type = trt.nptype(dtype)
            except TypeError as exc:  # BF16, FP8, INT4...: no numpy type, so no host buffer
                raise ModelLoadError(
                    f"{engine_path}: tensor '{n}' is {getattr(dtype, 'name', dtype)}, which has no numpy "
                    "equivalent; the station needs float32 model I/O (keep_io_types), rebuild the engine"
                ) from exc
            self._buffers[n] = _Buffer(n, np.dtype(np_type))
        self._context = engine.create_execution_context()
        self._stream = self._cuda.Stream()

    def close(self) -> None:
        if self._ctx is None:
            return
        self._check_thread("close")
        try:
            if self._stream is not None:
                self._stream.synchronize()
            for buf in self._buffers.values():
                buf.free()
            # TensorRT objects are destroyed while our context is still current
            self._context = self._engine = self._runtime = self._stream = None
        finally:
            self._cuda.Context.pop()
            self._ctx.detach()
            self._ctx, self._owner = None, None
            self._buffers = {}

    def _check_thread(self, what: str) -> None:
        if threading.get_ident() != self._owner:
            raise RuntimeError(
                f"TensorRTBackend.{what}() called from another thread: its CUDA context is current only on "
                "the thread that called load(); load, infer and close must run on one (worker) thread"
            )

    # ------------------------------------------------------------------ inference
    @property
    def max_batch(self) -> int:
        """Largest batch one engine call takes (the profile's max); bigger batches are split."""
        return self._max_batch

    @property
    def input_size(self) -> tuple[int, int]:
        """(H, W) the engine was tuned for (the profile's opt)."""
        return self._hw

    @property
    def min_input_size(self) -> tuple[int, int]:
        """Smallest (H, W) the engine's profile takes."""
        return self._min_hw

    @property
    def max_input_size(self) -> tuple[int, int]:
        """Largest (H, W) the engine's profile takes; the tiler cuts larger images to fit."""
        return self._max_hw

    def infer(self, batch: np.ndarray) -> np.ndarray:
        if self._context is None:
            raise RuntimeError("backend not loaded")
        self._check_thread("infer")
        batch = np.asarray(batch)
        (h0, w0), (h1, w1) = self._min_hw, self._max_hw
        if (
            batch.ndim != 4
            or batch.shape[3] != 1
            or not (h0 <= batch.shape[1] <= h1 and w0 <= batch.shape[2] <= w1)
        ):
            want = (
                f"[N, {h0}, {w0}, 1]"
                if (h0, w0) == (h1, w1)
                else f"[N, H, W, 1] with {h0} <= H <= {h1}, {w0} <= W <= {w1}"
            )
            raise ValueError(f"expected a batch {want} (the engine's profile), got {list(batch.shape)}")
        if batch.shape[0] == 0:  # nothing to run; TensorRT rejects a zero batch
            return np.zeros(batch.shape, np.float32)
        # the profile's max batch is a hard limit: split, never fail
        parts = [
            self._infer_chunk(batch[i : i + self._max_batch]) for i in range(0, len(batch), self._max_batch)
        ]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def _infer_chunk(self, chunk: np.ndarray) -> np.ndarray:
        cuda, ctx = self._cuda, self._context
        inp, out = self._buffers[INPUT_NAME], self._buffers[self._out_name]
        if not ctx.set_input_shape(INPUT_NAME, chunk.shape):
            raise RuntimeError(f"TensorRT rejected input shape {list(chunk.shape)}")
        out_shape = tuple(int(d) for d in ctx.get_tensor_shape(self._out_name))
        inp.ensure(cuda, chunk.size)
        out.ensure(cuda, int(np.prod(out_shape)))
        host_in = inp.host_view(chunk.shape)
        host_in[...] = chunk  # casts to the engine's input dtype
        host_out = out.host_view(out_shape)
        # addresses can change when a buffer grew, so set them for every call (cheap)
        ctx.set_tensor_address(INPUT_NAME, int(inp.device))
        ctx.set_tensor_address(self._out_name, int(out.device))
        cuda.memcpy_htod_async(inp.device, host_in, self._stream)
        if not ctx.execute_async_v3(self._stream.handle):
            raise RuntimeError("TensorRT execute_async_v3 failed")
        cuda.memcpy_dtoh_async(host_out, out.device, self._stream)
        self._stream.synchronize()
        # copy: the page-locked buffer is reused by the next call
        return host_out.astype(np.float32, copy=True)

    def info(self) -> BackendInfo:
        version = ""
        if self._trt is not None:
            version = ".".join(str(self._trt.__version__).split(".")[:2])
        prec = self._sidecar.math if self._sidecar else self.precision.upper()
        return BackendInfo(
            name=self.name,
            display=f"TensorRT {version} {prec} on {self._gpu}",
            device=self._gpu,
            model_path=self._model_path,
            notice=self.notice,
        )
