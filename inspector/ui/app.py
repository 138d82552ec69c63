"""Start the station GUI: settings, database, recipe, model, then the main window.

``create_window`` does everything but the event loop, so tests and the
screenshot script build exactly what an operator gets.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QSettings, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from inspector.core.model_card import ModelCard, load_card
from inspector.core.paths import APP_NAME, default_archive_dir, default_model, default_recipe_path
from inspector.core.recipe import Recipe, load_recipe
from inspector.ui.context import AppContext, ModelState
from inspector.ui.tasks import Job

log = logging.getLogger(__name__)

SETTINGS_ENV = "INSPECTOR_SETTINGS"


@dataclass(slots=True)
class StartOptions:
    db_url: str | None = None
    model: Path | None = None
    source: str | None = None  # a source spec ("demo", a folder, hot:DIR, camera:0, ...)
    station: str | None = None
    archive_dir: Path | None = None
    autostart: bool = True
    kiosk: str | None = None  # a product's name: full-screen line view, leaving takes a QA login

    @classmethod
    def from_args(cls, args: argparse.Namespace | None) -> StartOptions:
        if args is None:
            return cls()
        return cls(
            db_url=getattr(args, "db", None),
            model=getattr(args, "model", None),
            source=getattr(args, "source", None),
            station=getattr(args, "station", None),
            kiosk=getattr(args, "kiosk", None),
        )


def make_settings() -> QSettings:
    """INI file named by INSPECTOR_SETTINGS (tests, kiosk setups), else the platform's store."""
    path = os.environ.get(SETTINGS_ENV)
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings(APP_NAME, "station")


def load_start_recipe(db: Any, settings: QSettings, messages: list[tuple[str, str]]) -> Recipe:
    """Newest logged version of the station's recipe; else the shipped default; else built-in defaults."""
    from inspector.services.recipes import get_recipe

    shipped: Recipe | None = None
    path = default_recipe_path()
    try:
        shipped = load_recipe(path)
    except FileNotFoundError:
        pass
    except ValueError as exc:
        messages.append(("error", str(exc)))
    name = str(settings.value("recipe/name", "") or (shipped.name if shipped else "default"))
    try:
        stored = get_recipe(db, name)
        if stored is not None:
            return stored.recipe()
    except Exception as exc:  # a bad row must not stop the station
        messages.append(
            (
                "error",
                QCoreApplication.translate(
                    "Startup", "recipe {name} from the database is unusable: {error}"
                ).format(name=repr(name), error=exc),
            )
        )
    if shipped is not None:
        return shipped
    messages.append(
        (
            "warning",
            QCoreApplication.translate("Startup", "no recipe at {path}: using built-in defaults").format(
                path=path
            ),
        )
    )
    return Recipe(name=name)


