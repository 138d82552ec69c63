"""Recipe: the operator-tunable decision rules, as a typed, versioned value.

A recipe is immutable once logged: editing produces a new version (the DB keeps
parent, author and reason). ``None`` disables a rule.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Point = tuple[float, float]


class Zone(BaseModel):
    """A polygon in original-image pixel coordinates (x, y)."""

    model_config = ConfigDict(frozen=True)
    name: str = ""
    points: list[Point] = Field(min_length=3)

    @classmethod
    def rect(cls, x: float, y: float, w: float, h: float, name: str = "") -> Zone:
        return cls(name=name, points=[(x, y), (x + w, y), (x + w, y + h), (x, y + h)])


class Recipe(BaseModel):
    """Every operator-tunable rule, with units in the field descriptions."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "default"
    version: int = Field(1, ge=1)
    threshold: float = Field(
        0.5, gt=0.0, lt=1.0, description="Pixel threshold on the defect probability (0..1)."
    )
    min_area_px: int = Field(
        20, ge=0, description="Regions smaller than this many pixels are ignored (px)."
    )
    roi: list[Zone] = Field(
        default_factory=list,
        description="Regions count only if their centroid lies in one of these zones; empty = whole image.",
    )
    exclusions: list[Zone] = Field(
        default_factory=list, description="Regions whose centroid lies in one of these zones are ignored."
    )
    max_count: int | None = Field(
        0, ge=0, description="NG when more than this many regions remain (count); None disables."
    )
    max_region_area_px: int | None = Field(
        None, ge=0, description="NG when any region is larger than this (px); None disables."
    )
    max_area_ratio: float | None = Field(
        None, ge=0.0, le=1.0, description="NG when total defect area / image area exceeds this (ratio)."
    )
    level_mode: Literal["max", "mean"] = Field(
        "max", description="Defect level of a region: its max or mean probability."
    )
    level_ng: float | None = Field(
        None, gt=0.0, le=1.0, description="NG when a region's defect level is at least this (0..1)."
    )
    on_error: Literal["NG", "REVIEW"] = Field(
        "NG",
        description="How the line treats a part that could not be fully inspected (ERROR verdict): "
        "reject it (NG) or hold it for a person (REVIEW). It is never OK.",
    )
    level_review: float | None = Field(
        None,
        gt=0.0,
        le=1.0,
        description="REVIEW when a region's level is in [level_review, level_ng) and no rule fired NG.",
    )

    @model_validator(mode="after")
    def _review_below_ng(self) -> Recipe:
        if self.level_review is not None and self.level_ng is not None and self.level_review >= self.level_ng:
            raise ValueError("level_review must be below level_ng")
        return self

    def params(self) -> dict[str, object]:
        """The rule parameters without name/version (what the DB stores as params)."""
        return self.model_dump(mode="json", exclude={"name", "version"})

    def evolve(self, **changes: object) -> Recipe:
        """A validated copy with some parameters changed and the version bumped."""
        data = self.model_dump(mode="json")
        data.update(changes)
        data.setdefault("version", self.version + 1)
        if "version" not in changes:
            data["version"] = self.version + 1
        return Recipe.model_validate(data)


def load_recipe(path: Path) -> Recipe:
    """Read a recipe JSON file; raises ValueError with the file name on bad content."""
    try:
        return Recipe.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise
    except Exception as exc:
        raise ValueError(f"{path}: not a valid recipe: {exc}") from exc


def save_recipe(recipe: Recipe, path: Path) -> None:
    Path(path).write_text(recipe.model_dump_json(indent=2) + "\n", encoding="utf-8")
