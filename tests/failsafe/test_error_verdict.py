"""Every part gets a row: parts that cannot be inspected completely get a logged ERROR verdict.

Each test runs the real CLI (or pipeline) against a SQLite log and asserts that every
part ends with exactly one logged verdict and that no uninspected part is OK.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspector.cli import exitcodes
from inspector.core.backends.onnxruntime_backend import OnnxRuntimeBackend
from inspector.core.model_card import load_card
from inspector.core.pipeline import Pipeline, run_source
from inspector.core.progress import SimpleState
from inspector.core.recipe import Recipe
from inspector.core.sources.folder import FolderSource
from inspector.core.types import InspectionResult, Verdict
from tests.failsafe.broken_models import scaled_output_model
from tests.test_cli import _inspect
from tests.tiny_model import synthetic_image


def _verdicts(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as con:
        return dict(con.execute("select source_key, verdict from inspection").fetchall())


def _write(folder: Path, name: str, defect: bool, seed: int = 0, size: int = 64) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    cv2.imwrite(str(path), synthetic_image(size, defect=defect, seed=seed)[0])
    return path


def test_unreadable_files_get_an_error_row_and_the_run_goes_on(
    tiny_model: Path, image_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (image_folder / "img_002b.png").write_bytes(b"")  # empty
    (image_folder / "img_003b.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)  # truncated
    (image_folder / "img_004b.jpg").write_text("not a jpeg")
    db = tmp_path / "v.db"
    export = tmp_path / "v.csv"
    rc = _inspect(image_folder, tiny_model, db, "--export", str(export))
    assert rc == exitcodes.DEFECTS  # NG parts present; ERRORs never make it 0
    verdicts = _verdicts(db)
    assert len(verdicts) == 9  # 6 good files + 3 bad ones: every part has a row
    bad = {k: v for k, v in verdicts.items() if Path(k).stem.endswith("b")}
    assert set(bad.values()) == {"ERROR"}
    assert len(bad) == 3
    with sqlite3.connect(db) as con:
        rows = con.execute(
            "select reasons, error_stage, image_sha256 from inspection where verdict = 'ERROR'"
        ).fetchall()
    assert all("not inspected (read)" in r[0] and r[1] == "read" for r in rows)
    assert all(r[2] for r in rows)  # the bytes were readable: the content is identified
    # exported too, and the summary says it
    assert export.read_text().count(",ERROR,") == 3
    assert "ERROR 3" in capsys.readouterr().out


def test_only_errors_exit_4_never_0(tiny_model: Path, tmp_path: Path) -> None:
    folder = tmp_path / "ok"
    _write(folder, "a.png", defect=False)
    (folder / "b.png").write_bytes(b"garbage")
    assert _inspect(folder, tiny_model, tmp_path / "v.db") == exitcodes.UNREADABLE
    assert sorted(_verdicts(tmp_path / "v.db").values()) == ["ERROR", "OK"]


@pytest.mark.parametrize(
    ("factor", "offset", "why"),
    [(float("nan"), 0.0, "non-finite"), (-1.0, 0.0, "outside [0, 1]"), (1.0, 5.0, "outside [0, 1]")],
)
def test_broken_model_output_is_an_error_never_ok(
    tmp_path: Path, factor: float, offset: float, why: str
) -> None:
    model = scaled_output_model(tmp_path / "m" / "broken.onnx", factor, offset)
    card = load_card(model)
    backend = OnnxRuntimeBackend(threads=1)
    backend.load(model)
    try:
        pipe = Pipeline(backend, card, Recipe())
        folder = tmp_path / "imgs"
        for i in range(4):
            _write(folder, f"{i}.png", defect=bool(i % 2), seed=i)
        results: list[InspectionResult] = []
        summary = run_source(FolderSource(folder), pipe, results.append, SimpleState())
    finally:
        backend.close()
    assert [r.decision.verdict for r in results] == [Verdict.ERROR] * 4
    assert summary.counts["OK"] == 0
    assert summary.n_errors == 4
    assert all(why in r.decision.reasons[0] and r.error_stage == "output" for r in results)


def test_model_failure_on_one_image_does_not_stop_the_run_and_a_rerun_goes_past_it(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "imgs"
    for i in range(5):
        _write(folder, f"{i}.png", defect=False, seed=i)
    poisoned = _write(folder, "2.png", defect=False, seed=99, size=72)  # the model "cannot run" this size

    original = OnnxRuntimeBackend.infer

    def infer(self: OnnxRuntimeBackend, batch: np.ndarray) -> np.ndarray:
        if batch.shape[1] == 72:
            raise RuntimeError("Failed to allocate memory for requested buffer of size 1234567890")
        return original(self, batch)

    monkeypatch.setattr(OnnxRuntimeBackend, "infer", infer)
    db = tmp_path / "v.db"
    assert _inspect(folder, tiny_model, db) == exitcodes.UNREADABLE
    verdicts = _verdicts(db)
    assert len(verdicts) == 5
    assert verdicts[str(poisoned.resolve())] == "ERROR"
    assert list(verdicts.values()).count("OK") == 4
    # the rerun does not stop at (or re-log) the same file: it is logged already
    assert _inspect(folder, tiny_model, db) == exitcodes.OK
    with sqlite3.connect(db) as con:
        assert con.execute("select count(*) from inspection").fetchone() == (5,)


def test_error_rows_are_left_alone_by_replay(
    tiny_model: Path, image_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from inspector.cli.main import main

    (image_folder / "zz_bad.png").write_bytes(b"nope")
    db = tmp_path / "v.db"
    _inspect(image_folder, tiny_model, db)
    capsys.readouterr()
    stricter = tmp_path / "strict.json"
    stricter.write_text('{"name": "strict", "version": 1, "threshold": 0.01, "min_area_px": 0}')
    flips = tmp_path / "flips.csv"
    rc = main(["replay", "--recipe", str(stricter), "--db", f"sqlite:///{db}", "--export", str(flips)])
    assert rc in (exitcodes.OK, exitcodes.DEFECTS)
    assert "zz_bad" not in flips.read_text()
    assert ",ERROR," not in flips.read_text()


def test_on_error_recipe_setting_is_stated_and_validated(tmp_path: Path) -> None:
    assert Recipe().on_error == "NG"
    assert Recipe(on_error="REVIEW").on_error == "REVIEW"
    with pytest.raises(ValueError, match="on_error"):
        Recipe(on_error="OK")  # type: ignore[arg-type]
