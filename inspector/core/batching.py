"""How a run groups frames into backend calls (micro-batching).

- ``latency``: every frame goes to the model alone and at once (a camera at line rate).
- ``auto`` (the default): the frames already waiting when the model is free, up to
  ``max_batch`` of the same tensor size, go to the model in one call; the run never waits
  for more to come. A folder or a burst from a hot folder is batched, a trickle runs
  frame by frame with no added latency.
- ``throughput``: as ``auto``, and a call that is not full waits up to ``fill_ms`` for
  more frames (more latency, fuller batches).

``max_batch`` None means the backend's default (:func:`default_max_batch`): one frame per
call on a CPU, where a batch bought nothing and lost wall time (ONNX Runtime, 2 cores,
both DAGM U-Nets: CPU time per image within 5 % from batch 1 to 8, best wall time at
batch 1), ``ACCELERATOR_MAX_BATCH`` on a GPU or a remote server. Live sources (cameras,
where the newest frame wins) always run one frame per call. The backend's own limit and
the model's memory budget cap the batch further (``Pipeline.batch_capacity``).
``INSPECTOR_BATCHING`` sets the default policy: ``auto``, ``latency`` or ``throughput``,
optionally with ``:N`` for the largest batch (``throughput:8``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["ACCELERATOR_MAX_BATCH", "ENV_BATCHING", "MODES", "BatchPolicy", "default_max_batch"]

ENV_BATCHING = "INSPECTOR_BATCHING"
MODES = ("auto", "latency", "throughput")
ACCELERATOR_MAX_BATCH = 8
DEFAULT_FILL_MS = 20.0


def default_max_batch(device: str) -> int:
    """Frames per call when the setting names no number: 1 on a CPU, else ``ACCELERATOR_MAX_BATCH``."""
    return 1 if device.strip().upper() == "CPU" else ACCELERATOR_MAX_BATCH


@dataclass(frozen=True, slots=True)
class BatchPolicy:
    """The run's batching setting (see the module docstring)."""

    mode: str = "auto"
    max_batch: int | None = None  # None: default_max_batch(the backend's device)
    fill_ms: float = DEFAULT_FILL_MS

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"batching mode {self.mode!r} is not one of {', '.join(MODES)}")
        if self.max_batch is not None and self.max_batch < 1:
            raise ValueError(f"max batch must be at least 1, not {self.max_batch}")
        if self.fill_ms < 0:
            raise ValueError(f"batch fill wait must not be negative, not {self.fill_ms} ms")

    def limit(self, device: str) -> int:
        """Most frames per backend call on ``device`` (before the backend's and memory limits)."""
        if self.mode == "latency":
            return 1
        return self.max_batch if self.max_batch is not None else default_max_batch(device)

    @property
    def waits(self) -> bool:
        """Whether a call that is not full waits for more frames."""
        return self.mode == "throughput" and self.fill_ms > 0

    def describe(self, device: str) -> str:
        n = self.limit(device)
        if n == 1:
            return f"{self.mode}: one frame per model call"
        wait = f", waiting up to {self.fill_ms:g} ms to fill" if self.waits else ""
        return f"{self.mode}: up to {n} frames per model call{wait}"

    @classmethod
    def parse(cls, text: str) -> BatchPolicy:
        """``auto`` | ``latency`` | ``throughput``, optionally ``:N`` (largest batch)."""
        mode, _, size = text.strip().lower().partition(":")
        if not size:
            return cls(mode or "auto")
        try:
            n = int(size)
        except ValueError:
            raise ValueError(f"batching {text!r}: the largest batch after ':' must be a number") from None
        return cls(mode or "auto", n)

    @classmethod
    def from_env(cls) -> BatchPolicy:
        """The policy ``INSPECTOR_BATCHING`` sets (auto when unset); ValueError naming the variable."""
        text = os.environ.get(ENV_BATCHING, "")
        if not text.strip():
            return cls()
        try:
            return cls.parse(text)
        except ValueError as exc:
            raise ValueError(f"{ENV_BATCHING}={text!r}: {exc}") from None
