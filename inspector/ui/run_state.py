"""The state of the live inspection run, as the GUI's panels see it."""

from __future__ import annotations

from enum import StrEnum


class RunState(StrEnum):
    """What the inspection controller is doing; ``str`` so Qt's ``Signal(str)`` carries it as is."""

    IDLE = "idle"
    RUNNING = "running"
    PAUSED = "paused"

    @property
    def active(self) -> bool:
        """A run exists (running or paused)."""
        return self is not RunState.IDLE
