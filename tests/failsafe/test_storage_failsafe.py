"""Storage fail-safes: no value poisons its batch, the CLI keeps no per-image state, oversized
files are refused from their size and header, and database trouble stops a run before the
first image instead of after the whole folder.

The CLI tests run the real ``inspector inspect`` against SQLite files; the writer test
makes one row of a batch violate a constraint.
"""

from __future__ import annotations

import builtins
import csv
import gc
import os
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import cv2
import pytest

import db.writer as writer_mod
from db.models import Inspection
from db.session import Database, open_db
from db.writer import VerdictWriter
from inspector.cli import exitcodes
from inspector.cli.main import main
from inspector.cli.report import VerdictRow
from inspector.core import image_io
from inspector.core.image_io import ImageDecodeError, read_image
from inspector.core.types import InspectionResult, Verdict
from tests.db_factories import make_result
from tests.test_cli import _inspect
from tests.test_image_io import _raw_png
from tests.tiny_model import synthetic_image

GB = 1024**3


def _png(seed: int, defect: bool = False, size: int = 64) -> bytes:
    ok, buf = cv2.imencode(".png", synthetic_image(size, defect=defect, seed=seed)[0])
    assert ok
    return buf.tobytes()


def _write_bytes_name(folder: Path, name: bytes, data: bytes) -> None:
    """Create a file whose name is raw bytes (not valid UTF-8), as a camera PC or a Windows
    share with a legacy code page leaves them."""
    fd = os.open(os.fsencode(folder) + b"/" + name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def _verdicts(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as con:
        return dict(con.execute("select source_key, verdict from inspection").fetchall())


def _folder(tmp_path: Path, n: int, size: int = 64) -> Path:
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(n):
        (folder / f"img_{i:04d}.png").write_bytes(_png(i, defect=i % 2 == 1, size=size))
    return folder


@pytest.fixture
def run_source_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts runs that started: a refused database must stop the CLI before the first image."""
    import inspector.core.pipeline as pipeline_mod

    calls: list[int] = []
    real = pipeline_mod.run_source

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline_mod, "run_source", counting)
    return calls


# -- item 7: no poisoned batches ----------------------------------------------------------


def test_non_utf8_file_name_is_logged_and_its_neighbours_too(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _folder(tmp_path, 20)
    _write_bytes_name(folder, b"bad\xff.png", _png(99))  # a good image with an odd name
    _write_bytes_name(folder, b"worse\xfe.png", b"not an image")  # an ERROR row with an odd name
    db = tmp_path / "v.db"
    export = tmp_path / "v.csv"
    assert _inspect(folder, tiny_model, db, "--export", str(export)) == exitcodes.DEFECTS
    out, err = capsys.readouterr()
    assert "not logged" not in err
    assert "logged to DB: 22" in out
    verdicts = _verdicts(db)
    assert len(verdicts) == 22  # the 20 neighbours and both odd names
    odd = {Path(k).name: v for k, v in verdicts.items() if "\\x" in k}
    assert odd == {"bad\\xff.png": "OK", "worse\\xfe.png": "ERROR"}
    with export.open(encoding="utf-8", newline="") as fh:
        exported = list(csv.DictReader(fh))
    assert len(exported) == 22
    assert {r["key"] for r in exported} == set(verdicts)
    assert all(r["inspection_id"] for r in exported)

    # a rerun finds every part, the odd ones included, and logs nothing twice
    assert _inspect(folder, tiny_model, db) == exitcodes.OK
    assert "(skipped): 22" in capsys.readouterr().out
    assert len(_verdicts(db)) == 22


def test_values_too_long_or_not_utf8_are_made_storable(tmp_path: Path) -> None:
    database = open_db(f"sqlite:///{tmp_path / 'w.db'}")
    r = make_result("/d/bad\udcff.png", Verdict.NG)
    r.frame.source = "folder " + "s" * 900
    r.backend = "b" * 300
    r.decision.reasons = ["region 0: bad\udcff", "nul\x00byte"]
    with VerdictWriter(database, "st", flush_interval_s=0.0) as w:
        row_id = w.submit(r).result(timeout=10)
    with database.read() as s:
        row = s.get(Inspection, row_id)
        assert row is not None
        assert row.source_key == "/d/bad\\xff.png"
        assert row.image_path == "/d/bad\\xff.png"
        assert len(row.source) <= 500
        assert row.source.endswith("(truncated)")
        assert len(row.backend) <= 100
        assert row.backend.startswith("bbbb")
        assert row.reasons == ["region 0: bad\\xff", "nul\\x00byte"]
    database.dispose()


def test_one_unstorable_row_fails_alone_and_its_batch_neighbours_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = open_db(f"sqlite:///{tmp_path / 'w.db'}")
    real = writer_mod._inspection_row

    def poisoned(r: InspectionResult, *args: Any) -> Inspection:
        row = real(r, *args)
        if r.frame.key.endswith("poison.png"):
            row.verdict = "BAD"  # violates the verdict CHECK constraint: this row cannot be stored
        return row

    monkeypatch.setattr(writer_mod, "_inspection_row", poisoned)
    from db.writer import RowNotStoredError

    archive = tmp_path / "archive"
    keys = [f"/d/{i}.png" for i in range(9)]
    keys.insert(4, "/d/poison.png")
    w = VerdictWriter(database, "st", flush_interval_s=30.0, retry_delay_s=0.01, archive_dir=archive)
    futs = [w.submit(make_result(k, Verdict.NG)) for k in keys]
    assert w.flush(timeout=60)  # all ten went in one batch
    bad = futs.pop(4)
    exc = bad.exception(timeout=0)
    assert isinstance(exc, RowNotStoredError)
    assert "CHECK constraint failed" in str(exc)
    assert "[SQL" not in str(exc)
    assert "\n" not in str(exc)
    assert len(str(exc)) < 300
    ids = [f.result(timeout=0) for f in futs]
    assert len(set(ids)) == 9
    st = w.stats()
    assert (st.written, st.failed) == (9, 1)
    w.close()
    with database.read() as s:
        assert sorted(s.query(Inspection.source_key).all()) == sorted((k,) for k in keys if "poison" not in k)
    # the poisoned row's archive copy went with it: no file without its row
    assert len(list(archive.rglob("*.png"))) == 9
    database.dispose()


def test_not_logged_lines_are_short_and_counted(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = writer_mod._inspection_row

    def unstorable(*args: Any) -> Inspection:
        row = real(*args)
        row.verdict = "BAD"
        return row

    monkeypatch.setattr(writer_mod, "_inspection_row", unstorable)
    folder = _folder(tmp_path, 14, size=32)
    assert _inspect(folder, tiny_model, tmp_path / "v.db") == exitcodes.FATAL
    out, err = capsys.readouterr()
    lines = [x for x in err.splitlines() if x.startswith("not logged:")]
    assert 1 <= len(lines) <= 10  # the last few, not one line per image of an endless run
    assert all(len(x) < 400 and "[SQL" not in x and "parameters" not in x for x in lines)
    assert "14 verdicts were not logged" in err
    assert "logged to DB: 0" in out


# -- item 8: bounded memory, oversized files ----------------------------------------------


class _CountingFile:
    def __init__(self, fh: Any, counter: dict[str, int]) -> None:
        self._fh = fh
        self._counter = counter

    def read(self, n: int = -1) -> bytes:
        data = self._fh.read(n)
        self._counter["read"] += len(data)
        return data

    def readinto(self, buf: Any) -> int:
        n = self._fh.readinto(buf)
        self._counter["read"] += n or 0
        return n

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)

    def __enter__(self) -> _CountingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()


@pytest.fixture
def bytes_read(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Bytes image_io reads from files; reading a whole file with read_bytes is forbidden."""
    counter = {"read": 0}

    def counting_open(*args: Any, **kwargs: Any) -> _CountingFile:
        return _CountingFile(builtins.open(*args, **kwargs), counter)

    def whole_file(self: Path) -> bytes:
        raise AssertionError(f"{self} was read whole before any check")

    monkeypatch.setattr(image_io, "open", counting_open, raising=False)
    monkeypatch.setattr(Path, "read_bytes", whole_file)
    return counter


def _sparse(path: Path, head: bytes, size: int) -> Path:
    with path.open("wb") as fh:
        fh.write(head)
        fh.truncate(size)  # a hole: no disk space, no time
    return path


def test_file_over_the_byte_limit_is_refused_without_reading_it(
    tmp_path: Path, bytes_read: dict[str, int]
) -> None:
    big = _sparse(tmp_path / "big.png", _png(0), 2 * GB)
    with pytest.raises(ImageDecodeError, match=r"big\.png: file too large: 2\.1 GB"):
        read_image(big)
    assert bytes_read["read"] == 0


def test_image_too_large_is_refused_from_its_header_without_reading_the_rest(
    tmp_path: Path, bytes_read: dict[str, int]
) -> None:
    head = _raw_png(60000, 60000, 8, 0, b"\x00" + bytes(60000))[:-12]  # no IEND: the file goes on
    bomb = _sparse(tmp_path / "bomb.png", head, 300 * 1024**2)  # under the byte limit
    with pytest.raises(ImageDecodeError, match=r"bomb\.png: image too large: 60000x60000"):
        read_image(bomb)
    assert 0 < bytes_read["read"] <= 64 * 1024


def test_byte_limit_follows_max_pixels_and_is_configurable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(_png(0))
    assert read_image(path)[0].shape == (64, 64)
    monkeypatch.setattr(image_io, "MAX_FILE_BYTES", 100)
    with pytest.raises(ImageDecodeError, match="file too large"):
        read_image(path)
    monkeypatch.setattr(image_io, "MAX_FILE_BYTES", None)  # derived from MAX_PIXELS
    monkeypatch.setattr(image_io, "MAX_PIXELS", 10)
    assert image_io.max_file_bytes() == 10 * 8 + image_io.FILE_SLACK_BYTES


def test_oversized_file_in_a_folder_gets_an_error_row_and_the_run_goes_on(
    tiny_model: Path, image_folder: Path, tmp_path: Path
) -> None:
    _sparse(image_folder / "img_huge.png", _png(1), 2 * GB)
    db = tmp_path / "v.db"
    assert _inspect(image_folder, tiny_model, db) == exitcodes.DEFECTS
    verdicts = {Path(k).name: v for k, v in _verdicts(db).items()}
    assert len(verdicts) == 7
    assert verdicts["img_huge.png"] == "ERROR"
    with sqlite3.connect(db) as con:
        (reasons,) = con.execute("select reasons from inspection where verdict = 'ERROR'").fetchone()
    assert "file too large" in reasons


def test_cli_keeps_no_per_image_state(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The structure, not timing: with the writer's queue bounded at 8, the CLI may hold the
    rows still in flight, never one per image of the run.

    Live rows and futures are tracked with weak references: ``gc.get_objects()`` while the
    writer's threads build tuples makes their ``PyTuple_SetItem`` fail (SystemError)."""
    import weakref

    import inspector.cli.inspect_cmd as inspect_mod

    alive: list[tuple[int, int]] = []
    live_rows = [0]
    live_futures: weakref.WeakSet[Future[int]] = weakref.WeakSet()

    def _gone() -> None:
        live_rows[0] -= 1

    class TrackedRow(VerdictRow):  # no __slots__: weak-referenceable
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            live_rows[0] += 1
            weakref.finalize(self, _gone)

    monkeypatch.setattr(inspect_mod, "VerdictRow", TrackedRow)

    class SmallQueueWriter(VerdictWriter):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **{**kwargs, "max_queue": 8, "batch_size": 8})
            self.n = 0

        def submit(self, result: InspectionResult, timeout: float | None = None) -> Future[int]:
            self.n += 1
            if self.n % 60 == 0:
                gc.collect()
                alive.append((live_rows[0], len(live_futures)))
            fut = super().submit(result, timeout)
            live_futures.add(fut)
            return fut

    monkeypatch.setattr(writer_mod, "VerdictWriter", SmallQueueWriter)
    n = 300
    folder = _folder(tmp_path, n, size=16)
    export = tmp_path / "v.csv"
    assert _inspect(folder, tiny_model, tmp_path / "v.db", "--export", str(export)) == exitcodes.DEFECTS
    assert len(alive) == n // 60
    assert max(r for r, _ in alive) > 0, alive  # the tracking does see the rows in flight
    assert max(r for r, _ in alive) <= 40, alive
    assert max(f for _, f in alive) <= 60, alive
    # the export still lists every row, in order, each with its id
    with export.open(encoding="utf-8", newline="") as fh:
        exported = list(csv.DictReader(fh))
    assert [Path(r["key"]).name for r in exported] == [f"img_{i:04d}.png" for i in range(n)]
    assert all(r["inspection_id"] for r in exported)


def test_json_export_streams_the_same_format(tiny_model: Path, image_folder: Path, tmp_path: Path) -> None:
    import json
    from dataclasses import asdict

    from inspector.cli.report import export_rows

    export = tmp_path / "v.json"
    _inspect(image_folder, tiny_model, tmp_path / "v.db", "--export", str(export))
    rows = json.loads(export.read_text(encoding="utf-8"))
    assert len(rows) == 6
    again = tmp_path / "again.json"
    export_rows([VerdictRow(**r) for r in rows], again)  # the list-based writer, for comparison
    assert export.read_text(encoding="utf-8") == again.read_text(encoding="utf-8")
    assert [asdict(VerdictRow(**r)) for r in rows] == rows


# -- item 10: the database is checked before the first image ------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("sqlite://", "in-memory"),
        ("sqlite:///:memory:", "in-memory"),
        ("sqlite:///file:x?mode=memory&uri=true", "in-memory"),
    ],
)
def test_empty_and_in_memory_database_urls_are_refused(
    url: str,
    message: str,
    tiny_model: Path,
    image_folder: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    run_source_calls: list[int],
) -> None:
    monkeypatch.setenv("INSPECTOR_DATA_DIR", str(tmp_path / "data"))
    args = ["inspect", str(image_folder), "--model", str(tiny_model), "--db", url, "--no-progress"]
    assert main([*args, "--archive", str(tmp_path / "a")]) == exitcodes.USAGE
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert not run_source_calls
    assert not (tmp_path / "data" / "inspections.db").exists()


