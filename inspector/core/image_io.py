"""Decode image files into the arrays the pipeline works on, refusing bad input early.

A station reads whatever lands in a folder, so every failure mode must end in
an :class:`ImageDecodeError` that names the file and says what is wrong,
never in a crash, a half-decoded image or gigabytes of allocation.

Images come back as OpenCV decodes them with ``IMREAD_UNCHANGED``: HxW gray or
HxWxC (BGR / BGRA / 2-channel gray+alpha), uint8 or uint16. EXIF orientation is
deliberately not applied: inspection wants the sensor's own pixel grid.
"""

from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path

import cv2
import numpy as np

__all__ = [
    "IMAGE_EXTENSIONS",
    "MAX_FILE_BYTES",
    "MAX_PIXELS",
    "MIN_SIDE",
    "ImageDecodeError",
    "decode_image",
    "encoded_suffix",
    "header_size",
    "is_image_path",
    "max_file_bytes",
    "read_image",
    "read_image_file",
]

IMAGE_EXTENSIONS: frozenset[str] = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"})
MIN_SIDE = 8  # smaller is a thumbnail or a broken export, not an inspection image
MAX_PIXELS = 100_000_000  # 100 MP: well above line-scan tiles, below what a station can hold in a batch
# Files larger than this are refused before a byte is read. None: derived from MAX_PIXELS (8 bytes
# a pixel, 16-bit BGRA stored uncompressed, plus FILE_SLACK_BYTES for metadata and odd layouts).
MAX_FILE_BYTES: int | None = None
FILE_SLACK_BYTES = 64 * 1024 * 1024
HEAD_BYTES = 64 * 1024  # read first: the header says the image size before the rest is read

# OpenCV's own decoder warnings would otherwise flood the station's stderr; every
# problem we care about is reported as an ImageDecodeError instead. Respect an
# explicit OPENCV_LOG_LEVEL so a developer can still turn them on.
if "OPENCV_LOG_LEVEL" not in os.environ:
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)

_PNG_SIG = b"\x89PNG\r\n\x1a\n"
# SOFn markers carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but don't.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


class ImageDecodeError(ValueError):
    """A file that is not a usable image; the message names the file and the problem."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason
        self.sha256: str | None = None  # of the file bytes, when they were read


def is_image_path(path: Path | str) -> bool:
    """Whether the file name has one of :data:`IMAGE_EXTENSIONS` (case-insensitive)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def _png_header(data: bytes, name: str, whole: bool = True) -> tuple[int, int]:
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise ImageDecodeError(name, "truncated PNG (no image header)")
    w, h = struct.unpack(">II", data[16:24])
    # The file must end with the IEND chunk; a cut-off transfer decodes to garbage or fails late.
    # Searched near the end only, to tolerate (rare) trailing bytes after IEND.
    if whole and b"IEND" not in data[-4096:]:
        raise ImageDecodeError(name, "truncated PNG (no IEND chunk at the end)")
    return h, w


def _jpeg_header(data: bytes, name: str, whole: bool = True) -> tuple[int, int] | None:
    size: tuple[int, int] | None = None
    i, n = 2, len(data)
    while i < n:
        if data[i] != 0xFF:
            raise ImageDecodeError(name, "corrupt JPEG (bad marker structure)")
        while i < n and data[i] == 0xFF:  # fill bytes
            i += 1
        if i >= n:
            break
        marker = data[i]
        i += 1
        if marker == 0xD8 or marker == 0x01 or 0xD0 <= marker <= 0xD7:
            continue  # standalone markers, no length
        if i + 2 > n:
            break
        (length,) = struct.unpack(">H", data[i : i + 2])
        if marker in _JPEG_SOF and i + 7 <= n:
            h, w = struct.unpack(">HH", data[i + 3 : i + 7])
            size = (h, w) if h else None  # h == 0: height comes later in a DNL segment
        if marker == 0xDA:  # start of scan: the entropy-coded data follows
            # FF bytes inside scan data are stuffed (FF00), so an EOI after SOS is the real end.
            # libjpeg would otherwise "decode" a cut-off file with a grey bottom and a warning.
            if whole and data.rfind(b"\xff\xd9") < i:
                raise ImageDecodeError(name, "truncated JPEG (no end-of-image marker)")
            return size
        i += length
    if not whole:  # the frame header lies beyond the first bytes (a large EXIF block): no answer yet
        return size
    raise ImageDecodeError(name, "truncated JPEG (ends before the image data)")


def _bmp_header(data: bytes, name: str, whole: bool = True) -> tuple[int, int]:
    if len(data) < 26:
        raise ImageDecodeError(name, "truncated BMP (no image header)")
    (file_size,) = struct.unpack("<I", data[2:6])
    if whole and 0 < len(data) < file_size:
        raise ImageDecodeError(name, f"truncated BMP ({len(data)} of {file_size} bytes)")
    w, h = struct.unpack("<ii", data[18:26])
    return abs(h), abs(w)  # negative height = top-down rows


def _tiff_header(data: bytes) -> tuple[int, int] | None:
    # Only the first IFD's ImageWidth/ImageLength tags; anything unusual is left to the decoder.
    try:
        e = "<" if data[:2] == b"II" else ">"
        (ifd,) = struct.unpack(e + "I", data[4:8])
        (count,) = struct.unpack(e + "H", data[ifd : ifd + 2])
        dims: dict[int, int] = {}
        for k in range(count):
            off = ifd + 2 + 12 * k
            tag, typ = struct.unpack(e + "HH", data[off : off + 4])
            if tag in (256, 257):
                fmt = e + ("H" if typ == 3 else "I")
                dims[tag] = struct.unpack(fmt, data[off + 8 : off + 8 + struct.calcsize(fmt)])[0]
        return (dims[257], dims[256]) if len(dims) == 2 else None
    except (struct.error, IndexError):
        return None


