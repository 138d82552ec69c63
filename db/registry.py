"""Get-or-create helpers for the rows inspections point at (inside a caller's session).

Several stations may register the same new model, recipe or station at the same
moment (one PostgreSQL for many stations). A plain select-then-insert would then
fail the second station's whole batch with a unique violation, and with it the
verdicts in that batch. So each insert runs in a savepoint: on a unique
violation the savepoint is rolled back and the row the other station committed
is read instead; the caller's transaction and its verdicts go on.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.models import AuditEvent, Model, RecipeVersion, Station

_Row = TypeVar("_Row", Station, Model, RecipeVersion)


def _get_or_create(
    session: Session, cls: type[_Row], where: ColumnElement[bool], make: Callable[[], _Row]
) -> tuple[_Row, bool]:
    """(row, created): the existing row, else a new one inserted in a savepoint (see module doc)."""
    row = session.scalar(select(cls).where(where))
    if row is not None:
        return row, False
    try:
        with session.begin_nested():
            row = make()
            session.add(row)
            session.flush()
        return row, True
    except IntegrityError:
        # another station committed the same row between our select and our insert
        existing = session.scalar(select(cls).where(where))
        if existing is None:
            raise
        return existing, False


def ensure_station(session: Session, name: str, host: str | None = None) -> int:
    row, _ = _get_or_create(
        session,
        Station,
        Station.name == name,
        lambda: Station(name=name, host=host if host is not None else socket.gethostname()),
    )
    return row.id


def ensure_model(
    session: Session, sha256: str, name: str | None = None, card: dict[str, Any] | None = None, path: str = ""
) -> int:
    """The model row for ``sha256``; a first sighting without a card gets a placeholder name."""
    row, created = _get_or_create(
        session,
        Model,
        Model.sha256 == sha256,
        lambda: Model(sha256=sha256, name=name or sha256[:12], card=card or {}, path=path),
    )
    if not created and card and not row.card:
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
    row, created = _get_or_create(
        session,
        RecipeVersion,
        (RecipeVersion.name == name) & (RecipeVersion.version == version),
        lambda: RecipeVersion(name=name, version=version, params=params or {}, author=author, reason=reason),
    )
    if not created and params is not None and row.params and row.params != params:
        raise ValueError(
            f"recipe {name!r} v{version} is already logged with other parameters; bump the version"
        )
    return row.id


def add_audit(session: Session, actor: str, action: str, details: dict[str, Any] | None = None) -> int:
    row = AuditEvent(actor=actor, action=action, details=details or {})
    session.add(row)
    session.flush()
    return row.id
