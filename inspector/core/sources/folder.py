"""A folder of image files: every file once, in natural order, resumable."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from inspector.core.image_io import IMAGE_EXTENSIONS, ImageDecodeError, read_image_file
from inspector.core.sources.base import (
    SkipSpec,
    SourceStats,
    StatsCounter,
    StopFn,
    is_temp_name,
    key_for,
    make_skip,
    natural_sorted,
    normalise_extensions,
)
from inspector.core.types import Frame, FrameError

# Ground-truth masks live beside the images in DAGM ("Label/") and in the
# images/ + masks/ layout; inspecting them as products would be nonsense.
EXCLUDED_DIRS = frozenset({"label", "masks"})


def read_file_frame(path: Path, key: str, source: str, seq: int) -> Frame | FrameError:
    """Read one image file into a Frame, or a FrameError naming the file and the problem."""
    t0 = time.perf_counter()
    try:
        image, sha, data = read_image_file(path)
    except (ImageDecodeError, OSError) as exc:  # exc names the file
        sha = exc.sha256 if isinstance(exc, ImageDecodeError) else None
        return FrameError(key=key, source=source, message=str(exc), path=path, sha256=sha)
    return Frame(
        key=key,
        image=image,
        source=source,
        captured_at=datetime.fromtimestamp(_mtime(path), UTC),
        path=path,
        sha256=sha,
        seq=seq,
        read_ms=(time.perf_counter() - t0) * 1e3,
        encoded=data,
    )


def _mtime(path: Path) -> float:
    # The file's own time is when the image was taken; "now" only if it vanished meanwhile.
    try:
        return path.stat().st_mtime
    except OSError:
        return datetime.now(UTC).timestamp()


class FolderSource:
    """Every image file under ``root`` exactly once, in natural sort order (2.png < 10.png).

    * Not recursive by default. With ``recursive=True`` sub-folders are walked too,
      except folders named ``Label`` or ``masks`` (any case), which hold ground-truth
      masks, and hidden folders.
    * Keys are absolute resolved paths; ``skip`` (a predicate or a collection of keys,
      e.g. those already logged in the DB) lets a crashed run resume where it stopped.
    * Hidden/temp names (".x.png", "x.part") are ignored; a file that cannot be read or
      decoded yields a FrameError and the run goes on.
    * The file list is taken when ``frames()`` starts; use HotFolderSource to watch for
      new files.
    """

    live = False

    def __init__(
        self,
        root: str | os.PathLike[str],
        recursive: bool = False,
        extensions: Iterable[str] = IMAGE_EXTENSIONS,
        skip: SkipSpec = None,
    ) -> None:
        self.root = Path(root).expanduser().resolve()
        if not self.root.is_dir():
            raise NotADirectoryError(f"image folder {self.root} does not exist or is not a folder")
        self.recursive = recursive
        self.extensions = normalise_extensions(extensions)
        self._skip = make_skip(skip)
        self.name = f"folder {self.root}"
        self._stats = StatsCounter()

    def list_files(self) -> list[Path]:
        """The image files this source would visit, in order (before ``skip``)."""
        found: list[Path] = []
        if self.recursive:
            for dirpath, dirnames, filenames in os.walk(self.root):
                # Pruning in place stops os.walk descending into mask folders.
                dirnames[:] = [
                    d for d in dirnames if d.casefold() not in EXCLUDED_DIRS and not d.startswith(".")
                ]
                found.extend(Path(dirpath, f) for f in filenames)
        else:
            found = [p for p in self.root.iterdir() if p.is_file()]
        wanted = [p for p in found if p.suffix.lower() in self.extensions and not is_temp_name(p.name)]
        return natural_sorted(wanted, self.root)

    def frames(self, stop: StopFn) -> Iterator[Frame | FrameError]:
        seen: set[str] = set()
        todo: list[tuple[Path, str]] = []
        for path in self.list_files():
            key = key_for(path)
            if key in seen:  # two symlinks to one file: still one inspection
                continue
            seen.add(key)
            if self._skip(key):
                self._stats.add(skipped=1)
            else:
                todo.append((path, key))
        self._stats.set_total(len(seen))  # skipped included, as SourceStats documents
        for seq, (path, key) in enumerate(todo):
            if stop():
                return
            yield self._stats.count(read_file_frame(path, key, self.name, seq))

    def stats(self) -> SourceStats:
        return self._stats.snapshot()

    def close(self) -> None:
        """Nothing to release; files are opened and closed per read."""
