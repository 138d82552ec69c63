"""The GUI's task runner, and the UI thread never waiting on a slow or locked database (issue 13).

The second half reproduces the findings: each of these used to run its query on the UI
thread and so froze the window for as long as the database made it wait (up to the
10 s busy timeout): a review key (``add_review``), Apply in the Rules tab (recipe save
with retry, then audit), History paging (inside ``data()``) and the History detail
(image decode, ``load_stored_view``). Each test holds the database up for seconds and
checks that the UI call returns at once and the result arrives once the database answers.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, QThread
from sqlalchemy import event, select

from db import queries
from db.models import AuditEvent, Review
from db.session import Database
from inspector.ui.tasks import WRITE_LANE, TaskRunner, TaskState
from tests.test_ui_history import add_inspections, blob_map, make_ctx

pytestmark = pytest.mark.filterwarnings("error")

UI_BUDGET_S = 0.5  # a UI call must come back well within this while the DB is held up for seconds
HOLD_S = 2.5


# -- the runner ----------------------------------------------------------------------------------
def test_results_come_back_on_the_ui_thread(qtbot) -> None:
    runner = TaskRunner()
    seen: list[Any] = []

    def job(state: TaskState, a: int, b: int) -> tuple[int, bool]:
        state.progress(1, 2, "half")
        return a + b, QThread.currentThread() is runner.thread()

    runner.submit(
        "sum",
        job,
        2,
        3,
        on_done=lambda r: seen.append(("done", r, QThread.currentThread() is runner.thread())),
        on_progress=lambda d, t, m: seen.append(("progress", d, t, m)),
    )
    qtbot.waitUntil(lambda: any(s[0] == "done" for s in seen), timeout=5000)
    assert seen == [("progress", 1, 2, "half"), ("done", (5, False), True)]  # ran off, delivered on
    assert not runner.busy()


def test_errors_reach_on_error_with_a_readable_message(qtbot) -> None:
    runner = TaskRunner()
    errors: list[str] = []
    runner.submit("bad", lambda _s: (_ for _ in ()).throw(OSError("disk gone")), on_error=errors.append)
    runner.submit("bug", lambda _s: 1 / 0, on_error=errors.append)
    qtbot.waitUntil(lambda: len(errors) == 2, timeout=5000)
    assert errors == ["disk gone", "ZeroDivisionError: division by zero"]


def test_a_newer_job_with_the_same_tag_makes_the_older_result_stale(qtbot) -> None:
    runner = TaskRunner()
    release = threading.Event()
    results: list[str] = []
    saw_cancel: list[bool] = []

    def slow(state: TaskState, name: str) -> str:
        release.wait(5)
        saw_cancel.append(state.cancelled())
        return name

    runner.submit("detail", slow, "old", on_done=results.append)
    time.sleep(0.05)  # the old one is running
    runner.submit("detail", slow, "new", on_done=results.append)
    release.set()
    assert runner.wait(5)
    assert results == ["new"]  # the old answer never overwrote the new one
    assert runner.dropped == 1
    assert True in saw_cancel  # the old job was told to stop


def test_writes_are_never_dropped_and_a_lane_keeps_their_order(qtbot) -> None:
    runner = TaskRunner()
    order: list[int] = []
    running = {"now": 0, "max": 0}
    lock = threading.Lock()

    def write(_state: TaskState, i: int) -> int:
        with lock:
            running["now"] += 1
            running["max"] = max(running["max"], running["now"])
        time.sleep(0.01)
        order.append(i)
        with lock:
            running["now"] -= 1
        return i

    done: list[int] = []
    for i in range(8):
        runner.submit("review", write, i, on_done=done.append, lane=WRITE_LANE, supersede=False)
    assert runner.wait(10)
    assert order == list(range(8))
    assert done == list(range(8))
    assert running["max"] == 1  # one at a time


def test_a_superseded_job_that_has_not_started_is_skipped(qtbot) -> None:
    runner = TaskRunner()
    gate = threading.Event()
    ran: list[str] = []
    runner.submit("block", lambda _s: gate.wait(5), lane="t-lane", supersede=False)
    runner.submit("page", lambda _s: ran.append("first"), lane="t-lane")
    runner.submit("page", lambda _s: ran.append("second"), lane="t-lane")
    gate.set()
    assert runner.wait(5)
    assert ran == ["second"]


def test_background_task_cancel_still_ends_with_a_signal(qtbot) -> None:
    from inspector.ui.trainer_tasks import BackgroundTask

    task = BackgroundTask()
    started = threading.Event()

    def long_job(state: TaskState) -> str:
        started.set()
        while not state.cancelled():
            time.sleep(0.01)
        raise InterruptedError("export cancelled")

    failed: list[str] = []
    task.failed.connect(failed.append)
    task.start(long_job, "export")
    assert started.wait(5)
    task.cancel()
    assert task.wait(5)
    assert failed == ["export cancelled"]
    assert not task.is_running()


# -- the UI thread and a slow or locked database -----------------------------------------------------
@contextmanager
def write_lock_held(path: Path, seconds: float) -> Iterator[None]:
    """Another program holds SQLite's write lock for ``seconds`` (released in the background)."""
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    timer = threading.Timer(seconds, conn.rollback)
    timer.start()
    try:
        yield
    finally:
        timer.join()
        conn.close()


