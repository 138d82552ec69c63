"""No database connection is left open behind a refused open or a finished command (on
PostgreSQL an open connection holds a server slot, and its warning at garbage collection once
failed a CI run)."""

from __future__ import annotations

from pathlib import Path

import pytest

import db.session as session
from db.session import SchemaTooNewError, open_db


def _track(monkeypatch: pytest.MonkeyPatch) -> list:
    """Every engine open_db makes, and a record of its dispose() calls."""
    made: list = []
    real = session.make_engine

    def tracking(*a: object, **k: object):  # type: ignore[no-untyped-def]
        engine = real(*a, **k)
        engine.disposed = 0
        dispose = engine.dispose

        def counted(*da: object, **dk: object) -> None:
            engine.disposed += 1
            dispose(*da, **dk)

        engine.dispose = counted
        made.append(engine)
        return engine

    monkeypatch.setattr(session, "make_engine", tracking)
    return made


def test_a_refused_schema_leaves_no_engine_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    d = open_db(url)
    with d.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9001_from_a_newer_station'")
    d.dispose()
    made = _track(monkeypatch)
    with pytest.raises(SchemaTooNewError):
        open_db(url)
    assert len(made) == 1
    assert made[0].disposed == 1


@pytest.mark.parametrize("command", [["history"], ["replay", "--last", "5"]])
def test_read_commands_close_the_database(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from inspector.cli.main import main
    from inspector.core.recipe import Recipe, save_recipe

    url = f"sqlite:///{tmp_path / 'log.db'}"
    open_db(url).dispose()
    if command[0] == "replay":
        recipe = tmp_path / "r.json"
        save_recipe(Recipe(name="r", version=1), recipe)
        command = [*command, "--recipe", str(recipe)]
    made = _track(monkeypatch)
    assert main([*command, "--db", url]) == 0
    capsys.readouterr()
    assert made
    assert all(e.disposed >= 1 for e in made)
