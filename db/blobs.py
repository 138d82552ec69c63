"""PNG encoding of probability maps and archive images (no DB access)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

# the one implementation of the stored map format lives in the core (db already depends on it)
from inspector.core.postprocess import decode_prob_png, encode_prob_png

__all__ = [
    "decode_prob_png",
    "encode_mask_png",
    "encode_prob_map",
    "encode_prob_png",
    "write_bytes",
    "write_jpeg",
    "write_png",
]


def encode_mask_png(mask: np.ndarray) -> bytes:
    """A label mask (nonzero = defect) as a {0,255} 8-bit PNG."""
    m = np.where(np.asarray(mask) > 0, 255, 0).astype(np.uint8)
    ok, buf = cv2.imencode(".png", m)
    if not ok:
        raise ValueError("could not encode mask as PNG")
    return buf.tobytes()


def write_png(path: Path, image: np.ndarray) -> Path:
    """Write ``image`` as PNG (lossless: the archived part image), creating parent dirs."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 2:
        # gray+alpha (which image_io accepts) has no PNG encoder in OpenCV: store it as BGRA
        g, a = image[:, :, 0], image[:, :, 1]
        image = np.dstack([g, g, g, a])
    return _write_encoded(path, ".png", image, [])


def write_jpeg(path: Path, image: np.ndarray, quality: int = 90) -> Path:
    """Write an 8-bit BGR picture for people (overlays) as JPEG: ~8x faster to encode
    than PNG for a 512x512 textured overlay, which matters on a 2-core station."""
    return _write_encoded(path, ".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])


def _write_encoded(path: Path, ext: str, image: np.ndarray, params: list[int]) -> Path:
    """imencode + Python file IO rather than cv2.imwrite: imwrite cannot open
    non-ASCII paths on Windows and reports failure only as ``False``."""
    ok, buf = cv2.imencode(ext, np.ascontiguousarray(image), params)
    if not ok:
        raise ValueError(f"{path}: could not encode image of shape {image.shape} dtype {image.dtype}")
    return write_bytes(path, buf.tobytes())


def write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` whole or not at all, creating parent dirs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)  # a crash mid-write leaves no truncated file behind
    except OSError:
        tmp.unlink(missing_ok=True)  # a full disk must not also leave half a file behind
        raise
    return path


_ZERO_LEVEL = 0.49 / 255.0  # below half a level every pixel quantises to 0 (margin for float32)
_zero_pngs: dict[tuple[int, ...], bytes] = {}


def encode_prob_map(prob: np.ndarray) -> bytes:
    """:func:`encode_prob_png` with a shortcut for maps that quantise to all zeros.

    Most parts on a line are clean; encoding an empty 512x512 PNG still costs
    ~1.5 ms, which would otherwise cap the writer's rows/s.
    """
    p = np.asarray(prob)
    # NaN/inf make max() fail the comparison and take the full path.
    if p.ndim == 2 and p.size and float(p.max()) < _ZERO_LEVEL and float(p.min()) >= 0.0:
        png = _zero_pngs.get(p.shape)
        if png is None:
            if len(_zero_pngs) > 16:  # shapes are few; never grow without bound
                _zero_pngs.clear()
            png = _zero_pngs[p.shape] = encode_prob_png(np.zeros(p.shape, np.float32))
        return png
    return encode_prob_png(p)
