"""Golden samples for a model card: reference images whose verdict is verified, for the station's
start-up self-test (``inspector/core/selftest.py``).

Two sources:

- **Synthetic** (``scripts/make_golden.py``), for models shipped in this repository, which must
  not contain real data-set images or anything made from them. Candidates come from two
  generators, and only those whose verdict under the recipe is verifiably the expected one
  are kept: an OK candidate must be OK with every pixel well below the threshold; an NG
  candidate must be NG, most of its defect must be found, and every counted region must lie
  on the defect (no region anywhere else, so the NG is for the defect, not the texture).
- **The validation split** (``trainer.export``), for every newly exported model: correctly
  decided val images (the user's own data) are copied beside the exported model.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
from pydantic_core import to_json

from inspector.core.model_card import card_path_for
from inspector.core.recipe import Recipe

Expected = Literal["OK", "NG"]
GENERATORS = ("synth", "grain")
OK_MAX_PROB = 0.5  # an OK sample's highest pixel probability stays under this fraction of the threshold
NG_MIN_COVERAGE = 0.5  # an NG sample's defect is at least half found
REGION_SLACK_PX = 3  # a counted region "lies on the defect" when it touches the mask dilated this much
MAX_GOLDEN_PER_KIND = 2  # from the validation split at export


@dataclass(frozen=True, slots=True)
class Candidate:
    """A synthetic image with its truth: ``mask`` (uint8, >0 on the defect) for a defective one."""

    origin: str  # e.g. "synth seed 7001 #3": how to make it again
    image: np.ndarray
    expected: Expected
    mask: np.ndarray | None


@dataclass(frozen=True, slots=True)
class Measured:
    candidate: Candidate
    verdict: str
    n_regions: int
    max_prob: float
    coverage: float  # fraction of the defect mask at or above the threshold (NG candidates)
    stray_regions: int  # counted regions that do not touch the defect
    verified: bool
    why: str


def grain_image(
    seed: int, index: int, size: int = 256, defective: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """A fine-grain texture like DAGM 2007 class 1 (dark, grainy, weak shading) with, when
    ``defective``, an elliptical smudge: the grain smoothed away inside the ellipse, the mean
    level kept. Hand-written parameters, no data-set image involved. Returns (image, mask 0/255)."""
    rng = np.random.default_rng([seed, index, 1])
    shade = cv2.GaussianBlur(rng.normal(0.0, 1.0, (size, size)).astype(np.float32), (0, 0), size / 32)
    shade /= shade.std() + 1e-6
    img = 70.0 + 6.0 * shade + 26.0 * rng.normal(0.0, 1.0, (size, size)).astype(np.float32)
    mask = np.zeros((size, size), np.uint8)
    if defective:
        cx, cy = (int(v) for v in rng.integers(size // 4, size - size // 4, 2))
        a = int(rng.integers(size // 12, size // 7))
        b = int(rng.integers(max(4, a // 3), a // 2 + 2))
        cv2.ellipse(mask, (cx, cy), (a, b), float(rng.uniform(0, 180)), 0, 360, 255, -1)
        smooth = cv2.GaussianBlur(img, (0, 0), 2.0)
        img[mask > 0] = smooth[mask > 0]
    return np.clip(img, 0, 255).astype(np.uint8), mask


def candidates(generator: str, seed: int, size: int, expected: Expected, n: int) -> Iterator[Candidate]:
    """``n`` candidates of one kind from ``generator`` ("synth": the demo's DAGM-like generator,
    ``trainer.data.synth``; "grain": :func:`grain_image`)."""
    defective = expected == "NG"
    for i in range(n):
        if generator == "synth":
            from trainer.data.synth import make_image

            img, mask = make_image(seed, i, size=size, defective=defective)
        elif generator == "grain":
            img, mask = grain_image(seed, i, size=size, defective=defective)
        else:
            raise ValueError(f"unknown generator {generator!r} (one of {', '.join(GENERATORS)})")
        yield Candidate(f"{generator} seed {seed} #{i}", img, expected, mask if defective else None)


def measure(infer: Callable[[np.ndarray], np.ndarray], recipe: Recipe, cand: Candidate) -> Measured:
    """Run ``cand`` through ``infer`` (image -> probability map, the station's pipeline) and the
    recipe's rules, and say whether its verdict is verifiably the expected one."""
    from inspector.core.rules import decide

    prob = infer(cand.image)
    d = decide(prob, recipe)
    verdict = d.verdict.value
    max_prob = float(prob.max())
    coverage, stray = 0.0, 0
    if cand.mask is not None and cand.mask.any():
        truth = cand.mask > 0
        coverage = float(np.count_nonzero(truth & (prob >= recipe.threshold)) / np.count_nonzero(truth))
        near = cv2.dilate(truth.astype(np.uint8), np.ones((2 * REGION_SLACK_PX + 1,) * 2, np.uint8)) > 0
        for r in d.regions:
            x, y, w, h = r.bbox
            blob = (prob[y : y + h, x : x + w] >= recipe.threshold) & near[y : y + h, x : x + w]
            stray += int(not blob.any())
    if cand.expected == "OK":
        limit = OK_MAX_PROB * recipe.threshold
        ok = verdict == "OK" and max_prob < limit
        why = "" if ok else f"got {verdict} / max p {max_prob:.2f} (needs OK, max p < {limit:.2f})"
    else:
        ok = verdict == "NG" and len(d.regions) >= 1 and coverage >= NG_MIN_COVERAGE and stray == 0
        why = "" if ok else (
            f"got {verdict}, {len(d.regions)} region(s), {stray} off the defect, "
            f"{coverage:.0%} of the defect found (needs NG, all regions on it, >= {NG_MIN_COVERAGE:.0%})"
        )
    return Measured(cand, verdict, len(d.regions), max_prob, coverage, stray, ok, why)


def _write_png(path: Path, image: np.ndarray) -> str:
    ok, buf = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    if not ok:
        raise OSError(f"cannot encode {path}")
    data = buf.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def _entry(rel: str, sha: str, expected: Expected, **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"image": rel, "sha256": sha, "expected": expected}
    if expected == "NG":
        entry["min_regions"] = 1
    return entry | extra


def _relative(path: Path, card_dir: Path) -> str:
    import os

    return Path(os.path.relpath(path.resolve(), card_dir.resolve())).as_posix()


def write_synthetic_golden(
    model_path: Path, chosen: Sequence[Measured], out_dir: Path
) -> list[dict[str, Any]]:
    """Write the chosen samples as PNGs under ``out_dir`` (``ok_01.png``, ``ng_01.png``...) and
    return their card entries (paths relative to the card's folder)."""
    card_dir = card_path_for(model_path).parent
    entries: list[dict[str, Any]] = []
    count = {"OK": 0, "NG": 0}
    for m in chosen:
        kind = m.candidate.expected
        count[kind] += 1
        path = Path(out_dir) / f"{kind.lower()}_{count[kind]:02d}.png"
        sha = _write_png(path, m.candidate.image)
        entries.append(_entry(_relative(path, card_dir), sha, kind, origin=m.candidate.origin))
    return entries


def set_card_golden(model_path: Path, entries: list[dict[str, Any]]) -> Path:
    """Put ``entries`` in the card's ``golden`` field, keeping everything else of the card as it is."""
    cpath = card_path_for(model_path)
    data: dict[str, Any] = {"name": Path(model_path).stem}
    if cpath.is_file():
        data = json.loads(cpath.read_text(encoding="utf-8"))
    data["golden"] = entries
    # pydantic's JSON writer, as write_card's: the rest of the card stays byte for byte as it was
    cpath.write_bytes(to_json(data, indent=2) + b"\n")
    return cpath


def _safe_name(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", key).strip("._") or "sample"


def golden_from_evaluation(
    rows: Sequence[dict[str, Any]], samples: Sequence[Any], out_dir: Path, per_kind: int = MAX_GOLDEN_PER_KIND
) -> list[dict[str, Any]]:
    """Golden entries from an evaluation of the validation split (``trainer.evaluate`` rows; the
    ``samples`` they were made from): up to ``per_kind`` defect-free images decided OK (lowest
    peak probability first) and defective ones decided NG/REVIEW where the prediction overlaps
    the labelled defect (best Dice first). Their files are copied, as they are, to
    ``out_dir/golden/``; the card's folder is ``out_dir``. Empty when the split has none."""
    by_key = {s.key: s for s in samples}
    ok = sorted(
        (r for r in rows if not r["defective"] and r["verdict"] == "OK" and r["key"] in by_key),
        key=lambda r: r["max_prob"],
    )
    ng = sorted(
        (
            r
            for r in rows
            if r["defective"] and r["verdict"] != "OK" and r["n_regions"] >= 1 and r["dice"] > 0
            and r["key"] in by_key
        ),
        key=lambda r: -r["dice"],
    )
    entries: list[dict[str, Any]] = []
    for old in (*(Path(out_dir) / "golden").glob("ok_*"), *(Path(out_dir) / "golden").glob("ng_*")):
        old.unlink()  # an earlier export's set
    for kind, picked in (("OK", ok[:per_kind]), ("NG", ng[:per_kind])):
        for i, r in enumerate(picked, start=1):
            src = Path(by_key[r["key"]].image)
            name = f"{kind.lower()}_{i:02d}_{_safe_name(r['key'])}{src.suffix.lower()}"
            dst = Path(out_dir) / "golden" / name
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            sha = hashlib.sha256(dst.read_bytes()).hexdigest()
            entries.append(_entry(_relative(dst, Path(out_dir)), sha, kind, origin=f"val split: {r['key']}"))
    return entries
