"""Load samples into memory as arrays (data sets here are small: DAGM class ~100 MB)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trainer.data.io import read_gray, read_mask
from trainer.data.sample import Sample


@dataclass(slots=True)
class Loaded:
    key: str
    image: np.ndarray  # HxW uint8
    mask: np.ndarray  # HxW uint8 {0,1}

    @property
    def defective(self) -> bool:
        return bool(self.mask.any())


def load(samples: list[Sample]) -> list[Loaded]:
    out = []
    for s in samples:
        img = read_gray(s.image)
        out.append(Loaded(s.key, img, read_mask(s.mask, img.shape, s.image)))
    return out
