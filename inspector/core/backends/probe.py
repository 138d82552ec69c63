"""Which CPU runtime runs this model faster on this machine: ONNX Runtime or OpenVINO.

``auto`` on a machine without a usable TensorRT engine calls :func:`choose_cpu_backend`. The
first start with a model probes: both runtimes run the model's golden images (the card's size;
a synthetic image when the card has none), their outputs are compared (:func:`compare_outputs`),
then each is timed a few times, interleaved. The choice is cached per (model sha256, CPU model,
runtime versions, threads) in a small JSON file, so later starts take no time; anything else
(another model, CPU, library version or thread count) probes again.

Fail safe: ONNX Runtime is the reference and always the fallback. OpenVINO is chosen only when it
loads, runs, matches ONNX Runtime on every probe image and is clearly faster; a missing
OpenVINO, a load or run failure or a mismatch keeps ONNX Runtime with a notice saying why. The
station's golden-sample self-test then runs on whichever backend was chosen.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from inspector.core.backends.base import Backend, BackendUnavailable

log = logging.getLogger(__name__)

CACHE_FILE = "backend_probe.json"
CACHE_SCHEMA = 1
CACHE_ENTRIES_KEPT = 32
PROBE_RUNS = 5  # timed runs per runtime, interleaved, after the parity runs (warm-up)
# OpenVINO must be at least this much faster: a smaller gain is within the probe's noise, and
# ONNX Runtime, the reference runtime, wins ties.
MIN_GAIN = 0.05
PROBE_IMAGES = 4
# Parity. FP32 model: both runtimes compute the same float graph, measured max |diff| ~5e-7 on the
# DAGM U-Net; 1e-3 is far above rounding and far below anything that moves a verdict (a pixel can
# flip only within 1e-3 of the threshold).
FP32_MAX_ABS = 1e-3
# INT8 (QDQ) model: the runtimes requantise differently, so single pixels on defect edges differ
# by several 8-bit steps (measured max 0.62, mean <= 2e-3, mask Dice 0.96-0.985 on the DAGM
# U-Net). What a verdict sees is the thresholded mask: it must overlap (Dice >= 0.9, counting
# agreement only when both masks hold at least SMALL_MASK_PX pixels), and the map must not be
# shifted as a whole (mean |diff| <= 0.01).
INT8_MIN_DICE = 0.9
INT8_MAX_MEAN_ABS = 0.01
SMALL_MASK_PX = 20  # fewer defect pixels than the default recipe's min_area_px: no region either way


@dataclass(frozen=True)
class Parity:
    passed: bool
    detail: str
    max_abs: float = 0.0
    mean_abs: float = 0.0
    dice: float = 1.0


def compare_outputs(ref: np.ndarray, out: np.ndarray, threshold: float, quantized: bool) -> Parity:
    """Is ``out`` (OpenVINO) the same map as ``ref`` (ONNX Runtime) for the verdict's purposes?"""
    if ref.shape != out.shape:
        return Parity(False, f"output shape {out.shape} differs from ONNX Runtime's {ref.shape}")
    if not np.all(np.isfinite(out)):
        return Parity(False, "output has non-finite values")
    diff = np.abs(ref.astype(np.float64) - out.astype(np.float64))
    max_abs, mean_abs = float(diff.max()), float(diff.mean())
    a, b = ref >= threshold, out >= threshold
    na, nb = int(a.sum()), int(b.sum())
    if na < SMALL_MASK_PX and nb < SMALL_MASK_PX:
        dice = 1.0
    else:
        dice = 2.0 * int(np.logical_and(a, b).sum()) / (na + nb)
    text = f"max |diff| {max_abs:.3g}, mean |diff| {mean_abs:.3g}, mask Dice {dice:.3f}"
    if quantized:
        ok = dice >= INT8_MIN_DICE and mean_abs <= INT8_MAX_MEAN_ABS
        limits = f"INT8 limits: Dice >= {INT8_MIN_DICE}, mean |diff| <= {INT8_MAX_MEAN_ABS}"
    else:
        ok = max_abs <= FP32_MAX_ABS
        limits = f"FP32 limit: max |diff| <= {FP32_MAX_ABS}"
    return Parity(ok, f"{text} ({limits})", max_abs, mean_abs, dice)


