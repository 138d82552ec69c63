"""Identity, not paths: resume and "skip already logged" key on content + model + recipe."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import cv2

from inspector.cli import exitcodes
from inspector.core.sources.hotfolder import HotFolderSource
from inspector.core.types import Frame, FrameError
from tests.test_cli import _inspect
from tests.tiny_model import build_tiny_model, synthetic_image


def _count(db: Path) -> int:
    with sqlite3.connect(db) as con:
        return int(con.execute("select count(*) from inspection").fetchone()[0])


def test_a_changed_model_inspects_again_and_says_what_it_skipped(
    tiny_model: Path, image_folder: Path, tmp_path: Path, capsys
) -> None:
    db = tmp_path / "v.db"
    _inspect(image_folder, tiny_model, db)
    assert _count(db) == 6
    capsys.readouterr()
    # same model: nothing to do, and the summary says why
    assert _inspect(image_folder, tiny_model, db) == exitcodes.OK
    assert "(skipped): 6" in capsys.readouterr().out
    assert _count(db) == 6
    # another model: every image is inspected again (it used to skip all 58 silently)
    other = build_tiny_model(tmp_path / "m2" / "other.onnx", gain=20.0)
    assert _inspect(image_folder, other, db) == exitcodes.DEFECTS
    assert _count(db) == 12
    with sqlite3.connect(db) as con:
        assert con.execute("select count(distinct model_id) from inspection").fetchone() == (2,)


def test_skipped_parts_are_counted_and_said(
    tiny_model: Path, image_folder: Path, tmp_path: Path, capsys
) -> None:
    db = tmp_path / "v.db"
    _inspect(image_folder, tiny_model, db)
    capsys.readouterr()
    _inspect(image_folder, tiny_model, db)
    out = capsys.readouterr().out
    assert "already logged with this content, model and recipe (skipped): 6" in out


def test_a_new_file_under_an_old_name_is_inspected_on_resume(
    tiny_model: Path, image_folder: Path, tmp_path: Path
) -> None:
    db = tmp_path / "v.db"
    _inspect(image_folder, tiny_model, db)
    # the line overwrites img_000.png with a new part between runs
    cv2.imwrite(str(image_folder / "img_000.png"), synthetic_image(64, defect=True, seed=77)[0])
    _inspect(image_folder, tiny_model, db)
    assert _count(db) == 7
    with sqlite3.connect(db) as con:
        rows = con.execute(
            "select verdict from inspection where source_key like '%img_000.png' order by id"
        ).fetchall()
    assert rows == [("OK",), ("NG",)]


def test_hot_folder_that_reuses_one_name_inspects_each_new_part(tmp_path: Path) -> None:
    hot = tmp_path / "hot"
    hot.mkdir()
    src = HotFolderSource(hot, settle_s=0.05, poll_interval_s=0.05, use_watchdog=False)
    got: list[Frame | FrameError] = []
    deadline = time.monotonic() + 20
    written = 0

    def stop() -> bool:
        return len(got) >= 10 or time.monotonic() > deadline

    frames = src.frames(stop)
    # write part.png ten times, each time a new part, waiting until the previous one was read
    while written < 10 and time.monotonic() < deadline:
        if len(got) == written:
            tmp = hot / ".part.png.tmp"
            staged = tmp.with_name(".staged.png")  # hidden name: the source ignores it
            cv2.imwrite(str(staged), synthetic_image(64, defect=bool(written % 2), seed=written)[0])
            os.replace(staged, hot / "part.png")
            written += 1
        got.append(next(frames))
    assert len(got) == 10
    assert all(isinstance(f, Frame) for f in got)
    assert len({f.sha256 for f in got if isinstance(f, Frame)}) == 10


def test_parts_rejected_while_the_station_was_blocked_are_inspected_once_it_is_fixed(
    tmp_path: Path, image_folder: Path
) -> None:
    import json

    model = build_tiny_model(tmp_path / "m" / "tiny.onnx")
    card = model.with_suffix(".json")
    good = card.read_text()
    data = json.loads(good)
    data["golden"][0]["expected"] = "NG"  # a wrong golden sample: the self-test fails
    card.write_text(json.dumps(data))
    db = tmp_path / "v.db"
    assert _inspect(image_folder, model, db) == exitcodes.UNREADABLE
    with sqlite3.connect(db) as con:
        assert con.execute("select distinct verdict, error_stage from inspection").fetchall() == [
            ("ERROR", "selftest")
        ]
    card.write_text(good)  # fixed: same model file, same recipe
    assert _inspect(image_folder, model, db) == exitcodes.DEFECTS
    with sqlite3.connect(db) as con:
        rows = con.execute("select verdict, count(*) from inspection group by verdict order by 1").fetchall()
    assert rows == [("ERROR", 6), ("NG", 3), ("OK", 3)]  # the blocked rows stay on record


def test_an_installed_model_takes_its_golden_samples_along(tmp_path: Path) -> None:
    from inspector.core.model_card import load_card
    from inspector.services.promotion import install_model

    model = build_tiny_model(tmp_path / "run" / "model.onnx")
    installed = install_model(model, tmp_path / "models")
    golden = load_card(installed).golden
    assert golden
    assert all((installed.parent / g.image).is_file() for g in golden)
