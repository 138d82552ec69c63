"""``inspector inspect``: run a source through the pipeline and log every verdict."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from inspector.cli import exitcodes
from inspector.cli.report import VerdictRow, check_export_path, print_summary
from inspector.core.backends.base import BackendUnavailable, ModelLoadError
from inspector.core.model_card import load_card, verify_card
from inspector.core.paths import default_archive_dir, default_model, default_recipe_path
from inspector.core.progress import SimpleState
from inspector.core.recipe import Recipe, load_recipe
from inspector.core.types import Frame, FrameError, InspectionResult

if TYPE_CHECKING:
    from db.session import Database
    from db.writer import RowContext
    from inspector.core.shifts import ShiftSchedule
    from inspector.services.products import ResolvedProduct


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
    from db.session import PreflightError, check_db_url, open_db, preflight
    from db.storable import short_error
    from db.writer import VerdictWriter
    from inspector.cli.run_log import RunLog
    from inspector.cli.selftest_cmd import selftest_gate
    from inspector.core.backends.select import select_backend
    from inspector.core.demo import make_source
    from inspector.core.overlay import render_result
    from inspector.core.pipeline import Pipeline, run_source
    from inspector.lineio.cli import LINE_FLUSH_S, finish_line, line_from_args, start_line

    _escape_unprintable_output()
    model_path: Path = args.model or default_model()
    recipe_path: Path = args.recipe or default_recipe_path()
    product = None  # --product: model, recipe, source and line I/O from the product (checked)
    try:
        if args.export:
            check_export_path(args.export)
        check_db_url(args.db)  # "" or an in-memory URL: refused before anything is loaded
        shifts = _shift_schedule(args)
        if getattr(args, "product", None):
            product = _resolve_product(args)
            model_path = product.model_path
            args.source = args.source or product.spec.source.source_spec()
            args.recursive = args.recursive or product.spec.source.recursive
            args.rerun = args.rerun or not product.spec.source.skip_logged
        elif args.source is None:
            raise ValueError("give a source to inspect (or --product NAME)")
        recipe = product.recipe if product is not None else load_recipe(recipe_path)
        card = verify_card(load_card(model_path), model_path)  # a card for another model: refused
    except (OSError, ValueError) as exc:
        return _fail(str(exc), exitcodes.USAGE)
    try:
        backend = select_backend(args.backend, model_path, threads=args.threads)
    except (BackendUnavailable, ModelLoadError) as exc:
        return _fail(str(exc), exitcodes.USAGE)
    refused: list[str] = []  # --product: why a frame did not fit it (the run stops, nothing passes)
    try:
        if product is not None:
            from inspector.services.products import FrameGuard, GuardedPipeline

            guard = FrameGuard(product.spec.name, card, product.spec.image,
                               on_warning=lambda text: print(f"warning: {text}", file=sys.stderr))
            pipeline = GuardedPipeline(backend, card, recipe, guard, on_refused=refused.append)
        else:
            pipeline = Pipeline(backend, card, recipe)
        if getattr(args, "batching", None):
            from inspector.core.batching import BatchPolicy

            pipeline.batching = BatchPolicy.parse(args.batching)
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
        return _fail(f"cannot open the database {_db_name(args.db)}: {short_error(exc)}", exitcodes.FATAL)
    writer_archive = args.archive or default_archive_dir()
    try:  # read-only, locked, full or outdated: said now, not after the whole folder was inspected
        preflight(db, writer_archive)
    except PreflightError as exc:
        backend.close()
        db.dispose()
        return _fail(str(exc), exitcodes.FATAL)

    try:
        from inspector.services.promotion import ensure_shipped_production_model

        # rollback always has the model the station started with to return to
        ensure_shipped_production_model(db, f"cli:{station}")
        _check_recipe_matches_log(db, recipe)
        context = _row_context(db, station, product, shifts)  # product, open lot and shift of each row
        already_done = (
            None
            if args.rerun
            else _by_stored_key(
                AlreadyLogged(
                    db, station, card.sha256, recipe.name, recipe.version, prefix=_key_prefix(args.source)
                )
            )
        )
    except ValueError as exc:
        return _fail(str(exc), exitcodes.USAGE)
    except Exception as exc:  # e.g. locked or unreachable database: fatal, not a traceback
        return _fail(f"cannot read the database {_db_name(args.db)}: {short_error(exc)}", exitcodes.FATAL)

    try:
        source = make_source(args.source, recursive=args.recursive)
    except (OSError, ValueError, RuntimeError) as exc:
        return _fail(str(exc), exitcodes.USAGE)
    try:  # line I/O (--opcua/--modbus/--mqtt/--triggered): committed verdicts out, triggers in
        line_args = args
        if product is not None and not any(getattr(args, k, None) for k in ("opcua", "modbus", "mqtt")):
            line_args = product.spec.line_io.as_args()  # the product's mapping unless options are given
        line = line_from_args(line_args, station)
    except (ValueError, ImportError) as exc:
        source.close()
        return _fail(str(exc), exitcodes.USAGE)
    if line is not None and line.triggered:
        source = line.wrap_source(source)  # a frame per part the line triggers, keyed by its part id
        already_done = None  # a part on the line always gets its verdict

    writer = VerdictWriter(
        db,
        station,
        archive_dir=writer_archive,
        overlay=render_result,
        recipes=[recipe],
        models=[(card, str(model_path.resolve()))],
        **({} if line is None else {"flush_interval_s": LINE_FLUSH_S}),
        context=context,
    )
    # The row, not the result (a result holds the image and its float map), and only until its
    # commit settles: then counters and the export spool keep what the summary needs, so an
    # endless hot-folder run does not grow.
    run_log = RunLog(args.export)

    rate_guard = _rate_guard(db, product, station)

    def sink(result: InspectionResult) -> None:
        # with line I/O the verdict goes to the line once committed (a late triggered part: None)
        fut = writer.submit(result) if line is None else line.submit(result)
        if fut is not None:
            run_log.add(VerdictRow.from_result(result, None), fut)
        if rate_guard is not None:
            rate_guard(result)

    state = CliState(show=not args.no_progress and sys.stderr.isatty(), source=source)
    if product is not None:  # a refused product stops the run: its parts are logged as ERROR, none OK
        pipeline.on_refused = lambda why: (refused.append(why), state.cancel())  # type: ignore[attr-defined]

    def on_signal(_sig: int, _frame: FrameType | None) -> None:
        state.cancel()

    old_int = signal.signal(signal.SIGINT, on_signal)
    old_term = signal.signal(signal.SIGTERM, on_signal)
    run_error: Exception | None = None
    if line is not None:
        line.bind(writer.submit, pipeline.error_result)
        start_line(
            line,
            state=f"blocked: {pipeline.blocked}" if pipeline.blocked else "running",
            product=f"{recipe.name} v{recipe.version}",
            verbose=args.verbose,
        )
    try:
        summary = run_source(source, pipeline, sink, state, limit=args.limit, already_done=already_done)
    except Exception as exc:  # backend failure, unopenable video...: fatal, not "defects found"
        run_error = exc
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
        state.close()
        if line is not None:
            line.end_triggers()  # parts still waiting get their ERROR rows before the writer closes
        source.close()
        writer.close()
        backend.close()
        db.dispose()  # every row is committed or failed: no connection stays open behind them

    run_log.settle(final=True)
    if line is not None:  # state "stopped", run summary out, outputs closed; counts as logged
        run_info = {"model_sha256": card.sha256, "recipe": recipe.name}
        finish_line(line, None if run_error else summary, run_info)
    if run_error is not None:
        run_log.close()
        return _fail(
            f"inspection stopped: {run_error} ({run_log.logged} verdicts were logged and stay)",
            exitcodes.FATAL,
        )
    stats = source.stats()
    if refused:  # stopped because the product does not fit the images, not by a person
        summary.cancelled = False
    print_summary(
        summary,
        info,
        card,
        recipe,
        logged=run_log.logged,
        skipped=stats.skipped + summary.skipped,
        dropped=stats.dropped,
        writer_stats=writer.stats(),
    )
    for err in run_log.errors:
        print(f"not logged: {err}", file=sys.stderr)
    if run_log.failed:
        shown = len(run_log.errors)
        print(
            f"inspector: error: {run_log.failed} verdicts were not logged"
            + (f" (the last {shown} are listed above)" if run_log.failed > shown else ""),
            file=sys.stderr,
        )
    if args.export:
        try:
            run_log.write_export(args.export)
        except OSError as exc:
            return _fail(f"cannot write {args.export}: {exc}", exitcodes.FATAL)
        finally:
            run_log.close()
    archive_errors = writer.stats().archive_errors
    if archive_errors:
        # the verdicts are logged, but the NG/REVIEW evidence is missing (full or read-only disk?)
        print(
            f"inspector: error: {archive_errors} NG/REVIEW images could not be archived "
            f"under {writer_archive} (last error: {writer.stats().last_error})",
            file=sys.stderr,
        )
    if run_log.failed or archive_errors:
        return exitcodes.FATAL
    if refused:
        return _fail(f"product {args.product!r} refused: {refused[0]} "
                     f"({summary.n_errors} parts logged as ERROR, none passed)", exitcodes.FATAL)
    if summary.cancelled:
        return exitcodes.INTERRUPTED
    if summary.counts["NG"] or summary.counts["REVIEW"]:
        return exitcodes.DEFECTS
    if summary.n_errors:
        return exitcodes.UNREADABLE
    return exitcodes.OK


def _shift_schedule(args: argparse.Namespace) -> ShiftSchedule:
    from inspector.core.shifts import ShiftSchedule

    text = getattr(args, "shifts", None)
    return ShiftSchedule.parse(text) if text else ShiftSchedule.default()


def _resolve_product(args: argparse.Namespace) -> ResolvedProduct:
    """The product of ``--product`` (ValueError naming what is missing), its use audited."""
    from db.queries import audit
    from db.session import open_db
    from inspector.services.products import resolve_product

    if args.model is not None or args.recipe is not None:
        raise ValueError("--product sets the model and the recipe: leave out --model and --recipe")
    db = open_db(args.db)
    try:
        product = resolve_product(db, args.product)
        spec = product.spec
        audit(db, f"cli:{args.station or socket.gethostname()}", "product.select", {
            "name": spec.name, "product_id": product.id, "via": "inspect", "model_sha256": spec.model_sha256,
            "recipe": f"{spec.recipe_name} v{spec.recipe_version}",
            "source": args.source or spec.source.describe(),
        })
        return product
    finally:
        db.dispose()


def _row_context(
    db: Database, station: str, product: ResolvedProduct | None, shifts: ShiftSchedule
) -> RowContext:
    """Product, lot (the station's open lot, e.g. started in the GUI) and shift of every row."""
    from db.writer import RowContext
    from inspector.services.lots import open_lot

    lot = open_lot(db, station)
    return RowContext(product_id=product.id if product is not None else None, lot_id=lot.id if lot else None,
                      shifts=shifts)


def _rate_guard(
    db: Database, product: ResolvedProduct | None, station: str
) -> Callable[[InspectionResult], None] | None:
    """--product: warn (stderr, audited) when the defect rate jumps far above the product's normal."""
    if product is None:
        return None
    from db.queries import audit
    from inspector.services.products import DefectRateGuard

    guard = DefectRateGuard(product.baseline_rate)
    name = product.spec.name

    def check(result: InspectionResult) -> None:
        text = guard.add(result.decision.verdict)
        if text is None:
            return
        print(f"warning: product {name}: {text}", file=sys.stderr)
        try:
            audit(db, f"cli:{station}", "product.defect_rate_warning",
                  {"name": name, "rate": guard.rate, "baseline": guard.baseline, "limit": guard.limit})
        except Exception as exc:  # the warning is printed; the run goes on
            print(f"warning: the defect-rate warning was not audited: {exc}", file=sys.stderr)

    return check


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


def _escape_unprintable_output() -> None:
    """A file name that is not UTF-8 prints escaped instead of ending the run in a traceback."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if getattr(stream, "errors", None) == "strict" and reconfigure is not None:
            reconfigure(errors="backslashreplace")


def _db_name(url: str | None) -> str:
    """The database for a message: the URL without its password, or "(default)"."""
    if url is None:
        return "(default)"
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: the open error says so
        return repr(url)


def _key_prefix(spec: str) -> str | None:
    """The resume-key prefix of a folder or hot-folder spec (keys are resolved file paths),
    so resuming loads only this folder's log, not everything the station ever inspected."""
    from db.storable import storable_text

    folder = Path(spec[4:] if spec.lower().startswith("hot:") else spec)
    if not spec or not folder.is_dir():
        return None
    return storable_text(str(folder.resolve()).rstrip(os.sep) + os.sep)  # as the keys are stored


def _by_stored_key(done: Callable[[object], bool]) -> Callable[[Frame | FrameError], bool]:
    """``done`` asked with the key as the log stores it: a file name that is not UTF-8 is stored
    escaped, and a part without a content hash is found again by that key."""
    from types import SimpleNamespace

    from db.storable import storable_text

    def check(item: Frame | FrameError) -> bool:
        return done(SimpleNamespace(key=storable_text(item.key), sha256=item.sha256))

    return check
