"""``inspector``: no arguments opens the station GUI; subcommands run headless."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from inspector.cli import exitcodes
from inspector.cli.export_triton_cmd import add_parser as export_triton_parser
from inspector.cli.product_cmd import add_parser as product_parser
from inspector.cli.report_cmd import add_parser as report_parser
from inspector.cli.selftest_cmd import add_parser as selftest_parser
from inspector.cli.setpin_cmd import add_parser as set_pin_parser
from inspector.cli.user_cmd import add_parser as user_parser
from inspector.lineio.cli import add_line_arguments

KIOSK_HELP = ("start full screen on the line view for this product (name or id) and run it; leaving "
              "takes a QA login (docs/gui.md)")
LANG_HELP = ("language of the station window: en | de | system (default: $INSPECTOR_LANG, else "
             "File ▸ Settings)")
STATION_FILTER_HELP = "only this station's inspections (default: every station logging into the database)"


def _add_common(
    p: argparse.ArgumentParser,
    station_help: str = "station name recorded on every row (default: host name)",
) -> None:
    p.add_argument("--db", metavar="URL", help="SQLAlchemy URL (default: SQLite in the user data dir)")
    p.add_argument("--station", default=None, help=station_help)
    p.add_argument("-v", "--verbose", action="store_true", help="log more detail to stderr")


def _count(text: str) -> int:
    """A non-negative integer argument (argparse turns the ValueError into exit code 2)."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def _backend(text: str) -> str:
    """auto | onnxruntime | openvino | tensorrt | triton:http://HOST:PORT/MODEL (argparse says what
    is wrong)."""
    if text in ("auto", "onnxruntime", "openvino", "tensorrt"):
        return text
    from inspector.core.backends.triton_backend import is_triton_spec, parse_triton_spec

    if not is_triton_spec(text):
        raise argparse.ArgumentTypeError(
            f"invalid choice: {text!r} (choose from auto, onnxruntime, openvino, tensorrt, "
            "triton:http://HOST:PORT/MODEL)"
        )
    try:
        parse_triton_spec(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="inspector", description="Defect-inspection station.")
    parser.add_argument("--kiosk", metavar="PRODUCT", help=KIOSK_HELP)
    parser.add_argument("--lang", metavar="LANG", help=LANG_HELP)
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("inspect", help="inspect a folder, hot folder, video or camera and log verdicts")
    p.add_argument("source", nargs="?",
                   help="folder | hot:DIR | camera:0 | video.mp4 | rtsp://... | genicam:CTI | demo "
                   "(default with --product: the product's source)")
    p.add_argument("--product", metavar="NAME",
                   help="run for this product: its model, recipe, source and line I/O (line options given "
                   "here replace its mapping); frames that do not fit it are refused "
                   "(docs/products_and_lots.md)")
    p.add_argument("--shifts", metavar="HH:MM,...",
                   help="shift starts recorded on every row (default $INSPECTOR_SHIFTS or 06:00,14:00,22:00)")
    p.add_argument("--model", type=Path, help="ONNX model (default: the shipped demo model)")
    p.add_argument("--recipe", type=Path, help="recipe JSON (default: resources/recipes/default.json)")
    p.add_argument("--backend", default="auto", type=_backend,
                   metavar="auto|onnxruntime|openvino|tensorrt|triton:URL",
                   help="where the model runs (default auto: TensorRT when its engine fits, else the faster "
                   "of ONNX Runtime and OpenVINO on this CPU, docs/performance.md); "
                   "triton:http://HOST:8000/MODEL: a Triton server (docs/triton.md)")
    p.add_argument("--limit", type=_count, help="stop after N images")
    p.add_argument("--recursive", action="store_true", help="descend into sub-folders of a folder source")
    p.add_argument("--rerun", action="store_true", help="inspect files already logged for this station again")
    p.add_argument("--archive", type=Path, help="folder for NG/REVIEW images and overlays")
    p.add_argument("--export", type=Path, help="write this run's verdicts to a .csv or .json file")
    p.add_argument("--threads", type=int, help="CPU inference threads (default: all cores)")
    p.add_argument("--batching", metavar="auto|latency|throughput[:N]",
                   help="frames per model call: auto batches up to N frames that are already waiting, "
                   "latency runs each frame alone at once, throughput also waits briefly to fill a batch "
                   "(default $INSPECTOR_BATCHING or auto: one frame per call on a CPU, up to 8 on a GPU)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--allow-unverified", action="store_true",
                   help="inspect even if the model card has no golden samples (the model is unverified)")
    add_line_arguments(p)  # --opcua / --modbus / --mqtt / --triggered (docs/line_io.md)
    _add_common(p)

    h = sub.add_parser("history", help="recent verdicts from the database")
    h.add_argument("--verdict", choices=["OK", "NG", "REVIEW", "ERROR"],
                   help="only this verdict (ERROR: parts that were not inspected)")
    h.add_argument("--source", help="only files under this folder (or source keys starting with this text)")
    h.add_argument("--since", help="ISO date/time, e.g. 2026-11-28 or 2026-11-28T06:00")
    h.add_argument("--limit", type=_count, default=20)
    h.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    _add_common(h, STATION_FILTER_HELP)

    r = sub.add_parser("replay", help="re-decide logged inspections under another recipe")
    r.add_argument("--recipe", type=Path, required=True, help="the recipe to try")
    r.add_argument("--last", type=_count, default=1000, help="how many recent inspections")
    r.add_argument("--source", help="only files under this folder (or source keys starting with this text)")
    r.add_argument("--export", type=Path, help="write the flips to .csv or .json")
    r.add_argument("--json", action="store_true", help="print the report as JSON")
    _add_common(r, STATION_FILTER_HELP)

    _add_common(set_pin_parser(sub))
    user_parser(sub, _add_common)
    product_parser(sub, _add_common, add_line_arguments)
    report_parser(sub, _add_common)
    selftest_parser(sub, backend_type=_backend)
    export_triton_parser(sub)

    g = sub.add_parser("gui", help="open the station window (the default)")
    g.add_argument("--source", default=None, help="start on this source instead of the demo")
    g.add_argument("--model", type=Path)
    g.add_argument("--kiosk", metavar="PRODUCT", help=KIOSK_HELP)
    g.add_argument("--lang", metavar="LANG", help=LANG_HELP)
    _add_common(g)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    command = args.command or "gui"
    try:
        if command == "inspect":
            from inspector.cli.inspect_cmd import run_inspect

            return run_inspect(args)
        if command == "history":
            from inspector.cli.history_cmd import run_history

            return run_history(args)
        if command == "replay":
            from inspector.cli.replay_cmd import run_replay

            return run_replay(args)
        if command == "selftest":
            from inspector.cli.selftest_cmd import run_selftest_cmd

            return run_selftest_cmd(args)
        if command == "export-triton":
            from inspector.cli.export_triton_cmd import run_export_triton

            return run_export_triton(args)
        if command == "product":
            from inspector.cli.product_cmd import run_product

            return run_product(args)
        if command == "report":
            from inspector.cli.report_cmd import run_report

            return run_report(args)
        if command == "set-pin":
            from inspector.cli.setpin_cmd import run_set_pin

            return run_set_pin(args)
        if command == "user":
            from inspector.cli.user_cmd import run_user

            return run_user(args)
        from inspector.ui.app import run_gui  # lazily: headless commands never load Qt

        return run_gui(args if args.command or args.kiosk or args.lang else None)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return exitcodes.INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
