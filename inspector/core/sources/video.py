"""OpenCV VideoCapture sources: camera index, RTSP/HTTP stream, or a video file."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import cv2
import numpy as np

from inspector.core.sources.base import SkipSpec, SourceStats, StatsCounter, StopFn, make_skip
from inspector.core.sources.live import LiveGrabber, SourceLost
from inspector.core.types import Frame, FrameError


class Capture(Protocol):
    """The part of cv2.VideoCapture we use; tests pass a fake with the same methods."""

    def isOpened(self) -> bool: ...

    def read(self) -> tuple[bool, np.ndarray | None]: ...

    def release(self) -> None: ...

    def set(self, prop: int, value: float) -> bool: ...

    def get(self, prop: int) -> float: ...


CaptureFactory = Callable[[Any], Capture]


def redact_url(url: str) -> str:
    """rtsp://user:secret@host/x -> rtsp://user:***@host/x: names end up in the DB and the GUI."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def is_stream_url(spec: str) -> bool:
    return spec.lower().startswith(("rtsp://", "rtsps://", "http://", "https://"))


class _CaptureReader:
    """Adapts a live VideoCapture to the grabber's FrameReader."""

    def __init__(self, cap: Capture) -> None:
        self._cap = cap

    def read(self) -> np.ndarray | None:
        if not self._cap.isOpened():
            raise SourceLost("device closed")
        ok, image = self._cap.read()
        if not ok or image is None:
            raise SourceLost("read failed")
        return image

    def close(self) -> None:
        self._cap.release()


class VideoSource:
    """A camera (``0``), a stream URL or a video file, read through OpenCV.

    Live (camera/stream; default for int and URL specs): a grabber thread keeps only
    the newest frame; overwritten frames count as ``dropped``; when the device
    vanishes one FrameError is yielded, then it reconnects with exponential back-off
    (``backoff_s`` = (first, max) delay) and frames resume. Keys are ``camera:0#<seq>``.

    Not live (video file): every frame in order, ending at EOF; keys are
    ``<file>#<frame index>`` and ``skip`` applies to them. A file that cannot be
    opened raises OSError when ``frames()`` starts.
    """

    def __init__(
        self,
        spec: int | str | os.PathLike[str],
        live: bool | None = None,
        reconnect: bool = True,
        backoff_s: tuple[float, float] = (0.5, 10.0),
        capture_factory: CaptureFactory = cv2.VideoCapture,
        skip: SkipSpec = None,
    ) -> None:
        if isinstance(spec, os.PathLike):
            spec = os.fspath(spec)
        if isinstance(spec, str) and spec.isdigit():
            spec = int(spec)
        self.spec: int | str = spec
        self._factory = capture_factory
        self._skip = make_skip(skip)
        self._stats = StatsCounter()
        self.path: Path | None = None
        if isinstance(spec, int):
            self.name, prefix = f"camera {spec}", f"camera:{spec}"
        elif is_stream_url(spec):
            prefix = redact_url(spec)
            self.name = f"stream {prefix}"
        else:
            self.path = Path(spec).expanduser().resolve()
            self.spec = str(self.path)
            self.name, prefix = f"video {self.path}", str(self.path)
        self.live = live if live is not None else self.path is None
        self._prefix = prefix
        self._grabber = LiveGrabber(self.name, prefix, self._open_live, self._stats, reconnect, backoff_s)

    def _open_live(self) -> _CaptureReader:
        cap = self._factory(self.spec)
        if not cap.isOpened():
            cap.release()
            raise OSError("cannot open")
        # Ask the driver for a 1-frame queue so grabbed images are fresh; not every backend obeys.
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        return _CaptureReader(cap)

    def frames(self, stop: StopFn) -> Iterator[Frame | FrameError]:
        if self.live:
            return self._grabber.frames(stop)
        return self._file_frames(stop)

    def _file_frames(self, stop: StopFn) -> Iterator[Frame | FrameError]:
        cap = self._factory(self.spec)
        if not cap.isOpened():
            cap.release()
            raise OSError(f"cannot open video {self.spec} (missing file or unsupported codec)")
        try:
            count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
            self._stats.set_total(count if count > 0 else None)  # some containers do not know
            seq = 0
            while not stop():
                ok, image = cap.read()
                if not ok or image is None:
                    return  # EOF (OpenCV cannot tell it from a truncated file)
                key = f"{self._prefix}#{seq}"
                if self._skip(key):
                    self._stats.add(skipped=1)
                else:
                    yield self._stats.count(
                        Frame(key, image, self.name, datetime.now(UTC), path=self.path, seq=seq)
                    )
                seq += 1
        finally:
            cap.release()

    def stats(self) -> SourceStats:
        return self._stats.snapshot()

    def close(self) -> None:
        self._grabber.stop()
