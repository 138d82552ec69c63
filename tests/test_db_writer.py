"""VerdictWriter: commit-then-resolve futures, batching, exactly-once, failures, archive."""

from __future__ import annotations

import queue
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from db.models import Inspection, Model, ProbMap, RecipeVersion, Station
from db.session import Database, open_db
from db.writer import VerdictWriter, WriterClosedError
from inspector.core.model_card import ModelCard
from inspector.core.recipe import Recipe
from inspector.core.types import Verdict
from tests.db_factories import MODEL_SHA, make_result


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "w.db"


@pytest.fixture
def database(db_path: Path) -> Database:
    d = open_db(f"sqlite:///{db_path}")
    yield d
    d.dispose()


def _count(d: Database, model: type = Inspection) -> int:
    with d.read() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_future_resolves_only_after_commit(database: Database, db_path: Path) -> None:
    seen: list[int] = []

    def check_from_other_connection(fut: object) -> None:
        # runs in the writer thread the moment the future is resolved
        raw = sqlite3.connect(db_path)
        seen.append(
            raw.execute("SELECT count(*) FROM inspection WHERE id = ?", (fut.result(),)).fetchone()[0]
        )
        raw.close()

    with VerdictWriter(database, "st", flush_interval_s=0.0) as w:
        futs = [w.submit(make_result(f"/d/{i}.png")) for i in range(5)]
        for f in futs:
            f.add_done_callback(check_from_other_connection)
        ids = [f.result(timeout=10) for f in futs]
    assert len(set(ids)) == 5
    assert seen == [1] * 5


def test_many_submits_are_batched(database: Database) -> None:
    commits: list[int] = []
    event.listen(database.engine, "commit", lambda conn: commits.append(1))
    w = VerdictWriter(database, "st", batch_size=50, flush_interval_s=0.5)
    futs = [w.submit(make_result(f"/d/{i}.png")) for i in range(200)]
    w.close()
    assert all(f.done() and not f.exception() for f in futs)
    assert w.stats().batches <= 8
    assert len(commits) <= 8
    assert _count(database) == 200


def test_two_thousand_results_logged_exactly_once(database: Database) -> None:
    w = VerdictWriter(database, "st")
    futs = [
        w.submit(make_result(f"/d/{i:05d}.png", Verdict.NG if i % 7 == 0 else Verdict.OK))
        for i in range(2000)
    ]
    w.close()
    ids = [f.result(timeout=0) for f in futs]
    assert len(set(ids)) == 2000
    with database.read() as s:
        assert s.scalar(select(func.count(Inspection.id))) == 2000
        assert s.scalar(select(func.count(func.distinct(Inspection.source_key)))) == 2000
        assert s.scalar(select(func.count()).select_from(ProbMap)) == 2000
        assert s.scalar(select(func.count()).select_from(Station)) == 1
    st = w.stats()
    assert (st.written, st.failed, st.errors, st.queued) == (2000, 0, 0, 0)


def test_row_contents_and_registration(database: Database) -> None:
    card = ModelCard(name="unet-v3", sha256=MODEL_SHA, threshold=0.4)
    recipe = Recipe(name="cans", version=3, threshold=0.4)
    at = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    prob = np.zeros((8, 8), np.float32)
    prob[2, 3] = 0.5
    with VerdictWriter(database, "line-2", recipes=[recipe], models=[(card, "/m/unet.onnx")]) as w:
        rid = w.submit(
            make_result("/d/x.png", Verdict.NG, inspected_at=at, recipe=("cans", 3), prob=prob)
        ).result(10)
    with database.read() as s:
        row = s.get(Inspection, rid)
        assert (row.verdict, row.n_regions, row.inspected_at, row.timings["infer"]) == ("NG", 1, at, 5.5)
        assert row.captured_at == at - timedelta(milliseconds=5)
        assert len(row.regions) == 1
        assert row.regions[0].bbox_w == 2
        m = s.scalar(select(Model))
        assert (m.name, m.path, m.card["threshold"]) == ("unet-v3", "/m/unet.onnx", 0.4)
        r = s.scalar(select(RecipeVersion))
        assert (r.name, r.version, r.params["threshold"]) == ("cans", 3, 0.4)
        png = row.prob_map.png
    from db.blobs import decode_prob_png

    assert decode_prob_png(png)[2, 3] == pytest.approx(128 / 255)


