"""Engine/session factory and programmatic Alembic upgrades.

Works with any SQLAlchemy URL; SQLite gets the settings a single-writer,
many-reader station needs (WAL, busy timeout, real transactions).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from platformdirs import user_data_dir
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from db.storable import short_error

APP_NAME = "defect-inspector"
BUSY_TIMEOUT_MS = 10_000
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
MIN_FREE_MB = 200  # preflight refuses less free space on the DB's or the archive's filesystem
MIN_FREE_ENV = "INSPECTOR_MIN_FREE_MB"  # overrides MIN_FREE_MB
PREFLIGHT_LOCK_TIMEOUT_S = 2.0  # how long preflight waits for another program's write lock
# PostgreSQL advisory-lock key held while a station migrates the schema (any fixed int64 that no
# other program on the server uses; it is "DINSPMIG" in ASCII)
MIGRATION_LOCK_KEY = 0x44494E53504D4947

log = logging.getLogger(__name__)


def default_db_url() -> str:
    """SQLite file in the per-user data dir (created if missing).

    INSPECTOR_DATA_DIR moves it, like the archive and the trainer's runs (inspector.core.paths).
    """
    data_dir = Path(os.environ.get("INSPECTOR_DATA_DIR") or user_data_dir(APP_NAME, appauthor=False))
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{data_dir / 'inspections.db'}"


def _is_sqlite(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_uri(url: URL) -> bool:
    return str(url.query.get("uri", "")).lower() in ("true", "1")


def _is_memory(url: URL) -> bool:
    """An in-memory SQLite URL (``sqlite://``, ``sqlite:///:memory:``, a ``mode=memory`` URI)."""
    if not _is_sqlite(url):
        return False
    database = url.database or ""
    if database in ("", ":memory:"):
        return True
    return _sqlite_uri(url) and (
        url.query.get("mode") == "memory" or database.removeprefix("file:").startswith(":memory:")
    )


def sqlite_file(url: str | URL) -> Path | None:
    """The file of a SQLite URL (a ``file:`` URI included), None for another database or in memory."""
    url = make_url(url)
    if not _is_sqlite(url) or _is_memory(url):
        return None
    database = url.database or ""
    if _sqlite_uri(url) and database.startswith("file:"):
        database = database.removeprefix("file:").split("?", 1)[0]
    return Path(database)


def check_db_url(url: str | None) -> None:
    """Refuse a URL that cannot hold a station's log (ValueError): an empty one, which would
    silently mean the default, and an in-memory SQLite database, whose verdicts would vanish
    with the run (and which the writer thread cannot even see). None means the default."""
    if url is None:
        return
    if not url.strip():
        raise ValueError("the database URL is empty; give one, or leave --db out for the default")
    try:
        parsed = make_url(url.strip())
    except Exception as exc:  # sqlalchemy.exc.ArgumentError: says what is wrong
        raise ValueError(f"not a database URL: {url!r} ({exc})") from None
    if _is_memory(parsed):
        raise ValueError(
            f"{parsed.render_as_string()} is an in-memory database: the verdicts would be lost "
            "when the run ends; give a file, e.g. sqlite:////var/lib/inspector/inspections.db"
        )


def make_engine(url: str | URL | None = None, **kwargs: Any) -> Engine:
    url = make_url(url or default_db_url())
    if not _is_sqlite(url):
        # pool_pre_ping: a station runs for weeks; the DB server may restart.
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(url, **kwargs)
    file = sqlite_file(url)
    if file is not None and url.query.get("mode") not in ("ro", "memory"):
        file.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **kwargs)
    _configure_sqlite(engine)
    return engine


