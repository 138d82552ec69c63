"""Reading images and masks as the trainer needs them (gray levels, {0,1} masks).

Images become gray exactly as the station makes them (``inspector.core.preprocess.gray_levels``):
8-bit gray stays uint8, 16-bit and colour images become float32 on the 0..255 scale, never
rounded to 8 bits.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


class DataError(ValueError):
    """Bad training data; the message names the file and what is wrong."""


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def read_raw(path: Path) -> np.ndarray:
    """The image as OpenCV decodes it (IMREAD_UNCHANGED), like the station's sources."""
    # imdecode from bytes: cv2.imread fails silently on non-ASCII paths on some OSes
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError as exc:
        raise DataError(f"{path}: cannot read file: {exc}") from exc
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise DataError(f"{path}: not a readable image (PNG/JPEG/BMP/TIFF expected)")
    return img


def check_raw(img: np.ndarray, path: Path | str = "") -> None:
    """Refuse what the station could not inspect either (the message names the file)."""
    if img.dtype not in (np.uint8, np.uint16):
        raise DataError(f"{path}: unsupported pixel type {img.dtype} (8 or 16 bit expected)")
    if img.ndim == 3 and img.shape[2] not in (1, 2, 3, 4):
        raise DataError(f"{path}: unsupported channel count {img.shape[2]}")
    if img.ndim not in (2, 3):
        raise DataError(f"{path}: unsupported image shape {img.shape}")


def read_gray(path: Path) -> np.ndarray:
    """The image at ``path`` as HxW gray levels: uint8 for 8-bit gray, else float32 (0..255),
    computed by the station's own ``gray_levels``."""
    from inspector.core.preprocess import gray_levels

    img = read_raw(Path(path))
    check_raw(img, path)
    return gray_levels(img)


def read_mask(path: Path | None, shape: tuple[int, int], image_path: Path | None = None) -> np.ndarray:
    """HxW uint8 mask in {0,1} (nonzero = defect); zeros when ``path`` is None."""
    if path is None:
        return np.zeros(shape, np.uint8)
    m = read_raw(Path(path))
    if m.ndim == 3:
        m = m.max(axis=2)  # any nonzero channel marks a defect
    if m.shape != shape:
        raise DataError(
            f"{path}: mask is {m.shape[1]}x{m.shape[0]} but its image {image_path or ''} "
            f"is {shape[1]}x{shape[0]}"
        )
    return (m > 0).astype(np.uint8)
