"""Real line images for an engine's parity check: the product's recent logged images, then
validation data.

Synthetic textures only prove that the engine computes the same function as ONNX Runtime
on textures; whether it gives the same masks on this line's parts is what the station
needs to know. The GUI's engine rebuild therefore hands ``python -m inspector.services.engine
build --images ...`` the newest logged images of the current product (its recipe, on this
station; the archive copy first, then the original file), defective and clean in turn,
topped up from the training run's validation split. Qt-free; reads the DB, so call it off
the UI thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

DEFAULT_COUNT = 16
_SCAN = 400  # logged rows looked at per verdict group: the newest, on an indexed query


def _existing(paths: tuple[str | None, ...]) -> Path | None:
    for p in paths:
        if p and Path(p).is_file():
            return Path(p)
    return None


def _alternate(first: list[Path], second: list[Path], limit: int) -> list[Path]:
    """first[0], second[0], first[1], ... then the rest of the longer list; each path once."""
    out: list[Path] = []
    for i in range(max(len(first), len(second))):
        out += [group[i] for group in (first, second) if i < len(group)]
    return list(dict.fromkeys(out))[:limit]


def logged_images(db: Any, station: str, recipe: str, limit: int = DEFAULT_COUNT) -> list[Path]:
    """The newest logged images of ``recipe`` on ``station`` that are still on disk (archive copy
    first, then the original path), NG/REVIEW and OK in turn; ERROR rows are left out (their image
    may be what failed)."""
    from db import queries

    groups: list[list[Path]] = []
    for verdicts in (["NG", "REVIEW"], ["OK"]):
        rows = queries.history(db, verdict=verdicts, station=station, limit=_SCAN)
        found: list[Path] = []
        seen: set[str] = set()
        for r in rows:
            if r.recipe_name != recipe or (r.image_sha256 and r.image_sha256 in seen):
                continue
            path = _existing((r.archive_image_path, r.image_path))
            if path is not None:
                found.append(path)
                seen.add(r.image_sha256 or str(path))
            if len(found) >= limit:
                break
        groups.append(found)
    return _alternate(groups[0], groups[1], limit)


def validation_images(data: Path, split: Path | None = None, limit: int = DEFAULT_COUNT) -> list[Path]:
    """Images of a training data set (its validation split when ``split`` is given), defective and
    clean in turn."""
    from trainer.data import load_samples, load_split
    from trainer.data.split import select

    samples = load_samples(Path(data))
    if split is not None:
        samples = select(samples, load_split(split).val, split)
    defective = [s.image for s in samples if s.defective]
    clean = [s.image for s in samples if not s.defective]
    return _alternate(defective, clean, limit)


def rebuild_parity_images(
    db: Any,
    station: str,
    recipe: str,
    validation: tuple[Path, Path | None] | None = None,
    limit: int = DEFAULT_COUNT,
) -> tuple[list[Path], str]:
    """(image paths, what they are) for the parity check of an engine rebuild: recent logged images
    of the product, topped up from ``validation`` (data folder, split file). Empty when neither
    has any; the build then uses synthetic textures and says so."""
    notes: list[str] = []
    try:
        logged = logged_images(db, station, recipe, limit)
    except Exception as exc:  # a locked or unreachable DB must not stop the rebuild: say so
        logged = []
        notes.append(f"logged images unavailable: {exc}")
    extra: list[Path] = []
    if len(logged) < limit and validation is not None:
        try:
            extra = validation_images(validation[0], validation[1], limit - len(logged))
        except (OSError, ValueError) as exc:  # trainer.data.DataError is a ValueError
            notes.append(f"validation images unavailable: {exc}")
    images = list(dict.fromkeys([*logged, *extra]))[:limit]
    parts = []
    if logged:
        parts.append(f"{len(logged)} recent logged images of recipe '{recipe}' on station '{station}'")
    if extra:
        parts.append(f"{len(images) - len(logged)} validation images")
    what = " + ".join(parts) + (f" ({'; '.join(notes)})" if notes and parts else "")
    return images, what or "; ".join(notes)
