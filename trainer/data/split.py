"""Stratified, seeded train/val split stored as JSON (so runs are reproducible)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from trainer.data.io import DataError
from trainer.data.sample import Sample


@dataclass(slots=True)
class Split:
    train: list[str]
    val: list[str]
    seed: int
    val_fraction: float
    data: str = ""
    counts: dict[str, int] = field(default_factory=dict)


def make_split(samples: list[Sample], val_fraction: float = 0.3, seed: int = 0, data: str = "") -> Split:
    """Split defective and defect-free samples separately, each at >= ``val_fraction``.

    Rounding up per stratum keeps the val share at or above the fraction asked
    and guarantees the val split holds defects whenever the data has >= 2.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    rng = np.random.default_rng(seed)
    train: list[str] = []
    val: list[str] = []
    for flag in (True, False):
        keys = sorted(s.key for s in samples if s.defective == flag)
        if not keys:
            continue
        order = rng.permutation(len(keys))
        n_val = min(len(keys) - 1, math.ceil(len(keys) * val_fraction)) if len(keys) > 1 else 0
        val += [keys[i] for i in order[:n_val]]
        train += [keys[i] for i in order[n_val:]]
    by_key = {s.key: s for s in samples}
    counts = {
        "train": len(train),
        "val": len(val),
        "train_defective": sum(by_key[k].defective for k in train),
        "val_defective": sum(by_key[k].defective for k in val),
    }
    return Split(sorted(train), sorted(val), seed, val_fraction, data, counts)


def save_split(split: Split, path: Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(asdict(split), indent=2) + "\n", encoding="utf-8")


def load_split(path: Path) -> Split:
    try:
        d = json.loads(Path(path).read_text(encoding="utf-8"))
        return Split(
            list(d["train"]),
            list(d["val"]),
            int(d["seed"]),
            float(d["val_fraction"]),
            str(d.get("data", "")),
            dict(d.get("counts", {})),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{path}: not a valid split file: {exc}") from exc


def select(samples: list[Sample], keys: list[str], source: Path | str = "split") -> list[Sample]:
    """The samples named by ``keys`` in that order; unknown keys are an error naming ``source``."""
    by_key = {s.key: s for s in samples}
    missing = [k for k in keys if k not in by_key]
    if missing:
        raise DataError(f"{source}: {len(missing)} keys not in the data set, e.g. {missing[:3]}")
    return [by_key[k] for k in keys]