@contextmanager
def slow_queries(db: Database, delay_s: float) -> Iterator[None]:
    """Every statement waits ``delay_s`` first: a database server far away or very busy."""
    delay = {"s": delay_s}

    def wait(*_args: Any) -> None:
        time.sleep(delay["s"])

    # never removed: other threads may be executing (removing would mutate the listener list under them)
    event.listen(db.engine, "before_cursor_execute", wait)
    try:
        yield
    finally:
        delay["s"] = 0.0


def timed(fn: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


@pytest.fixture
def history(qtbot, db: Database, tmp_path: Path):
    from inspector.ui.history_panel import HistoryPanel

    image_dir = tmp_path / "imgs"
    image_dir.mkdir()
    ids = add_inspections(db, [blob_map(0.9 if i % 2 else 0.0) for i in range(6)], image_dir=image_dir)
    ctx = make_ctx(db, tmp_path)
    ctx.set_role("operator", "olga")
    p = HistoryPanel(ctx)
    qtbot.addWidget(p)
    p.resize(1100, 600)
    p.show()
    qtbot.waitExposed(p)
    qtbot.waitUntil(lambda: p.model.rowCount() == 6, timeout=5000)
    p.table.setFocus()
    p.ids = ids
    return p


def test_a_review_key_does_not_wait_for_a_locked_database(
    qtbot, history, db: Database, tmp_path: Path
) -> None:
    qtbot.keyClick(history.table, Qt.Key.Key_Home)  # newest: NG
    target = history.current_id()
    with write_lock_held(tmp_path / "t.db", HOLD_S):
        _, took = timed(lambda: qtbot.keyClick(history.table, Qt.Key.Key_N))
        assert took < UI_BUDGET_S, f"the N key blocked the UI thread for {took:.2f} s"
        qtbot.keyClick(history.table, Qt.Key.Key_J)  # the operator moves on at once
        assert history.model.row_at(0).review is None  # not stored yet: the lock holds it
    qtbot.waitUntil(lambda: history.model.row_at(0).review == "confirm_ng", timeout=15_000)
    with db.read() as s:
        assert [r.disposition for r in s.scalars(select(Review).where(Review.inspection_id == target))] == [
            "confirm_ng"
        ]


def test_apply_does_not_wait_for_a_locked_database(qtbot, db: Database, tmp_path: Path) -> None:
    from inspector.ui.rules_panel import RulesPanel

    add_inspections(db, [blob_map(0.9)])
    ctx = make_ctx(db, tmp_path)
    ctx.set_role("qa", "quinn")
    panel = RulesPanel(ctx, replay_n=10, debounce_ms=5)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitUntil(lambda: panel.versions.rowCount() > 0 or not panel.tasks.busy(), timeout=5000)
    panel.editor.set_value("threshold", 0.7)
    with write_lock_held(tmp_path / "t.db", HOLD_S):
        job, took = timed(lambda: panel.apply("slow database"))
        assert job is not None
        assert took < UI_BUDGET_S, f"Apply blocked the UI thread for {took:.2f} s"
        assert panel.is_saving()
        assert not panel.apply_button.isEnabled()  # one save at a time
        assert ctx.recipe.version == 1  # current only once stored
    qtbot.waitUntil(lambda: ctx.recipe.version == 2 and not panel.is_saving(), timeout=15_000)
    assert ctx.recipe.threshold == 0.7
    with db.read() as s:
        assert s.scalar(select(AuditEvent).where(AuditEvent.action == "recipe.apply")) is not None
    panel.shutdown()


def test_a_failed_save_says_so_and_keeps_the_running_recipe(qtbot, db: Database, tmp_path: Path) -> None:
    from inspector.ui.rules_panel import RulesPanel

    ctx = make_ctx(db, tmp_path)
    ctx.set_role("qa", "quinn")
    messages: list[tuple[str, str]] = []
    ctx.message.connect(lambda lvl, txt: messages.append((lvl, txt)))
    panel = RulesPanel(ctx, replay_n=10, debounce_ms=5)
    qtbot.addWidget(panel)
    panel.editor.set_value("threshold", 0.7)

    def boom(*_a: Any, **_k: Any) -> None:
        raise OSError("disk I/O error")

    queries_save = queries.save_recipe_version
    try:
        queries.save_recipe_version = boom  # type: ignore[assignment]
        panel.apply("will fail")
        qtbot.waitUntil(lambda: not panel.is_saving(), timeout=5000)
    finally:
        queries.save_recipe_version = queries_save  # type: ignore[assignment]
    assert messages[-1] == ("error", "Could not save the recipe: disk I/O error")
    assert ctx.recipe.version == 1
    assert panel.apply_button.isEnabled()
    panel.shutdown()


def test_history_pages_and_detail_never_query_on_the_ui_thread(qtbot, history, db: Database) -> None:
    model = history.model
    with slow_queries(db, 0.6):  # longer than UI_BUDGET_S: one query on the UI thread shows
        # a page not read yet: a placeholder at once, the rows when the query is done
        model.page_size = 2  # (six rows: page 2 holds rows 4 and 5)
        model.refresh()
        qtbot.waitUntil(lambda: not model.is_refreshing(), timeout=10_000)
        text, took = timed(lambda: model.index(5, 1).data())
        assert took < UI_BUDGET_S, f"data() waited {took:.2f} s for its page"
        assert text == "loading…"
        qtbot.waitUntil(lambda: model.index(5, 1).data() != "loading…", timeout=10_000)
        # the detail (blob read and image decode) of the selected row
        history.select_row(5)
        _, took = timed(history.load_detail_now)
        assert took < UI_BUDGET_S, f"the detail load blocked the UI thread for {took:.2f} s"
        assert history.detail_loading()
        qtbot.waitUntil(
            lambda: history.detail.view is not None and history.detail.view.id == history.ids[0],
            timeout=10_000,
        )
        # a refresh: the old rows stay on screen until the new count is in
        _, took = timed(history.refresh)
        assert took < UI_BUDGET_S
        assert model.rowCount() == 6
        qtbot.waitUntil(lambda: not model.is_refreshing(), timeout=10_000)


def test_skimming_rows_shows_only_the_last_detail(qtbot, history, db: Database) -> None:
    shown: list[int] = []
    original = history.detail.show_view
    history.detail.show_view = lambda v: (shown.append(v.id if v else -1), original(v))  # type: ignore[method-assign]
    with slow_queries(db, 0.3):
        for row in range(6):
            history.select_row(row)
            history.load_detail_now()  # as if the skim timer fired on every row
    qtbot.waitUntil(lambda: not history.detail_loading(), timeout=10_000)
    assert shown == [history.ids[0]]  # the oldest row, selected last; the stale answers were dropped
    assert history.tasks.dropped >= 1


def test_audit_log_writes_in_order_without_blocking(qtbot, db: Database, tmp_path: Path) -> None:
    from inspector.ui.roles import AuditLog

    log = AuditLog(db)
    with write_lock_held(tmp_path / "t.db", 1.0):
        _, took = timed(lambda: [log.record("qa", f"step.{i}", {"i": i}) for i in range(5)])
        assert took < UI_BUDGET_S
    log.close()
    events = queries.audit_events(db)
    assert [e.action for e in reversed(events)] == [f"step.{i}" for i in range(5)]


def test_the_label_editor_opens_and_saves_without_waiting_for_the_database(
    qtbot, db: Database, tmp_path: Path
) -> None:
    import numpy as np

    from inspector.services.review_export import decode_mask_png
    from inspector.ui.label_dialog import LabelEditorDialog, open_label_editor
    from tests.review_helpers import log_inspection
    from tests.tiny_model import synthetic_image

    image, _ = synthetic_image(32, defect=True, seed=5)
    insp = log_inspection(db, image, np.zeros((32, 32), np.float32), tmp_path / "line", 0)  # OK: an escape
    ctx = make_ctx(db, tmp_path)
    ctx.set_role("operator", "olga")
    opened: list[LabelEditorDialog] = []
    with slow_queries(db, 0.6):  # longer than UI_BUDGET_S: one query on the UI thread shows
        _, took = timed(lambda: open_label_editor(None, ctx, insp, on_open=opened.append))
        assert took < UI_BUDGET_S, f"opening the label editor blocked the UI thread for {took:.2f} s"
        assert opened == []  # still reading the inspection and its image
        qtbot.waitUntil(lambda: bool(opened), timeout=10_000)
    (dlg,) = opened
    qtbot.addWidget(dlg)
    assert dlg.isVisible()
    dlg.editor.add_ellipse((8, 8), (10, 8))
    drawn = dlg.editor.mask()
    saved: list[int] = []
    dlg.on_saved.append(saved.append)
    with write_lock_held(tmp_path / "t.db", HOLD_S):
        job, took = timed(dlg.save)
        assert job is not None
        assert took < UI_BUDGET_S, f"Save blocked the UI thread for {took:.2f} s"
        assert dlg.is_saving()
        assert not dlg.buttons.isEnabled()  # one save at a time
        assert saved == []  # not stored yet: the lock holds it
    qtbot.waitUntil(lambda: bool(saved), timeout=15_000)
    assert saved == [dlg.review_id]
    assert not dlg.isVisible()
    review = queries.get_inspection(db, insp).reviews[-1]
    assert (review.disposition, review.by) == ("missed_defect", "olga")
    assert np.array_equal(decode_mask_png(review.mask_png), drawn)


def test_a_failed_label_save_keeps_the_dialog_and_the_drawing(qtbot, db: Database, tmp_path: Path) -> None:
    import numpy as np

    from inspector.services import reviews
    from inspector.ui import label_dialog
    from tests.review_helpers import log_inspection
    from tests.tiny_model import synthetic_image

    image, _ = synthetic_image(32, defect=True, seed=6)
    insp = log_inspection(db, image, np.zeros((32, 32), np.float32), tmp_path / "line", 0)
    ctx = make_ctx(db, tmp_path)
    ctx.set_role("operator", "olga")
    messages: list[tuple[str, str]] = []
    ctx.message.connect(lambda lvl, txt: messages.append((lvl, txt)))
    dlg = label_dialog.LabelEditorDialog(ctx, insp, image)
    qtbot.addWidget(dlg)
    dlg.show()
    dlg.editor.add_ellipse((8, 8), (10, 8))

    def boom(*_a: Any, **_k: Any) -> int:
        raise OSError("database is locked")

    add_review = reviews.add_review
    try:
        reviews.add_review = boom  # type: ignore[assignment]  # what the GUI calls to store it
        assert dlg.save() is not None
        qtbot.waitUntil(lambda: not dlg.is_saving(), timeout=5000)
    finally:
        reviews.add_review = add_review  # type: ignore[assignment]
    assert messages[-1] == ("error", f"Could not store the label of inspection {insp}: database is locked")
    assert dlg.isVisible()
    assert dlg.buttons.isEnabled()
    assert dlg.editor.mask().any()
    assert dlg.review_id is None


@pytest.fixture
def release(qtbot, db: Database, tmp_path: Path):
    """Two production models (good, then blind: running) and the release panel."""
    from PySide6.QtCore import QSettings

    from inspector.core.model_card import load_card
    from inspector.services.promotion import GateDecision, install_model, promote
    from inspector.ui.context import AppContext, ModelState
    from tests.review_helpers import RECIPE
    from tests.tiny_model import build_tiny_model

    made = [
        build_tiny_model(tmp_path / n / "model.onnx", level=lv, card={"name": n})
        for n, lv in (("good", 0.6), ("blind", 10.0))
    ]
    good, blind = (install_model(m, tmp_path / "installed") for m in made)
    for m in (good, blind):
        promote(db, m, load_card(m), "qa", GateDecision(True, []))
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    ctx = AppContext(db, "test", settings, RECIPE, ModelState(blind, load_card(blind)))
    return ctx, good, blind


def test_the_production_history_loads_without_waiting_for_the_database(qtbot, release, db: Database) -> None:
    from inspector.ui.release_panel import ReleasePanel

    ctx, _good, _blind = release
    with slow_queries(db, 0.6):
        panel, took = timed(lambda: ReleasePanel(ctx))
        qtbot.addWidget(panel)
        assert took < UI_BUDGET_S, f"the release panel blocked the UI thread for {took:.2f} s"
        assert panel.history_loading()
        assert not panel.history_status.isHidden()  # "Loading the production history…"
        assert panel.history == []
        qtbot.waitUntil(lambda: not panel.history_loading(), timeout=10_000)
    assert [e.name for e in panel.history] == ["blind", "good"]
    assert panel.history_table.rowCount() == 2
    assert panel.history_status.isHidden()
    panel.shutdown()


def test_a_rollback_does_not_wait_for_a_locked_database(qtbot, release, db: Database, tmp_path: Path) -> None:
    from inspector.ui.release_panel import ReleasePanel

    ctx, good, blind = release
    panel = ReleasePanel(ctx)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: not panel.history_loading(), timeout=10_000)
    ctx.set_role("qa", "quinn")
    with write_lock_held(tmp_path / "t.db", HOLD_S):
        started, took = timed(panel.rollback)
        assert started
        assert took < UI_BUDGET_S, f"Rollback blocked the UI thread for {took:.2f} s"
        assert panel.rolling_back()
        assert not panel.rollback_button.isEnabled()  # one rollback at a time
        assert not panel.rollback()
        assert ctx.model.path == blind  # the model changes only once the rollback is stored
    qtbot.waitUntil(lambda: not panel.tasks.busy(), timeout=15_000)
    assert ctx.model.path == good
    assert queries.active_model(db).path == str(good)
    assert panel.history[0].name == "good"  # the history was read again
    (ev,) = queries.audit_events(db, action="model.rollback")
    assert ev.actor == "quinn"
    panel.shutdown()


