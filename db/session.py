"""Engine/session factory and programmatic Alembic upgrades.

Works with any SQLAlchemy URL; SQLite gets the settings a single-writer,
many-reader station needs (WAL, busy timeout, real transactions).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from platformdirs import user_data_dir
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

APP_NAME = "defect-inspector"
BUSY_TIMEOUT_MS = 10_000
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def default_db_url() -> str:
    """SQLite file in the per-user data dir (created if missing).

    INSPECTOR_DATA_DIR moves it, like the archive and the trainer's runs (inspector.core.paths).
    """
    data_dir = Path(os.environ.get("INSPECTOR_DATA_DIR") or user_data_dir(APP_NAME, appauthor=False))
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{data_dir / 'inspections.db'}"


def _is_sqlite(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str | URL | None = None, **kwargs: Any) -> Engine:
    url = make_url(url or default_db_url())
    if not _is_sqlite(url):
        # pool_pre_ping: a station runs for weeks; the DB server may restart.
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(url, **kwargs)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **kwargs)
    _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take BEGIN away from the sqlite3 module (pre-3.12 "legacy" mode
        # skips BEGIN for SELECT/DDL); we emit it ourselves below.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer thread
        cur.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; safe with WAL
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A deferred transaction that reads and then writes can fail with
        # SQLITE_BUSY at once (busy_timeout does not apply to lock upgrades);
        # write sessions ask for IMMEDIATE to wait their turn instead.
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def alembic_config(url: str | URL | None = None) -> Any:
    """An Alembic Config pointing at the packaged migrations (no cwd or ini needed)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # '%' would be read as ini interpolation
        cfg.set_main_option(
            "sqlalchemy.url", make_url(url).render_as_string(hide_password=False).replace("%", "%%")
        )
    return cfg


def upgrade(url: str | URL | None = None, revision: str = "head", engine: Engine | None = None) -> None:
    """Run the Alembic migrations up to ``revision`` on ``url`` (or ``engine``)."""
    from alembic import command

    own_engine = engine is None
    engine = engine or make_engine(url)
    try:
        cfg = alembic_config(engine.url)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        if own_engine:
            engine.dispose()


@dataclass
class Database:
    """An engine plus session factories; what the rest of the station holds."""

    engine: Engine
    sessions: sessionmaker[Session] = field(init=False)
    write_sessions: sessionmaker[Session] = field(init=False)

    def __post_init__(self) -> None:
        # expire_on_commit=False: rows handed to other threads stay readable.
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        writer_engine = self.engine.execution_options(sqlite_immediate=True)
        self.write_sessions = sessionmaker(writer_engine, expire_on_commit=False)

    @property
    def url(self) -> URL:
        return self.engine.url

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self.sessions() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session in a transaction that commits on success, rolls back on error."""
        with self.write_sessions.begin() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def open_db(url: str | URL | None = None, *, migrate: bool = True, **engine_kwargs: Any) -> Database:
    """Engine + sessions for ``url`` (default: the per-user SQLite file), migrated to head."""
    engine = make_engine(url, **engine_kwargs)
    if migrate:
        upgrade(engine=engine)
    return Database(engine)
