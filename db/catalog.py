"""Recipe versions, model registry and the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from db import registry
from db._scope import Target, reading, writing
from db.coltypes import utcnow
from db.models import AuditEvent, Model, RecipeVersion
from inspector.core.model_card import ModelCard
from inspector.core.recipe import Recipe


class RecipeExistsError(ValueError):
    """(name, version) is already logged; recipe rows are never overwritten."""


@dataclass(frozen=True, slots=True)
class StoredRecipe:
    id: int
    name: str
    version: int
    params: dict[str, Any]
    parent_id: int | None
    author: str
    reason: str
    created_at: datetime

    def recipe(self) -> Recipe:
        return Recipe.model_validate({**self.params, "name": self.name, "version": self.version})


@dataclass(frozen=True, slots=True)
class ModelInfo:
    id: int
    sha256: str
    name: str
    path: str
    card: dict[str, Any]
    created_at: datetime
    promoted_at: datetime | None
    is_active: bool

    def model_card(self) -> ModelCard:
        return ModelCard.model_validate({**self.card, "sha256": self.sha256})


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    at: datetime
    actor: str
    action: str
    details: dict[str, Any]


def _recipe(row: RecipeVersion) -> StoredRecipe:
    return StoredRecipe(
        row.id, row.name, row.version, dict(row.params), row.parent_id, row.author, row.reason, row.created_at
    )


def _model(row: Model) -> ModelInfo:
    return ModelInfo(
        row.id, row.sha256, row.name, row.path, dict(row.card), row.created_at, row.promoted_at, row.is_active
    )


def audit(db: Target, actor: str, action: str, details: dict[str, Any] | None = None) -> int:
    with writing(db) as s:
        return registry.add_audit(s, actor, action, details)


def audit_events(db: Target, action: str | None = None, limit: int = 100) -> list[AuditRow]:
    with reading(db) as s:
        q = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
        if action is not None:
            q = q.where(AuditEvent.action == action)
        return [AuditRow(e.id, e.at, e.actor, e.action, dict(e.details)) for e in s.scalars(q)]


# -- recipes ---------------------------------------------------------------
def save_recipe_version(
    db: Target, recipe: Recipe, author: str, reason: str, parent_id: int | None = None
) -> StoredRecipe:
    """Insert ``recipe`` as a new immutable row plus a ``recipe.save`` audit event."""
    try:
        with writing(db) as s:
            if registry.find_recipe(s, recipe.name, recipe.version) is not None:
                raise RecipeExistsError(f"recipe {recipe.name!r} v{recipe.version} already exists")
            if parent_id is not None and s.get(RecipeVersion, parent_id) is None:
                raise ValueError(f"parent recipe id {parent_id} does not exist")
            row = RecipeVersion(
                name=recipe.name,
                version=recipe.version,
                params=recipe.params(),
                parent_id=parent_id,
                author=author,
                reason=reason,
            )
            s.add(row)
            s.flush()
            registry.add_audit(
                s,
                author,
                "recipe.save",
                {
                    "recipe_id": row.id,
                    "name": row.name,
                    "version": row.version,
                    "parent_id": parent_id,
                    "reason": reason,
                },
            )
            return _recipe(row)
    except IntegrityError as exc:  # another station saved the same version in between
        raise RecipeExistsError(f"recipe {recipe.name!r} v{recipe.version} already exists") from exc


def next_recipe_version(db: Target, name: str) -> int:
    with reading(db) as s:
        return (
            int(s.scalar(select(func.max(RecipeVersion.version)).where(RecipeVersion.name == name)) or 0) + 1
        )


def recipe_versions(db: Target, name: str) -> list[StoredRecipe]:
    with reading(db) as s:
        q = select(RecipeVersion).where(RecipeVersion.name == name).order_by(RecipeVersion.version)
        return [_recipe(r) for r in s.scalars(q)]


def get_recipe(db: Target, name: str, version: int | None = None) -> StoredRecipe | None:
    """One version, or the newest when ``version`` is None."""
    with reading(db) as s:
        q = select(RecipeVersion).where(RecipeVersion.name == name)
        q = q.where(RecipeVersion.version == version) if version is not None else q
        row = s.scalar(q.order_by(RecipeVersion.version.desc()).limit(1))
        return _recipe(row) if row is not None else None


# -- models ----------------------------------------------------------------
def register_model(db: Target, card: ModelCard, path: str | Path = "", actor: str = "system") -> ModelInfo:
    """Get or create the row for ``card.sha256`` (the ONNX file is the identity)."""
    if not card.sha256:
        raise ValueError(f"model card {card.name!r} has no sha256; load it with load_card()")
    with writing(db) as s:
        existed = s.scalar(select(Model.id).where(Model.sha256 == card.sha256)) is not None
        model_id = registry.ensure_model(s, card.sha256, card.name, card.model_dump(mode="json"), str(path))
        if not existed:
            registry.add_audit(s, actor, "model.register", {"sha256": card.sha256, "name": card.name})
        row = s.get(Model, model_id)
        assert row is not None
        return _model(row)


def promote_model(db: Target, sha256: str, actor: str) -> ModelInfo:
    """Make ``sha256`` the one active model (audited); raises LookupError if unknown."""
    with writing(db) as s:
        row = s.scalar(select(Model).where(Model.sha256 == sha256))
        if row is None:
            raise LookupError(f"model {sha256} is not registered")
        previous = s.scalars(select(Model.sha256).where(Model.is_active, Model.id != row.id)).all()
        s.execute(update(Model).where(Model.is_active, Model.id != row.id).values(is_active=False))
        row.is_active = True
        row.promoted_at = utcnow()
        registry.add_audit(s, actor, "model.promote", {"sha256": sha256, "previous": list(previous)})
        s.flush()
        return _model(row)


def active_model(db: Target) -> ModelInfo | None:
    with reading(db) as s:
        row = s.scalar(select(Model).where(Model.is_active).order_by(Model.promoted_at.desc()).limit(1))
        return _model(row) if row is not None else None


def models(db: Target) -> list[ModelInfo]:
    with reading(db) as s:
        return [_model(r) for r in s.scalars(select(Model).order_by(Model.created_at, Model.id))]