def set_wal(cur: Any, timeout_s: float = BUSY_TIMEOUT_MS / 1000) -> None:
    """``PRAGMA journal_mode=WAL``, retried while the file is busy. Switching a new file to WAL
    can answer "database is locked" at once, without the busy handler, when other stations open
    the same file at the same moment (seen: 1 start in 20 with three stations); they must wait
    their turn, not fail."""
    import sqlite3

    deadline = time.monotonic() + timeout_s
    delay = 0.01
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() >= deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take BEGIN away from the sqlite3 module (pre-3.12 "legacy" mode
        # skips BEGIN for SELECT/DDL); we emit it ourselves below.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        set_wal(cur)  # readers never block the writer thread
        cur.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; safe with WAL
        cur.execute("PRAGMA foreign_keys=ON")
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


def _current_revisions(conn: Any) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    return set(MigrationContext.configure(conn).get_current_heads())


def _newer_schema_message(where: str, current: set[str], script: Any) -> str | None:
    """Why this station must not use a database migrated by a newer station version (None: it may):
    its schema revision is one this station's migrations do not know."""
    known = {s.revision for s in script.walk_revisions()}
    unknown = sorted(current - known)
    if not unknown:
        return None
    return (
        f"the database {where} has schema revision {', '.join(unknown)}, newer than this station knows "
        f"(its newest is {', '.join(sorted(script.get_heads()))}): update this station's software; "
        "an older station must not write into a newer schema"
    )


def _take_migration_lock(conn: Any) -> None:
    """One migrator at a time. PostgreSQL: a transaction-level advisory lock on a fixed key, held
    until the migration's transaction ends (also when it fails or the process dies), so stations
    that start together migrate once, one after the other; the others find the schema at head.
    SQLite: the migration's own ``BEGIN IMMEDIATE`` (the file's write lock) does it."""
    if conn.dialect.name != "postgresql":
        return
    if not conn.exec_driver_sql(f"SELECT pg_try_advisory_xact_lock({MIGRATION_LOCK_KEY})").scalar():
        log.info("waiting for another station's schema migration to finish")
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")


def upgrade(url: str | URL | None = None, revision: str = "head", engine: Engine | None = None) -> bool:
    """Run the Alembic migrations up to ``revision`` on ``url`` (or ``engine``); True when this call
    applied any (False: the schema was there already, e.g. another station migrated it).

    Safe while other stations use the database: a schema already at head is only read (no lock);
    otherwise the migration runs under :func:`_take_migration_lock`, and the revision is read
    again after the lock is taken. A schema newer than this station knows is refused with
    :class:`SchemaTooNewError`, before anything is written."""
    from alembic import command
    from alembic.script import ScriptDirectory

    own_engine = engine is None
    engine = engine or make_engine(url)
    try:
        cfg = alembic_config(engine.url)
        script = ScriptDirectory.from_config(cfg)
        where = engine.url.render_as_string(hide_password=True)
        with engine.connect() as conn:
            before = _current_revisions(conn)
        if (why := _newer_schema_message(where, before, script)) is not None:
            raise SchemaTooNewError(why)
        if revision == "head" and before == set(script.get_heads()):
            return False
        with engine.execution_options(sqlite_immediate=True).begin() as conn:
            _take_migration_lock(conn)
            before = _current_revisions(conn)  # another station may have migrated while we waited
            if (why := _newer_schema_message(where, before, script)) is not None:
                raise SchemaTooNewError(why)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
            return _current_revisions(conn) != before
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
        try:
            upgrade(engine=engine)
        except BaseException:  # a refused or failed migration leaves no connection open behind
            engine.dispose()
            raise
    return Database(engine)


class PreflightError(RuntimeError):
    """The station must not start inspecting: the message says what is wrong and what to do."""


class SchemaTooNewError(PreflightError):
    """The database was migrated by a newer version of the station: this one must not write to it."""


def _where(db: Database) -> str:
    return db.url.render_as_string(hide_password=True)


def min_free_bytes() -> int:
    """:data:`MIN_FREE_MB` (or the ``INSPECTOR_MIN_FREE_MB`` environment variable) in bytes."""
    raw = os.environ.get(MIN_FREE_ENV, "").strip()
    if not raw:
        return MIN_FREE_MB * 10**6
    try:
        mb = float(raw)
    except ValueError:
        raise PreflightError(f"{MIN_FREE_ENV}={raw!r} is not a number of MB") from None
    return max(0, int(mb * 10**6))


def _existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _check_free_space(what: str, path: Path, need: int) -> None:
    try:
        free = shutil.disk_usage(_existing(path)).free
    except OSError as exc:
        raise PreflightError(f"cannot check the free space for the {what} ({path}): {exc}") from None
    if free < need:
        raise PreflightError(
            f"only {free / 1e6:.0f} MB free on the filesystem of the {what} ({path}); "
            f"need at least {need / 1e6:.0f} MB: free some space "
            f"(or set {MIN_FREE_ENV} to accept less)"
        )


def _check_schema(db: Database) -> None:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    heads = set(script.get_heads())
    with db.engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    if (why := _newer_schema_message(_where(db), current, script)) is not None:
        raise SchemaTooNewError(why)
    if current != heads:
        raise PreflightError(
            f"the database {_where(db)} has schema revision {', '.join(sorted(current)) or 'none'} "
            f"but this station needs {', '.join(sorted(heads))}: open it with this version of the "
            "station to migrate it, or use the station version that created it"
        )


def _sqlite_write_probe(db: Database, timeout_s: float) -> None:
    """A real write in a transaction that is rolled back: read-only files and connections,
    and another program's write lock, show up here instead of at the first commit."""
    import sqlite3

    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
        try:
            cur.execute("BEGIN IMMEDIATE")
            try:
                cur.execute("UPDATE alembic_version SET version_num = version_num")
            finally:
                cur.execute("ROLLBACK")
        except sqlite3.Error as exc:
            name = getattr(exc, "sqlite_errorname", "")
            text = str(exc)
            if name.startswith("SQLITE_BUSY") or name.startswith("SQLITE_LOCKED") or "locked" in text:
                raise PreflightError(
                    f"the database {_where(db)} is locked by another program (still busy after "
                    f"{timeout_s:g} s): stop the other writer, then start again"
                ) from None
            if name.startswith("SQLITE_READONLY") or "readonly" in text:
                raise PreflightError(
                    f"the database {_where(db)} is read-only: the station cannot log verdicts "
                    "(check the file's and its folder's permissions and the mount)"
                ) from None
            if name.startswith("SQLITE_FULL") or "full" in text:
                raise PreflightError(f"the database {_where(db)} is full: {text}") from None
            raise PreflightError(f"cannot write to the database {_where(db)}: {text}") from None
        finally:
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cur.close()
    finally:
        raw.close()


def _server_write_probe(db: Database, timeout_s: float) -> None:
    from sqlalchemy import exc as sa_exc

    try:
        with db.engine.connect() as conn, conn.begin() as trans:
            if db.engine.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{int(timeout_s * 1000)}ms'")
                if conn.exec_driver_sql("SHOW transaction_read_only").scalar() == "on":
                    raise PreflightError(
                        f"the database {_where(db)} is read-only (a standby, or a read-only "
                        "session): the station cannot log verdicts"
                    )
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = version_num")
            trans.rollback()
    except sa_exc.SQLAlchemyError as exc:
        raise PreflightError(f"cannot write to the database {_where(db)}: {short_error(exc)}") from None


def preflight(
    db: Database,
    archive_dir: Path | None,
    *,
    min_free: int | None = None,
    lock_timeout_s: float = PREFLIGHT_LOCK_TIMEOUT_S,
) -> None:
    """Check, before the first image, what would otherwise fail only at the first commit:
    an in-memory URL, free space on the DB's and the archive's filesystem (at least
    ``min_free`` bytes, default :func:`min_free_bytes`), the schema at head, and a database
    that takes a write (not read-only, not locked by another program for more than
    ``lock_timeout_s``). Raises :class:`PreflightError`.

    The archive is checked for space only: an archive folder that cannot be written does
    not stop the logging of verdicts (the writer keeps them and reports the archive errors).
    On a database server, the server's own disk is not visible from here; the write probe
    and the server's errors cover it."""
    if _is_memory(db.url):
        raise PreflightError(f"{_where(db)} is an in-memory database: the verdicts would be lost")
    need = min_free_bytes() if min_free is None else min_free
    file = sqlite_file(db.url)
    if file is not None:
        _check_free_space("database", file, need)
    if archive_dir is not None:
        # free space only: an archive that cannot be written must not stop the logging of
        # verdicts (the writer keeps them and reports the archive errors)
        _check_free_space("archive", Path(archive_dir), need)
    try:
        _check_schema(db)
    except PreflightError:
        raise
    except Exception as exc:
        raise PreflightError(f"cannot read the database {_where(db)}: {short_error(exc)}") from None
    if db.is_sqlite:
        _sqlite_write_probe(db, lock_timeout_s)
    else:
        _server_write_probe(db, lock_timeout_s)
