"""Work around a PySide6 6.12 reference-counting bug on CPython 3.11.

PySide6 6.12's bindings do not take a new reference to ``None`` when a void
C++ method returns (and similar for True/False in some paths). From CPython
3.12 on these singletons are immortal, so nothing happens; on 3.11 every call
like ``label.setText()`` drains one reference from ``None`` and the process
aborts with "Fatal Python error: none_dealloc" after a few hundred thousand
calls - minutes of live inspection, or at exit.

Until the bindings are fixed (or the station requires 3.12), give the three
singletons so many references that they behave as immortal, as on 3.12. It is
done once, before any Qt call; the objects are never freed anyway.
"""

from __future__ import annotations

import ctypes
import sys

_PINNED = False
_EXTRA_REFS = 1 << 40  # ~1e12: centuries of Qt calls at a million per second


def pin_singletons() -> bool:
    """Make None/True/False effectively immortal on CPython < 3.12; True if it did so."""
    global _PINNED
    if _PINNED or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    for obj in (None, True, False):
        # ob_refcnt is the first field of every CPython object header.
        ctypes.c_ssize_t.from_address(id(obj)).value += _EXTRA_REFS
    _PINNED = True
    return True
