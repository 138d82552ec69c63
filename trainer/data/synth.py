"""The synthetic DAGM-like generator lives with the station (``inspector.core.synth``: the demo
source needs it and the station never imports the trainer); the trainer uses it from there."""

from inspector.core.synth import make_image, write_synthetic

__all__ = ["make_image", "write_synthetic"]
