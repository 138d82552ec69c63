"""Release a trained run: Export -> Evaluate + gate -> Promote (QA) -> rebuild the engine; Rollback (QA).

Export and the engine build are child processes (TensorFlow / TensorRT never
load here); scoring for the gate runs ``python -m trainer evaluate`` children
from a background thread. The gate table shows candidate vs production side by
side; a failed gate can be overridden by QA only, with a reason, and the
override is its own audit event. After a promotion or a rollback
``ctx.set_model`` tells the status bar (and the live panel) what runs now.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
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

from inspector.core.model_card import load_card, sha256_file
from inspector.core.paths import user_data_dir
from inspector.core.promotion import (
    ComparisonRow,
    GateDecision,
    GateRules,
    ModelEval,
    compare,
    gate,
    install_model,
    promote,
    rollback,
)
from inspector.core.promotion_eval import DataSpec, evaluate_for_gate, trainer_command
from inspector.core.training_runs import RunInfo, export_path, read_run
from inspector.ui.context import AppContext, ModelState
from inspector.ui.trainer_process import JsonLineProcess, engine_program
from inspector.ui.trainer_tasks import BackgroundTask

ENGINE_UNAVAILABLE = 3  # exit code of `python -m inspector.core.engine build`: no TensorRT / GPU


def _cell(v: float | None, metric: str) -> str:
    if v is None or v != v:  # None or NaN
        return "–"
    return f"{int(v)}" if metric.startswith(("False", "Escapes")) else f"{v:.3f}"


class ReleasePanel(QWidget):
    log = Signal(str)
    model_applied = Signal(object)  # ModelState after a promotion / rollback

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
        self.candidate: ModelEval | None = None
        self.current: ModelEval | None = None
        self.decision: GateDecision | None = None
        self.comparison: list[ComparisonRow] = []
        self.engine_status = ""  # "" | building | built | unavailable | failed
        self._engine_model: Path | None = None
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
        self._build()
        ctx.role_changed.connect(lambda _r: self._update())
        ctx.model_changed.connect(lambda _m: self._update())
        self._update()

    # -- layout -----------------------------------------------------------------------------
    def _build(self) -> None:
        self.run_label = QLabel("No run selected")
        self.run_label.setWordWrap(True)
        self.export_button = QPushButton("1. Export ONNX")
        self.export_button.clicked.connect(self.export)
        self.reviewed_check = QCheckBox("Also score on the reviewed inspections")
        self.reviewed_check.setChecked(True)
        rules = QGroupBox("Gate tolerances")
        form = QFormLayout(rules)
        self.tnr_tol = QDoubleSpinBox()
        self.tnr_tol.setRange(0, 100)
        self.tnr_tol.setDecimals(2)
        self.tnr_tol.setSuffix(" pp")
        self.tnr_tol.setValue(100 * GateRules().tnr_tolerance)
        self.dice_tol = QDoubleSpinBox()
        self.dice_tol.setRange(0, 1)
        self.dice_tol.setDecimals(3)
        self.dice_tol.setSingleStep(0.005)
        self.dice_tol.setValue(GateRules().dice_defective_tolerance)
        form.addRow("TNR may drop by", self.tnr_tol)
        form.addRow("Dice defective may drop by", self.dice_tol)
        form.addRow(QLabel("TPR must not drop; escapes must not rise."))
        self.evaluate_button = QPushButton("2. Evaluate + gate")
        self.evaluate_button.clicked.connect(self.evaluate)
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["Data", "Metric", "Candidate", "Production", "Δ"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.decision_label = QLabel("")
        self.decision_label.setWordWrap(True)
        self.override_check = QCheckBox("Override the failed gate (QA)")
        self.override_reason = QLineEdit()
        self.override_reason.setPlaceholderText("Reason for the override (required, audited)")
        self.override_check.toggled.connect(lambda _on: self._update())
        self.override_reason.textChanged.connect(lambda _t: self._update())
        self.promote_button = QPushButton("3. Promote to production (QA)")
        self.promote_button.clicked.connect(self.promote)
        self.engine_button = QPushButton("Rebuild TensorRT engine")
        self.engine_button.setToolTip(
            "For the production model; a child process. Without TensorRT the station keeps ONNX Runtime."
        )
        self.engine_button.clicked.connect(lambda: self.build_engine(self.ctx.model.path))
        self.rollback_button = QPushButton("Roll back to the previous model (QA)")
        self.rollback_button.clicked.connect(self.rollback)
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
        lay.addWidget(self.rollback_button)
        lay.addWidget(self.state_label)

    def rules(self) -> GateRules:
        return GateRules(
            tnr_tolerance=self.tnr_tol.value() / 100, dice_defective_tolerance=self.dice_tol.value()
        )

    def _busy(self) -> bool:
        return self.proc.is_running() or self.task.is_running()

    def _update(self) -> None:
        busy, qa = self._busy(), self.ctx.is_qa()
        exported = self.run is not None and self.run.exported_model is not None
        self.export_button.setEnabled(not busy and self.run is not None and self.run.has_checkpoint)
        self.evaluate_button.setEnabled(not busy and exported)
        failed = self.decision is not None and not self.decision.passed
        self.override_check.setEnabled(qa and failed)
        self.override_reason.setEnabled(qa and failed and self.override_check.isChecked())
        may = self.decision is not None and (
            self.decision.passed
            or (self.override_check.isChecked() and bool(self.override_reason.text().strip()))
        )
        self.promote_button.setEnabled(not busy and qa and may)
        self.promote_button.setToolTip("" if qa else "QA only: log in as QA (Role menu)")
        self.rollback_button.setEnabled(not busy and qa)
        self.engine_button.setEnabled(not busy and Path(self.ctx.model.path).is_file())

    # -- run selection -------------------------------------------------------------------------
    def set_run(self, run: RunInfo | None) -> None:
        if run is None or self.run is None or run.path != self.run.path:
            self._clear_decision()
        self.run = run
        if run is None:
            self.run_label.setText("No run selected")
        else:
            model = run.exported_model
            self.run_label.setText(
                f"Run {run.name}: {run.status}, best val Dice "
                f"{'–' if run.best_val_dice is None else f'{run.best_val_dice:.3f}'}"
                f"{'' if model is None else ' · exported'}"
            )
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
        if self.run is None or self._busy():
            return
        self._proc_kind = "export"
        self.state_label.setText(f"Exporting {self.run.name} to ONNX…")
        self.proc.start([*self.trainer_cmd(), "export", str(self.run.path)])
        self._update()

    # -- 2. evaluate + gate --------------------------------------------------------------------
    def evaluate(self) -> None:
        if self.run is None or self.run.exported_model is None or self._busy():
            return
        self._clear_decision()
        candidate = self.run.exported_model
        current = Path(self.ctx.model.path) if Path(self.ctx.model.path).is_file() else None
        split = self.run.path / "split.json"
        validation = (
            DataSpec(Path(self.run.data), split if split.is_file() else None) if self.run.data else None
        )
        db = self.ctx.db if self.reviewed_check.isChecked() else None
        station, recipe = self.ctx.station, self.ctx.recipe  # judged by the rules the line runs now
        self.state_label.setText("Scoring the candidate and the production model…")
        self.task.start(
            lambda st: evaluate_for_gate(
                candidate, current, validation, db, st, station=station, recipe=recipe
            ),
            "promotion gate",
        )
        self._update()

    def _on_scored(self, result: tuple[ModelEval, ModelEval | None, list[str]]) -> None:
        self.candidate, self.current, notes = result
        self.comparison = compare(self.candidate, self.current)
        self.decision = gate(self.candidate, self.current, self.rules())
        self._fill_table()
        for note in notes:
            self.log.emit(f"gate: {note}")
        color = "#2e7d32" if self.decision.passed else "#c62828"
        self.decision_label.setStyleSheet(f"color: {color}; font-weight: 600;")
        self.decision_label.setText(self.decision.text())
        self.state_label.setText("Scored." if self.current else "Scored (no production model to compare).")
        self._update()

    def _fill_table(self) -> None:
        self.table.setRowCount(len(self.comparison))
        for r, row in enumerate(self.comparison):
            delta = row.delta
            values = (
                row.data_set,
                row.metric,
                _cell(row.candidate, row.metric),
                _cell(row.current, row.metric),
                "–" if delta is None or delta != delta else f"{delta:+.3f}",
            )
            for c, text in enumerate(values):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()

    def _on_task_failed(self, message: str) -> None:
        self.state_label.setText(f"Evaluation failed: {message}")
        self.ctx.notify("error", f"Promotion gate: {message}")
        self._update()

    # -- 3. promote ----------------------------------------------------------------------------
    def promote(self) -> bool:
        if not self.ctx.is_qa():
            self.ctx.notify("warning", "Only QA may promote a model.")
            return False
        if self.decision is None or self.candidate is None or self.run is None:
            self.ctx.notify("warning", "Evaluate the candidate against production first.")
            return False
        current_path = Path(self.ctx.model.path)
        now_sha = sha256_file(current_path) if current_path.is_file() else None
        if (self.current.sha256 if self.current else None) != now_sha:
            self._clear_decision()
            self.ctx.notify("warning", "The production model changed since the evaluation; evaluate again.")
            self._update()
            return False
        override = self.override_reason.text().strip() if self.override_check.isChecked() else None
        try:
            installed = install_model(self.candidate.model_path, self.models_dir)
            card = load_card(installed)
            info = promote(
                self.ctx.db, installed, card, self.ctx.user, self.decision, override, self.comparison
            )
        except Exception as exc:  # a refused gate, a full disk or a locked DB: say so, keep running
            self.ctx.notify("error", f"Promotion failed: {exc}")
            return False
        how = (
            f"OVERRIDE by {self.ctx.user}: {override}"
            if override and not self.decision.passed
            else "gate passed"
        )
        self.ctx.notify("info", f"Model {info.name} · {info.sha256[:8]} promoted to production ({how}).")
        self._apply(installed, card, "TensorRT engine: rebuilding…")
        self._clear_decision()
        self.build_engine(installed)
        return True

    def _apply(self, path: Path, card: Any, notice: str = "") -> None:
        state = ModelState(Path(path), card, notice=notice)
        self.ctx.set_model(state)
        self.model_applied.emit(state)

    # -- engine --------------------------------------------------------------------------------
    def build_engine(self, onnx: Path) -> None:
        if self.proc.is_running() or not Path(onnx).is_file():
            return
        self._proc_kind = "engine"
        self._engine_model = Path(onnx)
        self.engine_status = "building"
        self.state_label.setText("Building the TensorRT engine (child process)…")
        self.proc.start([*engine_program(), "build", "--onnx", str(onnx), "--progress", "json"])
        self._update()

    def _on_event(self, ev: dict[str, Any]) -> None:
        if ev.get("event") == "progress":
            self.state_label.setText(f"Engine: {ev.get('message', '')} ({ev.get('done')}/{ev.get('total')})")
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
        if status == "ok" and run is not None and export_path(run.path).is_file():
            self.state_label.setText(f"Exported {export_path(run.path)}")
            self.set_run(read_run(run.path))
        else:
            self.state_label.setText("Export failed: see the log.")
            self.ctx.notify(
                "error", f"Export of {run.name if run else 'the run'} failed; see the Trainer log."
            )

    def _engine_done(self, code: int, status: str) -> None:
        model, why = self._engine_model, self._last_engine_error
        self._last_engine_error = ""
        if status == "ok":
            self.engine_status, notice = "built", "TensorRT engine built; used from the next start of a run"
            level = "info"
        elif code == ENGINE_UNAVAILABLE:
            self.engine_status = "unavailable"
            notice = f"TensorRT unavailable on this machine ({why}); the station keeps ONNX Runtime"
            level = "warning"
        else:
            self.engine_status = "failed"
            notice = f"TensorRT engine build failed ({why or status}); the station keeps ONNX Runtime"
            level = "error"
        self.state_label.setText(notice)
        self.ctx.notify(level, notice)
        cur = self.ctx.model
        if model is not None and Path(cur.path) == model:
            self.ctx.set_model(ModelState(cur.path, cur.card, cur.backend_display, notice))

    # -- rollback ------------------------------------------------------------------------------
    def rollback(self) -> bool:
        if not self.ctx.is_qa():
            self.ctx.notify("warning", "Only QA may roll back the model.")
            return False
        try:
            info = rollback(self.ctx.db, self.ctx.user)
            path = Path(info.path)
            card = load_card(path)
        except Exception as exc:  # no previous model, file gone, DB locked: the station keeps running
            self.ctx.notify("error", f"Rollback failed: {exc}")
            return False
        self._apply(path, card)
        self.ctx.notify("info", f"Rolled back to model {card.name} · {card.sha256[:8]} (by {self.ctx.user}).")
        self._clear_decision()
        self._update()
        return True

    def shutdown(self) -> None:
        self.task.cancel()
        if self.proc.is_running():
            self.proc.cancel()
            self.proc.wait_stopped(3000)
