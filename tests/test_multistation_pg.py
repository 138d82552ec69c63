"""Many stations, one PostgreSQL database (docs/multistation.md).

The PostgreSQL tests run only when INSPECTOR_TEST_PG_URL names a server where the test may create
and drop databases (CI: scripts/ci-postgres.sh); each test gets a new, empty database. The
SQLite and GUI tests here always run.

Run as a module, this file is also the "station" of the two-station test:
``python -m tests.test_multistation_pg station --db URL --name NAME --n N --ids FILE``
opens the database (migrating it if needed), waits for "go" on stdin, logs N verdicts with a
VerdictWriter, writes the committed ids to FILE and prints a JSON line with its figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("INSPECTOR_TEST_PG_URL")
needs_pg = pytest.mark.skipif(not PG_URL, reason="set INSPECTOR_TEST_PG_URL to a throwaway PostgreSQL server")
N_PER_STATION = 5000
STATIONS = ("line-a", "line-b")


# -- the station process -------------------------------------------------------------------------------
def _station_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--db", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--n", type=int, default=N_PER_STATION)
    p.add_argument("--ids", type=Path, required=True)
    args = p.parse_args(argv)

    from db.session import open_db, preflight, upgrade
    from db.writer import VerdictWriter
    from inspector.core.recipe import Recipe
    from inspector.core.types import Verdict
    from tests.db_factories import T0, make_result

    verdicts = (Verdict.OK, Verdict.OK, Verdict.OK, Verdict.NG, Verdict.REVIEW, Verdict.OK, Verdict.ERROR)
    # built before "go": the race is on the database, not on building results
    results = [
        make_result(
            f"/line/{args.name}/img_{i:05d}.png",
            verdicts[i % len(verdicts)],
            source=f"folder:/line/{args.name}",
            inspected_at=T0 + timedelta(milliseconds=i),
        )
        for i in range(args.n)
    ]
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return 3
    t0 = time.perf_counter()
    db = open_db(args.db, migrate=False)
    migrated = upgrade(engine=db.engine)  # what open_db does, with its answer kept
    preflight(db, None, min_free=0)
    t_open = time.perf_counter() - t0
    with VerdictWriter(db, args.name, host=f"host-{args.name}", recipes=[Recipe()]) as writer:
        futures = [writer.submit(r) for r in results]
    ids: list[int] = []
    errors: list[str] = []
    for f in futures:
        exc = f.exception(timeout=60)
        if exc is None:
            ids.append(f.result())
        else:
            errors.append(repr(exc))
    args.ids.write_text("\n".join(map(str, ids)), encoding="utf-8")
    stats = writer.stats()
    db.dispose()
    report = {
        "station": args.name,
        "migrated": migrated,
        "open_s": round(t_open, 3),
        "total_s": round(time.perf_counter() - t0, 3),
        "written": stats.written,
        "failed": stats.failed,
        "errors": errors[:5],
    }
    print(json.dumps(report), flush=True)
    return 0


# -- fixtures --------------------------------------------------------------------------------------------
@pytest.fixture
def pg_url() -> Iterator[str]:
    """A new, empty database on the test server, dropped afterwards."""
    assert PG_URL is not None
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"inspector_ms_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except Exception as exc:
        admin.dispose()
        pytest.skip(f"cannot create a database on the test server: {exc}")
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _start_station(url: str, name: str, ids: Path, n: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.test_multistation_pg",
            "station",
            "--db",
            url,
            "--name",
            name,
            "--n",
            str(n),
            "--ids",
            str(ids),
        ],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# -- two stations, one database ----------------------------------------------------------------------
@needs_pg
def test_two_station_processes_log_5000_each_none_lost_none_duplicated(
    pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from db.history import count_history, station_names, verdict_counts
    from db.session import open_db
    from inspector.cli.main import main
    from inspector.core.recipe import Recipe, save_recipe

    procs = {name: _start_station(pg_url, name, tmp_path / f"{name}.ids", N_PER_STATION) for name in STATIONS}
    try:
        for name, proc in procs.items():
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert line.strip() == "ready", (
                f"{name} did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}"
            )
        t0 = time.perf_counter()
        for proc in procs.values():  # the same moment, against an empty database: both race to migrate
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        reports = {}
        for name, proc in procs.items():
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, f"{name} failed:\n{err[-3000:]}"
            reports[name] = json.loads(out.strip().splitlines()[-1])
        elapsed = time.perf_counter() - t0
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    with capsys.disabled():  # the figures, for the record (pytest -s)
        print(f"\ntwo stations, {2 * N_PER_STATION} verdicts: {elapsed:.1f} s after 'go'; {reports}")

    # the schema was migrated exactly once, by one of them; the other found it at head
    assert sorted(r["migrated"] for r in reports.values()) == [False, True]
    for name, r in reports.items():
        assert r["failed"] == 0, (name, r)
        assert r["errors"] == [], (name, r)
        assert r["written"] == N_PER_STATION

    engine = create_engine(pg_url)
    try:
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
            per_station = {
                n: (c, d)
                for n, c, d in conn.execute(
                    text(
                        "SELECT s.name, count(*), count(DISTINCT i.source_key) FROM inspection i "
                        "JOIN station s ON s.id = i.station_id GROUP BY s.name"
                    )
                ).all()
            }
            duplicates = conn.execute(
                text(
                    "SELECT count(*) FROM (SELECT station_id, source_key FROM inspection "
                    "GROUP BY station_id, source_key HAVING count(*) > 1) d"
                )
            ).scalar()
            maps = conn.execute(text("SELECT count(*) FROM prob_map")).scalar()
            hosts = dict(conn.execute(text("SELECT name, host FROM station")).all())
            logged = {
                name: set(
                    conn.execute(
                        text(
                            "SELECT i.id FROM inspection i JOIN station s ON s.id = i.station_id "
                            "WHERE s.name = :n"
                        ),
                        {"n": name},
                    ).scalars()
                )
                for name in STATIONS
            }
            models = conn.execute(text("SELECT count(*) FROM model")).scalar()
    finally:
        engine.dispose()
    assert len(versions) == 1
    assert per_station == {name: (N_PER_STATION, N_PER_STATION) for name in STATIONS}  # 0 lost
    assert duplicates == 0  # 0 duplicated
    assert maps == 2 * N_PER_STATION
    assert hosts == {name: f"host-{name}" for name in STATIONS}
    assert models == 1  # both logged the same model: one row, no duplicate from the race
    for name in STATIONS:  # every id a station was told "committed" is there, under that station
        told = {int(x) for x in (tmp_path / f"{name}.ids").read_text(encoding="utf-8").split()}
        assert told == logged[name]

    # History across stations, with a station filter (what the GUI and `inspector history` use)
    db = open_db(pg_url)
    try:
        assert station_names(db) == list(STATIONS)
        assert count_history(db) == 2 * N_PER_STATION
        for name in STATIONS:
            assert count_history(db, station=name) == N_PER_STATION
        a, b = (verdict_counts(db, station=name) for name in STATIONS)
        assert a == b
        assert sum(a.values()) == N_PER_STATION
    finally:
        db.dispose()
    capsys.readouterr()
    assert main(["history", "--db", pg_url, "--station", "line-b", "--limit", "50", "--json"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(rows) == 50
    assert {r["station"] for r in rows} == {"line-b"}
    assert main(["history", "--db", pg_url, "--limit", "50"]) == 0
    table = capsys.readouterr().out
    assert "station" in table.splitlines()[0]
    assert "line-a" in table
    assert "line-b" in table

    # replay across stations (all of them, or one)
    recipe = tmp_path / "strict.json"
    save_recipe(Recipe(name="strict", version=1, threshold=0.5, min_area_px=1, max_count=0), recipe)
    assert main(["replay", "--db", pg_url, "--recipe", str(recipe), "--last", "400", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["stations"] == {"line-a": 200, "line-b": 200}
    assert (
        main(
            [
                "replay",
                "--db",
                pg_url,
                "--recipe",
                str(recipe),
                "--last",
                "300",
                "--station",
                "line-a",
                "--json",
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["stations"] == {"line-a": 300}
    assert all(f["station"] == "line-a" for f in report["flips"])


@needs_pg
def test_a_lone_first_verdict_survives_another_station_registering_the_same_model(pg_url: str) -> None:
    from db import registry
    from db.session import open_db
    from db.writer import VerdictWriter
    from inspector.core.recipe import Recipe
    from tests.db_factories import MODEL_SHA, make_result

    db = open_db(pg_url)
    other = open_db(pg_url, migrate=False)
    try:
        with other.write() as s:  # line-a's first batch, committed while line-b's first one waits on it
            registry.ensure_model(s, MODEL_SHA)
            writer = VerdictWriter(db, "line-b", flush_interval_s=0.0, recipes=[Recipe()], retry_delay_s=0.05)
            future = writer.submit(make_result("/line-b/0.png"))
            time.sleep(0.5)
        writer.close()
        assert future.exception(10) is None
    finally:
        other.dispose()
        db.dispose()


# -- migrations: once, under a lock, never into a newer schema ---------------------------------------
@needs_pg
def test_migration_waits_for_the_advisory_lock(pg_url: str) -> None:
    """Another station holding the migration lock (it is migrating): this one waits, then finds the
    schema and applies only what is left."""
    from db.session import MIGRATION_LOCK_KEY, upgrade

    holder = create_engine(pg_url)
    done: list[bool] = []
    with holder.connect() as conn:
        conn.exec_driver_sql(f"SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})")
        t = threading.Thread(target=lambda: done.append(upgrade(pg_url)), daemon=True)
        t.start()
        t.join(1.0)
        assert t.is_alive()  # waiting on the lock, nothing migrated yet
        assert not done
        probe_engine = create_engine(pg_url)
        with probe_engine.connect() as probe:
            assert not probe.exec_driver_sql(
                "SELECT count(*) FROM pg_tables WHERE tablename = 'alembic_version'"
            ).scalar()
        probe_engine.dispose()
        conn.exec_driver_sql(f"SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})")
        t.join(30)
    holder.dispose()
    assert done == [True]
    assert upgrade(pg_url) is False  # at head: read only, no lock


@needs_pg
def test_an_old_station_refuses_a_newer_schema_on_postgres(
    pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from db.session import SchemaTooNewError, open_db, preflight
    from inspector.cli.main import main

    db = open_db(pg_url)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9001_from_a_newer_station'")
    with pytest.raises(SchemaTooNewError, match="newer than this station knows"):
        open_db(pg_url)
    with pytest.raises(SchemaTooNewError, match="must not write into a newer schema"):
        preflight(db, None, min_free=0)
    db.dispose()
    capsys.readouterr()
    assert main(["history", "--db", pg_url]) == 3
    assert "9001_from_a_newer_station, newer than this station knows" in capsys.readouterr().err


def test_an_old_station_refuses_a_newer_schema_on_sqlite(tmp_path: Path) -> None:
    from db.session import SchemaTooNewError, open_db

    url = f"sqlite:///{tmp_path / 'log.db'}"
    db = open_db(url)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9001_from_a_newer_station'")
    db.dispose()
    with pytest.raises(SchemaTooNewError, match=r"9001_from_a_newer_station, newer .* update this station"):
        open_db(url)


def test_concurrent_migrations_of_one_sqlite_file_apply_once(tmp_path: Path) -> None:
    """Three stations open one new SQLite file at once: one migrates, two find it at head, none
    fails. Repeated: the old race (WAL switch before busy_timeout) lost ~1 round in 20."""
    from db.session import open_db, upgrade

    for round_no in range(20):
        url = f"sqlite:///{tmp_path / f'shared{round_no}.db'}"
        results: list[bool | BaseException] = []
        barrier = threading.Barrier(3)

        def migrate(url: str = url, results: list = results, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            try:
                results.append(upgrade(url))
            except BaseException as exc:
                results.append(exc)

        threads = [threading.Thread(target=migrate) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(results, key=str) == [False, False, True], f"round {round_no}: {results}"
        open_db(url).dispose()


def test_the_wal_switch_retries_a_locked_file_and_gives_up_after_its_timeout() -> None:
    """Switching a new file to WAL can answer "database is locked" at once (no busy handler)
    while other stations open it: the station retries instead of failing, within a deadline."""
    import sqlite3

    from db.session import set_wal

    class Cursor:
        def __init__(self, locked_times: int) -> None:
            self.left = locked_times
            self.calls = 0

        def execute(self, sql: str) -> None:
            assert sql == "PRAGMA journal_mode=WAL"
            self.calls += 1
            if self.left:
                self.left -= 1
                raise sqlite3.OperationalError("database is locked")

    busy = Cursor(locked_times=3)
    set_wal(busy)
    assert busy.calls == 4
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        set_wal(Cursor(locked_times=10_000), timeout_s=0.1)

    class Broken(Cursor):
        def execute(self, sql: str) -> None:
            self.calls += 1
            raise sqlite3.OperationalError("disk I/O error")

    broken = Broken(0)
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        set_wal(broken)
    assert broken.calls == 1  # other errors are not retried


# -- the History tab's station filter ----------------------------------------------------------------
def test_history_tab_filters_by_station(qtbot, tmp_path: Path) -> None:
    from PySide6.QtCore import QSettings

    from db.session import open_db
    from db.writer import VerdictWriter
    from inspector.core.model_card import ModelCard
    from inspector.core.recipe import Recipe
    from inspector.ui.context import AppContext, ModelState
    from inspector.ui.history_model import Column
    from inspector.ui.history_panel import HistoryPanel
    from tests.db_factories import T0, make_result

    db = open_db(f"sqlite:///{tmp_path / 'plant.db'}")
    for name, n in (("line-a", 3), ("line-b", 5)):
        with VerdictWriter(db, name, flush_interval_s=0.0, recipes=[Recipe()]) as w:
            for i in range(n):
                w.submit(make_result(f"/{name}/{i}.png", inspected_at=T0 + timedelta(seconds=i)))
    ctx = AppContext(
        db,
        "line-a",
        QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat),
        Recipe(),
        ModelState(Path("m.onnx"), ModelCard()),
    )
    panel = HistoryPanel(ctx)
    qtbot.addWidget(panel)
    box = panel.station_box
    # the filter lists and the count load off the UI thread: wait for them
    qtbot.waitUntil(lambda: box.count() == 3, timeout=5000)
    assert [box.itemText(i) for i in range(box.count())] == ["All stations", "line-a", "line-b"]
    qtbot.waitUntil(lambda: panel.model.rowCount() == 8, timeout=5000)
    box.setCurrentIndex(box.findData("line-b"))
    qtbot.waitUntil(lambda: panel.model.rowCount() == 5, timeout=5000)
    rows = lambda: {panel.model.index(r, Column.STATION).data() for r in range(5)}  # noqa: E731
    qtbot.waitUntil(lambda: rows() == {"line-b"}, timeout=5000)
    # a third station appears on refresh, and the chosen one stays chosen
    with VerdictWriter(db, "line-c", flush_interval_s=0.0, recipes=[Recipe()]) as w:
        w.submit(make_result("/line-c/0.png"))
    panel.refresh()
    qtbot.waitUntil(lambda: box.findData("line-c") > 0, timeout=5000)
    assert box.currentData() == "line-b"
    qtbot.waitUntil(lambda: panel.model.rowCount() == 5, timeout=5000)
    box.setCurrentIndex(0)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 9, timeout=5000)
    db.dispose()


if __name__ == "__main__" and sys.argv[1:2] == ["station"]:
    sys.exit(_station_main(sys.argv[2:]))
