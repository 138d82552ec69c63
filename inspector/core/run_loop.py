"""The threads of one run: every core busy, the model never waiting on the rest.

::

    source ─► prefetch thread: read, decode, preprocess ─► feed queue (bounded)
                                                               │
    calling thread (owns the backend): resume check, admit, gather a batch, model
                                                               │
                                                      post queue (bounded)
                                                               ▼
              post-processing thread: map back to size, rules, result, sink, progress

NumPy, OpenCV and the backends release the GIL for their heavy work, so the three
threads overlap. Where the backend can overlap its calls (OpenVINO: ``infer_async``), the
calling thread starts a frame's model call and goes on to take and start the next one while
it runs; the post thread waits for each map in turn. The model then never waits for Python
between two frames. Each call says whether frames queue up (``backlog``: prefetched frames
waiting, or a live camera whose frame was there when asked): OpenVINO then runs them on its
throughput streams, else on its latency model (one frame soonest). Both queues are bounded:
memory stays flat and a slow sink (a stalled database) holds the model back instead of piling
up maps. Live sources (cameras: the newest frame wins) are not prefetched; their frames are
read and prepared on the calling thread, one per model call.

Order and fail safety: each item the run takes becomes one slot, and slots reach the post
thread in the order the source gave them, so results reach the sink in that order. A slot
holds either a ready result (an ERROR for an unreadable frame, a blocked station, a
failed preprocess), a skip (already logged), or a frame for the model. The model's
failures are per frame (``Pipeline.run_model``). On cancel the run stops taking items;
the frames already taken are finished and handed to the sink.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from inspector.core.batching import BatchPolicy
from inspector.core.pipeline import ModelInput, ModelOutput, Pipeline, RunSummary
from inspector.core.progress import ProgressState
from inspector.core.recipe import Recipe
from inspector.core.sources.base import Source
from inspector.core.types import Frame, FrameError, InspectionResult

log = logging.getLogger(__name__)

POLL_S = 0.1  # how often a waiting thread looks at cancel / a failed neighbour
SLOTS_PER_ROUND = 64  # items taken per round at most (a resume that skips thousands still streams)
# a live source's frame that came within this many ms of asking was waiting already: the camera
# delivers faster than the model takes frames (a backlog: the backend may run for throughput)
LIVE_READY_MS = 1.0
_END = object()


@dataclass(slots=True)
class _Fed:
    """An item from the source, its read time and (staged pipelines) its model input."""

    item: Frame | FrameError
    read_ms: float
    prepared: ModelInput | Exception | None = None
    ready: bool = False  # live: the frame was there when asked (no wait for the camera)


@dataclass(slots=True)
class _Slot:
    """One taken item on its way to the sink: ``result`` ready, a ``skip``, or ``model`` work."""

    key: str
    result: InspectionResult | None = None
    skip: bool = False
    frame: Frame | None = None
    model_input: ModelInput | None = None
    recipe: Recipe | None = None
    read_ms: float = 0.0
    output: ModelOutput | None = None
    pending: Callable[[], ModelOutput] | None = None  # a model call started, not waited for


def _read_ms(item: Frame | FrameError, t0: float) -> float:
    measured = getattr(item, "read_ms", None)
    return measured if measured is not None else (time.perf_counter() - t0) * 1e3


class _Feed:
    """The source's items in order, each with its read time and model input.

    Not live: a prefetch thread reads and prepares ahead into a bounded queue. Live: read on
    the calling thread when asked (``get(0)`` never waits for a camera).
    """

    def __init__(
        self,
        source: Source,
        prepare: Callable[[Any], ModelInput] | None,
        stop: Callable[[], bool],
        depth: int,
    ) -> None:
        self._prepare = prepare
        self._halt = threading.Event()
        self._stop = stop
        self.live = bool(source.live)
        if self.live:
            self._it: Iterator[_Fed] | None = self._iterate(source.frames(stop))
            self._thread = None
            return
        self._it = None
        self._q: queue.Queue[Any] = queue.Queue(depth)
        self._thread = threading.Thread(
            target=self._work, args=(source,), name="source-prefetch", daemon=True
        )
        self._thread.start()

    def _should_stop(self) -> bool:
        return self._halt.is_set() or self._stop()

    def _iterate(self, frames: Iterator[Frame | FrameError]) -> Iterator[_Fed]:
        while True:
            t0 = time.perf_counter()
            try:
                item = next(frames)
            except StopIteration:
                return
            ready = (time.perf_counter() - t0) * 1e3 < LIVE_READY_MS
            fed = _Fed(item, _read_ms(item, t0), ready=ready)
            if self._prepare is not None and isinstance(item, Frame) and item.image is not None:
                try:
                    fed.prepared = self._prepare(item.image)
                except Exception as exc:  # MemoryError included: that part is an ERROR, the run goes on
                    fed.prepared = exc
            yield fed

    def _put(self, entry: Any) -> bool:
        while not self._halt.is_set():
            try:
                self._q.put(entry, timeout=POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _work(self, source: Source) -> None:
        try:
            for fed in self._iterate(source.frames(self._should_stop)):
                if not self._put(fed):
                    return
        except BaseException as exc:  # handed to the run, in order, after the items before it
            self._put(exc)
            return
        self._put(_END)

    def get(self, timeout: float) -> _Fed | object | None:
        """The next item, ``_END`` when the source is done, None when nothing came within
        ``timeout`` seconds (0: only what is waiting now). Raises the source's error in order."""
        if self._it is not None:  # live
            if timeout <= 0:
                return None
            return next(self._it, _END)
        try:
            got = self._q.get(timeout=timeout) if timeout > 0 else self._q.get_nowait()
        except queue.Empty:
            return None
        if isinstance(got, BaseException):
            raise got
        return got

    def waiting(self, last: _Fed | None) -> bool:
        """Whether items queue up: prefetched ones not yet taken; live, the ``last`` frame was
        there when asked (the camera delivers faster than the model takes frames)."""
        if self._it is not None:
            return last is not None and last.ready
        return not self._q.empty()

    def close(self) -> None:
        self._halt.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


