"""Does the engine say what the ONNX says? TensorRT vs ONNX Runtime on the same images.

An engine that fails parity is never used: :func:`record_parity` deletes the
engine file and keeps the sidecar with ``status="parity_failed"`` and the
figures, so ``check_engine`` refuses it with a reason and the GUI can show why.
A passing engine's sidecar gets ``status="verified"``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inspector.core.backends.base import Backend
from inspector.core.engine.sidecar import read_sidecar, write_sidecar

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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def dice(a: np.ndarray, b: np.ndarray) -> float:
    inter = int(np.count_nonzero(a & b))
    total = int(np.count_nonzero(a)) + int(np.count_nonzero(b))
    return 1.0 if total == 0 else 2.0 * inter / total


def onnxruntime_reference(onnx_path: Path, images: np.ndarray, batch: int = 8) -> np.ndarray:
    """ONNX Runtime (CPU) output for ``images`` [N,H,W,1]; the ground truth for parity."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    outs = [sess.run(["mask"], {"image": images[i : i + batch]})[0] for i in range(0, len(images), batch)]
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
    d = dice(got > threshold, ref > threshold)
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