def header_size(data: bytes, name: str = "<bytes>", *, whole: bool = True) -> tuple[int, int] | None:
    """(height, width) from the file header without decoding, or None when the format
    gives no cheap answer. Raises :class:`ImageDecodeError` on a truncated PNG/JPEG/BMP.

    ``whole=False``: ``data`` is only the first bytes of the file; the end-of-file checks
    are left for the whole file, and a header beyond ``data`` gives None."""
    if data.startswith(_PNG_SIG):
        return _png_header(data, name, whole)
    if data.startswith(b"\xff\xd8\xff"):
        return _jpeg_header(data, name, whole)
    if data.startswith(b"BM"):
        return _bmp_header(data, name, whole)
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return _tiff_header(data)
    return None


def _check_size(h: int, w: int, name: str, min_side: int, max_pixels: int) -> None:
    if h * w > max_pixels:
        raise ImageDecodeError(
            name, f"image too large: {w}x{h} = {h * w / 1e6:.0f} MP > {max_pixels / 1e6:g} MP"
        )
    if h < min_side or w < min_side:
        raise ImageDecodeError(name, f"image too small: {w}x{h}, need at least {min_side}x{min_side}")


def decode_image(
    data: bytes, name: str = "<bytes>", *, min_side: int | None = None, max_pixels: int | None = None
) -> np.ndarray:
    """Decode encoded image bytes to HxW / HxWxC uint8 or uint16.

    ``min_side`` / ``max_pixels`` default to the module's :data:`MIN_SIDE` /
    :data:`MAX_PIXELS` (read at call time, so a station can change them).
    """
    min_side = MIN_SIDE if min_side is None else min_side
    max_pixels = MAX_PIXELS if max_pixels is None else max_pixels
    if not data:
        raise ImageDecodeError(name, "empty file (0 bytes)")
    size = header_size(data, name)
    if size is not None:  # before decoding, so a decompression bomb never allocates
        _check_size(*size, name, min_side, max_pixels)
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        what = "corrupt image data" if size is not None else "not an image (unknown or unreadable format)"
        raise ImageDecodeError(name, what)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (2, 3, 4)):
        raise ImageDecodeError(name, f"unsupported image layout {image.shape}")
    if image.dtype not in (np.uint8, np.uint16):
        raise ImageDecodeError(name, f"unsupported pixel type {image.dtype}; expected 8- or 16-bit unsigned")
    _check_size(image.shape[0], image.shape[1], name, min_side, max_pixels)
    return image


def max_file_bytes() -> int:
    """The largest file :func:`read_image` reads: :data:`MAX_FILE_BYTES`, or derived from
    :data:`MAX_PIXELS` (both read at call time, so a station can change them)."""
    if MAX_FILE_BYTES is not None:
        return MAX_FILE_BYTES
    return MAX_PIXELS * 8 + FILE_SLACK_BYTES


def _read_checked(path: Path) -> bytes:
    """The file's bytes, refusing a file too large to hold, or whose header says the image is too
    large, before the rest is read: a 1 GB file or a decompression bomb never gets into memory."""
    name = str(path)
    limit = max_file_bytes()
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > limit:
            raise ImageDecodeError(name, f"file too large: {size / 1e9:.1f} GB > {limit / 1e9:.2f} GB")
        head = fh.read(HEAD_BYTES)
        if len(head) < HEAD_BYTES:  # the whole file
            return head
        dims = header_size(head, name, whole=False)  # what the header promises, before the rest
        if dims is not None:
            _check_size(*dims, name, 0, MAX_PIXELS)
        fh.seek(0)
        data = fh.read(size)  # never more than the size checked above
        if fh.read(1):
            raise ImageDecodeError(name, "file grew while it was read (still being written?)")
        return data


def read_image(path: Path | str) -> tuple[np.ndarray, str]:
    """Read and decode a file; returns (image, sha256 hex of the file bytes).

    The bytes are read once and both hashed and decoded, so the logged hash is
    exactly of what was inspected even if the file is replaced meanwhile. Size and
    header are checked first (:func:`max_file_bytes`, :data:`MAX_PIXELS`).
    """
    image, sha, _data = read_image_file(path)
    return image, sha


def read_image_file(path: Path | str) -> tuple[np.ndarray, str, bytes]:
    """:func:`read_image` plus the file's bytes as read: the archive keeps those bytes as they
    are (no second encode; the archived file then hashes to the logged sha256)."""
    path = Path(path)
    try:
        data = _read_checked(path)
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"image file not found: {path}") from exc
    sha = hashlib.sha256(data).hexdigest()
    try:
        return decode_image(data, str(path)), sha, data
    except ImageDecodeError as exc:
        exc.sha256 = sha  # the ERROR row still names the content it could not inspect
        raise


def encoded_suffix(data: bytes) -> str | None:
    """The file suffix of encoded image bytes from their magic number (".png", ".jpg", ".bmp",
    ".tif"), or None for anything else."""
    if data.startswith(_PNG_SIG):
        return ".png"
    if data.startswith(b"\xff\xd8\xff"):
        return ".jpg"
    if data.startswith(b"BM"):
        return ".bmp"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return ".tif"
    return None
