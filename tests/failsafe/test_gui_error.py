"""Every part gets a row, in the GUI: ERROR parts are counted, shown, listed and never look like a pass.

A real station window runs a folder with six good images, one file that cannot be decoded and
one image the model "cannot run" (a backend failure), through the widgets an operator clicks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolButton
from sqlalchemy import select

from db.models import Review
from db.queries import count_history
from inspector.core.backends.onnxruntime_backend import OnnxRuntimeBackend
from inspector.core.overlay import OverlayMode, render
from inspector.core.types import InspectionResult, Verdict
from inspector.ui.history_model import Column
from inspector.ui.image_view import MODE_LABELS, ImageView
from inspector.ui.live_widgets import ERROR_TITLE
from inspector.ui.main_window import MainWindow
from inspector.ui.style import VERDICT_COLORS
from tests.tiny_model import synthetic_image
from tests.ui_helpers import close_window, make_window, run_folder, settle

pytestmark = pytest.mark.filterwarnings("error")

POISON_SIZE = 72  # the monkeypatched backend fails on images of this size


@pytest.fixture
def window(qtbot, tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MainWindow]:
    original = OnnxRuntimeBackend.infer

    def infer(self: OnnxRuntimeBackend, batch: np.ndarray) -> np.ndarray:
        if batch.shape[1] == POISON_SIZE:
            raise RuntimeError("Failed to allocate memory for requested buffer of size 1234567890")
        return original(self, batch)

    monkeypatch.setattr(OnnxRuntimeBackend, "infer", infer)
    w = make_window(qtbot, tmp_path, tiny_model, monkeypatch)
    yield w
    close_window(w)


@pytest.fixture
def error_folder(image_folder: Path) -> Path:
    """The six conftest images + one model failure (img_poison) + one undecodable file (zz_broken, last)."""
    img, _ = synthetic_image(POISON_SIZE, defect=False, seed=42)
    cv2.imwrite(str(image_folder / "img_poison.png"), img)
    (image_folder / "zz_broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)  # truncated PNG
    return image_folder


def _strip_row(window: MainWindow, name: str) -> int:
    strip = window.live.recent
    for row in range(strip.count()):
        r = strip.result_at(row)
        if r is not None and r.frame.path is not None and r.frame.path.name == name:
            return row
    raise AssertionError(f"{name} is not in the recent strip")


def _click_strip(qtbot, window: MainWindow, row: int) -> InspectionResult:
    strip = window.live.recent
    strip.scrollToItem(strip.item(row))
    rect = strip.visualItemRect(strip.item(row))
    qtbot.mouseClick(strip.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    picked = strip.result_at(row)
    assert picked is not None
    return picked


def _walk_modes(view: ImageView) -> list[np.ndarray | None]:
    """Select every view mode in the combo as a user would; what was on screen in each."""
    shown = []
    for mode in (OverlayMode.MASK, OverlayMode.HEATMAP, OverlayMode.CONTOURS, OverlayMode.RAW):
        view.mode_combo.setCurrentIndex(view.mode_combo.findText(MODE_LABELS[mode]))
        assert view.mode() is mode
        img = view.rendered()
        shown.append(None if img is None else img.copy())
    return shown


def test_live_run_counts_shows_and_lists_error_parts(qtbot, window: MainWindow, error_folder: Path) -> None:
    live = window.live
    run_folder(qtbot, window, error_folder)
    settle(qtbot, 150)  # the display timer draws the last result

    # counted: an Errors tile beside OK / NG / REVIEW, and the yield counts them as parts
    assert live.counters.counts == {"OK": 3, "NG": 3, "REVIEW": 0, "ERROR": 2}
    tiles = live.tiles.tiles
    assert tiles["ERROR"].value.text() == "2"
    assert tiles["total"].value.text() == "8"
    assert tiles["yield"].value.text() == "37.5 %"  # 3 OK of 8 parts
    assert live.last_summary.n_errors == 2

    # the newest part is the undecodable file: the ERROR banner in the ERROR colour, a placeholder image
    banner = live.banner
    assert banner.verdict == "ERROR"
    assert banner.verdict_label.text() == ERROR_TITLE == "ERROR — not inspected"
    assert VERDICT_COLORS["ERROR"] in banner.styleSheet()
    assert VERDICT_COLORS["OK"] not in banner.styleSheet()
    reasons = banner.reasons_label.text()
    assert "Not inspected (read)" in reasons
    assert "Treated as NG" in reasons
    assert not live.image_view.has_image()
    assert live.image_view.message().startswith("image could not be read: ")
    assert "zz_broken.png" in live.image_view.message()

    # the strip lists both ERROR parts with the verdict in their label
    strip = live.recent
    assert strip.count() == 8
    broken_row, poison_row = _strip_row(window, "zz_broken.png"), _strip_row(window, "img_poison.png")
    assert strip.item(broken_row).text().startswith("ERROR")
    assert strip.item(poison_row).text().startswith("ERROR")

    # clicking the model failure: the raw image (there is no map), ERROR banner, every mode works
    picked = _click_strip(qtbot, window, poison_row)
    assert picked.is_error
    assert picked.prob_map is None
    assert picked.error_stage == "infer"
    assert live.review_bar.isVisible()
    assert banner.verdict_label.text() == ERROR_TITLE
    assert "Failed to allocate memory" in banner.reasons_label.text()
    assert live.image_view.has_image()
    raw = render(picked.frame.image, None, None, OverlayMode.RAW)[:, :, ::-1]
    for shown in _walk_modes(live.image_view):
        np.testing.assert_array_equal(shown, raw)  # no mask, heatmap or contours without a map

    # clicking the undecodable file: the placeholder, whatever the mode
    picked = _click_strip(qtbot, window, broken_row)
    assert picked.frame.image is None
    assert banner.verdict_label.text() == ERROR_TITLE
    _walk_modes(live.image_view)
    assert live.image_view.message().startswith("image could not be read: ")

    # back to an ordinary NG part: the view draws its overlay again
    qtbot.mouseClick(live.live_button, Qt.MouseButton.LeftButton)
    assert banner.verdict_label.text() == ERROR_TITLE  # back on the newest part, the undecodable one
    ng_row = _strip_row(window, "img_005.png")
    _click_strip(qtbot, window, ng_row)
    assert banner.verdict_label.text() == "NG"
    assert live.image_view.has_image()
    assert live.image_view.message() == ""

    # every part has a logged row, ERRORs included
    qtbot.waitUntil(lambda: count_history(window.ctx.db) == 8, timeout=5000)
    assert count_history(window.ctx.db, verdict=Verdict.ERROR) == 2


def test_rerun_says_how_many_parts_were_skipped(qtbot, window: MainWindow, error_folder: Path) -> None:
    run_folder(qtbot, window, error_folder)
    qtbot.waitUntil(lambda: count_history(window.ctx.db) == 8, timeout=5000)
    assert window.live.chooser.skip_check.isChecked()
    run_folder(qtbot, window, error_folder)  # same content, model and recipe: nothing to do
    assert window.live.last_summary.skipped == 8
    infos = [t for lvl, t in window.messages.messages() if lvl == "info"]
    assert any("8 parts skipped: already logged with this content, model and recipe" in t for t in infos)
    assert count_history(window.ctx.db) == 8


def test_history_lists_error_rows_and_shows_them_without_a_map(
    qtbot, window: MainWindow, error_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from inspector.cli.main import main
    from inspector.ui.history_panel import HistoryPanel
    from inspector.ui.rules_panel import RulesPanel

    run_folder(qtbot, window, error_folder)
    qtbot.waitUntil(lambda: count_history(window.ctx.db) == 8, timeout=5000)
    history = window.panels["History"]
    assert isinstance(history, HistoryPanel)
    window.tabs.setCurrentWidget(history)
    history.refresh()
    # the log is read off the UI thread (inspector.ui.tasks): wait for the new snapshot
    qtbot.waitUntil(lambda: not history.model.is_refreshing() and history.model.rowCount() == 8, timeout=5000)

    # the verdict filter offers ERROR and lists exactly the two ERROR rows
    box = history.verdict_box
    assert box.findData(Verdict.ERROR) >= 0
    box.setCurrentIndex(box.findData(Verdict.ERROR))
    qtbot.waitUntil(lambda: not history.model.is_refreshing() and history.model.rowCount() == 2, timeout=5000)
    assert "2 inspections" in history.count_label.text()
    model = history.model
    assert {model.row_at(i).verdict for i in range(2)} == {Verdict.ERROR}
    # tinted in the ERROR colour: the verdict cell and the rest of the row
    for col in (Column.VERDICT, Column.KEY):
        brush = model.index(0, col).data(Qt.ItemDataRole.BackgroundRole)
        assert brush is not None
        assert brush.color().name() == VERDICT_COLORS["ERROR"]
    assert model.index(0, Column.SCORE).data() == "–"  # not inspected: no score

    # newest first: the undecodable file, no map and no image, a placeholder that says why
    history.table.setFocus()
    qtbot.keyClick(history.table, Qt.Key.Key_Home)
    history.load_detail_now()
    detail = history.detail
    qtbot.waitUntil(lambda: detail.view is not None and detail.view.id == model.row_at(0).id, timeout=5000)
    view = detail.view
    assert view is not None
    assert view.detail.row.source_key.endswith("zz_broken.png")
    assert view.detail.prob_map() is None
    assert view.prob is None
    assert view.image is None
    assert view.detail.row.error_stage == "read"
    assert "ERROR — not inspected" in detail.header.text()
    assert "failed at: <b>read</b>" in detail.header.text()
    assert "treated as NG" in detail.reasons.text()
    assert not detail.image.has_image()
    assert detail.image.message().startswith("image could not be read: ")
    _walk_modes(detail.image)

    # the model failure: its image was archived like an NG's and is shown as it is, in every mode
    qtbot.keyClick(history.table, Qt.Key.Key_J)
    history.load_detail_now()
    qtbot.waitUntil(lambda: detail.view.id == model.row_at(1).id, timeout=5000)
    view = detail.view
    assert view.detail.row.source_key.endswith("img_poison.png")
    assert view.prob is None
    assert view.detail.row.error_stage == "infer"
    assert view.detail.row.archive_image_path
    assert view.image_note == view.detail.row.archive_image_path
    assert detail.image.has_image()
    raw = render(view.image, None, None, OverlayMode.RAW)[:, :, ::-1]
    for shown in _walk_modes(detail.image):
        np.testing.assert_array_equal(shown, raw)

    # review keys on an ERROR row: F (false reject) does not apply, O (confirm OK) does, recorded
    messages: list[tuple[str, str]] = []
    window.ctx.message.connect(lambda lvl, txt: messages.append((lvl, txt)))
    assert not history.findChild(QToolButton, "review_false_reject").isEnabled()
    assert not history.findChild(QToolButton, "review_missed_defect").isEnabled()
    assert history.findChild(QToolButton, "review_confirm_ok").isEnabled()
    qtbot.keyClick(history.table, Qt.Key.Key_F)
    assert messages[-1][0] == "warning"
    assert "does not apply to the verdict ERROR" in messages[-1][1]
    qtbot.keyClick(history.table, Qt.Key.Key_O)
    poison_id = view.id
    qtbot.waitUntil(lambda: model.row_at(1).review == "confirm_ok", timeout=5000)  # stored off the UI thread
    with window.ctx.db.read() as s:
        reviews = s.scalars(select(Review).where(Review.inspection_id == poison_id)).all()
        assert [r.disposition for r in reviews] == ["confirm_ok"]
    assert "checked by a person" in messages[-1][1]
    assert model.row_at(1).review == "confirm_ok"

    # the Rules tab shows the ERROR row without re-deciding it, and replay never counts it
    rules = window.panels["Rules"]
    assert isinstance(rules, RulesPanel)
    window.tabs.setCurrentWidget(rules)
    qtbot.waitUntil(lambda: rules.view is not None and rules.view.id == poison_id, timeout=3000)
    assert rules.live is None
    assert "ERROR" in rules.live_label.text()
    assert "no recipe changes it" in rules.live_label.text()
    with qtbot.waitSignal(rules.runner.replay_ready, timeout=10000) as done:
        rules.runner.request(rules.candidate)
        rules.runner.run_now()
    out = done.args[0]
    assert out.replayed == 6  # the inspected parts only
    assert all(f.old is not Verdict.ERROR for f in out.flips)

    # the CLI lists them too
    capsys.readouterr()
    url = f"sqlite:///{tmp_path / 'station.db'}"  # make_window's database
    assert main(["history", "--db", url, "--verdict", "ERROR", "--json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert sorted(x["error_stage"] for x in lines) == ["infer", "read"]
    assert {x["verdict"] for x in lines} == {"ERROR"}
