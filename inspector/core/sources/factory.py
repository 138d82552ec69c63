"""``open_source(spec)``: one string (CLI argument, GUI field, config) -> a Source."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inspector.core.sources.base import Source
from inspector.core.sources.folder import FolderSource
from inspector.core.sources.hotfolder import HotFolderSource
from inspector.core.sources.video import VideoSource, is_stream_url

VIDEO_EXTENSIONS = frozenset({".mp4", ".avi", ".mkv", ".mov"})

SPEC_HELP = """valid source specs:
  DIR                     every image in a folder (FolderSource)
  hot:DIR                 watch a folder for new images (HotFolderSource)
  camera:N  or  N         OpenCV camera index N
  FILE.mp4|.avi|.mkv|.mov a video file, every frame in order
  rtsp://... http(s)://...  a network stream (live camera)
  genicam:CTI_PATH[#SERIAL] a GenICam camera through a GenTL producer
  demo                    synthetic demo images"""


def spec_for(kind: str, text: str) -> str:
    """The spec :func:`open_source` takes for a source ``kind`` (demo, folder, hot, camera, video,
    genicam) and what the user typed (path, index or URL; already stripped, non-empty unless demo)."""
    if kind == "demo":
        return "demo"
    if kind == "hot":
        return f"hot:{text}"
    if kind == "camera":
        return f"camera:{text}" if text.isdigit() else text
    if kind == "genicam":
        return text if text.lower().startswith("genicam:") else f"genicam:{text}"
    return text


def open_source(spec: str, **opts: Any) -> Source:
    """Build the Source a spec names; ``opts`` go to its constructor (e.g. skip=, recursive=).

    Options the chosen source does not take (``recursive=`` for a camera, ``skip=`` for a
    live stream) are dropped, so a caller can pass one set of options for any spec; a name
    no source knows raises TypeError, so typos are not silently ignored.
    ``demo`` is not built here (it lives with the demo generator); callers check for it
    first. Anything unrecognised raises ValueError listing the valid forms.
    """
    text = spec.strip()
    if not text:  # Path("") is ".": a blank field would silently inspect the working directory
        raise ValueError(f"empty source spec\n{SPEC_HELP}")
    lower = text.lower()
    if lower.startswith("hot:"):
        return _build(HotFolderSource, _existing_dir(text[4:], spec), **opts)
    if lower.startswith("camera:"):
        index = text[7:]
        if not index.isdigit():
            raise ValueError(f"camera index must be a number in {spec!r}\n{SPEC_HELP}")
        return _build(VideoSource, int(index), **opts)
    if text.isdigit():
        return _build(VideoSource, int(text), **opts)
    if is_stream_url(text):
        return _build(VideoSource, text, **opts)
    if lower.startswith("genicam:"):
        cti, serial = _split_serial(text[8:])
        if not cti:
            raise ValueError(f"genicam spec needs the producer path: genicam:CTI_PATH[#SERIAL]\n{SPEC_HELP}")
        from inspector.core.sources.genicam import GenICamSource

        return _build(GenICamSource, cti, serial or None, **opts)
    if lower == "demo":
        raise ValueError(f"the 'demo' source is built by the demo module, not open_source()\n{SPEC_HELP}")
    path = Path(text).expanduser()
    if path.is_dir():
        return _build(FolderSource, path, **opts)
    if path.suffix.lower() in VIDEO_EXTENSIONS:
        if not path.is_file():
            raise FileNotFoundError(f"video file {path} not found")
        return _build(VideoSource, path, **opts)
    if not path.exists():
        # ValueError, not FileNotFoundError: a typo'd path and an unknown scheme look alike.
        raise ValueError(f"{spec!r} is no existing folder or video file, nor a known source\n{SPEC_HELP}")
    raise ValueError(f"cannot tell what kind of source {spec!r} is\n{SPEC_HELP}")


# Every option some source takes; GenICam is listed by name to keep its module lazy.
_GENICAM_OPTIONS = frozenset({"reconnect", "backoff_s", "fetch_timeout_s"})


def _params(cls: Callable[..., Any]) -> set[str]:
    return set(inspect.signature(cls).parameters)


def _build(cls: Callable[..., Source], *args: Any, **opts: Any) -> Source:
    known = _params(FolderSource) | _params(HotFolderSource) | _params(VideoSource) | _GENICAM_OPTIONS
    unknown = set(opts) - known
    if unknown:
        raise TypeError(f"unknown source option(s): {', '.join(sorted(unknown))}")
    accepted = _params(cls)
    return cls(*args, **{k: v for k, v in opts.items() if k in accepted})


def _split_serial(rest: str) -> tuple[str, str]:
    """ "path.cti#SERIAL" -> (path, serial). A '#' may also occur inside a path, so the part
    after the last '#' only counts as a serial when it does not look like a path."""
    cti, sep, serial = rest.rpartition("#")
    if not sep or "/" in serial or "\\" in serial or serial.lower().endswith(".cti"):
        return rest, ""
    return cti, serial


def _existing_dir(text: str, spec: str) -> Path:
    path = Path(text).expanduser()
    if not text or not path.is_dir():
        raise NotADirectoryError(f"hot folder {path} in {spec!r} does not exist or is not a folder")
    return path
