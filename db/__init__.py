"""Verdict log: SQLAlchemy models, session factory, Alembic migrations, writer thread, queries.

Never imports Qt or inference runtimes; see docs/architecture.md.
"""

from db.session import Database, default_db_url, make_engine, open_db, upgrade

__all__ = ["Database", "default_db_url", "make_engine", "open_db", "upgrade"]
