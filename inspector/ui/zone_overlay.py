"""The recipe's ROI and exclusion zones drawn on an :class:`~inspector.ui.image_view.ImageView`.

Two uses:

* **Live** (``editable=False``): outlines only, so the operator sees which part of the
  image the rules look at (ROI, green) and which they ignore (exclusions, orange, dashed).
* **Rules** (``editable=True``): zones are rectangles to draw and edit on the image. Pick a
  kind (``set_draw_kind("roi" | "exclusion")``) and drag on the image to draw one; drag a
  rectangle to move it, its corner handles to resize it; click selects, Delete removes the
  selected one. Every change emits ``edited(roi, exclusions)`` with the zones as
  :meth:`Zone.rect` polygons in original-image pixels (whole pixels), which the recipe
  editor stores.

A zone that is not an axis-aligned rectangle (written into a recipe file by hand) is
drawn as its polygon and never edited here: moving its bounding box would change the
inspected area behind the user's back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pyqtgraph as pg
from PySide6.QtCore import QT_TRANSLATE_NOOP, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QKeySequence, QPolygonF, QShortcut
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPolygonItem, QGraphicsRectItem

from inspector.core.recipe import Zone
from inspector.ui.image_view import ImageView
from inspector.ui.recipe_editor import bbox, is_rect

ZoneKind = Literal["roi", "exclusion"]
KINDS: tuple[ZoneKind, ...] = ("roi", "exclusion")
COLOURS: dict[ZoneKind, str] = {"roi": "#3fbf6f", "exclusion": "#f0a030"}
LABELS: dict[ZoneKind, str] = {"roi": QT_TRANSLATE_NOOP("ZoneOverlay", "ROI"),
                               "exclusion": QT_TRANSLATE_NOOP("ZoneOverlay", "excl.")}
MIN_SIDE_PX = 2  # a drag shorter than this is a click, not a zone


def _pen(kind: ZoneKind, selected: bool = False) -> Any:
    style = Qt.PenStyle.DashLine if kind == "exclusion" else Qt.PenStyle.SolidLine
    colour = "#ffffff" if selected else COLOURS[kind]
    return pg.mkPen(colour, width=3 if selected else 2, style=style)


@dataclass(slots=True)
class _Item:
    kind: ZoneKind
    zone: Zone
    graphic: QGraphicsItem  # pg.ROI for an editable rectangle, else an outline
    label: pg.TextItem

    @property
    def roi(self) -> pg.ROI | None:
        return self.graphic if isinstance(self.graphic, pg.ROI) else None


class ZoneOverlay(QObject):
    """Zones on ``view``; ``edited(roi, exclusions)`` after each draw, move, resize or delete."""

    # roi, exclusions (list[Zone] each): object, as Signal(list) would make them QVariantLists
    edited = Signal(object, object)
    selection_changed = Signal()

    def __init__(self, view: ImageView, *, editable: bool = False, parent: QObject | None = None) -> None:
        super().__init__(parent or view)
        self.view = view
        self.editable = editable
        self._items: list[_Item] = []
        self._selected: _Item | None = None
        self._draw_kind: ZoneKind | None = None
        self._draft: QGraphicsRectItem | None = None
        self._draft_start: QPointF | None = None
        self._visible = True
        if editable:
            view.set_drag_handler(self._on_drag)
            scope = Qt.ShortcutContext.WidgetWithChildrenShortcut
            for keys in (QKeySequence(QKeySequence.StandardKey.Delete), QKeySequence(Qt.Key.Key_Backspace)):
                QShortcut(keys, view, self.delete_selected, context=scope)

    # -- zones ------------------------------------------------------------------------------------
    def zones(self) -> tuple[list[Zone], list[Zone]]:
        """(roi, exclusions) as drawn."""
        return (
            [it.zone for it in self._items if it.kind == "roi"],
            [it.zone for it in self._items if it.kind == "exclusion"],
        )

    def set_zones(self, roi: list[Zone], exclusions: list[Zone]) -> None:
        """Show these zones (a no-op when they are the ones shown: a drag in progress keeps going)."""
        if (list(roi), list(exclusions)) == self.zones() and len(self._items) == len(roi) + len(exclusions):
            return
        selected = self.selected()
        for it in self._items:
            self._remove_graphics(it)
        self._items = []
        self._selected = None
        for kind, zones in (("roi", roi), ("exclusion", exclusions)):
            for z in zones:
                self._items.append(self._make_item(kind, z))  # type: ignore[arg-type]
        self._relabel()
        if selected is not None:
            self.select(*selected)

    def set_visible(self, on: bool) -> None:
        self._visible = on
        for it in self._items:
            it.graphic.setVisible(on)
            it.label.setVisible(on)

    def count(self) -> int:
        return len(self._items)

    # -- selection ------------------------------------------------------------------------------
    def selected(self) -> tuple[ZoneKind, int] | None:
        """(kind, index among that kind's zones) of the selected zone."""
        it = self._selected
        if it is None:
            return None
        same = [x for x in self._items if x.kind == it.kind]
        return it.kind, same.index(it)

    def select(self, kind: ZoneKind, index: int) -> None:
        same = [x for x in self._items if x.kind == kind]
        self._set_selected(same[index] if 0 <= index < len(same) else None)

    def delete_selected(self) -> bool:
        """Remove the selected zone (the Delete key); False when none is selected."""
        it = self._selected
        if it is None or not self.editable:
            return False
        self._remove_graphics(it)
        self._items.remove(it)
        self._selected = None
        self._relabel()
        self.selection_changed.emit()
        self._emit()
        return True

    # -- drawing --------------------------------------------------------------------------------
    def draw_kind(self) -> ZoneKind | None:
        return self._draw_kind

    def set_draw_kind(self, kind: ZoneKind | None) -> None:
        """While set, a left drag on the image draws a zone of this kind (it does not pan)."""
        self._draw_kind = kind
        for it in self._items:
            self._set_interactive(it, kind is None)
        self.view.graphics_view().viewport().setCursor(
            Qt.CursorShape.CrossCursor if kind is not None else Qt.CursorShape.ArrowCursor
        )

    def begin_draw(self, x: float, y: float) -> None:
        self._cancel_draft()
        self._draft_start = QPointF(round(x), round(y))
        kind = self._draw_kind or "roi"
        draft = QGraphicsRectItem(QRectF(self._draft_start, self._draft_start))
        draft.setPen(_pen(kind, selected=True))
        self.view.view_box().addItem(draft)
        self._draft = draft

    def drag_to(self, x: float, y: float) -> None:
        if self._draft is None or self._draft_start is None:
            return
        self._draft.setRect(QRectF(self._draft_start, QPointF(round(x), round(y))).normalized())

    def finish_draw(self, x: float, y: float) -> Zone | None:
        """End the drag at (x, y); the new zone (selected, ``edited`` emitted) or None if too small."""
        if self._draft is None or self._draft_start is None:
            return None
        rect = QRectF(self._draft_start, QPointF(round(x), round(y))).normalized()
        self._cancel_draft()
        size = self.view.image_size()
        if size is not None:  # a zone hanging over the edge means the edge
            rect = rect.intersected(QRectF(0, 0, size[0], size[1]))
        if rect.width() < MIN_SIDE_PX or rect.height() < MIN_SIDE_PX:
            return None
        kind: ZoneKind = self._draw_kind or "roi"
        zone = Zone.rect(rect.x(), rect.y(), rect.width(), rect.height())
        it = self._make_item(kind, zone)
        self._set_interactive(it, self._draw_kind is None)
        self._items.append(it)  # zones() lists each kind in drawing order
        self._relabel()
        self._set_selected(it)
        self._emit()
        return zone

    # -- internals ------------------------------------------------------------------------------
    def _on_drag(self, ev: Any) -> bool:
        if self._draw_kind is None:
            return False  # pan as usual
        vb = self.view.view_box()
        if ev.isStart():
            p = vb.mapSceneToView(ev.buttonDownScenePos())
            self.begin_draw(p.x(), p.y())
        p = vb.mapSceneToView(ev.scenePos())
        if ev.isFinish():
            self.finish_draw(p.x(), p.y())
        else:
            self.drag_to(p.x(), p.y())
        return True

    def _cancel_draft(self) -> None:
        if self._draft is not None:
            self.view.view_box().removeItem(self._draft)
        self._draft = None

    def _make_item(self, kind: ZoneKind, zone: Zone) -> _Item:
        vb = self.view.view_box()
        graphic: QGraphicsItem
        if self.editable and is_rect(zone):
            x, y, w, h = bbox(zone)
            roi = pg.ROI(
                (x, y), (w, h), pen=_pen(kind), hoverPen=_pen(kind, selected=True), movable=True,
                rotatable=False, resizable=False, removable=False, snapSize=1.0, translateSnap=True,
                scaleSnap=True,
            )
            for pos, centre in (([1, 1], [0, 0]), ([0, 0], [1, 1]), ([1, 0], [0, 1]), ([0, 1], [1, 0])):
                roi.addScaleHandle(pos, centre)
            roi.setAcceptedMouseButtons(Qt.MouseButton.LeftButton)
            graphic = roi
        else:
            poly = QGraphicsPolygonItem(QPolygonF([QPointF(px, py) for px, py in zone.points]))
            poly.setPen(_pen(kind))
            poly.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
            graphic = poly
        label = pg.TextItem("", color=COLOURS[kind], anchor=(0, 1))
        vb.addItem(graphic)
        vb.addItem(label)
        graphic.setVisible(self._visible)
        label.setVisible(self._visible)
        it = _Item(kind, zone, graphic, label)
        label.setPos(*bbox(zone)[:2])
        roi_item = it.roi
        if roi_item is not None:
            roi_item.sigRegionChangeStarted.connect(lambda _r, it=it: self._set_selected(it))
            roi_item.sigRegionChanged.connect(lambda _r, it=it: self._follow(it))
            roi_item.sigRegionChangeFinished.connect(lambda _r, it=it: self._moved(it))
            roi_item.sigClicked.connect(lambda _r, _ev, it=it: self._set_selected(it))
        return it

    def _remove_graphics(self, it: _Item) -> None:
        vb = self.view.view_box()
        vb.removeItem(it.graphic)
        vb.removeItem(it.label)

    def _set_interactive(self, it: _Item, on: bool) -> None:
        roi = it.roi
        if roi is None:
            return
        roi.translatable = on
        roi.setAcceptedMouseButtons(Qt.MouseButton.LeftButton if on else Qt.MouseButton.NoButton)
        for handle in roi.getHandles():
            handle.setVisible(on)

    def _follow(self, it: _Item) -> None:
        roi = it.roi
        if roi is not None:
            it.label.setPos(roi.pos().x(), roi.pos().y())

    def _moved(self, it: _Item) -> None:
        roi = it.roi
        if roi is None or it not in self._items:
            return
        pos, size = roi.pos(), roi.size()
        w, h = max(1, round(size.x())), max(1, round(size.y()))
        zone = Zone.rect(round(pos.x()), round(pos.y()), w, h, it.zone.name)
        if zone == it.zone:
            return
        it.zone = zone
        self._emit()

    def _set_selected(self, it: _Item | None) -> None:
        if it is self._selected:
            return
        for x in (self._selected, it):
            if x is not None and x.roi is not None:
                x.roi.setPen(_pen(x.kind, selected=x is it))
        self._selected = it
        self.selection_changed.emit()

    def _relabel(self) -> None:
        n = {"roi": 0, "exclusion": 0}
        for it in self._items:
            n[it.kind] += 1
            it.label.setText(it.zone.name or f"{self.tr(LABELS[it.kind])} {n[it.kind]}")

    def _emit(self) -> None:
        roi, exclusions = self.zones()
        self.edited.emit(roi, exclusions)
