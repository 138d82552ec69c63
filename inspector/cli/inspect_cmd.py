"""``inspector inspect``: run a source through the pipeline and log every verdict."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
from concurrent.futures import Future
from pathlib import Path
from types import FrameType

from inspector.cli import exitcodes
from inspector.cli.report import VerdictRow, check_export_path, export_rows, print_summary
from inspector.core.backends.base import BackendUnavailable, ModelLoadError
from inspector.core.model_card import load_card, verify_card
from inspector.core.paths import default_archive_dir, default_model, default_recipe_path
from inspector.core.progress import SimpleState
from inspector.core.recipe import Recipe, load_recipe
from inspector.core.types import InspectionResult


class CliState(SimpleState):
    """Progress on a tqdm bar (stderr) and cancel on SIGINT/SIGTERM."""

    def __init__(self, show: bool, source: object) -> None:
        super().__init__()
        self._bar = None
        self._source = source
        if show:
            from tqdm import tqdm

            self._bar = tqdm(unit="img", file=sys.stderr, dynamic_ncols=True, leave=True)

    def progress(self, done: int, total: int | None, message: str = "") -> None:
        super().progress(done, total, message)
        if self._bar is None:
            return
        stats = self._source.stats()  # type: ignore[attr-defined]
        if stats.total is not None:
            self._bar.total = max(stats.total - stats.skipped, done)
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _fail(message: str, code: int) -> int:
    print(f"inspector: error: {message}", file=sys.stderr)
    return code


def run_inspect(args: argparse.Namespace) -> int:
    from db.history import AlreadyLogged
    from db.session import open_db
    from db.writer import VerdictWriter
    from inspector.cli.selftest_cmd import selftest_gate
    from inspector.core.backends.select import select_backend
    from inspector.core.demo import make_source
    from inspector.core.overlay import render_result
    from inspector.core.pipeline import Pipeline, run_source

    model_path: Path = args.model or default_model()
    recipe_path: Path = args.recipe or default_recipe_path()
    try:
        if args.export:
            check_export_path(args.export)
        recipe = load_recipe(recipe_path)
        card = verify_card(load_card(model_path), model_path)  # a card for another model: refused
    except (OSError, ValueError) as exc:
        return _fail(str(exc), exitcodes.USAGE)
    try:
        backend = select_backend(args.backend, model_path, threads=args.threads)
    except (BackendUnavailable, ModelLoadError) as exc:
        return _fail(str(exc), exitcodes.USAGE)
    try:
        pipeline = Pipeline(backend, card, recipe)
    except ValueError as exc:
        backend.close()
        return _fail(str(exc), exitcodes.USAGE)
    # golden-sample self-test: on failure every part is logged as ERROR (pipeline.blocked) and says why
    selftest_gate(pipeline, allow_unverified=args.allow_unverified, verbose=args.verbose)
    info = backend.info()
    if info.notice and args.verbose:
        print(f"note: {info.notice}", file=sys.stderr)

    station = args.station or socket.gethostname()
    try:
        db = open_db(args.db)
    except Exception as exc:
        return _fail(f"cannot open the database {args.db or '(default)'}: {exc}", exitcodes.FATAL)

    try:
        from inspector.core.promotion import ensure_shipped_production_model

        # rollback always has the model the station started with to return to
        ensure_shipped_production_model(db, f"cli:{station}")
        _check_recipe_matches_log(db, recipe)
        already_done = (
            None
            if args.rerun
            else AlreadyLogged(
                db, station, card.sha256, recipe.name, recipe.version, prefix=_key_prefix(args.source)
            )
        )
    except ValueError as exc:
        return _fail(str(exc), exitcodes.USAGE)
    except Exception as exc:  # e.g. locked or unreachable database: fatal, not a traceback
        return _fail(f"cannot read the database {args.db or '(default)'}: {exc}", exitcodes.FATAL)

    try:
        source = make_source(args.source, recursive=args.recursive)
    except (OSError, ValueError, RuntimeError) as exc:
        return _fail(str(exc), exitcodes.USAGE)

    writer_archive = args.archive or default_archive_dir()
    writer = VerdictWriter(
        db,
        station,
        archive_dir=writer_archive,
        overlay=render_result,
        recipes=[recipe],
        models=[(card, str(model_path.resolve()))],
    )
    # The row, not the result: a result holds the image and its float map, and a big folder
    # must not keep every one of them in memory until the run ends.
    pending: list[tuple[VerdictRow, Future[int]]] = []

    def sink(result: InspectionResult) -> None:
        pending.append((VerdictRow.from_result(result, None), writer.submit(result)))

    state = CliState(show=not args.no_progress and sys.stderr.isatty(), source=source)

    def on_signal(_sig: int, _frame: FrameType | None) -> None:
        state.cancel()

    old_int = signal.signal(signal.SIGINT, on_signal)
    old_term = signal.signal(signal.SIGTERM, on_signal)
    run_error: Exception | None = None
    try:
        summary = run_source(source, pipeline, sink, state, limit=args.limit, already_done=already_done)
    except Exception as exc:  # backend failure, unopenable video...: fatal, not "defects found"
        run_error = exc
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
        state.close()
        source.close()
        writer.close()
        backend.close()

    rows: list[VerdictRow] = []
    write_errors: list[str] = []
    for row, fut in pending:
        try:
            row.inspection_id = fut.result(timeout=0)
        except Exception as exc:
            write_errors.append(f"{row.key}: {exc}")
        rows.append(row)
    if run_error is not None:
        logged = len(rows) - len(write_errors)
        return _fail(
            f"inspection stopped: {run_error} ({logged} verdicts were logged and stay)", exitcodes.FATAL
        )
    stats = source.stats()
    print_summary(
        summary,
        info,
        card,
        recipe,
        logged=len(rows) - len(write_errors),
        skipped=stats.skipped + summary.skipped,
        dropped=stats.dropped,
        writer_stats=writer.stats(),
    )
    for err in write_errors[:10]:
        print(f"not logged: {err}", file=sys.stderr)
    if args.export:
        try:
            export_rows(rows, args.export)
        except OSError as exc:
            return _fail(f"cannot write {args.export}: {exc}", exitcodes.FATAL)
    archive_errors = writer.stats().archive_errors
    if archive_errors:
        # the verdicts are logged, but the NG/REVIEW evidence is missing (full or read-only disk?)
        print(
            f"inspector: error: {archive_errors} NG/REVIEW images could not be archived "
            f"under {writer_archive} (last error: {writer.stats().last_error})",
            file=sys.stderr,
        )
    if write_errors or archive_errors:
        return exitcodes.FATAL
    if summary.cancelled:
        return exitcodes.INTERRUPTED
    if summary.counts["NG"] or summary.counts["REVIEW"]:
        return exitcodes.DEFECTS
    if summary.n_errors:
        return exitcodes.UNREADABLE
    return exitcodes.OK


def _check_recipe_matches_log(db: object, recipe: Recipe) -> None:
    """Logged recipe versions are immutable: the same name and version with other
    parameters would make old verdicts unreproducible, so refuse before inspecting."""
    from db.queries import get_recipe

    stored = get_recipe(db, recipe.name, recipe.version)
    if stored is not None and stored.params and stored.recipe() != recipe:
        raise ValueError(
            f"recipe {recipe.name!r} v{recipe.version} is already logged with other parameters; "
            f"give the edited recipe a new version number (next free: see 'inspector history')"
        )


def _key_prefix(spec: str) -> str | None:
    """The resume-key prefix of a folder or hot-folder spec (keys are resolved file paths),
    so resuming loads only this folder's log, not everything the station ever inspected."""
    folder = Path(spec[4:] if spec.lower().startswith("hot:") else spec)
    if not spec or not folder.is_dir():
        return None
    return str(folder.resolve()).rstrip(os.sep) + os.sep
