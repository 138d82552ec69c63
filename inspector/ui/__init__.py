"""The station GUI: the only package that imports PySide6 / pyqtgraph."""

from inspector.ui.compat import pin_singletons

pin_singletons()  # before any Qt call; see compat.py (PySide6 6.12 on CPython 3.11)
