"""The headless CLI end to end: inspect -> DB -> history/replay, exit codes, kill -9 resume."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest

from inspector.cli import exitcodes
from inspector.cli.main import main
from inspector.core.recipe import Recipe, save_recipe
from tests.tiny_model import synthetic_image

ROOT = Path(__file__).resolve().parents[1]


def _rows(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as con:
        return con.execute(
            "select i.source_key, i.verdict, m.sha256, r.name, r.version, i.backend, i.threshold, i.timings"
            " from inspection i join model m on m.id = i.model_id join recipe r on r.id = i.recipe_id"
        ).fetchall()


def _inspect(folder: Path, model: Path, db: Path, *extra: str, archive: Path | None = None) -> int:
    return main(
        [
            "inspect",
            str(folder),
            "--model",
            str(model),
            "--db",
            f"sqlite:///{db}",
            "--archive",
            str(archive or db.parent / "archive"),
            "--station",
            "st1",
            "--no-progress",
            *extra,
        ]
    )


def test_inspect_logs_every_image_with_its_provenance(
    tiny_model: Path, image_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "v.db"
    export = tmp_path / "v.json"
    assert _inspect(image_folder, tiny_model, db, "--export", str(export)) == exitcodes.DEFECTS
    out = capsys.readouterr().out
    assert "OK 3  NG 3  REVIEW 0  ERROR 0  yield 50.0 %" in out
    assert "ONNX Runtime" in out
    assert "per stage (median / p99 ms)" in out
    rows = _rows(db)
    assert len(rows) == 6
    for key, verdict, sha, rname, rver, backend, thr, timings in rows:
        assert Path(key).parent == image_folder.resolve()
        assert verdict in ("OK", "NG")
        assert len(sha) == 64
        assert (rname, rver, backend, thr) == ("default", 1, "onnxruntime", 0.5)
        assert {"infer", "preprocess", "postprocess"} <= set(json.loads(timings))
    with sqlite3.connect(db) as con:
        assert con.execute("select count(*) from prob_map").fetchone() == (6,)
        archived = con.execute(
            "select archive_image_path, archive_overlay_path from inspection where verdict='NG'"
        ).fetchall()
    assert len(archived) == 3
    assert all(Path(a).is_file() and Path(o).is_file() for a, o in archived)
    exported = json.loads(export.read_text())
    assert [e["verdict"] for e in exported] == ["OK", "NG"] * 3
    assert all(e["inspection_id"] for e in exported)

    # a rerun logs nothing new: every file is already there
    assert _inspect(image_folder, tiny_model, db) == exitcodes.OK
    assert "(skipped): 6" in capsys.readouterr().out
    assert len(_rows(db)) == 6


def test_exit_codes(tiny_model: Path, image_folder: Path, tmp_path: Path) -> None:
    db = tmp_path / "v.db"
    assert _inspect(tmp_path / "nope", tiny_model, db) == exitcodes.USAGE
    assert _inspect(image_folder, tmp_path / "missing.onnx", db) == exitcodes.USAGE
    bad_recipe = tmp_path / "r.json"
    bad_recipe.write_text('{"threshold": 7}')
    assert _inspect(image_folder, tiny_model, db, "--recipe", str(bad_recipe)) == exitcodes.USAGE

    ok_only = tmp_path / "ok"
    ok_only.mkdir()
    for i in (0, 2):
        cv2.imwrite(str(ok_only / f"{i}.png"), synthetic_image(64, defect=False, seed=i)[0])
    assert _inspect(ok_only, tiny_model, db) == exitcodes.OK
    (ok_only / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    assert _inspect(ok_only, tiny_model, db) == exitcodes.UNREADABLE

    # same recipe name and version with other parameters: refused, the log stays reproducible
    edited = tmp_path / "edited.json"
    save_recipe(Recipe(min_area_px=3), edited)
    assert _inspect(image_folder, tiny_model, db, "--recipe", str(edited)) == exitcodes.USAGE


def test_history_and_replay(
    tiny_model: Path, image_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "v.db"
    _inspect(image_folder, tiny_model, db)
    capsys.readouterr()
    assert main(["history", "--db", f"sqlite:///{db}", "--verdict", "NG", "--json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(lines) == 3
    assert {x["verdict"] for x in lines} == {"NG"}
    assert main(["history", "--db", f"sqlite:///{db}", "--since", "yesterday"]) == exitcodes.USAGE

    lenient = tmp_path / "lenient.json"
    save_recipe(Recipe(version=2, min_area_px=10_000), lenient)
    capsys.readouterr()
    flips_csv = tmp_path / "flips.csv"
    assert (
        main(
            [
                "replay",
                "--db",
                f"sqlite:///{db}",
                "--recipe",
                str(lenient),
                "--json",
                "--export",
                str(flips_csv),
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["replayed"] == 6
    assert report["flipped"] == 3
    assert report["by_kind"] == {"NG→OK": 3}
    assert len(flips_csv.read_text().splitlines()) == 4  # header + 3 flips


def test_kill_minus_9_in_the_middle_then_rerun_logs_every_image_exactly_once(
    tiny_model: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    n = 300
    for i in range(n):
        img, _ = synthetic_image(192, defect=i % 3 == 0, seed=i)
        cv2.imwrite(str(folder / f"{i:04d}.png"), img)
    db = tmp_path / "v.db"
    cmd = [
        sys.executable,
        "-m",
        "inspector.cli.main",
        "inspect",
        str(folder),
        "--model",
        str(tiny_model),
        "--db",
        f"sqlite:///{db}",
        "--station",
        "st1",
        "--no-progress",
        "--archive",
        str(tmp_path / "a"),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    logged_before_kill = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
        try:
            with sqlite3.connect(db, timeout=1) as con:
                logged_before_kill = con.execute("select count(*) from inspection").fetchone()[0]
        except sqlite3.OperationalError:  # schema not created yet
            continue
        if logged_before_kill >= 20:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    with sqlite3.connect(db) as con:
        after_kill = con.execute("select count(*) from inspection").fetchone()[0]
    assert 20 <= after_kill < n

    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode in (exitcodes.OK, exitcodes.DEFECTS), rerun.stderr
    assert f"(skipped): {after_kill}" in rerun.stdout
    with sqlite3.connect(db) as con:
        keys = [k for (k,) in con.execute("select source_key from inspection")]
        regions_orphans = con.execute(
            "select count(*) from defect_region where inspection_id not in (select id from inspection)"
        ).fetchone()[0]
        maps = con.execute("select count(*) from prob_map").fetchone()[0]
    assert len(keys) == n
    assert len(set(keys)) == n
    assert regions_orphans == 0
    assert maps == n


@pytest.mark.skipif(not os.environ.get("INSPECTOR_TEST_PG_URL"), reason="set INSPECTOR_TEST_PG_URL")
def test_inspect_logs_to_postgresql(tiny_model: Path, image_folder: Path, tmp_path: Path) -> None:
    from db.queries import count_history, history
    from db.session import open_db

    url = os.environ["INSPECTOR_TEST_PG_URL"]
    station = f"pg-{time.time_ns()}"
    args = [
        "inspect",
        str(image_folder),
        "--model",
        str(tiny_model),
        "--db",
        url,
        "--station",
        station,
        "--archive",
        str(tmp_path / "a"),
        "--no-progress",
    ]
    assert main(args) == exitcodes.DEFECTS
    assert main(args) == exitcodes.OK  # resumed: nothing left to do
    db = open_db(url)
    try:
        assert count_history(db, station=station) == 6
        assert sorted(r.verdict.value for r in history(db, station=station)) == ["NG"] * 3 + ["OK"] * 3
    finally:
        db.dispose()


def test_resume_loads_only_this_folders_log(tmp_path: Path) -> None:
    from inspector.cli.inspect_cmd import _key_prefix

    (tmp_path / "line1").mkdir()
    prefix = _key_prefix(str(tmp_path / "line1"))
    assert prefix == str((tmp_path / "line1").resolve()) + os.sep
    assert not str((tmp_path / "line10" / "a.png").resolve()).startswith(prefix)
    assert _key_prefix(f"hot:{tmp_path / 'line1'}") == prefix
    assert _key_prefix("camera:0") is None
