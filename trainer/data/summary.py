"""What a data folder holds, before any training: counts, sizes, defect share, refused files.

``summarise(path)`` reads every image and mask (no TensorFlow), exactly as training
will, so a file it refuses is a file training refuses, for the reason it gives. The
Trainer tab shows this before it starts a run; ``inspector-train check`` prints it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from trainer.data.layout import dagm_test_samples, layout_name, load_samples
from trainer.data.loader import Loaded, Refused, load_checked
from trainer.data.sample import Sample


@dataclass(slots=True)
class DataSummary:
    path: str
    layout: str
    n_images: int
    n_defective: int
    n_clean: int
    n_refused: int
    refused: list[dict[str, str]]
    min_hw: tuple[int, int]
    median_hw: tuple[int, int]
    max_hw: tuple[int, int]
    sizes: list[tuple[str, int]]  # "WxH" -> count, most common first (at most 6)
    pixel_types: dict[str, int]  # "8-bit gray", "16-bit colour", ...
    defect_share: float  # mean share of defect pixels in the defective images
    defect_share_min: float
    defect_share_max: float
    n_test_folder: int = 0  # images in a DAGM Test/ folder, used as the test split
    settings: dict[str, Any] = field(default_factory=dict)  # what training would choose
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        """Readable summary, one fact a line."""
        out = [
            f"{self.path} ({self.layout})",
            f"{self.n_images} usable images: {self.n_defective} defective, {self.n_clean} defect-free"
            + (
                f"; {self.n_test_folder} more in its Test/ folder (the test split)"
                if self.n_test_folder
                else ""
            ),
            f"sizes {self.min_hw[1]}x{self.min_hw[0]} .. {self.max_hw[1]}x{self.max_hw[0]} "
            f"(median {self.median_hw[1]}x{self.median_hw[0]}): "
            + ", ".join(f"{s} x{n}" for s, n in self.sizes),
            "pixels: " + ", ".join(f"{k} x{n}" for k, n in sorted(self.pixel_types.items())),
        ]
        if self.n_defective:
            out.append(
                f"defect share of a defective image: mean {100 * self.defect_share:.2f} % "
                f"({100 * self.defect_share_min:.2f} .. {100 * self.defect_share_max:.2f} %)"
            )
        if self.settings:
            out.append("training would use: " + ", ".join(f"{k} {v}" for k, v in self.settings.items()))
        out += self.notes
        if self.refused:
            out.append(f"{self.n_refused} files refused:")
            out += [f"  {r['path']}: {r['reason']}" for r in self.refused[:50]]
            if self.n_refused > 50:
                out.append(f"  ... and {self.n_refused - 50} more")
        return out


def describe(
    path: str,
    layout: str,
    items: list[Loaded],
    refused: list[Refused],
    n_test_folder: int = 0,
) -> DataSummary:
    """The summary of already loaded data (training calls this on what it loaded)."""
    if not items:
        hw0 = (0, 0)
        return DataSummary(
            path,
            layout,
            0,
            0,
            0,
            len(refused),
            [_refused(r) for r in refused],
            hw0,
            hw0,
            hw0,
            [],
            {},
            0.0,
            0.0,
            0.0,
            n_test_folder,
        )
    hs = np.array([it.image.shape[0] for it in items])
    ws = np.array([it.image.shape[1] for it in items])
    order = np.argsort(hs * ws)
    mid = int(order[len(order) // 2])
    sizes = Counter(f"{w}x{h}" for h, w in zip(hs.tolist(), ws.tolist(), strict=True)).most_common(6)
    shares = [float(it.mask.mean()) for it in items if it.defective]
    types = Counter(it.kind or "?" for it in items)
    return DataSummary(
        path=path,
        layout=layout,
        n_images=len(items),
        n_defective=len(shares),
        n_clean=len(items) - len(shares),
        n_refused=len(refused),
        refused=[_refused(r) for r in refused],
        min_hw=(int(hs.min()), int(ws.min())),
        median_hw=(int(hs[mid]), int(ws[mid])),
        max_hw=(int(hs.max()), int(ws.max())),
        sizes=[(k, int(v)) for k, v in sizes],
        pixel_types=dict(types),
        defect_share=float(np.mean(shares)) if shares else 0.0,
        defect_share_min=float(min(shares)) if shares else 0.0,
        defect_share_max=float(max(shares)) if shares else 0.0,
        n_test_folder=n_test_folder,
    )


def _refused(r: Refused) -> dict[str, str]:
    return {"key": r.key, "path": r.path, "reason": r.reason}


def summarise(path: Path, cfg_fields: dict[str, Any] | None = None) -> DataSummary:
    """Read the folder as training would and describe it, with the settings training would choose
    (``cfg_fields``: the options that would be given, e.g. ``{"crop": 128}``)."""
    from trainer.auto import choose
    from trainer.config import TrainConfig
    from trainer.data.split import make_split

    path = Path(path)
    samples = load_samples(path)
    items, refused = load_checked(samples)
    test = dagm_test_samples(path)
    summary = describe(str(path), layout_name(path), items, refused, len(test or []))
    check_usable(summary)
    cfg = TrainConfig(data=str(path), out="", **(cfg_fields or {}))
    usable = [s for s in samples if s.key in {it.key for it in items}]
    by_key = {it.key: it for it in items}
    usable = [Sample(s.key, s.image, s.mask, by_key[s.key].defective) for s in usable]
    split = make_split(
        usable, cfg.val_fraction, cfg.seed, str(path), 0.0 if test else cfg.test_fraction, cfg.group_regex
    )
    choice = choose(
        cfg,
        [by_key[k].image.shape[:2] for k in split.train],
        [by_key[k].image.shape[:2] for k in split.val],
    )
    summary.settings = {
        "split": f"{len(split.train)} train / {len(split.val)} val / "
        + (f"{len(test or [])} test (Test/ folder)" if test else f"{len(split.test)} test"),
        "grouping": split.grouping,
        "crop": choice.crop,
        "batch": choice.batch,
        "steps_per_epoch": choice.steps_per_epoch,
        "epochs": choice.epochs,
        "patience": choice.patience,
    }
    return summary


def check_usable(summary: DataSummary) -> None:
    """Refuse a data set training cannot learn from (the message says why)."""
    from trainer.data.io import DataError

    first = (
        f"; first refused: {summary.refused[0]['path']}: {summary.refused[0]['reason']}"
        if summary.refused
        else ""
    )
    if summary.n_images < 4:
        raise DataError(
            f"{summary.path}: {summary.n_images} usable images ({summary.n_refused} refused); "
            f"need at least 4{first}"
        )
    if summary.n_defective == 0:
        raise DataError(
            f"{summary.path}: no image has a defect in its mask, so there is nothing to learn "
            "(masks/ must hold the defects, nonzero = defect)"
        )
