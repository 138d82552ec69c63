"""Pick the reader for a data folder."""

from __future__ import annotations

from pathlib import Path

from trainer.data.dagm import has_part, read_dagm
from trainer.data.folder import read_image_mask_folder
from trainer.data.io import DataError
from trainer.data.sample import Sample


def load_samples(root: Path, parts: tuple[str, ...] = ("Train",)) -> list[Sample]:
    """Samples of the data set at ``root`` (images/+masks/ or any DAGM level).

    ``parts`` (DAGM only) asks for Train and/or Test; a folder holding only the other
    part is read as it is.
    """
    root = Path(root)
    if not root.exists():
        raise DataError(f"{root}: data folder not found")
    if (root / "images").is_dir():
        return read_image_mask_folder(root)
    return read_dagm(root, parts)


def dagm_test_samples(root: Path) -> list[Sample] | None:
    """The DAGM ``Test/`` part when ``root`` holds both ``Train/`` and ``Test/`` (the data set's
    own test set, used as the test split), else None."""
    root = Path(root)
    if (root / "images").is_dir() or not (has_part(root, "Train") and has_part(root, "Test")):
        return None
    return read_dagm(root, ("Test",))


def layout_name(root: Path) -> str:
    root = Path(root)
    return "images/ + masks/" if (root / "images").is_dir() else "DAGM 2007"
