"""Fake pycuda package (see tests/fakes/README.md)."""

VERSION = (2024, 1, 2)
VERSION_STATUS = ""
VERSION_TEXT = "2024.1.2"