def load_start_model(
    db: Any,
    requested: Path | None,
    messages: list[tuple[str, str]],
    refused: list[dict[str, Any]] | None = None,
) -> ModelState:
    """--model, else the DB's production model, else (nothing promoted yet) the shipped demo model.

    The production model is loaded only if its file is there and unchanged (sha256); otherwise it
    is refused with an error and the previous production model that is usable is loaded instead,
    or none at all (the line must not run a model nobody promoted). A model promoted by QA
    override loads with a warning and ``override_reason`` set (the status bar shows the mark).
    ``refused`` collects audit details of refused models. A missing model is not fatal: the
    window opens and says what to do.
    """
    from inspector.services.promotion import choose_production_model, override_mark

    candidates: list[tuple[Path, str]] = []
    if requested is not None:
        candidates.append((Path(requested), "--model"))  # how it was asked for: shown as is
    else:
        try:
            choice = choose_production_model(db)
        except Exception as exc:  # fall back to the shipped model
            choice = None
            messages.append(
                (
                    "warning",
                    QCoreApplication.translate(
                        "Startup", "cannot read the production model from the database: {error}"
                    ).format(error=exc),
                )
            )
        if choice is not None and choice.active is not None:
            return _production_state(choice, messages, refused)
        candidates.append((default_model(), QCoreApplication.translate("Startup", "shipped demo model")))
    for path, why in candidates:
        if path.is_file():
            try:
                card = load_card(path)
            except (OSError, ValueError) as exc:
                messages.append(("error", f"{why} {path}: {exc}"))
                continue
            try:
                mark = override_mark(db, card.sha256) or ""
            except Exception as exc:  # the model still runs; say that its release state is unknown
                mark = ""
                messages.append(
                    (
                        "warning",
                        QCoreApplication.translate(
                            "Startup", "cannot read the promotion record of {path}: {error}"
                        ).format(path=path, error=exc),
                    )
                )
            if mark:
                messages.append(("warning", _override_text(card.name, card.sha256, mark)))
            return ModelState(path=path, card=card, override_reason=mark)
        messages.append(
            (
                "warning" if why != "--model" else "error",
                QCoreApplication.translate("Startup", "{what} not found: {path}").format(what=why, path=path),
            )
        )
    path = candidates[0][0]
    messages.append(
        (
            "error",
            QCoreApplication.translate(
                "Startup",
                "No model available: inspection cannot start. Expected {path}; install or train a model, "
                "or start with --model PATH.",
            ).format(path=path),
        )
    )
    return ModelState(
        path=path, card=ModelCard(name="none"), notice=QCoreApplication.translate("Startup", "no model")
    )


def _override_text(name: str, sha256: str, reason: str) -> str:
    return QCoreApplication.translate(
        "Startup",
        "Production model {name} · {sha} was promoted by QA OVERRIDE without passing the "
        "promotion gate ({reason}). Roll back in the Trainer tab if in "
        "doubt.",
    ).format(name=name, sha=sha256[:8], reason=reason)


def _production_state(
    choice: Any, messages: list[tuple[str, str]], refused: list[dict[str, Any]] | None
) -> ModelState:
    """ModelState for a :class:`~inspector.services.promotion.ProductionChoice` with an active model."""
    active = choice.active
    for entry, why in choice.refused:
        text = QCoreApplication.translate("Startup", "Production model {name} · {sha} refused: {why}")
        messages.append(("error", text.format(name=entry.name, sha=entry.sha256[:8], why=why)))
        if refused is not None:
            refused.append({"sha256": entry.sha256, "name": entry.name, "path": entry.path, "why": why})
    entry, card = choice.entry, choice.card
    if entry is None or card is None:
        messages.append(
            (
                "error",
                QCoreApplication.translate(
                    "Startup",
                    "No usable production model: inspection cannot start. {name} · {sha} and every "
                    "earlier production model were refused (see above). Restore the model file or promote "
                    "a model (Trainer tab).",
                ).format(name=active.name, sha=active.sha256[:8]),
            )
        )
        # a path that is no file, so nothing tries to load the refused one
        return ModelState(
            path=Path(f"{active.path or active.name} (refused)"),
            card=ModelCard(name="none"),
            notice=QCoreApplication.translate("Startup", "no usable production model"),
        )
    if choice.fallback:
        messages.append(
            (
                "warning",
                QCoreApplication.translate(
                    "Startup",
                    "Running the previous production model {name} · {sha} instead; the database still "
                    "names {active} · {active_sha} as production (QA: roll back in the Trainer tab, or "
                    "restore its file).",
                ).format(
                    name=entry.name, sha=entry.sha256[:8], active=active.name, active_sha=active.sha256[:8]
                ),
            )
        )
    mark = (entry.override_reason or "(no reason recorded)") if entry.overridden else ""
    if mark:
        messages.append(("warning", _override_text(entry.name, entry.sha256, mark)))
    return ModelState(path=Path(entry.path), card=card, override_reason=mark)


