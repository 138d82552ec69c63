"""Frame -> InspectionResult, and running a whole source through it.

The model step dominates; everything else must stay small next to it and run
beside it. :func:`run_source` therefore overlaps the stages on threads
(:mod:`inspector.core.run_loop`): decoding and preprocessing on a prefetch
thread, the model on the caller's thread (which owns the backend), rules,
result building and the hand-over to the sink on a post-processing thread.
When frames queue up it runs several same-size frames in one backend call
(micro-batching, :mod:`inspector.core.batching`); when they do not, each frame
goes to the model at once.

Fail safe: every item a source yields that the run takes ends as exactly one
result for the sink, in the source's order. A part that cannot be inspected
completely (unreadable file, preprocess or model failure, non-finite or
out-of-range model output, a station that is blocked because its self-test
failed) becomes an ERROR verdict with the reason, never a skipped frame and
never OK, and the run goes on to the next part. A batch that fails, or whose
output is broken for some frames, is run again frame by frame, so only the
frame that truly fails is an ERROR.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import cv2
import numpy as np

from inspector.core.backends.base import Backend
from inspector.core.batching import BatchPolicy
from inspector.core.model_card import ModelCard
from inspector.core.preprocess import PrepInfo, model_input_gray, prepare, restore
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
OUT_OF_MEMORY = "out of memory while inspecting this image"


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


@dataclass(slots=True)
class ModelInput:
    """One image made ready for the model (on the prefetch thread, beside the model).

    ``tensor`` is the (H, W, 1) float32 model input of an image that takes one model call;
    None for an image that is tiled (the tiler prepares and runs it, alone).
    """

    tensor: np.ndarray | None
    image_hw: tuple[int, int]
    info: PrepInfo | None = None  # ``resize`` cards: how to put the output back at the image's size
    prep_ms: float = 0.0

    @property
    def batch_key(self) -> tuple[int, int] | None:
        """Frames with equal keys can share one backend call; None: never batched."""
        return None if self.tensor is None else (int(self.tensor.shape[0]), int(self.tensor.shape[1]))


@dataclass(slots=True)
class ModelOutput:
    """What the model made of one frame: a checked map, or why there is none."""

    prob: np.ndarray | None  # float32 HxW (image size; tensor size for ``resize`` cards, restored later)
    timings: dict[str, float]  # preprocess / infer / restore ms of this frame (a batch's share)
    error: str = ""
    stage: str = ""
    batch: int = 1  # frames in the backend call that made it


class Pipeline:
    """Holds a loaded backend, its model card and the active recipe.

    ``recipe`` may be swapped between frames (QA applies a new version); each
    result records the version it was decided under. ``batching`` says how
    :func:`run_source` groups frames into backend calls (default: ``INSPECTOR_BATCHING``
    or auto).

    Subclasses that check or change things before each part (a product's frame guard, a
    recipe swap and its self-test) override :meth:`admit`; it runs once per frame on the
    thread that owns the backend, before the frame is inspected.
    """

    def __init__(
        self, backend: Backend, card: ModelCard, recipe: Recipe, batching: BatchPolicy | None = None
    ) -> None:
        if card.channels != 1:  # refuse once here, rather than fail every frame as "unreadable"
            raise ValueError(
                f"model card {card.name!r}: only 1-channel models are supported, not {card.channels}"
            )
        self.backend = backend
        self.card = card
        self.recipe = recipe
        self.batching = batching if batching is not None else BatchPolicy.from_env()
        info = backend.info()
        self.backend_name = info.name
        self.backend_device = info.device
        # When set, the station must not inspect (e.g. the golden-sample self-test failed):
        # every part becomes an ERROR with this reason.
        self.blocked: str | None = None
        # run_source starts the next frame's model call before waiting for this one's, where the
        # backend can (OpenVINO); INSPECTOR_OVERLAP=0 waits for each call (for comparisons)
        self.overlap = os.environ.get("INSPECTOR_OVERLAP", "1").strip() != "0"

    # ------------------------------------------------------------ stages
    def tiler(self) -> Tiler:
        tiler = self.__dict__.get("_tiler")
        if tiler is None or not tiler.serves(self.backend, self.card):
            tiler = self._tiler = Tiler.for_backend(self.backend, self.card)
        return tiler

    def infer_prob(self, image: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        """Probability map (float32 HxW, original size) and stage timings in ms
        ('preprocess', 'infer', 'restore').

        Every pixel is inspected: an image larger than a ``pad`` card's input, or too large
        for one inference within the memory budget, is tiled (inspector.core.tiling); one
        that cannot be inspected even in tiles raises ImageTooLargeError (a ValueError).
        """
        return self.tiler().infer(image)

    def admit(self, frame: Frame) -> None:
        """Called once per frame, before it is inspected, on the thread that owns the backend."""

    def prepare_input(self, image: np.ndarray) -> ModelInput:
        """The model input of ``image`` (thread-safe; the same numbers :meth:`infer_prob` feeds).

        Raises (ValueError, MemoryError...) when the image cannot be prepared; the run logs
        that part as an ERROR of stage ``preprocess``."""
        t0 = time.perf_counter()
        card = self.card
        if card.resize == "resize":
            tensor, info = prepare(image, card)
            return ModelInput(tensor, info.orig_hw, info, (time.perf_counter() - t0) * 1e3)
        shape = np.shape(image)
        if len(shape) not in (2, 3):
            raise ValueError(f"image must be HxW or HxWxC, got shape {shape}")
        h, w = int(shape[0]), int(shape[1])
        plan = self.tiler().plan((h, w))  # refuses an impossible image before copying it
        if not plan.whole:
            return ModelInput(None, (h, w), None, (time.perf_counter() - t0) * 1e3)
        g = model_input_gray(image, card.normalisation)
        ch, cw = plan.canvas_hw
        if (ch, cw) != (h, w):  # reflect, as the tiler does: no artificial edge for the model to flag
            g = cv2.copyMakeBorder(g, 0, ch - h, 0, cw - w, cv2.BORDER_REFLECT_101)
        return ModelInput(np.ascontiguousarray(g)[:, :, None], (h, w), None, (time.perf_counter() - t0) * 1e3)

    def batch_capacity(self, key: tuple[int, int], wanted: int) -> int:
        """How many frames of tensor size ``key`` one backend call may take (at most ``wanted``):
        the backend's own limit and the model's memory budget (inspector.core.tiling)."""
        if wanted <= 1:
            return 1
        tiler = self.tiler()
        if tiler.max_batch is not None:
            wanted = min(wanted, tiler.max_batch)
        if tiler.on_cpu or tiler.max_hw is None:  # the model's memory per pixel bounds the call
            try:
                wanted = min(wanted, tiler.max_pixels() // max(1, key[0] * key[1]))
            except ValueError as exc:  # a budget that cannot be read: one frame per call
                log.warning("batch size limited to 1: %s", exc)
                return 1
        return max(1, wanted)

    def run_model(self, inputs: Sequence[tuple[np.ndarray, ModelInput]]) -> list[ModelOutput]:
        """The model's maps for ``inputs`` ((image, its ModelInput) pairs), one backend call when
        they share a tensor size. Never raises for a frame's or the model's failure: a failed
        batch, or the frames of a batch whose output is broken, are run again one by one, and
        only a frame that fails on its own gets an error. Runs on the backend's thread."""
        if len(inputs) == 1 or len({m.batch_key for _, m in inputs}) != 1 or inputs[0][1].tensor is None:
            return [self._run_one(image, m) for image, m in inputs]
        n = len(inputs)
        try:
            t0 = time.perf_counter()
            batch = np.stack([m.tensor for _, m in inputs])  # type: ignore[misc]
            out = _nhw(self.backend.infer(batch), batch.shape)
            ms = (time.perf_counter() - t0) * 1e3 / n
        except Exception as exc:  # MemoryError included: each frame alone may still fit
            log.info("a batch of %d frames failed (%s); running them one by one", n, exc)
            return [self._run_one(image, m) for image, m in inputs]
        outputs: list[ModelOutput] = []
        for i, (image, m) in enumerate(inputs):
            prob = _crop(out[i], m)
            try:
                check_prob_map(prob)
            except ModelOutputError as exc:  # this frame alone: a batch effect passes, a bad frame fails
                log.info("frame %d of a batch of %d: %s; running it alone", i, n, exc)
                outputs.append(self._run_one(image, m))
                continue
            outputs.append(ModelOutput(prob, {"preprocess": m.prep_ms, "infer": ms}, batch=n))
        return outputs

    def start_model(
        self, image: np.ndarray, m: ModelInput, backlog: bool = False
    ) -> Callable[[], ModelOutput] | None:
        """Start the model on one frame without waiting for it, where the backend can overlap
        calls (:meth:`Backend.infer_async`) and the frame takes one call; None otherwise (then
        :meth:`run_model`). Returns the function that waits for the map and checks it, on any
        thread; like :meth:`run_model` it never raises: a failed or broken output is run again
        alone (:meth:`infer` path), and only a frame that fails on its own gets an error.
        ``backlog``: more frames are waiting (the backend may run its throughput mode)."""
        if m.tensor is None:
            return None
        try:
            pending = self.backend.infer_async(m.tensor[None, ...], backlog=backlog)
        except Exception as exc:  # the frame is run the usual way, which says what is wrong
            log.info("could not start an overlapped model call (%s); running the frame alone", exc)
            return None
        if pending is None:
            return None
        shape = (1, *m.tensor.shape)

        def finish() -> ModelOutput:
            try:
                out, ms = pending.result()
                prob = _crop(_nhw(out, shape)[0], m)
                check_prob_map(prob)
            except Exception as exc:  # MemoryError and a broken map included: once more, alone
                log.info("an overlapped model call failed (%s); running the frame again alone", exc)
                return self._run_one(image, m)
            return ModelOutput(prob, {"preprocess": m.prep_ms, "infer": ms})

        return finish

    def _run_one(self, image: np.ndarray, m: ModelInput) -> ModelOutput:
        stage = "infer"
        timings = {"preprocess": m.prep_ms}
        try:
            t0 = time.perf_counter()
            if m.tensor is None:  # tiled: the tiler prepares, runs and stitches it
                prob, tiled = self.tiler().infer(image)
                timings = {
                    "preprocess": m.prep_ms + tiled["preprocess"],
                    "infer": tiled["infer"],
                    "restore": tiled["restore"],
                }
            else:
                out = _nhw(self.backend.infer(m.tensor[None, ...]), (1, *m.tensor.shape))
                timings["infer"] = (time.perf_counter() - t0) * 1e3
                prob = _crop(out[0], m)
            stage = "output"
            check_prob_map(prob)
        except MemoryError:
            return ModelOutput(None, timings, OUT_OF_MEMORY, stage)
        except Exception as exc:  # this part is not inspected: an ERROR row, and the run goes on
            log.debug("%s failure", stage, exc_info=True)
            return ModelOutput(None, timings, str(exc) or repr(exc), stage)
        return ModelOutput(prob, timings)

    def finish(
        self, frame: Frame, out: ModelOutput, m: ModelInput, recipe: Recipe, read_ms: float = 0.0
    ) -> InspectionResult:
        """The verdict of a frame the model has run on (post-processing thread): the map back at
        the image's size, the rules, the result. An error of any stage is an ERROR result."""
        if out.prob is None:
            log.warning("%s: %s failed: %s", frame.key, out.stage, out.error)
            return self.error_result(frame, out.error, out.stage, {"read": read_ms}, recipe=recipe)
        try:
            t0 = time.perf_counter()
            prob = restore(out.prob, m.info) if m.info is not None and m.info.mode == "resize" else out.prob
            decision = decide(prob, recipe)
            post_ms = (time.perf_counter() - t0) * 1e3
        except Exception as exc:
            return self.stage_failed(frame, exc, "postprocess", read_ms, recipe)
        t = out.timings
        timings = {
            "read": read_ms,
            "preprocess": t.get("preprocess", 0.0),
            "infer": t.get("infer", 0.0),
            "postprocess": post_ms + t.get("restore", 0.0),
        }
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
            inspected_at=datetime.now(UTC),  # the verdict's time (capture time: frame.captured_at)
        )

    def stage_failed(
        self, frame: Frame, exc: Exception, stage: str, read_ms: float, recipe: Recipe
    ) -> InspectionResult:
        """The ERROR result (logged) of a frame whose ``stage`` raised ``exc``; running out of
        memory is named as such."""
        message = OUT_OF_MEMORY if isinstance(exc, MemoryError) else str(exc) or repr(exc)
        log.warning("%s: %s failed: %s", frame.key, stage, message)
        return self.error_result(frame, message, stage, {"read": read_ms}, recipe=recipe)

    def screen(self, frame: Frame, read_ms: float, recipe: Recipe) -> InspectionResult | None:
        """The ERROR result of a frame that must not reach the model (blocked station, no image
        data); None when it may."""
        if self.blocked is not None:
            return self.error_result(frame, self.blocked, "selftest", {"read": read_ms}, recipe=recipe)
        if frame.image is None:
            return self.error_result(frame, "no image data", "read", {"read": read_ms}, recipe=recipe)
        return None

    def inspect(self, frame: Frame, read_ms: float = 0.0) -> InspectionResult:
        """The verdict for one frame; never raises for a problem with this frame or the model:
        such a frame gets an ERROR verdict naming the stage and the cause. (:func:`run_source`
        runs the same stages, overlapped and batched.)"""
        self.admit(frame)
        recipe = self.recipe  # one consistent recipe for the whole frame
        refused = self.screen(frame, read_ms, recipe)
        if refused is not None:
            return refused
        assert frame.image is not None
        try:
            m = self.prepare_input(frame.image)
        except Exception as exc:
            return self.stage_failed(frame, exc, "preprocess", read_ms, recipe)
        (out,) = self.run_model([(frame.image, m)])
        return self.finish(frame, out, m, recipe, read_ms)

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


