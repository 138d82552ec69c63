"""Form for every Recipe parameter, emitting a validated candidate on each edit.

Labels, units and tooltips come from the Recipe model itself (field
descriptions, translated through FIELD_HELP), so the form cannot drift from the rules it edits. Optional
rules (``None`` disables them) get an enable checkbox; the spin box keeps its
value while disabled so switching a rule off and on loses nothing.

The candidate carries the *base* recipe's name and version: it is a what-if,
not a version. Only Apply (rules_panel) gives it a new version number. The value
boxes emit as you type (keyboard tracking); the what-if replay is debounced by its
runner. ``param_diff``/``diff_summary`` describe how two versions differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inspector.core.recipe import Recipe, Zone


@dataclass(frozen=True, slots=True)
class _Spec:
    name: str
    label: str  # English source text, shown translated (context "RecipeEditor")
    kind: type  # int | float
    lo: float
    hi: float
    step: float
    decimals: int
    suffix: str  # English source text (" px", " regions", ...), shown translated
    default_when_off: float  # what the box shows when the recipe has the rule disabled


SPECS: tuple[_Spec, ...] = (
    _Spec("threshold", QT_TRANSLATE_NOOP("RecipeEditor", "Pixel threshold"), float, 0.001, 0.999, 0.01, 3,
          "", 0.5),
    _Spec("min_area_px", QT_TRANSLATE_NOOP("RecipeEditor", "Minimum region area"), int, 0, 100_000_000, 5, 0,
          " px", 20),
    _Spec("max_count", QT_TRANSLATE_NOOP("RecipeEditor", "Maximum region count"), int, 0, 1_000_000, 1, 0,
          QT_TRANSLATE_NOOP("RecipeEditor", " regions"), 0),
    _Spec("max_region_area_px", QT_TRANSLATE_NOOP("RecipeEditor", "Maximum region area"), int, 0,
          100_000_000, 50,
          0, " px", 500),
    _Spec("max_area_ratio", QT_TRANSLATE_NOOP("RecipeEditor", "Maximum defect area ratio"), float, 0.0, 1.0,
          0.001,
          4, QT_TRANSLATE_NOOP("RecipeEditor", " ratio"), 0.01),
    _Spec("level_ng", QT_TRANSLATE_NOOP("RecipeEditor", "NG level"), float, 0.001, 1.0, 0.01, 3, "", 0.9),
    _Spec("level_review", QT_TRANSLATE_NOOP("RecipeEditor", "REVIEW level"), float, 0.001, 1.0, 0.01, 3, "",
          0.6),
)
OPTIONAL = frozenset({"max_count", "max_region_area_px", "max_area_ratio", "level_ng", "level_review"})


# The Recipe fields' descriptions (inspector.core.recipe), marked here for translation: the core
# stays Qt-free. tests/test_i18n.py checks that every description is listed, so they cannot drift.
FIELD_HELP = (
    QT_TRANSLATE_NOOP("RecipeFields", "Pixel threshold on the defect probability (0..1)."),
    QT_TRANSLATE_NOOP("RecipeFields", "Regions smaller than this many pixels are ignored (px)."),
    QT_TRANSLATE_NOOP("RecipeFields", "Regions count only if their centroid lies in one of these zones; "
                                      "empty = whole image."),
    QT_TRANSLATE_NOOP("RecipeFields", "Regions whose centroid lies in one of these zones are ignored."),
    QT_TRANSLATE_NOOP("RecipeFields", "NG when more than this many regions remain (count); None disables."),
    QT_TRANSLATE_NOOP("RecipeFields", "NG when any region is larger than this (px); None disables."),
    QT_TRANSLATE_NOOP("RecipeFields", "NG when total defect area / image area exceeds this (ratio)."),
    QT_TRANSLATE_NOOP("RecipeFields", "Defect level of a region: its max or mean probability."),
    QT_TRANSLATE_NOOP("RecipeFields", "NG when a region's defect level is at least this (0..1)."),
    QT_TRANSLATE_NOOP("RecipeFields", "How the line treats a part that could not be fully inspected (ERROR "
                                      "verdict): reject it (NG) or hold it for a person (REVIEW). It is "
                                      "never OK."),
    QT_TRANSLATE_NOOP("RecipeFields", "REVIEW when a region's level is in [level_review, level_ng) and no "
                                      "rule fired NG."),
)


def describe(field: str) -> str:
    """The field's description (its tooltip) in the GUI's language."""
    return QCoreApplication.translate("RecipeFields", Recipe.model_fields[field].description or "")


def is_rect(z: Zone) -> bool:
    """An axis-aligned rectangle (what Zone.rect makes): editable as x, y, w, h or by dragging."""
    xs = sorted({p[0] for p in z.points})
    ys = sorted({p[1] for p in z.points})
    return len(z.points) == 4 and len(xs) == 2 and len(ys) == 2


def bbox(z: Zone) -> tuple[float, float, float, float]:
    """(x, y, w, h) of the zone's bounding box."""
    xs = [p[0] for p in z.points]
    ys = [p[1] for p in z.points]
    return min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)