def register_shipped_model(ctx: AppContext, audit: Any) -> Job[Any] | None:
    """Register the shipped model as the first production model when none is active (idempotent).

    Runs on the GUI task runner's write lane (the UI thread never waits on the DB; the audit
    log's close waits for it before the DB is disposed); says so in the message area and
    tells the Trainer tab through ``ctx.production_changed``.
    """
    from inspector.services.promotion import ensure_shipped_production_model

    shipped = default_model()
    if not shipped.is_file():
        return None
    db, actor = ctx.db, f"station:{ctx.station}"

    def failed(message: str) -> None:
        log.error("registering the shipped model failed: %s", message)
        text = QCoreApplication.translate(
            "Startup", "The shipped model could not be registered as production: {error}"
        )
        ctx.notify("error", text.format(error=message))

    def done(info: Any) -> None:
        if info is not None:
            ctx.notify(
                "info",
                QCoreApplication.translate(
                    "Startup",
                    "Shipped model {name} · {sha} registered as the first production model (rollback "
                    "can always return to it).",
                ).format(name=info.name, sha=info.sha256[:8]),
            )
            ctx.production_changed.emit()

    return audit.submit(
        "register-shipped-model",
        lambda _state: ensure_shipped_production_model(db, actor, shipped),
        on_done=done,
        on_error=failed,
    )


def create_window(opts: StartOptions, settings: QSettings | None = None) -> Any:
    """Open the DB, resolve recipe and model, build the context and the main window (shown by caller)."""
    from inspector.services.station_db import open_database
    from inspector.ui.main_window import MainWindow
    from inspector.ui.roles import AuditLog, startup_accounts

    settings = settings or make_settings()
    db = open_database(opts.db_url)
    messages: list[tuple[str, str]] = []
    refused: list[dict[str, Any]] = []
    recipe = load_start_recipe(db, settings, messages)
    model = load_start_model(db, opts.model, messages, refused)
    # checked once here, before the window opens; afterwards the context checks it off the UI thread
    have_model = Path(model.path).is_file()
    ctx = AppContext(
        db, opts.station or socket.gethostname(), settings, recipe, model, model_file_present=have_model
    )
    ctx.archive_dir = opts.archive_dir or default_archive_dir()
    ctx.accounts = startup_accounts(db, messages)  # user accounts, or the shared QA PIN (none yet)
    audit = AuditLog(db, ctx)
    audit.failed.connect(lambda text: ctx.notify("error", text))
    ctx.audit_sink = audit.record
    for details in refused:
        audit.record(f"station:{ctx.station}", "model.refused", details)
    register_shipped_model(ctx, audit)
    window = MainWindow(ctx)
    window.audit_log = audit
    for level, text in messages:
        ctx.notify(level, text)
    ctx.notify(
        "info",
        QCoreApplication.translate("Startup", "Station {station} ready · recipe {recipe} v{version}").format(
            station=ctx.station, recipe=recipe.name, version=recipe.version
        ),
    )
    chosen = _preselect(window, opts.source) if opts.source else False
    if opts.kiosk:  # the line view for the product, full screen; it starts the run once the product loads
        window.line_view.start_kiosk(opts.kiosk, autostart=opts.autostart)
    elif opts.autostart and have_model:
        if chosen or (not opts.source and window.live.chooser.kind() == "demo"):
            # After the event loop starts, so the window is on screen before the model loads.
            QTimer.singleShot(0, window.live.start)
        elif not opts.source:
            # the last session's source is chosen again but never started unasked (a folder would be
            # inspected again, a camera would run before anyone looked at the line)
            ctx.notify("info", _restored_text(window))
    return window


def _restored_text(window: Any) -> str:
    """What the message area says when the last session's source is chosen but not started."""
    choice = window.live.source_choice()
    try:
        source = choice.spec()
    except ValueError:
        source = choice.kind
    return QCoreApplication.translate(
        "Startup", "Source {source} chosen as in the last session; press Start (F5) to inspect it."
    ).format(source=source)


