"""Release a trained run: Export -> Evaluate + gate -> Promote (QA) -> rebuild the engine; Rollback (QA).

Export and the engine build are child processes (TensorFlow / TensorRT never
load here); scoring for the gate runs ``python -m trainer evaluate`` children
from a background thread. The gate table shows candidate vs production side by
side; a failed gate can be overridden by QA only, with a reason, and the
override is its own audit event. Every promotion needs an explicit confirmation
(:class:`~inspector.ui.promotion_dialog.PromotionConfirmDialog`: the gate result and
the table; an override also shows its reason and needs ``OVERRIDE`` typed). The
production history lists every model that has been production (gate passed, not
gated, or the OVERRIDE mark) and QA rolls back to any of them in one step. After a
promotion or a rollback ``ctx.set_model`` tells the status bar (and the live panel)
what runs now, with the override mark when the model carries one.

No file or database work runs on the UI thread: the production history, rollback, the
promotion (the production model's hash check before the confirmation, then installing the
candidate and the DB write on the write lane) and reading a run back after its export are
jobs of the panel's task runner (:mod:`inspector.ui.tasks`); the panel's buttons are disabled
while one runs and a failure is shown in the message area. Whether a run's model was exported
comes with the run (:meth:`ReleasePanel.set_run`: the runs table read it off the UI thread), or,
when the caller does not know, from a ``release-run-files`` job; the gate's scoring job checks
the exported file again before it scores. Whether the production model's file
is there (the Rebuild button) is checked by a job whenever the model changes and kept in the
panel; the engine rebuild checks the file again in its own job before it starts the build.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inspector.core.accounts import Right
from inspector.core.model_card import ModelCard, load_card, sha256_file
from inspector.core.paths import user_data_dir
from inspector.core.training_runs import RunInfo, export_path, read_run
from inspector.services.parity_images import rebuild_parity_images
from inspector.services.promotion import (
    COMPRESSED_LIMITS,
    ComparisonRow,
    GateDecision,
    GateRules,
    ModelEval,
    ProductionEntry,
    compare,
    gate,
    install_model,
    override_mark,
    production_history,
    promote,
    rollback,
)
from inspector.services.promotion_eval import DataSpec, evaluate_for_gate, trainer_command
from inspector.ui.context import AppContext, ModelState
from inspector.ui.promotion_dialog import TABLE_HEADERS, PromotionConfirmDialog, fill_comparison_table
from inspector.ui.style import VERDICT_COLORS
from inspector.ui.table_rows import select_item
from inspector.ui.tasks import WRITE_LANE, Job, TaskRunner, TaskState
from inspector.ui.trainer_process import JsonLineProcess, engine_program
from inspector.ui.trainer_tasks import BackgroundTask

ENGINE_UNAVAILABLE = 3  # exit code of `python -m inspector.services.engine build`: no TensorRT / GPU
HISTORY_HEADERS = [
    "",
    QT_TRANSLATE_NOOP("ReleasePanel", "Model"),
    "sha256",
    QT_TRANSLATE_NOOP("ReleasePanel", "Last made production"),
    QT_TRANSLATE_NOOP("ReleasePanel", "By"),
    QT_TRANSLATE_NOOP("ReleasePanel", "Gate"),
]
ENGINE_TIP = QT_TRANSLATE_NOOP(
    "ReleasePanel",
    "For the production model; a child process. Without TensorRT the station keeps ONNX Runtime.",
)


def _history_job(_state: TaskState, db: Any) -> list[ProductionEntry]:
    return production_history(db)


@dataclasses.dataclass(frozen=True, slots=True)
class RolledBack:
    """What a rollback job hands back: the model that runs now and its override mark ("" without)."""

    path: Path
    card: ModelCard
    mark: str


def _rollback_job(_state: TaskState, db: Any, user: str, to_sha: str | None) -> RolledBack:
    info = rollback(db, user, to_sha=to_sha)
    path = Path(info.path)
    return RolledBack(path, load_card(path), override_mark(db, info.sha256) or "")


def production_sha(path: Path) -> str | None:
    """The sha256 of the production model file now (None without one): reads the whole file."""
    return sha256_file(path) if path.is_file() else None


def _production_sha_job(_state: TaskState, path: Path) -> str | None:
    return production_sha(path)


@dataclasses.dataclass(frozen=True, slots=True)
class PromoteRequest:
    """What QA confirmed: the candidate, the gate's verdict and the production model it was
    scored against (``current_sha`` None: there was none)."""

    candidate: Path
    models_dir: Path
    user: str
    decision: GateDecision
    override: str | None
    comparison: list[ComparisonRow]
    current_path: Path
    current_sha: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class Promoted:
    """What a promotion job hands back: the installed model and what the DB registered."""

    path: Path
    card: ModelCard
    name: str
    sha256: str


def _promote_job(_state: TaskState, db: Any, req: PromoteRequest) -> Promoted | None:
    """Install the candidate beside production and register + activate it. None, with nothing
    installed or written, when the production model changed since the evaluation."""
    if production_sha(req.current_path) != req.current_sha:
        return None
    installed = install_model(req.candidate, req.models_dir)
    card = load_card(installed)
    info = promote(db, installed, card, req.user, req.decision, req.override, req.comparison)
    return Promoted(installed, card, info.name, info.sha256)


def _model_file_job(_state: TaskState, path: Path) -> tuple[Path, bool]:
    """Whether the model file ``path`` is there (the Rebuild button needs one)."""
    return path, path.is_file()


def _exported_job(_state: TaskState, run_path: Path) -> tuple[Path, bool]:
    """Whether the run at ``run_path`` has an exported model (export/model.onnx)."""
    return run_path, export_path(run_path).is_file()


def _read_export_job(_state: TaskState, run_path: Path) -> RunInfo | None:
    """The run read back after its export; None when the export left no model."""
    return read_run(run_path) if export_path(run_path).is_file() else None


class ReleasePanel(QWidget):
    log = Signal(str)
    model_applied = Signal(ModelState)  # after a promotion / rollback
    exported = Signal(str)  # the run's folder, once its export has been read back

    def __init__(
        self,
        ctx: AppContext,
        parent: QWidget | None = None,
        trainer_cmd: Callable[[], list[str]] | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.trainer_cmd = trainer_cmd or trainer_command
        self.models_dir = Path(
            str(ctx.settings.value("trainer/models_dir", "") or user_data_dir() / "models")
        )
        self.run: RunInfo | None = None
        # whether self.run's model was exported, as known off the UI thread (False: no or not yet)
        self.run_exported = False
        self.candidate: ModelEval | None = None
        self.current: ModelEval | None = None
        self.decision: GateDecision | None = None
        self.comparison: list[ComparisonRow] = []
        self.engine_status = ""  # "" | building | built | unavailable | failed
        self._engine_model: Path | None = None
        # (path, is a file) of the production model as last checked off the UI thread; None: not yet
        self._model_file: tuple[Path, bool] | None = None
        self._last_engine_error = ""
        self.proc = JsonLineProcess(self)
        self.proc.log.connect(self.log)
        self.proc.event.connect(self._on_event)
        self.proc.finished.connect(self._on_proc_finished)
        self._proc_kind = ""
        self.task = BackgroundTask(self)
        self.task.progress.connect(lambda d, t, m: self.state_label.setText(f"{m} ({d}/{t})"))
        self.task.succeeded.connect(self._on_scored)
        self.task.failed.connect(self._on_task_failed)
        # the engine rebuild first collects real images for its parity check (reads the DB: off the UI thread)
        self.engine_images = BackgroundTask(self)
        self.engine_images.succeeded.connect(self._start_engine_build)
        self.engine_images.failed.connect(self._engine_images_failed)
        self.history: list[ProductionEntry] = []
        # from the click on Promote until it is stored, refused, cancelled or failed
        self._promoting = False
        # the production history, rollbacks, promotions, reading a run back: off the UI thread
        # (inspector.ui.tasks)
        self.tasks = TaskRunner(self, "release-panel")
        self._build()
        ctx.role_changed.connect(lambda _r: self._update())
        ctx.model_changed.connect(self._on_model_changed)
        ctx.production_changed.connect(self.refresh_history)
        self.refresh_history()
        self.check_model_file()
        self._update()

    # -- layout -----------------------------------------------------------------------------
    def _build(self) -> None:
        self.run_label = QLabel(self.tr("No run selected"))
        self.run_label.setWordWrap(True)
        self.export_button = QPushButton(self.tr("1. Export ONNX"))
        self.export_button.clicked.connect(self.export)
        self.reviewed_check = QCheckBox(self.tr("Also score on the reviewed inspections"))
        self.reviewed_check.setChecked(True)
        rules = QGroupBox(self.tr("Gate tolerances"))
        form = QFormLayout(rules)
        self.tnr_tol = QDoubleSpinBox()
        self.tnr_tol.setRange(0, 100)
        self.tnr_tol.setDecimals(2)
        self.tnr_tol.setSuffix(self.tr(" pp"))
        self.tnr_tol.setValue(100 * GateRules().tnr_tolerance)
        self.dice_tol = QDoubleSpinBox()
        self.dice_tol.setRange(0, 1)
        self.dice_tol.setDecimals(3)
        self.dice_tol.setSingleStep(0.005)
        self.dice_tol.setValue(GateRules().dice_defective_tolerance)
        form.addRow(self.tr("TNR may drop by"), self.tnr_tol)
        form.addRow(self.tr("Dice defective may drop by"), self.dice_tol)
        form.addRow(QLabel(self.tr("TPR must not drop; escapes must not rise.")))
        self.evaluate_button = QPushButton(self.tr("2. Evaluate + gate"))
        self.evaluate_button.clicked.connect(self.evaluate)
        self.table = QTableWidget(0, len(TABLE_HEADERS))
        self.table.setHorizontalHeaderLabels(
            [QCoreApplication.translate("PromotionConfirmDialog", h) for h in TABLE_HEADERS]
        )
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.decision_label = QLabel("")
        self.decision_label.setWordWrap(True)
        self.override_check = QCheckBox(self.tr("Override the failed gate (QA)"))
        self.override_reason = QLineEdit()
        self.override_reason.setPlaceholderText(self.tr("Reason for the override (required, audited)"))
        self.override_check.toggled.connect(lambda _on: self._update())
        self.override_reason.textChanged.connect(lambda _t: self._update())
        self.promote_button = QPushButton(self.tr("3. Promote to production (QA)"))
        self.promote_button.clicked.connect(self.promote)
        self.engine_button = QPushButton(self.tr("Rebuild TensorRT engine"))
        self.engine_button.setToolTip(self.tr(ENGINE_TIP))
        self.engine_button.clicked.connect(self.rebuild_engine)
        self.production_label = QLabel("")
        self.production_label.setWordWrap(True)
        self.history_table = QTableWidget(0, len(HISTORY_HEADERS))
        self.history_table.setHorizontalHeaderLabels([self.tr(h) if h else h for h in HISTORY_HEADERS])
        self.history_table.verticalHeader().hide()
        self.history_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.history_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.history_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.history_table.itemSelectionChanged.connect(self._update)
        self.rollback_button = QPushButton(self.tr("Roll back to the previous model (QA)"))
        self.rollback_button.clicked.connect(lambda: self.rollback())
        self.rollback_to_button = QPushButton(self.tr("Roll back to the selected model (QA)"))
        self.rollback_to_button.clicked.connect(self.rollback_to_selected)
        self.state_label = QLabel("")
        self.state_label.setWordWrap(True)

        lay = QVBoxLayout(self)
        lay.addWidget(self.run_label)
        lay.addWidget(self.export_button)
        lay.addWidget(self.reviewed_check)
        lay.addWidget(rules)
        lay.addWidget(self.evaluate_button)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.decision_label)
        over = QHBoxLayout()
        over.addWidget(self.override_check)
        over.addWidget(self.override_reason, 1)
        lay.addLayout(over)
        lay.addWidget(self.promote_button)
        lay.addWidget(self.engine_button)
        history = QGroupBox(self.tr("Production history"))
        hist = QVBoxLayout(history)
        hist.addWidget(self.production_label)
        hist.addWidget(self.history_table, 1)
        self.history_status = QLabel("")
        self.history_status.setProperty("muted", True)
        self.history_status.hide()
        hist.addWidget(self.history_status)
        buttons = QHBoxLayout()
        buttons.addWidget(self.rollback_button)
        buttons.addWidget(self.rollback_to_button)
        hist.addLayout(buttons)
        lay.addWidget(history, 1)
        lay.addWidget(self.state_label)

    def rules(self) -> GateRules:
        return GateRules(
            tnr_tolerance=self.tnr_tol.value() / 100, dice_defective_tolerance=self.dice_tol.value()
        )

    def _busy(self) -> bool:
        return (
            self.proc.is_running()
            or self.task.is_running()
            or self.engine_images.is_running()
            or self.rolling_back()
            or self.promoting()
            or self.tasks.busy("release-run")
        )

    def rolling_back(self) -> bool:
        return self.tasks.busy("release-rollback")

    def promoting(self) -> bool:
        """A promotion is on its way: its hash check, the confirmation or its install + DB write."""
        return self._promoting

    def history_loading(self) -> bool:
        return self.tasks.busy("release-history")

    def _update(self) -> None:
        busy, qa = self._busy(), self.ctx.may(Right.PROMOTE)
        exported = self.run is not None and self.run_exported
        train_needs = self.ctx.needs(Right.TRAIN)
        self.export_button.setEnabled(
            not busy and not train_needs and self.run is not None and self.run.has_checkpoint
        )
        self.export_button.setToolTip(
            self.tr("Export {needs}").format(needs=train_needs) if train_needs else ""
        )
        self.evaluate_button.setEnabled(not busy and exported)  # scoring changes nothing: anyone may
        failed = self.decision is not None and not self.decision.passed
        self.override_check.setEnabled(qa and failed)
        self.override_reason.setEnabled(qa and failed and self.override_check.isChecked())
        may = self.decision is not None and (
            self.decision.passed
            or (self.override_check.isChecked() and bool(self.override_reason.text().strip()))
        )
        self.promote_button.setEnabled(not busy and qa and may)
        self.promote_button.setToolTip(
            self.tr("Promotion {needs}").format(needs=self.ctx.needs(Right.PROMOTE)) if not qa else ""
        )
        for b in (self.rollback_button, self.rollback_to_button):
            b.setToolTip(
                self.tr("Rollback {needs}").format(needs=self.ctx.needs(Right.PROMOTE)) if not qa else ""
            )
        self.rollback_button.setEnabled(not busy and qa)
        selected = self.selected_history()
        self.rollback_to_button.setEnabled(
            not busy and qa and selected is not None and not selected.is_active
        )
        engine_needs = self.ctx.needs(Right.ENGINE)
        self.engine_button.setEnabled(not busy and not engine_needs and self.model_file_present())
        self.engine_button.setToolTip(
            self.tr("Rebuilding the engine {needs}").format(needs=engine_needs)
            if engine_needs
            else self.tr(ENGINE_TIP)
        )

    # -- run selection -------------------------------------------------------------------------
    def set_run(self, run: RunInfo | None, exported: bool | None = None) -> None:
        """Show ``run``; ``exported``: whether its model was exported, as the caller read it off the
        UI thread (the runs table does); None: a ``release-run-files`` job finds out, and until it
        answers Evaluate stays disabled."""
        if run is None or self.run is None or run.path != self.run.path:
            self._clear_decision()
        self.run = run
        self.run_exported = bool(exported) and run is not None
        if run is not None and exported is None:
            self.tasks.submit(
                "release-run-files",
                _exported_job,
                run.path,
                on_done=self._run_files_read,
                on_error=lambda message: self.log.emit(f"export: cannot check the run's model: {message}"),
            )
        else:
            self.tasks.cancel("release-run-files")  # an answer on its way is for an older selection
        self._show_run()

    def _run_files_read(self, answer: tuple[Path, bool]) -> None:
        path, exported = answer
        if self.run is None or self.run.path != path:
            return  # another run was selected meanwhile
        self.run_exported = exported
        self._show_run()

    def _show_run(self) -> None:
        run = self.run
        if run is None:
            self.run_label.setText(self.tr("No run selected"))
        else:
            from inspector.ui.trainer_runs import STATUS

            dice = "–" if run.best_val_dice is None else f"{run.best_val_dice:.3f}"
            status = (
                QCoreApplication.translate("RunsTable", STATUS[run.status])
                if run.status in STATUS
                else run.status
            )
            text = self.tr("Run {run}: {status}, best val Dice {dice}").format(
                run=run.name, status=status, dice=dice
            )
            if self.run_exported:
                text += " · " + self.tr("exported")
            self.run_label.setText(text)
        self._update()

    def _clear_decision(self) -> None:
        self.candidate = self.current = self.decision = None
        self.comparison = []
        self.table.setRowCount(0)
        self.decision_label.setText("")
        self.override_check.setChecked(False)
        self.override_reason.clear()

    # -- 1. export -----------------------------------------------------------------------------
    def export(self) -> None:
        if (
            self.run is None
            or self._busy()
            or self.ctx.refuse(Right.TRAIN, QT_TRANSLATE_NOOP("Refusal", "Export"))
        ):
            return
        self._proc_kind = "export"
        self.state_label.setText(self.tr("Exporting {run} to ONNX…").format(run=self.run.name))
        self.proc.start([*self.trainer_cmd(), "export", str(self.run.path)])
        self._update()

    # -- 2. evaluate + gate --------------------------------------------------------------------
    def evaluate(self) -> None:
        if self.run is None or not self.run_exported or self._busy():
            return
        self._clear_decision()
        candidate, run, production = export_path(self.run.path), self.run, Path(self.ctx.model.path)
        db = self.ctx.db if self.reviewed_check.isChecked() else None
        station, recipe = self.ctx.station, self.ctx.recipe  # judged by the rules the line runs now

        def score(st: Any) -> tuple[ModelEval, ModelEval | None, list[str]]:  # off the UI thread
            if not candidate.is_file():  # removed since the runs list was read
                raise FileNotFoundError(f"no exported model {candidate}: export the run again")
            current = production if production.is_file() else None
            split = run.path / "split.json"
            validation = DataSpec(Path(run.data), split if split.is_file() else None) if run.data else None
            return evaluate_for_gate(candidate, current, validation, db, st, station=station, recipe=recipe)

        self.state_label.setText(self.tr("Scoring the candidate and the production model…"))
        self.task.start(score, "promotion gate")
        self._update()

    def _on_scored(self, result: tuple[ModelEval, ModelEval | None, list[str]]) -> None:
        self.candidate, self.current, notes = result
        if self.candidate.compression.compressed and self.rules() == GateRules():
            # untouched plain-retrain tolerances: show the compressed model's (the gate caps at them)
            self.tnr_tol.setValue(100 * COMPRESSED_LIMITS.tnr_tolerance)
            self.dice_tol.setValue(COMPRESSED_LIMITS.dice_defective_tolerance)
        self.comparison = compare(self.candidate, self.current)
        self.decision = gate(self.candidate, self.current, self.rules())
        self._fill_table()
        for note in notes:
            self.log.emit(f"gate: {note}")
        color = "#2e7d32" if self.decision.passed else "#c62828"
        self.decision_label.setStyleSheet(f"color: {color}; font-weight: 600;")
        self.decision_label.setText(self.decision.text())
        self.state_label.setText(
            self.tr("Scored.") if self.current else self.tr("Scored (no production model to compare).")
        )
        self._update()

    def _fill_table(self) -> None:
        fill_comparison_table(self.table, self.comparison)

    def _on_task_failed(self, message: str) -> None:
        self.state_label.setText(self.tr("Evaluation failed: {error}").format(error=message))
        self.ctx.notify("error", self.tr("Promotion gate: {error}").format(error=message))
        self._update()

    # -- 3. promote ----------------------------------------------------------------------------
    def promote(self) -> bool:
        """Promote the evaluated candidate: True when started, False when refused.

        Off the UI thread, the production model's file is hashed: when it changed since the
        evaluation, nothing is asked and nothing promoted. Then QA confirms (the modal dialog, on
        the UI thread) and a write-lane job installs the candidate and records it in the DB; the
        context follows once it is stored. The buttons stay disabled until it ends.
        """
        if self.ctx.refuse(Right.PROMOTE, QT_TRANSLATE_NOOP("Refusal", "Promotion")):
            return False
        if self.decision is None or self.candidate is None or self.run is None:
            self.ctx.notify("warning", self.tr("Evaluate the candidate against production first."))
            return False
        if self._busy():
            return False
        override = self.override_reason.text().strip() if self.override_check.isChecked() else None
        if not self.decision.passed and not override:
            self.ctx.notify(
                "warning",
                self.tr("The candidate failed the gate: only a QA override with a reason promotes it."),
            )
            return False
        decision, production = self.decision, Path(self.ctx.model.path)
        self._promoting = True
        self.state_label.setText(self.tr("Checking the production model…"))
        self.tasks.submit(
            "release-promote-check",
            _production_sha_job,
            production,
            # the dialog opens outside the runner's delivery of results (it is modal)
            on_done=lambda now_sha: QTimer.singleShot(
                0, self, lambda: self._confirm_promotion(decision, override, production, now_sha)
            ),
            on_error=self._promotion_failed,
        )
        self._update()
        return True

    def _confirm_promotion(
        self, decision: GateDecision, override: str | None, production: Path, now_sha: str | None
    ) -> None:
        candidate = self.candidate
        if decision is not self.decision or candidate is None:  # the evaluation was cleared meanwhile
            self._promotion_ended()
            return
        evaluated_sha = self.current.sha256 if self.current else None
        if evaluated_sha != now_sha:
            self._production_changed()
            return
        if not self.confirm_promotion(override):
            self.ctx.audit(
                "model.promote.cancelled",
                {"sha256": candidate.sha256, "gate_passed": decision.passed, "override": override},
            )
            self.ctx.notify("info", self.tr("Promotion cancelled: production is unchanged."))
            self._promotion_ended()
            return
        request = PromoteRequest(
            candidate.model_path,
            self.models_dir,
            self.ctx.user,
            decision,
            override,
            list(self.comparison),
            production,
            evaluated_sha,
        )
        self.state_label.setText(self.tr("Promoting {name}…").format(name=candidate.model_path.parent.name))
        self.tasks.submit(
            "release-promote",
            _promote_job,
            self.ctx.db,
            request,
            on_done=lambda done: self._promoted(done, request),
            on_error=self._promotion_failed,
            lane=WRITE_LANE,
            supersede=False,  # a write: its result is never dropped
        )
        self._update()

    def _promoted(self, done: Promoted | None, req: PromoteRequest) -> None:
        if done is None:
            self._production_changed()
            return
        self._promotion_ended()
        overridden = bool(req.override) and not req.decision.passed
        how = (
            self.tr("OVERRIDE by {user}: {reason}").format(user=req.user, reason=req.override)
            if overridden
            else self.tr("gate passed")
        )
        self.ctx.notify(
            "warning" if overridden else "info",
            self.tr("Model {name} · {sha} promoted to production ({how}).").format(
                name=done.name, sha=done.sha256[:8], how=how
            ),
        )
        self._apply(
            done.path,
            done.card,
            self.tr("TensorRT engine: rebuilding…"),
            (req.override or "") if overridden else "",
        )
        self._clear_decision()
        self.ctx.production_changed.emit()
        self.build_engine(done.path)
        self._update()

    def _production_changed(self) -> None:
        self._promotion_ended()
        self._clear_decision()
        self.ctx.notify(
            "warning", self.tr("The production model changed since the evaluation; evaluate again.")
        )

    def _promotion_failed(self, message: str) -> None:
        # a refused gate, a full disk or a locked DB: say so, keep running
        self._promotion_ended()
        self.ctx.notify("error", self.tr("Promotion failed: {error}").format(error=message))

    def _promotion_ended(self) -> None:
        self._promoting = False
        self.state_label.setText("")
        self._update()

    def confirm_promotion(self, override: str | None) -> bool:
        """The explicit confirmation (modal): True only when QA confirmed in the dialog."""
        cand, decision = self.candidate, self.decision
        if cand is None or decision is None:
            return False
        run = self.run.name if self.run is not None else cand.model_path.stem
        production = (
            f"{self.ctx.model.card.name} · {self.current.sha256[:8]}" if self.current is not None else None
        )
        dialog = PromotionConfirmDialog(
            f"{run} · {cand.sha256[:8]}", production, decision, self.comparison, override, self
        )
        try:
            return dialog.exec() == QDialog.DialogCode.Accepted and dialog.confirmed()
        finally:
            dialog.deleteLater()

    def _apply(self, path: Path, card: Any, notice: str = "", override_reason: str = "") -> None:
        state = ModelState(Path(path), card, notice=notice, override_reason=override_reason)
        self.ctx.set_model(state)
        self.model_applied.emit(state)

    # -- engine --------------------------------------------------------------------------------
    def rebuild_engine(self) -> bool:
        """The Rebuild button: the production model's engine (after a promotion it is rebuilt by
        the promotion itself)."""
        if self.ctx.refuse(Right.ENGINE, QT_TRANSLATE_NOOP("Refusal", "Rebuilding the TensorRT engine")):
            return False
        if self._busy() or not self.model_file_present():
            return False
        self.ctx.audit(
            "engine.rebuild", {"model": str(self.ctx.model.path), "sha256": self.ctx.model.card.sha256}
        )
        self.build_engine(self.ctx.model.path)
        return True

    def build_engine(self, onnx: Path) -> None:
        """Rebuild the engine for ``onnx`` (a child process), its parity check on real images: the
        product's recent logged images, topped up from the selected run's validation split.

        Whether ``onnx`` is a file is checked in that job (off the UI thread): without one the
        build ends as failed, with a message, and no child process starts."""
        if self.proc.is_running() or self.engine_images.is_running():
            return
        model = self._engine_model = Path(onnx)
        self.engine_status = "building"
        self.state_label.setText(self.tr("Collecting recent line images for the engine's parity check…"))
        db, station, recipe, run = self.ctx.db, self.ctx.station, self.ctx.recipe.name, self.run

        def images(_st: Any) -> tuple[list[Path], str] | None:  # off the UI thread
            if not model.is_file():
                return None
            validation = None
            if run is not None and run.data:
                split = run.path / "split.json"
                validation = (Path(run.data), split if split.is_file() else None)
            return rebuild_parity_images(db, station, recipe, validation)

        self.engine_images.start(images, "engine parity images")
        self._update()

    def _engine_images_failed(self, message: str) -> None:
        self.log.emit(f"engine: no real images for the parity check ({message})")
        self._start_engine_build(([], ""))

    def _start_engine_build(self, found: tuple[list[Path], str] | None) -> None:
        onnx = self._engine_model
        if onnx is None or self.proc.is_running():
            return
        if found is None:  # the model file is gone: nothing to build
            self._engine_model_missing(onnx)
            return
        images, source = found
        cmd = [*engine_program(), "build", "--onnx", str(onnx), "--progress", "json"]
        if images:
            cmd += ["--images", *map(str, images), "--images-source", source]
            self.log.emit(f"engine: parity check on {source}")
        else:
            self.log.emit(
                f"engine: no logged or validation images{f' ({source})' if source else ''}; "
                "the parity check runs on synthetic textures"
            )
        self._proc_kind = "engine"
        self.state_label.setText(self.tr("Building the TensorRT engine (child process)…"))
        self.proc.start(cmd)
        self._update()

    def _engine_model_missing(self, onnx: Path) -> None:
        self.engine_status = "failed"
        why = f"no model file {onnx}"
        self.log.emit(f"engine: {why}")
        notice = self.tr("TensorRT engine build failed ({why}); the station keeps ONNX Runtime")
        notice = notice.format(why=why)
        self.state_label.setText(notice)
        self.ctx.notify("error", notice)
        if Path(self.ctx.model.path) == onnx:
            self._model_file = (onnx, False)
        self._update()

    def _on_event(self, ev: dict[str, Any]) -> None:
        if ev.get("event") == "progress":
            self.state_label.setText(
                self.tr("Engine: {message} ({done}/{total})").format(
                    message=ev.get("message", ""), done=ev.get("done"), total=ev.get("total")
                )
            )
        elif ev.get("event") == "error":
            self._last_engine_error = str(ev.get("message", ""))

    def _on_proc_finished(self, code: int, status: str) -> None:
        kind, self._proc_kind = self._proc_kind, ""
        if kind == "export":
            self._export_done(status)
        elif kind == "engine":
            self._engine_done(code, status)
        self._update()

    def _export_done(self, status: str) -> None:
        run = self.run
        if status != "ok" or run is None:
            self._export_failed(run)
            return

        def failed(message: str) -> None:
            self.log.emit(f"export: cannot read the run back: {message}")
            self._export_failed(run)

        self.state_label.setText(self.tr("Reading the exported run…"))
        self.tasks.submit(
            "release-run",
            _read_export_job,
            run.path,
            on_done=lambda info: self._exported(run, info),
            on_error=failed,
        )

    def _exported(self, run: RunInfo, info: RunInfo | None) -> None:
        if self.run is None or self.run.path != run.path:  # another run was selected meanwhile
            self.state_label.setText("")
            self._update()
            return
        if info is None:
            self._export_failed(run)
            return
        self.state_label.setText(self.tr("Exported {path}").format(path=export_path(run.path)))
        self.set_run(info, exported=True)  # the job found the exported model
        self.exported.emit(str(run.path))

    def _export_failed(self, run: RunInfo | None) -> None:
        self.state_label.setText(self.tr("Export failed: see the log."))
        self.ctx.notify(
            "error",
            self.tr("Export of {run} failed; see the Trainer log.").format(
                run=run.name if run else self.tr("the run")
            ),
        )
        self._update()

    def _engine_done(self, code: int, status: str) -> None:
        model, why = self._engine_model, self._last_engine_error
        self._last_engine_error = ""
        if status == "ok":
            self.engine_status = "built"
            notice = self.tr("TensorRT engine built and parity-checked; used from the next start of a run")
            level = "info"
        elif code == ENGINE_UNAVAILABLE:
            self.engine_status = "unavailable"
            notice = self.tr(
                "TensorRT unavailable on this machine ({why}); the station keeps ONNX Runtime"
            ).format(why=why)
            level = "warning"
        else:
            self.engine_status = "failed"
            notice = self.tr("TensorRT engine build failed ({why}); the station keeps ONNX Runtime").format(
                why=why or status
            )
            level = "error"
        self.state_label.setText(notice)
        self.ctx.notify(level, notice)
        cur = self.ctx.model
        if model is not None and Path(cur.path) == model:
            self.ctx.set_model(dataclasses.replace(cur, notice=notice))  # keeps the override mark

    # -- production history / rollback -----------------------------------------------------------
    def refresh_history(self) -> Job[list[ProductionEntry]]:
        """Re-read the production history off the UI thread (after promote / rollback / start-up
        registration); the old rows stay until the new ones are in, a newer refresh wins."""
        self.history_status.setText(self.tr("Loading the production history…"))
        self.history_status.show()

        def failed(message: str) -> None:  # a locked or unreachable DB: say so, keep the old list
            self.history_status.hide()
            self.ctx.notify(
                "error", self.tr("Cannot read the production history: {error}").format(error=message)
            )

        return self.tasks.submit(
            "release-history", _history_job, self.ctx.db, on_done=self._show_history, on_error=failed
        )

    def _show_history(self, history: list[ProductionEntry]) -> None:
        self.history_status.hide()
        self.history = history
        selected = self.selected_history()
        t = self.history_table
        t.blockSignals(True)
        t.clearSelection()
        t.setRowCount(len(self.history))
        warn = QColor(VERDICT_COLORS["NG"])
        for r, e in enumerate(self.history):
            values = (
                "▶ " + self.tr("active") if e.is_active else "",
                e.name,
                e.sha256[:12],
                e.promoted_at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
                e.promoted_by,
                e.gate_text(),
            )
            for c, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{e.path}\nsha256 {e.sha256}")
                if e.overridden:
                    item.setForeground(warn)
                t.setItem(r, c, item)
        t.resizeColumnsToContents()
        t.blockSignals(False)
        if selected is not None:
            self.select_history(selected.sha256)
        self._show_production()
        self._update()

    def selected_history(self) -> ProductionEntry | None:
        rows = sorted({i.row() for i in self.history_table.selectedIndexes()})
        return self.history[rows[0]] if rows and rows[0] < len(self.history) else None

    def select_history(self, sha256: str) -> bool:
        return select_item(self.history_table, self.history, lambda e: e.sha256 == sha256)

    def _show_production(self) -> None:
        m = self.ctx.model
        running = (
            self.tr("Running: {name} · {sha}").format(name=m.card.name, sha=m.card.sha256[:8])
            if m.card.sha256
            else self.tr("Running: no model")
        )
        if m.override_reason:
            self.production_label.setText(
                running + " — " + self.tr("⚠ OVERRIDE: promoted without passing the gate")
            )
            self.production_label.setToolTip(
                self.tr("Override reason: {reason}").format(reason=m.override_reason)
            )
            self.production_label.setStyleSheet(f"color: {VERDICT_COLORS['NG']}; font-weight: 600;")
        else:
            self.production_label.setText(running)
            self.production_label.setToolTip("")
            self.production_label.setStyleSheet("")

    def _on_model_changed(self, _model: ModelState) -> None:
        self._show_production()
        self.check_model_file()
        self._update()

    # -- the production model's file ---------------------------------------------------------------
    def model_file_present(self) -> bool:
        """The production model's file was there at the last check (False while none answered for
        this model yet)."""
        known = self._model_file
        return known is not None and known[1] and known[0] == Path(self.ctx.model.path)

    def check_model_file(self) -> Job[tuple[Path, bool]]:
        """Check off the UI thread whether the production model's file is there; the answer
        enables the Rebuild button. Until it arrives the last answer for the same path stands."""
        return self.tasks.submit(
            "release-model-file",
            _model_file_job,
            Path(self.ctx.model.path),
            on_done=self._model_file_checked,
            on_error=lambda message: self.log.emit(f"engine: cannot check the model file: {message}"),
        )

    def _model_file_checked(self, answer: tuple[Path, bool]) -> None:
        self._model_file = answer
        self._update()

    def rollback_to_selected(self) -> bool:
        entry = self.selected_history()
        if entry is None:
            self.ctx.notify("warning", self.tr("Pick a model in the production history first."))
            return False
        return self.rollback(entry.sha256)

    def rollback(self, to_sha: str | None = None) -> bool:
        """Back to the previous production model, or to any earlier one (``to_sha``), in one step.

        The database work runs off the UI thread (write lane); True when it was started, False
        when refused or another rollback is still running. The context changes once it is stored.
        """
        if self.ctx.refuse(Right.PROMOTE, QT_TRANSLATE_NOOP("Refusal", "Rollback")):
            return False
        if self.rolling_back():
            return False
        user = self.ctx.user

        # no previous model, file gone, DB locked: the station keeps running
        def failed(message: str) -> None:
            self.state_label.setText("")
            self.ctx.notify("error", self.tr("Rollback failed: {error}").format(error=message))
            self._update()

        self.state_label.setText(self.tr("Rolling back…"))
        self.tasks.submit(
            "release-rollback",
            _rollback_job,
            self.ctx.db,
            user,
            to_sha,
            on_done=lambda done: self._rolled_back(done, user),
            on_error=failed,
            lane=WRITE_LANE,
            supersede=False,
        )
        self._update()
        return True

    def _rolled_back(self, done: RolledBack, user: str) -> None:
        card, mark = done.card, done.mark
        self.state_label.setText("")
        self._apply(done.path, card, override_reason=mark)
        self.ctx.notify(
            "info",
            self.tr("Rolled back to model {name} · {sha} (by {user}).").format(
                name=card.name, sha=card.sha256[:8], user=user
            ),
        )
        if mark:
            self.ctx.notify(
                "warning",
                self.tr(
                    "Model {name} · {sha} was promoted by OVERRIDE without passing the gate ({reason})."
                ).format(name=card.name, sha=card.sha256[:8], reason=mark),
            )
        self._clear_decision()
        self.ctx.production_changed.emit()
        self._update()

    def shutdown(self) -> None:
        self.task.cancel()
        self.tasks.close(wait=True, timeout=5)
        if self.proc.is_running():
            self.proc.cancel()
            self.proc.wait_stopped(3000)
