"""GenICam/GigE Vision/USB3 Vision cameras through ``harvesters`` (imported lazily)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from inspector.core.sources.base import SourceStats, StatsCounter, StopFn
from inspector.core.sources.live import LiveGrabber, SourceLost
from inspector.core.types import Frame, FrameError

MISSING_HARVESTERS = "GenICam needs 'pip install harvesters' and a GenTL producer (.cti)"

# Pixel formats we convert, to the (dtype, channels) numpy layout OpenCV expects.
# Mono10/12/14 arrive unpacked (LSB-aligned) in 16-bit words; packed variants are not supported.
# The value is the left shift that makes them span 0..65535, as uint16 means everywhere else
# (preprocess divides by 257): a 12-bit white of 4095 would otherwise reach the model as ~16/255.
_MONO16 = {"Mono10": 6, "Mono12": 4, "Mono14": 2, "Mono16": 0}


def component_to_array(component: Any) -> np.ndarray:
    """A harvesters buffer component -> HxW / HxWx3 (BGR) array that owns its memory.

    The copy matters: the component's data belongs to a buffer that goes back to the
    driver's queue as soon as the ``fetch`` context exits.
    """
    fmt = str(component.data_format)
    h, w = int(component.height), int(component.width)
    data = np.asarray(component.data)
    if fmt == "Mono8":
        return data.view(np.uint8)[: h * w].reshape(h, w).copy()
    if fmt in _MONO16:
        # Some producers hand 16-bit pixels as a uint8 byte array; view() covers both cases.
        words = data if data.dtype == np.uint16 else data.view(np.uint16)
        shift = _MONO16[fmt]
        image = words[: h * w].reshape(h, w)
        return (image << shift) if shift else image.copy()  # the shift makes a new array too
    if fmt in ("RGB8", "BGR8"):
        image = data.view(np.uint8)[: h * w * 3].reshape(h, w, 3)
        return (image[:, :, ::-1] if fmt == "RGB8" else image).copy()
    raise ValueError(f"unsupported GenICam pixel format {fmt!r} (use Mono8/Mono16/RGB8/BGR8)")


class _AcquirerReader:
    """Adapts a started harvesters ImageAcquirer to the grabber's FrameReader."""

    def __init__(self, ia: Any, timeout_s: float) -> None:
        self._ia = ia
        self._timeout_s = timeout_s

    def read(self) -> np.ndarray | None:
        try:
            with self._ia.fetch(timeout=self._timeout_s) as buffer:
                return component_to_array(buffer.payload.components[0])
        except ValueError:
            raise  # unsupported format: not an outage, reconnecting would not help
        except Exception as exc:
            # genicam raises TimeoutException when no trigger came: wait on, the camera is fine.
            # Matching by name keeps the 'genicam' package out of our imports.
            if "timeout" in type(exc).__name__.lower():
                return None
            raise SourceLost(str(exc) or type(exc).__name__) from exc

    def close(self) -> None:
        try:
            self._ia.stop()
        finally:
            self._ia.destroy()


class GenICamSource:
    """A GenICam camera via a GenTL producer (.cti); the first device, or the one with ``serial``.

    Live, like VideoSource cameras: newest frame wins, dropped frames counted, one
    FrameError per outage and reconnect with back-off. Keys are ``genicam:<serial>#<seq>``.
    ``fetch_timeout_s`` is how long one fetch waits (a triggered camera may be idle
    for long; a timeout is not treated as an outage).
    """

    live = True

    def __init__(
        self,
        cti_path: str | os.PathLike[str],
        serial: str | None = None,
        reconnect: bool = True,
        backoff_s: tuple[float, float] = (0.5, 10.0),
        fetch_timeout_s: float = 1.0,
    ) -> None:
        try:
            from harvesters.core import Harvester
        except ImportError as exc:
            raise RuntimeError(MISSING_HARVESTERS) from exc
        self.cti_path = Path(cti_path).expanduser()
        if not self.cti_path.is_file():
            raise FileNotFoundError(f"GenTL producer {self.cti_path} not found ({MISSING_HARVESTERS})")
        self.serial = serial
        self.fetch_timeout_s = fetch_timeout_s
        self.name = f"genicam {serial}" if serial else f"genicam {self.cti_path.name}"
        self._harvester = Harvester()
        self._harvester.add_file(str(self.cti_path))
        self._stats = StatsCounter()
        prefix = f"genicam:{serial or 0}"
        self._grabber = LiveGrabber(self.name, prefix, self._open, self._stats, reconnect, backoff_s)

    def _open(self) -> _AcquirerReader:
        # update() re-enumerates, so a camera that was unplugged and came back is found again.
        self._harvester.update()
        devices = list(self._harvester.device_info_list)
        if not devices:
            raise OSError(f"no GenICam device found via {self.cti_path.name}")
        if self.serial is None:
            search_key: Any = 0
        else:
            serials = [str(getattr(d, "serial_number", "")) for d in devices]
            if self.serial not in serials:
                raise OSError(f"no GenICam device with serial {self.serial} (found: {', '.join(serials)})")
            search_key = {"serial_number": self.serial}
        ia = self._harvester.create(search_key)
        try:
            ia.start()
        except Exception:
            ia.destroy()
            raise
        return _AcquirerReader(ia, self.fetch_timeout_s)

    def frames(self, stop: StopFn) -> Iterator[Frame | FrameError]:
        return self._grabber.frames(stop)

    def stats(self) -> SourceStats:
        return self._stats.snapshot()

    def close(self) -> None:
        self._grabber.stop()
        self._harvester.reset()  # releases the producer; the grabber thread has closed the device
