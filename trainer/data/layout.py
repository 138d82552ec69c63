"""Pick the reader for a data folder."""

from __future__ import annotations

from pathlib import Path

from trainer.data.dagm import read_dagm
from trainer.data.folder import read_image_mask_folder
from trainer.data.io import DataError
from trainer.data.sample import Sample


def load_samples(root: Path, parts: tuple[str, ...] = ("Train",)) -> list[Sample]:
    """Samples of the data set at ``root`` (images/+masks/ or any DAGM level)."""
    root = Path(root)
    if not root.exists():
        raise DataError(f"{root}: data folder not found")
    if (root / "images").is_dir():
        return read_image_mask_folder(root)
    return read_dagm(root, parts)
