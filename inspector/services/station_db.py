"""The station's database as a run uses it: open it (migrated), check before the first image
that it and the archive can take the verdicts, the verdict writer that logs every part, the
product/lot/shift context stamped on each row, and the resume check (parts logged already).

The writer commits on its own thread and :func:`preflight` may wait for a lock: the GUI calls
these from its run worker, off the UI thread; it opens the database once at start-up.
"""

from __future__ import annotations

from pathlib import Path

from db import history, session, writer
from db.history import AlreadyLogged
from db.session import Database, PreflightError
from db.writer import OverlayFn, RowContext, VerdictWriter

__all__ = [
    "AlreadyLogged",
    "Database",
    "PreflightError",
    "RowContext",
    "VerdictWriter",
    "already_logged",
    "open_database",
    "preflight",
    "start_verdict_writer",
]


def open_database(url: str | None = None) -> Database:
    """The database at ``url`` (None: the per-user SQLite file), migrated to the newest schema.
    The caller disposes of it (``Database.dispose``) when the station closes."""
    return session.open_db(url)


def preflight(db: Database, archive_dir: Path | None) -> None:
    """Before the first image (and at every start): raise :class:`PreflightError`, saying what to
    do, when the database is in memory, read-only, locked by another program or on a full disk,
    its schema is not current, or the archive's disk is full. May wait ~2 s for a lock."""
    session.preflight(db, archive_dir)


def start_verdict_writer(
    db: Database,
    station: str,
    *,
    archive_dir: Path | None,
    overlay: OverlayFn | None,
    context: RowContext | None,
    flush_interval_s: float,
) -> VerdictWriter:
    """A running :class:`VerdictWriter` for ``station``: it commits submitted results on its own
    thread (every ``flush_interval_s`` at most), archives the images of NG, REVIEW and ERROR parts
    (with ``overlay``) under ``archive_dir`` and stamps ``context`` on each row. Close it when done."""
    return writer.VerdictWriter(
        db,
        station,
        archive_dir=archive_dir,
        overlay=overlay,
        context=context,
        flush_interval_s=flush_interval_s,
    )


def already_logged(
    db: Database, station: str, model_sha256: str, recipe_name: str, recipe_version: int
) -> AlreadyLogged:
    """A check ``done(frame)`` for resuming a run: whether ``station`` logged this part's image
    content (else its key) with this model and recipe version already. Reads the log once, now."""
    return history.AlreadyLogged(db, station, model_sha256, recipe_name, recipe_version)