# ------------------------------------------------------------------ identity of a probe
def cpu_name() -> str:
    """The CPU model name (``/proc/cpuinfo``), else what the platform says."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


@dataclass(frozen=True)
class ProbeKey:
    model_sha256: str
    cpu: str
    versions: tuple[tuple[str, str], ...]  # (("onnxruntime", "1.32.0"), ("openvino", "2026.4.1"))
    threads: int

    def text(self) -> str:
        return json.dumps([self.model_sha256, self.cpu, list(map(list, self.versions)), self.threads])


@dataclass
class ProbeResult:
    choice: str  # "onnxruntime" | "openvino"
    reason: str
    seconds: dict[str, float] = field(default_factory=dict)  # median seconds per run, per runtime
    parity: str = ""
    probed_at: str = ""
    parity_failed: bool = False  # OpenVINO's output did not match ONNX Runtime's

    def notice(self, cached: bool = False) -> str:
        when = f" (probe of {self.probed_at}, cached)" if cached else ""
        if self.choice == "openvino":
            return f"OpenVINO chosen{when}: {self.reason}"
        if self.parity_failed:
            return f"OpenVINO not used{when}: {self.reason}"
        return f"ONNX Runtime chosen{when}: {self.reason}"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProbeResult:
        return cls(
            choice=str(data["choice"]),
            reason=str(data.get("reason", "")),
            seconds={str(k): float(v) for k, v in dict(data.get("seconds", {})).items()},
            parity=str(data.get("parity", "")),
            probed_at=str(data.get("probed_at", "")),
            parity_failed=bool(data.get("parity_failed", False)),
        )


class ProbeCache:
    """Probe results in one small JSON file; an unreadable file counts as empty (probe again)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("backend probe cache %s unreadable (%s): probing again", self.path, exc)
            return {}
        if not isinstance(data, dict) or data.get("schema") != CACHE_SCHEMA:
            return {}
        entries = data.get("entries")
        return entries if isinstance(entries, dict) else {}

    def get(self, key: ProbeKey) -> ProbeResult | None:
        entry = self._read().get(key.text())
        if not isinstance(entry, dict):
            return None
        try:
            result = ProbeResult.from_json(entry)
        except (KeyError, TypeError, ValueError):
            return None
        return result if result.choice in ("onnxruntime", "openvino") else None

    def put(self, key: ProbeKey, result: ProbeResult) -> None:
        entries = self._read()
        entries.pop(key.text(), None)
        entries[key.text()] = asdict(result)
        while len(entries) > CACHE_ENTRIES_KEPT:  # oldest first (insertion order)
            entries.pop(next(iter(entries)))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(
                json.dumps({"schema": CACHE_SCHEMA, "entries": entries}, indent=1), encoding="utf-8"
            )
            os.replace(tmp, self.path)
        except OSError as exc:  # a read-only data dir: probe again next time, nothing worse
            log.warning("backend probe not cached in %s: %s", self.path, exc)


def default_cache_path() -> Path:
    from inspector.core.paths import user_data_dir

    return user_data_dir() / CACHE_FILE


# ------------------------------------------------------------------ the probe
Timer = Callable[[Backend, np.ndarray], float]


def time_once(backend: Backend, batch: np.ndarray) -> float:
    """Seconds of one ``backend.infer(batch)``."""
    t0 = time.perf_counter()
    backend.infer(batch)
    return time.perf_counter() - t0


def probe_inputs(model_path: Path, limit: int = PROBE_IMAGES) -> tuple[list[np.ndarray], float]:
    """Model inputs [1, H, W, 1] to compare on, and the card's threshold: the golden images (real
    parts, with defects) prepared as the station prepares them, then a synthetic image of the
    card's input size, last: the one the runtimes are timed on (golden images may be smaller)."""
    from inspector.core.image_io import read_image
    from inspector.core.model_card import card_path_for, load_card
    from inspector.core.preprocess import prepare
    from inspector.core.selftest import probe_images

    card = load_card(model_path)
    base = card_path_for(model_path).parent
    tensors: list[np.ndarray] = []
    for g in sorted(card.golden, key=lambda g: g.expected != "NG")[:limit]:  # defects first
        try:
            tensors.append(prepare(read_image(base / g.image)[0], card)[0][None])
        except (OSError, ValueError) as exc:  # the self-test reports it; the probe goes without
            log.info("probe: golden image %s not used: %s", g.image, exc)
    _, noise = probe_images(card.input_height, card.input_width)[1]
    tensors.append(prepare(noise, card)[0][None])
    return tensors, float(card.threshold)


def probe(
    ort_backend: Backend,
    ov_backend: Backend,
    inputs: Sequence[np.ndarray],
    threshold: float,
    quantized: bool,
    *,
    runs: int = PROBE_RUNS,
    timer: Timer | None = None,
) -> ProbeResult:
    """Compare on every input, then time both (interleaved) on the last. Exceptions of OpenVINO
    propagate (the caller falls back); ONNX Runtime's are the model's problem and propagate too."""
    from datetime import UTC, datetime

    timer = timer or time_once
    now = datetime.now(UTC).isoformat(timespec="seconds")
    worst: Parity | None = None
    for x in inputs:
        parity = compare_outputs(ort_backend.infer(x), ov_backend.infer(x), threshold, quantized)
        if not parity.passed:
            reason = f"OpenVINO output differs from ONNX Runtime's on a probe image: {parity.detail}"
            return ProbeResult("onnxruntime", reason, parity=parity.detail, probed_at=now, parity_failed=True)
        # the detail kept is that of the input closest to the limit that applies
        if worst is None or (parity.dice < worst.dice if quantized else parity.max_abs > worst.max_abs):
            worst = parity
    x = inputs[-1]
    samples: dict[str, list[float]] = {"onnxruntime": [], "openvino": []}
    for _ in range(max(1, runs)):
        samples["onnxruntime"].append(timer(ort_backend, x))
        samples["openvino"].append(timer(ov_backend, x))
    secs = {k: statistics.median(v) for k, v in samples.items()}
    ort_s, ov_s = secs["onnxruntime"], secs["openvino"]
    speed = f"{ort_s * 1e3:.1f} ms ONNX Runtime, {ov_s * 1e3:.1f} ms OpenVINO per image"
    detail = worst.detail if worst else ""
    if ov_s < ort_s * (1.0 - MIN_GAIN):
        reason = f"OpenVINO {ort_s / ov_s:.2f}x faster than ONNX Runtime here ({speed})"
        return ProbeResult("openvino", reason, secs, detail, now)
    reason = f"ONNX Runtime as fast or faster here ({speed})"
    return ProbeResult("onnxruntime", reason, secs, detail, now)


