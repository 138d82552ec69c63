"""``python -m inspector.core.engine {build,check,bench}`` - JSON lines on stdout.

The GUI starts ``build`` as a child process (QProcess) and reads one JSON
object per line: ``{"event": "progress", ...}``, then ``{"event": "done", ...}``
or ``{"event": "error", "message": ...}``. Exit codes: 0 ok, 1 check says
"not usable", 2 usage, 3 TensorRT/GPU unavailable, 4 build/model error,
5 parity failed (engine deleted), 130 cancelled.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any

import numpy as np

from inspector.core.backends.base import BackendUnavailable, ModelLoadError
from inspector.core.model_card import ModelCard, load_card
from inspector.core.progress import SimpleState

EXIT_OK, EXIT_NOT_USABLE, EXIT_UNAVAILABLE, EXIT_BUILD, EXIT_PARITY, EXIT_CANCELLED = 0, 1, 3, 4, 5, 130


def _emit(mode: str, event: str, **fields: Any) -> None:
    if mode == "json":
        print(json.dumps({"event": event, **fields}, default=str), flush=True)
    else:
        detail = fields.get("message") or ", ".join(f"{k}={v}" for k, v in fields.items())
        print(f"[{event}] {detail}", flush=True)


class _PrintState(SimpleState):
    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    def progress(self, done: int, total: int | None, message: str = "") -> None:
        super().progress(done, total, message)
        _emit(self.mode, "progress", done=done, total=total, message=message)


def _parity_images(args: argparse.Namespace, card: ModelCard, h: int, w: int) -> np.ndarray:
    if args.images:
        from inspector.core.image_io import is_image_path, read_image
        from inspector.core.preprocess import prepare

        paths = sorted(p for p in Path(args.images).iterdir() if is_image_path(p))[: args.parity_count]
        if not paths:
            raise ValueError(f"no images in {args.images}")
        views = [read_image(p)[0] for p in paths]
        if card.resize == "pad":  # parity compares card-size inputs: one tile's worth of each image
            views = [v[: card.input_height, : card.input_width] for v in views]
        return np.stack([prepare(v, card)[0] for v in views]).astype(np.float32)
    from inspector.core.engine.parity import synthetic_images

    x = synthetic_images(args.parity_count, h, w) * 255.0  # gray levels, then the card's normalisation
    n = card.normalisation
    return ((x / n.scale - n.mean) / n.std).astype(np.float32)


def _verify(args: argparse.Namespace, engine: Path, card: ModelCard, h: int, w: int) -> dict[str, Any]:
    from inspector.core.backends.tensorrt_backend import TensorRTBackend
    from inspector.core.engine.parity import parity_check, record_parity

    backend = TensorRTBackend(precision=args.precision, engine_path=engine)
    backend.load(args.onnx)
    try:
        report = parity_check(args.onnx, backend, _parity_images(args, card, h, w), threshold=card.threshold)
    finally:
        backend.close()
    record_parity(engine, report)
    return report.to_dict()


def cmd_build(args: argparse.Namespace) -> int:
    from inspector.core.engine.build import BuildCancelled, EngineBuildError, build_engine
    from inspector.core.engine.fp16 import Fp16ConversionUnavailable
    from inspector.core.engine.sidecar import engine_path_for

    mode = args.progress
    state = _PrintState(mode)
    # SIGTERM from the GUI's cancel: stop at the next step boundary
    signal.signal(signal.SIGTERM, lambda *_: state.cancel())
    engine = Path(args.out) if args.out else engine_path_for(args.onnx, args.precision)
    try:
        card = load_card(args.onnx)
        sc = build_engine(
            args.onnx,
            engine,
            args.precision,
            args.max_batch,
            args.opt_batch,
            args.workspace_mb,
            args.timing_cache,
            state,
            card,
        )
        parity = None
        if not args.skip_parity:
            _emit(mode, "progress", done=6, total=6, message="parity check against ONNX Runtime")
            parity = _verify(args, engine, card, sc.input_height, sc.input_width)
    except BuildCancelled as exc:
        _emit(mode, "error", message=str(exc), code="cancelled")
        return EXIT_CANCELLED
    except BackendUnavailable as exc:
        _emit(mode, "error", message=str(exc), code="unavailable")
        return EXIT_UNAVAILABLE
    except (EngineBuildError, ModelLoadError, Fp16ConversionUnavailable, OSError, ValueError) as exc:
        _emit(mode, "error", message=str(exc), code="build_failed")
        return EXIT_BUILD
    if parity is not None and not parity["passed"]:
        _emit(
            mode,
            "error",
            message=f"parity check failed, engine deleted: {parity['reason']}",
            code="parity_failed",
            parity=parity,
        )
        return EXIT_PARITY
    _emit(mode, "done", engine=str(engine), sidecar=json.loads(sc.model_dump_json()), parity=parity)
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from inspector.core.engine.sidecar import check_engine

    st = check_engine(args.onnx, args.precision, Path(args.out) if args.out else None)
    print(
        json.dumps(
            {"ok": st.ok, "problem": str(st.problem), "reason": st.reason, "engine": str(st.engine_path)}
        ),
        flush=True,
    )
    return EXIT_OK if st.ok else EXIT_NOT_USABLE


def cmd_bench(args: argparse.Namespace) -> int:
    from inspector.core.backends.tensorrt_backend import TensorRTBackend
    from inspector.core.engine.bench import benchmark, format_table, onnxruntime_infer

    card = load_card(args.onnx)
    trt_backend = TensorRTBackend(precision=args.precision)
    try:
        trt_backend.load(args.onnx)
    except BackendUnavailable as exc:
        _emit("json", "error", message=str(exc), code="unavailable")
        return EXIT_UNAVAILABLE
    h, w = trt_backend.input_size
    ort_label, ort_infer = onnxruntime_infer(args.onnx)
    rows = []
    try:
        for b in args.batches:
            x = _parity_images(argparse.Namespace(images=None, parity_count=b), card, h, w)
            t = benchmark(trt_backend.info().display, trt_backend.infer, x, args.iterations)
            # ONNX Runtime on CPU is far slower: fewer iterations keep the run short
            o = benchmark(ort_label, ort_infer, x, max(5, args.iterations // 5))
            row = {
                "batch": b,
                "tensorrt": t.to_dict(),
                "onnxruntime": o.to_dict(),
                "speedup": round(t.images_per_s / o.images_per_s, 2),
            }
            rows.append(row)
            if args.format == "json":
                _emit("json", "bench", **row)
    finally:
        trt_backend.close()
    if args.format == "table":
        print(format_table(rows), flush=True)
    return EXIT_OK


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m inspector.core.engine", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build a TensorRT engine (+ sidecar) from an ONNX model")
    c = sub.add_parser("check", help="can the engine for this ONNX run here?")
    r = sub.add_parser("bench", help="TensorRT vs ONNX Runtime throughput")
    for sp in (b, c, r):
        sp.add_argument("--onnx", type=Path, required=True)
        sp.add_argument("--precision", choices=["fp16", "fp32"], default="fp16")
    for sp in (b, c):
        sp.add_argument("--out", type=Path, help="engine path (default: <model>.<precision>.engine)")
    b.add_argument("--max-batch", type=int, default=8)
    b.add_argument("--opt-batch", type=int, default=1)
    b.add_argument("--workspace-mb", type=int, default=2048)
    b.add_argument("--timing-cache", type=Path, help="read/update this timing cache file (faster rebuilds)")
    b.add_argument("--skip-parity", action="store_true", help="do not compare against ONNX Runtime")
    b.add_argument("--images", type=Path, help="folder of images for the parity check (default: synthetic)")
    b.add_argument("--parity-count", type=int, default=16)
    b.add_argument("--progress", choices=["json", "text"], default="text")
    r.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    r.add_argument("--iterations", type=int, default=50)
    r.add_argument("--format", choices=["json", "table"], default="json")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return {"build": cmd_build, "check": cmd_check, "bench": cmd_bench}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