def _nhw(out: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The backend's NHWC output as N x H x W, or a ValueError when it does not match its input."""
    arr = np.asarray(out)
    if arr.ndim == 4 and arr.shape[3] == 1:
        arr = arr[..., 0]
    if arr.shape != tuple(shape[:3]):
        raise ValueError(
            f"model output shape {tuple(np.shape(out))} does not match its input {tuple(shape[:3])}"
        )
    return arr


def _crop(out: np.ndarray, m: ModelInput) -> np.ndarray:
    """A frame's own float32 map from a backend output (a copy: backends may reuse their
    buffer, and a batch must not stay alive for one frame's map)."""
    if m.info is not None and m.info.mode == "resize":
        return np.array(out, dtype=np.float32)  # tensor size; restored on the post-processing thread
    h, w = m.image_hw
    return np.array(out[:h, :w], dtype=np.float32)


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
    # frames by the size of the backend call that ran them (1: alone; tiled images count as 1)
    batch_frames: Counter[int] = field(default_factory=Counter)

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
    batching: BatchPolicy | None = None,
) -> RunSummary:
    """Inspect every frame of ``source`` (or ``limit`` of them), handing results to ``sink``.

    Every item the run takes ends in ``sink``, in the source's order: a frame that cannot
    be read or inspected as an ERROR result (also passed to ``on_error``), and the run goes
    on. ``already_done(item)`` lets a resumed run pass over parts whose verdict is logged
    already (counted in ``summary.skipped``); ``state.cancelled()`` stops the run between
    frames (the frames already with the model still get their results).

    The model runs on the calling thread; ``sink``, ``on_error`` and ``state.progress`` are
    called on the run's post-processing thread, one result at a time, in order (a
    ``progress`` that blocks, e.g. a pause, holds the results back and soon the model).
    ``batching`` overrides ``pipeline.batching``.
    """
    from inspector.core.run_loop import run_pipelined

    return run_pipelined(
        source,
        pipeline,
        sink,
        state,
        limit=limit,
        total=total,
        on_error=on_error,
        already_done=already_done,
        policy=batching if batching is not None else pipeline.batching,
    )
