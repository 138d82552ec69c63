"""Review findings on db/: archive and writer edge cases."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from db.blobs import write_png
from db.models import Inspection
from db.session import Database, open_db
from db.writer import VerdictWriter
from inspector.core.overlay import render_result
from inspector.core.types import Verdict
from tests.db_factories import make_result


@pytest.fixture
def database(tmp_path: Path) -> Database:
    d = open_db(f"sqlite:///{tmp_path / 'w.db'}")
    yield d
    d.dispose()


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_write_png_keeps_gray_alpha_images(tmp_path: Path, dtype: type) -> None:
    # image_io accepts 2-channel gray+alpha PNGs; the archive must be able to store them
    img = np.zeros((8, 8, 2), dtype)
    img[..., 0] = np.arange(64, dtype=dtype).reshape(8, 8)
    img[..., 1] = 200
    out = write_png(tmp_path / "ga.png", img)
    back = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert back is not None
    assert back.dtype == dtype
    gray = back if back.ndim == 2 else back[..., 0]
    assert np.array_equal(gray, img[..., 0])


def test_gray_alpha_ng_image_is_archived(database: Database, tmp_path: Path) -> None:
    r = make_result("/d/ga.png", Verdict.NG)
    r.frame.image = np.dstack([r.frame.image, np.full_like(r.frame.image, 255)])
    with VerdictWriter(database, "st", archive_dir=tmp_path / "a", overlay=render_result) as w:
        rid = w.submit(r).result(10)
    assert w.archive_errors == 0
    with database.read() as s:
        row = s.get(Inspection, rid)
        assert Path(row.archive_image_path).is_file()
        assert Path(row.archive_overlay_path).is_file()


def test_overlay_failure_keeps_the_archived_image(database: Database, tmp_path: Path) -> None:
    # the image was written before the overlay failed: the row must point at it, not orphan it
    def bad_overlay(_r: object) -> np.ndarray:
        raise RuntimeError("overlay bug")

    archive = tmp_path / "a"
    with VerdictWriter(database, "st", archive_dir=archive, overlay=bad_overlay) as w:
        rid = w.submit(make_result("/d/ng.png", Verdict.NG)).result(10)
    assert w.archive_errors == 1
    files = sorted(archive.rglob("*.png"))
    with database.read() as s:
        row = s.get(Inspection, rid)
        assert row.archive_overlay_path is None
        assert [Path(row.archive_image_path)] == files


def test_write_png_failure_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full_disk(self: Path, target: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "replace", full_disk)
    with pytest.raises(OSError, match="No space"):
        write_png(tmp_path / "x.png", np.zeros((8, 8), np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_stats_can_be_read_while_the_writer_commits(database: Database) -> None:
    # The GUI polls stats() from its own thread while the writer thread appends batch rates.
    import threading
    import time

    w = VerdictWriter(database, "st", batch_size=1, flush_interval_s=0.0)
    try:
        now = time.monotonic()
        w._rate.extend((now, 1) for _ in range(1_000_000))  # a long window to iterate over
        stop = threading.Event()

        def produce() -> None:
            n = 0
            while not stop.is_set():
                w.submit(make_result(f"/d/{n}.png"))
                n += 1

        t = threading.Thread(target=produce)
        t.start()
        try:
            deadline = time.monotonic() + 3
            while w.stats().written < 3 and time.monotonic() < deadline:
                pass
            for _ in range(20):
                assert w.stats().rows_per_s > 0
        finally:
            stop.set()
            t.join()
    finally:
        w.close()


def test_failed_commit_leaves_no_orphan_archive_files(database: Database, tmp_path: Path) -> None:
    # archive files are written before the commit; a verdict that is never logged must not
    # leave NG images in the archive that no row points at (they would be taken for logged ones)
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    def disk_full(_session: Session) -> None:
        raise OSError(28, "disk full")

    archive = tmp_path / "a"
    event.listen(Session, "before_commit", disk_full)
    try:
        w = VerdictWriter(database, "st", archive_dir=archive, overlay=render_result, retry_delay_s=0.01)
        with w, pytest.raises(OSError, match="disk full"):
            w.submit(make_result("/d/ng.png", Verdict.NG)).result(10)
    finally:
        event.remove(Session, "before_commit", disk_full)
    assert list(archive.rglob("*.png")) == []
