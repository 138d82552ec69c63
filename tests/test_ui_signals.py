"""Typed edges in the GUI: a signal names its payload's class, not ``object`` (issue 13).

PySide6 takes a Python class as a signal argument (Qt sees ``PyObject``, as for ``object``),
so the class is written where the payload's type is known. The few ``Signal(object...)`` left
carry a payload Qt would convert (a list or a dict that may be None) or one of any type, and
say so in a comment on the line above or beside.
"""

from __future__ import annotations

import re
from pathlib import Path

UI = Path(__file__).resolve().parents[1] / "inspector" / "ui"
UNTYPED = re.compile(r"=\s*Signal\(object")
LEFT = {  # the untyped ones, each with its reason next to it
    "line_control.py:counts_changed",
    "trainer_tasks.py:succeeded",
    "zone_overlay.py:edited",
}


def _untyped() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted(UI.glob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if UNTYPED.search(line):
                name = line.split("=")[0].strip()
                found[f"{path.name}:{name}"] = (lines[i - 1] if i else "") + "\n" + line
    return found


def test_only_the_listed_signals_carry_an_untyped_object() -> None:
    assert set(_untyped()) == LEFT


def test_each_untyped_signal_says_why() -> None:
    for key, text in _untyped().items():
        assert "#" in text, f"{key}: Signal(object) without a comment naming its payload"


def test_typed_signals_still_carry_none_and_their_class(qtbot) -> None:
    from PySide6.QtCore import QObject, Signal

    from inspector.services.lots import LotInfo

    class Emitter(QObject):
        lot_changed = Signal(LotInfo)

    e = Emitter()
    got: list[object] = []
    e.lot_changed.connect(got.append)
    e.lot_changed.emit(None)  # "no lot": a typed signal still carries None
    assert got == [None]
