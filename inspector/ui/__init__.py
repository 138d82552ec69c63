"""The station GUI: the only package that imports PySide6 / pyqtgraph."""
