"""Recipe versions as the GUI keeps them: read a recipe's versions or the newest one, store an
edited recipe as a new version (with its audit event), and record the model and recipe a product
is saved with.

Every stored version is immutable; an edit stores the next version number of the same name with
the running version as its parent. Each function takes the station's ``Database``; every ``db``
call in it is its own transaction. No Qt here: the GUI calls these on its task runner (the
writes on its write lane), off the UI thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from db import queries
from db.queries import RecipeExistsError, StoredRecipe
from db.session import Database
from inspector.core.model_card import ModelCard
from inspector.core.recipe import Recipe

__all__ = [
    "RecipeExistsError",
    "StoredRecipe",
    "get_recipe",
    "recipe_versions",
    "save_edited_recipe",
    "store_model_and_recipe",
]


def get_recipe(db: Database, name: str, version: int | None = None) -> StoredRecipe | None:
    """One stored version of recipe ``name``, or its newest when ``version`` is None; None when
    there is none."""
    return queries.get_recipe(db, name, version)


def recipe_versions(db: Database, name: str) -> list[StoredRecipe]:
    """Every stored version of recipe ``name``, oldest first."""
    return queries.recipe_versions(db, name)


def _parent_id(db: Database, cur: Recipe, user: str) -> int | None:
    row = queries.get_recipe(db, cur.name, cur.version)
    if row is not None:
        return row.id
    # The running recipe was never logged (fresh DB, recipe from a file):
    # store it first so the new version has a real parent to point at.
    return queries.save_recipe_version(
        db, cur, author=user, reason="baseline: running recipe, first stored on edit"
    ).id


def save_edited_recipe(
    db: Database,
    current: Recipe,
    params_from: Recipe,
    user: str,
    reason: str,
    action: str,
    details: dict[str, Any],
) -> Recipe:
    """Store a new version of ``current``'s name with ``params_from``'s settings, by ``user`` for
    ``reason``, then an audit event ``action`` (its ``details`` plus the stored version's ids).

    The running ``current`` becomes the new version's parent (stored first as a baseline when it
    never was). When another station takes the version number meanwhile, the next one is tried
    once; a second loss raises :class:`RecipeExistsError` (the user retries). Returns the new
    recipe as stored."""
    name = current.name
    parent = _parent_id(db, current, user)
    for attempt in (1, 2):
        version = queries.next_recipe_version(db, name)
        new = Recipe.model_validate({**params_from.model_dump(mode="json"), "name": name, "version": version})
        try:
            stored = queries.save_recipe_version(db, new, user, reason, parent_id=parent)
            break
        except RecipeExistsError:
            if attempt == 2:  # another station keeps winning the race; let the user retry
                raise
    queries.audit(
        db,
        user,
        action,
        {
            "recipe_id": stored.id,
            "name": name,
            "version": version,
            "parent_id": parent,
            "from_version": current.version,
            "reason": reason,
            **details,
        },
    )
    return new


def store_model_and_recipe(
    db: Database, card: ModelCard, path: str | Path, recipe: Recipe, actor: str, reason: str
) -> None:
    """Register the model (``card`` at ``path``) and store ``recipe`` unless that version is
    stored already (``reason``: why, for its audit event), so that a product can name both."""
    queries.register_model(db, card, path, actor=actor)
    if queries.get_recipe(db, recipe.name, recipe.version) is None:
        queries.save_recipe_version(db, recipe, actor, reason)
