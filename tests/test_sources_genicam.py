"""GenICamSource against a fake ``harvesters`` module shaped like harvesters 1.4."""

from __future__ import annotations

import sys
import threading
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from inspector.core.sources.base import Source
from inspector.core.sources.genicam import MISSING_HARVESTERS, GenICamSource, component_to_array
from inspector.core.types import Frame, FrameError

FAST_BACKOFF = (0.01, 0.05)


class TimeoutException(Exception):
    """Stands in for genicam.gentl.TimeoutException (no image within the fetch timeout)."""


class IoException(Exception):
    """Stands in for genicam.gentl.IoException (the device went away)."""


class Component:
    def __init__(self, image: np.ndarray, data_format: str) -> None:
        self.height, self.width = image.shape[:2]
        self.data = image.reshape(-1)  # harvesters hands a flat 1-D array
        self.data_format = data_format
        self.num_components_per_pixel = 1 if image.ndim == 2 else image.shape[2]


class Buffer:
    def __init__(self, component: Component) -> None:
        self.payload = types.SimpleNamespace(components=[component])
        self.queued = False

    def __enter__(self) -> Buffer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.queued = True  # back to the driver: data must not be used after this
        self.payload.components[0].data[:] = 0


class DeviceInfo:
    def __init__(self, serial: str) -> None:
        self.serial_number = serial
        self.model = "FakeCam"
        self.vendor = "Fake"
        self.id_ = f"fake-{serial}"


class World:
    """What the fake cameras do; a test configures it, the fake harvesters obey."""

    def __init__(self) -> None:
        self.serials = ["S1"]
        self.script: Callable[[int], Buffer | Exception] = lambda n: mono8(n)
        self.fetches = 0
        self.created: list[Any] = []
        self.acquirers: list[ImageAcquirer] = []
        self.harvesters: list[Harvester] = []
        self.lock = threading.Lock()


WORLD = World()


def mono8(n: int) -> Buffer:
    return Buffer(Component(np.full((6, 8), n % 256, np.uint8), "Mono8"))


class ImageAcquirer:
    def __init__(self) -> None:
        self.started = self.stopped = self.destroyed = False

    def start(self, run_as_thread: bool = False) -> None:
        self.started = True

    def fetch(self, *, timeout: float = 0) -> Buffer:
        assert self.started
        assert not self.destroyed
        time.sleep(0.002)
        with WORLD.lock:
            n = WORLD.fetches
            WORLD.fetches += 1
        out = WORLD.script(n)
        if isinstance(out, Exception):
            raise out
        return out

    def stop(self) -> None:
        self.stopped = True

    def destroy(self) -> None:
        self.destroyed = True


class Harvester:
    def __init__(self) -> None:
        self.files: list[str] = []
        self.device_info_list: list[DeviceInfo] = []
        self.updates = 0
        self.was_reset = False
        WORLD.harvesters.append(self)

    def add_file(self, file_path: str, check_existence: bool = False, check_validity: bool = False) -> None:
        self.files.append(file_path)

    def update(self) -> None:
        self.updates += 1
        self.device_info_list = [DeviceInfo(s) for s in WORLD.serials]

    def create(self, search_key: Any = None, *, config: Any = None) -> ImageAcquirer:
        if isinstance(search_key, dict):
            matches = [d for d in self.device_info_list if d.serial_number == search_key["serial_number"]]
            if len(matches) != 1:
                raise ValueError("no or multiple devices found: provide sufficient search key")
        elif isinstance(search_key, int) and search_key >= len(self.device_info_list):
            raise IndexError("device index out of range")
        WORLD.created.append(search_key)
        ia = ImageAcquirer()
        WORLD.acquirers.append(ia)
        return ia

    def reset(self) -> None:
        self.was_reset = True


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> World:
    global WORLD
    WORLD = World()
    pkg = types.ModuleType("harvesters")
    core = types.ModuleType("harvesters.core")
    core.Harvester = Harvester  # type: ignore[attr-defined]
    pkg.core = core  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "harvesters", pkg)
    monkeypatch.setitem(sys.modules, "harvesters.core", core)
    return WORLD


@pytest.fixture
def cti(tmp_path: Path) -> Path:
    path = tmp_path / "FakeProducer.cti"
    path.write_bytes(b"")
    return path


def take(src: GenICamSource, n: int, timeout: float = 2.0) -> list[Frame | FrameError]:
    items: list[Frame | FrameError] = []
    deadline = time.monotonic() + timeout
    for item in src.frames(lambda: len(items) >= n or time.monotonic() > deadline):
        items.append(item)
    return items


