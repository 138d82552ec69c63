"""The live run's state is one StrEnum (inspector.ui.run_state), not bare strings."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from inspector.core.model_card import ModelCard
from inspector.core.recipe import Recipe
from inspector.ui.context import AppContext, ModelState
from inspector.ui.run_state import RunState


def _ctx(tmp_path: Path) -> AppContext:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    return AppContext(None, "test", settings, Recipe(), ModelState(Path("m.onnx"), ModelCard()))


def test_run_states_are_the_strings_the_signals_carry() -> None:
    assert [s.value for s in RunState] == ["idle", "running", "paused"]
    assert RunState.PAUSED == "paused"  # a str: Signal(str) carries it unchanged
    assert [s.active for s in RunState] == [False, True, True]


def test_the_context_keeps_a_run_state_and_refuses_an_unknown_one(qtbot, tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    assert ctx.run_state is RunState.IDLE
    heard: list[str] = []
    ctx.run_state_changed.connect(heard.append)
    ctx.set_run_state("paused")  # what arrives through a Signal(str)
    assert ctx.run_state is RunState.PAUSED
    assert heard == ["paused"]
    with pytest.raises(ValueError, match="stopped"):
        ctx.set_run_state("stopped")  # a typo no longer passes silently as "not running"
    assert ctx.run_state is RunState.PAUSED
