"""Model card: the JSON beside an .onnx file that says how to feed it."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Normalisation(BaseModel):
    """x_model = (x / scale - mean) / std, with x the gray image as float32.

    ``scale`` is the full-scale value of the *model's* training data (255 for
    8-bit); 16-bit inputs are first mapped to 8-bit range by preprocess.
    """

    model_config = ConfigDict(frozen=True)
    # > 0: both divide; 0 would feed the model inf/NaN on every image
    scale: float = Field(255.0, gt=0.0)
    mean: float = 0.0
    std: float = Field(1.0, gt=0.0)


class GoldenSample(BaseModel):
    """A reference image and the verdict the station must give it (the start-up self-test,
    ``inspector/core/selftest.py``). ``image`` is relative to the card's folder; ``sha256`` is of
    the file's bytes, so a swapped or edited image fails the self-test instead of passing it.

    ``expected``: "OK" means exactly OK; "NG" means flagged by the rules (NG or REVIEW) with at
    least ``min_regions`` counted regions.
    """

    model_config = ConfigDict(frozen=True, extra="allow")
    image: str = Field(min_length=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    expected: Literal["OK", "NG"]
    min_regions: int = Field(0, ge=0)


class ModelCard(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow", protected_namespaces=())

    name: str = "unnamed"
    sha256: str = ""
    input_height: int = Field(512, ge=1)
    input_width: int = Field(512, ge=1)
    channels: int = Field(1, ge=1)
    resize: Literal["resize", "pad", "native"] = Field(
        "resize",
        description="resize: scale to the input size; pad: pad/crop to it; native: pad to a multiple",
    )
    multiple: int = Field(16, ge=1)
    normalisation: Normalisation = Normalisation()
    threshold: float = 0.5
    trained_on: str = ""
    metrics: dict[str, Any] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime | None = None
    # reference images with their expected verdicts; none: the model is "unverified"
    golden: list[GoldenSample] = Field(default_factory=list)


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def card_path_for(model_path: Path) -> Path:
    return Path(model_path).with_suffix(".json")


def load_card(model_path: Path) -> ModelCard:
    """The card beside ``model_path`` (``model.onnx`` -> ``model.json``).

    A missing card gives defaults; the sha256 is always recomputed from the
    file, because the ONNX file is the model's identity.
    """
    model_path = Path(model_path)
    if not model_path.is_file():
        raise FileNotFoundError(f"model file not found: {model_path}")
    sha = sha256_file(model_path)
    cpath = card_path_for(model_path)
    data: dict[str, Any] = {"name": model_path.stem}
    if cpath.is_file():
        try:
            loaded = json.loads(cpath.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{cpath}: model card is not valid JSON: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ValueError(f"{cpath}: model card must be a JSON object, not {type(loaded).__name__}")
        data.update(loaded)
    card_sha = data.get("sha256")
    data["sha256"] = sha
    try:
        card = ModelCard.model_validate(data)
    except ValueError as exc:  # pydantic's ValidationError does not say which file
        raise ValueError(f"{cpath}: not a valid model card: {exc}") from exc
    if card_sha and card_sha != sha:
        # keep going, but callers can show this: the card was written for another file
        card = card.model_copy(update={"card_sha_mismatch": card_sha})
    return card


class CardMismatchError(ValueError):
    """The model card was written for another model file (its recorded sha256 differs)."""


def verify_card(card: ModelCard, model_path: Path | None = None) -> ModelCard:
    """The station's check on a loaded card: refuse one whose recorded sha256 is not the model
    file's (``load_card`` only notes it, so tools can still read such a card). Returns ``card``."""
    recorded = (card.model_extra or {}).get("card_sha_mismatch")
    if recorded:
        where = f"{card_path_for(model_path)}: " if model_path is not None else ""
        raise CardMismatchError(
            f"{where}model card {card.name!r} records sha256 {str(recorded)[:12]}… but the model file's "
            f"is {card.sha256[:12]}…: the card was written for another model file; the station will "
            "not use it (re-export the model, or restore the card that belongs to it)"
        )
    return card


def copy_golden(model_path: Path, target_model_path: Path) -> list[Path]:
    """Copy the golden images of the card beside ``model_path`` to the same relative places beside
    ``target_model_path``: a model copied elsewhere (installed, promoted) without them would fail
    its self-test. Absolute paths and paths leading out of the model's folder are left alone.
    Returns the copies."""
    import shutil

    src_dir, dst_dir = Path(model_path).parent, Path(target_model_path).parent
    copies: list[Path] = []
    for g in load_card(model_path).golden:
        rel = Path(g.image)
        if rel.is_absolute() or ".." in rel.parts:
            continue
        src, dst = src_dir / rel, dst_dir / rel
        if src.is_file() and src.resolve() != dst.resolve():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
            copies.append(dst)
    return copies


def write_card(card: ModelCard, model_path: Path) -> Path:
    cpath = card_path_for(model_path)
    cpath.write_text(card.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return cpath
