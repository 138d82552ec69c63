"""Where the station finds its shipped resources and keeps its data."""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "defect-inspector"


def resources_dir() -> Path:
    """``resources/`` of the checkout or of a frozen bundle (packaging/); INSPECTOR_RESOURCES overrides."""
    env = os.environ.get("INSPECTOR_RESOURCES")
    if env:
        return Path(env)
    bundle = getattr(sys, "_MEIPASS", None) if getattr(sys, "frozen", False) else None
    if bundle:  # a PyInstaller bundle keeps its data files under sys._MEIPASS
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def shipped_model(name: str) -> Path:
    return resources_dir() / "models" / name / "model.onnx"


def default_model() -> Path:
    """The demo model: it matches the demo source the station starts on."""
    return shipped_model("demo")


def default_recipe_path() -> Path:
    return resources_dir() / "recipes" / "default.json"


def user_data_path() -> Path:
    """Where the station keeps its data (``$INSPECTOR_DATA_DIR`` moves it); touches no file, so the
    GUI's UI thread may ask (whoever writes there creates the folders it needs)."""
    from platformdirs import user_data_dir as _udd

    return Path(os.environ.get("INSPECTOR_DATA_DIR") or _udd(APP_NAME, appauthor=False))


def user_data_dir() -> Path:
    """:func:`user_data_path`, created when missing."""
    path = user_data_path()
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_archive_dir() -> Path:
    return user_data_dir() / "archive"
