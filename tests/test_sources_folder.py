"""FolderSource: order, recursion, extensions, resume, bad files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspector.core.sources import FolderSource
from inspector.core.sources.base import Source, natural_key
from inspector.core.types import Frame, FrameError


def never() -> bool:
    return False


def write_png(path: Path, value: int = 100, size: int = 16) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.full((size, size), value, np.uint8))
    return path


def names(items: list[Frame | FrameError]) -> list[str]:
    return [Path(i.key).name for i in items]


def test_natural_order_each_file_once_with_sha(tmp_path: Path) -> None:
    for n in (10, 2, 1, 33, 3):
        write_png(tmp_path / f"img{n}.png", value=n)
    src = FolderSource(tmp_path)
    assert isinstance(src, Source)
    assert not src.live
    items = list(src.frames(never))
    assert names(items) == ["img1.png", "img2.png", "img3.png", "img10.png", "img33.png"]
    first = items[0]
    assert isinstance(first, Frame)
    assert first.key == str((tmp_path / "img1.png").resolve())
    assert first.sha256 == hashlib.sha256((tmp_path / "img1.png").read_bytes()).hexdigest()
    assert first.image.shape == (16, 16)
    assert int(first.image[0, 0]) == 1
    assert [i.seq for i in items] == [0, 1, 2, 3, 4]
    stats = src.stats()
    assert (stats.produced, stats.errors, stats.total) == (5, 0, 5)


def test_natural_key_mixed_names() -> None:
    names_ = ["b10", "a", "B2", "10", "2", "a1b"]
    assert sorted(names_, key=natural_key) == ["2", "10", "a", "a1b", "B2", "b10"]


def test_extensions_case_and_temp_names(tmp_path: Path) -> None:
    write_png(tmp_path / "0001.PNG")
    write_png(tmp_path / "0002.png")
    (tmp_path / "notes.txt").write_text("not an image")
    write_png(tmp_path / ".hidden.png")
    (tmp_path / "._0001.PNG").write_bytes(b"\x00AppleDouble")  # macOS metadata, undecodable
    assert names(list(FolderSource(tmp_path).frames(never))) == ["0001.PNG", "0002.png"]
    only_bmp = FolderSource(tmp_path, extensions=["bmp"])
    assert list(only_bmp.frames(never)) == []


def test_not_recursive_by_default_and_recursion_skips_label_dirs(tmp_path: Path) -> None:
    write_png(tmp_path / "top.png")
    write_png(tmp_path / "Class1" / "Train" / "0002.PNG")
    write_png(tmp_path / "Class1" / "Train" / "0010.PNG")
    write_png(tmp_path / "Class1" / "Train" / "Label" / "0002_label.PNG")
    write_png(tmp_path / "own" / "masks" / "a.png")
    write_png(tmp_path / "Class2" / "Test" / "0001.PNG")
    assert names(list(FolderSource(tmp_path).frames(never))) == ["top.png"]
    keys = [i.key for i in FolderSource(tmp_path, recursive=True).frames(never)]
    rel = [str(Path(k).relative_to(tmp_path.resolve())) for k in keys]
    # Natural order per path part: folders and files interleave by name.
    assert rel == [
        "Class1/Train/0002.PNG",
        "Class1/Train/0010.PNG",
        "Class2/Test/0001.PNG",
        "top.png",
    ]


def test_recursive_order_is_per_path_part(tmp_path: Path) -> None:
    write_png(tmp_path / "d10" / "1.png")
    write_png(tmp_path / "d2" / "5.png")
    write_png(tmp_path / "d2" / "40.png")
    rel = [
        Path(k.key).relative_to(tmp_path.resolve()).as_posix()
        for k in FolderSource(tmp_path, recursive=True).frames(never)
    ]
    assert rel == ["d2/5.png", "d2/40.png", "d10/1.png"]


@pytest.mark.parametrize("as_predicate", [False, True])
def test_skip_resumes_after_crash(tmp_path: Path, as_predicate: bool) -> None:
    for n in range(1, 6):
        write_png(tmp_path / f"{n}.png")
    first = FolderSource(tmp_path).frames(never)
    done = {next(first).key, next(first).key}  # "crash" after two logged frames
    skip = done.__contains__ if as_predicate else done
    src = FolderSource(tmp_path, skip=skip)
    rest = list(src.frames(never))
    assert names(rest) == ["3.png", "4.png", "5.png"]
    assert src.stats().skipped == 2
    assert src.stats().total == 5  # total counts skipped files too: 5 - 2 left to do


def test_skip_rejects_a_plain_string(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        FolderSource(tmp_path, skip=str(tmp_path / "1.png"))


def test_bad_file_yields_error_and_iteration_continues(tmp_path: Path) -> None:
    write_png(tmp_path / "1.png")
    (tmp_path / "2.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (tmp_path / "3.jpg").write_bytes(b"")
    write_png(tmp_path / "4.png")
    src = FolderSource(tmp_path)
    items = list(src.frames(never))
    assert [type(i) for i in items] == [Frame, FrameError, FrameError, Frame]
    err = items[1]
    assert isinstance(err, FrameError)
    assert err.path is not None
    assert err.path.name == "2.png"
    assert "2.png" in err.message
    assert err.source == src.name
    assert (src.stats().produced, src.stats().errors) == (2, 2)


def test_stop_ends_iteration(tmp_path: Path) -> None:
    for n in range(5):
        write_png(tmp_path / f"{n}.png")
    got: list[Frame | FrameError] = []
    for item in FolderSource(tmp_path).frames(lambda: len(got) >= 2):
        got.append(item)
    assert len(got) == 2


def test_symlinked_duplicate_is_inspected_once(tmp_path: Path) -> None:
    write_png(tmp_path / "a.png")
    try:
        (tmp_path / "b.png").symlink_to(tmp_path / "a.png")
    except OSError:
        pytest.skip("symlinks not available")
    assert len(list(FolderSource(tmp_path).frames(never))) == 1


def test_missing_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError, match="nope"):
        FolderSource(tmp_path / "nope")
