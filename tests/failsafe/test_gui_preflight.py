"""The station window checks the database and disks before every Start, off the UI thread."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from tests.failsafe.test_storage_failsafe import _fake_statvfs
from tests.ui_helpers import close_window, make_window, run_folder


def test_start_on_a_full_disk_is_refused_with_the_reason_and_nothing_is_inspected(
    qtbot, tmp_path: Path, tiny_model: Path, image_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window(qtbot, tmp_path, tiny_model, monkeypatch)
    try:
        real = os.statvfs
        statvfs = _fake_statvfs(tmp_path, 50 * 10**6)  # 50 MB left: below the 200 MB minimum
        monkeypatch.setattr(os, "statvfs", statvfs)
        run_folder(qtbot, window, image_folder)
        texts = [t for level, t in window.messages.messages() if level == "error"]
        assert any("50 MB free" in t for t in texts), texts
        with sqlite3.connect(tmp_path / "station.db") as con:
            assert con.execute("select count(*) from inspection").fetchone() == (0,)
        assert window.live.last_summary is not None
        assert window.live.last_summary.inspected == 0

        monkeypatch.setattr(os, "statvfs", real)  # space freed: the next Start runs
        window.live.last_summary = None
        run_folder(qtbot, window, image_folder)
        assert window.live.last_summary.inspected == 6
    finally:
        close_window(window)
