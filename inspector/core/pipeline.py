"""Frame -> InspectionResult, and running a whole source through it.

The model step dominates (about 70 ms per 512x512 image on a 2-core CPU);
everything else must stay small next to it, so decoding happens on a prefetch
thread while the backend runs.

Fail safe: every item a source yields ends as exactly one result for the sink.
A part that cannot be inspected completely (unreadable file, preprocess or
model failure, non-finite or out-of-range model output, a station that is
blocked because its self-test failed) becomes an ERROR verdict with the reason,
never a skipped frame and never OK, and the run goes on to the next part.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from inspector.core.backends.base import Backend
from inspector.core.model_card import ModelCard
from inspector.core.progress import ProgressState
from inspector.core.recipe import Recipe
from inspector.core.rules import decide
from inspector.core.sources.base import Source
from inspector.core.tiling import Tiler
from inspector.core.types import Decision, Frame, FrameError, InspectionResult, Verdict

log = logging.getLogger(__name__)

STAGES = ("read", "preprocess", "infer", "postprocess")
# Model outputs are probabilities; float slack above 1 / below 0 is rounding only (a sigmoid never
# gives a negative number, not even in FP16), more is a
# broken model (logits exported without the sigmoid, NaN weights...).
OUTPUT_SLACK = 1e-6
ERROR_MESSAGES_KEPT = 20  # a run keeps the last few error messages, not all (endless hot folders)
STAGE_SAMPLES_KEPT = 10_000  # per stage, for the run's median/p99 (about 80 KB each)


class ModelOutputError(ValueError):
    """The model's output is not a probability map (NaN/inf or outside [0, 1])."""


