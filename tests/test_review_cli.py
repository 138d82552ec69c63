"""Review findings on the headless CLI: exit codes and messages the README promises."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from inspector.cli import exitcodes
from inspector.cli.main import main
from tests.test_cli import _inspect
from tests.tiny_model import build_tiny_model


def _fixed_size_model(path: Path) -> Path:
    """A contract-following model that only takes 32x32, with a card that feeds it 64x64."""
    import onnx

    build_tiny_model(path, card={"resize": "resize", "input_height": 64, "input_width": 64})
    model = onnx.load(str(path))
    for dim, value in zip(model.graph.input[0].type.tensor_type.shape.dim, [1, 32, 32, 1], strict=True):
        dim.ClearField("dim_param")
        dim.dim_value = value
    onnx.save(model, str(path))
    return path


def test_backend_failure_mid_run_is_fatal_not_defects(
    image_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Exit 1 means "at least one NG"; a backend that fails on every image must not read as that.
    # Each part gets a logged ERROR verdict and the run goes past it (exit 4, never 0).
    model = _fixed_size_model(tmp_path / "m" / "fixed.onnx")
    rc = _inspect(image_folder, model, tmp_path / "v.db")
    assert rc == exitcodes.UNREADABLE
    out, err = capsys.readouterr()
    assert "ERROR 6" in out
    assert "Traceback" not in err
    with sqlite3.connect(tmp_path / "v.db") as con:
        assert con.execute("select verdict, count(*) from inspection group by verdict").fetchall() == [
            ("ERROR", 6)
        ]


def test_archive_failure_is_reported_and_fatal(
    tiny_model: Path, image_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")  # the archive cannot be created: like a full or read-only disk
    db = tmp_path / "v.db"
    rc = _inspect(image_folder, tiny_model, db, archive=blocker)
    captured = capsys.readouterr()
    # the verdicts are still logged ...
    with sqlite3.connect(db) as con:
        assert con.execute("select count(*) from inspection").fetchone() == (6,)
    # ... but the operator must learn that the NG images were not archived
    assert "archive" in captured.err.lower()
    assert "3" in captured.err
    assert rc == exitcodes.FATAL


def test_limit_zero_inspects_nothing(tiny_model: Path, image_folder: Path, tmp_path: Path) -> None:
    db = tmp_path / "v.db"
    assert _inspect(image_folder, tiny_model, db, "--limit", "0") == exitcodes.OK
    with sqlite3.connect(db) as con:
        assert con.execute("select count(*) from inspection").fetchone() == (0,)


def test_negative_limit_is_a_usage_error(tiny_model: Path, image_folder: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        _inspect(image_folder, tiny_model, tmp_path / "v.db", "--limit", "-1")
    assert exc.value.code == exitcodes.USAGE


def test_malformed_model_card_is_a_usage_error_naming_the_card(
    image_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = build_tiny_model(tmp_path / "m" / "bad.onnx", card={"resize": "crop"})
    assert _inspect(image_folder, model, tmp_path / "v.db") == exitcodes.USAGE
    assert "bad.json" in capsys.readouterr().err

    model.with_suffix(".json").write_text("[1, 2]")
    assert _inspect(image_folder, model, tmp_path / "v.db") == exitcodes.USAGE
    assert "bad.json" in capsys.readouterr().err


def test_history_source_folder_does_not_match_sibling_folders(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import cv2

    from tests.tiny_model import synthetic_image

    line1, line10 = tmp_path / "line1", tmp_path / "line10"
    for folder in (line1, line10):
        folder.mkdir()
        cv2.imwrite(str(folder / "a.png"), synthetic_image(64, defect=False)[0])
    db = tmp_path / "v.db"
    assert _inspect(line1, tiny_model, db) == exitcodes.OK
    assert _inspect(line10, tiny_model, db) == exitcodes.OK
    capsys.readouterr()
    assert main(["history", "--db", f"sqlite:///{db}", "--source", str(line1), "--json"]) == exitcodes.OK
    keys = [json.loads(line)["source_key"] for line in capsys.readouterr().out.splitlines()]
    assert keys == [str((line1 / "a.png").resolve())]


def test_bad_export_format_is_refused_before_inspecting(
    tiny_model: Path, image_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "v.db"
    rc = _inspect(image_folder, tiny_model, db, "--export", str(tmp_path / "verdicts.txt"))
    assert rc == exitcodes.USAGE
    assert ".csv or .json" in capsys.readouterr().err
    assert not db.exists() or sqlite3.connect(db).execute("select count(*) from inspection").fetchone() == (
        0,
    )

    from inspector.core.recipe import Recipe, save_recipe

    recipe = tmp_path / "r.json"
    save_recipe(Recipe(), recipe)
    rc = main(
        ["replay", "--db", f"sqlite:///{db}", "--recipe", str(recipe), "--export", str(tmp_path / "x.txt")]
    )
    assert rc == exitcodes.USAGE


def test_model_card_the_pipeline_cannot_feed_is_a_usage_error(
    image_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # every image would otherwise be reported "unreadable" (exit 4) for a model problem
    model = build_tiny_model(tmp_path / "m" / "rgb.onnx", card={"channels": 3})
    assert _inspect(image_folder, model, tmp_path / "v.db") == exitcodes.USAGE
    assert "1-channel" in capsys.readouterr().err


def test_inspect_does_not_keep_every_image_in_memory(
    tiny_model: Path, image_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A folder of 100k images must not hold 100k images + float maps until the run ends.
    import gc
    import weakref

    from db.writer import VerdictWriter
    from inspector.cli import inspect_cmd

    refs: list[weakref.ref] = []
    submit = VerdictWriter.submit

    def submit_and_wait(self: VerdictWriter, result: object, timeout: float | None = None) -> object:
        fut = submit(self, result, timeout)
        fut.result(10)  # committed: the writer lets go of it
        refs.append(weakref.ref(result.prob_map))
        refs.append(weakref.ref(result.frame.image))
        return fut

    alive: list[int] = []
    print_summary = inspect_cmd.print_summary

    def check_then_print(*args: object, **kwargs: object) -> None:
        gc.collect()
        alive.append(sum(r() is not None for r in refs))
        print_summary(*args, **kwargs)

    monkeypatch.setattr(VerdictWriter, "submit", submit_and_wait)
    monkeypatch.setattr(inspect_cmd, "print_summary", check_then_print)
    assert _inspect(image_folder, tiny_model, tmp_path / "v.db") == exitcodes.DEFECTS
    assert len(refs) == 12
    assert alive == [0]


def test_database_failure_while_loading_the_resume_log_is_fatal(
    tiny_model: Path, image_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    import db.history

    def locked(*_a: object, **_k: object) -> None:
        raise OperationalError("select", {}, Exception("database is locked"))

    monkeypatch.setattr(db.history.AlreadyLogged, "__init__", locked)
    assert _inspect(image_folder, tiny_model, tmp_path / "v.db") == exitcodes.FATAL
