"""File ▸ Settings…: the station's own settings (for now the language of the GUI).

The language applies at the next start: texts are translated when widgets are built.
``INSPECTOR_LANG`` (kiosk installs) overrides the stored choice; the dialog says so.
"""

from __future__ import annotations

import os

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QVBoxLayout, QWidget

from inspector.ui import i18n
from inspector.ui.context import AppContext


class SettingsDialog(QDialog):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(self.tr("Settings"))
        self.language = QComboBox()
        self.language.setObjectName("language")
        self.language.addItem(
            self.tr("System ({language})").format(language=i18n.LANGUAGES[i18n.system_language()]),
            i18n.SYSTEM,
        )
        for code, name in i18n.LANGUAGES.items():  # each language in its own name
            self.language.addItem(name, code)
        form = QFormLayout()
        form.addRow(self.tr("Language:"), self.language)
        note = self.tr("The language changes at the next start of the station.")
        forced = os.environ.get(i18n.LANGUAGE_ENV)
        if forced:
            override = self.tr("This station is started with {env}={value}, which overrides this choice.")
            note += " " + override.format(env=i18n.LANGUAGE_ENV, value=forced)
        self.note = QLabel(note)
        self.note.setWordWrap(True)
        self.note.setProperty("muted", True)
        buttons = QDialogButtonBox.StandardButton
        self.buttons = QDialogButtonBox(buttons.Ok | buttons.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.note)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(420)
        self.reload()

    def reload(self) -> None:
        """Show the stored choice (a cancelled change is not kept)."""
        self.language.setCurrentIndex(max(0, self.language.findData(i18n.configured(self.ctx.settings))))

    def accept(self) -> None:
        choice = str(self.language.currentData())
        before = i18n.configured(self.ctx.settings)
        if choice != before:
            i18n.store(self.ctx.settings, choice)
            self.ctx.audit("settings.language", {"from": before, "to": choice})
            self.ctx.notify(
                "info",
                self.tr("Language set to {language}: it applies at the next start.").format(
                    language=self.language.currentText()
                ),
            )
        super().accept()
