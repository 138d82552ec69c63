"""This stop's new paths keep the fail-safe property:

- an NG part read from a file is archived as the file's own bytes; when that archive write
  fails (full or unwritable disk), the part's verdict is still logged, never lost, and the row
  points at no file;
- ``auto`` on a machine without TensorRT goes to a CPU backend without a word about engines;
  the station still runs the golden-sample self-test on it and logs every part, and with the
  self-test failing every part is logged ERROR, none OK.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from db.models import Inspection
from db.session import open_db
from db.writer import VerdictWriter
from inspector.core.backends.select import select_backend
from inspector.core.model_card import load_card
from inspector.core.pipeline import Pipeline, run_source
from inspector.core.progress import SimpleState
from inspector.core.recipe import Recipe
from inspector.core.selftest import run_selftest
from inspector.core.sources.folder import FolderSource
from tests.fakes.support import block_modules


def _rows(url: str) -> list[Inspection]:
    database = open_db(url)
    try:
        with database.read() as s:
            rows = list(s.scalars(select(Inspection)))
            s.expunge_all()
            return rows
    finally:
        database.dispose()


def _run(model: Path, folder: Path, url: str, archive: Path, blocked: str | None = None) -> int:
    backend = select_backend("auto", model, threads=1, probe_cache=archive.parent / "probe.json")
    try:
        card = load_card(model)
        pipeline = Pipeline(backend, card, Recipe())
        report = run_selftest(pipeline)
        pipeline.blocked = blocked or (None if report.passed else report.reason)
        database = open_db(url)
        with VerdictWriter(database, "st", archive_dir=archive, flush_interval_s=0.0) as writer:
            futures = []
            run_source(
                FolderSource(folder), pipeline, lambda r: futures.append(writer.submit(r)), SimpleState()
            )
            assert all(f.result(timeout=30) > 0 for f in futures)
            errors = writer.archive_errors
        database.dispose()
        assert "TensorRT" not in backend.info().notice
        return errors
    finally:
        backend.close()


def test_a_failed_archive_write_of_a_file_part_keeps_its_verdict(
    tiny_model: Path, image_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    block_modules(monkeypatch, "tensorrt")
    blocker = tmp_path / "archive-is-a-file"
    blocker.write_text("not a folder")  # every archive write fails, as on a full or read-only disk
    url = f"sqlite:///{tmp_path / 'log.db'}"
    errors = _run(tiny_model, image_folder, url, blocker)
    rows = _rows(url)
    assert len(rows) == 6  # every part logged
    assert sorted(r.verdict for r in rows) == ["NG"] * 3 + ["OK"] * 3
    assert errors == 3  # the three NG parts' archive writes failed, and were counted
    assert all(r.archive_image_path is None for r in rows)  # no row points at a missing file


def test_archived_file_parts_are_the_inspected_bytes(
    tiny_model: Path, image_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib

    block_modules(monkeypatch, "tensorrt")
    url = f"sqlite:///{tmp_path / 'log.db'}"
    assert _run(tiny_model, image_folder, url, tmp_path / "archive") == 0
    ng = [r for r in _rows(url) if r.verdict == "NG"]
    assert len(ng) == 3
    for r in ng:
        data = Path(r.archive_image_path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == r.image_sha256
        assert data == Path(r.image_path).read_bytes()


def test_without_tensorrt_a_blocked_station_logs_every_part_as_error(
    tiny_model: Path, image_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    block_modules(monkeypatch, "tensorrt")
    url = f"sqlite:///{tmp_path / 'log.db'}"
    _run(tiny_model, image_folder, url, tmp_path / "archive", blocked="self-test failed: golden sample 1")
    rows = _rows(url)
    assert len(rows) == 6
    assert {r.verdict for r in rows} == {"ERROR"}
