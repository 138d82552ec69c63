"""The model contract's tensor names, defined once.

Every model the station runs takes one float32 NHWC input named ``image`` and gives one
float32 NHWC probability map named ``mask``. The backends, the trainer's export,
the TensorRT engine build and parity, the Triton export and the compression steps all read
these names from here.
"""

from __future__ import annotations

INPUT_NAME = "image"
OUTPUT_NAME = "mask"
