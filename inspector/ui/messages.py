"""The non-modal message area: every ctx.notify() lands here with its time.

Runtime errors never open a dialog (a dialog would stop the line until
someone clicks it); they are listed here, newest first, and logged.
"""

from __future__ import annotations

import logging
from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStyle,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inspector.ui.context import AppContext

log = logging.getLogger("inspector.ui")

MAX_MESSAGES = 500  # a folder full of broken files must not grow memory without bound
_LOG_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


class MessageArea(QWidget):
    unread_changed = Signal(int)  # errors + warnings since the area was last cleared

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        st = self.style()
        self._icons = {
            "info": st.standardIcon(QStyle.StandardPixmap.SP_MessageBoxInformation),
            "warning": st.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning),
            "error": st.standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical),
        }
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels([self.tr("Time"), self.tr("Message")])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setColumnWidth(0, 110)
        self.summary = QLabel(self.tr("No messages"))
        self.summary.setProperty("muted", True)
        self.clear_button = QPushButton(self.tr("Clear"))
        self.clear_button.clicked.connect(self.clear)
        bar = QHBoxLayout()
        bar.addWidget(self.summary, 1)
        bar.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 6)
        layout.addLayout(bar)
        layout.addWidget(self.tree)
        self.problems = 0
        ctx.message.connect(self.add)

    def add(self, level: str, text: str) -> None:
        level = level if level in self._icons else "info"
        log.log(_LOG_LEVELS[level], "%s", text)
        item = QTreeWidgetItem([datetime.now().strftime("%H:%M:%S"), text])
        item.setIcon(0, self._icons[level])
        item.setData(0, Qt.ItemDataRole.UserRole, level)
        item.setToolTip(1, text)
        self.tree.insertTopLevelItem(0, item)
        while self.tree.topLevelItemCount() > MAX_MESSAGES:
            self.tree.takeTopLevelItem(self.tree.topLevelItemCount() - 1)
        if level != "info":
            self.problems += 1
            self.unread_changed.emit(self.problems)
        self._update_summary(text)

    def messages(self) -> list[tuple[str, str]]:
        """(level, text), newest first."""
        out = []
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            out.append((str(item.data(0, Qt.ItemDataRole.UserRole)), item.text(1)))
        return out

    def clear(self) -> None:
        self.tree.clear()
        self.problems = 0
        self.unread_changed.emit(0)
        self._update_summary("")

    def _update_summary(self, last: str) -> None:
        n = self.tree.topLevelItemCount()
        if not n:
            self.summary.setText(self.tr("No messages"))
            return
        if self.problems:
            self.summary.setText(self.tr("%n message(s), {problems} warnings/errors", "", n)
                                 .format(problems=self.problems))
        else:
            self.summary.setText(self.tr("%n message(s)", "", n))
