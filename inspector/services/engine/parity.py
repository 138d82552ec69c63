"""Does the engine say what the ONNX says? TensorRT vs ONNX Runtime on the same images.

An engine that fails parity is never used: :func:`record_parity` deletes the
engine file and keeps the sidecar with ``status="parity_failed"`` and the
figures, so ``check_engine`` refuses it with a reason and the GUI can show why.
A passing engine's sidecar gets ``status="verified"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from inspector.core.backends.base import Backend
from inspector.core.backends.trt_engine_file import Precision, read_sidecar, write_sidecar
from inspector.core.contract import INPUT_NAME, OUTPUT_NAME
from inspector.core.metrics import mask_dice as dice
from inspector.core.model_card import ModelCard

MIN_DICE = 0.99


@dataclass(frozen=True, slots=True)
class ParityReport:
    max_abs_diff: float
    mean_abs_diff: float
    dice_agreement: float  # Dice of the thresholded masks; 1.0 when both are empty
    threshold: float
    n_images: int
    passed: bool
    reason: str
    images: str = ""  # what the images were: "synthetic textures", "16 recent logged images ..."

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ParityFailed(RuntimeError):
    """The engine disagrees with ONNX Runtime; it was deleted, the sidecar keeps the figures."""

    def __init__(self, report: ParityReport) -> None:
        super().__init__(f"parity check failed, engine deleted: {report.reason}")
        self.report = report


def onnxruntime_reference(onnx_path: Path, images: np.ndarray, batch: int = 8) -> np.ndarray:
    """ONNX Runtime (CPU) output for ``images`` [N,H,W,1]; the ground truth for parity."""
    from inspector.core.backends.onnxruntime_backend import make_session

    sess = make_session(onnx_path)
    outs = [
        sess.run([OUTPUT_NAME], {INPUT_NAME: images[i : i + batch]})[0] for i in range(0, len(images), batch)
    ]
    return np.concatenate(outs).astype(np.float32)


def parity_check(
    onnx_path: Path,
    engine_backend: Backend,
    images: np.ndarray,
    threshold: float = 0.5,
    min_dice: float = MIN_DICE,
    max_abs_tol: float | None = None,
) -> ParityReport:
    """Compare ``engine_backend.infer`` with ONNX Runtime on ``images`` (float32 [N,H,W,1], preprocessed).

    Passes when the thresholded masks agree with Dice >= ``min_dice`` (and, if
    given, every probability is within ``max_abs_tol``). FP16 moves
    probabilities a little; what matters for verdicts is the mask.
    """
    images = np.ascontiguousarray(images, dtype=np.float32)
    if images.ndim == 3:
        images = images[..., None]
    ref = onnxruntime_reference(Path(onnx_path), images)
    got = np.asarray(engine_backend.infer(images), dtype=np.float32)
    if got.shape != ref.shape:
        return ParityReport(
            float("inf"),
            float("inf"),
            0.0,
            threshold,
            len(images),
            False,
            f"output shape {list(got.shape)} != ONNX Runtime {list(ref.shape)}",
        )
    diff = np.abs(got - ref)
    d = dice(got >= threshold, ref >= threshold)  # the rules' comparison: >= everywhere
    max_diff, mean_diff = float(diff.max(initial=0.0)), float(diff.mean()) if diff.size else 0.0
    problems = []
    if d < min_dice:
        problems.append(f"mask Dice {d:.4f} < {min_dice}")
    if max_abs_tol is not None and max_diff > max_abs_tol:
        problems.append(f"max |diff| {max_diff:.4g} > {max_abs_tol}")
    reason = "; ".join(problems) or f"mask Dice {d:.4f}, max |diff| {max_diff:.4g}"
    return ParityReport(max_diff, mean_diff, d, threshold, len(images), not problems, reason)


def record_parity(engine_path: Path, report: ParityReport) -> None:
    """Mark the sidecar verified, or delete the engine and mark it failed (never used)."""
    engine_path = Path(engine_path)
    sidecar = read_sidecar(engine_path)
    status = "verified" if report.passed else "parity_failed"
    write_sidecar(sidecar.model_copy(update={"status": status, "parity": report.to_dict()}), engine_path)
    if not report.passed:
        engine_path.unlink(missing_ok=True)


def image_paths(sources: Sequence[Path], limit: int) -> list[Path]:
    """Image files named in ``sources`` (files, or folders whose images are taken in name order),
    at most ``limit``, each once."""
    from inspector.core.image_io import is_image_path

    found: list[Path] = []
    for src in map(Path, sources):
        if src.is_dir():
            found += sorted(p for p in src.iterdir() if p.is_file() and is_image_path(p))
        elif src.is_file():
            found.append(src)
        else:
            raise ValueError(f"parity images: {src} is neither an image file nor a folder")
    return list(dict.fromkeys(found))[:limit]


def _window(gray: np.ndarray, h: int, w: int) -> np.ndarray:
    """The centre h x w of an image, reflect-padded where it is smaller."""
    ih, iw = gray.shape[:2]
    y0, x0 = max(0, (ih - h) // 2), max(0, (iw - w) // 2)
    view = gray[y0 : y0 + h, x0 : x0 + w]
    ph, pw = h - view.shape[0], w - view.shape[1]
    if ph or pw:
        pad = [(0, ph), (0, pw)] + [(0, 0)] * (view.ndim - 2)
        view = np.pad(view, pad, mode="reflect" if min(view.shape[:2]) > 1 else "edge")
    return view


def parity_inputs(
    card: ModelCard, hw: tuple[int, int], images: Sequence[Path] | None = None, count: int = 16
) -> tuple[np.ndarray, str]:
    """Model inputs [N, H, W, 1] for the parity check and what they are.

    ``images`` (files or folders): real images, preprocessed as the card says; for ``pad`` and
    ``native`` cards each gives its centre ``hw`` window (the size the engine was tuned for, inside
    its profile). Without images: synthetic textures with blobs, normalised as the card says.
    """
    h, w = hw
    if images:
        from inspector.core.image_io import read_image
        from inspector.core.preprocess import prepare

        paths = image_paths(images, count)
        if not paths:
            raise ValueError(f"no images for the parity check in {', '.join(map(str, images))}")
        tensors = []
        for path in paths:
            view = read_image(path)[0]
            if card.resize != "resize":
                view = _window(view, h, w)
            tensors.append(prepare(view, card)[0])
        return np.stack(tensors).astype(np.float32), f"{len(paths)} images"
    x = synthetic_images(count, h, w) * 255.0  # gray levels, then the card's normalisation
    n = card.normalisation
    return ((x / n.scale - n.mean) / n.std).astype(np.float32), f"{count} synthetic textures"


def verify_engine(
    onnx_path: Path,
    engine_path: Path,
    precision: Precision,
    images: np.ndarray,
    threshold: float,
    images_label: str = "",
) -> ParityReport:
    """Run the freshly built engine against ONNX Runtime and record the result in its sidecar
    (:func:`record_parity`: a failing engine is deleted). Raises :class:`ParityFailed`."""
    from inspector.core.backends.tensorrt_backend import TensorRTBackend

    backend = TensorRTBackend(precision=precision, engine_path=engine_path, require_parity=False)
    backend.load(onnx_path)
    try:
        report = parity_check(onnx_path, backend, images, threshold=threshold)
    finally:
        backend.close()
    report = replace(report, images=images_label)
    record_parity(engine_path, report)
    if not report.passed:
        raise ParityFailed(report)
    return report


def synthetic_images(n: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    """Textured images with bright and dark elliptical blobs in [0, 1], [n,H,W,1] float32.

    Used when no real images are given: blobs make the model fire somewhere,
    so the mask comparison is not between two empty masks.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    out = np.empty((n, height, width, 1), np.float32)
    for k in range(n):
        img = 0.5 + 0.1 * np.sin(xx / rng.uniform(2, 8)) * np.cos(yy / rng.uniform(2, 8))
        img += rng.normal(0, 0.05, (height, width)).astype(np.float32)
        for _ in range(rng.integers(1, 4)):
            cy, cx = rng.uniform(0, height), rng.uniform(0, width)
            ry, rx = rng.uniform(0.03, 0.15) * height, rng.uniform(0.03, 0.15) * width
            blob = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0
            img[blob] += rng.choice([-0.35, 0.35])
        out[k, ..., 0] = np.clip(img, 0.0, 1.0)
    return out
