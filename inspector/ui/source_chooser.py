"""The source chooser of the Live tab, and the choice it produces.

``SourceChoice`` is plain data; its ``factory`` opens the Source later, on the
worker thread (opening a camera or listing a big folder can take seconds).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QSettings
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QStyle,
    QWidget,
)

from inspector.core.sources.base import Source
from inspector.ui.settings import get_flag, set_flag
from inspector.ui.workers import SourceFactory

# kind -> label (English source text, shown translated in the context "SourceChooser")
SOURCE_KINDS: dict[str, str] = {
    "demo": QT_TRANSLATE_NOOP("SourceChooser", "Demo (synthetic)"),
    "folder": QT_TRANSLATE_NOOP("SourceChooser", "Folder"),
    "hot": QT_TRANSLATE_NOOP("SourceChooser", "Hot folder (watch)"),
    "camera": QT_TRANSLATE_NOOP("SourceChooser", "Camera (index or URL)"),
    "video": QT_TRANSLATE_NOOP("SourceChooser", "Video file"),
    "genicam": QT_TRANSLATE_NOOP("SourceChooser", "GenICam camera"),
}


def genicam_available() -> bool:
    return importlib.util.find_spec("harvesters") is not None


@dataclass(frozen=True, slots=True)
class SourceChoice:
    """What the operator picked in the source chooser, turned into a Source on the worker thread."""

    kind: str = "demo"
    text: str = ""  # folder / file path, camera index or URL, GenTL producer path
    recursive: bool = False
    skip_logged: bool = True  # resume: parts logged with the same content, model and recipe are skipped
    demo_fps: float | None = None
    demo_count: int | None = None

    def spec(self) -> str:
        from inspector.core.sources.factory import spec_for

        text = self.text.strip()
        if not text and self.kind != "demo":
            label = QCoreApplication.translate("SourceChooser", SOURCE_KINDS.get(self.kind, self.kind))
            raise ValueError(QCoreApplication.translate("SourceChooser", "{kind}: enter a path, index or URL "
                                                                         "first")
                             .format(kind=label))
        return spec_for(self.kind, text)

    def factory(self, db: Any, station: str) -> SourceFactory:
        def open_it() -> Source:
            if self.kind == "demo":
                from inspector.core.demo import DemoSource

                return DemoSource(n=self.demo_count, fps=self.demo_fps)
            from inspector.core.sources import open_source

            opts: dict[str, Any] = {}
            if self.kind == "folder":
                opts["recursive"] = self.recursive
            # "skip already logged" is decided per part by the worker (content + model + recipe)
            return open_source(self.spec(), **opts)

        return open_it


PLACEHOLDERS = {
    "demo": QT_TRANSLATE_NOOP("SourceChooser", "synthetic DAGM-like images, no setup needed"),
    "folder": QT_TRANSLATE_NOOP("SourceChooser", "folder with images, e.g. /data/lot42"),
    "hot": QT_TRANSLATE_NOOP("SourceChooser", "folder to watch for new images"),
    "camera": QT_TRANSLATE_NOOP("SourceChooser", "camera index (0) or rtsp:// / http:// URL"),
    "video": QT_TRANSLATE_NOOP("SourceChooser", "video file (.mp4 .avi .mkv .mov)"),
    "genicam": QT_TRANSLATE_NOOP("SourceChooser", "GenTL producer .cti path, optionally #SERIAL"),
}


class SourceChooser(QWidget):
    """Kind + path/index/URL + browse + folder options, persisted in the settings."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind_combo = QComboBox()
        for kind, label in SOURCE_KINDS.items():
            if kind != "genicam" or genicam_available():
                self.kind_combo.addItem(self.tr(label), kind)
        self.source_edit = QLineEdit()
        self.browse_button = QPushButton(self.tr("Browse…"))
        self.browse_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_DirOpenIcon))
        self.recursive_check = QCheckBox(self.tr("Sub-folders"))
        self.skip_check = QCheckBox(self.tr("Skip already logged"))
        self.skip_check.setToolTip(self.tr(
            "Resume: images this station already logged with the same content, model and recipe are "
            "not inspected again (a new model or recipe inspects everything); skipped parts are counted"
        ))
        self.skip_check.setChecked(True)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.kind_combo)
        row.addWidget(self.source_edit, 1)
        row.addWidget(self.browse_button)
        row.addWidget(self.recursive_check)
        row.addWidget(self.skip_check)
        self.kind_combo.currentIndexChanged.connect(self._on_kind)
        self.browse_button.clicked.connect(self._browse)
        self._on_kind()

    def kind(self) -> str:
        return str(self.kind_combo.currentData())

    def set_source(self, kind: str, text: str = "") -> None:
        idx = self.kind_combo.findData(kind)
        if idx < 0:
            raise ValueError(self.tr("unknown source kind {kind}").format(kind=repr(kind)))
        self.kind_combo.setCurrentIndex(idx)
        self.source_edit.setText(text)

    def choice(self, demo_fps: float | None = None) -> SourceChoice:
        return SourceChoice(kind=self.kind(), text=self.source_edit.text(),
                            recursive=self.recursive_check.isChecked(),
                            skip_logged=self.skip_check.isChecked(), demo_fps=demo_fps or None)

    def set_locked(self, locked: bool) -> None:
        """No source changes while a run is active."""
        for w in (self.kind_combo, self.source_edit, self.browse_button, self.recursive_check,
                  self.skip_check):
            w.setEnabled(not locked)
        if not locked:
            self._on_kind()

    def restore(self, s: QSettings) -> None:
        self.kind_combo.setCurrentIndex(max(0, self.kind_combo.findData(str(s.value("live/kind", "demo")))))
        self.source_edit.setText(str(s.value("live/text", "")))
        self.recursive_check.setChecked(get_flag(s, "live/recursive", False))
        self.skip_check.setChecked(get_flag(s, "live/skip_logged", True))
        self._on_kind()

    def save(self, s: QSettings) -> None:
        s.setValue("live/kind", self.kind())
        s.setValue("live/text", self.source_edit.text())
        set_flag(s, "live/recursive", self.recursive_check.isChecked())
        set_flag(s, "live/skip_logged", self.skip_check.isChecked())

    def _on_kind(self) -> None:
        kind = self.kind()
        self.source_edit.setEnabled(kind != "demo")
        self.source_edit.setPlaceholderText(self.tr(PLACEHOLDERS[kind]) if kind in PLACEHOLDERS else "")
        self.browse_button.setEnabled(kind in ("folder", "hot", "video", "genicam"))
        self.recursive_check.setVisible(kind == "folder")
        self.skip_check.setVisible(kind in ("folder", "hot", "video"))

    def _browse(self) -> None:
        kind = self.kind()
        start = self.source_edit.text() or str(Path.home())
        if kind in ("folder", "hot"):
            path = QFileDialog.getExistingDirectory(self, self.tr("Choose an image folder"), start)
        else:
            filt = (self.tr("Videos (*.mp4 *.avi *.mkv *.mov)") if kind == "video"
                    else self.tr("GenTL producer (*.cti)"))
            path, _ = QFileDialog.getOpenFileName(self, self.tr("Choose a file"), start, filt)
        if path:
            self.source_edit.setText(path)
