"""Shared fixtures. GUI tests run offscreen; nothing here needs a GPU or network."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import cv2
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# `auto` keeps ONNX Runtime without timing it against OpenVINO: a timed choice would make tests
# nondeterministic (tests/test_backend_select.py covers the probe with fake timings)
os.environ.setdefault("INSPECTOR_AUTO_CPU", "onnxruntime")

from db.session import Database, open_db
from tests.tiny_model import build_tiny_model, synthetic_image


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("model") / "tiny.onnx")


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """Six 64x64 PNGs: three with a bright defect (odd indices), three clean."""
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(6):
        img, _ = synthetic_image(64, defect=bool(i % 2), seed=i)
        cv2.imwrite(str(folder / f"img_{i:03d}.png"), img)
    return folder


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """A new SQLite verdict database (migrated) in the test's folder, disposed afterwards."""
    d = open_db(f"sqlite:///{tmp_path}/t.db")
    yield d
    d.dispose()
