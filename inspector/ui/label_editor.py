"""Label a defect on an inspection image: ellipses and a brush, out comes a {0,255} mask.

Tools: Ellipse (drag on the image to create one; its handles rotate and resize
it, DAGM-style weak labels), Brush and Erase (drag to paint; size adjustable),
Pan (drag moves the view; the wheel zooms in every tool). Delete removes the
selected ellipse, Clear everything.

The mask is composed at the ORIGINAL image size as
``(ellipses | painted) & ~erased``: erasing can trim an ellipse, and painting
over an erased spot restores it. Ellipses are rasterised from the ROI's own
transform (pixel centres inside the drawn shape), so what is saved is what
the user saw, at any rotation.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from inspector.ui.style import VIEW_BG

TOOLS = ("ellipse", "brush", "erase", "pan")
OVERLAY_LUT = np.array([[0, 0, 0, 0], [255, 40, 40, 110]], np.uint8)  # 0: clear, 1: defect
MIN_ELLIPSE_PX = 2.0


def ellipse_mask(shape: tuple[int, int], roi: pg.ROI) -> np.ndarray:
    """bool HxW: pixel centres inside the ellipse inscribed in ``roi``'s (rotated) rectangle."""
    w, h = float(roi.size().x()), float(roi.size().y())
    out = np.zeros(shape, bool)
    if w <= 0 or h <= 0:
        return out
    # The ROI's affine map local -> image coordinates, read off three points (no angle conventions).
    o, ex, ey = (roi.mapToParent(QPointF(*p)) for p in ((0, 0), (1, 0), (0, 1)))
    a = np.array([[ex.x() - o.x(), ey.x() - o.x()], [ex.y() - o.y(), ey.y() - o.y()]])
    corners = np.array([roi.mapToParent(QPointF(x, y)).toTuple() for x in (0, w) for y in (0, h)])
    x0, y0 = np.floor(corners.min(axis=0)).astype(int)
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, shape[1]), min(y1, shape[0])
    if x0 >= x1 or y0 >= y1:
        return out
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    pts = np.stack([xx.ravel() + 0.5 - o.x(), yy.ravel() + 0.5 - o.y()])
    lx, ly = np.linalg.solve(a, pts)
    inside = ((lx - w / 2) / (w / 2)) ** 2 + ((ly - h / 2) / (h / 2)) ** 2 <= 1.0
    out[y0:y1, x0:x1] = inside.reshape(yy.shape)
    return out


def _display(image: np.ndarray) -> np.ndarray:
    """What ImageItem shows: gray or RGB (OpenCV decodes BGR/BGRA)."""
    if image.ndim == 3 and image.shape[2] >= 3:
        return np.ascontiguousarray(image[:, :, 2::-1])
    return image if image.ndim == 2 else image[:, :, 0]


class _EditorViewBox(pg.ViewBox):
    """Routes drags on empty image area to the editor's tool (ROIs take their own drags first)."""

    def __init__(self, editor: LabelEditor) -> None:
        super().__init__(lockAspect=True, invertY=True, enableMenu=False)
        self._editor = editor

    def mouseDragEvent(self, ev: Any, axis: int | None = None) -> None:
        # ev: pyqtgraph's MouseDragEvent (not exported as a public type)
        if self._editor.tool == "pan" or ev.button() != Qt.MouseButton.LeftButton:
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        start = self.mapToView(ev.buttonDownPos())
        self._editor.drag(start, self.mapToView(ev.pos()), ev.isStart(), ev.isFinish())