class _FailCommits:
    """Makes the next ``n`` commits raise, after rows (station included) were flushed."""

    def __init__(self, n: int) -> None:
        self.left = n

    def __call__(self, session: Session) -> None:
        if self.left > 0:
            self.left -= 1
            raise OSError("disk full (simulated)")


def test_failed_batch_fails_its_futures_and_writer_recovers(database: Database) -> None:
    fail = _FailCommits(2)  # the first try and its retry
    event.listen(Session, "before_commit", fail)
    try:
        w = VerdictWriter(database, "st", flush_interval_s=0.0, retry_delay_s=0.01)
        bad = w.submit(make_result("/d/bad.png"))
        with pytest.raises(OSError, match="disk full"):
            bad.result(timeout=10)
        assert w.alive
        assert w.errors == 2
        assert "disk full" in w.stats().last_error
        # the station row was rolled back; a stale cached id would break the FK here
        good = w.submit(make_result("/d/good.png"))
        assert good.result(timeout=10) > 0
        w.close()
    finally:
        event.remove(Session, "before_commit", fail)
    assert _count(database) == 1
    assert w.stats().failed == 1


def test_retry_once_rescues_a_transient_error(database: Database) -> None:
    fail = _FailCommits(1)
    event.listen(Session, "before_commit", fail)
    try:
        with VerdictWriter(database, "st", flush_interval_s=0.0, retry_delay_s=0.01) as w:
            assert w.submit(make_result("/d/a.png")).result(timeout=10) > 0
    finally:
        event.remove(Session, "before_commit", fail)
    assert w.errors == 1
    assert w.stats().failed == 0


def test_unreachable_database_reports_errors(tmp_path: Path) -> None:
    d = open_db(f"sqlite:///{tmp_path / 'gone.db'}")
    d.engine.dispose()
    with d.engine.begin() as conn:  # schema vanishes under the writer
        conn.exec_driver_sql("DROP TABLE prob_map")
    w = VerdictWriter(d, "st", flush_interval_s=0.0, retry_delay_s=0.01)
    fut = w.submit(make_result())
    with pytest.raises(Exception, match="prob_map"):
        fut.result(timeout=10)
    assert w.alive
    w.close()
    d.dispose()


def test_bad_result_fails_alone(database: Database) -> None:
    broken = make_result("/d/broken.png")
    broken.prob_map = np.zeros((2, 2, 2, 2), np.float32)  # not an image
    with VerdictWriter(database, "st", flush_interval_s=0.2) as w:
        f_bad = w.submit(broken)
        f_ok = w.submit(make_result("/d/fine.png"))
        assert f_ok.result(timeout=10) > 0
        assert f_bad.exception(timeout=10) is not None
    assert _count(database) == 1


def test_flush_waits_for_commits(database: Database) -> None:
    w = VerdictWriter(database, "st", flush_interval_s=5.0)  # would otherwise wait for more rows
    futs = [w.submit(make_result(f"/d/{i}.png")) for i in range(3)]
    assert w.flush(timeout=10)
    assert all(f.done() for f in futs)
    assert _count(database) == 3
    w.close()


def test_submit_after_close_raises(database: Database) -> None:
    w = VerdictWriter(database, "st")
    w.close()
    w.close()  # idempotent
    with pytest.raises(WriterClosedError):
        w.submit(make_result())


