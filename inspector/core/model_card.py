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


def write_card(card: ModelCard, model_path: Path) -> Path:
    cpath = card_path_for(model_path)
    cpath.write_text(card.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return cpath
