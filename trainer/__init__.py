"""Trainer: labelled images -> U-Net -> ONNX model + card the station runs.

Qt-free, and TensorFlow is imported lazily inside the functions that train or
export, so ``import trainer`` (and the data readers) stay light.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
