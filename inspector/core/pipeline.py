"""Frame -> InspectionResult, and running a whole source through it.

The model step dominates (~150 ms on CPU); everything else must stay small
next to it, so decoding happens on a prefetch thread while the backend runs.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from inspector.core.backends.base import Backend
from inspector.core.model_card import ModelCard
from inspector.core.preprocess import prepare, restore
from inspector.core.progress import ProgressState
from inspector.core.recipe import Recipe
from inspector.core.rules import decide
from inspector.core.sources.base import Source
from inspector.core.types import Frame, FrameError, InspectionResult, Verdict

log = logging.getLogger(__name__)

STAGES = ("read", "preprocess", "infer", "postprocess")


class Pipeline:
    """Holds a loaded backend, its model card and the active recipe.

    ``recipe`` may be swapped between frames (QA applies a new version); each
    result records the version it was decided under.
    """

    def __init__(self, backend: Backend, card: ModelCard, recipe: Recipe) -> None:
        if card.channels != 1:  # refuse once here, rather than fail every frame as "unreadable"
            raise ValueError(
                f"model card {card.name!r}: only 1-channel models are supported, not {card.channels}"
            )
        self.backend = backend
        self.card = card
        self.recipe = recipe
        self.backend_name = backend.info().name

    def infer_prob(self, image: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        """Probability map (float32 HxW, original size) and stage timings in ms."""
        t0 = time.perf_counter()
        tensor, info = prepare(image, self.card)
        t1 = time.perf_counter()
        out = self.backend.infer(tensor[None, ...])
        t2 = time.perf_counter()
        prob = restore(out[0, ..., 0], info)
        t3 = time.perf_counter()
        return prob, {
            "preprocess": (t1 - t0) * 1e3,
            "infer": (t2 - t1) * 1e3,
            "restore": (t3 - t2) * 1e3,
        }

    def inspect(self, frame: Frame, read_ms: float = 0.0) -> InspectionResult:
        recipe = self.recipe  # one consistent recipe for the whole frame
        prob, timings = self.infer_prob(frame.image)
        t0 = time.perf_counter()
        decision = decide(prob, recipe)
        post_ms = (time.perf_counter() - t0) * 1e3 + timings.pop("restore")
        timings = {"read": read_ms, **timings, "postprocess": post_ms}
        timings["total"] = sum(timings.values())
        return InspectionResult(
            frame=frame,
            decision=decision,
            prob_map=prob,
            timings_ms=timings,
            model_sha256=self.card.sha256,
            recipe_name=recipe.name,
            recipe_version=recipe.version,
            backend=self.backend_name,
            threshold=recipe.threshold,
            inspected_at=datetime.now(UTC),
        )


@dataclass
class RunSummary:
    counts: dict[str, int] = field(default_factory=lambda: {v.value: 0 for v in Verdict})
    errors: list[FrameError] = field(default_factory=list)
    stage_ms: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in (*STAGES, "total")})
    elapsed_s: float = 0.0
    cancelled: bool = False

    @property
    def inspected(self) -> int:
        return sum(self.counts.values())

    @property
    def yield_pct(self) -> float:
        n = self.inspected
        return 100.0 * self.counts[Verdict.OK.value] / n if n else 0.0

    @property
    def images_per_s(self) -> float:
        return self.inspected / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def add(self, result: InspectionResult) -> None:
        self.counts[result.decision.verdict.value] += 1
        for stage in self.stage_ms:
            if stage in result.timings_ms:
                self.stage_ms[stage].append(result.timings_ms[stage])

    def stage_stats(self) -> dict[str, tuple[float, float]]:
        """Median and p99 in ms per stage."""
        return {s: (float(np.median(v)), float(np.percentile(v, 99))) for s, v in self.stage_ms.items() if v}


def _read_ms(item: Frame | FrameError, t0: float) -> float:
    measured = getattr(item, "read_ms", None)
    return measured if measured is not None else (time.perf_counter() - t0) * 1e3


def _timed(frames: Iterator[Frame | FrameError]) -> Iterator[tuple[Frame | FrameError, float]]:
    """Each item with the milliseconds the source spent producing it."""
    while True:
        t0 = time.perf_counter()
        try:
            item = next(frames)
        except StopIteration:
            return
        yield item, _read_ms(item, t0)


def _prefetch(
    source: Source, stop: Callable[[], bool], depth: int = 4
) -> Iterator[tuple[Frame | FrameError, float]]:
    """Iterate the source on a helper thread so decoding overlaps inference.

    Yields (item, read_ms): the time the source spent producing that item
    (its own ``Frame.read_ms`` when it measured one: waiting for a hot folder's
    next file is not reading). Live sources are not prefetched: the newest
    frame must win, so a queue of stale frames would be wrong there.
    """
    if source.live:
        yield from _timed(source.frames(stop))
        return

    q: queue.Queue[tuple[Frame | FrameError, float] | BaseException | None] = queue.Queue(depth)
    halt = threading.Event()

    def should_stop() -> bool:
        return halt.is_set() or stop()

    def put(item: tuple[Frame | FrameError, float] | BaseException | None) -> bool:
        while not halt.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def worker() -> None:
        try:
            for timed in _timed(source.frames(should_stop)):
                if not put(timed):
                    return
        except BaseException as exc:
            put(exc)
            return
        put(None)

    thread = threading.Thread(target=worker, name="source-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            got = q.get()
            if got is None:
                return
            if isinstance(got, BaseException):
                raise got
            yield got
    finally:
        halt.set()
        thread.join(timeout=5)


def run_source(
    source: Source,
    pipeline: Pipeline,
    sink: Callable[[InspectionResult], None],
    state: ProgressState,
    *,
    limit: int | None = None,
    total: int | None = None,
    on_error: Callable[[FrameError], None] | None = None,
) -> RunSummary:
    """Inspect every frame of ``source`` (or ``limit`` of them), handing results to ``sink``.

    A bad frame is recorded and the run goes on; ``state.cancelled()`` stops
    it between frames.
    """
    summary = RunSummary()
    start = time.perf_counter()
    if limit is not None and total is not None:
        total = min(total, limit)
    if limit is not None and limit <= 0:  # "stop after 0 images": the loop below would take one first
        return summary
    for done, (item, read_ms) in enumerate(_prefetch(source, state.cancelled), start=1):
        if state.cancelled():
            summary.cancelled = True
            break
        if isinstance(item, FrameError):
            summary.errors.append(item)
            log.info("skipped %s: %s", item.key, item.message)
            if on_error is not None:
                on_error(item)
        else:
            try:
                result = pipeline.inspect(item, read_ms=read_ms)
            except ValueError as exc:  # e.g. an image the model cannot take
                err = FrameError(item.key, item.source, str(exc), item.path)
                summary.errors.append(err)
                log.info("skipped %s: %s", item.key, exc)
                if on_error is not None:
                    on_error(err)
            else:
                sink(result)
                summary.add(result)
        state.progress(done, total, item.key)
        if limit is not None and done >= limit:
            break
    summary.elapsed_s = time.perf_counter() - start
    if state.cancelled():
        summary.cancelled = True
    return summary
