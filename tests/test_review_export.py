"""Labelling a missed defect, storing it as a review, exporting reviews as a training set."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, QSettings, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from db import queries
from db.blobs import encode_mask_png
from db.session import Database
from inspector.core.model_card import ModelCard
from inspector.services.review_export import decode_mask_png, export_reviewed
from inspector.ui.context import AppContext, ModelState
from inspector.ui.label_dialog import label_missed_defect, open_label_editor
from inspector.ui.label_editor import LabelEditor
from tests.review_helpers import RECIPE, log_inspection
from tests.tiny_model import synthetic_image
from trainer.data import load_samples, read_gray, read_mask

pytestmark = pytest.mark.filterwarnings("error")  # pyqtgraph/Qt warnings are bugs here

SIZE = 64


def blob(value: float, size: int = SIZE) -> np.ndarray:
    p = np.zeros((size, size), np.float32)
    p[20:30, 12:24] = value
    return p


def expected_ellipse(pos: tuple[float, float], size: tuple[float, float], angle: float) -> np.ndarray:
    """Pixel centres inside the ellipse whose box corner is ``pos``, rotated by ``angle`` about it."""
    t = math.radians(angle)
    hw, hh = size[0] / 2, size[1] / 2
    cx = pos[0] + hw * math.cos(t) - hh * math.sin(t)
    cy = pos[1] + hw * math.sin(t) + hh * math.cos(t)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] + 0.5
    u = (xx - cx) * math.cos(t) + (yy - cy) * math.sin(t)
    v = -(xx - cx) * math.sin(t) + (yy - cy) * math.cos(t)
    return np.where((u / hw) ** 2 + (v / hh) ** 2 <= 1, 255, 0).astype(np.uint8)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a > 0, b > 0
    return float((a & b).sum() / max(1, (a | b).sum()))


@pytest.fixture
def ctx(db: Database, tmp_path: Path) -> AppContext:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    c = AppContext(db, "test", settings, RECIPE, ModelState(Path("m.onnx"), ModelCard()))
    c.set_role("operator", "alice")
    return c


def test_ellipse_rasterises_where_it_is_drawn_at_any_angle(qtbot) -> None:
    image, _ = synthetic_image(SIZE, defect=False)
    editor = LabelEditor(image)
    qtbot.addWidget(editor)
    for angle in (0.0, 30.0, -75.0):
        editor.clear()
        editor.add_ellipse((18.0, 22.0), (24.0, 10.0), angle)
        got = editor.mask()
        assert got.shape == (SIZE, SIZE)
        assert got.dtype == np.uint8
        assert set(np.unique(got)) == {0, 255}
        assert iou(got, expected_ellipse((18.0, 22.0), (24.0, 10.0), angle)) > 0.9, angle


def test_brush_paints_erase_trims_and_drag_creates_an_ellipse(qtbot) -> None:
    image, _ = synthetic_image(SIZE, defect=False)
    editor = LabelEditor(image, existing_mask=None)
    qtbot.addWidget(editor)
    editor.set_tool("brush")
    editor.brush_size.setValue(5)
    editor.drag(QPointF(5.5, 5.5), QPointF(5.5, 5.5), True, False)
    editor.drag(QPointF(5.5, 5.5), QPointF(25.5, 5.5), False, True)
    painted = editor.mask() > 0
    assert painted[5, 5:26].all()
    assert not painted[20:, :].any()
    editor.set_tool("erase")
    editor.drag(QPointF(15.5, 5.5), QPointF(15.5, 5.5), True, True)
    assert not editor.mask()[5, 15]
    assert editor.mask()[5, 6]
    editor.set_tool("ellipse")
    editor.drag(QPointF(30, 30), QPointF(50, 40), True, False)
    editor.drag(QPointF(30, 30), QPointF(50, 44), False, True)
    assert len(editor.ellipses) == 1
    assert iou(editor.mask()[24:, :], expected_ellipse((30, 30), (20, 14), 0)[24:, :]) > 0.9
    editor.delete_selected()
    assert not editor.mask()[30:, :].any()


def _mouse_drag(qtbot, editor: LabelEditor, a: tuple[float, float], b: tuple[float, float]) -> None:
    """A real left-button drag on the view, from image point ``a`` to ``b``."""
    vp = editor.view.viewport()

    def at(x: float, y: float) -> QPointF:
        return QPointF(editor.view.mapFromScene(editor.vb.mapViewToScene(QPointF(x, y))))

    def send(kind: QEvent.Type, p: QPointF, button: Qt.MouseButton, buttons: Qt.MouseButton) -> None:
        ev = QMouseEvent(
            kind, p, QPointF(vp.mapToGlobal(p.toPoint())), button, buttons, Qt.KeyboardModifier.NoModifier
        )
        QApplication.sendEvent(vp, ev)

    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    p0, p1 = at(*a), at(*b)
    send(QEvent.Type.MouseButtonPress, p0, left, left)
    for t in (0.25, 0.5, 0.75, 1.0):
        qtbot.wait(30)  # pyqtgraph drops mouse moves that come faster than its frame rate
        send(QEvent.Type.MouseMove, p0 + (p1 - p0) * t, none, left)
    send(QEvent.Type.MouseButtonRelease, p1, left, none)


def test_mouse_drags_draw_an_ellipse_and_paint(qtbot) -> None:
    image, _ = synthetic_image(SIZE, defect=False)
    editor = LabelEditor(image)
    qtbot.addWidget(editor)
    editor.resize(520, 560)
    editor.show()
    qtbot.waitExposed(editor)
    editor.vb.setRange(xRange=(0, SIZE), yRange=(0, SIZE), padding=0)
    qtbot.wait(20)
    _mouse_drag(qtbot, editor, (10, 12), (34, 28))
    (roi,) = editor.ellipses
    assert abs(roi.pos().x() - 10) < 1.5
    assert abs(roi.size().x() - 24) < 2
    assert abs(roi.size().y() - 16) < 2
    editor.set_tool("brush")
    editor.brush_size.setValue(3)
    _mouse_drag(qtbot, editor, (40.5, 50.5), (60.5, 50.5))
    assert editor.mask()[50, 42:59].all()
    editor.set_tool("pan")
    _mouse_drag(qtbot, editor, (5, 60), (20, 62))
    assert len(editor.ellipses) == 1  # panning draws nothing


def test_existing_mask_is_loaded_and_kept(qtbot) -> None:
    image, mask = synthetic_image(SIZE, defect=True)
    editor = LabelEditor(image, existing_mask=mask)
    qtbot.addWidget(editor)
    assert np.array_equal(editor.mask(), mask)


def test_missed_defect_labelled_with_an_ellipse_exports_as_a_training_mask(
    qtbot, db: Database, ctx: AppContext, tmp_path: Path
) -> None:
    image, _ = synthetic_image(SIZE, defect=True, seed=3)
    insp = log_inspection(db, image, np.zeros((SIZE, SIZE), np.float32), tmp_path / "line", 0)
    assert queries.get_inspection(db, insp).row.verdict == "OK"  # the station passed it: an escape

    opened: list[Any] = []
    open_label_editor(None, ctx, insp, on_open=opened.append)  # reads the inspection off the UI thread
    qtbot.waitUntil(lambda: bool(opened), timeout=10_000)
    (dlg,) = opened
    assert dlg.isVisible()
    qtbot.addWidget(dlg)
    roi = dlg.editor.add_ellipse((10.0, 10.0), (8.0, 8.0))
    roi.setPos((20.0, 24.0))
    roi.setSize((26.0, 12.0))
    roi.setAngle(20.0)
    dlg.note.setText("scratch")
    drawn = dlg.editor.mask()
    assert iou(drawn, expected_ellipse((20.0, 24.0), (26.0, 12.0), 20.0)) > 0.9
    saved: list[int] = []
    dlg.on_saved.append(saved.append)
    assert dlg.save() is not None  # stored off the UI thread
    qtbot.waitUntil(lambda: bool(saved), timeout=10_000)
    review_id = dlg.review_id
    assert review_id is not None
    assert saved == [review_id]
    assert not dlg.isVisible()

    review = queries.get_inspection(db, insp).reviews[-1]
    assert (review.disposition, review.by, review.note) == ("missed_defect", "alice", "scratch")
    assert np.array_equal(decode_mask_png(review.mask_png), drawn)

    report = export_reviewed(db, tmp_path / "set")
    assert (report.written, report.defective, report.skipped) == (1, 1, [])
    (sample,) = load_samples(tmp_path / "set")
    assert sample.defective
    assert sample.mask is not None
    assert np.array_equal(read_gray(sample.image), image)
    assert np.array_equal(read_mask(sample.mask, (SIZE, SIZE)), (drawn > 0).astype(np.uint8))


def test_each_disposition_becomes_the_right_ground_truth(db: Database, tmp_path: Path) -> None:
    line = tmp_path / "line"
    img = [synthetic_image(SIZE, defect=False, seed=i)[0] for i in range(6)]
    fr = log_inspection(db, img[0], blob(0.9), line, 0)  # NG, reviewed: good part
    ok = log_inspection(db, img[1], blob(0.0), line, 1)  # OK, confirmed
    ng = log_inspection(db, img[2], blob(0.9), line, 2, archive=True)  # NG confirmed: mask from the map
    md = log_inspection(db, img[3], blob(0.0), line, 3)  # missed, never labelled: skipped
    gone = log_inspection(db, None, blob(0.9), line, 4)  # image deleted since: reported
    log_inspection(db, img[5], blob(0.9), line, 5)  # not reviewed: not exported
    for insp, disp in (
        (fr, "false_reject"),
        (ok, "confirm_ok"),
        (ng, "confirm_ng"),
        (md, "missed_defect"),
        (gone, "confirm_ng"),
    ):
        queries.add_review(db, insp, disp, by="qa")
    # a later review wins: first called NG, then corrected to confirm_ok with no mask
    queries.add_review(db, ok, "confirm_ng", by="op", mask_png=encode_mask_png(blob(1.0)))
    queries.add_review(db, ok, "confirm_ok", by="qa")

    report = export_reviewed(db, tmp_path / "set")
    assert report.written == 3
    assert report.defective == 1
    assert dict(report.by_disposition) == {"false_reject": 1, "confirm_ok": 1, "confirm_ng": 1}
    skipped = dict(report.skipped)
    assert set(skipped) == {md, gone}
    assert "labelled mask" in skipped[md]
    assert "not readable" in skipped[gone]
    samples = {s.key: s for s in load_samples(tmp_path / "set")}
    assert set(samples) == {f"review_{i:08d}" for i in (fr, ok, ng)}
    assert samples[f"review_{fr:08d}"].mask is None
    assert samples[f"review_{ok:08d}"].mask is None
    got = read_mask(samples[f"review_{ng:08d}"].mask, (SIZE, SIZE))
    assert np.array_equal(got, (blob(0.9) >= 0.5).astype(np.uint8))

    with pytest.raises(ValueError, match="not empty"):
        export_reviewed(db, tmp_path / "set")


def test_labelling_refuses_what_does_not_fit(qtbot, db: Database, ctx: AppContext, tmp_path: Path) -> None:
    seen: list[tuple[str, str]] = []
    ctx.message.connect(lambda level, text: seen.append((level, text)))
    image, _ = synthetic_image(SIZE, defect=True)
    ng = log_inspection(db, image, blob(0.9), tmp_path / "line", 0)
    gone = log_inspection(db, None, blob(0.0), tmp_path / "line", 1)
    for insp in (ng, gone, 999):  # flagged already: not an escape; image gone; no such inspection
        before = len(seen)
        label_missed_defect(None, ctx, insp)
        qtbot.waitUntil(lambda: len(seen) > before, timeout=10_000)  # read off the UI thread  # noqa: B023
    assert [lvl for lvl, _ in seen] == ["warning", "error", "warning"]
    assert not queries.get_inspection(db, ng).reviews
