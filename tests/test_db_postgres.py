"""The same schema and writer on PostgreSQL; runs only when INSPECTOR_TEST_PG_URL names a
throwaway database (its public schema is wiped), e.g. postgresql+psycopg://pg@/test?host=/tmp."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from db import queries as q
from db.models import Base
from db.session import Database, open_db
from db.writer import VerdictWriter
from inspector.core.recipe import Recipe
from inspector.core.types import Verdict
from tests.db_factories import T0, make_result

PG_URL = os.environ.get("INSPECTOR_TEST_PG_URL")
pytestmark = pytest.mark.skipif(not PG_URL, reason="set INSPECTOR_TEST_PG_URL to a throwaway PostgreSQL DB")


@pytest.fixture
def database() -> Database:
    wipe = create_engine(PG_URL)
    with wipe.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    wipe.dispose()
    d = open_db(PG_URL)
    yield d
    d.dispose()


def test_migrated_schema_matches_models(database: Database) -> None:
    with database.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, Base.metadata) == []


def test_writer_and_queries(database: Database) -> None:
    with VerdictWriter(database, "pg-line", flush_interval_s=0.0, recipes=[Recipe()]) as w:
        futs = [
            w.submit(
                make_result(
                    f"/d/{i}.png", Verdict.NG if i % 2 else Verdict.OK, inspected_at=T0 + timedelta(seconds=i)
                )
            )
            for i in range(200)
        ]
    ids = [f.result(0) for f in futs]
    assert len(set(ids)) == 200
    assert len(q.logged_keys(database, "pg-line", prefix="/d/")) == 200
    rows = q.history(database, verdict="NG", limit=5)
    assert rows[0].inspected_at == T0 + timedelta(seconds=199)
    assert q.verdict_counts(database) == {
        Verdict.OK: 100,
        Verdict.NG: 100,
        Verdict.REVIEW: 0,
        Verdict.ERROR: 0,
    }
    q.add_review(database, ids[1], "false_reject", "op", mask_png=b"\x89PNG")
    detail = q.get_inspection(database, ids[1])
    assert detail.reviews[0].mask_png == b"\x89PNG"
    assert detail.prob_map().shape == (8, 8)
    v2 = q.save_recipe_version(database, Recipe().evolve(threshold=0.7), "qa", "tune", parent_id=1)
    assert v2.version == 2
