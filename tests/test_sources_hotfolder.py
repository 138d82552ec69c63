"""HotFolderSource: complete files only, each once, events and polling."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspector.core.sources import HotFolderSource
from inspector.core.types import Frame, FrameError

Items = list[Frame | FrameError]


def png_bytes(seed: int = 0, size: int = 64) -> tuple[bytes, np.ndarray]:
    # Noise does not compress, so the file is big enough to write in many chunks.
    image = np.random.default_rng(seed).integers(0, 256, (size, size), dtype=np.uint8)
    ok, buf = cv2.imencode(".png", image)
    assert ok
    return buf.tobytes(), image


def run(
    src: HotFolderSource, done: Callable[[Items], bool], timeout: float = 3.0, grace: float = 0.0
) -> Items:
    """Iterate until ``done(items)`` has held for ``grace`` seconds (or the timeout)."""
    items: Items = []
    deadline = time.monotonic() + timeout
    done_at: list[float] = []

    def stop() -> bool:
        now = time.monotonic()
        if not done_at and done(items):
            done_at.append(now)
        return now > deadline or (bool(done_at) and now - done_at[0] >= grace)

    for item in src.frames(stop):
        items.append(item)
    return items


def later(delay: float, fn: Callable[[], object]) -> threading.Thread:
    def body() -> None:
        time.sleep(delay)
        fn()

    t = threading.Thread(target=body, daemon=True)
    t.start()
    return t


@pytest.mark.parametrize("use_watchdog", [True, False])
def test_slowly_written_file_is_read_once_and_complete(tmp_path: Path, use_watchdog: bool) -> None:
    data, image = png_bytes()
    target = tmp_path / "slow.png"

    def write_slowly() -> None:
        with target.open("wb") as f:
            for i in range(0, len(data), len(data) // 8 + 1):
                f.write(data[i : i + len(data) // 8 + 1])
                f.flush()
                time.sleep(0.1)

    writer = later(0.05, write_slowly)
    src = HotFolderSource(tmp_path, settle_s=0.25, poll_interval_s=0.1, use_watchdog=use_watchdog)
    items = run(src, lambda got: len(got) >= 1, grace=0.2)
    writer.join()
    assert len(items) == 1
    frame = items[0]
    assert isinstance(frame, Frame), frame
    np.testing.assert_array_equal(frame.image, image)
    assert frame.key == str(target.resolve())
    assert src.stats().errors == 0


def test_renamed_into_place_is_read_without_waiting_to_settle(tmp_path: Path) -> None:
    data, image = png_bytes(1)
    tmp = tmp_path / "part1.png.tmp"

    def write_then_rename() -> None:
        tmp.write_bytes(data)
        os.replace(tmp, tmp_path / "part1.png")

    later(0.1, write_then_rename)
    # A long settle time: only the "moved into place" path can deliver within the timeout.
    src = HotFolderSource(tmp_path, settle_s=30, poll_interval_s=5)
    t0 = time.monotonic()
    items = run(src, lambda got: len(got) >= 1, timeout=1.5)
    assert time.monotonic() - t0 < 1.5
    assert [Path(i.key).name for i in items] == ["part1.png"]
    assert isinstance(items[0], Frame)
    np.testing.assert_array_equal(items[0].image, image)


def test_temp_and_hidden_names_are_ignored(tmp_path: Path) -> None:
    data, _ = png_bytes(2)
    for name in ("x.tmp", "y.png.part", ".~lock.png", ".hidden.png", "~$z.png", "w.partial"):
        (tmp_path / name).write_bytes(data)
    (tmp_path / "real.png").write_bytes(data)
    src = HotFolderSource(tmp_path, settle_s=0.05, poll_interval_s=0.05)
    items = run(src, lambda got: len(got) >= 1, grace=0.3)
    assert [Path(i.key).name for i in items] == ["real.png"]


def test_polling_only_finds_new_files_in_order(tmp_path: Path) -> None:
    data, _ = png_bytes(3)
    (tmp_path / "10.png").write_bytes(data)
    (tmp_path / "9.png").write_bytes(data)
    later(0.2, lambda: (tmp_path / "11.png").write_bytes(data))
    src = HotFolderSource(tmp_path, settle_s=0.05, poll_interval_s=0.1, use_watchdog=False)
    items = run(src, lambda got: len(got) >= 3, grace=0.2)
    assert [Path(i.key).name for i in items] == ["9.png", "10.png", "11.png"]
    assert all(isinstance(i, Frame) for i in items)


def test_existing_files_skipped_when_asked_and_skip_keys_resume(tmp_path: Path) -> None:
    data, _ = png_bytes(4)
    (tmp_path / "old.png").write_bytes(data)
    later(0.1, lambda: (tmp_path / "new.png").write_bytes(data))
    src = HotFolderSource(tmp_path, settle_s=0.05, poll_interval_s=0.1, process_existing=False)
    assert [Path(i.key).name for i in run(src, lambda got: len(got) >= 1, grace=0.2)] == ["new.png"]

    # Restart after a "crash": new.png is logged already, old.png is not.
    logged = {str((tmp_path / "new.png").resolve())}
    src2 = HotFolderSource(tmp_path, settle_s=0.05, poll_interval_s=0.1, skip=logged)
    assert [Path(i.key).name for i in run(src2, lambda got: len(got) >= 1, grace=0.2)] == ["old.png"]
    assert src2.stats().skipped == 1


def test_stable_corrupt_file_errors_once_and_is_retried_when_rewritten(tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    data, image = png_bytes(5)

    def rewrite() -> None:  # via rename, so the retry never sees a half-written file
        (tmp_path / "bad.png.tmp").write_bytes(data)
        os.replace(tmp_path / "bad.png.tmp", bad)

    later(0.5, rewrite)
    src = HotFolderSource(tmp_path, settle_s=0.05, poll_interval_s=0.05)
    items = run(src, lambda got: len(got) >= 2, grace=0.2)
    assert [type(i) for i in items] == [FrameError, Frame]
    assert "bad.png" in items[0].message
    np.testing.assert_array_equal(items[1].image, image)  # type: ignore[union-attr]
    assert (src.stats().errors, src.stats().produced) == (1, 1)


def test_stop_is_prompt(tmp_path: Path) -> None:
    src = HotFolderSource(tmp_path, poll_interval_s=1.0)
    t0 = time.monotonic()
    assert list(src.frames(lambda: time.monotonic() - t0 > 0.1)) == []
    assert time.monotonic() - t0 < 0.6
    src.close()


def test_missing_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        HotFolderSource(tmp_path / "absent")
