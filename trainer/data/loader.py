"""Load samples into memory as arrays (data sets here are small: DAGM class ~100 MB).

Every check a file can fail runs here, before TensorFlow loads: :func:`load` raises
the first :class:`DataError` (it names the file); :func:`load_checked` refuses the
bad files one by one, with the reason, and keeps the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inspector.core.preprocess import gray_levels
from trainer.data.io import DataError, check_raw, read_mask, read_raw
from trainer.data.sample import Sample

# Smaller than this on a side carries too little texture to learn from (crops pad it anyway).
MIN_SIDE = 8
# The station's absolute limit (inspector.core.tiling.MAX_IMAGE_PIXELS): 32768 x 32768.
MAX_PIXELS = 1 << 30


@dataclass(slots=True)
class Loaded:
    key: str
    image: np.ndarray  # HxW gray levels: uint8 (8-bit gray) or float32 on the 0..255 scale
    mask: np.ndarray  # HxW uint8 {0,1}
    kind: str = ""  # the file's pixels: "8-bit gray", "16-bit colour", ...

    @property
    def defective(self) -> bool:
        return bool(self.mask.any())


@dataclass(frozen=True, slots=True)
class Refused:
    """A file left out of training, and why."""

    key: str
    path: str
    reason: str


def load_one(s: Sample) -> Loaded:
    raw = read_raw(s.image)
    check_raw(raw, s.image)
    img = gray_levels(raw)
    h, w = img.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise DataError(f"{s.image}: image {w}x{h} is smaller than {MIN_SIDE} px on a side")
    if h * w > MAX_PIXELS:
        raise DataError(f"{s.image}: image {w}x{h} is above the station's limit of {MAX_PIXELS} pixels")
    colour = raw.ndim == 3 and raw.shape[2] >= 3
    kind = f"{'16' if raw.dtype == np.uint16 else '8'}-bit {'colour' if colour else 'gray'}"
    return Loaded(s.key, img, read_mask(s.mask, (h, w), s.image), kind)


def load(samples: list[Sample]) -> list[Loaded]:
    """All samples as arrays; the first bad file raises :class:`DataError`."""
    return [load_one(s) for s in samples]


def load_checked(samples: list[Sample]) -> tuple[list[Loaded], list[Refused]]:
    """(usable samples, refused ones with the reason); never raises for a single bad file."""
    items: list[Loaded] = []
    refused: list[Refused] = []
    for s in samples:
        try:
            items.append(load_one(s))
        except DataError as exc:
            msg = str(exc)
            reason = msg.split(": ", 1)[1] if msg.startswith(str(s.image)) and ": " in msg else msg
            refused.append(Refused(s.key, str(s.image), reason))
    return items, refused