def _ro_uri(db: Path) -> str:
    return f"sqlite:///file:{db}?mode=ro&uri=true"


@pytest.mark.parametrize("how", ["read-only connection", "chmod"])
def test_read_only_database_is_refused_before_any_image(
    how: str,
    tiny_model: Path,
    image_folder: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    run_source_calls: list[int],
) -> None:
    db_dir = tmp_path / "dbdir"
    db = db_dir / "v.db"
    open_db(f"sqlite:///{db}").dispose()
    url = f"sqlite:///{db}"
    if how == "chmod":
        if os.geteuid() == 0:
            pytest.skip("root ignores file modes; the read-only connection case covers it")
        db.chmod(0o444)
        db_dir.chmod(0o555)
    else:
        url = _ro_uri(db)
    try:
        rc = main(
            [
                *("inspect", str(image_folder), "--model", str(tiny_model), "--db", url),
                *("--no-progress", "--archive", str(tmp_path / "a"), "--station", "st1"),
            ]
        )
    finally:
        db_dir.chmod(0o755)
        db.chmod(0o644)
    out, err = capsys.readouterr()
    assert rc == exitcodes.FATAL
    assert "read-only" in err
    assert "inspected" not in out
    assert not run_source_calls


def test_locked_database_is_refused_quickly_before_any_image(
    tiny_model: Path,
    image_folder: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    run_source_calls: list[int],
) -> None:
    db = tmp_path / "v.db"
    open_db(f"sqlite:///{db}").dispose()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another program holds the write lock
    try:
        t0 = time.monotonic()
        rc = _inspect(image_folder, tiny_model, db)
        elapsed = time.monotonic() - t0
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    err = capsys.readouterr().err
    assert rc == exitcodes.FATAL
    assert "locked" in err
    assert elapsed < 9  # the writer alone would wait 10 s per try, after inspecting everything
    assert not run_source_calls


