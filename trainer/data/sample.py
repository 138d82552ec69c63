"""One labelled image: where its pixels and its mask live."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Sample:
    """``key`` is unique within a data set and stable across runs (splits store it).

    ``mask`` is None for a defect-free image (no mask file = no defect).
    """

    key: str
    image: Path
    mask: Path | None
    defective: bool
