"""Whole-image inference: every pixel of every image is inspected, never a crop.

The model card's geometry decides how an image reaches the model:

- ``resize``: scaled to the card's input size, one inference (as the card says).
- ``pad``: an image that fits the card's input is padded to it (one inference);
  a larger one is cut into tiles of exactly the card's input size.
- ``native``: the whole image (padded to the card's ``multiple``), unless one
  inference that large would exceed the pixel budget; then it is tiled.

Tiles overlap and are stitched, not averaged: each output pixel comes from the
tile in which it lies farthest from a tile edge that is inside the image
("centre stitching", a weighted mean with 0/1 weights). Tile origins sit on
the model's ``multiple`` grid, so a U-Net's pooling cells line up with the
ones of a whole-image run. The overlap is twice the model's receptive margin
(how far from a tile edge its output still changes), capped at half the tile.
docs/tiling.md has the measurements behind these choices.

The pixel budget comes from the model, not from an out-of-memory error:
:func:`measure_footprint` runs ONNX Runtime on the model at two sizes in a
child process and records the peak RSS growth per input pixel; the largest
single inference is what fits in a fraction of the available memory
(``INSPECTOR_MEMORY_FRACTION``, default 0.5, or ``INSPECTOR_MEMORY_BUDGET_MB``).
The measurement is cached per model sha256 in the user data directory. An
image whose smallest tiles would still not fit is refused with
:class:`ImageTooLargeError` (a ValueError), never run into an allocation failure.

Qt-free; onnxruntime is imported only in the measuring child process.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from inspector.core.model_card import ModelCard, sha256_file
from inspector.core.preprocess import normalise, prepare, restore, to_gray_float

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_MEMORY_FRACTION",
    "ImageTooLargeError",
    "ModelFootprint",
    "TilePlan",
    "Tiler",
    "available_memory_bytes",
    "measure_footprint",
    "memory_budget_bytes",
    "model_footprint",
    "stitch_cuts",
    "tile_origins",
]

RunFn = Callable[[np.ndarray], np.ndarray]

ENV_FRACTION = "INSPECTOR_MEMORY_FRACTION"
ENV_BUDGET_MB = "INSPECTOR_MEMORY_BUDGET_MB"
DEFAULT_MEMORY_FRACTION = 0.5
# Tiles per model call on a backend that states no limit (ONNX Runtime): batching
# gains little on a CPU, and the memory budget caps it further.
DEFAULT_MAX_BATCH = 8
# Used only when the model cannot be measured; about 4x the DAGM U-Net's figure.
FALLBACK_BYTES_PER_PIXEL = 2048.0
# Host memory per image pixel outside the model: gray float copy, padded canvas,
# probability map, a batch of tiles (all float32), with room to spare.
IMAGE_BYTES_PER_PIXEL = 24
# An absolute limit whatever the budget: 2**30 pixels (32768 x 32768).
MAX_IMAGE_PIXELS = 1 << 30
# Native-mode tiles smaller than this (per side) carry too little context to be worth running.
MIN_TILE_SIDE = 64
# The logit of the tile run must match the whole run within this to count as "unaffected".
_MARGIN_TOLERANCE = 1e-3
_PROBE_SEED = 0
_CACHE_SCHEMA = 1


class ImageTooLargeError(ValueError):
    """The image cannot be inspected within the memory budget, even in tiles."""


# ---------------------------------------------------------------- memory
def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def available_memory_bytes() -> int:
    """Memory this process could still get: MemAvailable, less where a cgroup limit is lower."""
    avail: int | None = None
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError):
        avail = None
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            avail = 4 << 30  # nothing to go by: assume a small machine
    cg = Path("/sys/fs/cgroup")
    for limit_file, usage_file in (
        (cg / "memory.max", cg / "memory.current"),  # cgroup v2
        (cg / "memory" / "memory.limit_in_bytes", cg / "memory" / "memory.usage_in_bytes"),  # v1
    ):
        limit, usage = _read_int(limit_file), _read_int(usage_file)
        if limit is not None and usage is not None and limit < (1 << 60):
            avail = min(avail, max(0, limit - usage))
            break
    return int(avail)


def memory_budget_bytes(fraction: float | None = None) -> int:
    """Bytes one inference may use: ``INSPECTOR_MEMORY_BUDGET_MB`` if set, else a fraction
    (``fraction``, else ``INSPECTOR_MEMORY_FRACTION``, else 0.5) of the available memory."""
    env_mb = os.environ.get(ENV_BUDGET_MB)
    if env_mb:
        try:
            return max(1, int(float(env_mb) * (1 << 20)))
        except ValueError:
            raise ValueError(f"{ENV_BUDGET_MB}={env_mb!r} is not a number of megabytes") from None
    if fraction is None:
        env = os.environ.get(ENV_FRACTION)
        try:
            fraction = float(env) if env else DEFAULT_MEMORY_FRACTION
        except ValueError:
            raise ValueError(f"{ENV_FRACTION}={env!r} is not a number") from None
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"memory fraction must be in (0, 1], got {fraction}")
    return max(1, int(available_memory_bytes() * fraction))


@dataclass(frozen=True, slots=True)
class ModelFootprint:
    """What one inference of a model costs, and how far its output sees.

    ``bytes(pixels) = fixed_bytes + bytes_per_pixel * pixels`` (batch 1; a batch of
    n tiles counts n times their pixels). ``margin_px``: distance from a tile edge
    beyond which the model's output no longer depends on what lies past that edge
    (None: not measured).
    """

    bytes_per_pixel: float
    fixed_bytes: float = 0.0
    margin_px: int | None = None
    method: str = "given"
    points: tuple[tuple[int, int], ...] = ()  # (input pixels, peak bytes) measured
    sha256: str = ""
    runtime: str = ""

    def bytes_for(self, pixels: int) -> float:
        return self.fixed_bytes + self.bytes_per_pixel * pixels

    def max_pixels(self, budget_bytes: int) -> int:
        """Largest input (pixels, summed over a batch) that fits ``budget_bytes``."""
        return max(0, int((budget_bytes - self.fixed_bytes) / self.bytes_per_pixel))

    def to_json(self) -> dict[str, Any]:
        return {
            "bytes_per_pixel": self.bytes_per_pixel,
            "fixed_bytes": self.fixed_bytes,
            "margin_px": self.margin_px,
            "method": self.method,
            "points": [list(p) for p in self.points],
            "sha256": self.sha256,
            "runtime": self.runtime,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelFootprint:
        return cls(
            bytes_per_pixel=float(data["bytes_per_pixel"]),
            fixed_bytes=float(data.get("fixed_bytes", 0.0)),
            margin_px=None if data.get("margin_px") is None else int(data["margin_px"]),
            method=str(data.get("method", "")),
            points=tuple((int(a), int(b)) for a, b in data.get("points", [])),
            sha256=str(data.get("sha256", "")),
            runtime=str(data.get("runtime", "")),
        )


def _ceil_to(x: int, m: int) -> int:
    return -(-x // m) * m


def _floor_to(x: int, m: int) -> int:
    return (x // m) * m


_PROBE_MAX_SIDE = 512  # keeps measuring cheap (the larger probe is at most 1024x1024)


def _probe_sizes(card: ModelCard) -> tuple[tuple[int, int], tuple[int, int]]:
    """The card's input size (on the model's grid, at most 512 per side) and twice it per side."""
    m = max(1, card.multiple)
    cap = max(m, _floor_to(_PROBE_MAX_SIDE, m))
    h, w = min(_ceil_to(card.input_height, m), cap), min(_ceil_to(card.input_width, m), cap)
    return (h, w), (2 * h, 2 * w)


def _onnxruntime_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    for dist in ("onnxruntime", "onnxruntime-gpu"):
        try:
            return f"{dist} {version(dist)}"
        except PackageNotFoundError:
            continue
    return "onnxruntime ?"


def _run_probe(model_path: Path, card: ModelCard, hw: tuple[int, int], margin: bool, timeout: float) -> dict:
    n = card.normalisation
    cmd = [
        sys.executable,
        "-m",
        "inspector.core.tiling",
        "probe",
        str(model_path),
        str(hw[0]),
        str(hw[1]),
        "--norm",
        str(n.scale),
        str(n.mean),
        str(n.std),
        "--multiple",
        str(max(1, card.multiple)),
    ]
    if margin:
        cmd.append("--margin")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise RuntimeError(f"probe at {hw[0]}x{hw[1]} exited {proc.returncode}: {tail[0]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure_footprint(model_path: Path, card: ModelCard, timeout: float = 300.0) -> ModelFootprint:
    """Measure the model with ONNX Runtime (CPU) in child processes, one per size.

    Each child loads the model, then records how much its peak RSS grows during one
    inference (Linux VmHWM, reset just before). Sizes: the card's input (at most 512
    per side) and twice it per side; bytes per pixel is the slope between them (at
    least the larger size's average), the rest is fixed. The larger child also finds the receptive margin:
    it runs a random image and its centre crop and reports how far from the crop's
    edges the logits still differ by more than 1e-3.
    """
    model_path = Path(model_path)
    small, large = _probe_sizes(card)
    a = _run_probe(model_path, card, small, False, timeout)
    b = _run_probe(model_path, card, large, True, timeout)
    pa, pb = small[0] * small[1], large[0] * large[1]
    ba, bb = int(a["peak_bytes"]), int(b["peak_bytes"])
    slope = (bb - ba) / (pb - pa)
    bpp = max(slope, bb / pb, 1.0)
    fixed = max(0.0, ba - bpp * pa, bb - bpp * pb)
    return ModelFootprint(
        bytes_per_pixel=round(bpp, 2),
        fixed_bytes=round(fixed),
        margin_px=None if b.get("margin_px") is None else int(b["margin_px"]),
        method=f"measured: ONNX Runtime peak RSS at {small[0]}x{small[1]} and {large[0]}x{large[1]}",
        points=((pa, ba), (pb, bb)),
        sha256=card.sha256 or sha256_file(model_path),
        runtime=str(b.get("runtime") or _onnxruntime_version()),
    )


def _default_cache_dir() -> Path:
    from inspector.core.paths import user_data_dir

    return user_data_dir() / "model-footprint"


_MEMO: dict[tuple[str, str, tuple[int, int, int]], ModelFootprint] = {}


def model_footprint(
    model_path: Path, card: ModelCard, cache_dir: Path | None = None, timeout: float = 300.0
) -> ModelFootprint:
    """:func:`measure_footprint`, cached per model sha256, ONNX Runtime version and card geometry.

    The cache is ``<user data dir>/model-footprint/<sha256>.json`` (or ``cache_dir``).
    If the model cannot be measured, a conservative fallback (2048 B/pixel, margin
    unknown) is used and logged; it is not cached, so the next start measures again.
    """
    model_path = Path(model_path)
    sha = card.sha256 or sha256_file(model_path)
    runtime = _onnxruntime_version()
    geometry = (card.input_height, card.input_width, max(1, card.multiple))
    key = (sha, runtime, geometry)
    if key in _MEMO:
        return _MEMO[key]
    path: Path | None = None
    try:
        path = Path(cache_dir) if cache_dir is not None else _default_cache_dir()
        path = path / f"{sha}.json"
        data = json.loads(path.read_text(encoding="utf-8"))
        if (
            data.get("schema") == _CACHE_SCHEMA
            and data.get("runtime_key") == runtime
            and tuple(data.get("geometry", ())) == geometry
        ):
            fp = ModelFootprint.from_json(data["footprint"])
            _MEMO[key] = fp
            return fp
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        fp = measure_footprint(model_path, card, timeout=timeout)
    except (OSError, RuntimeError, ValueError, KeyError, subprocess.SubprocessError) as exc:
        log.warning(
            "could not measure the memory footprint of %s (%s); assuming %.0f B/pixel",
            model_path,
            exc,
            FALLBACK_BYTES_PER_PIXEL,
        )
        return ModelFootprint(
            FALLBACK_BYTES_PER_PIXEL, method=f"fallback (measuring failed: {exc})", sha256=sha
        )
    _MEMO[key] = fp
    if path is not None:
        record = {
            "schema": _CACHE_SCHEMA,
            "runtime_key": runtime,
            "geometry": list(geometry),
            "measured_at": datetime.now(UTC).isoformat(),
            "footprint": fp.to_json(),
        }
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
            tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            log.info("footprint of %s not cached (%s)", model_path, exc)
    log.info(
        "model %s: %.0f B/pixel + %.0f B, receptive margin %s px (%s)",
        model_path.name,
        fp.bytes_per_pixel,
        fp.fixed_bytes,
        fp.margin_px,
        fp.method,
    )
    return fp


# ---------------------------------------------------------------- geometry
def tile_origins(length: int, tile: int, overlap: int, multiple: int = 1) -> tuple[int, ...]:
    """Origins of tiles of size ``tile`` covering ``[0, length)``, consecutive tiles
    overlapping by at least ``overlap``; spread evenly, on the ``multiple`` grid where
    the sizes allow (the last tile always ends at ``length``)."""
    if tile <= 0 or length <= 0:
        raise ValueError(f"tile {tile} and length {length} must be positive")
    if length <= tile:
        return (0,)
    m = max(1, multiple)
    if tile % m or length % m:
        m = 1
    t, o, span = tile // m, -(-overlap // m), (length - tile) // m
    if o >= t and m > 1:  # the grid is too coarse for this overlap: drop it
        return tile_origins(length, tile, overlap, 1)
    if not 0 <= o < t:
        raise ValueError(f"overlap {overlap} must be smaller than the tile {tile}")
    n = -(-span // (t - o)) + 1
    return tuple(round(i * span / (n - 1)) * m for i in range(n))


def stitch_cuts(origins: Sequence[int], tile: int, length: int) -> tuple[int, ...]:
    """Boundaries of the part each tile keeps: the middle of each overlap (n + 1 values)."""
    cuts = [0]
    for a, b in itertools.pairwise(origins):
        cuts.append((b + a + tile) // 2)
    cuts.append(length)
    return tuple(cuts)


@dataclass(frozen=True, slots=True)
class TilePlan:
    """How one image reaches the model: a canvas (the image, reflect-padded at the
    bottom/right) cut into tiles at ``ys`` x ``xs``, ``batch`` tiles per model call."""

    image_hw: tuple[int, int]
    canvas_hw: tuple[int, int]
    tile_hw: tuple[int, int]
    ys: tuple[int, ...]
    xs: tuple[int, ...]
    batch: int = 1
    overlap: tuple[int, int] = (0, 0)

    @property
    def n_tiles(self) -> int:
        return len(self.ys) * len(self.xs)

    @property
    def whole(self) -> bool:
        return self.n_tiles == 1

    def covers_every_pixel(self) -> bool:
        h, w = self.image_hw
        th, tw = self.tile_hw
        ch, cw = self.canvas_hw
        ok_y = self.ys[0] == 0 and self.ys[-1] + th == ch and ch >= h
        ok_x = self.xs[0] == 0 and self.xs[-1] + tw == cw and cw >= w
        gaps_y = all(b <= a + th for a, b in itertools.pairwise(self.ys))
        gaps_x = all(b <= a + tw for a, b in itertools.pairwise(self.xs))
        return ok_y and ok_x and gaps_y and gaps_x


def _backend_limits(backend: Any) -> tuple[tuple[int, int] | None, tuple[int, int] | None, int | None]:
    """(min H,W), (max H,W) and max batch a backend declares (None: no limit stated)."""

    def hw(name: str) -> tuple[int, int] | None:
        v = getattr(backend, name, None)
        if not (isinstance(v, tuple | list) and len(v) == 2 and all(isinstance(x, int) for x in v)):
            return None
        return (v[0], v[1]) if v[0] > 0 and v[1] > 0 else None  # (0, 0): not loaded

    mb = getattr(backend, "max_batch", None)
    return hw("min_input_size"), hw("max_input_size"), mb if isinstance(mb, int) and mb > 0 else None


@dataclass
class Tiler:
    """Runs whole images through ``run`` (NHWC float32 batch -> NHWC probabilities).

    ``on_cpu``: the model's memory is this process's memory, so the pixel budget
    applies to each call; on a GPU backend the engine's declared maximum
    (``max_hw``) bounds each call instead. ``footprint`` and ``budget_bytes`` are
    found lazily (measurement, available memory) the first time an image larger
    than the card's input needs them, then kept: the same image is always cut
    the same way within one session.
    """

    card: ModelCard
    run: RunFn
    model_path: Path | None = None
    on_cpu: bool = True
    max_batch: int | None = None
    min_hw: tuple[int, int] | None = None
    max_hw: tuple[int, int] | None = None
    budget_bytes: int | None = None
    memory_fraction: float | None = None
    available_bytes: int | None = None
    footprint: ModelFootprint | None = None
    cache_dir: Path | None = None
    backend: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.card.channels != 1:
            raise ValueError(
                f"model card {self.card.name!r}: only 1-channel models are supported, "
                f"not {self.card.channels}"
            )

    @classmethod
    def for_backend(cls, backend: Any, card: ModelCard, **kw: Any) -> Tiler:
        """A tiler feeding ``backend.infer`` within the limits the backend declares."""
        mn, mx, mb = _backend_limits(backend)
        info = backend.info()
        path = Path(info.model_path) if str(info.model_path) not in ("", ".") else None
        return cls(
            card=card,
            run=backend.infer,
            model_path=path,
            on_cpu=str(info.device).upper() == "CPU",
            max_batch=mb,
            min_hw=mn,
            max_hw=mx,
            backend=backend,
            **kw,
        )

    def serves(self, backend: Any, card: ModelCard) -> bool:
        return self.backend is backend and self.card is card

    # ------------------------------------------------------------ budget
    @property
    def multiple(self) -> int:
        return max(1, self.card.multiple)

    def memory_budget(self) -> int:
        """Bytes one model call may use (sampled once, then kept)."""
        if self.budget_bytes is None:
            self.budget_bytes = memory_budget_bytes(self.memory_fraction)
        return self.budget_bytes

    def image_room(self) -> int:
        """Bytes left for the image's own buffers beside one model call at the full budget."""
        if self.available_bytes is None:
            self.available_bytes = available_memory_bytes()
        return max(0, self.available_bytes - self.memory_budget())

    def model_footprint(self) -> ModelFootprint:
        if self.footprint is None:
            if self.model_path is None or not self.model_path.is_file():
                self.footprint = ModelFootprint(FALLBACK_BYTES_PER_PIXEL, method="fallback (no model file)")
            else:
                self.footprint = model_footprint(self.model_path, self.card, self.cache_dir)
        return self.footprint

    def max_pixels(self) -> int:
        """Largest input (pixels, summed over a batch) one model call may take."""
        if self.on_cpu:
            return self.model_footprint().max_pixels(self.memory_budget())
        if self.max_hw is not None:
            return self.max_hw[0] * self.max_hw[1] * (self.max_batch or 1)
        return self.model_footprint().max_pixels(self.memory_budget())

    def _fits_backend(self, h: int, w: int) -> bool:
        if self.max_hw is not None and (h > self.max_hw[0] or w > self.max_hw[1]):
            return False
        return not (self.min_hw is not None and (h < self.min_hw[0] or w < self.min_hw[1]))

    def _check_image(self, h: int, w: int) -> None:
        if h * w > MAX_IMAGE_PIXELS:
            raise ImageTooLargeError(
                f"image {w}x{h} has {h * w / 1e6:.0f} Mpixel, above the absolute limit of "
                f"{MAX_IMAGE_PIXELS / 1e6:.0f} Mpixel"
            )
        need = h * w * IMAGE_BYTES_PER_PIXEL
        room = self.image_room()
        if need > room:
            raise ImageTooLargeError(
                f"image {w}x{h} needs about {need / 2**20:.0f} MiB for its probability map and "
                f"buffers; only {room / 2**20:.0f} MiB are free beside the model's budget"
            )

    def _margin(self, tile_hw: tuple[int, int]) -> tuple[int, int]:
        """Kept distance from interior tile edges: the receptive margin, at most a quarter tile
        (a quarter tile when the margin is unknown)."""
        fp = self.model_footprint()
        out = []
        for t in tile_hw:
            cap = max(1, t // 4)
            out.append(cap if fp.margin_px is None else max(1, min(cap, fp.margin_px)))
        return out[0], out[1]

    def _tile_pixels_max(self) -> int:
        """Largest single tile (pixels) one model call may take."""
        if not self.on_cpu and self.max_hw is not None:
            return self.max_hw[0] * self.max_hw[1]
        return self.max_pixels()

    def _single_call_ok(self, h: int, w: int) -> bool:
        if not self._fits_backend(h, w):
            return False
        if not self.on_cpu and self.max_hw is not None:
            return True  # the engine was built for this range
        return h * w <= self.max_pixels()

    def _batch(self, tile_hw: tuple[int, int], n_tiles: int) -> int:
        cap = self.max_batch or DEFAULT_MAX_BATCH
        if not self.on_cpu and self.max_hw is not None:
            return max(1, min(cap, n_tiles))
        tile_px = tile_hw[0] * tile_hw[1]
        fits = self.max_pixels() // tile_px
        if fits < 1:
            fp = self.model_footprint()
            raise ImageTooLargeError(
                f"one {tile_hw[1]}x{tile_hw[0]} tile needs about {fp.bytes_for(tile_px) / 2**20:.0f} MiB "
                f"for {self.card.name!r}, above the memory budget of {self.memory_budget() / 2**20:.0f} MiB"
            )
        return max(1, min(cap, fits, n_tiles))

    def _native_tile(self, ch: int, cw: int) -> tuple[int, int]:
        m = self.multiple
        max_px = self._tile_pixels_max()
        lim_h, lim_w = ch, cw
        if self.max_hw is not None:
            lim_h, lim_w = min(ch, _floor_to(self.max_hw[0], m)), min(cw, _floor_to(self.max_hw[1], m))
        side = _floor_to(math.isqrt(max(0, max_px)), m)
        th = min(lim_h, max(side, _floor_to(max_px // max(1, lim_w), m)))
        tw = min(lim_w, _floor_to(max_px // max(1, th), m)) if th > 0 else 0
        need_h, need_w = min(lim_h, _ceil_to(MIN_TILE_SIDE, m)), min(lim_w, _ceil_to(MIN_TILE_SIDE, m))
        if th < need_h or tw < need_w:
            raise ImageTooLargeError(
                f"image {cw}x{ch}: the memory budget allows model calls of {max_px} pixels, "
                f"too few for a {need_w}x{need_h} tile of {self.card.name!r}"
            )
        return th, tw

    # ------------------------------------------------------------ plan
    def plan(self, hw: tuple[int, int]) -> TilePlan:
        """How an image of ``hw`` (H, W) is fed to the model (not for ``resize`` cards)."""
        h, w = int(hw[0]), int(hw[1])
        if h <= 0 or w <= 0:
            raise ValueError(f"image has no pixels ({h}x{w})")
        card, m = self.card, self.multiple
        if card.resize == "resize":
            th, tw = card.input_height, card.input_width
            return TilePlan((h, w), (th, tw), (th, tw), (0,), (0,))
        if card.resize == "pad":
            th, tw = card.input_height, card.input_width
            if h <= th and w <= tw:
                return TilePlan((h, w), (th, tw), (th, tw), (0,), (0,))
            self._check_image(h, w)
            canvas = (th if h <= th else max(th, _ceil_to(h, m)), tw if w <= tw else max(tw, _ceil_to(w, m)))
            tile = (th, tw)
        else:  # native
            ch, cw = _ceil_to(h, m), _ceil_to(w, m)
            if self.min_hw is not None:
                ch, cw = max(ch, _ceil_to(self.min_hw[0], m)), max(cw, _ceil_to(self.min_hw[1], m))
            card_px = _ceil_to(card.input_height, m) * _ceil_to(card.input_width, m)
            if ch * cw <= card_px and self._fits_backend(ch, cw):
                return TilePlan((h, w), (ch, cw), (ch, cw), (0,), (0,))
            self._check_image(h, w)
            if self._single_call_ok(ch, cw):
                return TilePlan((h, w), (ch, cw), (ch, cw), (0,), (0,))
            canvas = (ch, cw)
            tile = self._native_tile(ch, cw)
        mh, mw = self._margin(tile)
        oh, ow = 2 * mh, 2 * mw
        ys = tile_origins(canvas[0], tile[0], oh, m)
        xs = tile_origins(canvas[1], tile[1], ow, m)
        batch = self._batch(tile, len(ys) * len(xs))
        return TilePlan((h, w), canvas, tile, ys, xs, batch, (oh, ow))

    # ------------------------------------------------------------ inference
    def _call(self, batch: np.ndarray) -> np.ndarray:
        out = np.asarray(self.run(batch))
        n, th, tw = batch.shape[:3]
        if out.ndim == 4 and out.shape[3] == 1:
            out = out[..., 0]
        if out.shape != (n, th, tw):
            raise ValueError(
                f"model output shape {tuple(np.asarray(out).shape)} does not match its input {(n, th, tw)}"
            )
        return out

    def infer(self, image: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        """Probability map (float32 HxW, the image's size) and timings in ms
        (``preprocess``, ``infer``, ``restore``)."""
        t0 = time.perf_counter()
        if self.card.resize == "resize":
            tensor, info = prepare(image, self.card)
            t1 = time.perf_counter()
            out = self._call(tensor[None, ...])
            t2 = time.perf_counter()
            prob = restore(out[0], info)
            return prob, _timings(t1 - t0, t2 - t1, time.perf_counter() - t2)
        shape = np.shape(image)
        if len(shape) not in (2, 3):
            raise ValueError(f"image must be HxW or HxWxC, got shape {shape}")
        h, w = int(shape[0]), int(shape[1])
        plan = self.plan((h, w))  # refuses an impossible image before copying it
        g = normalise(to_gray_float(image), self.card.normalisation)
        ch, cw = plan.canvas_hw
        if (ch, cw) != (h, w):  # reflect, as preprocess does: no artificial edge for the model to flag
            g = cv2.copyMakeBorder(g, 0, ch - h, 0, cw - w, cv2.BORDER_REFLECT_101)
        prep = time.perf_counter() - t0
        if plan.whole:
            t1 = time.perf_counter()
            out = self._call(np.ascontiguousarray(g)[None, :, :, None])
            t2 = time.perf_counter()
            prob = out[0, :h, :w].astype(np.float32)  # a fresh array: GPU backends reuse their buffer
            return prob, _timings(prep, t2 - t1, time.perf_counter() - t2)
        th, tw = plan.tile_hw
        cy, cx = stitch_cuts(plan.ys, th, ch), stitch_cuts(plan.xs, tw, cw)
        cells = [(i, j) for i in range(len(plan.ys)) for j in range(len(plan.xs))]
        prob = np.empty((h, w), np.float32)
        infer_s = restore_s = 0.0
        for k in range(0, len(cells), plan.batch):
            chunk = cells[k : k + plan.batch]
            t1 = time.perf_counter()
            batch = np.stack(
                [g[plan.ys[i] : plan.ys[i] + th, plan.xs[j] : plan.xs[j] + tw] for i, j in chunk]
            )
            t2 = time.perf_counter()
            out = self._call(batch[..., None])
            t3 = time.perf_counter()
            for (i, j), o in zip(chunk, out, strict=True):
                y0, y1 = cy[i], min(cy[i + 1], h)
                x0, x1 = cx[j], min(cx[j + 1], w)
                if y0 < y1 and x0 < x1:
                    oy, ox = plan.ys[i], plan.xs[j]
                    prob[y0:y1, x0:x1] = o[y0 - oy : y1 - oy, x0 - ox : x1 - ox]
            prep += t2 - t1
            infer_s += t3 - t2
            restore_s += time.perf_counter() - t3
        return prob, _timings(prep, infer_s, restore_s)


def _timings(prep_s: float, infer_s: float, restore_s: float) -> dict[str, float]:
    return {"preprocess": prep_s * 1e3, "infer": infer_s * 1e3, "restore": restore_s * 1e3}


# ---------------------------------------------------------------- measuring child
def _proc_status_bytes(key: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


def _peak_rss_bytes() -> int:
    peak = _proc_status_bytes("VmHWM")
    if peak is not None:
        return peak
    import resource  # not on Windows; there the probe fails and the fallback figure is used

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def _receptive_margin(prob_full: np.ndarray, prob_crop: np.ndarray, off: tuple[int, int]) -> int:
    """Smallest distance from the crop's edges beyond which its logits equal the full run's."""
    h, w = prob_crop.shape
    f = prob_full[off[0] : off[0] + h, off[1] : off[1] + w].astype(np.float64)
    c = prob_crop.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        lf, lc = np.log(f) - np.log1p(-f), np.log(c) - np.log1p(-c)
    ok = np.isfinite(lf) & np.isfinite(lc)  # saturated outputs carry no logit
    diff = np.where(ok, np.abs(lf - lc), 0.0)
    yy = np.minimum(np.arange(h), np.arange(h)[::-1])[:, None]
    xx = np.minimum(np.arange(w), np.arange(w)[::-1])[None, :]
    dist = np.minimum(yy, xx)
    half = int(dist.max()) + 1
    worst = np.zeros(half)
    np.maximum.at(worst, dist.ravel(), diff.ravel())
    beyond = np.maximum.accumulate(worst[::-1])[::-1]  # worst difference at this distance or further
    ok_from = np.nonzero(beyond <= _MARGIN_TOLERANCE)[0]
    return int(ok_from[0]) if len(ok_from) else half


def _probe(args: Any) -> dict[str, Any]:
    from inspector.core.backends.onnxruntime_backend import make_session
    from inspector.core.contract import INPUT_NAME, OUTPUT_NAME

    sess = make_session(args.model)
    h, w = args.h, args.w
    rng = np.random.default_rng(_PROBE_SEED)
    # mid-gray texture in the model's input scale: outputs stay away from saturation
    gray = (0.5 + 0.25 * (rng.random((h, w), dtype=np.float32) - 0.5)) * np.float32(args.norm[0])
    x = ((gray / args.norm[0] - args.norm[1]) / args.norm[2]).astype(np.float32)[None, :, :, None]
    rss0 = _proc_status_bytes("VmRSS") or 0
    try:  # reset the high-water mark to now, so loading the model does not count
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
    except OSError:
        pass
    (full,) = sess.run([OUTPUT_NAME], {INPUT_NAME: x})
    peak = max(0, _peak_rss_bytes() - rss0)
    result: dict[str, Any] = {"peak_bytes": peak, "runtime": _onnxruntime_version()}
    if args.margin:
        m = args.multiple
        oy, ox = _floor_to(h // 4, m), _floor_to(w // 4, m)
        ch, cw = _floor_to(h // 2, m) or h // 2, _floor_to(w // 2, m) or w // 2
        crop = np.ascontiguousarray(x[:, oy : oy + ch, ox : ox + cw])
        (part,) = sess.run([OUTPUT_NAME], {INPUT_NAME: crop})
        result["margin_px"] = _receptive_margin(
            np.asarray(full)[0, :, :, 0], np.asarray(part)[0, :, :, 0], (oy, ox)
        )
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m inspector.core.tiling measure MODEL`` prints the model's footprint as JSON
    (``probe`` is the measuring child it starts)."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m inspector.core.tiling")
    sub = ap.add_subparsers(dest="cmd", required=True)
    pm = sub.add_parser("measure", help="measure (or read from the cache) a model's memory footprint")
    pm.add_argument("model", type=Path)
    pm.add_argument("--fresh", action="store_true", help="measure even when a cached figure exists")
    pp = sub.add_parser("probe", help="(internal) one measurement in this process")
    pp.add_argument("model")
    pp.add_argument("h", type=int)
    pp.add_argument("w", type=int)
    pp.add_argument("--norm", type=float, nargs=3, default=(255.0, 0.0, 1.0))
    pp.add_argument("--multiple", type=int, default=1)
    pp.add_argument("--margin", action="store_true")
    args = ap.parse_args(argv)
    if args.cmd == "probe":
        print(json.dumps(_probe(args)), flush=True)
        return 0
    from inspector.core.model_card import load_card

    card = load_card(args.model)
    fp = measure_footprint(args.model, card) if args.fresh else model_footprint(args.model, card)
    budget = memory_budget_bytes()
    print(json.dumps({**fp.to_json(), "budget_bytes": budget, "max_pixels": fp.max_pixels(budget)}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