def test_a_failed_history_read_says_so_and_keeps_the_old_rows(qtbot, release, monkeypatch) -> None:
    from inspector.ui import release_panel

    ctx, _good, _blind = release
    messages: list[tuple[str, str]] = []
    ctx.message.connect(lambda lvl, txt: messages.append((lvl, txt)))
    panel = release_panel.ReleasePanel(ctx)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: not panel.history_loading(), timeout=10_000)

    def boom(_db: Any) -> list[Any]:
        raise OSError("database is locked")

    monkeypatch.setattr(release_panel, "production_history", boom)
    panel.refresh_history()
    qtbot.waitUntil(lambda: not panel.history_loading(), timeout=10_000)
    assert messages[-1] == ("error", "Cannot read the production history: database is locked")
    assert panel.history_table.rowCount() == 2
    assert panel.history_status.isHidden()
    panel.shutdown()


# -- child processes: a time limit and cancel ---------------------------------------------------------
CHILD = """
import os, subprocess, sys, time
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
open(sys.argv[1], "w").write(f"{os.getpid()} {grandchild.pid}")
time.sleep(120)
"""


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:  # a zombie waiting for its parent is dead too
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


def _sleeping_trainer(monkeypatch, tmp_path: Path) -> Path:
    from inspector.services import promotion_eval

    pids = tmp_path / "pids.txt"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    monkeypatch.setattr(promotion_eval, "trainer_command", lambda: [sys.executable, str(script), str(pids)])
    return pids