class _Post:
    """The post-processing thread: each slot's result to the sink, in order."""

    def __init__(
        self,
        pipeline: Pipeline,
        sink: Callable[[InspectionResult], None],
        state: ProgressState,
        summary: RunSummary,
        on_error: Callable[[InspectionResult], None] | None,
        total: int | None,
        depth: int,
    ) -> None:
        self._pipeline = pipeline
        self._sink = sink
        self._state = state
        self._summary = summary
        self._on_error = on_error
        self._total = total
        self._q: queue.Queue[Any] = queue.Queue(depth)
        self.failure: BaseException | None = None
        self.done = 0
        self._thread = threading.Thread(target=self._work, name="inspection-post", daemon=True)
        self._thread.start()

    def put(self, slot: _Slot) -> None:
        """Queue ``slot``; blocks while the queue is full (a slow sink holds the model back)."""
        while self.failure is None:
            try:
                self._q.put(slot, timeout=POLL_S)
                return
            except queue.Full:
                continue

    def finish(self) -> None:
        """Hand every queued slot to the sink, stop the thread, raise what the sink raised."""
        while self._thread.is_alive():
            try:
                self._q.put(_END, timeout=POLL_S)
                break
            except queue.Full:
                continue
        self._thread.join()
        if self.failure is not None:
            raise self.failure

    def _work(self) -> None:
        while True:
            slot = self._q.get()
            if slot is _END:
                return
            try:
                self._deliver(slot)
            except BaseException as exc:  # the sink's or progress' error ends the run, on its thread
                self.failure = exc
                return

    def _deliver(self, slot: _Slot) -> None:
        if slot.skip:
            self._summary.skipped += 1
        else:
            result = slot.result
            if result is None:
                if slot.pending is not None:  # the model call overlapped with the next: its map
                    slot.output, slot.pending = slot.pending(), None
                assert slot.frame is not None
                assert slot.output is not None
                assert slot.model_input is not None
                assert slot.recipe is not None
                result = self._pipeline.finish(
                    slot.frame, slot.output, slot.model_input, slot.recipe, slot.read_ms
                )
                slot.output = slot.model_input = None  # the map lives on in the result only
            else:  # made when taken: stamped now, so verdict times follow the source's order
                result.inspected_at = datetime.now(UTC)
            self._sink(result)
            self._summary.add(result)
            if result.is_error and self._on_error is not None:
                self._on_error(result)
        self.done += 1
        self._state.progress(self.done, self._total, slot.key)


