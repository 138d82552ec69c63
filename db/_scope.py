"""Let query helpers take either a Database or a caller's open Session."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from db.session import Database

Target = Database | Session


@contextmanager
def reading(target: Target) -> Iterator[Session]:
    if isinstance(target, Session):
        yield target
        return
    with target.read() as session:
        yield session


@contextmanager
def writing(target: Target) -> Iterator[Session]:
    """Commit when given a Database; only flush into a caller's Session (the caller commits)."""
    if isinstance(target, Session):
        yield target
        target.flush()
        return
    with target.write() as session:
        yield session