@pytest.mark.skipif(os.name != "posix", reason="process groups")
def test_evaluation_child_is_killed_at_its_time_limit(monkeypatch, tmp_path: Path) -> None:
    from inspector.services.promotion import DataSpec
    from inspector.services.promotion_eval import run_trainer_evaluate

    pids = _sleeping_trainer(monkeypatch, tmp_path)
    t0 = time.monotonic()
    with pytest.raises(TimeoutError, match=r"took longer than 1 s: the child process was stopped"):
        run_trainer_evaluate(tmp_path / "m.onnx", DataSpec(tmp_path), tmp_path / "out", timeout_s=1.0)
    assert time.monotonic() - t0 < 8
    child, grandchild = (int(v) for v in pids.read_text().split())
    deadline = time.monotonic() + 5
    while not (_gone(child) and _gone(grandchild)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(child)
    assert _gone(grandchild)  # the whole process group


@pytest.mark.skipif(os.name != "posix", reason="process groups")
def test_evaluation_child_follows_cancel(monkeypatch, tmp_path: Path) -> None:
    from inspector.core.progress import SimpleState
    from inspector.services.promotion import DataSpec
    from inspector.services.promotion_eval import run_trainer_evaluate

    pids = _sleeping_trainer(monkeypatch, tmp_path)
    state = SimpleState()
    threading.Timer(1.0, state.cancel).start()
    with pytest.raises(InterruptedError, match="cancelled"):
        run_trainer_evaluate(tmp_path / "m.onnx", DataSpec(tmp_path), tmp_path / "out", state=state)
    child, _grandchild = (int(v) for v in pids.read_text().split())
    deadline = time.monotonic() + 5
    while not _gone(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(child)


def test_evaluation_time_limit_is_configurable(monkeypatch) -> None:
    from inspector.services.promotion_eval import EVAL_TIMEOUT_ENV, EVAL_TIMEOUT_S, eval_timeout_s

    monkeypatch.delenv(EVAL_TIMEOUT_ENV, raising=False)
    assert eval_timeout_s() == EVAL_TIMEOUT_S
    monkeypatch.setenv(EVAL_TIMEOUT_ENV, "90")
    assert eval_timeout_s() == 90.0
    monkeypatch.setenv(EVAL_TIMEOUT_ENV, "soon")
    with pytest.raises(ValueError, match=EVAL_TIMEOUT_ENV):
        eval_timeout_s()
