"""History panel: lazy paging, filters, keyboard click-through and dispositions."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QDateTime, QSettings, Qt
from PySide6.QtWidgets import QToolButton
from sqlalchemy import insert, select

from db import queries, registry
from db.models import AuditEvent, Inspection, Review
from db.session import Database, open_db
from inspector.core.model_card import ModelCard
from inspector.core.recipe import Recipe
from inspector.core.types import Verdict
from inspector.ui.context import AppContext, ModelState
from inspector.ui.history_model import HistoryFilter, HistoryModel
from tests.db_factories import insert_inspection

pytestmark = pytest.mark.filterwarnings("error")  # pyqtgraph/Qt warnings are bugs here

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
BASE = Recipe(threshold=0.5, min_area_px=4, max_count=0)


# -- helpers shared with test_ui_rules (plain functions, not fixtures) ------------------------------
def blob_map(value: float, size: int = 32, side: int = 6) -> np.ndarray:
    """A map with one square blob of probability ``value`` (0 = clean)."""
    p = np.zeros((size, size), np.float32)
    if value > 0:
        p[10 : 10 + side, 12 : 12 + side] = value
    return p


def add_inspections(
    db: Database,
    maps: list[np.ndarray],
    recipe: Recipe = BASE,
    *,
    sources: list[str] | None = None,
    image_dir: Path | None = None,
    start: datetime = T0,
) -> list[int]:
    """Log one inspection per map as the station would (verdict from decide), oldest first."""
    ids = []
    with db.write() as s:
        for i, prob in enumerate(maps):
            image_path = None
            if image_dir is not None:
                image_path = str(image_dir / f"img_{i:03d}.png")
                cv2.imwrite(image_path, np.full(prob.shape, 90 + i, np.uint8))
            ids.append(
                insert_inspection(
                    s,
                    prob,
                    recipe,
                    source_key=f"/line/img_{i:03d}.png",
                    at=start + timedelta(seconds=i),
                    source=sources[i] if sources else "folder:/line",
                    image_path=image_path,
                )
            )
    return ids


def make_ctx(db: Database, tmp_path: Path, recipe: Recipe = BASE) -> AppContext:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    return AppContext(db, "test", settings, recipe, ModelState(Path("m.onnx"), ModelCard()))


# -- fixtures ---------------------------------------------------------------------------------------
@pytest.fixture
def logged(db: Database, tmp_path: Path) -> list[int]:
    """Six inspections, oldest first: OK, NG, OK, NG, OK, NG, from two sources, with images."""
    image_dir = tmp_path / "imgs"
    image_dir.mkdir()
    maps = [blob_map(0.9 if i % 2 else 0.0) for i in range(6)]
    sources = ["folder:/line" if i < 4 else "cam0" for i in range(6)]
    return add_inspections(db, maps, sources=sources, image_dir=image_dir)


@pytest.fixture
def panel(qtbot, db: Database, logged: list[int], tmp_path: Path):
    from inspector.ui.history_panel import HistoryPanel

    ctx = make_ctx(db, tmp_path)
    ctx.set_role("operator", "alice")
    p = HistoryPanel(ctx)
    qtbot.addWidget(p)
    p.resize(1200, 700)
    p.show()
    qtbot.waitExposed(p)
    p.activateWindow()
    p.table.setFocus()
    qtbot.waitUntil(lambda: p.model.rowCount() == len(logged), timeout=5000)  # counted off the UI thread
    return p


def wait_detail(qtbot, panel, inspection_id: int) -> None:
    """The detail (image decode, blobs) loads on the task runner: wait for it."""
    qtbot.waitUntil(
        lambda: panel.detail.view is not None and panel.detail.view.id == inspection_id, timeout=5000
    )


# -- tests ------------------------------------------------------------------------------------------
def test_keyboard_click_through_and_disposition_by_key(qtbot, panel, db: Database, logged: list[int]) -> None:
    newest_first = logged[::-1]
    assert panel.model.rowCount() == 6
    qtbot.keyClick(panel.table, Qt.Key.Key_Home)
    assert panel.current_id() == newest_first[0]
    qtbot.keyClick(panel.table, Qt.Key.Key_J)
    assert panel.current_id() == newest_first[1]
    qtbot.keyClick(panel.table, Qt.Key.Key_J)
    qtbot.keyClick(panel.table, Qt.Key.Key_K)
    assert panel.current_id() == newest_first[1]
    qtbot.keyClick(panel.table, Qt.Key.Key_Down)
    target = newest_first[2]  # the 4th logged: NG
    assert panel.current_id() == target

    qtbot.keyClick(panel.table, Qt.Key.Key_Return)  # Enter opens the detail at once
    wait_detail(qtbot, panel, target)
    view = panel.detail.view
    assert view is not None
    assert view.id == target
    assert view.decision.verdict is Verdict.NG
    assert panel.detail.regions.rowCount() == 1
    assert panel.detail.regions.item(0, 1).text() == "36"  # 6x6 blob
    assert "region" in panel.detail.reasons.text()
    assert view.image_note.endswith("img_003.png")  # the stored image, not the map
    assert panel.detail.image.has_image()

    # focus is in the detail now; the disposition keys work there too, Esc goes back
    qtbot.waitUntil(lambda: panel.detail.image.hasFocus(), timeout=2000)
    qtbot.keyClick(panel.detail.image, Qt.Key.Key_N)  # confirm NG
    qtbot.keyClick(panel.detail.image, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: panel.table.hasFocus(), timeout=2000)
    qtbot.waitUntil(lambda: panel.model.row_at(2).review == "confirm_ng", timeout=5000)  # after the commit
    with db.read() as s:
        reviews = s.scalars(select(Review).where(Review.inspection_id == target)).all()
        assert [(r.disposition, r.by) for r in reviews] == [("confirm_ng", "alice")]
        assert reviews[0].at is not None
        assert s.scalar(select(AuditEvent).where(AuditEvent.action == "review.add")) is not None
    # the row shows its review state at once, without a refresh
    assert panel.model.row_at(2).review == "confirm_ng"
    assert panel.model.index(2, 5).data() == "confirmed NG"
    qtbot.waitUntil(lambda: "confirmed NG by alice" in panel.detail.reviews.text(), timeout=5000)


def test_missing_image_shows_the_stored_map_alone(qtbot, panel, logged: list[int], tmp_path: Path) -> None:
    (tmp_path / "imgs" / "img_005.png").unlink()
    qtbot.keyClick(panel.table, Qt.Key.Key_Home)
    panel.load_detail_now()
    wait_detail(qtbot, panel, logged[5])
    view = panel.detail.view
    assert "showing the stored probability map" in view.image_note
    assert view.image.shape == (32, 32)
    assert view.image.max() == round(0.9 * 255)  # the map itself, as 8-bit levels
    assert panel.detail.image.has_image()


def test_disposition_that_does_not_fit_the_verdict_is_refused(qtbot, panel, db: Database) -> None:
    messages: list[tuple[str, str]] = []
    panel.ctx.message.connect(lambda lvl, txt: messages.append((lvl, txt)))
    qtbot.keyClick(panel.table, Qt.Key.Key_Home)  # newest = NG
    qtbot.keyClick(panel.table, Qt.Key.Key_M)  # "missed defect" on an NG makes no sense
    assert messages
    assert messages[-1][0] == "warning"
    qtbot.keyClick(panel.table, Qt.Key.Key_J)  # OK row
    button = panel.findChild(QToolButton, "review_missed_defect")
    assert button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.model.row_at(1).review == "missed_defect", timeout=5000)
    with db.read() as s:
        assert [r.disposition for r in s.scalars(select(Review))] == ["missed_defect"]


def test_filters_change_the_row_count(qtbot, panel, db: Database, logged: list[int]) -> None:
    def rows(n: int) -> None:  # counted off the UI thread
        qtbot.waitUntil(lambda: not panel.model.is_refreshing() and panel.model.rowCount() == n, timeout=5000)

    panel.verdict_box.setCurrentIndex(panel.verdict_box.findData(Verdict.NG))
    rows(3)
    panel.source_box.setCurrentText("cam0")
    panel.apply_filters()  # typed text is debounced; apply at once
    rows(1)  # logged[5]
    panel.source_box.setCurrentText("")
    panel.verdict_box.setCurrentIndex(0)
    panel.key_edit.setText("/line/img_00")
    panel.apply_filters()
    rows(6)
    queries.add_review(db, logged[0], "confirm_ok", by="bob")
    panel.review_box.setCurrentIndex(panel.review_box.findData("reviewed"))
    rows(1)
    panel.review_box.setCurrentIndex(panel.review_box.findData("unreviewed"))
    rows(5)
    panel.review_box.setCurrentIndex(0)
    panel.since_edit.setDateTime(QDateTime.fromSecsSinceEpoch(int((T0 + timedelta(seconds=3)).timestamp())))
    panel.since_check.setChecked(True)
    rows(3)
    assert "3 inspections" in panel.count_label.text()


def test_new_rows_wait_for_refresh_and_keep_selection(qtbot, panel, db: Database) -> None:
    qtbot.keyClick(panel.table, Qt.Key.Key_Home)
    qtbot.keyClick(panel.table, Qt.Key.Key_J)
    selected = panel.current_id()
    new = add_inspections(db, [blob_map(0.0)], start=T0 + timedelta(hours=1))
    panel.ctx.inspection_logged.emit(new[0])
    assert panel.model.rowCount() == 6  # snapshot: nothing moves under the operator's keys
    assert panel.new_button.isVisibleTo(panel)
    panel.refresh()
    qtbot.waitUntil(lambda: panel.model.rowCount() == 7, timeout=5000)
    assert panel.current_id() == selected
    assert panel.model.row_at(0).id == new[0]


def _bulk_insert(db: Database, n: int) -> None:
    with db.write() as s:
        station = registry.ensure_station(s, "bulk", "host")
        model = registry.ensure_model(s, "cd" * 32, "m")
        recipe = registry.ensure_recipe(s, "default", 1, {})
    verdicts = ["OK"] * 8 + ["NG", "REVIEW"]
    rows = [
        {
            "station_id": station,
            "source": "cam0",
            "source_key": f"cam0:#{i}",
            "captured_at": T0 + timedelta(seconds=i),
            "inspected_at": T0 + timedelta(seconds=i),
            "model_id": model,
            "recipe_id": recipe,
            "backend": "cpu",
            "threshold": 0.5,
            "verdict": verdicts[i % 10],
            "score": 0.0,
            "area_ratio": 0.0,
            "n_regions": 0,
            "reasons": [],
            "timings": {},
        }
        for i in range(n)
    ]
    with db.write() as s:
        s.execute(insert(Inspection), rows)  # one executemany: the ORM unit of work would take minutes


def test_100k_rows_open_and_scroll_to_the_end_by_pages(qtbot, db: Database, tmp_path: Path) -> None:
    from inspector.ui.history_panel import HistoryPanel

    n = 100_000
    _bulk_insert(db, n)
    t0 = time.perf_counter()
    p = HistoryPanel(make_ctx(db, tmp_path))
    qtbot.addWidget(p)
    p.resize(1000, 600)
    p.show()
    qtbot.waitExposed(p)
    qtbot.waitUntil(lambda: p.model.rowCount() == n, timeout=5000)  # counted off the UI thread
    t_open = time.perf_counter() - t0
    assert p.model.pages_fetched <= 1  # only what is on screen (it came with the count)

    t1 = time.perf_counter()
    p.table.setFocus()
    qtbot.keyClick(p.table, Qt.Key.Key_End)
    qtbot.waitUntil(lambda: p.current_row() is not None, timeout=5000)  # "loading…" until its page is in
    t_end = time.perf_counter() - t1
    assert p.current_row().source_key == "cam0:#0"  # the oldest
    assert p.model.pages_fetched <= 3, p.model.pages_fetched

    t2 = time.perf_counter()
    for _ in range(5):
        qtbot.keyClick(p.table, Qt.Key.Key_PageUp)
    qtbot.keyClick(p.table, Qt.Key.Key_Home)
    qtbot.waitUntil(lambda: p.current_row() is not None, timeout=5000)
    t_back = time.perf_counter() - t2
    assert p.current_row().source_key == f"cam0:#{n - 1}"
    assert p.model.pages_fetched <= 6
    print(
        f"\n100k rows: open {t_open * 1000:.0f} ms, End {t_end * 1000:.0f} ms, "
        f"5xPgUp+Home {t_back * 1000:.0f} ms, pages fetched {p.model.pages_fetched}"
    )
    # generous: a loaded 2-core CI box; the point is pages, not a full load (seconds)
    assert t_open < 3.0
    assert t_end < 3.0


def _row(qtbot, m: HistoryModel, i: int):
    """The row, once its page has come in from the task runner."""
    qtbot.waitUntil(lambda: m.row_at(i) is not None, timeout=5000)
    return m.row_at(i)


def test_model_pages_match_a_plain_query(qtbot, db: Database) -> None:
    _bulk_insert(db, 1000)
    m = HistoryModel(db, page_size=64, max_pages=3)
    qtbot.waitUntil(lambda: m.rowCount() == 1000, timeout=5000)
    assert m.index(200, 1).data() == "loading…"  # its page is asked for, not waited for
    ids = [_row(qtbot, m, i).id for i in range(1000)]  # walks through pages and evicts
    assert ids == [r.id for r in queries.history(db, limit=1000)]
    assert len(m._pages) <= 3
    m.set_filter(HistoryFilter(verdict=Verdict.NG))
    qtbot.waitUntil(lambda: m.rowCount() == 100, timeout=5000)
    assert all(_row(qtbot, m, i).verdict is Verdict.NG for i in range(100))
    assert m.row_at(100) is None


def test_in_the_station_window_history_follows_the_run_and_feeds_rules(
    qtbot, tmp_path: Path, tiny_model: Path, monkeypatch, image_folder: Path
) -> None:
    from inspector.ui.history_panel import HistoryPanel
    from inspector.ui.rules_panel import RulesPanel
    from tests.ui_helpers import close_window, make_window, run_folder

    w = make_window(qtbot, tmp_path, tiny_model, monkeypatch)
    try:
        history, rules = w.panels["History"], w.panels["Rules"]
        assert isinstance(history, HistoryPanel)
        assert isinstance(rules, RulesPanel)
        run_folder(qtbot, w, image_folder)
        # commits are announced as they resolve, which may trail the run's end
        qtbot.waitUntil(lambda: history.model.pending_new == 6, timeout=5000)
        assert history.model.rowCount() == 0  # hidden tab: no queries while the line runs
        w.tabs.setCurrentWidget(history)
        # shown with nobody reading a row: it catches up by itself
        qtbot.waitUntil(lambda: history.model.rowCount() == 6, timeout=5000)
        history.table.setFocus()
        qtbot.keyClick(history.table, Qt.Key.Key_End)  # oldest: img_000
        qtbot.waitUntil(lambda: history.current_row() is not None, timeout=5000)
        row = history.current_row()
        assert row.source_key.endswith("img_000.png")
        history.load_detail_now()
        wait_detail(qtbot, history, row.id)
        assert history.detail.view.image_note.endswith("img_000.png")
        # the Rules tab picks the selection up when it is shown
        w.tabs.setCurrentWidget(rules)
        qtbot.waitUntil(lambda: rules.view is not None and rules.view.id == row.id, timeout=3000)
        assert not rules.follow_latest.isChecked()
    finally:
        close_window(w)


def test_unreadable_log_gives_an_empty_table_and_a_message(qtbot, tmp_path: Path) -> None:
    from inspector.ui.history_panel import HistoryPanel

    broken = open_db(f"sqlite:///{tmp_path}/empty.db", migrate=False)  # no tables
    try:
        m = HistoryModel(broken)
        qtbot.waitUntil(lambda: bool(m.last_error), timeout=5000)  # counted off the UI thread
        assert m.rowCount() == 0
        assert "Could not read the inspection log" in m.last_error
        ctx = make_ctx(broken, tmp_path)
        messages: list[tuple[str, str]] = []
        ctx.message.connect(lambda lvl, txt: messages.append((lvl, txt)))
        p = HistoryPanel(ctx)  # the panel still opens
        qtbot.addWidget(p)
        qtbot.waitUntil(lambda: bool(messages), timeout=2000)
        assert messages[0][0] == "error"
    finally:
        broken.dispose()


def test_label_key_opens_the_label_editor_without_blocking(qtbot, panel, db: Database, logged) -> None:
    from inspector.ui.label_dialog import LabelEditorDialog

    qtbot.keyClick(panel.table, Qt.Key.Key_Home)
    qtbot.keyClick(panel.table, Qt.Key.Key_J)  # newest OK row: a missed defect to draw
    qtbot.keyClick(panel.table, Qt.Key.Key_L)  # the inspection is read off the UI thread, then it opens

    def visible() -> list[LabelEditorDialog]:
        return [w for w in panel.findChildren(LabelEditorDialog) if w.isVisible()]

    qtbot.waitUntil(lambda: bool(visible()), timeout=10_000)
    dialogs = visible()
    assert len(dialogs) == 1
    dlg = dialogs[0]
    assert dlg.disposition == "missed_defect"
    dlg.editor.add_ellipse((8, 8), (10, 8))
    assert dlg.save() is not None  # stored off the UI thread
    qtbot.waitUntil(lambda: not dlg.is_saving(), timeout=10_000)
    with db.read() as s:
        review = s.scalar(select(Review).where(Review.inspection_id == logged[4]))
        assert review.disposition == "missed_defect"
        assert review.mask_png
    assert panel.model.row_at(1).review == "missed_defect"
