"""Decoding good images and refusing every kind of bad file with a readable message."""

from __future__ import annotations

import hashlib
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspector.core import image_io
from inspector.core.image_io import (
    IMAGE_EXTENSIONS,
    ImageDecodeError,
    decode_image,
    header_size,
    is_image_path,
    read_image,
)


def _enc(ext: str, image: np.ndarray, *params: int) -> bytes:
    ok, buf = cv2.imencode(ext, image, list(params))
    assert ok
    return buf.tobytes()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _raw_png(width: int, height: int, bit_depth: int, color_type: int, rows: bytes) -> bytes:
    """A hand-made PNG: lets a test claim any size without allocating it."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(rows))
        + _chunk(b"IEND", b"")
    )


@pytest.fixture
def texture() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (48, 64), dtype=np.uint8)


def test_png_gray_roundtrip_exact(texture: np.ndarray) -> None:
    out = decode_image(_enc(".png", texture))
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, texture)


def test_png_16bit_keeps_depth() -> None:
    img = (np.arange(48 * 64, dtype=np.uint32).reshape(48, 64) * 20).astype(np.uint16)
    out = decode_image(_enc(".png", img))
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out, img)


def test_bgr_and_bgra(texture: np.ndarray) -> None:
    bgr = np.dstack([texture, 255 - texture, texture // 2])
    np.testing.assert_array_equal(decode_image(_enc(".png", bgr)), bgr)
    bgra = np.dstack([bgr, np.full_like(texture, 200)])
    out = decode_image(_enc(".png", bgra))
    assert out.shape == (48, 64, 4)
    np.testing.assert_array_equal(out, bgra)


def test_gray_alpha_png_is_accepted() -> None:
    w, h = 10, 9
    rows = b"".join(b"\x00" + bytes([x * 20 % 256, 255]) * w for x in range(h))
    out = decode_image(_raw_png(w, h, 8, 4, rows))
    assert out.shape[:2] == (h, w)
    assert out.dtype == np.uint8


def test_jpeg_bmp_tiff_decode(texture: np.ndarray) -> None:
    assert decode_image(_enc(".jpg", texture, cv2.IMWRITE_JPEG_QUALITY, 95)).shape == (48, 64)
    np.testing.assert_array_equal(decode_image(_enc(".bmp", texture)), texture)
    np.testing.assert_array_equal(decode_image(_enc(".tiff", texture)), texture)


def test_header_size_matches_decoded_shape(texture: np.ndarray) -> None:
    for ext in (".png", ".jpg", ".bmp", ".tiff"):
        assert header_size(_enc(ext, texture)) == (48, 64), ext


def test_jpeg_with_trailer_after_eoi_is_fine(texture: np.ndarray) -> None:
    data = _enc(".jpg", texture) + b"camera trailer \x00\x01"
    assert decode_image(data).shape == (48, 64)


def test_zero_bytes() -> None:
    with pytest.raises(ImageDecodeError, match=r"a\.png: empty file \(0 bytes\)"):
        decode_image(b"", "a.png")


def test_truncated_png(texture: np.ndarray) -> None:
    data = _enc(".png", texture)
    for cut in (len(data) // 2, len(data) - 5, 20):
        with pytest.raises(ImageDecodeError, match=r"cut\.png: truncated PNG"):
            decode_image(data[:cut], "cut.png")


def test_truncated_jpeg_is_refused_not_half_decoded(
    texture: np.ndarray, capfd: pytest.CaptureFixture
) -> None:
    big = cv2.resize(texture, (256, 192), interpolation=cv2.INTER_NEAREST)
    data = _enc(".jpg", big)
    for cut in (int(len(data) * 0.7), len(data) - 2, 100):
        with pytest.raises(ImageDecodeError, match=r"cut\.jpg: truncated JPEG"):
            decode_image(data[:cut], "cut.jpg")
    assert "Premature end" not in capfd.readouterr().err


def test_truncated_bmp(texture: np.ndarray) -> None:
    data = _enc(".bmp", texture)
    with pytest.raises(ImageDecodeError, match="truncated BMP"):
        decode_image(data[: len(data) // 2], "cut.bmp")


def test_text_file_named_png(tmp_path: Path) -> None:
    p = tmp_path / "notes.png"
    p.write_text("hello, this is not an image\n", encoding="utf-8")
    with pytest.raises(ImageDecodeError, match=r"notes\.png: not an image") as err:
        read_image(p)
    assert str(p) in str(err.value)
    assert isinstance(err.value, ValueError)


def test_corrupt_png_body() -> None:
    good = _raw_png(16, 16, 8, 0, b"".join(b"\x00" + bytes(16) for _ in range(16)))
    # keep header and IEND, destroy the compressed data
    idat = good.index(b"IDAT")
    bad = good[: idat + 4] + b"\x13" * 10 + good[idat + 14 :]
    with pytest.raises(ImageDecodeError, match="corrupt image data"):
        decode_image(bad, "bad.png")


def test_too_small() -> None:
    with pytest.raises(ImageDecodeError, match=r"too small: 1x1, need at least 8x8"):
        decode_image(_enc(".png", np.zeros((1, 1), np.uint8)))
    with pytest.raises(ImageDecodeError, match="too small: 20x7"):
        decode_image(_enc(".png", np.zeros((7, 20), np.uint8)))
    assert decode_image(_enc(".png", np.zeros((8, 8), np.uint8))).shape == (8, 8)
    assert decode_image(_enc(".png", np.zeros((4, 4), np.uint8)), min_side=2).shape == (4, 4)


def test_enormous_png_refused_from_header_without_allocating() -> None:
    # Claims 60000 x 60000 (3.6 GP) but carries one row of data: a decompression-bomb shape.
    data = _raw_png(60000, 60000, 8, 0, b"\x00" + bytes(60000))
    assert len(data) < 1000
    with pytest.raises(ImageDecodeError, match=r"bomb\.png: image too large: 60000x60000"):
        decode_image(data, "bomb.png")


def test_max_pixels_is_configurable(monkeypatch: pytest.MonkeyPatch, texture: np.ndarray) -> None:
    data = _enc(".png", texture)
    with pytest.raises(ImageDecodeError, match="too large"):
        decode_image(data, max_pixels=1000)
    monkeypatch.setattr(image_io, "MAX_PIXELS", 48 * 64 - 1)
    with pytest.raises(ImageDecodeError, match="too large"):
        decode_image(data)
    monkeypatch.setattr(image_io, "MIN_SIDE", 64)
    monkeypatch.setattr(image_io, "MAX_PIXELS", 10**6)
    with pytest.raises(ImageDecodeError, match="too small"):
        decode_image(data)


def test_float_image_is_refused() -> None:
    img = np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64)
    data = _enc(".tiff", img)
    with pytest.raises(ImageDecodeError, match="unsupported pixel type float32"):
        decode_image(data, "f.tiff")


def test_read_image_returns_sha256_of_bytes(tmp_path: Path, texture: np.ndarray) -> None:
    data = _enc(".png", texture)
    p = tmp_path / "IMG.PNG"
    p.write_bytes(data)
    img, sha = read_image(p)
    np.testing.assert_array_equal(img, texture)
    assert sha == hashlib.sha256(data).hexdigest()


def test_read_image_missing_file_names_path(tmp_path: Path) -> None:
    p = tmp_path / "gone.png"
    with pytest.raises(FileNotFoundError, match=r"gone\.png"):
        read_image(p)


def test_error_message_names_path_for_bad_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.jpg"
    p.write_bytes(b"")
    with pytest.raises(ImageDecodeError) as err:
        read_image(p)
    assert str(err.value) == f"{p}: empty file (0 bytes)"
    assert err.value.name == str(p)


def test_extensions_case_insensitive() -> None:
    assert {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"} == set(IMAGE_EXTENSIONS)
    assert is_image_path("a/B.PNG")
    assert is_image_path(Path("x.JpEg"))
    assert not is_image_path("x.txt")
    assert not is_image_path("png")
