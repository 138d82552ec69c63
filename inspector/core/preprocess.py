"""Image -> model input tensor, and model output -> probability map at the image's size.

The model card decides the geometry (``resize`` / ``pad`` / ``native``) and the
normalisation; :class:`PrepInfo` remembers what was done so :func:`restore`
can undo it exactly. The trainer feeds its data through the same functions,
so the station and training never disagree about what the model sees.

Geometry choices: padding happens at the bottom/right, so original pixel
(x, y) stays at (x, y) in the tensor and restoring is a plain slice. Padding
reflects the image (no artificial edge for the model to flag as a defect).
Nothing is ever cropped: an image larger than a ``pad`` card's input is refused
here with a ValueError; :mod:`inspector.core.tiling` inspects it in tiles (the
station and the trainer's evaluation go through that module).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from inspector.core.model_card import ModelCard, Normalisation

__all__ = [
    "PrepInfo",
    "gray_levels",
    "model_input",
    "model_input_gray",
    "normalise",
    "prepare",
    "prepare_batch",
    "restore",
    "to_gray_float",
]


@dataclass(frozen=True, slots=True)
class PrepInfo:
    """How an image was turned into a tensor; everything :func:`restore` needs."""

    orig_hw: tuple[int, int]  # (H, W) of the original image
    tensor_hw: tuple[int, int]  # (H, W) of the model input
    mode: str  # the card's resize mode
    content_hw: tuple[int, int]  # original pixels inside the tensor: orig_hw (pad/native), tensor_hw (resize)


def to_gray_float(image: np.ndarray) -> np.ndarray:
    """Gray float32 HxW on the 0..255 scale, always a new array.

    16-bit images are divided by 257 (65535 -> 255) so a model trained on 8-bit
    data sees the same brightness scale. BGR/BGRA use OpenCV's luma weights;
    gray+alpha keeps the gray channel. Float input is taken as already 0..255.
    """
    img = np.asarray(image)
    if img.dtype == np.uint8:
        g = img.astype(np.float32)
    elif img.dtype == np.uint16:
        g = img.astype(np.float32)
        g *= np.float32(1.0 / 257.0)
    elif img.dtype in (np.float32, np.float64):
        g = img.astype(np.float32, copy=True)
    else:
        raise ValueError(f"unsupported image dtype {img.dtype}; expected uint8, uint16 or float")
    if g.ndim == 3:
        c = g.shape[2]
        if c == 1 or c == 2:  # gray (+ alpha)
            g = np.ascontiguousarray(g[:, :, 0])
        elif c == 3:
            g = cv2.cvtColor(g, cv2.COLOR_BGR2GRAY)
        elif c == 4:
            g = cv2.cvtColor(g, cv2.COLOR_BGRA2GRAY)
        else:
            raise ValueError(f"unsupported channel count {c}")
    elif g.ndim != 2:
        raise ValueError(f"image must be HxW or HxWxC, got shape {img.shape}")
    return g


def normalise(gray: np.ndarray, norm: Normalisation) -> np.ndarray:
    """(x / scale - mean) / std, in place on a float32 array (returned for chaining)."""
    # Folded into one multiply and one subtract: two passes instead of three.
    gray *= np.float32(1.0 / (norm.scale * norm.std))
    gray -= np.float32(norm.mean / norm.std)
    return gray


def model_input_gray(image: np.ndarray, norm: Normalisation) -> np.ndarray:
    """``normalise(to_gray_float(image), norm)``: the same float32 numbers, a new array, in one
    pass fewer for 8-bit gray images (the cast and the scale fused, no subtraction of a zero mean)."""
    img = np.asarray(image)
    if img.dtype != np.uint8 or img.ndim != 2:
        return normalise(to_gray_float(img), norm)
    g = np.multiply(img, np.float32(1.0 / (norm.scale * norm.std)), dtype=np.float32)
    offset = np.float32(norm.mean / norm.std)
    if offset != 0:
        g -= offset
    return g


def gray_levels(image: np.ndarray) -> np.ndarray:
    """The gray image :func:`prepare` starts from (0..255 scale), kept as uint8 where that is
    exact (8-bit gray input) and as :func:`to_gray_float`'s float32 otherwise (16-bit, colour).

    The trainer holds its data this way: 8-bit sets take a quarter of the memory, and no
    image is ever rounded to 8 bits the station would not round.
    """
    img = np.asarray(image)
    if img.dtype == np.uint8 and (img.ndim == 2 or (img.ndim == 3 and img.shape[2] in (1, 2))):
        return np.ascontiguousarray(img if img.ndim == 2 else img[:, :, 0])
    return to_gray_float(img)


def model_input(gray: np.ndarray, card: ModelCard) -> np.ndarray:
    """Gray levels (any shape, 0..255 scale) -> float32 model input with the card's normalisation,
    always a new array: the :func:`normalise` that :func:`prepare` ends in (the trainer's crops)."""
    return normalise(np.array(gray, dtype=np.float32, copy=True), card.normalisation)


def _pad_to(g: np.ndarray, th: int, tw: int) -> np.ndarray:
    """Reflect-pad at the bottom/right to exactly (th, tw); (th, tw) is never smaller."""
    h, w = g.shape
    if (h, w) != (th, tw):
        g = cv2.copyMakeBorder(g, 0, th - h, 0, tw - w, cv2.BORDER_REFLECT_101)
    return g


def prepare(image: np.ndarray, card: ModelCard) -> tuple[np.ndarray, PrepInfo]:
    """Model input (H, W, 1) float32 for one image, and how it was made."""
    if card.channels != 1:
        raise ValueError(
            f"model card {card.name!r}: only 1-channel models are supported, not {card.channels}"
        )
    g = to_gray_float(image)
    h, w = g.shape
    if card.resize == "resize":
        th, tw = card.input_height, card.input_width
        if (h, w) != (th, tw):
            # INTER_AREA when shrinking keeps thin defects from aliasing away
            interp = cv2.INTER_AREA if th * tw < h * w else cv2.INTER_LINEAR
            g = cv2.resize(g, (tw, th), interpolation=interp)
        content = (th, tw)
    else:
        if card.resize == "pad":
            th, tw = card.input_height, card.input_width
            if h > th or w > tw:
                raise ValueError(
                    f"image {w}x{h} is larger than the {tw}x{th} input of model card {card.name!r} "
                    "(resize: pad); cropping it would leave pixels uninspected, so it must be tiled "
                    "(inspector.core.tiling)"
                )
        else:  # native: the U-Net needs sides divisible by 2**depth
            m = max(1, card.multiple)
            th, tw = -(-h // m) * m, -(-w // m) * m
        content = (h, w)
        g = _pad_to(g, th, tw)
    info = PrepInfo(orig_hw=(h, w), tensor_hw=(th, tw), mode=card.resize, content_hw=content)
    return normalise(np.ascontiguousarray(g), card.normalisation)[:, :, None], info


def restore(prob: np.ndarray, info: PrepInfo) -> np.ndarray:
    """Model output (H, W) or (H, W, 1) at tensor size -> float32 HxW at the original size."""
    p = np.asarray(prob, dtype=np.float32)
    if p.ndim == 3 and p.shape[2] == 1:
        p = p[:, :, 0]
    if p.shape != info.tensor_hw:
        raise ValueError(f"model output shape {p.shape} does not match its input {info.tensor_hw}")
    h, w = info.orig_hw
    # Always a fresh array: GPU backends reuse their output buffer for the next batch.
    if info.mode == "resize":
        if (h, w) == info.tensor_hw:
            return p.copy()
        return cv2.resize(p, (w, h), interpolation=cv2.INTER_LINEAR)
    if info.content_hw != (h, w) or h > p.shape[0] or w > p.shape[1]:
        raise ValueError(
            f"image {w}x{h} does not fit its {p.shape[1]}x{p.shape[0]} model input; "
            "only part of it was inspected (tile it with inspector.core.tiling)"
        )
    return p[:h, :w].copy()


def prepare_batch(images: Sequence[np.ndarray], card: ModelCard) -> tuple[np.ndarray, list[PrepInfo]]:
    """NHWC batch of same-size tensors (``native`` mode needs same-size images)."""
    if not images:
        raise ValueError("empty batch")
    pairs = [prepare(im, card) for im in images]
    shapes = {t.shape for t, _ in pairs}
    if len(shapes) > 1:
        raise ValueError(f"images give different tensor shapes {sorted(shapes)}; batch them separately")
    return np.stack([t for t, _ in pairs]), [i for _, i in pairs]
