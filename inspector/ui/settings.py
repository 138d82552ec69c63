"""Typed helpers over QSettings.

Booleans are stored as "true"/"false" strings: an INI file hands every value
back as a string while the native stores keep the type, so a stored bool would
read back differently per platform.
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
