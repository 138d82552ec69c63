"""One training folder from a labelled data set, the reviewed inspections, or both.

The trainer reads one ``--data`` folder, so two sources are merged into an
``images/`` + ``masks/`` folder inside the run directory (the run then holds
exactly the data it was trained on, which keeps it reproducible). A single
labelled folder is used in place, never copied.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from db._scope import Target
from inspector.core.progress import ProgressState, SimpleState
from inspector.services.review_export import export_reviewed
from trainer.data import load_samples


@dataclass(slots=True)
class PreparedData:
    path: Path  # what to pass as --data
    n_folder: int = 0
    n_reviewed: int = 0
    notes: list[str] = field(default_factory=list)


def _safe(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", key)


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        dst.hardlink_to(src)  # big DAGM sets: no second copy on disk when on the same volume
    except OSError:
        shutil.copy2(src, dst)


def add_folder(out_dir: Path, folder: Path, prefix: str = "data_") -> int:
    """Add the samples of a DAGM or images/+masks/ folder to ``out_dir``; returns their number."""
    img_dir, mask_dir = out_dir / "images", out_dir / "masks"
    img_dir.mkdir(parents=True, exist_ok=True)
    mask_dir.mkdir(parents=True, exist_ok=True)
    samples = load_samples(folder)
    used: set[str] = {p.stem for p in img_dir.iterdir()}
    for s in samples:
        stem = base = prefix + _safe(s.key)
        n = 1
        while stem in used:  # "part 1" and "part_1" sanitise alike: never let one replace the other
            n += 1
            stem = f"{base}~{n}"
        used.add(stem)
        _link_or_copy(s.image, img_dir / f"{stem}{s.image.suffix.lower()}")
        if s.mask is not None:
            _link_or_copy(s.mask, mask_dir / f"{stem}{s.mask.suffix.lower()}")
    return len(samples)


def prepare_training_data(
    run_dir: Path,
    folder: Path | None,
    db: Target | None,
    state: ProgressState | None = None,
    since: datetime | None = None,
    station: str | None = None,
) -> PreparedData:
    """``--data`` for a run from ``folder`` and/or the reviewed inspections in ``db``."""
    state = state or SimpleState()
    if folder is None and db is None:
        raise ValueError("pick a data folder, the reviewed inspections, or both")
    if db is None:
        assert folder is not None
        return PreparedData(Path(folder), n_folder=len(load_samples(Path(folder))))
    out = Path(run_dir) / "data"
    report = export_reviewed(db, out, state, since=since, station=station)
    if report.cancelled:
        raise InterruptedError("cancelled while exporting the reviewed inspections")
    prepared = PreparedData(out, n_reviewed=report.written, notes=report.warnings)
    if folder is not None:
        prepared.n_folder = add_folder(out, Path(folder))
    if prepared.n_folder + prepared.n_reviewed < 2:
        raise ValueError(
            f"only {prepared.n_folder + prepared.n_reviewed} usable images; training needs a train and a val "
            "split (review more inspections or add a data folder)"
        )
    return prepared
