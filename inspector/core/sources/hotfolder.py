"""A watched folder: inspect each new image once, and only once it is completely written."""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from inspector.core.image_io import IMAGE_EXTENSIONS
from inspector.core.sources.base import (
    SkipSpec,
    SourceStats,
    StatsCounter,
    StopFn,
    is_temp_name,
    key_for,
    make_skip,
    natural_key,
    normalise_extensions,
)
from inspector.core.sources.folder import read_file_frame
from inspector.core.types import Frame, FrameError

log = logging.getLogger(__name__)

Signature = tuple[int, int]  # (size, mtime_ns): changes while a writer is still at work


@dataclass(slots=True)
class _Pending:
    path: Path
    sig: Signature | None = None
    stable_since: float = 0.0
    moved_in: bool = False  # renamed into place: the writer finished under another name


class HotFolderSource:
    """New image files in ``root`` (not recursive), each exactly once, only when complete.

    Completion: a file is read once its size and mtime have not changed for
    ``settle_s`` seconds, or at once when it was renamed into the folder (the usual
    "write x.tmp, rename to x.png" pattern). It is re-checked after reading; a file
    that changed meanwhile, or fails to decode because it is still growing, is simply
    retried later. A file that stays undecodable while stable yields one FrameError
    (and is retried if it is later rewritten). Empty files are waited on, never read.

    Discovery: watchdog events (fast) plus a scan every ``poll_interval_s`` (network
    shares do not deliver events; ``use_watchdog=False`` polls only). Temp/hidden
    names ("x.tmp", "x.part", ".x.png", "~$x") are ignored. ``process_existing=False``
    ignores files already present when ``frames()`` starts; ``skip`` (keys already
    logged) lets a restarted station resume without repeats.

    The observer thread only queues paths; all stat/read work happens in the
    thread iterating ``frames()``, which therefore needs no further locking.
    """

    live = False

    def __init__(
        self,
        root: str | os.PathLike[str],
        settle_s: float = 0.5,
        poll_interval_s: float = 1.0,
        use_watchdog: bool = True,
        process_existing: bool = True,
        skip: SkipSpec = None,
        extensions: Iterable[str] = IMAGE_EXTENSIONS,
    ) -> None:
        self.root = Path(root).expanduser().resolve()
        if not self.root.is_dir():
            raise NotADirectoryError(f"hot folder {self.root} does not exist or is not a folder")
        self.settle_s = settle_s
        self.poll_interval_s = poll_interval_s
        self.use_watchdog = use_watchdog
        self.process_existing = process_existing
        self.extensions = normalise_extensions(extensions)
        self.name = f"hot folder {self.root}"
        self._skip = make_skip(skip)
        self._stats = StatsCounter()
        self._events: collections.deque[tuple[Path, bool]] = collections.deque()
        self._events_lock = threading.Lock()
        self._wake = threading.Event()
        self._pending: dict[str, _Pending] = {}
        # keys yielded (or skipped) -> the file's signature then: the same name with a new
        # signature is a new part (lines that overwrite one file name), so it is read again
        self._done: dict[str, Signature | None] = {}
        self._failed: dict[str, Signature] = {}  # errored keys -> signature at the time
        self._root_lost = False
        self._seq = 0

    # -- called from the watchdog thread ------------------------------------------------
    def notify(self, path: str | bytes, moved_in: bool = False) -> None:
        with self._events_lock:
            self._events.append((Path(os.fsdecode(path)), moved_in))
        self._wake.set()

    # -- consumer thread ----------------------------------------------------------------------
    def frames(self, stop: StopFn) -> Iterator[Frame | FrameError]:
        if not self.process_existing:
            for path in self._list():
                self._done[key_for(path)] = _signature(path)
        observer = self._start_observer() if self.use_watchdog else None
        # Short waits keep stop() prompt and settle timing accurate; an Event wait is cheap.
        tick = max(0.01, min(0.1, self.poll_interval_s, self.settle_s / 2 or 0.1))
        next_scan = 0.0
        try:
            while not stop():
                self._wake.clear()
                self._drain_events()
                now = time.monotonic()
                if now >= next_scan:
                    next_scan = now + self.poll_interval_s
                    problem = self._scan()
                    if problem is not None:
                        yield self._stats.count(problem)
                for item in self._ready(now):
                    yield self._stats.count(item)
                    if stop():
                        return
                self._wake.wait(tick)
        finally:
            if observer is not None:
                observer.stop()
                observer.join(timeout=2)

    def _start_observer(self) -> BaseObserver | None:
        try:
            observer = Observer()
            observer.schedule(_EventForwarder(self), str(self.root), recursive=False)
            observer.start()
            return observer
        except Exception:  # e.g. inotify watch limit reached: polling still works
            log.warning(
                "%s: file events unavailable, polling every %.1f s",
                self.name,
                self.poll_interval_s,
                exc_info=True,
            )
            return None

    def _list(self) -> list[Path]:
        return [Path(e.path) for e in os.scandir(self.root) if e.is_file()]

    def _scan(self) -> FrameError | None:
        """Find files the events missed. Reports an unreachable folder once per outage."""
        try:
            paths = self._list()
        except OSError as exc:
            if self._root_lost:
                return None
            self._root_lost = True
            return FrameError(str(self.root), self.name, f"{self.name} not reachable ({exc}); still watching")
        if self._root_lost:
            self._root_lost = False
            self._stats.add(reconnects=1)
        present = set()
        for path in paths:
            present.add(key_for(path))
            self._consider(path, moved_in=False)
        # Files the line removed are forgotten: an endless run does not grow with history.
        for key in [k for k in self._done if k not in present]:
            del self._done[key]
        return None

    def _drain_events(self) -> None:
        with self._events_lock:
            events, self._events = self._events, collections.deque()
        for path, moved_in in events:
            self._consider(path, moved_in)

    def _consider(self, path: Path, moved_in: bool) -> None:
        if path.parent != self.root or path.suffix.lower() not in self.extensions:
            return
        if is_temp_name(path.name):
            return
        key = key_for(path)
        if key in self._failed:
            # An errored file that was rewritten since deserves another try.
            if _signature(path) in (None, self._failed[key]):
                return
            del self._failed[key]
            self._done.pop(key, None)
        if key in self._pending:
            self._pending[key].moved_in |= moved_in
            return
        if key in self._done:
            sig = _signature(path)
            if sig is None or sig == self._done[key]:
                return
            del self._done[key]  # the name was written again: a new part
        if self._skip(key):
            self._done[key] = _signature(path)
            self._stats.add(skipped=1)
            return
        self._pending[key] = _Pending(path, moved_in=moved_in)

    def _ready(self, now: float) -> Iterator[Frame | FrameError]:
        for key in sorted(self._pending, key=natural_key):
            p = self._pending[key]
            sig = _signature(p.path)
            if sig is None:  # deleted or renamed away; a rename's new name arrives on its own
                del self._pending[key]
                continue
            if sig != p.sig:
                p.sig, p.stable_since = sig, now
            if sig[0] == 0 or (not p.moved_in and now - p.stable_since < self.settle_s):
                continue
            item = read_file_frame(p.path, key, self.name, self._seq)
            after = _signature(p.path)
            if after is None:
                del self._pending[key]
                continue
            if after != sig:  # written to while we read: whatever we got may be half a file
                p.sig, p.stable_since, p.moved_in = after, now, False
                continue
            if isinstance(item, FrameError):
                if p.moved_in:
                    # Trust the rename only as far as it decodes: fall back to settling.
                    p.moved_in, p.stable_since = False, now
                    continue
                self._failed[key] = sig
            del self._pending[key]
            self._done[key] = sig
            self._seq += 1
            yield item

    def stats(self) -> SourceStats:
        return self._stats.snapshot()

    def close(self) -> None:
        """The observer lives only while ``frames()`` runs; nothing else to release."""


class _EventForwarder(FileSystemEventHandler):
    """Queues interesting paths for the consumer thread; does no file I/O itself."""

    def __init__(self, source: HotFolderSource) -> None:
        self._source = source

    def on_created(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self._source.notify(event.src_path)

    def on_modified(self, event: FileSystemEvent) -> None:
        # Also how a rewritten, previously undecodable file gets a fresh look quickly.
        if not event.is_directory:
            self._source.notify(event.src_path)

    def on_closed(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self._source.notify(event.src_path)

    def on_moved(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self._source.notify(event.dest_path, moved_in=True)


def _signature(path: Path) -> Signature | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns
