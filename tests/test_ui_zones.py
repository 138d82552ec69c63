"""GUI rough edges of issue 13, each driven through the real widgets.

ROI / exclusion zones drawn and edited as rectangles on the Rules image (drag to draw,
drag to move, handles to resize, Delete to remove) and outlined on the Live view; the
version list with each version's parameters and a diff to the running recipe; asking
before a restore and before quitting during a run; what-if following the keyboard.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from db import queries
from db.session import Database
from inspector.core.recipe import Zone
from inspector.core.types import Verdict
from tests.test_ui_history import add_inspections, blob_map, make_ctx

pytestmark = pytest.mark.filterwarnings("error")


@pytest.fixture
def ids(db: Database) -> list[int]:
    # 0.90 blob at x 12..17, y 10..15 (NG under BASE), then a clean part (OK)
    return add_inspections(db, [blob_map(0.9), blob_map(0.0), blob_map(0.9)])


@pytest.fixture
def ctx(db: Database, ids: list[int], tmp_path: Path):
    return make_ctx(db, tmp_path)


@pytest.fixture
def panel(qtbot, ctx, ids: list[int]):
    from inspector.ui.rules_panel import RulesPanel

    p = RulesPanel(ctx, replay_n=50, debounce_ms=5)
    qtbot.addWidget(p)
    p.resize(1400, 900)
    p.show()
    qtbot.waitExposed(p)
    p.set_inspection(ids[0])
    qtbot.waitUntil(lambda: p.view is not None and p.view.id == ids[0] and p.versions.rowCount() > 0,
                    timeout=5000)
    p.image.fit()
    yield p
    p.shutdown()


def _widget_pos(panel, x: float, y: float) -> QPoint:
    """Image pixel (x, y) -> position in the image view's viewport."""
    gv = panel.image.graphics_view()
    scene = panel.image.view_box().mapViewToScene(QPointF(x, y))
    return gv.mapFromScene(scene)


def _drag(qtbot, panel, start: tuple[float, float], end: tuple[float, float]) -> None:
    vp = panel.image.graphics_view().viewport()
    a, b = _widget_pos(panel, *start), _widget_pos(panel, *end)
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
    for k in range(1, 9):  # several moves, as a hand makes them
        p = a + (b - a) * (k / 8)
        QTest.mouseMove(vp, p, 10)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, b, 10)
    qtbot.wait(20)


# -- zones on the image -----------------------------------------------------------------------------
def test_drag_draws_an_exclusion_that_the_recipe_and_verdict_follow(qtbot, panel) -> None:
    assert panel.live.verdict is Verdict.NG
    qtbot.mouseClick(panel.draw_buttons["exclusion"], Qt.MouseButton.LeftButton)
    assert panel.zones.draw_kind() == "exclusion"
    _drag(qtbot, panel, (10, 8), (20, 18))  # over the blob's centroid
    (zone,) = panel.candidate.exclusions
    x0, y0 = zone.points[0]
    x1, y1 = zone.points[2]
    # whole pixels, within a pixel of where the mouse went (screen pixels are not image pixels)
    assert (x0, y0) == pytest.approx((10, 8), abs=1.01)
    assert (x1, y1) == pytest.approx((20, 18), abs=1.01)
    assert all(float(v).is_integer() for p in zone.points for v in p)
    assert panel.candidate.roi == []
    assert panel.live.verdict is Verdict.OK  # the blob is excluded now
    assert panel.editor.exclusions.table.rowCount() == 1  # the typed form shows it too
    assert panel.zones.selected() == ("exclusion", 0)  # the new zone is selected


def test_zones_move_resize_and_delete_on_the_image(qtbot, panel) -> None:
    panel.editor.roi.add_rect(0, 0, 8, 8)  # typed: drawn on the image at once
    assert panel.zones.count() == 1
    (item,) = panel.zones._items
    roi = item.roi
    assert roi is not None
    assert len(roi.getHandles()) == 4  # a corner handle each
    assert panel.live.verdict is Verdict.OK  # the blob is outside the only ROI

    roi.setPos((10, 8), finish=True)  # dragged over the blob
    assert panel.candidate.roi == [Zone.rect(10, 8, 8, 8)]
    assert panel.live.verdict is Verdict.NG
    roi.setSize((12, 6), finish=True)  # a corner handle pulled
    assert panel.candidate.roi == [Zone.rect(10, 8, 12, 6)]
    assert panel.editor.roi.table.item(0, 3).text() == "12"

    panel.zones.select("roi", 0)
    panel.image.setFocus()
    qtbot.waitUntil(panel.image.hasFocus, timeout=2000)
    qtbot.keyClick(panel.image, Qt.Key.Key_Delete)
    assert panel.candidate.roi == []
    assert panel.zones.count() == 0
    assert panel.editor.roi.table.rowCount() == 0


def test_a_polygon_zone_is_shown_but_never_edited(qtbot, panel) -> None:
    tri = Zone(name="tri", points=[(0, 0), (20, 0), (0, 20)])
    panel.editor.set_zones([], [tri])
    (item,) = panel.zones._items
    assert item.roi is None  # an outline, not an editable rectangle
    assert panel.candidate.exclusions == [tri]


def test_drawing_mode_off_means_a_drag_pans(qtbot, panel) -> None:
    before = panel.image.view_box().viewRange()
    _drag(qtbot, panel, (5, 5), (25, 25))
    assert panel.candidate.roi == []
    assert panel.candidate.exclusions == []
    assert panel.image.view_box().viewRange() != before


def test_the_live_view_outlines_the_running_recipes_zones(
    qtbot, tmp_path: Path, tiny_model, monkeypatch
) -> None:
    from tests.ui_helpers import close_window, make_window

    w = make_window(qtbot, tmp_path, tiny_model, monkeypatch)
    try:
        live = w.live
        assert live.zones.count() == 0
        assert not live.zones.editable
        recipe = w.ctx.recipe.model_copy(
            update={"roi": [Zone.rect(0, 0, 50, 50)], "exclusions": [Zone.rect(5, 5, 10, 10, "logo")]}
        )
        w.ctx.set_recipe(recipe)
        assert live.zones.zones() == ([Zone.rect(0, 0, 50, 50)], [Zone.rect(5, 5, 10, 10, "logo")])
        assert all(it.roi is None for it in live.zones._items)  # outlines only: nothing to drag
        assert {it.label.toPlainText() for it in live.zones._items} == {"ROI 1", "logo"}
    finally:
        close_window(w)


# -- versions: parameters, diff, confirmation ---------------------------------------------------------
def test_version_list_shows_parameters_and_the_diff_to_the_running_recipe(qtbot, panel, ctx, db) -> None:
    ctx.set_role("qa", "quinn")
    panel.editor.set_value("threshold", 0.7)
    panel.editor.set_value("max_region_area_px", 400)
    panel.apply("tighter").result(10)
    qtbot.waitUntil(lambda: ctx.recipe.version == 2 and panel.versions.rowCount() == 2, timeout=5000)
    qtbot.waitUntil(lambda: panel.versions.item(0, 0).text() == "v2 (current)", timeout=5000)
    assert panel.versions.item(0, 4).text() == "—"
    change = panel.versions.item(1, 4).text()  # what restoring v1 would change
    assert "Pixel threshold 0.7 → 0.5" in change
    assert "Maximum region area 400 px → off" in change

    panel.versions.setCurrentCell(1, 0)
    text = panel.version_detail.toPlainText()
    assert text.startswith("v1")
    assert "2 settings differ from the running recipe" in text
    assert "Minimum region area" in text  # every parameter is listed, not just the changed ones
    html = panel.version_detail.toHtml()
    assert "font-weight" in html  # the differing rows are marked

    # Restore asks first; Cancel changes nothing
    qtbot.mouseClick(panel.restore_button, Qt.MouseButton.LeftButton)
    box = panel.restore_dialog
    assert box is not None
    assert box.isVisible()
    assert "v1" in box.text()
    box.button(box.StandardButton.Cancel).click()
    qtbot.wait(50)
    assert ctx.recipe.version == 2
    assert [s.version for s in queries.recipe_versions(db, "default")] == [1, 2]


def test_restore_button_refuses_operators_without_a_dialog(qtbot, panel, ctx) -> None:
    ctx.set_role("operator", "olga")
    panel.versions.setCurrentCell(0, 0)
    assert panel.ask_restore() is None
    assert panel.restore_dialog is None


# -- what-if follows the keyboard ----------------------------------------------------------------------
def test_whatif_updates_as_you_type_debounced(qtbot, ctx, ids) -> None:
    from inspector.ui.rules_panel import RulesPanel

    p = RulesPanel(ctx, replay_n=50)  # the shipped debounce (300 ms)
    qtbot.addWidget(p)
    p.show()
    qtbot.waitExposed(p)
    qtbot.waitUntil(lambda: p.runner.last_replay is not None, timeout=10_000)
    starts: list[float] = []
    p.runner.busy_changed.connect(lambda busy: starts.append(time.perf_counter()) if busy else None)
    box = p.editor.boxes["threshold"]
    box.setFocus()
    qtbot.waitUntil(box.hasFocus, timeout=2000)
    box.lineEdit().selectAll()
    qtbot.keyClicks(box.lineEdit(), "0.75")  # no Enter, no focus change
    t_typed = time.perf_counter()
    assert p.candidate.threshold == 0.75  # the live verdict follows each key
    assert box.hasFocus()
    qtbot.waitUntil(lambda: p.runner.last_replay.recipe.threshold == 0.75, timeout=10_000)
    assert len(starts) == 1  # one replay for the whole word, not one per key
    assert starts[0] - t_typed >= 0.25  # after the pause (debounce ~300 ms)
    p.shutdown()


# -- quitting during a run asks first -----------------------------------------------------------------
def test_quit_during_a_run_asks_and_cancel_keeps_running(
    qtbot, tmp_path: Path, tiny_model, monkeypatch
) -> None:
    from tests.ui_helpers import close_window, make_window

    w = make_window(qtbot, tmp_path, tiny_model, monkeypatch)
    try:
        w.ctx.settings.setValue("live/demo_fps", 20)
        w.live.set_source("demo")
        w.live.start()
        qtbot.waitUntil(lambda: w.live.counters.total >= 2, timeout=10_000)
        qtbot.keyClick(w, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
        box = w.quit_dialog
        assert box is not None
        assert box.isVisible()
        assert "running" in box.text()
        assert box.defaultButton() is box.button(box.StandardButton.Cancel)
        box.button(box.StandardButton.Cancel).click()
        n = w.live.counters.total
        qtbot.waitUntil(lambda: w.live.counters.total > n, timeout=10_000)  # still inspecting
        assert w.isVisible()

        w.live.pause()  # paused counts as a run too
        qtbot.waitUntil(lambda: w.ctx.run_state == "paused", timeout=5000)
        w.close()
        assert w.quit_dialog.isVisible()
        w.quit_dialog.button(box.StandardButton.Yes).click()
        qtbot.waitUntil(lambda: not w.isVisible(), timeout=5000)
        assert not w.live.controller.thread.isRunning()
    finally:
        close_window(w)


def test_quit_when_idle_does_not_ask(qtbot, tmp_path: Path, tiny_model, monkeypatch) -> None:
    from tests.ui_helpers import close_window, make_window

    w = make_window(qtbot, tmp_path, tiny_model, monkeypatch)
    try:
        w.activateWindow()
        qtbot.waitUntil(w.isActiveWindow, timeout=2000)
        assert w.ctx.run_state == "idle"
        qtbot.keyClick(w, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
        assert w.quit_dialog is None
        assert not w.isVisible()
    finally:
        close_window(w)
