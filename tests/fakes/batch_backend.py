"""A fake backend and sources for the pipeline's batching tests (no ONNX Runtime, no timing).

The backend's output is its input clipped to [0, 1]: with the default normalisation
(x / 255) a bright blob on a darker texture comes out as a defect. Every call is recorded
(shape, thread). Pixel (0, 0) of a raw 8-bit image can mark a frame: ``POISON`` makes any
call that holds it raise, ``NAN_MARK`` makes that frame's output NaN.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from inspector.core.backends.base import Backend, BackendInfo
from inspector.core.model_card import ModelCard
from inspector.core.sources.base import SourceStats, StopFn
from inspector.core.types import Frame, FrameError

POISON = 7
NAN_MARK = 9
PLAIN = 60  # pixel (0, 0) of every unmarked test image
GATE_TIMEOUT_S = 20.0  # a gate that is never opened fails the test instead of hanging it


def fake_card(size: int = 64, resize: str = "native", multiple: int = 1) -> ModelCard:
    return ModelCard(
        name="fake", input_height=size, input_width=size, resize=resize, multiple=multiple, threshold=0.5
    )


class RecordingBackend(Backend):
    """Records every call; marks in the image make calls fail or frames NaN (module docstring)."""

    name = "fake"

    def __init__(
        self,
        *,
        first_call_gate: threading.Event | None = None,
        wrong_shape_for_batches: bool = False,
        max_batch: int | None = None,
        device: str = "CPU",
    ) -> None:
        self.device = device
        self.calls: list[tuple[int, ...]] = []
        self.threads: set[int] = set()
        self.first_call_gate = first_call_gate
        self.gate_timed_out = False
        self.wrong_shape_for_batches = wrong_shape_for_batches
        if max_batch is not None:
            self.max_batch = max_batch

    def load(self, model_path: Path) -> None:
        pass

    @property
    def batch_sizes(self) -> list[int]:
        return [c[0] for c in self.calls]

    def infer(self, batch: np.ndarray) -> np.ndarray:
        self.calls.append(tuple(batch.shape))
        self.threads.add(threading.get_ident())
        if self.first_call_gate is not None and len(self.calls) == 1:
            self.gate_timed_out = not self.first_call_gate.wait(GATE_TIMEOUT_S)
        marks = np.rint(batch[:, 0, 0, 0] * 255.0)
        if np.any(marks == POISON):
            raise RuntimeError("poisoned frame in this call")
        out = np.clip(batch, 0.0, 1.0).astype(np.float32)
        out[marks == NAN_MARK] = np.nan
        if self.wrong_shape_for_batches and len(batch) > 1:
            return out[:1]
        return out

    def info(self) -> BackendInfo:
        return BackendInfo(name=self.name, display="fake backend", device=self.device, model_path=Path())


def make_image(
    size: int | tuple[int, int] = 64, *, defect: bool = False, mark: int = PLAIN, seed: int = 0
) -> np.ndarray:
    """A dark texture, a bright ellipse when ``defect``; pixel (0, 0) = ``mark``."""
    import cv2

    h, w = (size, size) if isinstance(size, int) else size
    rng = np.random.default_rng(seed)
    img = rng.normal(70, 12, (h, w)).clip(20, 120).astype(np.uint8)
    if defect:
        cv2.ellipse(img, (w // 2, h // 2), (max(4, w // 8), max(3, h // 10)), 30, 0, 360, 240, -1)
    img[0, 0] = mark
    return img


def frame(i: int, image: np.ndarray | None, source: str = "test") -> Frame:
    return Frame(key=f"{source}#{i:04d}", image=image, source=source, captured_at=datetime.now(UTC), seq=i)


class ListSource:
    """The given items, in order; records what it yielded. ``gate`` (index, event): after
    yielding item ``index`` it sets ``event`` (the test's backend waits on it)."""

    name = "list"

    def __init__(
        self,
        items: Sequence[Frame | FrameError],
        *,
        live: bool = False,
        after_yield: Callable[[int], None] | None = None,
        fail_after: int | None = None,
    ) -> None:
        self.items = list(items)
        self.live = live
        self.after_yield = after_yield
        self.fail_after = fail_after
        self.yielded: list[str] = []

    def frames(self, stop: StopFn) -> Iterator[Frame | FrameError]:
        for i, item in enumerate(self.items):
            if stop():
                return
            if self.fail_after is not None and i == self.fail_after:
                raise OSError("the source broke")
            self.yielded.append(item.key)
            yield item
            if self.after_yield is not None:
                self.after_yield(i)

    def stats(self) -> SourceStats:
        return SourceStats(produced=len(self.yielded))

    def close(self) -> None:
        pass


class TrickleSource(ListSource):
    """Yields the next frame only once the previous one's result reached the sink
    (``delivered`` is called by the test's sink): a line whose camera is slower than the model."""

    def __init__(self, items: Sequence[Frame | FrameError]) -> None:
        super().__init__(items)
        self._cond = threading.Condition()
        self._delivered = 0
        self.timed_out = False

    def delivered(self) -> None:
        with self._cond:
            self._delivered += 1
            self._cond.notify_all()

    def frames(self, stop: StopFn) -> Iterator[Frame | FrameError]:
        for i, item in enumerate(self.items):
            with self._cond:
                if not self._cond.wait_for(lambda i=i: self._delivered >= i or stop(), GATE_TIMEOUT_S):
                    self.timed_out = True
                    return
            if stop():
                return
            self.yielded.append(item.key)
            yield item


class OverlappingBackend(RecordingBackend):
    """:class:`RecordingBackend` that also overlaps calls (``infer_async``), as OpenVINO does: one
    worker runs them in order, at most ``depth`` in flight. Records the most in flight at once,
    and ``fail_async`` (frame marks) makes only the overlapped call of such a frame raise."""

    def __init__(
        self, *, depth: int = 2, fail_async: frozenset[int] = frozenset(), delay_s: float = 0.0
    ) -> None:
        super().__init__()
        from concurrent.futures import ThreadPoolExecutor

        self.depth, self.fail_async, self.delay_s = depth, fail_async, delay_s
        self.async_calls = 0
        self.sync_calls = 0
        self.backlogs: list[bool] = []  # the run's backlog hint of each overlapped call
        self.max_in_flight = 0
        self._in_flight = 0
        self._count_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(depth)
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="fake-async")

    def infer(self, batch: np.ndarray) -> np.ndarray:
        self.sync_calls += 1
        return super().infer(batch)

    @property
    def in_flight_max(self) -> int:
        return self.depth

    def infer_async(self, batch: np.ndarray, backlog: bool = False):  # type: ignore[no-untyped-def]
        import time
        from concurrent.futures import Future

        if batch.shape[0] != 1:
            return None
        self._slots.acquire()
        with self._count_lock:
            self.async_calls += 1
            self.backlogs.append(backlog)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        batch = batch.copy()
        done: Future[tuple[np.ndarray, float]] = Future()

        def run() -> None:
            try:
                time.sleep(self.delay_s)
                mark = int(np.rint(batch[0, 0, 0, 0] * 255.0))
                if mark in self.fail_async:
                    raise RuntimeError("overlapped call failed")
                done.set_result((RecordingBackend.infer(self, batch), 1.0))
            except Exception as exc:
                done.set_exception(exc)
            finally:
                with self._count_lock:
                    self._in_flight -= 1
                self._slots.release()

        self._worker.submit(run)
        return done

    def close(self) -> None:
        self._worker.shutdown(wait=True)