def _fake_statvfs(full_under: Path, free_bytes: int) -> Callable[[Any], os.statvfs_result]:
    real = os.statvfs

    def statvfs(path: Any) -> os.statvfs_result:
        st = real(path)
        if not Path(os.fsdecode(path)).resolve().is_relative_to(full_under.resolve()):
            return st
        blocks = free_bytes // st.f_frsize
        return os.statvfs_result((st.f_bsize, st.f_frsize, st.f_blocks, blocks, blocks, *tuple(st)[5:]))

    return statvfs


@pytest.mark.parametrize("where", ["database", "archive"])
def test_full_disk_is_refused_up_front_with_the_numbers(
    where: str,
    tiny_model: Path,
    image_folder: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    run_source_calls: list[int],
) -> None:
    db = tmp_path / "dbdir" / "v.db"
    archive = tmp_path / "archive"
    full = db.parent if where == "database" else archive
    full.mkdir(parents=True)
    monkeypatch.setattr(os, "statvfs", _fake_statvfs(full, 50 * 10**6))
    rc = _inspect(image_folder, tiny_model, db, archive=archive)
    out, err = capsys.readouterr()
    assert rc == exitcodes.FATAL
    assert "50 MB free" in err
    assert "200 MB" in err
    assert where in err
    assert "inspected" not in out
    assert not run_source_calls
    # the minimum is configurable
    monkeypatch.setenv("INSPECTOR_MIN_FREE_MB", "20")
    assert _inspect(image_folder, tiny_model, db, archive=archive) == exitcodes.DEFECTS


def test_preflight_passes_on_a_healthy_database(tmp_path: Path) -> None:
    from sqlalchemy import text

    from db.session import preflight

    database: Database = open_db(f"sqlite:///{tmp_path / 'v.db'}")
    with database.read() as s:
        before = s.execute(text("select version_num from alembic_version")).all()
    preflight(database, tmp_path / "archive" / "not yet created")
    with database.read() as s:  # the write probe was rolled back
        assert s.execute(text("select version_num from alembic_version")).all() == before
        assert s.scalar(text("select count(*) from station")) == 0
    database.dispose()
