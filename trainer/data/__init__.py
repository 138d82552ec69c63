"""Data sets for the trainer (no TensorFlow here: the station may import these).

``load_samples(path)`` detects the layout (DAGM 2007 or images/+masks/) and
returns :class:`Sample` records; pixels are read on demand by ``read_gray`` /
``read_mask``.
"""

from __future__ import annotations

from trainer.data.dagm import parse_labels, read_dagm
from trainer.data.folder import read_image_mask_folder
from trainer.data.io import DataError, read_gray, read_mask
from trainer.data.layout import load_samples
from trainer.data.sample import Sample
from trainer.data.split import Split, load_split, make_split, save_split

__all__ = [
    "DataError",
    "Sample",
    "Split",
    "load_samples",
    "load_split",
    "make_split",
    "parse_labels",
    "read_dagm",
    "read_gray",
    "read_image_mask_folder",
    "read_mask",
    "save_split",
]