def test_frames_flow_and_close_releases_everything(world: World, cti: Path) -> None:
    src = GenICamSource(cti, serial="S1", backoff_s=FAST_BACKOFF)
    assert isinstance(src, Source)
    assert src.live
    items = take(src, 3)
    src.close()
    assert all(isinstance(i, Frame) for i in items)
    first = items[0]
    assert isinstance(first, Frame)
    assert first.image.shape == (6, 8)
    assert first.image.dtype == np.uint8
    # Copied out of the buffer before it went back to the driver (which zeroes it here).
    assert [int(f.image[0, 0]) for f in items] == [f.seq % 256 for f in items]  # type: ignore[union-attr]
    assert first.key == f"genicam:S1#{first.seq}"
    h = world.harvesters[0]
    assert h.files == [str(cti)]
    assert world.created == [{"serial_number": "S1"}]
    ia = world.acquirers[0]
    assert ia.started
    assert ia.stopped
    assert ia.destroyed
    assert h.was_reset


def test_first_device_when_no_serial(world: World, cti: Path) -> None:
    world.serials = ["A", "B"]
    src = GenICamSource(cti)
    take(src, 1)
    src.close()
    assert world.created == [0]


def test_unknown_serial_reports_found_devices(world: World, cti: Path) -> None:
    world.serials = ["A", "B"]
    src = GenICamSource(cti, serial="Z", reconnect=False)
    items = take(src, 5)
    src.close()
    assert len(items) == 1
    assert isinstance(items[0], FrameError)
    assert "Z" in items[0].message
    assert "A, B" in items[0].message


def test_trigger_timeouts_are_not_outages(world: World, cti: Path) -> None:
    world.script = lambda n: TimeoutException("no trigger") if n < 5 else mono8(n)
    src = GenICamSource(cti, backoff_s=FAST_BACKOFF)
    items = take(src, 2)
    src.close()
    assert all(isinstance(i, Frame) for i in items)
    assert src.stats().reconnects == 0
    assert len(world.acquirers) == 1


def test_lost_camera_reconnects(world: World, cti: Path) -> None:
    def script(n: int) -> Buffer | Exception:
        return IoException("device removed") if n == 3 else mono8(n)

    world.script = script
    src = GenICamSource(cti, serial="S1", backoff_s=FAST_BACKOFF)
    items: list[Frame | FrameError] = []
    deadline = time.monotonic() + 2
    for item in src.frames(lambda: time.monotonic() > deadline):
        items.append(item)
        if sum(isinstance(i, Frame) for i in items) >= 6:
            break
    src.close()
    errors = [i for i in items if isinstance(i, FrameError)]
    assert len(errors) == 1
    assert "genicam S1 lost (device removed); reconnecting in" in errors[0].message
    assert src.stats().reconnects == 1
    assert len(world.acquirers) == 2
    assert world.acquirers[0].destroyed
    assert world.harvesters[0].updates == 2  # re-enumerated to find the camera again


def test_unsupported_pixel_format_ends_with_one_error(world: World, cti: Path) -> None:
    world.script = lambda n: Buffer(Component(np.zeros((4, 4), np.uint8), "BayerRG8"))
    src = GenICamSource(cti, backoff_s=FAST_BACKOFF)
    items = take(src, 3, timeout=1.0)
    src.close()
    assert len(items) == 1
    assert isinstance(items[0], FrameError)
    assert "BayerRG8" in items[0].message


def test_pixel_format_conversion() -> None:
    mono16 = np.arange(12, dtype=np.uint16).reshape(3, 4) * 1000
    out = component_to_array(Component(mono16, "Mono16"))
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out, mono16)
    # Some producers hand 16-bit pixels as raw bytes; Mono12 is scaled to the 16-bit range.
    mono12 = mono16 // 4
    as_bytes = Component(mono12, "Mono12")
    as_bytes.data = mono12.reshape(-1).view(np.uint8)
    np.testing.assert_array_equal(component_to_array(as_bytes), mono12 << 4)

    rgb = np.zeros((2, 3, 3), np.uint8)
    rgb[..., 0] = 255  # pure red in RGB order
    bgr = component_to_array(Component(rgb, "RGB8"))
    assert bgr.shape == (2, 3, 3)
    assert (bgr[..., 2] == 255).all()
    assert (bgr[..., 0] == 0).all()
    np.testing.assert_array_equal(component_to_array(Component(rgb, "BGR8")), rgb)


def test_missing_harvesters_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, cti: Path) -> None:
    monkeypatch.setitem(sys.modules, "harvesters", None)  # import now raises ImportError
    monkeypatch.setitem(sys.modules, "harvesters.core", None)
    with pytest.raises(RuntimeError, match=r"pip install harvesters"):
        GenICamSource(cti)
    assert "GenTL producer (.cti)" in MISSING_HARVESTERS


def test_missing_producer_file(world: World, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.cti"):
        GenICamSource(tmp_path / "nope.cti")
