"""Precision / recall / false-reject / escape rate against one swept parameter.

Plot items are created once; updates only call ``setData`` and move the
marker line (re-creating items per edit is what makes pyqtgraph views flicker
and leak). Undefined rates (NaN: no flagged or no defective parts at that
value) are left out of a curve rather than drawn as 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QT_TRANSLATE_NOOP
from PySide6.QtWidgets import QHBoxLayout, QWidget

from inspector.core.whatif import PRPoint

CURVES: tuple[tuple[str, str, str], ...] = (
    ("precision", QT_TRANSLATE_NOOP("MetricPlot", "Precision"), "#4c8cff"),
    ("recall", QT_TRANSLATE_NOOP("MetricPlot", "Recall"), "#3cb44b"),
    ("false_reject_rate", QT_TRANSLATE_NOOP("MetricPlot", "False-reject rate"), "#f58231"),
    ("escape_rate", QT_TRANSLATE_NOOP("MetricPlot", "Escape rate"), "#e6194b"),
)
TITLES = {"threshold": QT_TRANSLATE_NOOP("MetricPlot", "Against the pixel threshold"),
          "level": QT_TRANSLATE_NOOP("MetricPlot", "Against the NG level")}


class MetricPlot(pg.PlotWidget):
    """One parameter's sweep: four rate curves plus the current setting as a vertical line."""

    def __init__(self, param: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.param = param
        self.setTitle(self.tr(TITLES[param]) if param in TITLES else param)
        self.setLabel("bottom", param)  # the recipe field's name
        self.setLabel("left", self.tr("rate"))
        self.setYRange(0.0, 1.0, padding=0.02)
        self.setXRange(0.0, 1.0, padding=0.02)
        self.showGrid(x=True, y=True, alpha=0.25)
        self.getPlotItem().setMenuEnabled(False)
        self.addLegend(offset=(-10, 10))
        self.curves: dict[str, pg.PlotDataItem] = {
            key: self.plot(
                [],
                [],
                name=self.tr(label),
                pen=pg.mkPen(colour, width=2),
                symbol="o",
                symbolSize=4,
                symbolBrush=colour,
                symbolPen=None,
            )
            for key, label, colour in CURVES
        }
        self.marker = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#dddddd", width=1, dash=[4, 3]))
        self.addItem(self.marker)
        self.marker.hide()
        self.points: list[PRPoint] = []

    def set_points(self, points: Sequence[PRPoint]) -> None:
        self.points = list(points)
        xs = np.array([p.value for p in points], dtype=float)
        for key, item in self.curves.items():
            ys = np.array([getattr(p, key) for p in points], dtype=float)
            ok = np.isfinite(ys)
            item.setData(xs[ok], ys[ok])

    def set_marker(self, value: float | None) -> None:
        """The recipe's current value (None: the rule is off, so no line)."""
        if value is None or not math.isfinite(value):
            self.marker.hide()
            return
        self.marker.setValue(float(value))
        self.marker.show()

    def curve_data(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        x, y = self.curves[key].getData()
        return (np.asarray(x if x is not None else []), np.asarray(y if y is not None else []))


class PRPlot(QWidget):
    """Both sweeps side by side (threshold and level)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plots = {param: MetricPlot(param) for param in ("threshold", "level")}
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        for p in self.plots.values():
            lay.addWidget(p)

    def set_points(self, param: str, points: Sequence[PRPoint]) -> None:
        self.plots[param].set_points(points)

    def set_markers(self, threshold: float | None, level: float | None) -> None:
        self.plots["threshold"].set_marker(threshold)
        self.plots["level"].set_marker(level)
