"""``inspector selftest``: the golden-sample self-test, headless; and the gate ``inspect`` runs.

Exit codes: 0 passed · 2 failed, unverified (no golden samples in the card), or the model,
card, recipe or backend could not be loaded.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from inspector.cli import exitcodes

BLOCKED_BANNER = "SELF-TEST FAILED: the station will not pass parts; every part is logged as ERROR"


def add_parser(sub: Any, backend_type: Any = str) -> argparse.ArgumentParser:
    """The ``selftest`` subcommand (``sub``: the main parser's subparsers; ``backend_type``: the
    main parser's --backend validator, so a Triton server can be self-tested too)."""
    p: argparse.ArgumentParser = sub.add_parser(
        "selftest", help="run the model's golden-sample self-test (exit 0 passed, 2 failed/unverified)"
    )
    p.add_argument("--model", type=Path, help="ONNX model (default: the shipped demo model)")
    p.add_argument("--recipe", type=Path, help="recipe JSON (default: resources/recipes/default.json)")
    p.add_argument("--backend", default="auto", type=backend_type,
                   metavar="auto|onnxruntime|openvino|tensorrt|triton:URL")
    p.add_argument("--threads", type=int, help="CPU inference threads (default: all cores)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("-v", "--verbose", action="store_true", help="log more detail to stderr")
    return p


def _fail(message: str) -> int:
    print(f"inspector: error: {message}", file=sys.stderr)
    return exitcodes.USAGE


def run_selftest_cmd(args: argparse.Namespace) -> int:
    from inspector.core.backends.base import BackendUnavailable, ModelLoadError
    from inspector.core.backends.select import select_backend
    from inspector.core.model_card import load_card, verify_card
    from inspector.core.paths import default_model, default_recipe_path
    from inspector.core.pipeline import Pipeline
    from inspector.core.recipe import load_recipe
    from inspector.core.selftest import run_selftest

    model_path: Path = args.model or default_model()
    try:
        recipe = load_recipe(args.recipe or default_recipe_path())
        card = verify_card(load_card(model_path), model_path)
    except (OSError, ValueError) as exc:
        return _fail(str(exc))
    try:
        backend = select_backend(args.backend, model_path, threads=args.threads)
    except (BackendUnavailable, ModelLoadError) as exc:
        return _fail(str(exc))
    try:
        report = run_selftest(Pipeline(backend, card, recipe))
    except ValueError as exc:  # e.g. a card the pipeline refuses (channels)
        return _fail(str(exc))
    finally:
        backend.close()
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print("\n".join(report.lines()))
    return exitcodes.OK if report.passed else exitcodes.USAGE


def selftest_gate(pipeline: Any, *, allow_unverified: bool = False, verbose: bool = False) -> Any:
    """Run the self-test on ``pipeline`` before a run; on failure set ``pipeline.blocked`` (every
    part then becomes a logged ERROR saying why) and say so on stderr. Returns the report."""
    from inspector.core.selftest import run_selftest

    report = run_selftest(pipeline, allow_unverified=allow_unverified)
    if not report.passed:
        pipeline.blocked = report.reason
        print(f"inspector: {BLOCKED_BANNER}", file=sys.stderr)
        for line in report.lines():
            print(f"  {line}", file=sys.stderr)
        if report.unverified and not report.failed:
            print(
                "  add golden samples to the model card (scripts/make_golden.py), or pass "
                "--allow-unverified to inspect with an unverified model",
                file=sys.stderr,
            )
    elif report.unverified:
        print(
            f"inspector: warning: model {report.model_name!r} is UNVERIFIED (no golden samples in the "
            "model card); inspecting anyway because of --allow-unverified",
            file=sys.stderr,
        )
    elif verbose:
        print("\n".join(report.lines()), file=sys.stderr)
    return report
