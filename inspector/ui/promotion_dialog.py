"""The last step before a model goes to production: an explicit confirmation.

Shows what QA is about to do: candidate and production model, the gate's verdict
with its reasons, the side-by-side table. For a candidate that failed the gate
(a QA override) it also shows the override reason and the Promote button stays
disabled until the word ``OVERRIDE`` is typed. Cancel promotes nothing.
"""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inspector.services.promotion import ComparisonRow, GateDecision
from inspector.ui.style import VERDICT_COLORS

CONFIRM_WORD = "OVERRIDE"  # typed as it is, in every language
TABLE_HEADERS = [QT_TRANSLATE_NOOP("PromotionConfirmDialog", "Data"),
                 QT_TRANSLATE_NOOP("PromotionConfirmDialog", "Metric"),
                 QT_TRANSLATE_NOOP("PromotionConfirmDialog", "Candidate"),
                 QT_TRANSLATE_NOOP("PromotionConfirmDialog", "Production"), "Δ"]


def format_cell(v: float | None, metric: str) -> str:
    if v is None or v != v:  # None or NaN
        return "–"
    return f"{int(v)}" if metric.startswith(("False", "Escapes")) else f"{v:.3f}"


def fill_comparison_table(table: QTableWidget, rows: list[ComparisonRow]) -> None:
    """Candidate vs production rows into a 5-column table (Data, Metric, Candidate, Production, Δ)."""
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        delta = row.delta
        values = (
            row.data_set,
            row.metric,
            format_cell(row.candidate, row.metric),
            format_cell(row.current, row.metric),
            "–" if delta is None or delta != delta else f"{delta:+.3f}",
        )
        for c, text in enumerate(values):
            table.setItem(r, c, QTableWidgetItem(text))
    table.resizeColumnsToContents()


class PromotionConfirmDialog(QDialog):
    """Modal confirmation; ``exec()`` then :meth:`confirmed` (both must say yes)."""

    def __init__(
        self,
        candidate: str,
        production: str | None,
        decision: GateDecision,
        comparison: list[ComparisonRow],
        override_reason: str | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.decision = decision
        self.override = not decision.passed
        self.setWindowTitle(self.tr("Promote to production?") if decision.passed
                            else self.tr("Promote by OVERRIDE?"))
        self.setMinimumWidth(560)
        head = QLabel(self.tr("Promote <b>{candidate}</b> to production, replacing <b>{production}</b>?")
                      .format(
            candidate=candidate, production=production or self.tr("no production model")))
        head.setWordWrap(True)
        self.gate_label = QLabel(decision.text())
        self.gate_label.setWordWrap(True)
        color = "#2e7d32" if decision.passed else VERDICT_COLORS["NG"]
        self.gate_label.setStyleSheet(f"color: {color}; font-weight: 600;")
        self.table = QTableWidget(0, len(TABLE_HEADERS))
        self.table.setHorizontalHeaderLabels([self.tr(h) for h in TABLE_HEADERS])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        fill_comparison_table(self.table, comparison)
        lay = QVBoxLayout(self)
        lay.addWidget(head)
        lay.addWidget(self.gate_label)
        lay.addWidget(self.table, 1)
        self.reason_label = QLabel(self.tr(
            "The candidate FAILED the promotion gate. It will carry an OVERRIDE mark, shown on the "
            "station, until a model that passes the gate replaces it.\nOverride reason: {reason}"
        ).format(reason=override_reason))
        self.reason_label.setWordWrap(True)
        self.confirm_edit = QLineEdit()
        self.confirm_edit.setPlaceholderText(self.tr("type {word} to confirm").format(word=CONFIRM_WORD))
        if self.override:
            lay.addWidget(self.reason_label)
            lay.addWidget(QLabel(self.tr("Type {word} to promote it anyway:").format(word=CONFIRM_WORD)))
            lay.addWidget(self.confirm_edit)
        else:
            self.reason_label.hide()
            self.confirm_edit.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.promote_button: QPushButton = self.buttons.addButton(
            self.tr("Promote by override") if self.override else self.tr("Promote"),
            QDialogButtonBox.ButtonRole.AcceptRole,
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.confirm_edit.textChanged.connect(lambda _t: self._update())
        self._update()

    def confirmed(self) -> bool:
        """What the dialog allows: a passed gate, or an override with the word typed."""
        return not self.override or self.confirm_edit.text().strip() == CONFIRM_WORD

    def _update(self) -> None:
        self.promote_button.setEnabled(self.confirmed())

    def accept(self) -> None:
        if self.confirmed():
            super().accept()
