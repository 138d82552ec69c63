"""Typed values that flow through the pipeline (see docs/architecture.md)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np


class Verdict(enum.StrEnum):
    """OK / NG / REVIEW come from the rules; ERROR means the part was NOT fully inspected by a
    verified model (unreadable image, model failure, bad model output, self-test failed...).
    An ERROR is never a pass: the recipe's ``on_error`` says whether the line rejects it (NG)
    or holds it for a person (REVIEW)."""

    OK = "OK"
    NG = "NG"
    REVIEW = "REVIEW"
    ERROR = "ERROR"

    @property
    def flagged(self) -> bool:
        """Everything but OK: the part does not pass unattended."""
        return self is not Verdict.OK


@dataclass(slots=True)
class Frame:
    """One image from a source, already decoded.

    ``key`` identifies the frame within its source (an absolute file path for
    folders, ``cam0:#123`` for cameras); it is what resume logic compares.
    """

    key: str
    image: np.ndarray | None  # HxW or HxWxC, uint8 or uint16; None: the file could not be decoded
    source: str
    captured_at: datetime
    path: Path | None = None
    sha256: str | None = None  # of the encoded file bytes, when there were any
    seq: int = 0
    # Time spent reading/decoding this frame, when the source measured it. The pipeline's own
    # measure (time to get the next item) also counts waiting for it, e.g. in an idle hot folder.
    read_ms: float | None = None
    # The file's bytes as read (sources that read files), which ``sha256`` is of and ``image`` was
    # decoded from: an archived part is stored as these bytes, not encoded again.
    encoded: bytes | None = None


@dataclass(slots=True)
class FrameError:
    """A frame that could not be read; the run logs it as an ERROR verdict and goes on."""

    key: str
    source: str
    message: str
    path: Path | None = None
    sha256: str | None = None  # of the file bytes, when they could be read


@dataclass(frozen=True, slots=True)
class Region:
    """A connected component of the thresholded probability map.

    Coordinates are in original-image pixels; bbox is (x, y, w, h).
    """

    index: int
    area_px: int
    bbox: tuple[int, int, int, int]
    centroid: tuple[float, float]
    mean_prob: float
    max_prob: float


@dataclass(slots=True)
class Decision:
    """The outcome of the rules on one probability map."""

    verdict: Verdict
    reasons: list[str]
    regions: list[Region]  # regions that counted (after min-area / ROI filtering)
    ignored: list[Region] = field(default_factory=list)
    score: float = 0.0  # max probability over counted regions (0 when none)
    area_ratio: float = 0.0  # counted defect area / inspected area


@dataclass(slots=True)
class InspectionResult:
    """Everything the sinks need to log and show one inspection."""

    frame: Frame
    decision: Decision
    prob_map: np.ndarray | None  # float32 HxW in [0,1], original image size; None for an ERROR
    timings_ms: dict[str, float]
    model_sha256: str
    recipe_name: str
    recipe_version: int
    backend: str
    threshold: float
    inspected_at: datetime
    error_stage: str = ""  # ERROR verdicts: where it failed (read, selftest, preprocess, infer, output...)

    @property
    def is_error(self) -> bool:
        return self.decision.verdict is Verdict.ERROR
