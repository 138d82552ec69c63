"""The one DB writer: a thread that commits inspection results in batches.

A verdict counts as logged only once committed, so ``submit`` returns a
Future that resolves to the inspection id after the commit (or carries the
exception). Errors never kill the thread: a batch the database failed (locked,
full, unreachable) is retried once, then its futures fail and the thread
carries on with the next batch.

One row never takes its neighbours with it: every text is made storable first
(:func:`db.storable.storable_text`), and a batch that still fails for a reason
other than the database itself (locked, full, unreachable) is committed again
row by row, so only the row that truly cannot be stored fails, with a short
:class:`RowNotStoredError`.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import exc as sa_exc

from db import registry
from db.blobs import encode_prob_map, write_bytes, write_jpeg, write_png
from db.models import DefectRegion, Inspection, ProbMap
from db.session import Database
from db.storable import short_error, storable_text
from inspector.core.image_io import encoded_suffix
from inspector.core.model_card import ModelCard
from inspector.core.recipe import Recipe
from inspector.core.shifts import ShiftSchedule
from inspector.core.types import InspectionResult, Verdict

log = logging.getLogger(__name__)

OverlayFn = Callable[[InspectionResult], np.ndarray]
RATE_WINDOW_S = 5.0


@dataclass(frozen=True, slots=True)
class WriterStats:
    queued: int
    written: int
    failed: int
    batches: int
    errors: int
    archive_errors: int
    last_error: str | None
    rows_per_s: float


@dataclass(frozen=True, slots=True)
class RowContext:
    """Where parts are inspected now: stamped on each row as it is submitted (migration 0005).

    ``shifts`` names the row's shift from its ``inspected_at`` (None: no shift recorded).
    """

    product_id: int | None = None
    lot_id: int | None = None
    shifts: ShiftSchedule | None = None


@dataclass(slots=True)
class _Job:
    result: InspectionResult
    future: Future[int]
    context: RowContext | None = None  # as it was at submit time


@dataclass(slots=True)
class _Prepared:
    job: _Job
    png: bytes | None  # None: an ERROR verdict has no probability map
    archive_image: str | None
    archive_overlay: str | None


@dataclass(slots=True)
class _Flush:
    done: threading.Event


_STOP = object()


class WriterClosedError(RuntimeError):
    pass


class RowNotStoredError(ValueError):
    """This one result cannot be stored; the others of its batch were committed."""


class VerdictWriter:
    """Queue + single thread + batched transactions. Use as a context manager or call close()."""

    def __init__(
        self,
        db: Database,
        station_name: str,
        batch_size: int = 64,
        flush_interval_s: float = 0.2,
        archive_dir: Path | None = None,
        *,
        overlay: OverlayFn | None = None,
        archive_verdicts: Iterable[Verdict] = (Verdict.NG, Verdict.REVIEW, Verdict.ERROR),
        max_queue: int = 1000,
        retry_delay_s: float = 0.5,
        host: str | None = None,
        recipes: Iterable[Recipe] = (),
        models: Iterable[tuple[ModelCard, str]] = (),
        encode_workers: int = 2,
        context: RowContext | None = None,
    ) -> None:
        self._db = db
        self._context = context or RowContext()
        self._station = station_name
        self._host = host
        self._batch_size = max(1, batch_size)
        self._interval = max(0.0, flush_interval_s)
        self._archive_dir = Path(archive_dir) if archive_dir is not None else None
        self._overlay = overlay
        self._archive_verdicts = frozenset(Verdict(v) for v in archive_verdicts)
        self._retry_delay = retry_delay_s
        # Bounded: if the DB stalls, submit() blocks the pipeline instead of
        # letting images pile up in memory.
        self._q: queue.Queue[Any] = queue.Queue(maxsize=max_queue)
        self._ids: dict[tuple[str, Any], int] = {}  # ids of committed station/model/recipe rows
        self._recipes: dict[tuple[str, int], Recipe] = {(r.name, r.version): r for r in recipes}
        self._models: dict[str, tuple[ModelCard, str]] = {c.sha256: (c, p) for c, p in models}
        self._closed = False
        self._lock = threading.Lock()
        self.written = 0
        self.failed = 0
        self.batches = 0
        self.errors = 0
        self.archive_errors = 0
        self.last_error: BaseException | None = None
        self._rate: deque[tuple[float, int]] = deque()
        # PNG encoding (cv2 releases the GIL) and archive writes run in
        # parallel with each other; the DB work stays on the one writer thread.
        self._pool = ThreadPoolExecutor(max(1, encode_workers), thread_name_prefix="verdict-encode")
        self._thread = threading.Thread(target=self._run, name="verdict-writer", daemon=True)
        self._thread.start()

    # -- producer side -------------------------------------------------
    def add_recipe(self, recipe: Recipe) -> None:
        """Params to store if this recipe version is not in the DB yet (else stored as {})."""
        with self._lock:
            self._recipes[(recipe.name, recipe.version)] = recipe

    def add_model(self, card: ModelCard, path: str = "") -> None:
        """Name/card to store if this model sha is not in the DB yet."""
        with self._lock:
            self._models[card.sha256] = (card, path)

    @property
    def context(self) -> RowContext:
        return self._context

    def set_context(self, context: RowContext) -> None:
        """Product, lot and shift schedule for every result submitted from now on (any thread)."""
        self._context = context

    def submit(self, result: InspectionResult, timeout: float | None = None) -> Future[int]:
        """Queue ``result``; blocks while the queue is full (raises queue.Full after ``timeout``)."""
        if self._closed:
            raise WriterClosedError("VerdictWriter is closed")
        fut: Future[int] = Future()
        self._q.put(_Job(result, fut, self._context), timeout=timeout)
        return fut

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything submitted before this call is committed or failed."""
        if not self._thread.is_alive():
            return self._q.empty()
        marker = _Flush(threading.Event())
        try:
            self._q.put(marker, timeout=timeout)
        except queue.Full:
            return False
        return marker.done.wait(timeout)

    def close(self, timeout: float | None = None) -> None:
        """Write everything queued, then stop the thread. Idempotent."""
        with self._lock:
            if self._closed:
                already = True
            else:
                already, self._closed = False, True
        if not already:
            self._q.put(_STOP)
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self._fail_leftovers()
            self._pool.shutdown(wait=True)

    def __enter__(self) -> VerdictWriter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def stats(self) -> WriterStats:
        return WriterStats(
            queued=self._q.qsize(),
            written=self.written,
            failed=self.failed,
            batches=self.batches,
            errors=self.errors,
            archive_errors=self.archive_errors,
            last_error=repr(self.last_error) if self.last_error is not None else None,
            rows_per_s=self._rows_per_s(),
        )

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # -- writer thread -------------------------------------------------
    def _run(self) -> None:
        stop = False
        while not stop:
            jobs: list[_Job] = []
            markers: list[_Flush] = []
            item = self._q.get()
            deadline = time.monotonic() + self._interval
            while True:
                if item is _STOP:
                    stop = True
                    break
                if isinstance(item, _Flush):
                    markers.append(item)
                    break
                jobs.append(item)
                if len(jobs) >= self._batch_size:
                    break
                remaining = deadline - time.monotonic()
                try:
                    item = self._q.get(timeout=remaining) if remaining > 0 else self._q.get_nowait()
                except queue.Empty:
                    break
            try:
                if jobs:
                    self._write(jobs)
            except Exception as exc:  # a bug here must not end the thread
                log.exception("verdict writer: unexpected error")
                self._note_error(exc)
                self._fail([j for j in jobs if not j.future.done()], exc)
            finally:
                for m in markers:
                    m.done.set()

    def _write(self, jobs: list[_Job]) -> None:
        # A job the caller cancelled before we got to it is dropped.
        live = [job for job in jobs if job.future.set_running_or_notify_cancel()]
        prepared: list[_Prepared] = []
        for job, outcome in zip(live, self._pool.map(self._try_prepare, live), strict=True):
            if isinstance(outcome, _Prepared):
                prepared.append(outcome)
            else:  # one bad result fails only its own future
                self._note_error(outcome)
                self._fail([job], outcome)
        if not prepared:
            return
        for attempt in (1, 2):
            try:
                ids = self._commit(prepared)
                break
            except Exception as exc:  # reported through the futures
                self._note_error(exc)
                log.warning(
                    "verdict writer: commit of %d rows failed (try %d): %s",
                    len(prepared),
                    attempt,
                    short_error(exc),
                )
                db_trouble = _is_db_trouble(exc)
                if attempt == 1 and db_trouble:  # may pass: a busy or restarting server
                    time.sleep(self._retry_delay)
                    continue
                if db_trouble:
                    self._fail([p.job for p in prepared], exc)
                    _remove_archive_files(prepared)
                elif len(prepared) > 1:  # a row's own value: find it, commit the others
                    self._write_one_by_one(prepared)
                else:
                    self._fail_unstorable(prepared[0], exc)
                return
        self._note_batch(len(ids))
        for p, row_id in zip(prepared, ids, strict=True):
            p.job.future.set_result(row_id)

    def _write_one_by_one(self, prepared: list[_Prepared]) -> None:
        """Each row in its own transaction: only a row that cannot be stored fails."""
        for i, p in enumerate(prepared):
            try:
                (row_id,) = self._commit([p])
            except Exception as exc:
                self._note_error(exc)
                if _is_db_trouble(exc):  # the database failed now, not this row: the rest would too
                    rest = prepared[i:]
                    self._fail([q.job for q in rest], exc)
                    _remove_archive_files(rest)
                    return
                self._fail_unstorable(p, exc)
                continue
            self._note_batch(1)
            p.job.future.set_result(row_id)

    def _fail_unstorable(self, p: _Prepared, exc: Exception) -> None:
        key = storable_text(p.job.result.frame.key)
        log.warning("verdict writer: %s cannot be stored: %s", key, short_error(exc))
        err = RowNotStoredError(f"cannot be stored: {short_error(exc)}")
        err.__cause__ = exc
        self._fail([p.job], err)
        _remove_archive_files([p])

    def _try_prepare(self, job: _Job) -> _Prepared | Exception:
        try:
            return self._prepare(job)
        except Exception as exc:
            return exc

    def _prepare(self, job: _Job) -> _Prepared:
        """CPU/file work done once per result, outside the transaction and its retry."""
        r = job.result
        png = encode_prob_map(r.prob_map) if r.prob_map is not None else None
        image_path = overlay_path = None
        if (
            self._archive_dir is not None
            and r.decision.verdict in self._archive_verdicts
            and r.frame.image is not None  # an undecodable file: its original path is in the row
        ):
            try:
                image_path, overlay_path = self._archive(r)
            except Exception as exc:  # a full archive disk must not lose the verdict
                self._archive_failed(r, exc)
        return _Prepared(job, png, image_path, overlay_path)

    def _archive_failed(self, r: InspectionResult, exc: Exception) -> None:
        with self._lock:  # pool threads
            self.archive_errors += 1
        self._note_error(exc)
        log.warning("verdict writer: archiving %s failed: %r", r.frame.key, exc)

    def _archive(self, r: InspectionResult) -> tuple[str, str | None]:
        assert self._archive_dir is not None
        # local date: operators look for "today's" rejects by their own calendar
        day = r.inspected_at.astimezone().strftime("%Y-%m-%d")
        # uuid, not the row id: files are written before the commit so a
        # committed row never points at a missing file.
        stem = uuid.uuid4().hex
        folder = self._archive_dir / day
        assert r.frame.image is not None
        encoded = r.frame.encoded
        suffix = encoded_suffix(encoded) if encoded is not None else None
        if encoded is not None and suffix is not None:
            # the file as read: what was hashed and inspected, without a second encode
            image = write_bytes(folder / f"{stem}{suffix}", encoded)
        else:  # a camera frame, or a file format kept only decoded: lossless PNG
            image = write_png(folder / f"{stem}.png", r.frame.image)
        overlay = None
        if self._overlay is not None and r.prob_map is not None:
            try:
                overlay = write_jpeg(folder / f"{stem}_overlay.jpg", self._overlay(r))
            except Exception as exc:  # the image is archived already: keep pointing at it
                self._archive_failed(r, exc)
        return str(image.resolve()), str(overlay.resolve()) if overlay else None

    def _commit(self, items: list[_Prepared]) -> list[int]:
        new_ids: dict[tuple[str, Any], int] = {}

        def cached(key: tuple[str, Any], make: Callable[[], int]) -> int:
            if key in self._ids:
                return self._ids[key]
            if key not in new_ids:
                new_ids[key] = make()
            return new_ids[key]

        with self._db.write() as s:
            station_id = cached(
                ("station", self._station), lambda: registry.ensure_station(s, self._station, self._host)
            )
            rows: list[Inspection] = []
            for p in items:
                r = p.job.result
                model_id = cached(
                    ("model", r.model_sha256), lambda r=r: self._ensure_model(s, r.model_sha256)
                )
                key = (r.recipe_name, r.recipe_version)
                recipe_id = cached(("recipe", key), lambda key=key: self._ensure_recipe(s, *key))
                rows.append(_inspection_row(r, p, station_id, model_id, recipe_id))
            s.add_all(rows)
            s.flush()
            ids = [row.id for row in rows]
        # Only now: ids created in a rolled-back transaction would not exist.
        self._ids.update(new_ids)
        return ids

    def _ensure_model(self, s: Any, sha: str) -> int:
        with self._lock:
            known = self._models.get(sha)
        if known is None:
            return registry.ensure_model(s, sha)
        card, path = known
        return registry.ensure_model(s, sha, card.name, card.model_dump(mode="json"), path)

    def _ensure_recipe(self, s: Any, name: str, version: int) -> int:
        with self._lock:
            recipe = self._recipes.get((name, version))
        if recipe is None:
            existing = registry.find_recipe(s, name, version)
            if existing is not None:
                return existing.id
            log.warning(
                "verdict writer: recipe %s v%d not registered; storing it without params", name, version
            )
            return registry.ensure_recipe(s, name, version, {}, reason="first seen by the verdict writer")
        return registry.ensure_recipe(
            s, name, version, recipe.params(), reason="first seen by the verdict writer"
        )

    # -- bookkeeping ---------------------------------------------------
    def _note_error(self, exc: BaseException) -> None:
        with self._lock:
            self.errors += 1
            self.last_error = exc

    def _fail(self, jobs: list[_Job], exc: BaseException) -> None:
        for job in jobs:
            if not job.future.done():
                job.future.set_exception(exc)
                self.failed += 1

    def _fail_leftovers(self) -> None:
        # submit() racing close() may enqueue behind the stop marker.
        while True:
            try:
                item = self._q.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, _Job) and item.future.set_running_or_notify_cancel():
                item.future.set_exception(
                    WriterClosedError("VerdictWriter closed before this result was written")
                )
                self.failed += 1
            elif isinstance(item, _Flush):
                item.done.set()

    def _note_batch(self, rows: int) -> None:
        with self._lock:  # stats() iterates the window from another thread (the GUI)
            self.written += rows
            self.batches += 1
            now = time.monotonic()
            self._rate.append((now, rows))
            while now - self._rate[0][0] > RATE_WINDOW_S:  # bounded even if nobody asks for stats
                self._rate.popleft()

    def _rows_per_s(self) -> float:
        with self._lock:
            now = time.monotonic()
            while self._rate and now - self._rate[0][0] > RATE_WINDOW_S:
                self._rate.popleft()
            if not self._rate:
                return 0.0
            span = max(now - self._rate[0][0], 1e-3)
            return sum(n for _, n in self._rate) / span