class _Run:
    """The calling thread's part: take items, gather batches, run the model."""

    def __init__(
        self,
        pipeline: Pipeline,
        feed: _Feed,
        post: _Post,
        state: ProgressState,
        policy: BatchPolicy,
        staged: bool,
        limit: int | None,
        already_done: Callable[[Frame | FrameError], bool] | None,
    ) -> None:
        self.pipeline, self.feed, self.post, self.state = pipeline, feed, post, state
        self.policy, self.staged, self.limit, self.already_done = policy, staged, limit, already_done
        self.cap = policy.limit(pipeline.backend_device) if staged and not feed.live else 1
        self.taken = 0
        self.room = 1  # frames the call being gathered may take
        self.pending: _Slot | None = None
        self.last: _Fed | None = None  # the item taken last
        self.stopped = False
        self.error: BaseException | None = None  # the source's or admit's: raised after the slots before it

    def _may_take(self) -> bool:
        if self.post.failure is not None or self.state.cancelled():
            return False
        return self.limit is None or self.taken < self.limit

    def _take(self, fed: _Fed) -> _Slot:
        """A slot for a new item; frames are admitted here, in order, on the backend's thread."""
        item, read_ms, p = fed.item, fed.read_ms, self.pipeline
        slot = _Slot(key=item.key, read_ms=read_ms)
        if self.already_done is not None and self.already_done(item):
            slot.skip = True
            return slot
        if isinstance(item, FrameError):
            log.info("cannot read %s: %s", item.key, item.message)
            slot.result = p.error_result(item, item.message, "read", {"read": read_ms})
            return slot
        if not self.staged:  # a pipeline whose inspect() is its own: frame by frame, through it
            slot.result = p.inspect(item, read_ms=read_ms)
            return slot
        p.admit(item)
        recipe = p.recipe  # one consistent recipe for the whole frame
        slot.result = p.screen(item, read_ms, recipe)
        if slot.result is not None:
            return slot
        prepared = fed.prepared
        if prepared is None:
            try:
                prepared = p.prepare_input(item.image)  # type: ignore[arg-type]
            except Exception as exc:
                prepared = exc
        if isinstance(prepared, Exception):
            slot.result = p.stage_failed(item, prepared, "preprocess", read_ms, recipe)
            return slot
        slot.frame, slot.model_input, slot.recipe = item, prepared, recipe
        return slot

    def _next(self, slots: list[_Slot], group: list[_Slot], deadline: float) -> _Slot | None:
        """The next slot, or None: end of this round (nothing waiting, or the run stops taking)."""
        if self.pending is not None:
            slot, self.pending = self.pending, None
            return slot
        while True:
            if not self._may_take():
                self.stopped = True
                return None
            if not slots:
                timeout = POLL_S  # nothing to run yet: wait for the source
            elif group and self.policy.waits and len(group) < self.room:
                timeout = max(0.0, deadline - time.monotonic())
            else:
                timeout = 0.0  # never wait for a batch to fill
            try:
                fed = self.feed.get(timeout)
                if fed is None:
                    if not slots:
                        continue
                    return None
                if fed is _END:
                    self.stopped = True
                    return None
                assert isinstance(fed, _Fed)
                self.taken += 1
                self.last = fed
                return self._take(fed)
            except BaseException as exc:
                self.error, self.stopped = exc, True
                return None

    def round(self) -> list[_Slot]:
        """Take the items for one model call (and the ready ones between), run the model."""
        slots: list[_Slot] = []
        group: list[_Slot] = []
        self.room, deadline = self.cap, 0.0
        while len(slots) < SLOTS_PER_ROUND:
            slot = self._next(slots, group, deadline)
            if slot is None:
                break
            m = slot.model_input
            if m is not None:
                key = m.batch_key
                if group and (key is None or key != group[0].model_input.batch_key):  # type: ignore[union-attr]
                    self.pending = slot  # another size: the next call
                    break
                if not group:
                    self.room = 1 if key is None else self.pipeline.batch_capacity(key, self.cap)
                    deadline = time.monotonic() + self.policy.fill_ms / 1e3
                group.append(slot)
            slots.append(slot)
            if (group and len(group) >= self.room) or (not self.staged and slot.result is not None):
                break
        if group and len(group) == 1 and self.pipeline.overlap:
            # started, not waited for: the next frame is taken and started while this one runs,
            # and the post thread waits for its map (in order)
            s = group[0]
            backlog = self.pending is not None or self.feed.waiting(self.last)  # frames queue up
            s.pending = self.pipeline.start_model(s.frame.image, s.model_input, backlog)  # type: ignore[union-attr,arg-type]
            if s.pending is not None:
                return slots
        if group:
            inputs = [(s.frame.image, s.model_input) for s in group]  # type: ignore[union-attr]
            outputs = self.pipeline.run_model(inputs)  # type: ignore[arg-type]
            for s, out in zip(group, outputs, strict=True):
                s.output = out
                s.model_input.tensor = None  # type: ignore[union-attr]  # used; the queue holds maps only
        return slots


