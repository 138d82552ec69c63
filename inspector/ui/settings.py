"""Typed helpers over QSettings.

Booleans are stored as "true"/"false" strings on purpose: PySide6 6.12's
``QSettings.setValue(key, True)`` corrupts the refcount of ``True`` and the
interpreter aborts at exit ("bool_dealloc"). Strings also read back the same
from INI files and the native stores.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings


def get_flag(settings: QSettings, key: str, default: bool) -> bool:
    value = settings.value(key)
    if value is None:
        return default
    return str(value).strip().lower() in ("true", "1", "yes")


def set_flag(settings: QSettings, key: str, value: bool) -> None:
    settings.setValue(key, "true" if value else "false")
