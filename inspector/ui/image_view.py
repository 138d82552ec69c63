"""Zoomable, pannable image view that draws results with inspector.core.overlay.

Shared by the Live and History panels. pyqtgraph items are created once and
updated with ``setImage(..., autoLevels=False)``: re-creating items or
recomputing levels per frame is what makes live views stutter.

API: ``show_result(image, prob, decision, threshold)``, ``show_image(image)``,
``show_message(text)`` (no image: e.g. an ERROR part whose file could not be decoded),
``set_mode(OverlayMode)`` / ``mode()``, ``mode_changed`` signal, ``fit()``, ``clear()``.
Without a probability map (an ERROR result) every mode draws the plain image.
Mouse: wheel zooms, left-drag pans; the read-out under the image shows the
pixel value and defect probability under the cursor. ``view_box()`` and
``set_drag_handler()`` let an overlay (the recipe's zones, zone_overlay.py) draw and
take drags in image pixel coordinates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QT_TRANSLATE_NOOP, QPointF, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from inspector.core.overlay import OverlayMode, render
from inspector.core.types import Decision
from inspector.ui.style import MUTED, VIEW_BG

MODE_LABELS: dict[OverlayMode, str] = {
    OverlayMode.RAW: QT_TRANSLATE_NOOP("ImageView", "Raw image"),
    OverlayMode.MASK: QT_TRANSLATE_NOOP("ImageView", "Mask overlay"),
    OverlayMode.HEATMAP: QT_TRANSLATE_NOOP("ImageView", "Heatmap"),
    OverlayMode.CONTOURS: QT_TRANSLATE_NOOP("ImageView", "Contours + labels"),
}


class _ViewBox(pg.ViewBox):
    """A ViewBox whose left-button drags an editor may take before they pan (drawing zones)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.drag_handler: Callable[[Any], bool] | None = None

    def mouseDragEvent(self, ev: Any, axis: int | None = None) -> None:
        handler = self.drag_handler
        if handler is not None and axis is None and ev.button() == Qt.MouseButton.LeftButton and handler(ev):
            ev.accept()
            return
        super().mouseDragEvent(ev, axis)


