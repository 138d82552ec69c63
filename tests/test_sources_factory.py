"""open_source(spec): which Source each spec form builds."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest

from inspector.core.sources import (
    SPEC_HELP,
    FolderSource,
    HotFolderSource,
    VideoSource,
    open_source,
)


def test_directory_is_a_folder_source(tmp_path: Path) -> None:
    src = open_source(str(tmp_path), recursive=True)
    assert isinstance(src, FolderSource)
    assert src.recursive
    assert src.name == f"folder {tmp_path.resolve()}"


def test_hot_prefix(tmp_path: Path) -> None:
    src = open_source(f"hot:{tmp_path}", settle_s=0.2)
    assert isinstance(src, HotFolderSource)
    assert src.settle_s == 0.2
    with pytest.raises(NotADirectoryError):
        open_source(f"hot:{tmp_path / 'missing'}")


@pytest.mark.parametrize(("spec", "index"), [("camera:0", 0), ("CAMERA:2", 2), ("1", 1), (" 0 ", 0)])
def test_camera_specs(spec: str, index: int) -> None:
    src = open_source(spec)
    assert isinstance(src, VideoSource)
    assert src.spec == index
    assert src.live
    assert src.name == f"camera {index}"


@pytest.mark.parametrize("url", ["rtsp://cam.local/stream", "http://10.0.0.2/video.mjpg", "https://x/y"])
def test_stream_urls_are_live_cameras(url: str) -> None:
    src = open_source(url)
    assert isinstance(src, VideoSource)
    assert src.live
    assert src.spec == url


@pytest.mark.parametrize("ext", [".mp4", ".AVI", ".mkv", ".mov"])
def test_video_files(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"clip{ext}"
    path.write_bytes(b"")
    src = open_source(str(path))
    assert isinstance(src, VideoSource)
    assert not src.live
    assert src.path == path.resolve()


def test_missing_video_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        open_source(str(tmp_path / "nope.mp4"))


def test_genicam_spec_with_and_without_serial(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[tuple[Any, ...]] = []

    class FakeGenICam:
        def __init__(self, cti: str, serial: str | None, reconnect: bool = True) -> None:
            calls.append((cti, serial, {} if reconnect else {"reconnect": reconnect}))

    fake_module = types.ModuleType("inspector.core.sources.genicam")
    fake_module.GenICamSource = FakeGenICam  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "inspector.core.sources.genicam", fake_module)
    open_source("genicam:/opt/gentl/producer.cti#ABC123", reconnect=False)
    open_source("genicam:/opt/gen#tl/producer.cti")
    open_source("genicam:C:/Program Files/producer.cti#7")
    assert calls == [
        ("/opt/gentl/producer.cti", "ABC123", {"reconnect": False}),
        ("/opt/gen#tl/producer.cti", None, {}),  # a '#' inside the path is no serial separator
        ("C:/Program Files/producer.cti", "7", {}),
    ]
    with pytest.raises(ValueError, match="CTI_PATH"):
        open_source("genicam:")


def test_genicam_without_harvesters_says_how_to_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "harvesters", None)
    monkeypatch.setitem(sys.modules, "harvesters.core", None)
    with pytest.raises(RuntimeError, match="pip install harvesters"):
        open_source(f"genicam:{tmp_path / 'x.cti'}")


def test_options_a_source_does_not_take_are_dropped(tmp_path: Path) -> None:
    # The CLI passes the same options whatever the spec is.
    for spec in ("camera:0", f"hot:{tmp_path}", "rtsp://cam/x", str(tmp_path)):
        src = open_source(spec, recursive=False, skip=set())
        src.close()


def test_misspelled_option_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="recursve"):
        open_source(str(tmp_path), recursve=True)


@pytest.mark.parametrize("spec", ["demo", "ftp://host/x", "camera:front", "no/such/folder", "image.xyz"])
def test_unknown_specs_list_valid_forms(spec: str) -> None:
    with pytest.raises(ValueError, match="valid source specs") as info:
        open_source(spec)
    assert "hot:DIR" in str(info.value)
    assert "genicam:" in SPEC_HELP


def test_existing_non_source_file_is_rejected(tmp_path: Path) -> None:
    single = tmp_path / "one.png"
    single.write_bytes(b"x")
    with pytest.raises(ValueError, match="cannot tell"):
        open_source(str(single))
