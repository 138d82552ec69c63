"""The dialog that labels a missed defect (or refines a confirmed NG) on a logged inspection.

``open_label_editor(parent, ctx, inspection_id, disposition, on_open=)`` reads the
inspection, its image and an earlier mask OFF the UI thread (inspector.ui.tasks) and then
opens the dialog WITHOUT blocking (``QDialog.open``: window-modal, the line keeps running);
it returns the job (tests wait on it). A refusal (no such inspection, a verdict the
disposition does not fit, an unreadable image) or a database error is said through
``ctx.notify``. Save stores the mask as a review (``inspector.services.reviews.add_review(...,
mask_png=...)``) by ``ctx.user`` on the write lane, off the UI thread too; the export for
training (inspector.services.review_export) then uses that mask.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QObject, Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QLineEdit, QVBoxLayout, QWidget

from inspector.core.accounts import Right
from inspector.services import reviews
from inspector.services.history import inspection_detail
from inspector.services.review_export import decode_mask_png, source_image
from inspector.ui.context import AppContext
from inspector.ui.history_model import disposition_label
from inspector.ui.label_editor import LabelEditor
from inspector.ui.review import BY_VALUE
from inspector.ui.tasks import WRITE_LANE, Job, TaskRunner, TaskState


class Refusal(StrEnum):
    """Why the editor does not open for an inspection ("" when it does)."""

    NONE = ""
    MISSING = "missing"  # no such inspection
    VERDICT = "verdict"  # the disposition does not fit its verdict
    IMAGE = "image"  # the image is not readable


@dataclass(frozen=True, slots=True)
class LabelInput:
    """What the editor needs, read off the UI thread: the image and an earlier mask, or why not."""

    inspection_id: int
    disposition: str
    refusal: Refusal = Refusal.NONE
    verdict: str = ""
    why: str = ""
    image: np.ndarray | None = None
    mask: np.ndarray | None = None


def load_label_input(_state: TaskState | None, db: Any, inspection_id: int, disposition: str) -> LabelInput:
    """Read the inspection, decode its image and its latest mask for ``disposition`` (a worker)."""
    detail = inspection_detail(db, inspection_id)
    if detail is None:
        return LabelInput(inspection_id, disposition, Refusal.MISSING)
    verdict = detail.row.verdict
    if verdict not in BY_VALUE[disposition].verdicts:
        return LabelInput(inspection_id, disposition, Refusal.VERDICT, verdict=verdict.value)
    image, why = source_image(detail.row)
    if image is None:
        return LabelInput(inspection_id, disposition, Refusal.IMAGE, why=str(why))
    existing = next(
        (r.mask_png for r in reversed(detail.reviews) if r.disposition == disposition and r.mask_png), None
    )
    mask = decode_mask_png(existing) if existing else None
    if mask is not None and mask.shape != image.shape[:2]:
        mask = None  # labelled on another image size (replaced file): start afresh
    return LabelInput(inspection_id, disposition, image=image, mask=mask)


def _store_review(
    _state: TaskState, db: Any, inspection_id: int, disposition: str, user: str, note: str, mask_png: bytes
) -> int:
    return reviews.add_review(db, inspection_id, disposition, by=user, note=note, mask_png=mask_png)


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
        self.tasks = TaskRunner(self, "label-dialog")
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
        self.status.setText(
            self.tr("{n} px labelled").format(n=n)
            if n
            else self.tr("Nothing labelled yet: draw an ellipse or paint.")
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(n > 0)

    def save(self) -> Job[int] | None:
        """Store the mask as a review off the UI thread; the job, or None when refused.

        ``on_saved`` callbacks run and the dialog closes once the review is committed; a
        failure (a locked DB) says so and keeps the dialog open with the drawing.
        """
        mask = self.editor.mask()
        if not mask.any():
            self.ctx.notify("warning", self.tr("Nothing is labelled: draw the defect before saving."))
            return None
        if self.ctx.refuse(Right.REVIEW, QT_TRANSLATE_NOOP("Refusal", "Saving a label")):
            return None
        if self.is_saving():
            return None
        user, n = self.ctx.user, int(np.count_nonzero(mask))
        self.buttons.setEnabled(False)
        self.status.setText(self.tr("Saving…"))
        return self.tasks.submit(
            "label-save",
            _store_review,
            self.ctx.db,
            self.inspection_id,
            self.disposition,
            user,
            self.note.text().strip(),
            reviews.encode_label_mask(mask),
            on_done=lambda rid: self._saved(rid, user, n),
            on_error=self._save_failed,
            lane=WRITE_LANE,
            supersede=False,
        )

    def is_saving(self) -> bool:
        return self.tasks.busy("label-save")

    def _save_failed(self, message: str) -> None:  # a locked DB must not lose the drawing: stay open
        self.buttons.setEnabled(True)
        self._update_status()
        self.ctx.notify(
            "error",
            self.tr("Could not store the label of inspection {id}: {error}").format(
                id=self.inspection_id, error=message
            ),
        )

    def _saved(self, review_id: int, user: str, n: int) -> None:
        self.review_id = review_id
        self.buttons.setEnabled(True)
        self.ctx.notify(
            "info",
            self.tr("Inspection {id}: {disposition} labelled by {user} ({n} px)").format(
                id=self.inspection_id, disposition=disposition_label(self.disposition), user=user, n=n
            ),
        )
        for cb in self.on_saved:
            cb(review_id)
        self.accept()


def _refusal_text(got: LabelInput) -> tuple[str, str]:
    """(level, message) for an editor that cannot open."""
    if got.refusal is Refusal.MISSING:
        return "warning", QCoreApplication.translate(
            "LabelEditorDialog", "Inspection {id} does not exist."
        ).format(id=got.inspection_id)
    if got.refusal is Refusal.VERDICT:
        return "warning", QCoreApplication.translate(
            "LabelEditorDialog", "'{disposition}' does not apply to a {verdict} verdict (inspection {id})."
        ).format(disposition=BY_VALUE[got.disposition].name, verdict=got.verdict, id=got.inspection_id)
    return "error", QCoreApplication.translate(
        "LabelEditorDialog", "Inspection {id}: cannot label, the image is not readable: {error}"
    ).format(id=got.inspection_id, error=got.why)


_RUNNER: TaskRunner | None = None


def _runner(parent: QObject | None) -> TaskRunner:
    """The parent's runner for opening editors, or one for the process when there is no parent."""
    global _RUNNER
    if parent is not None:
        found = parent.findChild(TaskRunner, "label-open")
        return found if isinstance(found, TaskRunner) else TaskRunner(parent, "label-open")
    if _RUNNER is None:
        _RUNNER = TaskRunner(None, "label-open")
    return _RUNNER


