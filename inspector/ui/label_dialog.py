"""The dialog that labels a missed defect (or refines a confirmed NG) on a logged inspection.

``label_missed_defect(parent, ctx, inspection_id)`` opens it WITHOUT blocking
(``QDialog.open``: window-modal, the line keeps running and tests keep going)
and returns whether it could open. Save stores the mask as a review
(``db.queries.add_review(..., mask_png=...)``) by ``ctx.user``; the export for
training (inspector.services.review_export) then uses that mask.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QLineEdit, QVBoxLayout, QWidget

from db import queries
from db.blobs import encode_mask_png
from inspector.core.accounts import Right
from inspector.services.review_export import decode_mask_png, source_image
from inspector.ui.context import AppContext
from inspector.ui.history_model import disposition_label
from inspector.ui.label_editor import LabelEditor
from inspector.ui.review import BY_VALUE

# Open dialogs without a parent would be garbage-collected while on screen; hold them here.
_OPEN: set[LabelEditorDialog] = set()


class LabelEditorDialog(QDialog):
    """Editor + note + Save/Cancel; ``saved(review_id)`` after the commit."""

    def __init__(
        self,
        ctx: AppContext,
        inspection_id: int,
        image: np.ndarray,
        existing_mask: np.ndarray | None = None,
        disposition: str = "missed_defect",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.inspection_id = inspection_id
        self.disposition = disposition
        self.review_id: int | None = None
        self.on_saved: list[Callable[[int], None]] = []
        self.setWindowTitle(self.tr("Label the defect — inspection {id}").format(id=inspection_id))
        self.editor = LabelEditor(image, existing_mask, self)
        self.note = QLineEdit()
        self.note.setPlaceholderText(self.tr("Note (optional): what the defect is"))
        self.status = QLabel()
        self.status.setProperty("muted", True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.editor, 1)
        lay.addWidget(self.note)
        lay.addWidget(self.status)
        lay.addWidget(self.buttons)
        self.editor.mask_changed.connect(self._update_status)
        self._update_status()
        self.resize(900, 760)

    def _update_status(self) -> None:
        n = int(np.count_nonzero(self.editor.mask()))
        self.status.setText(self.tr("{n} px labelled").format(n=n) if n
                            else self.tr("Nothing labelled yet: draw an ellipse or paint."))
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(n > 0)

    def save(self) -> int | None:
        """Store the mask as a review; returns its id (None when refused or failed)."""
        mask = self.editor.mask()
        if not mask.any():
            self.ctx.notify("warning", self.tr("Nothing is labelled: draw the defect before saving."))
            return None
        if self.ctx.refuse(Right.REVIEW, QT_TRANSLATE_NOOP("Refusal", "Saving a label")):
            return None
        try:
            self.review_id = queries.add_review(
                self.ctx.db,
                self.inspection_id,
                self.disposition,
                by=self.ctx.user,
                note=self.note.text().strip(),
                mask_png=encode_mask_png(mask),
            )
        except Exception as exc:  # a locked DB must not lose the drawing: the dialog stays open
            self.ctx.notify("error", self.tr("Could not store the label of inspection {id}: {error}")
                            .format(id=self.inspection_id, error=exc))
            return None
        self.ctx.notify(
            "info",
            self.tr("Inspection {id}: {disposition} labelled by {user} ({n} px)").format(
                id=self.inspection_id, disposition=disposition_label(self.disposition), user=self.ctx.user,
                n=int(np.count_nonzero(mask))),
        )
        for cb in self.on_saved:
            cb(self.review_id)
        self.accept()
        return self.review_id


def open_label_editor(
    parent: QWidget | None, ctx: AppContext, inspection_id: int, disposition: str = "missed_defect"
) -> LabelEditorDialog | None:
    """The opened (non-blocking) dialog, or None with a message saying why it cannot open."""
    detail = queries.get_inspection(ctx.db, inspection_id)
    if detail is None:
        ctx.notify("warning", QCoreApplication.translate("LabelEditorDialog", "Inspection {id} does not "
                                                                              "exist.")
                   .format(id=inspection_id))
        return None
    spec = BY_VALUE[disposition]
    if detail.row.verdict not in spec.verdicts:
        ctx.notify(
            "warning",
            QCoreApplication.translate(
                "LabelEditorDialog", "'{disposition}' does not apply to a {verdict} verdict (inspection "
                                     "{id})."
            ).format(disposition=spec.name, verdict=detail.row.verdict.value, id=inspection_id),
        )
        return None
    image, why = source_image(detail.row)
    if image is None:
        ctx.notify("error", QCoreApplication.translate(
            "LabelEditorDialog", "Inspection {id}: cannot label, the image is not readable: {error}").format(
            id=inspection_id, error=why))
        return None
    existing = next(
        (r.mask_png for r in reversed(detail.reviews) if r.disposition == disposition and r.mask_png), None
    )
    mask = decode_mask_png(existing) if existing else None
    if mask is not None and mask.shape != image.shape[:2]:
        mask = None  # labelled on another image size (replaced file): start afresh
    dlg = LabelEditorDialog(ctx, inspection_id, image, mask, disposition, parent)
    _OPEN.add(dlg)
    dlg.finished.connect(lambda _r: _OPEN.discard(dlg))
    dlg.open()
    return dlg


def label_missed_defect(
    parent: QWidget | None, ctx: AppContext, inspection_id: int, on_saved: Callable[[int], None] | None = None
) -> bool:
    """Open the labelling dialog for a missed defect; True when it opened (saving is async)."""
    dlg = open_label_editor(parent, ctx, inspection_id)
    if dlg is not None and on_saved is not None:
        dlg.on_saved.append(on_saved)
    return dlg is not None
