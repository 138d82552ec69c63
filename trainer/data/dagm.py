"""DAGM 2007 layout: ``ClassN/{Train,Test}/NNNN.PNG`` + ``Label/Labels.txt``.

Labels.txt: a header line (``1``), then tab-separated rows
``id  defective(0/1)  image  0  mask-or-0`` with CRLF line ends and sometimes
trailing tabs. The mask lives in ``Label/`` (``NNNN_label.PNG``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from trainer.data.io import IMAGE_SUFFIXES, DataError
from trainer.data.sample import Sample


@dataclass(frozen=True, slots=True)
class LabelRow:
    id: str
    defective: bool
    image: str
    mask: str | None


def parse_labels(text: str, source: Path | str = "Labels.txt") -> list[LabelRow]:
    """Parse the text of a Labels.txt; raises DataError naming ``source`` and the line."""
    rows: list[LabelRow] = []
    lines = text.splitlines()  # handles CRLF, LF and a missing final newline
    for lineno, raw in enumerate(lines, start=1):
        fields = [f.strip() for f in raw.split("\t")]
        while fields and fields[-1] == "":
            fields.pop()  # trailing tabs
        if not fields:
            continue
        if lineno == 1 and len(fields) == 1:
            continue  # header line ("1")
        if len(fields) < 3:
            raise DataError(f"{source}:{lineno}: expected 'id defective image 0 mask', got {raw!r}")
        ident, flag, image = fields[0], fields[1], fields[2]
        if flag not in ("0", "1"):
            raise DataError(f"{source}:{lineno}: defective flag must be 0 or 1, got {flag!r}")
        mask = fields[4] if len(fields) >= 5 and fields[4] not in ("", "0") else None
        if flag == "1" and mask is None:
            raise DataError(f"{source}:{lineno}: image {image} is marked defective but names no mask")
        rows.append(LabelRow(ident, flag == "1", image, mask))
    return rows


def read_split_folder(folder: Path, key_prefix: str = "") -> list[Sample]:
    """One ``Train`` or ``Test`` folder (with ``Label/``)."""
    folder = Path(folder)
    label_dir = folder / "Label"
    labels = label_dir / "Labels.txt"
    samples: list[Sample] = []
    if labels.is_file():
        text = labels.read_text(encoding="utf-8", errors="replace")
        for row in parse_labels(text, labels):
            img = folder / row.image
            if not img.is_file():
                raise DataError(f"{labels}: row {row.id} names {row.image}, which is not in {folder}")
            mask = label_dir / row.mask if row.mask else None
            if mask is not None and not mask.is_file():
                raise DataError(f"{labels}: row {row.id} names mask {row.mask}, missing in {label_dir}")
            samples.append(Sample(key_prefix + Path(row.image).stem, img, mask, row.defective))
        return samples
    # No Labels.txt: any image with a NNNN_label.* mask beside it in Label/ is defective
    for img in sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        masks = sorted(label_dir.glob(f"{img.stem}_label.*")) if label_dir.is_dir() else []
        mask = masks[0] if masks else None
        samples.append(Sample(key_prefix + img.stem, img, mask, mask is not None))
    if not samples:
        raise DataError(f"{folder}: no images and no Label/Labels.txt")
    return samples


PARTS = ("Train", "Test")


def is_split_folder(path: Path) -> bool:
    return (path / "Label").is_dir() or (path / "Label" / "Labels.txt").is_file()


def _prefix(folder: Path) -> str:
    """``ClassN/Train/`` whatever level the user pointed at, so split files made
    from the DAGM root still match when reading one class folder (and back)."""
    folder = folder.resolve()
    if folder.name in PARTS and folder.parent.name.lower().startswith("class"):
        return f"{folder.parent.name}/{folder.name}/"
    return f"{folder.name}/" if folder.name in PARTS else ""


def read_dagm(root: Path, parts: tuple[str, ...] = ("Train",)) -> list[Sample]:
    """Read a DAGM root (holding Class1..Class10), one ClassN folder, or one Train/Test folder.

    ``parts`` picks Train and/or Test when the root is above that level; where none of
    them is there, the part that is (a class folder holding only ``Test/`` is read as it
    is). Keys are ``ClassN/Train/NNNN`` so that samples from several folders never collide.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: data folder not found")
    if is_split_folder(root):
        return read_split_folder(root, _prefix(root))
    part_dirs = present_parts(root, parts)
    if part_dirs:
        return [s for d in part_dirs for s in read_split_folder(d, _prefix(d))]
    out: list[Sample] = []
    for cdir in class_dirs(root):
        for d in present_parts(cdir, parts):
            out.extend(read_split_folder(d, _prefix(d)))
    if not out:
        raise DataError(
            f"{root}: no DAGM layout found (expected Class*/, {'/'.join(PARTS)}/ or Label/, "
            "or images/ + masks/)"
        )
    return out


def class_dirs(root: Path) -> list[Path]:
    return sorted(
        (d for d in Path(root).iterdir() if d.is_dir() and d.name.lower().startswith("class")),
        key=lambda d: (len(d.name), d.name),
    )


def present_parts(folder: Path, parts: tuple[str, ...]) -> list[Path]:
    """``folder/<part>`` for the asked parts that exist, else for whichever parts exist."""
    asked = [folder / p for p in parts if (folder / p).is_dir()]
    return asked or [folder / p for p in PARTS if (folder / p).is_dir()]


def has_part(root: Path, part: str) -> bool:
    """Whether a DAGM root or class folder (not a Train/Test folder itself) holds ``part``."""
    root = Path(root)
    if not root.is_dir() or is_split_folder(root):
        return False
    return (root / part).is_dir() or any((c / part).is_dir() for c in class_dirs(root))