class ZoneTable(QWidget):
    """Rectangles (name, x, y, w, h) in original-image pixels.

    Polygons that are not axis-aligned rectangles (from a recipe file) are kept
    exactly and shown read-only by their bounding box: editing them as
    rectangles would silently change the inspected area.
    """

    changed = Signal()
    COLS = (QT_TRANSLATE_NOOP("ZoneTable", "Name"), "x", "y", "w", "h")

    def __init__(self, title: str, tooltip: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._polys: dict[int, Zone] = {}  # row -> kept polygon
        self.table = QTableWidget(0, len(self.COLS))
        self.table.setHorizontalHeaderLabels([self.tr(c) for c in self.COLS])
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setToolTip(tooltip)
        self.table.setMaximumHeight(110)
        self.table.itemChanged.connect(lambda _i: self.changed.emit())
        add, remove = QPushButton(self.tr("Add")), QPushButton(self.tr("Remove"))
        add.setToolTip(self.tr("Add a rectangle; then type its x, y, width and height in pixels"))
        add.clicked.connect(lambda: self.add_rect(0, 0, 100, 100))
        remove.clicked.connect(self._remove_selected)
        head = QHBoxLayout()
        head.addWidget(QLabel(title))
        head.addStretch(1)
        head.addWidget(add)
        head.addWidget(remove)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(head)
        lay.addWidget(self.table)

    def set_zones(self, zones: list[Zone]) -> None:
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        self._polys.clear()
        for z in zones:
            self._append(z)
        self.table.blockSignals(False)

    def add_rect(self, x: float, y: float, w: float, h: float, name: str = "") -> None:
        self.table.blockSignals(True)
        self._append(Zone.rect(x, y, w, h, name))
        self.table.blockSignals(False)
        self.changed.emit()

    def _append(self, z: Zone) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        rect = is_rect(z)
        for col, value in enumerate((z.name, *bbox(z))):
            item = QTableWidgetItem(value if col == 0 else f"{value:g}")
            if not rect and col > 0:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                item.setToolTip(self.tr("Polygon with {n} points (bounding box shown); edit it in the file")
                                .format(n=len(z.points)))
            self.table.setItem(row, col, item)
        if not rect:
            self._polys[row] = z

    def _remove_selected(self) -> None:
        rows = sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True)
        if not rows:
            return
        zones = self.zones()
        for r in rows:
            del zones[r]
        self.set_zones(zones)
        self.changed.emit()

    def zones(self) -> list[Zone]:
        """The zones as shown; raises ValueError naming the bad cell."""
        out: list[Zone] = []
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            name = item.text() if item is not None else ""
            if row in self._polys:
                out.append(self._polys[row].model_copy(update={"name": name}))
                continue
            vals = []
            for col in range(1, 5):
                cell = self.table.item(row, col)
                text = cell.text() if cell is not None else ""
                try:
                    vals.append(float(text))
                except ValueError:
                    raise ValueError(self.tr("zone {n}: {column} '{text}' is not a number").format(
                        n=row + 1, column=self.COLS[col], text=text)) from None
            x, y, w, h = vals
            if w <= 0 or h <= 0:
                raise ValueError(self.tr("zone {n}: width and height must be positive").format(n=row + 1))
            out.append(Zone.rect(x, y, w, h, name))
        return out