def run_pipelined(
    source: Source,
    pipeline: Pipeline,
    sink: Callable[[InspectionResult], None],
    state: ProgressState,
    *,
    limit: int | None = None,
    total: int | None = None,
    on_error: Callable[[InspectionResult], None] | None = None,
    already_done: Callable[[Frame | FrameError], bool] | None = None,
    policy: BatchPolicy | None = None,
) -> RunSummary:
    """:func:`inspector.core.pipeline.run_source` (see there), on the threads described above."""
    summary = RunSummary()
    start = time.perf_counter()
    if limit is not None and total is not None:
        total = min(total, limit)
    if limit is not None and limit <= 0:  # "stop after 0 images"
        return summary
    policy = policy or pipeline.batching
    # a subclass with its own inspect() keeps it: its frames go through it one by one
    staged = type(pipeline).inspect is Pipeline.inspect
    if staged:
        pipeline.tiler()  # made once here, before two threads use it
    # the queues hold a call's worth of frames and two more, and every overlapped call in flight
    depth = max(4, policy.limit(pipeline.backend_device) + 2, pipeline.backend.in_flight_max + 2)
    post = _Post(pipeline, sink, state, summary, on_error, total, depth)
    error: BaseException | None = None
    feed: _Feed | None = None
    try:
        feed = _Feed(source, pipeline.prepare_input if staged else None, state.cancelled, depth)
        run = _Run(pipeline, feed, post, state, policy, staged, limit, already_done)
        while not run.stopped or run.pending is not None:
            for s in run.round():
                if s.output is not None:
                    summary.batch_frames[s.output.batch] += 1
                elif s.pending is not None:
                    summary.batch_frames[1] += 1
                post.put(s)
            if run.error is not None:
                raise run.error
    except BaseException as exc:  # the source's or admit's error: the frames before it still end well
        error = exc
    finally:
        if feed is not None:
            feed.close()
        try:
            post.finish()
        except BaseException as exc:
            error = error or exc
    summary.elapsed_s = time.perf_counter() - start
    if state.cancelled():
        summary.cancelled = True
    if error is not None:
        raise error
    return summary
