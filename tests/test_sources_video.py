"""VideoSource: live cameras (with a fake capture), reconnects, dropped frames, video files."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspector.core.sources import VideoSource
from inspector.core.sources.base import Source
from inspector.core.sources.video import redact_url
from inspector.core.types import Frame, FrameError

FAST_BACKOFF = (0.01, 0.05)


class FakeCamera:
    """A camera behind fake VideoCaptures: refuses the first ``failed_opens`` opens,
    delivers ``lose_after`` frames, vanishes, refuses ``failed_reopens`` opens, then
    delivers again. Frame i is filled with i % 256."""

    def __init__(
        self,
        lose_after: int | None = None,
        failed_opens: int = 0,
        failed_reopens: int = 0,
        period_s: float = 0.002,
    ) -> None:
        self.lose_after = lose_after
        self.failed_opens = failed_opens
        self.failed_reopens = failed_reopens
        self.period_s = period_s
        self.delivered = 0
        self.opens = 0
        self.released = 0
        self.lost = False
        self.lock = threading.Lock()
        self.specs: list[object] = []

    def factory(self, spec: object) -> FakeCapture:
        with self.lock:
            self.opens += 1
            self.specs.append(spec)
            if self.failed_opens > 0:
                self.failed_opens -= 1
                return FakeCapture(self, opened=False)
            if self.lost and self.failed_reopens > 0:
                self.failed_reopens -= 1
                return FakeCapture(self, opened=False)
            return FakeCapture(self, opened=True)


class FakeCapture:
    def __init__(self, cam: FakeCamera, opened: bool) -> None:
        self.cam = cam
        self.opened = opened
        self.props: dict[int, float] = {}

    def isOpened(self) -> bool:  # OpenCV's camelCase name
        return self.opened

    def read(self) -> tuple[bool, np.ndarray | None]:
        time.sleep(self.cam.period_s)
        cam = self.cam
        with cam.lock:
            if not self.opened:
                return False, None
            if cam.lose_after is not None and cam.delivered >= cam.lose_after and not cam.lost:
                cam.lost = True  # unplugged: this capture is dead for good
                self.opened = False
                return False, None
            image = np.full((8, 8, 3), cam.delivered % 256, np.uint8)
            cam.delivered += 1
            return True, image

    def release(self) -> None:
        with self.cam.lock:
            self.cam.released += 1
        self.opened = False

    def set(self, prop: int, value: float) -> bool:
        self.props[prop] = value
        return True

    def get(self, prop: int) -> float:
        return self.props.get(prop, 0.0)


def collect(
    src: VideoSource, n_frames_after_error: int = 3, timeout: float = 2.0
) -> list[Frame | FrameError]:
    items: list[Frame | FrameError] = []
    deadline = time.monotonic() + timeout
    for item in src.frames(lambda: time.monotonic() > deadline):
        items.append(item)
        errs = [i for i, x in enumerate(items) if isinstance(x, FrameError)]
        if errs and len(items) - errs[0] - 1 >= n_frames_after_error:
            break
    return items


def test_camera_vanishes_and_comes_back() -> None:
    # Still gone on two re-open attempts: that must remain ONE error, not three.
    cam = FakeCamera(lose_after=5, failed_reopens=2)
    src = VideoSource(0, reconnect=True, backoff_s=FAST_BACKOFF, capture_factory=cam.factory)
    assert isinstance(src, Source)
    assert src.live
    assert src.name == "camera 0"
    items = collect(src)
    src.close()
    errors = [i for i in items if isinstance(i, FrameError)]
    frames = [i for i in items if isinstance(i, Frame)]
    assert len(errors) == 1
    assert errors[0].message.startswith("camera 0 lost")
    assert "reconnecting in 0.0 s" in errors[0].message  # 0.01 s, printed to 0.1 s
    assert len(frames) >= 4
    seqs = [f.seq for f in frames]
    assert seqs == sorted(seqs)
    assert all(f.key == f"camera:0#{f.seq}" for f in frames)
    after = items[items.index(errors[0]) + 1 :]
    assert len(after) >= 3
    assert all(isinstance(i, Frame) for i in after)
    stats = src.stats()
    assert stats.reconnects == 1
    assert stats.errors == 1
    assert cam.opens == 4  # first, two refused re-opens, the one that worked
    assert cam.released >= 4  # refused opens are released too, and the final capture


def test_newest_frame_wins_and_drops_are_counted() -> None:
    cam = FakeCamera(period_s=0.001)
    src = VideoSource(0, capture_factory=cam.factory)
    frames: list[Frame | FrameError] = []
    for item in src.frames(lambda: len(frames) >= 5):
        frames.append(item)
        time.sleep(0.03)  # a slow consumer (inference)
    src.close()
    assert all(isinstance(f, Frame) for f in frames)
    seqs = [f.seq for f in frames if isinstance(f, Frame)]
    assert seqs == sorted(seqs)
    dropped = src.stats().dropped
    assert dropped > 0
    assert dropped >= seqs[-1] + 1 - len(seqs)  # every gap in the sequence was a counted drop
    assert src.stats().produced == 5
    # The image is the one delivered with that sequence number, not an older one.
    assert all(int(f.image[0, 0, 0]) == f.seq % 256 for f in frames if isinstance(f, Frame))


def test_camera_absent_at_start_then_appears() -> None:
    cam = FakeCamera(failed_opens=3)
    src = VideoSource(1, backoff_s=FAST_BACKOFF, capture_factory=cam.factory)
    items = collect(src)
    src.close()
    assert isinstance(items[0], FrameError)
    assert "unavailable" in items[0].message
    assert sum(isinstance(i, FrameError) for i in items) == 1
    assert src.stats().reconnects == 0  # it was never connected, so nothing was re-connected


def test_without_reconnect_the_stream_ends_after_the_loss() -> None:
    cam = FakeCamera(lose_after=2)
    src = VideoSource(0, reconnect=False, capture_factory=cam.factory)
    t0 = time.monotonic()
    items = list(src.frames(lambda: time.monotonic() - t0 > 2))
    assert time.monotonic() - t0 < 1
    assert isinstance(items[-1], FrameError)
    assert "not reconnecting" in items[-1].message
    assert cam.opens == 1


def test_stop_is_prompt_during_backoff() -> None:
    cam = FakeCamera(failed_opens=1000)
    src = VideoSource(3, backoff_s=(5.0, 10.0), capture_factory=cam.factory)
    t0 = time.monotonic()
    items = list(src.frames(lambda: time.monotonic() - t0 > 0.2))
    src.close()
    assert time.monotonic() - t0 < 1.0
    assert len(items) == 1
    assert "reconnecting in 5.0 s" in items[0].message  # type: ignore[union-attr]
    assert cam.opens == 1


def test_walking_away_releases_the_camera() -> None:
    cam = FakeCamera()
    src = VideoSource(0, capture_factory=cam.factory)
    for _item in src.frames(lambda: False):
        break  # the generator is dropped here, which must stop the grabber
    deadline = time.monotonic() + 1
    while cam.released == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cam.released == 1
    src.close()


def test_buffer_size_is_requested_for_live_capture() -> None:
    cam = FakeCamera()
    captures: list[FakeCapture] = []

    def factory(spec: object) -> FakeCapture:
        cap = cam.factory(spec)
        captures.append(cap)
        return cap

    src = VideoSource(0, capture_factory=factory)
    next(iter(src.frames(lambda: False)))
    src.close()
    assert captures[0].props.get(cv2.CAP_PROP_BUFFERSIZE) == 1
    assert cam.specs[0] == 0


def test_stream_url_is_live_and_its_password_is_hidden() -> None:
    cam = FakeCamera()
    url = "rtsp://admin:s3cret@10.0.0.5:554/stream1"
    src = VideoSource(url, capture_factory=cam.factory)
    assert src.live
    assert "s3cret" not in src.name
    assert src.name == "stream rtsp://admin:***@10.0.0.5:554/stream1"
    first = next(iter(src.frames(lambda: False)))
    src.close()
    assert cam.specs[0] == url  # the real URL still reaches OpenCV
    assert "s3cret" not in first.key
    assert redact_url("http://host/x.mjpg") == "http://host/x.mjpg"


@pytest.fixture
def tiny_avi(tmp_path: Path) -> Path:
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (32, 24))
    if not writer.isOpened():
        pytest.skip("OpenCV has no MJPG/AVI writer here")
    for i in range(6):
        writer.write(np.full((24, 32, 3), 40 * i, np.uint8))
    writer.release()
    return path


def test_video_file_every_frame_in_order(tiny_avi: Path) -> None:
    src = VideoSource(tiny_avi)
    assert not src.live
    items = list(src.frames(lambda: False))
    assert all(isinstance(i, Frame) for i in items)
    assert [i.seq for i in items] == list(range(6))
    assert [i.key for i in items] == [f"{tiny_avi.resolve()}#{n}" for n in range(6)]
    means = [float(i.image.mean()) for i in items]  # type: ignore[union-attr]
    assert means == sorted(means)
    assert abs(means[-1] - 200) < 10  # MJPEG is lossy; ordering is what matters
    assert src.stats().total == 6
    assert src.stats().produced == 6


def test_video_file_skip_resumes(tiny_avi: Path) -> None:
    done = {f"{tiny_avi.resolve()}#{n}" for n in range(4)}
    src = VideoSource(tiny_avi, skip=done)
    assert [i.seq for i in src.frames(lambda: False)] == [4, 5]
    assert src.stats().skipped == 4


def test_unreadable_video_file_raises(tmp_path: Path) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(OSError, match=r"broken\.mp4"):
        list(VideoSource(bad).frames(lambda: False))
