"""Get-or-create helpers for the rows inspections point at (inside a caller's session)."""

from __future__ import annotations

import socket
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import AuditEvent, Model, RecipeVersion, Station


def ensure_station(session: Session, name: str, host: str | None = None) -> int:
    row = session.scalar(select(Station).where(Station.name == name))
    if row is None:
        row = Station(name=name, host=host if host is not None else socket.gethostname())
        session.add(row)
        session.flush()
    return row.id


def ensure_model(
    session: Session, sha256: str, name: str | None = None, card: dict[str, Any] | None = None, path: str = ""
) -> int:
    """The model row for ``sha256``; a first sighting without a card gets a placeholder name."""
    row = session.scalar(select(Model).where(Model.sha256 == sha256))
    if row is None:
        row = Model(sha256=sha256, name=name or sha256[:12], card=card or {}, path=path)
        session.add(row)
        session.flush()
    elif card and not row.card:
        # The writer may have logged a verdict before anyone registered the
        # card; fill in what was missing, never overwrite a known card.
        row.card = card
        row.name = name or row.name
        row.path = path or row.path
        session.flush()
    return row.id


def find_recipe(session: Session, name: str, version: int) -> RecipeVersion | None:
    return session.scalar(
        select(RecipeVersion).where(RecipeVersion.name == name, RecipeVersion.version == version)
    )


def ensure_recipe(
    session: Session,
    name: str,
    version: int,
    params: dict[str, Any] | None = None,
    author: str = "",
    reason: str = "",
) -> int:
    """The row for (name, version). Rows are immutable, so differing params are an error."""
    row = find_recipe(session, name, version)
    if row is None:
        row = RecipeVersion(name=name, version=version, params=params or {}, author=author, reason=reason)
        session.add(row)
        session.flush()
    elif params is not None and row.params and row.params != params:
        raise ValueError(
            f"recipe {name!r} v{version} is already logged with other parameters; bump the version"
        )
    return row.id


def add_audit(session: Session, actor: str, action: str, details: dict[str, Any] | None = None) -> int:
    row = AuditEvent(actor=actor, action=action, details=details or {})
    session.add(row)
    session.flush()
    return row.id