class RecipeEditor(QWidget):
    """Edits a Recipe; ``edited(candidate)`` fires with a valid Recipe, ``invalid(message)`` otherwise."""

    edited = Signal(Recipe)
    invalid = Signal(str)

    def __init__(self, recipe: Recipe, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._base = recipe
        self.boxes: dict[str, QSpinBox | QDoubleSpinBox] = {}
        self.enabled: dict[str, QCheckBox] = {}
        form = QFormLayout()
        for spec in SPECS:
            box = self._make_box(spec)
            self.boxes[spec.name] = box
            tip = describe(spec.name)
            label = QLabel(self.tr(spec.label))
            label.setToolTip(tip)
            box.setToolTip(tip)
            if spec.name in OPTIONAL:
                chk = QCheckBox()
                chk.setToolTip(self.tr("Enable this rule (unchecked = the rule never fires)"))
                chk.toggled.connect(box.setEnabled)
                chk.toggled.connect(self._emit)
                self.enabled[spec.name] = chk
                row = QHBoxLayout()
                row.addWidget(chk)
                row.addWidget(box, 1)
                form.addRow(label, row)
            else:
                form.addRow(label, box)
            if spec.name == "max_area_ratio":
                form.addRow(self._mode_row())
        self.roi = ZoneTable(self.tr("Inspected zones (ROI)"), describe("roi"))
        self.exclusions = ZoneTable(self.tr("Exclusion zones"), describe("exclusions"))
        for zt in (self.roi, self.exclusions):
            zt.changed.connect(self._emit)
        self.error_label = QLabel("")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #d04040")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(form)
        lay.addWidget(self.roi)
        lay.addWidget(self.exclusions)
        lay.addWidget(self.error_label)
        self._error = ""
        self.set_recipe(recipe)

    def _mode_row(self) -> QWidget:
        self.level_mode = QComboBox()
        self.level_mode.addItem(self.tr("max probability"), "max")
        self.level_mode.addItem(self.tr("mean probability"), "mean")
        self.level_mode.setToolTip(describe("level_mode"))
        self.level_mode.currentIndexChanged.connect(self._emit)
        w = QWidget()
        row = QHBoxLayout(w)
        row.setContentsMargins(0, 0, 0, 0)
        label = QLabel(self.tr("Defect level of a region"))
        label.setToolTip(describe("level_mode"))
        row.addWidget(label)
        row.addWidget(self.level_mode, 1)
        return w

    def _make_box(self, spec: _Spec) -> QSpinBox | QDoubleSpinBox:
        box: QSpinBox | QDoubleSpinBox
        if spec.kind is int:
            box = QSpinBox()
            box.setRange(int(spec.lo), int(spec.hi))
            box.setSingleStep(int(spec.step))
            box.setGroupSeparatorShown(True)
        else:
            box = QDoubleSpinBox()
            box.setDecimals(spec.decimals)
            box.setRange(spec.lo, spec.hi)
            box.setSingleStep(spec.step)
        box.setSuffix(self.tr(spec.suffix) if spec.suffix.strip() != "px" else spec.suffix)
        # Keyboard tracking on: the candidate follows each keystroke that makes a valid value, so
        # the selected image re-decides as you type (a few ms) and the what-if replay follows once
        # typing pauses (WhatIfRunner debounces it). "0." is not a value yet and emits nothing.
        box.setKeyboardTracking(True)
        box.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToNearestValue)
        box.valueChanged.connect(self._emit)
        return box

    # -- public API -------------------------------------------------------------------------------
    @property
    def base(self) -> Recipe:
        return self._base

    def set_recipe(self, recipe: Recipe) -> None:
        """Load ``recipe`` as the new base (emits one ``edited``)."""
        self._base = recipe
        widgets: list[QWidget] = [*self.boxes.values(), *self.enabled.values(), self.level_mode]
        for w in widgets:
            w.blockSignals(True)
        for spec in SPECS:
            value = getattr(recipe, spec.name)
            box = self.boxes[spec.name]
            box.setValue(spec.default_when_off if value is None else value)  # type: ignore[arg-type]
            if spec.name in self.enabled:
                self.enabled[spec.name].setChecked(value is not None)
                box.setEnabled(value is not None)
        self.level_mode.setCurrentIndex(max(0, self.level_mode.findData(recipe.level_mode)))
        for w in widgets:
            w.blockSignals(False)
        self.roi.set_zones(list(recipe.roi))
        self.exclusions.set_zones(list(recipe.exclusions))
        self._emit()

    def set_zones(self, roi: list[Zone], exclusions: list[Zone]) -> None:
        """Replace the zones (drawn on the image in the Rules tab); emits one ``edited``."""
        self.roi.set_zones(list(roi))
        self.exclusions.set_zones(list(exclusions))
        self._emit()

    def set_value(self, name: str, value: float | None) -> None:
        """Set one parameter as a user would (None disables an optional rule)."""
        if value is None:
            self.enabled[name].setChecked(False)
            return
        if name in self.enabled:
            self.enabled[name].setChecked(True)
        self.boxes[name].setValue(value)  # type: ignore[arg-type]

    def values(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for spec in SPECS:
            on = spec.name not in self.enabled or self.enabled[spec.name].isChecked()
            data[spec.name] = spec.kind(self.boxes[spec.name].value()) if on else None
        data["level_mode"] = self.level_mode.currentData()
        data["roi"] = [z.model_dump(mode="json") for z in self.roi.zones()]
        data["exclusions"] = [z.model_dump(mode="json") for z in self.exclusions.zones()]
        return data

    def candidate(self) -> Recipe | None:
        """The recipe as shown (base name and version), or None while invalid."""
        try:
            return Recipe.model_validate({**self._base.model_dump(mode="json"), **self.values()})
        except (ValidationError, ValueError):
            return None

    def error(self) -> str:
        return self._error

    def is_modified(self) -> bool:
        c = self.candidate()
        return c is None or c.params() != self._base.params()

    # -- internals ------------------------------------------------------------------------------
    def _emit(self, *_args: object) -> None:
        try:
            recipe = Recipe.model_validate({**self._base.model_dump(mode="json"), **self.values()})
        except ValidationError as exc:
            self._set_error("; ".join(_short(e) for e in exc.errors()))
            return
        except ValueError as exc:
            self._set_error(str(exc))
            return
        self._set_error("")
        self.edited.emit(recipe)

    def _set_error(self, text: str) -> None:
        self._error = text
        self.error_label.setText(text)
        if text:
            self.invalid.emit(text)


# -- parameters as text, and the difference between two versions ---------------------------------
# English source texts (context "RecipeEditor"); param_label() gives them in the GUI's language
PARAM_LABELS: dict[str, str] = {
    **{spec.name: spec.label for spec in SPECS},
    "level_mode": QT_TRANSLATE_NOOP("RecipeEditor", "Defect level of a region"),
    "roi": QT_TRANSLATE_NOOP("RecipeEditor", "Inspected zones (ROI)"),
    "exclusions": QT_TRANSLATE_NOOP("RecipeEditor", "Exclusion zones"),
    "on_error": QT_TRANSLATE_NOOP("RecipeEditor", "ERROR parts are treated as"),
}


def param_label(name: str) -> str:
    return QCoreApplication.translate("RecipeEditor", PARAM_LABELS[name]) if name in PARAM_LABELS else name


def _t(text: str) -> str:
    return QCoreApplication.translate("RecipeEditor", text)
_UNITS = {spec.name: spec.suffix.strip() for spec in SPECS if spec.suffix.strip() in ("px",)}


def param_order() -> list[str]:
    """Recipe parameters in the order of the model (name and version are not parameters)."""
    return [f for f in Recipe.model_fields if f not in ("name", "version")]


def format_param(name: str, value: object) -> str:
    """One parameter for people: "off" for a disabled rule, zones by name and rectangle."""
    if value is None:
        return _t(QT_TRANSLATE_NOOP("RecipeEditor", "off"))
    if name in ("roi", "exclusions"):
        zones = [Zone.model_validate(z) if isinstance(z,
                                                      dict) else z for z in value]  # type: ignore[attr-defined]
        if not zones:
            return (_t(QT_TRANSLATE_NOOP("RecipeEditor", "none")) if name == "exclusions"
                    else _t(QT_TRANSLATE_NOOP("RecipeEditor", "whole image")))
        parts = []
        for z in zones:
            x, y, w, h = bbox(z)
            shape = (f"{x:g},{y:g} {w:g}×{h:g}" if is_rect(z) else
                     QCoreApplication.translate("RecipeEditor", "polygon of {n} points")
                     .format(n=len(z.points)))
            parts.append(f"{z.name + ' ' if z.name else ''}{shape}")
        return "; ".join(parts)
    text = f"{value:g}" if isinstance(value, float) else str(value)
    unit = _UNITS.get(name)
    return f"{text} {unit}" if unit else text


def param_diff(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(label, old, new) for every parameter that differs, in the recipe's order."""
    out = []
    for name in param_order():
        a, b = old.get(name), new.get(name)
        if a != b:
            out.append((param_label(name), format_param(name, a), format_param(name, b)))
    return out


def diff_summary(old: dict[str, Any], new: dict[str, Any], limit: int = 3) -> str:
    """Short text of what differs ("Pixel threshold 0.5 → 0.7; …"); "same settings" when nothing does."""
    diff = param_diff(old, new)
    if not diff:
        return _t(QT_TRANSLATE_NOOP("RecipeEditor", "same settings"))
    parts = [f"{label} {a} → {b}" for label, a, b in diff[:limit]]
    if len(diff) > limit:
        parts.append(QCoreApplication.translate("RecipeEditor", "+{n} more").format(n=len(diff) - limit))
    return "; ".join(parts)


def _short(err: Any) -> str:
    loc = ".".join(str(p) for p in err.get("loc", ()))
    msg = str(err.get("msg", "")).removeprefix("Value error, ")
    return f"{loc}: {msg}" if loc else msg