def open_label_editor(
    parent: QWidget | None,
    ctx: AppContext,
    inspection_id: int,
    disposition: str = "missed_defect",
    on_open: Callable[[LabelEditorDialog], None] | None = None,
) -> Job[LabelInput]:
    """Read the inspection off the UI thread, then open the (non-blocking) dialog and hand it to
    ``on_open``; a refusal or a read error goes to the message area. A newer call for the same
    parent makes an older one stale (its dialog never opens)."""

    if parent is not None:  # the loading state: a busy cursor over the host until the dialog opens
        parent.setCursor(Qt.CursorShape.BusyCursor)

    def idle() -> None:
        if parent is not None:
            parent.unsetCursor()

    def loaded(got: LabelInput) -> None:
        idle()
        if got.refusal is not Refusal.NONE or got.image is None:
            ctx.notify(*_refusal_text(got))
            return
        dlg = LabelEditorDialog(ctx, inspection_id, got.image, got.mask, disposition, parent)
        _OPEN.add(dlg)
        dlg.finished.connect(lambda _r: _OPEN.discard(dlg))
        dlg.open()
        if on_open is not None:
            on_open(dlg)

    def failed(message: str) -> None:
        idle()
        ctx.notify(
            "error",
            QCoreApplication.translate("LabelEditorDialog", "Could not read inspection {id}: {error}").format(
                id=inspection_id, error=message
            ),
        )

    return _runner(parent).submit(
        "label-open", load_label_input, ctx.db, inspection_id, disposition, on_done=loaded, on_error=failed
    )


def label_missed_defect(
    parent: QWidget | None, ctx: AppContext, inspection_id: int, on_saved: Callable[[int], None] | None = None
) -> Job[LabelInput]:
    """Open the labelling dialog for a missed defect (read off the UI thread; saving is async too)."""

    def opened(dlg: LabelEditorDialog) -> None:
        if on_saved is not None:
            dlg.on_saved.append(on_saved)

    return open_label_editor(parent, ctx, inspection_id, on_open=opened)