class LabelEditor(QWidget):
    """``LabelEditor(image, existing_mask=None)``; ``mask()`` is uint8 {0,255} at the image size."""

    mask_changed = Signal()

    def __init__(
        self, image: np.ndarray, existing_mask: np.ndarray | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.shape: tuple[int, int] = (int(image.shape[0]), int(image.shape[1]))
        self.painted = np.zeros(self.shape, np.uint8)
        self.erased = np.zeros(self.shape, np.uint8)
        if existing_mask is not None:
            if existing_mask.shape[:2] != self.shape:
                raise ValueError(f"mask is {existing_mask.shape[:2]}, image is {self.shape}")
            self.painted[np.asarray(existing_mask).reshape(self.shape) > 0] = 1
        self._shown = np.zeros(self.shape, bool)  # what the overlay shows (the composed mask)
        self._ellipses_shown = np.zeros(self.shape, bool)
        self.ellipses: list[pg.EllipseROI] = []
        self.selected: pg.EllipseROI | None = None
        self.tool = "ellipse"
        self._drawing: pg.EllipseROI | None = None
        self._last: QPointF | None = None

        self.view = pg.GraphicsView(background=VIEW_BG)
        self.vb = _EditorViewBox(self)
        self.view.setCentralItem(self.vb)
        self.image_item = pg.ImageItem(_display(image), axisOrder="row-major")
        self.overlay = pg.ImageItem(axisOrder="row-major")
        self.vb.addItem(self.image_item)
        self.vb.addItem(self.overlay)
        self.vb.autoRange(padding=0.02)
        self._build_toolbar()
        self._refresh()

    # -- UI ---------------------------------------------------------------------------------
    def _build_toolbar(self) -> None:
        bar = QHBoxLayout()
        self.tool_group = QButtonGroup(self)
        self.tool_buttons: dict[str, QToolButton] = {}
        names = {"ellipse": self.tr("Ellipse"), "brush": self.tr("Brush"), "erase": self.tr("Erase"),
                 "pan": self.tr("Pan")}
        tips = {
            "ellipse": self.tr("Drag on the image to draw an ellipse; drag its handles to rotate/resize"),
            "brush": self.tr("Drag to paint the defect"),
            "erase": self.tr("Drag to erase (also trims ellipses)"),
            "pan": self.tr("Drag to move the view (the wheel zooms in every tool)"),
        }
        for tool in TOOLS:
            b = QToolButton()
            b.setText(names.get(tool, tool.capitalize()))
            b.setCheckable(True)
            b.setToolTip(tips[tool])
            b.setObjectName(f"tool_{tool}")
            b.clicked.connect(lambda _=False, t=tool: self.set_tool(t))
            self.tool_group.addButton(b)
            self.tool_buttons[tool] = b
            bar.addWidget(b)
        self.tool_buttons[self.tool].setChecked(True)
        bar.addWidget(QLabel(self.tr("Brush size")))
        self.brush_size = QSpinBox()
        self.brush_size.setRange(1, 200)
        self.brush_size.setValue(max(3, min(self.shape) // 40))
        self.brush_size.setSuffix(" px")
        bar.addWidget(self.brush_size)
        self.delete_button = QPushButton(self.tr("Delete ellipse"))
        self.delete_button.clicked.connect(self.delete_selected)
        self.clear_button = QPushButton(self.tr("Clear"))
        self.clear_button.clicked.connect(self.clear)
        bar.addWidget(self.delete_button)
        bar.addWidget(self.clear_button)
        bar.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(bar)
        lay.addWidget(self.view, 1)

    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"unknown tool {tool!r}; one of {TOOLS}")
        self.tool = tool
        self.tool_buttons[tool].setChecked(True)

    # -- ellipses -----------------------------------------------------------------------------
    def add_ellipse(
        self, pos: tuple[float, float], size: tuple[float, float], angle: float = 0.0
    ) -> pg.EllipseROI:
        """An ellipse in image pixels: ``pos`` is its (unrotated) corner, rotation about that corner."""
        roi = pg.EllipseROI(pos, size, pen=pg.mkPen((255, 60, 60), width=2), movable=True, removable=True)
        roi.setAngle(angle)
        self.vb.addItem(roi)
        roi.sigRegionChangeFinished.connect(lambda _r: self._refresh())
        roi.sigClicked.connect(lambda r, _ev: self._select(r))
        roi.sigRemoveRequested.connect(self.remove_ellipse)
        self.ellipses.append(roi)
        self._select(roi)
        self._refresh()
        return roi

    def _select(self, roi: pg.EllipseROI) -> None:
        self.selected = roi

    def remove_ellipse(self, roi: pg.EllipseROI) -> None:
        if roi in self.ellipses:
            self.ellipses.remove(roi)
            self.vb.removeItem(roi)
        if self.selected is roi:
            self.selected = self.ellipses[-1] if self.ellipses else None
        self._refresh()

    def delete_selected(self) -> None:
        if self.selected is not None:
            self.remove_ellipse(self.selected)

    def clear(self) -> None:
        for roi in list(self.ellipses):
            self.remove_ellipse(roi)
        self.painted[:] = 0
        self.erased[:] = 0
        self._refresh()

    # -- drawing -----------------------------------------------------------------------------
    def drag(self, start: QPointF, pos: QPointF, is_start: bool, is_finish: bool) -> None:
        """A left-drag in image coordinates, from the view box (tests may call it directly)."""
        if self.tool == "ellipse":
            self._drag_ellipse(start, pos, is_start, is_finish)
        else:
            # the first drag event comes only after the pointer moved a few pixels: paint from the press
            self._stroke(start if is_start or self._last is None else self._last, pos)
            self._last = None if is_finish else pos

    def _drag_ellipse(self, start: QPointF, pos: QPointF, is_start: bool, is_finish: bool) -> None:
        x0, x1 = sorted((start.x(), pos.x()))
        y0, y1 = sorted((start.y(), pos.y()))
        size = (max(x1 - x0, MIN_ELLIPSE_PX), max(y1 - y0, MIN_ELLIPSE_PX))
        if is_start or self._drawing is None:
            self._drawing = self.add_ellipse((x0, y0), size)
        else:
            self._drawing.setPos((x0, y0), finish=False)
            self._drawing.setSize(size, finish=False)
        if is_finish:
            done, self._drawing = self._drawing, None
            # a fresh ellipse means "this is defect": it wins over earlier erasing
            self.erased[ellipse_mask(self.shape, done)] = 0
            self._refresh()

    def _stroke(self, a: QPointF, b: QPointF) -> None:
        # drawn in a window around the segment: a full-frame pass per mouse move would lag on big images
        size = int(self.brush_size.value())
        p0 = np.array([round(a.x() - 0.5), round(a.y() - 0.5)])
        p1 = np.array([round(b.x() - 0.5), round(b.y() - 0.5)])
        r = size // 2 + 2
        x0, y0 = np.maximum(np.minimum(p0, p1) - r, 0)
        x1, y1 = np.minimum(np.maximum(p0, p1) + r + 1, (self.shape[1], self.shape[0]))
        if x0 >= x1 or y0 >= y1:
            return  # entirely outside the image
        win = (slice(int(y0), int(y1)), slice(int(x0), int(x1)))
        paint = np.zeros((int(y1 - y0), int(x1 - x0)), np.uint8)
        off = np.array([x0, y0])
        q0, q1 = (tuple(int(v) for v in p - off) for p in (p0, p1))
        cv2.line(paint, q0, q1, 1, thickness=size)
        cv2.circle(paint, q1, max(size // 2, 0), 1, thickness=-1)
        hit = paint > 0
        if self.tool == "brush":
            self.painted[win][hit], self.erased[win][hit] = 1, 0
        elif self.tool == "erase":
            self.painted[win][hit], self.erased[win][hit] = 0, 1
        self._refresh(win)

    # -- result ------------------------------------------------------------------------------
    def _ellipse_union(self) -> np.ndarray:
        m = np.zeros(self.shape, bool)
        for roi in self.ellipses:
            m |= ellipse_mask(self.shape, roi)
        return m

    def mask(self) -> np.ndarray:
        """uint8 HxW {0, 255} at the original image size."""
        m = ((self.painted > 0) | self._ellipse_union()) & (self.erased == 0)
        return np.where(m, 255, 0).astype(np.uint8)

    def _refresh(self, window: tuple[slice, slice] | None = None) -> None:
        """Redraw the overlay; ``window``: only a brush stroke changed there (ellipses did not)."""
        if window is None:
            self._ellipses_shown = self._ellipse_union()
            window = (slice(None), slice(None))
        self._shown[window] = ((self.painted[window] > 0) | self._ellipses_shown[window]) & (
            self.erased[window] == 0
        )
        # 0/1 image through a 2-entry RGBA lookup table: a quarter of the memory of an RGBA overlay
        self.overlay.setImage(self._shown.view(np.uint8), autoLevels=False, levels=(0, 1), lut=OVERLAY_LUT)
        self.mask_changed.emit()
