"""Shared set-up for the GUI tests: a real station window on a temp DB and settings file."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from inspector.ui.app import StartOptions, create_window
from inspector.ui.main_window import MainWindow


def make_window(qtbot, tmp_path: Path, model: Path | None, monkeypatch, name: str = "w") -> MainWindow:
    """A station window like an operator gets, isolated in ``tmp_path`` (DB, settings, archive)."""
    monkeypatch.setenv("INSPECTOR_SETTINGS", str(tmp_path / "settings.ini"))
    monkeypatch.setenv("INSPECTOR_DATA_DIR", str(tmp_path / "data"))  # the QA PIN's secrets file too
    # No shipped recipe/model leaks in from the checkout: the test says what it uses.
    monkeypatch.setenv("INSPECTOR_RESOURCES", str(tmp_path / "resources"))
    window = create_window(StartOptions(db_url=f"sqlite:///{tmp_path / 'station.db'}", model=model,
                                        station="test-station", archive_dir=tmp_path / "archive",
                                        autostart=False))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


QA_PIN = "246810"


def set_qa_pin(pin: str = QA_PIN) -> None:
    """Set the QA PIN as `inspector set-pin` does, in INSPECTOR_DATA_DIR (make_window's temp dir)."""
    from inspector.core.secret_store import SecretStore

    SecretStore().set_pin(pin)


def close_window(window: MainWindow) -> None:
    window.close()
    window.audit_log.close()
    window.ctx.db.dispose()


def run_folder(qtbot, window: MainWindow, folder: Path, timeout: int = 15000) -> None:
    """Pick a folder in the chooser by typing, click Start, wait for the run to end."""
    from PySide6.QtCore import Qt

    live = window.live
    live.chooser.kind_combo.setCurrentIndex(live.chooser.kind_combo.findData("folder"))
    live.chooser.source_edit.clear()
    qtbot.keyClicks(live.chooser.source_edit, str(folder))
    qtbot.mouseClick(live.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: live.controller.state == "running" or live.last_summary is not None, timeout=5000)
    qtbot.waitUntil(lambda: live.last_summary is not None, timeout=timeout)


def settle(qtbot, ms: int) -> None:
    """Let the event loop run (results are drawn on a timer)."""
    end = time.monotonic() + ms / 1000
    while time.monotonic() < end:
        qtbot.wait(10)


def write_broken(folder: Path, n: int = 2) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"broken_{i}.png").write_bytes(b"\x89PNG not really an image")
    img = np.full((64, 64), 70, np.uint8)
    cv2.imwrite(str(folder / "good.png"), img)