def test_bounded_queue_applies_back_pressure(database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    gate = threading.Event()
    w = VerdictWriter(database, "st", batch_size=1, flush_interval_s=0.0, max_queue=2)
    original = w._commit
    monkeypatch.setattr(w, "_commit", lambda items: (gate.wait(10), original(items))[1])
    futs = [w.submit(make_result(f"/d/{i}.png")) for i in range(3)]  # 1 in flight + 2 queued
    with pytest.raises(queue.Full):
        w.submit(make_result("/d/overflow.png"), timeout=0.05)
    gate.set()
    w.close()
    assert all(f.result(timeout=0) > 0 for f in futs)


def test_ng_and_review_are_archived(database: Database, tmp_path: Path) -> None:
    archive = tmp_path / "archive"

    def overlay(result: object) -> np.ndarray:
        return np.zeros((8, 8, 3), np.uint8)

    with VerdictWriter(database, "st", archive_dir=archive, overlay=overlay) as w:
        ids = {v: w.submit(make_result(f"/d/{v}.png", v)).result(10) for v in Verdict}
    with database.read() as s:
        ok = s.get(Inspection, ids[Verdict.OK])
        assert ok.archive_image_path is None
        for v in (Verdict.NG, Verdict.REVIEW):
            row = s.get(Inspection, ids[v])
            image, over = Path(row.archive_image_path), Path(row.archive_overlay_path)
            assert image.is_file()
            assert over.is_file()
            assert image.parent.parent == archive.resolve()
            assert len(image.parent.name) == 10  # YYYY-MM-DD
    assert w.archive_errors == 0


def test_archive_failure_keeps_the_verdict(database: Database, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with VerdictWriter(database, "st", archive_dir=blocker) as w:
        rid = w.submit(make_result("/d/ng.png", Verdict.NG)).result(10)
    assert rid > 0
    assert w.archive_errors == 1
    with database.read() as s:
        assert s.get(Inspection, rid).archive_image_path is None


def test_stats_report_rate(database: Database) -> None:
    with VerdictWriter(database, "st", flush_interval_s=0.0) as w:
        for f in [w.submit(make_result(f"/d/{i}.png")) for i in range(20)]:
            f.result(10)
        assert w.stats().rows_per_s > 0


def test_concurrent_writes_from_another_thread_do_not_lock_out(database: Database) -> None:
    # GUI-side writes (reviews, recipes) interleave with the writer thread;
    # IMMEDIATE write transactions wait on busy_timeout instead of failing.
    from db import queries as q

    first = make_result("/d/first.png")
    with VerdictWriter(database, "st", batch_size=8, flush_interval_s=0.0) as w:
        rid = w.submit(first).result(10)
        futs = [w.submit(make_result(f"/d/{i}.png")) for i in range(400)]
        for i in range(40):
            q.add_review(database, rid, "confirm_ok", f"op{i}")
            q.history(database, limit=20)
        assert all(f.result(timeout=30) > 0 for f in futs)
    assert w.errors == 0
    assert _count(database) == 401


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".bmp"])
def test_a_part_read_from_a_file_is_archived_as_those_bytes(
    database: Database, tmp_path: Path, suffix: str
) -> None:
    """The archive keeps the file that was inspected, byte for byte (no second encode): the
    archived file hashes to the row's sha256, in the file's own format."""
    import hashlib

    import cv2

    from inspector.core.sources.folder import read_file_frame

    part = tmp_path / f"part{suffix}"
    rng = np.random.default_rng(3)
    cv2.imwrite(str(part), rng.integers(0, 255, (40, 48), np.uint8))
    frame = read_file_frame(part, str(part), "folder", 0)
    assert frame.encoded == part.read_bytes()
    result = make_result(str(part), Verdict.NG, size=(40, 48))
    result.frame = frame
    with VerdictWriter(database, "st", archive_dir=tmp_path / "archive") as w:
        rid = w.submit(result).result(10)
    with database.read() as s:
        row = s.get(Inspection, rid)
    archived = Path(row.archive_image_path)
    assert archived.suffix == suffix
    assert archived.read_bytes() == part.read_bytes()
    assert hashlib.sha256(archived.read_bytes()).hexdigest() == frame.sha256 == row.image_sha256


def test_a_camera_frame_is_archived_as_a_lossless_png(database: Database, tmp_path: Path) -> None:
    result = make_result("cam0:#7", Verdict.NG, size=(16, 16))
    assert result.frame.encoded is None
    with VerdictWriter(database, "st", archive_dir=tmp_path / "archive") as w:
        rid = w.submit(result).result(10)
    with database.read() as s:
        archived = Path(s.get(Inspection, rid).archive_image_path)
    import cv2

    assert archived.suffix == ".png"
    assert np.array_equal(cv2.imread(str(archived), cv2.IMREAD_UNCHANGED), result.frame.image)
