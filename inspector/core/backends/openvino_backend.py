"""OpenVINO on CPU: runs the same ONNX file as ONNX Runtime, faster on some CPUs (INT8 QDQ models).

``openvino`` is imported when a model is loaded, never at module import; a missing or broken
installation is :class:`BackendUnavailable` saying so.

Shapes: the model is compiled for one image of a fixed size, [1, H, W, 1], once per image size
(H, W) and mode, kept in a small LRU. Static shapes ran the shipped INT8 U-Net 1.46x faster than
the same model compiled with a dynamic batch (LATENCY, 2 cores: 137 against 94 images/s; 155
against 127 on two THROUGHPUT streams; docs/performance.md), and one image per request is all
the station needs: a batch of several images runs as one request per image, spread over the
streams. A compile costs about 0.1-0.5 s, paid once per size (the station sees one or two).

Streams: several images at once run on ``streams`` infer requests side by side (OpenVINO's
THROUGHPUT mode, each stream with ``threads / streams`` threads), while one image runs alone
with every thread (LATENCY mode). One stream with every thread finishes one image soonest; two
streams of one thread each get more images through (no thread of one image waits for the other
at each layer, and a core taken by decoding or the database slows one stream, not the image).
``streams=None`` (the default) does both, with one compiled model per mode and size;
``streams=1`` is LATENCY only, ``streams=k`` is THROUGHPUT with k streams for every call.

Overlapped calls (:meth:`OpenVINOBackend.infer_async`): the run says whether more frames are
waiting (``backlog``); with a backlog the calls go to the THROUGHPUT streams, two in flight per
stream, else to the LATENCY model, two in flight (one running, one queued). The two modes never
run at once (that would put twice as many threads as cores to work): a call for THROUGHPUT
waits until the LATENCY calls in flight have ended, and a call without a backlog while
THROUGHPUT calls are in flight joins them (it is switched back once nothing is in flight).

Precision: ``INFERENCE_PRECISION_HINT`` is pinned to f32, so an FP32 model is never silently run
in bf16 on a CPU that has it (that would change the maps without a parity check); the
quantised layers of an INT8 QDQ model run in INT8 either way.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np

from inspector.core.backends.base import Backend, BackendInfo, BackendUnavailable, ModelLoadError
from inspector.core.backends.onnxruntime_backend import default_threads, threads_label
from inspector.core.contract import INPUT_NAME, OUTPUT_NAME

DEVICE = "CPU"
MAX_COMPILED_SIZES = 6  # (H, W) sizes kept compiled; the least recently used one is dropped
MAX_AUTO_STREAMS = 4  # streams=None: batches are split over up to this many streams (<= threads)
# infer_async: calls in flight per stream at most (one running, one queued behind it, so the
# stream never waits for Python between two images)
ASYNC_DEPTH = 2


def import_openvino() -> Any:
    """The ``openvino`` module, or BackendUnavailable saying why it cannot be used."""
    try:
        import openvino
    except ImportError as exc:
        raise BackendUnavailable(f"OpenVINO is not installed ({exc}); pip install openvino") from exc
    except Exception as exc:  # a broken install (missing shared library, ABI clash...)
        raise BackendUnavailable(f"OpenVINO cannot be imported: {exc}") from exc
    return openvino


def openvino_version() -> str:
    """The installed OpenVINO version (e.g. "2026.4.1"), or "" when it is not usable."""
    try:
        ov = import_openvino()
    except BackendUnavailable:
        return ""
    return str(getattr(ov, "__version__", "")).split("-")[0]


class OpenVINOBackend(Backend):
    name = "openvino"

    def __init__(
        self,
        threads: int | None = None,
        streams: int | None = None,
        warm_size: tuple[int, int] | None = None,
        pinning: bool = False,
    ) -> None:
        if streams is not None and streams < 1:
            raise ValueError(f"streams must be >= 1, not {streams}")
        self.threads = threads or default_threads()
        self.auto_streams = streams is None
        self.streams = min(MAX_AUTO_STREAMS if streams is None else streams, self.threads)
        self.warm_size = warm_size
        # Off by default: decode, rules and the DB writer share the cores with inference, and a
        # pinned worker waits for its core instead of running on the idle one.
        self.pinning = pinning
        self.notice = ""  # set by select_backend (why auto chose or skipped it)
        self._core: Any = None
        self._model: Any = None
        self._model_path: Path | None = None
        self._version = ""
        self._quantized = False
        self._compiled: OrderedDict[tuple[int, int, int], list[Any]] = OrderedDict()
        self._lock = threading.Lock()
        # infer_async: idle requests per compiled model (H, W, streams), the calls in flight (in
        # the order they started), how many and on which mode (streams), and the thread that
        # waits for them
        self._free: dict[tuple[int, int, int], list[Any]] = {}
        self._free_lock = threading.Lock()
        self._flight = threading.Condition()
        self._flying = 0
        self._flying_streams = 1
        self._in_flight: queue.Queue[Any] = queue.Queue()
        self._waiter: threading.Thread | None = None
        self._last_done = 0.0

    # ------------------------------------------------------------------ load
    def load(self, model_path: Path) -> None:
        ov = import_openvino()
        model_path = Path(model_path)
        if not model_path.is_file():
            raise ModelLoadError(f"model file not found: {model_path}")
        try:
            core = ov.Core()
            devices = list(core.available_devices)
        except Exception as exc:
            raise BackendUnavailable(f"OpenVINO cannot start: {exc}") from exc
        if DEVICE not in devices:
            raise BackendUnavailable(f"OpenVINO sees no CPU device here (devices: {devices})")
        try:
            model = core.read_model(str(model_path))
        except Exception as exc:
            raise ModelLoadError(f"{model_path}: OpenVINO cannot read this model: {exc}") from exc
        _check_contract(model, model_path)
        self._core, self._model, self._model_path = core, model, model_path
        self._version = str(getattr(ov, "__version__", "")).split("-")[0]
        self._quantized = any(op.get_type_name() == "FakeQuantize" for op in model.get_ops())
        self._compiled.clear()
        try:  # compile now: a model OpenVINO cannot compile fails at load, not at the first part
            if self.warm_size is not None:
                for streams in self._modes():
                    self._requests(*self.warm_size, streams)
            else:
                core.compile_model(model, DEVICE, self._config(self._modes()[-1]))
        except Exception as exc:
            self.close()
            raise BackendUnavailable(f"OpenVINO cannot compile {model_path.name}: {exc}") from exc

    @property
    def in_flight_max(self) -> int:
        return ASYNC_DEPTH * max(self._modes())

    @property
    def quantized(self) -> bool:
        """The model has quantised (INT8) layers (QDQ in the ONNX file)."""
        return self._quantized

    def _modes(self) -> tuple[int, ...]:
        """Stream counts compiled per size: 1 (LATENCY) and/or ``self.streams`` (THROUGHPUT)."""
        if self.auto_streams:
            return (1, self.streams) if self.streams > 1 else (1,)
        return (self.streams,)

    def _config(self, streams: int) -> dict[str, Any]:
        cfg: dict[str, Any] = {
            "INFERENCE_NUM_THREADS": self.threads,
            "INFERENCE_PRECISION_HINT": "f32",
            "ENABLE_CPU_PINNING": self.pinning,
        }
        if streams > 1:
            return cfg | {"PERFORMANCE_HINT": "THROUGHPUT", "NUM_STREAMS": streams}
        return cfg | {"PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1}

    def _requests(self, h: int, w: int, streams: int) -> list[Any]:
        """Infer requests of the model compiled for one h x w image on ``streams`` streams (one
        request for LATENCY, two per stream for THROUGHPUT); compiled on first use, the least
        recently used dropped."""
        key = (h, w, streams)
        hit = self._compiled.get(key)
        if hit is not None:
            self._compiled.move_to_end(key)
            return hit
        import openvino as ov

        model = self._model.clone()
        model.reshape({INPUT_NAME: ov.PartialShape([1, h, w, 1])})
        compiled = self._core.compile_model(model, DEVICE, self._config(streams))
        # THROUGHPUT: two requests per stream, so a batch keeps every stream fed (one image per request)
        requests = [
            compiled.create_infer_request() for _ in range(1 if streams == 1 else ASYNC_DEPTH * streams)
        ]
        self._compiled[key] = requests
        while len(self._compiled) > MAX_COMPILED_SIZES * len(self._modes()):
            dropped, _ = self._compiled.popitem(last=False)
            with self._free_lock:  # its idle overlapped requests go with it
                self._free.pop(dropped, None)
        return requests

    # ----------------------------------------------------------------- infer
    def infer(self, batch: np.ndarray) -> np.ndarray:
        if self._model is None:
            raise RuntimeError("backend not loaded")
        if batch.ndim != 4 or batch.shape[-1] != 1:
            raise ValueError(f"expected a float32 NHWC [N, H, W, 1] batch, got shape {batch.shape}")
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        n, h, w = batch.shape[:3]
        modes = self._modes()
        with self._lock:
            requests = self._requests(h, w, modes[-1] if n > 1 else modes[0])
            if n == 1:
                req = requests[0]
                req.infer({INPUT_NAME: batch})
                return np.array(req.get_tensor(OUTPUT_NAME).data, dtype=np.float32, copy=True)
            outputs: list[np.ndarray] = []
            for start in range(0, n, len(requests)):  # one image per request, the streams side by side
                wave = list(zip(requests, batch[start : start + len(requests)], strict=False))
                for req, image in wave:
                    req.start_async({INPUT_NAME: image[None]})
                for req, _ in wave:
                    req.wait()
                    outputs.append(np.array(req.get_tensor(OUTPUT_NAME).data, dtype=np.float32, copy=True))
            return np.concatenate(outputs)

    def infer_async(
        self, batch: np.ndarray, backlog: bool = False
    ) -> Future[tuple[np.ndarray, float]] | None:
        """One image without waiting: with ``backlog`` (more frames are waiting) on the THROUGHPUT
        streams, else on the LATENCY model (see the module docstring), at most
        :data:`ASYNC_DEPTH` calls in flight per stream; the Futures complete in the order the
        calls started. None for a batch of several images (those use :meth:`infer`)."""
        if self._model is None or batch.ndim != 4 or batch.shape[0] != 1 or batch.shape[-1] != 1:
            return None
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        h, w = int(batch.shape[1]), int(batch.shape[2])
        modes = self._modes()
        streams = self._enter_flight(modes[-1] if backlog else modes[0])
        try:
            with self._lock:
                requests = self._requests(h, w, streams)
                if self._waiter is None:
                    self._waiter = threading.Thread(target=self._wait_loop, name="openvino-wait", daemon=True)
                    self._waiter.start()
            with self._free_lock:
                idle = self._free.setdefault((h, w, streams), [])
                req = idle.pop() if idle else requests[0].get_compiled_model().create_infer_request()
            future: Future[tuple[np.ndarray, float]] = Future()
            started = time.perf_counter()
            req.start_async({INPUT_NAME: batch})  # the input is copied: the caller may reuse it
        except BaseException:
            self._leave_flight()
            raise
        self._in_flight.put((req, future, started, (h, w, streams)))
        return future

    def _enter_flight(self, streams: int) -> int:
        """Wait for room for one more call in flight on the mode with ``streams`` streams, and
        take it; returns the mode the call runs on. Modes never run side by side: THROUGHPUT
        waits for LATENCY calls to end, a LATENCY call joins THROUGHPUT calls in flight."""
        with self._flight:
            while True:
                if self._flying == 0:
                    break
                if self._flying_streams > streams:  # no backlog now: finish the burst on its streams
                    streams = self._flying_streams
                if self._flying_streams == streams and self._flying < ASYNC_DEPTH * streams:
                    break
                self._flight.wait()
            self._flying_streams = streams
            self._flying += 1
            return streams

    def _leave_flight(self) -> None:
        with self._flight:
            self._flying -= 1
            self._flight.notify_all()

    def _wait_loop(self) -> None:
        """Waits for the calls in flight, in the order they started, and completes their Futures."""
        while True:
            item = self._in_flight.get()
            if item is None:
                return
            req, future, started, key = item
            try:
                req.wait()
                out = np.array(req.get_tensor(OUTPUT_NAME).data, dtype=np.float32, copy=True)
                now = time.perf_counter()
                # LATENCY: its own run, not its queueing behind the call before it; THROUGHPUT
                # (streams side by side): from its start, a wait for a busy stream included
                ms = (now - (max(started, self._last_done) if key[2] == 1 else started)) * 1e3
                self._last_done = now
                future.set_result((out, ms))
            except BaseException as exc:  # an inference error reaches whoever waits on it
                future.set_exception(exc)
            finally:
                with self._free_lock:
                    if key in self._compiled:  # not for a model the LRU has dropped meanwhile
                        self._free.setdefault(key, []).append(req)
                self._leave_flight()

    def info(self) -> BackendInfo:
        if self.auto_streams and self.streams > 1:
            streams = f", batches on {self.streams} streams"
        else:
            streams = f", {self.streams} streams" if self.streams > 1 else ""
        int8 = " INT8" if self._quantized else ""
        return BackendInfo(
            name=self.name,
            display=f"OpenVINO {self._version} CPU{int8} ({threads_label(self.threads)}{streams})",
            device="CPU",
            model_path=self._model_path or Path(),
            notice=self.notice,
        )

    def close(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None:  # the calls in flight end first (their Futures complete)
            self._in_flight.put(None)
            waiter.join(timeout=30)
        with self._lock:
            self._compiled.clear()
            self._model = None
            self._core = None
        with self._free_lock:
            self._free.clear()


def _check_contract(model: Any, model_path: Path) -> None:
    """Refuse models that do not follow the contract (as ONNX Runtime does), naming what differs."""

    def by_name(ports: Any) -> dict[str, Any]:
        return {name: p for p in ports for name in p.get_names()}

    inputs, outputs = by_name(model.inputs), by_name(model.outputs)
    if INPUT_NAME not in inputs or OUTPUT_NAME not in outputs:
        raise ModelLoadError(
            f"{model_path}: expected input '{INPUT_NAME}' and output '{OUTPUT_NAME}', "
            f"found inputs {sorted(inputs)} and outputs {sorted(outputs)}"
        )
    for what, port in (("input", inputs[INPUT_NAME]), ("output", outputs[OUTPUT_NAME])):
        shape = port.get_partial_shape()
        last = shape[shape.rank.get_length() - 1] if shape.rank.is_static else None
        ok_shape = shape.rank.is_static and shape.rank.get_length() == 4 and last is not None
        ok_shape = ok_shape and last.is_static and last.get_length() == 1
        if port.get_element_type().get_type_name() != "f32" or not ok_shape:
            raise ModelLoadError(
                f"{model_path}: {what} '{port.get_any_name()}' must be float32 NHWC [N, H, W, 1], "
                f"got {port.get_element_type().get_type_name()} {shape}"
            )
