"""The demo source: synthetic DAGM-like images, so the station runs with no setup.

Images come from the same generator the demo model was trained on
(``inspector.core.synth``, numpy/OpenCV only), made on the fly.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from inspector.core.sources.base import Source, SourceStats, StatsCounter, StopFn
from inspector.core.types import Frame, FrameError

DEMO_SEED = 2026  # not a training seed: demo images are unseen by the demo model


class DemoSource:
    """``n`` synthetic images (endless when None), optionally paced to ``fps``."""

    live = False

    def __init__(
        self, n: int | None = None, seed: int = DEMO_SEED, size: int = 256, fps: float | None = None
    ) -> None:
        self.name = "demo (synthetic DAGM-like images)"
        self.n, self.seed, self.size, self.fps = n, seed, size, fps
        self._stats = StatsCounter(total=n)

    def frames(self, stop: StopFn) -> Iterator[Frame | FrameError]:
        from inspector.core.synth import make_image

        i = 0
        next_at = time.monotonic()
        while (self.n is None or i < self.n) and not stop():
            if self.fps:
                delay = next_at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                next_at = max(next_at, time.monotonic()) + 1.0 / self.fps
            image, _mask = make_image(self.seed, i, size=self.size)
            yield self._stats.count(
                Frame(
                    key=f"demo:{self.seed}#{i}",
                    image=image,
                    source="demo",
                    captured_at=datetime.now(UTC),
                    seq=i,
                )
            )
            i += 1

    def stats(self) -> SourceStats:
        return self._stats.snapshot()

    def close(self) -> None:
        pass


def make_source(spec: str, **opts: Any) -> Source:
    """``demo`` or ``demo:N`` builds the demo source; anything else goes to ``open_source``."""
    if spec == "demo" or spec.startswith("demo:"):
        n = spec.partition(":")[2]
        if n and not n.isdigit():
            raise ValueError(f"demo source takes a count: demo or demo:N, not {spec!r}")
        return DemoSource(n=int(n) if n else None)
    from inspector.core.sources import open_source

    return open_source(spec, **opts)