def _preselect(window: Any, spec: str) -> bool:
    """Choose ``spec`` (``--source``) in the Live tab's chooser; False (and a message) when it is not
    a source."""
    lower = spec.lower()
    if lower == "demo":
        kind, text = "demo", ""
    elif lower.startswith("hot:"):
        kind, text = "hot", spec[4:]
    elif lower.startswith("genicam:"):
        kind, text = "genicam", spec
    elif lower.startswith("camera:") or spec.isdigit() or "://" in spec:
        kind, text = "camera", spec.split(":", 1)[1] if lower.startswith("camera:") else spec
    elif Path(spec).suffix.lower() in (".mp4", ".avi", ".mkv", ".mov"):
        kind, text = "video", spec
    else:
        kind, text = "folder", spec
    try:
        window.live.set_source(kind, text)
    except ValueError as exc:
        window.ctx.notify(
            "error",
            QCoreApplication.translate("Startup", "--source {spec}: {error}").format(spec=spec, error=exc),
        )
        return False
    return True


def prepare_runtime() -> None:
    """Keep the UI thread's pauses short once inspection runs.

    Two things stalled the UI for 100-300 ms mid-run (measured with scripts/ui_stall.py):
    the first import of onnxruntime & co. on the worker thread, and full (gen-2) garbage
    collections, which hold the GIL while they walk every object of the process - most
    of them imported modules that live forever. So: import the heavy modules now, then
    ``gc.freeze()`` everything that exists, so later collections only walk new objects.
    """
    import gc
    import importlib

    for name in (
        "onnxruntime",
        "inspector.core.pipeline",
        "inspector.core.backends.select",
        "inspector.core.demo",
        "inspector.core.synth",
        "inspector.core.sources",
        "inspector.services.station_db",
        "inspector.services.history",
        "inspector.core.overlay",
    ):
        try:
            importlib.import_module(name)
        except ImportError as exc:  # reported when a run needs it
            log.info("pre-import of %s failed: %s", name, exc)
    _warm_up_drawing()
    gc.collect()
    gc.freeze()


def _warm_up_drawing() -> None:
    """OpenCV initialises drawing/contour code on first use (~20 ms): pay that now, not on
    the first result of a run."""
    import numpy as np

    from inspector.core.overlay import OverlayMode, render
    from inspector.core.recipe import Recipe
    from inspector.core.rules import decide

    image = np.zeros((64, 64), np.uint8)
    prob = np.zeros((64, 64), np.float32)
    prob[20:40, 20:40] = 0.9
    decision = decide(prob, Recipe())
    for mode in OverlayMode:
        render(image, prob, decision, mode, 0.5, show_verdict=True)


def check_kiosk(opts: StartOptions) -> str:
    """The kiosk product's name (by name or id); ValueError (KioskError) saying why it cannot run."""
    from inspector.services.station_db import open_database
    from inspector.ui.kiosk import resolve_kiosk_product

    db = open_database(opts.db_url)
    try:
        return resolve_kiosk_product(db, opts.kiosk or "", opts.station or socket.gethostname())
    finally:
        db.dispose()


def run_gui(args: argparse.Namespace | None = None) -> int:
    opts = StartOptions.from_args(args)
    if opts.kiosk is not None:
        try:  # before anything starts: an unknown or unusable product is said and nothing runs
            opts.kiosk = check_kiosk(opts)
        except ValueError as exc:
            print(f"inspector --kiosk: {exc}", file=sys.stderr)
            return 2
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    from inspector.ui import i18n

    # the language first: widgets translate their texts when they are built
    i18n.install(i18n.resolve(make_settings(), getattr(args, "lang", None)), app)
    app.setApplicationDisplayName(QCoreApplication.translate("Startup", "Defect Inspector"))
    from inspector.ui.style import apply_style

    apply_style(app)  # type: ignore[arg-type]
    try:
        window = create_window(opts)
    except Exception as exc:  # startup: the one place a dialog is right
        log.exception("station failed to start")
        QMessageBox.critical(
            None,
            QCoreApplication.translate("Startup", "Defect Inspector"),
            QCoreApplication.translate("Startup", "The station could not start:\n{error}").format(error=exc),
        )
        return 2
    prepare_runtime()
    window.show()
    code = int(app.exec())
    window.audit_log.close()
    window.ctx.db.dispose()
    return code
