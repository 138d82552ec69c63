"""Reading images and masks as the trainer needs them (8-bit gray, {0,1} masks)."""

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


def to_gray_u8(img: np.ndarray, path: Path | str = "") -> np.ndarray:
    """Gray uint8 from what OpenCV decodes (gray/BGR/BGRA, 8 or 16 bit)."""
    if img.ndim == 3:
        if img.shape[2] == 4:
            img = cv2.cvtColor(img, cv2.COLOR_BGRA2GRAY)
        elif img.shape[2] == 3:
            img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        elif img.shape[2] == 1:
            img = img[:, :, 0]
        else:
            raise DataError(f"{path}: unsupported channel count {img.shape[2]}")
    if img.dtype == np.uint16:
        # /257 like inspector.core.preprocess, so training and the station see the same scale
        img = np.rint(img.astype(np.float32) / 257.0).astype(np.uint8)
    elif img.dtype != np.uint8:
        raise DataError(f"{path}: unsupported pixel type {img.dtype}")
    return np.ascontiguousarray(img)


def read_gray(path: Path) -> np.ndarray:
    """The image at ``path`` as HxW uint8."""
    return to_gray_u8(read_raw(Path(path)), path)


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