def _remove_archive_files(items: list[_Prepared]) -> None:
    """Archive copies of verdicts that were never logged: no row points at them, so they go."""
    for p in items:
        for path in (p.archive_image, p.archive_overlay):
            if path:
                try:
                    Path(path).unlink(missing_ok=True)
                except OSError as exc:
                    log.warning("verdict writer: could not remove unlogged archive file %s: %r", path, exc)


def _is_db_trouble(exc: BaseException) -> bool:
    """Whether ``exc`` is the database failing (locked, full, read-only, unreachable, schema
    gone), which no row can cause and every row would meet again, rather than a row's value."""
    return isinstance(
        exc,
        sa_exc.OperationalError
        | sa_exc.InterfaceError
        | sa_exc.DisconnectionError
        | sa_exc.TimeoutError
        | OSError,
    )


_LENGTHS: dict[str, int | None] = {
    c.name: getattr(c.type, "length", None) for c in Inspection.__table__.columns
}
REASON_CHARS = 2000  # a reason is a line for a person; an exception dump is cut


def _text(value: object, column: str | None = None) -> str:
    return storable_text(str(value), _LENGTHS.get(column) if column else None)


def _inspection_row(
    r: InspectionResult, p: _Prepared, station_id: int, model_id: int, recipe_id: int
) -> Inspection:
    d = r.decision
    f = r.frame
    row = Inspection(
        station_id=station_id,
        # every text made storable: one odd file name or a long message must not fail the batch
        source=_text(f.source, "source"),
        source_key=_text(f.key, "source_key"),
        image_path=_text(f.path, "image_path") if f.path is not None else None,
        image_sha256=_text(f.sha256, "image_sha256") if f.sha256 is not None else None,
        captured_at=f.captured_at,
        inspected_at=r.inspected_at,
        model_id=model_id,
        recipe_id=recipe_id,
        backend=_text(r.backend, "backend"),
        threshold=float(r.threshold),
        verdict=Verdict(d.verdict).value,
        error_stage=storable_text(r.error_stage)[:20],  # a short code: cut, no marker
        score=float(d.score),
        area_ratio=float(d.area_ratio),
        n_regions=len(d.regions),
        reasons=[storable_text(str(x), REASON_CHARS) for x in d.reasons],
        # numpy floats are not JSON serialisable
        timings={_text(k): float(v) for k, v in r.timings_ms.items()},
        archive_image_path=_text(p.archive_image) if p.archive_image else None,
        archive_overlay_path=_text(p.archive_overlay) if p.archive_overlay else None,
    )
    ctx = p.job.context
    if ctx is not None:
        row.product_id, row.lot_id = ctx.product_id, ctx.lot_id
        row.shift = ctx.shifts.label(r.inspected_at) if ctx.shifts is not None else None
    if p.png is not None:
        row.prob_map = ProbMap(png=p.png)
    row.regions = [
        DefectRegion(
            index=int(g.index),
            area_px=int(g.area_px),
            bbox_x=int(g.bbox[0]),
            bbox_y=int(g.bbox[1]),
            bbox_w=int(g.bbox[2]),
            bbox_h=int(g.bbox[3]),
            centroid_x=float(g.centroid[0]),
            centroid_y=float(g.centroid[1]),
            mean_prob=float(g.mean_prob),
            max_prob=float(g.max_prob),
        )
        for g in d.regions
    ]
    return row
