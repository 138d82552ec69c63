"""The one interface every image source implements, plus helpers they share."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Container, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from inspector.core.types import Frame, FrameError

StopFn = Callable[[], bool]
SkipSpec = Callable[[str], bool] | Container[str] | None


@dataclass(slots=True)
class SourceStats:
    """Counters a source keeps while it runs (a snapshot; safe to read from any thread).

    produced: frames yielded; errors: FrameErrors yielded; dropped: live frames
    overwritten by a newer one before the consumer took them; reconnects: times a
    lost camera came back; skipped: items passed over because ``skip`` said they
    were done already (resume); total: items known in advance (folder files,
    video frames), skipped ones included, so ``total - skipped`` is the work
    this run has; None for live sources.
    """

    produced: int = 0
    errors: int = 0
    dropped: int = 0
    reconnects: int = 0
    skipped: int = 0
    total: int | None = None


@runtime_checkable
class Source(Protocol):
    name: str  # human readable, e.g. "folder /data/x", "camera 0"
    live: bool  # True: newest frame wins (cameras); False: every frame in order

    def frames(self, stop: StopFn) -> Iterator[Frame | FrameError]:
        """Yield frames until the source is exhausted or ``stop()`` returns True."""
        ...

    def stats(self) -> SourceStats: ...

    def close(self) -> None: ...


class StatsCounter:
    """Thread-safe counters behind ``Source.stats()`` (grabber threads write, the GUI reads)."""

    def __init__(self, total: int | None = None) -> None:
        self._lock = threading.Lock()
        self._stats = SourceStats(total=total)

    def add(self, **deltas: int) -> None:
        with self._lock:
            for name, delta in deltas.items():
                setattr(self._stats, name, getattr(self._stats, name) + delta)

    def set_total(self, total: int | None) -> None:
        with self._lock:
            self._stats.total = total

    def snapshot(self) -> SourceStats:
        with self._lock:
            s = self._stats
            return SourceStats(s.produced, s.errors, s.dropped, s.reconnects, s.skipped, s.total)

    def count(self, item: Frame | FrameError) -> Frame | FrameError:
        """Count one yielded item and hand it back, so generators can ``yield counter.count(x)``."""
        self.add(**({"produced": 1} if isinstance(item, Frame) else {"errors": 1}))
        return item


def make_skip(skip: SkipSpec) -> Callable[[str], bool]:
    """Normalise the ``skip`` option: a predicate, a collection of done keys, or nothing."""
    if skip is None:
        return lambda _key: False
    if isinstance(skip, str):
        # A str is a Container[str] too; "key in 'path'" would silently do substring tests.
        raise TypeError("skip must be a predicate or a collection of keys, not a single string")
    if callable(skip):
        return skip
    done = skip
    return lambda key: key in done


_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> list[str | int]:
    """Sort key so that "2.png" < "10.png" (case-insensitive).

    re.split with a capturing group alternates text/number, so equal positions
    always hold the same type and lists compare without TypeError.
    """
    parts = _DIGITS.split(text)
    return [int(p) if i % 2 else p.casefold() for i, p in enumerate(parts)]


def natural_sorted(paths: Iterable[Path], root: Path) -> list[Path]:
    """Sort paths naturally by their parts relative to ``root`` (folder by folder)."""
    return sorted(paths, key=lambda p: [natural_key(part) for part in p.relative_to(root).parts])


# Suffixes that copy tools, browsers and cameras' FTP uploads use while a file is incomplete.
_TEMP_SUFFIXES = frozenset({".tmp", ".part", ".partial", ".crdownload", ".filepart", ".download"})


def is_temp_name(name: str) -> bool:
    """True for names that are never a finished image: hidden/dot files (also macOS "._x.png"
    AppleDouble files and ".~lock" files), "~$" office locks and in-progress copy suffixes."""
    if name.startswith((".", "~$")):
        return True
    return Path(name).suffix.lower() in _TEMP_SUFFIXES


def normalise_extensions(extensions: Iterable[str]) -> frozenset[str]:
    """Lower-case, dot-prefixed extensions so ".PNG", "png" and ".png" all match."""
    return frozenset(e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions)


def key_for(path: Path) -> str:
    """The resume key of a file: its absolute, resolved path as a string."""
    return str(path.resolve())