def openvino_accuracy_refusal(card: Any, quantized: bool) -> str | None:
    """Why OpenVINO must not run this model, from what its card says, or None.

    Parity on a few probe images cannot show a loss of accuracy over a whole data set, and a
    quantised model is read by each runtime its own way (OpenVINO rounds INT8 differently from
    ONNX Runtime). So a quantised model runs on OpenVINO only when its card records a held-out
    evaluation under OpenVINO that met the accuracy target (``compared.int8_openvino.vs_teacher
    .meets_target``, written by ``inspector-train compress``); a missed or missing evaluation keeps
    ONNX Runtime. An FP32 model needs no such record (parity 1e-3 on the probe images)."""
    if not quantized:
        return None
    extra = dict(getattr(card, "model_extra", None) or {})
    entry = (extra.get("compared") or {}).get("int8_openvino")
    if not isinstance(entry, dict):
        return "this quantised model's card has no held-out evaluation under OpenVINO"
    verdict = (entry.get("vs_teacher") or {}).get("meets_target")
    if verdict is True:
        return None
    dice = (entry.get("vs_teacher") or {}).get("minus_teacher", {}).get("dice_defective")
    loss = f" (Dice on defective images {dice:+.3f} vs its teacher)" if isinstance(dice, int | float) else ""
    return f"under OpenVINO this quantised model missed its accuracy target on held-out images{loss}"


def choose_cpu_backend(
    ort_backend: Backend,
    model_path: Path,
    *,
    threads: int,
    cache_path: Path | None = None,
    make_openvino: Callable[[], Backend] | None = None,
    timer: Timer | None = None,
    runs: int = PROBE_RUNS,
) -> tuple[Backend, str]:
    """The faster of ``ort_backend`` (loaded) and OpenVINO for ``model_path``, and a notice saying
    which and why. Never raises for an OpenVINO problem: ONNX Runtime is kept, with the reason."""
    from inspector.core.backends.openvino_backend import OpenVINOBackend, import_openvino
    from inspector.core.model_card import load_card, sha256_file

    try:
        ov_version = str(getattr(import_openvino(), "__version__", "?")).split("-")[0]
    except BackendUnavailable as exc:
        return ort_backend, f"OpenVINO not used: {exc}"
    import onnxruntime

    model_path = Path(model_path)
    key = ProbeKey(
        sha256_file(model_path),
        cpu_name(),
        (("onnxruntime", onnxruntime.__version__), ("openvino", ov_version)),
        threads,
    )
    cache = ProbeCache(cache_path or default_cache_path())
    cached = cache.get(key)
    if cached is not None and cached.choice == "onnxruntime":
        return ort_backend, cached.notice(cached=True)

    def new_openvino() -> Backend:
        if make_openvino is not None:
            return make_openvino()
        card = load_card(model_path)
        return OpenVINOBackend(threads=threads, warm_size=(card.input_height, card.input_width))

    ov_backend: Backend | None = None
    try:
        ov_backend = new_openvino()
        ov_backend.load(model_path)
        quantized_model = bool(getattr(ov_backend, "quantized", False))
        refusal = openvino_accuracy_refusal(load_card(model_path), quantized_model)
        if refusal is not None:
            ov_backend.close()
            log.info("OpenVINO not used for %s: %s", model_path.name, refusal)
            return ort_backend, f"OpenVINO not used: {refusal}"
        if cached is not None:  # chosen before for this model, CPU and versions: no probe
            return ov_backend, cached.notice(cached=True)
        inputs, threshold = probe_inputs(model_path)
        quantized = bool(getattr(ov_backend, "quantized", False))
        result = probe(ort_backend, ov_backend, inputs, threshold, quantized, runs=runs, timer=timer)
    except Exception as exc:  # missing, broken, or crashing OpenVINO: never the station's problem
        if ov_backend is not None:
            ov_backend.close()
        log.warning("OpenVINO not used for %s: %s", model_path.name, exc, exc_info=True)
        return ort_backend, f"OpenVINO not used: {exc}"
    cache.put(key, result)
    log.info("backend probe for %s: %s", model_path.name, result.reason)
    if result.choice == "openvino":
        return ov_backend, result.notice()
    ov_backend.close()
    return ort_backend, result.notice()
