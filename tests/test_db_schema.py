"""Migrations, schema parity with the models, SQLite settings and table round trips."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Integer, MetaData, inspect, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.schema import CreateTable

import db.session as dbsession
from db.models import (
    AuditEvent,
    Base,
    DefectRegion,
    Inspection,
    Model,
    ProbMap,
    RecipeVersion,
    Review,
    Station,
)
from db.session import Database, alembic_config, default_db_url, open_db, upgrade


@pytest.fixture
def database(tmp_path: Path) -> Database:
    d = open_db(f"sqlite:///{tmp_path / 'schema.db'}")
    yield d
    d.dispose()


def _diff(d: Database, metadata: MetaData = Base.metadata) -> list[object]:
    with d.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(ctx, metadata)


def test_upgrade_from_empty_file_matches_models(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "empty.db"  # parent dir does not exist yet
    upgrade(f"sqlite:///{path}")
    d = open_db(f"sqlite:///{path}")  # idempotent second upgrade
    try:
        assert _diff(d) == []
        tables = set(inspect(d.engine).get_table_names())
        assert set(Base.metadata.tables) | {"alembic_version"} == tables
        with d.engine.connect() as conn:
            head = ScriptDirectory.from_config(alembic_config()).get_current_head()
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == head
    finally:
        d.dispose()


def test_diff_check_is_not_vacuous(database: Database) -> None:
    # a column the migration does not create must show up in the comparison
    md = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(md)
    md.tables["audit_event"].append_column(Column("extra", Integer))
    assert any("extra" in str(d) for d in _diff(database, md))


def test_sqlite_pragmas(database: Database) -> None:
    with database.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == dbsession.BUSY_TIMEOUT_MS


def test_default_url_in_user_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dbsession, "user_data_dir", lambda *a, **k: str(tmp_path / "ud"))
    url = default_db_url()
    assert url == f"sqlite:///{tmp_path / 'ud' / 'inspections.db'}"
    assert (tmp_path / "ud").is_dir()


def test_utc_round_trip(database: Database) -> None:
    cet = timezone(timedelta(hours=1))
    local = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=cet)
    with database.write() as s:
        s.add(Station(name="s1", host="h", created_at=local))
    with database.read() as s:
        got = s.scalar(select(Station.created_at))
    assert got.tzinfo is not None
    assert got.utcoffset() == timedelta(0)
    assert got == local


def test_every_table_round_trips(database: Database) -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    with database.write() as s:
        st = Station(name="line-1", host="pc1")
        m = Model(sha256="f" * 64, name="unet", path="/m.onnx", card={"threshold": 0.4}, is_active=True)
        r1 = RecipeVersion(name="r", version=1, params={"threshold": 0.5}, author="qa", reason="first")
        s.add_all([st, m, r1])
        s.flush()
        r2 = RecipeVersion(
            name="r", version=2, params={"threshold": 0.6}, parent_id=r1.id, author="qa", reason="x"
        )
        s.add(r2)
        s.flush()
        insp = Inspection(
            station_id=st.id,
            source="folder:/d",
            source_key="/d/a.png",
            image_path="/d/a.png",
            image_sha256="e" * 64,
            captured_at=at,
            inspected_at=at,
            model_id=m.id,
            recipe_id=r2.id,
            backend="cpu",
            threshold=0.6,
            verdict="NG",
            score=0.9,
            area_ratio=0.01,
            n_regions=1,
            reasons=["region 0: big"],
            timings={"infer": 4.5},
        )
        insp.prob_map = ProbMap(png=b"\x89PNG-bytes")
        insp.regions = [
            DefectRegion(
                index=0,
                area_px=40,
                bbox_x=1,
                bbox_y=2,
                bbox_w=5,
                bbox_h=8,
                centroid_x=3.5,
                centroid_y=6.0,
                mean_prob=0.7,
                max_prob=0.9,
            )
        ]
        insp.reviews = [Review(disposition="missed_defect", by="op", at=at, note="n", mask_png=b"mask")]
        s.add(insp)
        s.add(AuditEvent(actor="qa", action="x", details={"k": [1, 2]}, at=at))
    with database.read() as s:
        insp = s.scalar(select(Inspection))
        assert (insp.verdict, insp.reasons, insp.timings, insp.inspected_at) == (
            "NG",
            ["region 0: big"],
            {"infer": 4.5},
            at,
        )
        assert insp.prob_map.png == b"\x89PNG-bytes"
        g = insp.regions[0]
        assert (g.area_px, g.bbox_w, g.centroid_y, g.max_prob) == (40, 5, 6.0, 0.9)
        assert insp.reviews[0].mask_png == b"mask"
        assert s.scalar(select(Model)).card == {"threshold": 0.4}
        assert s.scalar(select(RecipeVersion).where(RecipeVersion.version == 2)).parent_id is not None
        assert s.scalar(select(AuditEvent)).details == {"k": [1, 2]}


def test_recipe_rows_cannot_be_updated(database: Database) -> None:
    with database.write() as s:
        s.add(RecipeVersion(name="r", version=1, params={}))
    with pytest.raises(ValueError, match="immutable"), database.write() as s:
        s.scalar(select(RecipeVersion)).params = {"threshold": 0.1}


def test_foreign_keys_enforced(database: Database) -> None:
    with pytest.raises(Exception, match="FOREIGN KEY"), database.write() as s:
        s.add(ProbMap(inspection_id=12345, png=b"x"))


def test_wal_lets_a_reader_run_during_a_write(database: Database, tmp_path: Path) -> None:
    with database.write() as s:
        s.add(Station(name="a"))
        s.flush()
        # an uncommitted write transaction does not block a plain reader
        raw = sqlite3.connect(tmp_path / "schema.db", timeout=0.1)
        assert raw.execute("SELECT count(*) FROM station").fetchone() == (0,)
        raw.close()


def test_big_ids_are_sqlite_rowids() -> None:
    # BIGINT primary keys would not autoincrement on SQLite; 64-bit elsewhere
    ddl = str(CreateTable(Inspection.__table__).compile(dialect=sqlite_dialect.dialect()))
    assert "id INTEGER NOT NULL" in ddl
    pg = str(CreateTable(Inspection.__table__).compile(dialect=postgresql.dialect()))
    assert "id BIGSERIAL NOT NULL" in pg
