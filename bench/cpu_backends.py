"""ONNX Runtime against OpenVINO on this CPU: FP32 and INT8 (QDQ) models, batches, threads, streams.

    python bench/cpu_backends.py --work /tmp/cpu-backends [--small runs/.../model.onnx] [--rounds 5]

Models: the shipped FP32 U-Net (``--teacher``), a small FP32 U-Net (``--small``; default: an
untrained 8-filter net of the same depth built with trainer.model, which needs TensorFlow: speed
does not depend on the weights) and an INT8 QDQ twin of each, made here with
the trainer's quantiser (trainer.quantize: U8 activations, S8 per-channel weights) after its
Concat-split rewrite (trainer.onnx_split: each decoder Conv over Concat(up, skip) becomes the sum
of two Convs, so the skip is not quantised under the up-path's scale). The INT8 models here are
quick ones, for speed only: their accuracy is trainer compress's job.

Every configuration of one model is loaded once, then timed in interleaved rounds (each round
times each configuration once), so a machine that gets busier during the run slows all of them
alike; the table prints the median images/s over the rounds and the ratio to the baseline, the
station's default: the FP32 model under ONNX Runtime, batch 1, all cores, spinning off.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inspector.core.backends.base import Backend
from inspector.core.backends.onnxruntime_backend import OnnxRuntimeBackend, default_threads
from inspector.core.contract import INPUT_NAME, OUTPUT_NAME
from inspector.core.paths import shipped_model


# ------------------------------------------------------------------ models
def quantize_int8(fp32: Path, dst: Path, calib: list[np.ndarray]) -> Path:
    """Static QDQ INT8 (U8 activations, S8 per-channel weights, trainer.quantize) after the
    Concat-split rewrite (trainer.onnx_split)."""
    import onnx
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from trainer.onnx_split import split_concat_convs
    from trainer.quantize import QuantSettings, quantize

    split = dst.with_name(dst.stem + ".split.onnx")
    pre = dst.with_name(dst.stem + ".pre.onnx")
    onnx.save(split_concat_convs(onnx.load(str(fp32)))[0], str(split))
    quant_pre_process(str(split), str(pre), skip_symbolic_shape=True)
    cache = dst.with_suffix(".calib.json")
    cache.unlink(missing_ok=True)  # calibrated on these images, not a previous run's
    return quantize(pre, dst, calib, cache, QuantSettings())


def untrained_unet(dst: Path, base_filters: int = 8, depth: int = 5) -> Path:
    import keras

    from trainer.export import to_onnx
    from trainer.model import build_unet

    keras.utils.set_random_seed(0)
    import onnx

    onnx.save(to_onnx(build_unet(base_filters, depth, False)), str(dst))
    return dst


def bench_images(n: int, size: tuple[int, int]) -> list[np.ndarray]:
    """Normalised [H, W, 1] tensors: DAGM images under $DATASETS, else the shipped golden images."""
    import os

    import cv2

    from inspector.core.image_io import IMAGE_EXTENSIONS, read_image

    folders = []
    if os.environ.get("DATASETS"):
        folders.append(Path(os.environ["DATASETS"]) / "dagm2007-class1" / "Class1" / "Train")
    folders.append(shipped_model("dagm-class1").parent / "golden")
    for folder in folders:
        files = (
            sorted(p for p in folder.glob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
            if folder.is_dir()
            else []
        )
        if files:
            break
    out = []
    for i in range(n):
        if files:
            img = read_image(files[i % len(files)])[0].astype(np.float32)
            if img.ndim == 3:
                img = img.mean(axis=2)
            if img.shape != size:  # the golden images are smaller than the DAGM ones
                img = cv2.resize(img, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
        else:
            img = np.random.default_rng(i).integers(0, 256, size).astype(np.float32)
        out.append((img / 255.0)[..., None].astype(np.float32))
    return out


# ------------------------------------------------------------------ timing
@dataclass
class Config:
    label: str
    make: Callable[[], Backend]
    batch: int
    path: Path | None = None  # None: the model being measured
    backend: Backend | None = None
    rates: list[float] = field(default_factory=list)


def ort(threads: int, spin: bool) -> Callable[[], Backend]:
    return lambda: OnnxRuntimeBackend(threads=threads, spin=spin)


def ov(
    threads: int, streams: int = 1, pinning: bool = False, size: tuple[int, int] = (512, 512)
) -> Callable[[], Backend]:
    def make() -> Backend:
        from inspector.core.backends.openvino_backend import OpenVINOBackend

        return OpenVINOBackend(threads=threads, streams=streams, pinning=pinning, warm_size=size)

    return make


def ov_dynamic(threads: int) -> Callable[[], Backend]:
    """OpenVINO with the model compiled once with fully dynamic N, H, W (what the backend avoids)."""

    def make() -> Backend:
        from inspector.core.backends.openvino_backend import OpenVINOBackend

        class Dynamic(OpenVINOBackend):
            def infer(self, batch: np.ndarray) -> np.ndarray:
                if self._dyn is None:
                    self._dyn = self._core.compile_model(self._model, "CPU", self._config(1))
                    self._req = self._dyn.create_infer_request()
                self._req.infer({INPUT_NAME: np.ascontiguousarray(batch, dtype=np.float32)})
                return np.array(self._req.get_tensor(OUTPUT_NAME).data)

        be = Dynamic(threads=threads)
        be._dyn = None  # type: ignore[attr-defined]
        return be

    return make


def time_config(cfg: Config, tensors: list[np.ndarray], n_images: int) -> float:
    """images/s over ``n_images`` images in batches of ``cfg.batch``."""
    assert cfg.backend is not None
    calls = max(1, n_images // cfg.batch)
    batches = [
        np.stack([tensors[(k * cfg.batch + j) % len(tensors)] for j in range(cfg.batch)])
        for k in range(calls)
    ]
    t0 = time.perf_counter()
    for b in batches:
        cfg.backend.infer(b)
    return calls * cfg.batch / (time.perf_counter() - t0)


def run_model(
    name: str, path: Path, configs: list[Config], tensors: list[np.ndarray], rounds: int, n_images: int
) -> None:
    for cfg in configs:
        cfg.backend = cfg.make()
        cfg.backend.load(cfg.path or path)
        time_config(cfg, tensors, cfg.batch * 2)  # warm-up: first runs allocate
    for r in range(rounds):
        for cfg in configs:
            cfg.rates.append(time_config(cfg, tensors, n_images))
        print(f"  {name}: round {r + 1}/{rounds} done", file=sys.stderr, flush=True)
    for cfg in configs:
        cfg.backend.close()  # type: ignore[union-attr]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--teacher", type=Path, default=shipped_model("dagm-class1"), help="FP32 seed model")
    ap.add_argument("--small", type=Path, help="small FP32 model (default: untrained 8-filter U-Net)")
    ap.add_argument("--work", type=Path, required=True, help="folder for the generated models")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--images", type=int, default=4, help="images per configuration per round (>= 1 call)")
    ap.add_argument("--calib", type=int, default=16, help="calibration images for the quick INT8 models")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument(
        "--only",
        action="append",
        choices=["teacher FP32", "small FP32", "teacher INT8", "small INT8"],
        help="measure only this model (repeatable)",
    )
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    size = (args.size, args.size)
    tensors = bench_images(16, size)
    threads = default_threads()

    small = args.small or args.work / "unet8_untrained.onnx"
    if not small.is_file():
        print(f"building an untrained 8-filter U-Net -> {small}", file=sys.stderr)
        untrained_unet(small)
    models: dict[str, Path] = {"teacher FP32": args.teacher, "small FP32": small}
    for label, src in (("teacher INT8", args.teacher), ("small INT8", small)):
        dst = args.work / f"{src.stem}_{label.split()[0]}_int8.onnx"
        if not dst.is_file():
            print(f"quantising {src} -> {dst}", file=sys.stderr)
            quantize_int8(src, dst, bench_images(args.calib, size))
        models[label] = dst

    half = max(1, threads // 2)
    configs = [
        (f"ORT {threads}t spin off", ort(threads, False), (1, 2, 4)),
        (f"ORT {threads}t spin on", ort(threads, True), (1,)),
        (f"ORT {half}t spin off", ort(half, False), (1,)),
        (f"OV {threads}t 1 stream (LATENCY)", ov(threads, 1, size=size), (1, 2, 4)),
        (f"OV {threads}t 2 streams (THROUGHPUT)", ov(threads, 2, size=size), (1, 2, 4)),
        (f"OV {threads}t 1 stream, dynamic shapes", ov_dynamic(threads), (1,)),
        (f"OV {threads}t 1 stream, pinned", ov(threads, 1, pinning=True, size=size), (1,)),
        (f"OV {half}t 1 stream", ov(half, 1, size=size), (1,)),
    ]
    results: dict[str, list[Config]] = {}
    for name, path in models.items():
        if args.only and name not in args.only:
            continue
        # the baseline runs in every model's rounds, so each ratio is measured side by side
        cs = [Config("baseline", ort(threads, False), 1, path=args.teacher)]
        cs += [Config(label, make, b) for label, make, batches in configs for b in batches]
        run_model(name, path, cs, tensors, args.rounds, args.images)
        results[name] = cs

    print(
        f"\n{args.size}x{args.size}, {args.rounds} interleaved rounds per model, about {args.images} images "
        f"per configuration per round. Ratio: the median over rounds of (images/s / the baseline's images/s "
        f"in the same round); baseline, timed in every model's rounds: teacher FP32, ORT {threads} "
        f"threads, bs1, spin off (the station's default before OpenVINO).\n"
    )
    print("| model | runtime | batch | images/s (median) | min-max | vs baseline (median of rounds) |")
    print("|---|---|---|---|---|---|")
    for name, cs in results.items():
        base = cs[0].rates
        for c in cs[1:]:
            ratio = statistics.median(r / b for r, b in zip(c.rates, base, strict=True))
            print(
                f"| {name} | {c.label} | {c.batch} | {statistics.median(c.rates):.2f} | "
                f"{min(c.rates):.2f}-{max(c.rates):.2f} | {ratio:.2f}x |"
            )
        print(
            f"| {name} | (baseline in these rounds) | 1 | {statistics.median(base):.2f} | "
            f"{min(base):.2f}-{max(base):.2f} | 1.00x |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
