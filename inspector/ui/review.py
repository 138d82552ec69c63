"""Operator dispositions: one key each, stored as reviews (who + when) in the DB.

N confirm NG, F false reject, M missed defect, O confirm OK; L opens the
label editor (inspector.ui.label_dialog) to draw the defect for training. The keys are
QAction shortcuts scoped to the panel that owns the actions
(WidgetWithChildrenShortcut), so typing an "n" in a filter box still types an
"n": a focused line edit claims printable keys before shortcuts see them.

A disposition must fit the logged verdict (a "missed defect" on a part the
station already rejected means nothing); a mismatch is refused with a message
naming the right key rather than stored as bad ground truth for training.

An ERROR row (the station did not inspect the part) takes N or O: a person looked at the
part and says it is defective or good; the review records who and when. F and M do not
apply: the station judged nothing, so it can neither have falsely rejected nor missed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QToolButton, QWidget

from inspector.core.accounts import Right
from inspector.core.types import Verdict
from inspector.services import reviews
from inspector.services.history import HistoryRow
from inspector.ui.context import AppContext
from inspector.ui.history_model import disposition_label
from inspector.ui.tasks import WRITE_LANE, Job, TaskRunner, TaskState


@dataclass(frozen=True, slots=True)
class DispositionSpec:
    value: str  # db.models.Disposition value
    key: str
    label: str  # English source text: shown as ``name`` (translated, context "ReviewActions")
    verdicts: frozenset[Verdict]  # logged verdicts it applies to
    help: str

    @property
    def name(self) -> str:
        return QCoreApplication.translate("ReviewActions", self.label)

    @property
    def help_text(self) -> str:
        return QCoreApplication.translate("ReviewActions", self.help)


FLAGGED = frozenset({Verdict.NG, Verdict.REVIEW})
DISPOSITIONS: tuple[DispositionSpec, ...] = (
    DispositionSpec(
        "confirm_ng",
        "N",
        QT_TRANSLATE_NOOP("ReviewActions", "Confirm NG"),
        FLAGGED | {Verdict.ERROR},
        QT_TRANSLATE_NOOP(
            "ReviewActions",
            "The part is defective: the station was right, or (ERROR, not inspected) a person found it so.",
        ),
    ),
    DispositionSpec(
        "false_reject",
        "F",
        QT_TRANSLATE_NOOP("ReviewActions", "False reject"),
        FLAGGED,
        QT_TRANSLATE_NOOP("ReviewActions", "The station flagged a good part."),
    ),
    DispositionSpec(
        "missed_defect",
        "M",
        QT_TRANSLATE_NOOP("ReviewActions", "Missed defect"),
        frozenset({Verdict.OK}),
        QT_TRANSLATE_NOOP("ReviewActions", "The station passed a defective part."),
    ),
    DispositionSpec(
        "confirm_ok",
        "O",
        QT_TRANSLATE_NOOP("ReviewActions", "Confirm OK"),
        frozenset({Verdict.OK, Verdict.ERROR}),
        QT_TRANSLATE_NOOP(
            "ReviewActions",
            "The part is good: as judged, or (ERROR, not inspected) a person looked and found it good.",
        ),
    ),
)
BY_VALUE = {d.value: d for d in DISPOSITIONS}


def fitting(verdict: Verdict) -> list[DispositionSpec]:
    return [d for d in DISPOSITIONS if verdict in d.verdicts]


class ReviewActions(QObject):
    """The four disposition actions for whatever row ``current`` returns.

    ``host`` is the widget whose subtree receives the shortcuts (the history
    panel); ``reviewed`` fires after the commit with (inspection id, disposition).
    Reviews are written by the GUI task runner, in key-press order (its write lane).
    """

    reviewed = Signal(int, str)

    def __init__(self, ctx: AppContext, host: QWidget) -> None:
        super().__init__(host)
        self._ctx = ctx
        self._row: HistoryRow | None = None
        self.actions: dict[str, QAction] = {}
        self._buttons: list[tuple[str, QToolButton]] = []
        for spec in DISPOSITIONS:
            act = QAction(f"{spec.name} ({spec.key})", host)
            act.setShortcut(QKeySequence(spec.key))
            act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            act.setToolTip(self.tr("{help} Key: {key}").format(help=spec.help_text, key=spec.key))
            act.triggered.connect(lambda _=False, v=spec.value: self.record(v))
            host.addAction(act)
            self.actions[spec.value] = act
        # L: draw the defect (mask) for training; the dialog stores it as a review itself.
        self.label_action = QAction(self.tr("Label defect… (L)"), host)
        self.label_action.setShortcut(QKeySequence("L"))
        self.label_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.label_action.setToolTip(
            self.tr(
                "Draw where the defect is (missed defect on an OK part, or refine a confirmed NG). Key: L"
            )
        )
        self.label_action.triggered.connect(lambda _=False: self.label())
        host.addAction(self.label_action)
        self._host = host
        self.tasks = TaskRunner(self, "review")
        self.set_row(None)

    def label(self) -> Job[Any] | None:
        """Open the (non-blocking) labelling dialog for the current row, its inspection read off the
        UI thread; the loading job, or None when refused."""
        row = self._row
        if row is None:
            self._ctx.notify("warning", self.tr("Select an inspection before labelling a defect."))
            return None
        if self._ctx.refuse(Right.REVIEW, QT_TRANSLATE_NOOP("Refusal", "Labelling a defect")):
            return None
        try:  # another module; a broken import must not cost the one-key dispositions
            from inspector.ui.label_dialog import open_label_editor
        except Exception as exc:
            self._ctx.notify("error", self.tr("The label editor is not available: {error}").format(error=exc))
            return None
        disposition = "missed_defect" if row.verdict is Verdict.OK else "confirm_ng"
        rid = row.id
        return open_label_editor(
            self._host,
            self._ctx,
            rid,
            disposition,
            on_open=lambda dlg: dlg.on_saved.append(lambda _rid: self.reviewed.emit(rid, disposition)),
        )

    def current(self) -> HistoryRow | None:
        """The row the keys act on."""
        return self._row

    def set_row(self, row: HistoryRow | None) -> None:
        self._row = row
        for value, act in self.actions.items():
            # Greyed when it does not fit, but the key still answers with a
            # message: a silent key press looks like a broken station.
            fits = row is not None and row.verdict in BY_VALUE[value].verdicts
            act.setProperty("fits", fits)
        self._refresh_buttons()

    def record(self, disposition: str) -> Job[int] | None:
        """Store ``disposition`` for the current row off the UI thread; the job, or None if refused.

        ``reviewed`` fires once the review is committed (a slow or locked database delays the
        confirmation, never the keys); a failure goes to the message area.
        """
        row, spec = self._row, BY_VALUE[disposition]
        if row is None:
            self._ctx.notify("warning", self.tr("Select an inspection before recording a review."))
            return None
        # a review names the person who made it
        if self._ctx.refuse(Right.REVIEW, QT_TRANSLATE_NOOP("Refusal", "Reviews")):
            return None
        if row.verdict not in spec.verdicts:
            keys = ", ".join(f"{d.key} = {d.name}" for d in fitting(row.verdict))
            self._ctx.notify(
                "warning",
                self.tr(
                    "'{disposition}' does not apply to the verdict {verdict} (inspection {id}); use {keys}."
                ).format(disposition=spec.name, verdict=row.verdict.value, id=row.id, keys=keys),
            )
            return None
        user = self._ctx.user
        error = row.verdict is Verdict.ERROR

        def stored(_review_id: int) -> None:
            text = (
                self.tr("Inspection {id}: {disposition} by {user} (ERROR part: checked by a person)")
                if error
                else self.tr("Inspection {id}: {disposition} by {user}")
            )
            self._ctx.notify(
                "info", text.format(id=row.id, disposition=disposition_label(spec.value), user=user)
            )
            self.reviewed.emit(row.id, spec.value)

        def failed(message: str) -> None:  # a locked or lost DB must not take the panel down
            self._ctx.notify(
                "error",
                self.tr("Could not store the review of inspection {id}: {error}").format(
                    id=row.id, error=message
                ),
            )

        return self.tasks.submit(
            "review",
            _add_review,
            self._ctx.db,
            row.id,
            spec.value,
            user,
            on_done=stored,
            on_error=failed,
            lane=WRITE_LANE,
            supersede=False,
        )

    # -- buttons ----------------------------------------------------------------------------
    def button_bar(self) -> QWidget:
        """A row of buttons for the actions (labels show the keys)."""
        bar = QWidget()
        lay = QHBoxLayout(bar)
        lay.setContentsMargins(0, 0, 0, 0)
        for value, act in self.actions.items():
            b = QToolButton()
            b.setText(act.text())
            b.setToolTip(act.toolTip())
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            # clicked -> record, not setDefaultAction: the action stays enabled for
            # the key-with-message path while the button shows whether it fits.
            b.clicked.connect(lambda _=False, v=value: self.record(v))
            b.setObjectName(f"review_{value}")
            lay.addWidget(b)
            self._buttons.append((value, b))
        lb = QToolButton()
        lb.setDefaultAction(self.label_action)
        lb.setObjectName("review_label")
        lay.addWidget(lb)
        lay.addStretch(1)
        self._refresh_buttons()
        return bar

    def _refresh_buttons(self) -> None:
        for value, b in self._buttons:
            b.setEnabled(bool(self.actions[value].property("fits")))


def _add_review(_state: TaskState, db: Any, inspection_id: int, disposition: str, by: str) -> int:
    return reviews.add_review(db, inspection_id, disposition, by=by)
