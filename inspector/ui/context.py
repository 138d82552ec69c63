"""Shared application state the panels subscribe to (napari style: widgets
listen to model signals instead of being poked by each other)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QSettings, Signal

from inspector.core.accounts import Right, Role, allowed
from inspector.core.model_card import ModelCard
from inspector.core.recipe import Recipe
from inspector.ui.run_state import RunState
from inspector.ui.tasks import Job, TaskRunner, TaskState

MODEL_FILE_TAG = "model-file"


def _model_file_job(_state: TaskState, path: Path) -> tuple[Path, bool]:
    """Whether the model file ``path`` is there (off the UI thread)."""
    return path, path.is_file()


@dataclass(slots=True)
class ModelState:
    path: Path
    card: ModelCard
    backend_display: str = ""  # e.g. "ONNX Runtime 1.32 CPU (2 threads)"; set once the worker loaded it
    notice: str = ""  # why auto did not use TensorRT, etc.
    # Non-empty when this model was promoted by QA override without passing the gate (the reason):
    # the status bar shows a badge for as long as it runs.
    override_reason: str = ""


class AppContext(QObject):
    """One per window. Owned by the main window; panels get it in their constructor.

    Signals carry the new value. Set values only through the setters so every
    subscriber hears about it.
    """

    recipe_changed = Signal(Recipe)
    model_changed = Signal(ModelState)
    role_changed = Signal(str)  # "operator" | "qa" | "engineer" | "admin" (also on login/logout, accounts)
    message = Signal(str, str)  # level ("info" | "warning" | "error"), text
    inspection_logged = Signal(int)  # inspection id, after commit
    # Added by the Live/main-window side (note for the History/Rules panels):
    # run_state_changed carries the live inspection run's RunState ("idle" | "running" | "paused");
    # ctx.audit(action, details) writes an audit_event off the UI thread with ctx.user as actor;
    # ctx.archive_dir is where NG/REVIEW images are archived (None: not archived).
    run_state_changed = Signal(str)
    # The production model history changed in the database (promotion, rollback, the shipped model
    # registered at start-up); may be emitted from a background thread (delivered queued).
    production_changed = Signal()
    # The answer to "is the current model's file there?", checked off the UI thread
    # when the model changes; emitted when the answer for the current model is new or different.
    # Panels read it with ctx.model_file_present() (the status bar, the Live tab, the Trainer tab).
    model_file_checked = Signal(bool)

    def __init__(
        self,
        db: object,
        station: str,
        settings: QSettings,
        recipe: Recipe,
        model: ModelState,
        parent: QObject | None = None,
        *,
        model_file_present: bool | None = None,
    ) -> None:
        """``model_file_present``: whether ``model``'s file is there, when the caller knows (start-up
        checked it before the window opened); None: checked off the UI thread."""
        super().__init__(parent)
        self.db = db  # db.session.Database
        self.station = station
        self.settings = settings
        self._recipe = recipe
        self._model = model
        self._role = "operator"
        self.user = "operator"  # the actor of audit events, reviews, lots: the logged-in user name
        self.personal = False  # a person is logged in (False: the station's anonymous operator session)
        # The station has user accounts (db.users.has_accounts; read at start-up, refreshed by roles):
        # False is the legacy set-up with the shared QA PIN.
        self.accounts = False
        self.archive_dir: Path | None = None
        self.run_state = RunState.IDLE
        # Set by the app to a non-blocking writer (roles.AuditLog.record); None = audit disabled.
        self.audit_sink: Callable[[str, str, dict[str, Any]], None] | None = None
        self._tasks: TaskRunner | None = None  # made at the first model-file check
        self._model_file: tuple[Path, bool] | None = None  # (path, is a file) as last answered
        if model_file_present is None:
            self.check_model_file()
        else:
            self._model_file = (Path(model.path), model_file_present)

    @property
    def recipe(self) -> Recipe:
        return self._recipe

    def set_recipe(self, recipe: Recipe) -> None:
        self._recipe = recipe
        self.recipe_changed.emit(recipe)

    @property
    def model(self) -> ModelState:
        return self._model

    def set_model(self, model: ModelState, *, file_present: bool | None = None) -> None:
        """``file_present``: whether the model's file is there, when the caller knows (e.g. the
        backend just loaded it); None: checked off the UI thread, and until the answer comes
        :meth:`model_file_present` keeps the last answer for the same path (None for a new one)."""
        self._model = model
        if file_present is None:
            self.check_model_file()
        else:
            self._model_file = (Path(model.path), file_present)
            self._cancel_model_file_check()
        self.model_changed.emit(model)

    # -- the model's file ----------------------------------------------------------------------------
    def model_file_present(self) -> bool | None:
        """Whether the current model's file is there: True / False as last checked off the UI thread,
        None while no answer for this model's path has come yet. Never touches the disk."""
        known = self._model_file
        if known is None or known[0] != Path(self._model.path):
            return None
        return known[1]

    def check_model_file(self) -> Job[tuple[Path, bool]]:
        """Ask the task runner whether the current model's file is there; the answer sets
        :meth:`model_file_present` and emits ``model_file_checked`` when it is new."""
        if self._tasks is None:
            self._tasks = TaskRunner(self, "model-file")
        path = Path(self._model.path)

        def failed(message: str) -> None:  # cannot even ask: as good as no file
            self._model_file_answered((path, False))

        return self._tasks.submit(
            MODEL_FILE_TAG, _model_file_job, path, on_done=self._model_file_answered, on_error=failed
        )

    def _cancel_model_file_check(self) -> None:
        if self._tasks is not None:
            self._tasks.cancel(MODEL_FILE_TAG)

    def _model_file_answered(self, answer: tuple[Path, bool]) -> None:
        path, present = answer
        if path != Path(self._model.path) or self._model_file == answer:
            return  # for a model that is no longer current, or nothing new
        self._model_file = answer
        self.model_file_checked.emit(present)

    @property
    def role(self) -> str:
        return self._role

    def set_role(self, role: str, user: str | None = None) -> None:
        self._role = role
        self.user = user or role
        self.personal = bool(user) or role != Role.OPERATOR
        self.role_changed.emit(role)

    def is_qa(self) -> bool:
        """QA or a higher role (engineer, admin) is logged in."""
        return self._role in (Role.QA, Role.ENGINEER, Role.ADMIN)

    def set_accounts(self, accounts: bool) -> None:
        if accounts != self.accounts:
            self.accounts = accounts
            self.role_changed.emit(self._role)  # the anonymous session's rights depend on it

    def may(self, right: Right) -> bool:
        """The rights table (inspector.core.accounts) for this session."""
        return allowed(self._role, right, personal=self.personal, accounts=self.accounts)

    def needs(self, right: Right) -> str:
        """Empty when allowed, else what it takes (for tooltips and refusals)."""
        if self.may(right):
            return ""
        if not self.personal and allowed(Role.OPERATOR, right, accounts=self.accounts):
            return self.tr("needs a personal login (Role ▸ Log in…)")
        from inspector.ui.i18n import needs_text

        return self.tr("{needs} (Role ▸ Log in…)").format(needs=needs_text(right))

    def refuse(self, right: Right, what: str) -> bool:
        """Checked at the action (a disabled button is not security): True, with a message and an
        audit event, when this session may not do ``what``. ``what`` is English (the audit event keeps
        it so) and marked with ``QT_TRANSLATE_NOOP("Refusal", ...)`` where it is written."""
        if self.may(right):
            return False
        self.notify(
            "warning",
            self.tr("{what} refused: {needs}.").format(
                what=QCoreApplication.translate("Refusal", what), needs=self.needs(right)
            ),
        )
        self.audit("access.denied", {"right": right.value, "what": what, "role": self._role})
        return True

    def notify(self, level: str, text: str) -> None:
        self.message.emit(level, text)

    def set_run_state(self, state: str) -> None:
        self.run_state = RunState(state)
        self.run_state_changed.emit(self.run_state)

    def audit(self, action: str, details: dict[str, Any] | None = None) -> None:
        """Record a privileged/operator action as an audit_event; never blocks (see roles.AuditLog)."""
        if self.audit_sink is not None:
            self.audit_sink(self.user, action, dict(details or {}))
