"""``python -m inspector.services.engine {build,check,bench}`` - JSON lines on stdout.

The GUI starts ``build`` as a child process (QProcess) and reads one JSON
object per line: ``{"event": "progress", ...}``, then ``{"event": "done", ...}``
or ``{"event": "error", "message": ..., "code": ..., "error_type": ...}``. Exit
codes: 0 ok, 1 the engine is not usable (``check``; ``bench`` when check_engine
refuses it), 2 usage, 3 TensorRT/GPU unavailable, 4 build/model error (any other
failure, a RuntimeError from the bindings included; ``bench``: any failure while
running), 5 parity failed (engine deleted), 130 cancelled. Every failure of
``build`` and ``bench`` ends with an error event, never with a bare traceback.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any

from inspector.core.backends.base import BackendUnavailable
from inspector.core.model_card import load_card
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


def _error_event(mode: str, exc: BaseException, code: str, **fields: Any) -> None:
    message = str(exc) or type(exc).__name__
    _emit(mode, "error", message=message, code=code, error_type=type(exc).__name__, **fields)


def cmd_build(args: argparse.Namespace) -> int:
    from inspector.core.backends.trt_engine_file import engine_path_for
    from inspector.services.engine.build import BuildCancelled, build_engine
    from inspector.services.engine.parity import ParityFailed

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
            parity_images=args.images,
            parity_source=args.images_source,
            parity_count=args.parity_count,
            skip_parity=args.skip_parity,
        )
    except (BuildCancelled, KeyboardInterrupt) as exc:
        _error_event(mode, exc, "cancelled")
        return EXIT_CANCELLED
    except BackendUnavailable as exc:
        _error_event(mode, exc, "unavailable")
        return EXIT_UNAVAILABLE
    except ParityFailed as exc:
        _error_event(mode, exc, "parity_failed", parity=exc.report.to_dict())
        return EXIT_PARITY
    except Exception as exc:
        # every other failure (parser, builder, a RuntimeError or TypeError from the bindings,
        # pycuda, a model or file error) is a build error, said with its event
        _error_event(mode, exc, "build_failed")
        return EXIT_BUILD
    parity = sc.parity
    message = (
        f"{engine} built, {sc.math}, verified against ONNX Runtime: {parity['reason']} on {parity['images']}"
        if parity
        else f"{engine} built, {sc.math}, parity check skipped: the station will not use it"
    )
    _emit(
        mode,
        "done",
        message=message,
        engine=str(engine),
        sidecar=json.loads(sc.model_dump_json()),
        parity=parity,
    )
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from inspector.core.backends.trt_engine_file import check_engine

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
    from inspector.core.backends.trt_engine_file import EngineProblem, check_engine
    from inspector.services.engine.bench import benchmark, format_table, onnxruntime_infer
    from inspector.services.engine.parity import parity_inputs

    try:
        card = load_card(args.onnx)
    except (OSError, ValueError) as exc:
        _error_event("json", exc, "build_failed")
        return EXIT_BUILD
    st = check_engine(args.onnx, args.precision)
    if not st.ok:  # the same refusal the station would make, with its reason
        unavailable = st.problem in (EngineProblem.NO_TENSORRT, EngineProblem.NO_GPU)
        _emit("json", "error", message=st.reason, code="unavailable" if unavailable else "not_usable")
        return EXIT_UNAVAILABLE if unavailable else EXIT_NOT_USABLE
    trt_backend = TensorRTBackend(precision=args.precision)
    rows = []
    try:
        trt_backend.load(args.onnx)
        h, w = trt_backend.input_size
        ort_label, ort_infer = onnxruntime_infer(args.onnx)
        for b in args.batches:
            x, _ = parity_inputs(card, (h, w), None, b)
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
    except BackendUnavailable as exc:
        _error_event("json", exc, "unavailable")
        return EXIT_UNAVAILABLE
    except KeyboardInterrupt as exc:
        _error_event("json", exc, "cancelled")
        return EXIT_CANCELLED
    except Exception as exc:  # the bindings, pycuda, ONNX Runtime: an error event, exit 4
        _error_event("json", exc, "bench_failed")
        return EXIT_BUILD
    finally:
        trt_backend.close()
    if args.format == "table":
        print(format_table(rows), flush=True)
    return EXIT_OK


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m inspector.services.engine", description=__doc__.split("\n")[0]
    )
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
    b.add_argument(
        "--images",
        type=Path,
        nargs="+",
        help="image files or folders for the parity check: real line images (default: synthetic textures)",
    )
    b.add_argument("--images-source", default="", help="what the images are, recorded in the sidecar")
    b.add_argument("--parity-count", type=int, default=16, help="at most this many parity images")
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
