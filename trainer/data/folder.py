"""Plain ``images/`` + ``masks/`` layout for users' own data.

Same stem pairs an image with its mask (any supported format on either side);
an image without a mask is defect-free; a mask is "defective" when any pixel
is nonzero (checked lazily by the loader, not here: reading every mask to list
a folder would be slow on big sets).
"""

from __future__ import annotations

from pathlib import Path

from trainer.data.io import IMAGE_SUFFIXES, DataError
from trainer.data.sample import Sample


def _images_in(folder: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES:
            if p.stem in found:
                raise DataError(f"{p}: two files share the stem {p.stem!r} (also {found[p.stem].name})")
            found[p.stem] = p
    return found


def read_image_mask_folder(root: Path) -> list[Sample]:
    root = Path(root)
    img_dir, mask_dir = root / "images", root / "masks"
    if not img_dir.is_dir():
        raise DataError(f"{root}: no images/ folder")
    images = _images_in(img_dir)
    if not images:
        raise DataError(f"{img_dir}: no images (PNG/JPEG/BMP/TIFF)")
    masks = _images_in(mask_dir) if mask_dir.is_dir() else {}
    orphans = sorted(set(masks) - set(images))
    if orphans:
        raise DataError(f"{mask_dir}: masks without an image: {', '.join(orphans[:5])}")
    # 'defective' is provisional (mask file exists); the loader corrects it from the pixels
    return [Sample(stem, path, masks.get(stem), stem in masks) for stem, path in images.items()]