def check_prob_map(prob: np.ndarray) -> None:
    """Raise :class:`ModelOutputError` unless ``prob`` is finite and within [0, 1]."""
    if prob.size == 0:
        raise ModelOutputError("model output is empty")
    lo, hi = float(np.min(prob)), float(np.max(prob))  # NaN propagates through min/max
    if not (np.isfinite(lo) and np.isfinite(hi)):
        bad = int(np.count_nonzero(~np.isfinite(prob)))
        raise ModelOutputError(f"model output has {bad} non-finite values (NaN/inf): the model is broken")
    if lo < -OUTPUT_SLACK or hi > 1.0 + OUTPUT_SLACK:
        raise ModelOutputError(
            f"model output range [{lo:.3g}, {hi:.3g}] is outside [0, 1]: not a probability map "
            "(a model without its final sigmoid?)"
        )


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
        # When set, the station must not inspect (e.g. the golden-sample self-test failed):
        # every part becomes an ERROR with this reason.
        self.blocked: str | None = None

    def infer_prob(self, image: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        """Probability map (float32 HxW, original size) and stage timings in ms
        ('preprocess', 'infer', 'restore').

        Every pixel is inspected: an image larger than a ``pad`` card's input, or too large
        for one inference within the memory budget, is tiled (inspector.core.tiling); one
        that cannot be inspected even in tiles raises ImageTooLargeError (a ValueError).
        """
        tiler = self.__dict__.get("_tiler")
        if tiler is None or not tiler.serves(self.backend, self.card):
            tiler = self._tiler = Tiler.for_backend(self.backend, self.card)
        return tiler.infer(image)

    def inspect(self, frame: Frame, read_ms: float = 0.0) -> InspectionResult:
        """The verdict for one frame; never raises for a problem with this frame or the model:
        such a frame gets an ERROR verdict naming the stage and the cause."""
        recipe = self.recipe  # one consistent recipe for the whole frame
        if self.blocked is not None:
            return self.error_result(frame, self.blocked, "selftest", {"read": read_ms}, recipe=recipe)
        if frame.image is None:
            return self.error_result(frame, "no image data", "read", {"read": read_ms}, recipe=recipe)
        stage = "infer"
        try:
            prob, timings = self.infer_prob(frame.image)
            stage = "output"
            check_prob_map(prob)
            stage = "postprocess"
            t0 = time.perf_counter()
            decision = decide(prob, recipe)
        except MemoryError:
            log.warning("%s: out of memory during %s", frame.key, stage)
            return self.error_result(
                frame, "out of memory while inspecting this image", stage, {"read": read_ms}, recipe=recipe
            )
        except Exception as exc:  # this part is not inspected: an ERROR row, and the run goes on
            log.warning("%s: %s failed: %s", frame.key, stage, exc)
            log.debug("%s: %s failure", frame.key, stage, exc_info=True)
            return self.error_result(frame, str(exc) or repr(exc), stage, {"read": read_ms}, recipe=recipe)
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

    def error_result(
        self,
        item: Frame | FrameError,
        message: str,
        stage: str,
        timings: dict[str, float] | None = None,
        *,
        recipe: Recipe | None = None,
    ) -> InspectionResult:
        """An ERROR verdict for a part that was not fully inspected (see module docstring)."""
        return error_result(
            item,
            message,
            stage,
            model_sha256=self.card.sha256,
            recipe=recipe or self.recipe,
            backend=self.backend_name,
            timings=timings,
        )


def error_result(
    item: Frame | FrameError,
    message: str,
    stage: str,
    *,
    model_sha256: str,
    recipe: Recipe,
    backend: str,
    timings: dict[str, float] | None = None,
) -> InspectionResult:
    """An ERROR verdict: no probability map, the reason first, then how the line treats it."""
    if isinstance(item, FrameError):
        frame = Frame(
            key=item.key,
            image=None,
            source=item.source,
            captured_at=datetime.now(UTC),
            path=item.path,
            sha256=item.sha256,
        )
    else:
        frame = item
    timings = dict(timings or {})
    timings["total"] = sum(timings.values())
    reason = f"not inspected ({stage}): {message}"
    decision = Decision(
        verdict=Verdict.ERROR,
        reasons=[reason, f"treated as {recipe.on_error} (recipe on_error)"],
        regions=[],
    )
    return InspectionResult(
        frame=frame,
        decision=decision,
        prob_map=None,
        timings_ms=timings,
        model_sha256=model_sha256,
        recipe_name=recipe.name,
        recipe_version=recipe.version,
        backend=backend,
        threshold=recipe.threshold,
        inspected_at=datetime.now(UTC),
        error_stage=stage,
    )


@dataclass
class RunSummary:
    """Counts of a run. ERROR verdicts are counted in ``counts["ERROR"]``; ``errors`` keeps only
    the last few messages (a hot-folder run is endless and must not grow)."""

    counts: dict[str, int] = field(default_factory=lambda: {v.value: 0 for v in Verdict})
    errors: deque[str] = field(default_factory=lambda: deque(maxlen=ERROR_MESSAGES_KEPT))
    # the most recent timings only: an endless hot-folder run must not grow (median/p99 over them)
    stage_ms: dict[str, deque[float]] = field(
        default_factory=lambda: {s: deque(maxlen=STAGE_SAMPLES_KEPT) for s in (*STAGES, "total")}
    )
    elapsed_s: float = 0.0
    cancelled: bool = False
    skipped: int = 0  # parts already logged with this content, model and recipe (resume)

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

    @property
    def n_errors(self) -> int:
        return self.counts[Verdict.ERROR.value]

    def add(self, result: InspectionResult) -> None:
        self.counts[result.decision.verdict.value] += 1
        if result.is_error:
            self.errors.append(f"{result.frame.key}: {result.decision.reasons[0]}")
            return  # its timings are not those of an inspection
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
    on_error: Callable[[InspectionResult], None] | None = None,
    already_done: Callable[[Frame | FrameError], bool] | None = None,
) -> RunSummary:
    """Inspect every frame of ``source`` (or ``limit`` of them), handing results to ``sink``.

    Every item ends in ``sink``: a frame that cannot be read or inspected as an
    ERROR result (also passed to ``on_error``), and the run goes on.
    ``already_done(item)`` lets a resumed run pass over parts whose verdict is
    logged already (counted in ``summary.skipped``); ``state.cancelled()``
    stops the run between frames.
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
        if already_done is not None and already_done(item):
            summary.skipped += 1
        else:
            if isinstance(item, FrameError):
                log.info("cannot read %s: %s", item.key, item.message)
                result = pipeline.error_result(item, item.message, "read", {"read": read_ms})
            else:
                result = pipeline.inspect(item, read_ms=read_ms)
            sink(result)
            summary.add(result)
            if result.is_error and on_error is not None:
                on_error(result)
        state.progress(done, total, item.key)
        if limit is not None and done >= limit:
            break
    summary.elapsed_s = time.perf_counter() - start
    if state.cancelled():
        summary.cancelled = True
    return summary
