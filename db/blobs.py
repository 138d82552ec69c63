"""PNG encoding of probability maps and archive images (no DB access)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

try:  # the one shared implementation, when the core provides it
    from inspector.core.postprocess import decode_prob_png, encode_prob_png
except ImportError:  # pragma: no cover - keeps db usable on its own

    def encode_prob_png(prob: np.ndarray) -> bytes:
        p = np.nan_to_num(np.asarray(prob, dtype=np.float32), nan=0.0, posinf=1.0, neginf=0.0)
        q = np.clip(np.rint(p * 255.0), 0, 255).astype(np.uint8)
        ok, buf = cv2.imencode(".png", q, [cv2.IMWRITE_PNG_COMPRESSION, 3])
        if not ok:
            raise ValueError("could not encode probability map as PNG")
        return buf.tobytes()

    def decode_prob_png(data: bytes) -> np.ndarray:
        arr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED) if data else None
        if arr is None or arr.ndim != 2:
            raise ValueError("probability PNG could not be decoded")
        return arr.astype(np.float32) / np.float32(255.0)


__all__ = ["decode_prob_png", "encode_mask_png", "encode_prob_png", "write_png"]


def encode_mask_png(mask: np.ndarray) -> bytes:
    """A label mask (nonzero = defect) as a {0,255} 8-bit PNG."""
    m = np.where(np.asarray(mask) > 0, 255, 0).astype(np.uint8)
    ok, buf = cv2.imencode(".png", m)
    if not ok:
        raise ValueError("could not encode mask as PNG")
    return buf.tobytes()


def write_png(path: Path, image: np.ndarray) -> Path:
    """Write ``image`` as PNG, creating parent dirs.

    imencode + Python file IO rather than cv2.imwrite: imwrite cannot open
    non-ASCII paths on Windows and reports failure only as ``False``.
    """
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(image))
    if not ok:
        raise ValueError(f"{path}: could not encode image of shape {image.shape} dtype {image.dtype}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_bytes(buf.tobytes())
    tmp.replace(path)  # a crash mid-write leaves no truncated .png behind
    return path