class ImageView(QWidget):
    """Image + overlay with a mode selector and a fit-to-window button."""

    mode_changed = Signal(OverlayMode)

    def __init__(self, parent: QWidget | None = None, *, mode: OverlayMode = OverlayMode.CONTOURS,
                 toolbar: bool = True) -> None:
        super().__init__(parent)
        self._mode = OverlayMode(mode)
        self._image: np.ndarray | None = None
        self._prob: np.ndarray | None = None
        self._decision: Decision | None = None
        self._threshold = 0.5
        self._shape: tuple[int, int] | None = None

        self._gv = pg.GraphicsView(background=VIEW_BG)
        self._vb = _ViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self._gv.setCentralItem(self._vb)
        # row-major per item, not pg.setConfigOptions: other panels may rely on the global default
        self._item = pg.ImageItem(axisOrder="row-major")
        self._vb.addItem(self._item)
        self._gv.scene().sigMouseMoved.connect(self._on_mouse_moved)

        self.mode_combo = QComboBox()
        for m in OverlayMode:
            self.mode_combo.addItem(self.tr(MODE_LABELS[m]) if m in MODE_LABELS else str(m), m)
        self.mode_combo.setCurrentIndex(list(OverlayMode).index(self._mode))
        self.mode_combo.setToolTip(self.tr("How the model's defect map is drawn over the image"))
        self.mode_combo.currentIndexChanged.connect(self._on_combo)
        self.fit_button = QPushButton(self.tr("Fit"))
        self.fit_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_TitleBarNormalButton))
        self.fit_button.setToolTip(self.tr("Fit the image to the window (wheel zooms, drag pans)"))
        self.fit_button.clicked.connect(self.fit)
        self.readout = QLabel("")
        self.readout.setProperty("muted", True)
        self.readout.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        # Shown instead of the image when there is none to show (show_message).
        self.placeholder = QLabel("")
        self.placeholder.setObjectName("ImagePlaceholder")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.placeholder.setStyleSheet(
            f"QLabel#ImagePlaceholder {{ background: {VIEW_BG}; color: {MUTED}; font-size: 13pt; "
            "padding: 24px; }"
        )
        self._stack = QStackedWidget()
        self._stack.addWidget(self._gv)
        self._stack.addWidget(self.placeholder)

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(QLabel(self.tr("View")))
        bar.addWidget(self.mode_combo)
        bar.addWidget(self.fit_button)
        bar.addStretch(1)
        bar.addWidget(self.readout)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        if toolbar:
            layout.addLayout(bar)
        else:
            for w in (self.mode_combo, self.fit_button, self.readout):
                w.hide()
        layout.addWidget(self._stack, 1)

    # -- public API -----------------------------------------------------------------------
    def mode(self) -> OverlayMode:
        return self._mode

    def set_mode(self, mode: OverlayMode | str) -> None:
        mode = OverlayMode(mode)
        if mode == self._mode:
            return
        self._mode = mode
        self.mode_combo.blockSignals(True)
        self.mode_combo.setCurrentIndex(list(OverlayMode).index(mode))
        self.mode_combo.blockSignals(False)
        self._redraw()
        self.mode_changed.emit(mode)

    def show_result(self, image: np.ndarray | None, prob: np.ndarray | None, decision: Decision | None,
                    threshold: float) -> None:
        """Show an inspected image; ``threshold`` is the recipe's, so the drawn mask is what was judged.

        ``prob`` None (an ERROR result): the plain image in every mode. ``image`` None: a placeholder.
        """
        if image is None:
            self.show_message(self.tr("no image to show"))
            return
        self._image, self._prob, self._decision, self._threshold = image, prob, decision, float(threshold)
        self._stack.setCurrentWidget(self._gv)
        self._redraw()

    def show_image(self, image: np.ndarray) -> None:
        """Show a plain image (nothing inspected yet)."""
        self.show_result(image, None, None, self._threshold)

    def show_message(self, text: str) -> None:
        """No image, only ``text`` where the image would be (e.g. "image could not be read: …")."""
        self.clear()
        self.placeholder.setText(text)
        self._stack.setCurrentWidget(self.placeholder)

    def message(self) -> str:
        """The placeholder text on screen, "" while an image is shown."""
        return self.placeholder.text() if self._stack.currentWidget() is self.placeholder else ""

    def clear(self) -> None:
        self._image = self._prob = self._decision = None
        self._item.clear()
        self.readout.setText("")
        self._stack.setCurrentWidget(self._gv)

    def has_image(self) -> bool:
        return self._image is not None

    def rendered(self) -> np.ndarray | None:
        """The RGB array on screen (tests and screenshots compare it)."""
        img = self._item.image
        return None if img is None else np.asarray(img)

    def fit(self) -> None:
        self._vb.autoRange(padding=0.0)

    # -- overlays (inspector.ui.zone_overlay draws the recipe's zones here) -------------------
    def view_box(self) -> pg.ViewBox:
        """The ViewBox in image pixel coordinates (x right, y down), for overlay items."""
        return self._vb

    def graphics_view(self) -> pg.GraphicsView:
        return self._gv

    def image_size(self) -> tuple[int, int] | None:
        """(width, height) of the image on screen, None without one."""
        return None if self._image is None else (self._image.shape[1], self._image.shape[0])

    def set_drag_handler(self, handler: Callable[[Any], bool] | None) -> None:
        """``handler(MouseDragEvent) -> bool`` sees left-button drags first; True = taken (no pan)."""
        self._vb.drag_handler = handler

    # -- internals --------------------------------------------------------------------------
    def _redraw(self) -> None:
        if self._image is None:
            return
        bgr = render(self._image, self._prob, self._decision, self._mode, self._threshold)
        rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        self._item.setImage(rgb, autoLevels=False, levels=(0, 255))
        shape = (rgb.shape[0], rgb.shape[1])
        if shape != self._shape:  # keep the operator's zoom while the image size stays the same
            self._shape = shape
            self.fit()

    def _on_combo(self, index: int) -> None:
        self.set_mode(self.mode_combo.itemData(index))

    def _on_mouse_moved(self, pos: QPointF) -> None:
        if self._image is None:
            return
        pt = self._vb.mapSceneToView(pos)
        x, y = int(pt.x()), int(pt.y())
        h, w = self._image.shape[:2]
        if not (0 <= x < w and 0 <= y < h):
            self.readout.setText(f"{w}×{h}")
            return
        value = self._image[y, x]
        text = self.tr("x {x}  y {y}  value {value}").format(
            x=x, y=y, value=np.array2string(np.asarray(value), separator=","))
        if self._prob is not None:
            text += f"  p {float(self._prob[y, x]):.2f}"
        self.readout.setText(text)
