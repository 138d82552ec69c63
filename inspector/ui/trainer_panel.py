"""Trainer tab: pick data, train as a child process, watch the curves, list past runs.

Training is ``python -m trainer train ... --progress json`` in a QProcess
(TensorFlow never loads in the station: docs/architecture.md); its JSON lines drive
the progress bar, ETA and the learning curves. Cancel sends SIGTERM: the
trainer stops after the current step and keeps its best checkpoint.
The release steps for a finished run (export, gate, promote, engine, rollback)
live in :mod:`inspector.ui.release_panel`.

Settings left at "auto" are chosen by the trainer from the data (the same defaults as
``inspector-train train --data DIR --out RUN``). Picking a folder reads it off the UI
thread (``trainer.data.summary``, no TensorFlow) and shows what training will see:
counts, sizes, defect share, the files it refuses and why, and the settings it would
choose. At the end the tab shows the test-split figures (threshold chosen on val) and
the precision/recall curves of the final evaluation.

No file work runs on the UI thread: the past runs are read by the runs table's job
(:mod:`inspector.ui.trainer_runs`, with whether each run's model was exported: the release steps
get that answer with the run), whether the data folder is there and the new run's folder name by
the ``trainer-start`` job (Start answers at once; a missing folder is said when the job ends) and
by the data summary's job, a finished run's checkpoint and result.json by the panel's
``trainer-finished`` job, the precision/recall image by ``trainer-pr-curve`` (the QPixmap is
made from its bytes on the UI thread), and whether the production model's file is there comes
from the context (``ctx.model_file_present()``, checked off the UI thread when the model changes).

"Fine-tune the production model" passes ``--init-from <current model>``: the
trainer rebuilds the U-Net from the model card's training config, loads the
ONNX weights and refuses to start unless Keras matches ONNX Runtime. It is
offered only when the current model's card has that config (architecture).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from inspector.core.accounts import Right
from inspector.core.paths import user_data_path
from inspector.core.training_runs import RunInfo, new_run_dir
from inspector.services.promotion_eval import trainer_command
from inspector.services.training_data import PreparedData, prepare_training_data
from inspector.ui.context import AppContext
from inspector.ui.release_panel import ReleasePanel
from inspector.ui.tasks import TaskRunner, TaskState
from inspector.ui.trainer_process import JsonLineProcess
from inspector.ui.trainer_runs import RunsListing, RunsTable, read_runs
from inspector.ui.trainer_tasks import BackgroundTask

LOG_LINES = 5000
# (CLI flag, label, default, min, max): what a process engineer tunes most; the rest keeps trainer defaults.
# 0 = "auto": the flag is left out and the trainer chooses from the data (as on the command line).
AUTO = 0
PARAMS: tuple[tuple[str, str, int, int, int], ...] = (
    ("--epochs", QT_TRANSLATE_NOOP("TrainerPanel", "Epochs"), AUTO, AUTO, 1000),
    ("--steps-per-epoch", QT_TRANSLATE_NOOP("TrainerPanel", "Steps per epoch"), AUTO, AUTO, 10000),
    ("--batch", QT_TRANSLATE_NOOP("TrainerPanel", "Batch"), AUTO, AUTO, 256),
    ("--crop", QT_TRANSLATE_NOOP("TrainerPanel", "Crop (px)"), AUTO, AUTO, 4096),
    ("--base-filters", QT_TRANSLATE_NOOP("TrainerPanel", "Base filters"), 16, 1, 128),
)
# What the trainer needs from the card to rebuild the net (trainer.init_from reads the same keys;
# not imported from there because the station must not pull in trainer modules that load TF).
ARCH_KEYS = ("base_filters", "depth")
FINETUNE_HELP = QT_TRANSLATE_NOOP(
    "TrainerPanel",
    "Fine-tuning starts from the production model's weights, with its architecture "
    "(base filters and depth come from its model card, so that setting is locked). "
    "The trainer checks the rebuilt net against the ONNX file before the first step. "
    "Otherwise a fresh U-Net is trained from random weights.",
)


def format_eta(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return QCoreApplication.translate("TrainerPanel", "ETA {time}").format(time="–")
    s = round(seconds)
    time = f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
    return QCoreApplication.translate("TrainerPanel", "ETA {time}").format(time=time)


class Curves(QWidget):
    """Loss per step and val loss / val Dice per epoch; plot items made once, then setData."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loss_plot = pg.PlotWidget(title=self.tr("Loss"))
        self.dice_plot = pg.PlotWidget(title=self.tr("Validation Dice"))
        for p in (self.loss_plot, self.dice_plot):
            p.showGrid(x=True, y=True, alpha=0.3)
            p.setLabel("bottom", self.tr("epoch"))
            p.addLegend(offset=(-10, 10))
        self.dice_plot.setYRange(0, 1)
        self.train_loss = self.loss_plot.plot(
            pen=pg.mkPen((80, 160, 255), width=1), name=self.tr("train (per step)")
        )
        self.val_loss = self.loss_plot.plot(
            pen=pg.mkPen((255, 150, 40), width=2), symbol="o", symbolSize=5, name=self.tr("val")
        )
        self.val_dice = self.dice_plot.plot(
            pen=pg.mkPen((60, 200, 90), width=2), symbol="o", symbolSize=5, name=self.tr("val Dice")
        )
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.loss_plot)
        lay.addWidget(self.dice_plot)
        self.clear()

    def clear(self) -> None:
        self.steps: list[tuple[float, float]] = []
        self.epochs: list[tuple[int, float, float]] = []
        for item in (self.train_loss, self.val_loss, self.val_dice):
            item.setData([], [])

    def add_step(self, x: float, loss: float) -> None:
        if math.isfinite(loss):
            self.steps.append((x, loss))
            self.train_loss.setData([s[0] for s in self.steps], [s[1] for s in self.steps])

    def add_epoch(self, epoch: int, val_loss: float, val_dice: float) -> None:
        self.epochs.append((epoch, val_loss, val_dice))
        xs = [e[0] for e in self.epochs]
        self.val_loss.setData(xs, [e[1] for e in self.epochs])
        self.val_dice.setData(xs, [e[2] for e in self.epochs])


def _num(v: Any) -> float:
    return float(v) if isinstance(v, int | float) else math.nan


def _pct(v: Any) -> str:
    x = _num(v)
    return "n/a" if not math.isfinite(x) else f"{100 * x:.1f} %"


def result_text(ev: dict[str, Any]) -> str:
    """The final evaluation (an ``evaluation`` event or result.json) in a few lines."""
    split = str(ev.get("report_split") or "test")
    m = ev.get(split) or {}
    if not m:
        return ""
    tp, fn, tn, fp = (
        int(_num(m.get(k)) if math.isfinite(_num(m.get(k))) else 0) for k in ("tp", "fn", "tn", "fp")
    )
    head = (
        QCoreApplication.translate("TrainerPanel", "Test split")
        if split == "test"
        else QCoreApplication.translate(
            "TrainerPanel", "{split} split (no test split: these are the val figures)"
        ).format(split=split.capitalize())
    )
    return QCoreApplication.translate(
        "TrainerPanel",
        "{head}: {n} images, {defective} defective; threshold {threshold:.2f} chosen on val\nimage TPR {tpr} "
        "({tp}/{pos}), TNR {tnr} ({tn}/{neg}); Dice defective {dice_def:.3f}, all {dice_all:.3f}; AUROC "
        "{auroc:.3f}, AP {ap:.3f}",
    ).format(
        head=head,
        n=m.get("n_images"),
        defective=m.get("n_defective"),
        threshold=_num(ev.get("threshold")),
        tpr=_pct(m.get("tpr")),
        tp=tp,
        pos=tp + fn,
        tnr=_pct(m.get("tnr")),
        tn=tn,
        neg=tn + fp,
        dice_def=_num(m.get("dice_defective")),
        dice_all=_num(m.get("dice_all")),
        auroc=_num(m.get("auroc")),
        ap=_num(m.get("average_precision")),
    )


RESUME_TIP = QT_TRANSLATE_NOOP(
    "TrainerPanel",
    "Continue a cancelled or unfinished run from its last epoch (same data, same split); "
    "Epochs above sets the new total",
)


@dataclass(frozen=True, slots=True)
class FinishedRun:
    """What the panel reads of a run when its child ended (off the UI thread)."""

    checkpoint: bool  # best.keras is there
    result: dict[str, Any]  # result.json with the evaluation folders; {} when not read
    listing: RunsListing | None  # the runs folder afterwards


def read_result(run: Path) -> dict[str, Any]:
    """A run's result.json with its evaluation folders (``eval_dirs``); {} when unreadable."""
    try:
        result = json.loads((run / "result.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(result, dict):
        return {}
    return {**result, "eval_dirs": [str(run / "eval_val"), str(run / "eval_test")]}


def _finished_job(_state: TaskState, run: Path | None, runs_dir: Path, want_result: bool) -> FinishedRun:
    checkpoint = run is not None and (run / "best.keras").is_file()
    result = read_result(run) if run is not None and want_result else {}
    return FinishedRun(checkpoint, result, read_runs(runs_dir))


START_TAG = "trainer-start"


@dataclass(frozen=True, slots=True)
class StartCheck:
    """What the ``trainer-start`` job found: the new run's folder (named, not created; the trainer
    creates it), or None when the data folder is not there."""

    run_dir: Path | None


def _start_job(_state: TaskState, folder: Path | None, runs_dir: Path) -> StartCheck:
    if folder is not None and not folder.is_dir():
        return StartCheck(None)
    return StartCheck(new_run_dir(runs_dir))


@dataclass(frozen=True, slots=True)
class MissingFolder:
    """The data summary's answer when the folder is not there."""

    path: Path


def load_pr_curve(eval_dirs: list[str]) -> QImage | None:
    """The final evaluation's pr_curve.png (the last folder that has one first) as a QImage; None
    when there is none. Any thread: a QImage, not a QPixmap, is made here."""
    for d in eval_dirs[::-1]:
        path = Path(d) / "pr_curve.png"
        if not path.is_file():
            continue
        image = QImage()
        if image.loadFromData(path.read_bytes()):
            return image
    return None


def _pr_curve_job(_state: TaskState, eval_dirs: list[str]) -> QImage | None:
    return load_pr_curve(eval_dirs)


def _scrolling(widget: QWidget) -> QScrollArea:
    """``widget`` in a frameless, vertically scrolling area that never squashes it below its size hint."""
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setMinimumWidth(widget.minimumSizeHint().width() + area.verticalScrollBar().sizeHint().width())
    return area


class TrainerPanel(QWidget):
    """The Trainer tab. ``trainer_cmd`` / ``runs_dir`` are attributes so tests can swap them."""

    run_finished = Signal(str, str)  # run dir, status (completed | early_stop | cancelled | failed)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.trainer_cmd: list[str] = trainer_command()
        # the path only: the trainer creates the folders of a run (no mkdir on the UI thread)
        self.runs_dir = Path(str(ctx.settings.value("trainer/runs_dir", "") or user_data_path() / "runs"))
        self.run_dir: Path | None = None
        self.last_error = ""
        self.status = "idle"  # idle | starting | preparing | training | cancelling | finishing
        self.tasks = TaskRunner(self, "trainer")
        self.proc = JsonLineProcess(self)
        self.proc.event.connect(self._on_event)
        self.proc.log.connect(self.append_log)
        self.proc.finished.connect(self._on_finished)
        self.prep = BackgroundTask(self)
        self.prep.succeeded.connect(self._on_data_ready)
        self.prep.failed.connect(self._on_prep_failed)
        self.check = BackgroundTask(self)
        self.check.succeeded.connect(self._on_summary)
        self.check.failed.connect(self._on_summary_failed)
        self.summary_lines: list[str] = []
        self._build()
        self.runs.refresh()
        ctx.role_changed.connect(self._on_role)  # a bound slot: disconnected when the panel goes
        self._update_buttons()

    # -- layout -----------------------------------------------------------------------------
    def _build(self) -> None:
        data = QGroupBox(self.tr("Data"))
        self.data_edit = QLineEdit(str(self.ctx.settings.value("trainer/data", "") or ""))
        self.data_edit.setPlaceholderText(self.tr("DAGM folder or images/ + masks/ folder (optional)"))
        browse = QPushButton(self.tr("Browse…"))
        browse.clicked.connect(self._browse)
        self.reviewed_check = QCheckBox(self.tr("Reviewed inspections from the verdict log"))
        self.reviewed_check.setToolTip(
            self.tr(
                "False rejects / confirmed OK as defect-free, confirmed NG and labelled "
                "missed defects with their masks; merged with the folder when both are on"
            )
        )
        row = QHBoxLayout()
        row.addWidget(self.data_edit, 1)
        row.addWidget(browse)
        self.check_button = QPushButton(self.tr("Check data"))
        self.check_button.setToolTip(
            self.tr("Read the folder as training will: counts, sizes, refused files")
        )
        self.check_button.clicked.connect(self.check_data)
        row.addWidget(self.check_button)
        self.data_edit.editingFinished.connect(self.check_data)
        self.summary_label = QLabel("")
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        dl = QVBoxLayout(data)
        dl.addLayout(row)
        dl.addWidget(self.summary_label)
        dl.addWidget(self.reviewed_check)

        start_from = QGroupBox(self.tr("Start from"))
        self.fresh_radio = QRadioButton(self.tr("Fresh U-Net"))
        self.fresh_radio.setChecked(True)
        self.finetune_radio = QRadioButton(self.tr("Fine-tune the production model"))
        self.finetune_note = QLabel()
        self.finetune_note.setWordWrap(True)
        self.finetune_note.setProperty("muted", True)
        sl = QVBoxLayout(start_from)
        sl.addWidget(self.fresh_radio)
        sl.addWidget(self.finetune_radio)
        sl.addWidget(self.finetune_note)

        params = QGroupBox(self.tr("Settings"))
        form = QFormLayout(params)
        self.params: dict[str, QSpinBox] = {}
        for flag, label, default, lo, hi in PARAMS:
            sb = QSpinBox()
            sb.setRange(lo, hi)
            if lo == AUTO:
                sb.setSpecialValueText(self.tr("auto (from the data)"))
            sb.setValue(default)
            self.params[flag] = sb
            form.addRow(self.tr(label), sb)
        self._fresh_base_filters = self.params["--base-filters"].value()
        self.finetune_radio.toggled.connect(self._on_start_from_changed)
        self.ctx.model_changed.connect(lambda _m: self._update_finetune())
        self.ctx.model_file_checked.connect(lambda _present: self._update_finetune())
        self._update_finetune()

        self.start_button = QPushButton(self.tr("Start training"))
        self.start_button.clicked.connect(self.start_training)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.setToolTip(self.tr("Stops after the current step; the best checkpoint is kept"))
        self.cancel_button.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.eta_label = QLabel(format_eta(None))
        self.status_label = QLabel(self.tr("Idle"))
        self.status_label.setWordWrap(True)

        self.runs = RunsTable(lambda: self.runs_dir)
        self.runs.run_selected.connect(self._on_run_selected)
        self.runs.read_failed.connect(self._on_runs_failed)

        left = QWidget()
        ll = QVBoxLayout(left)
        for w in (data, start_from, params):
            ll.addWidget(w)
        ll.addLayout(buttons)
        ll.addWidget(self.progress)
        ll.addWidget(self.eta_label)
        ll.addWidget(self.status_label)
        ll.addWidget(QLabel(self.tr("Past runs")))
        ll.addWidget(self.runs, 1)
        runs_buttons = QHBoxLayout()
        self.refresh_button = QPushButton(self.tr("Refresh"))
        self.refresh_button.clicked.connect(lambda: self.runs.refresh())
        self.resume_button = QPushButton(self.tr("Resume selected run"))
        self.resume_button.setToolTip(self.tr(RESUME_TIP))
        self.resume_button.clicked.connect(self.resume_training)
        runs_buttons.addWidget(self.refresh_button)
        runs_buttons.addWidget(self.resume_button)
        ll.addLayout(runs_buttons)

        self.curves = Curves()
        self.result_label = QLabel("")
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.pr_view = QLabel()
        self.pr_view.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pr_view.setToolTip(self.tr("Precision/recall of the final evaluation (test split)"))
        result_box = QWidget()
        rl = QVBoxLayout(result_box)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.result_label)
        rl.addWidget(self.pr_view, 1)
        self.log_view = QPlainTextEdit()
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(LOG_LINES)  # a week of runs must not eat the memory
        self.release = ReleasePanel(self.ctx, self, trainer_cmd=lambda: self.trainer_cmd)
        self.release.log.connect(self.append_log)
        # the runs list shows the new export (and hands the release steps its answer again)
        self.release.exported.connect(lambda run: self.runs.refresh(select=Path(run)))
        middle = QSplitter(Qt.Orientation.Vertical)
        middle.addWidget(self.curves)
        middle.addWidget(result_box)
        middle.addWidget(self.log_view)
        self.runs.setMinimumHeight(110)
        split = QSplitter(Qt.Orientation.Horizontal)
        # the settings and the release steps scroll instead of squashing their fields when the
        # window is short (1440x900 with the messages dock left ~8 px per spin box)
        split.addWidget(_scrolling(left))
        split.addWidget(middle)
        split.addWidget(_scrolling(self.release))
        split.setStretchFactor(1, 2)
        QVBoxLayout(self).addWidget(split)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, self.tr("Training data folder"), self.data_edit.text()
        )
        if folder:
            self.data_edit.setText(folder)
            self.check_data()

    # -- data summary -----------------------------------------------------------------------
    def check_data(self) -> bool:
        """Summarise the data folder off the UI thread (what training will read, refuse, choose);
        the job also finds out whether the folder is there. True when the job was started."""
        text = self.data_edit.text().strip()
        if not text or self.check.is_running():
            return False
        folder = Path(text)
        fields = {k: v for k, v in self._chosen_fields().items() if k in ("crop", "batch")}
        self.summary_label.setText(self.tr("Reading {folder}…").format(folder=folder))

        def run(_state: object) -> object:
            if not folder.is_dir():
                return MissingFolder(folder)
            from trainer.data.summary import summarise

            return summarise(folder, fields)

        self.check.start(run, "data summary")
        return True

    def _chosen_fields(self) -> dict[str, int]:
        return {
            flag.removeprefix("--").replace("-", "_"): sb.value()
            for flag, sb in self.params.items()
            if sb.value() != AUTO
        }

    def _on_summary(self, summary: Any) -> None:
        if isinstance(summary, MissingFolder):
            text = self.tr("Data folder not found: {folder}").format(folder=summary.path)
            self.summary_lines = [text]
            self.summary_label.setText(text)
            self.summary_label.setToolTip("")
            return
        self.summary_lines = list(summary.lines())
        shown = self.summary_lines[1:12] + (["…"] if len(self.summary_lines) > 12 else [])
        self.summary_label.setText("\n".join(shown))
        self.summary_label.setToolTip("\n".join(self.summary_lines))

    def _on_summary_failed(self, message: str) -> None:
        self.summary_lines = [message]
        self.summary_label.setText(self.tr("Cannot train on this folder: {error}").format(error=message))

    # -- start from -------------------------------------------------------------------------
    def finetune_source(self) -> tuple[Path | None, str]:
        """(current model, "") when it can be fine-tuned, else (None, why not)."""
        model = self.ctx.model
        config = model.card.config
        missing = [k for k in ARCH_KEYS if k not in config]
        if missing:
            return None, self.tr(
                "The current model ({name}) has no training config in its model card (missing {missing}), so "
                "its network cannot be rebuilt: only a fresh U-Net can be trained."
            ).format(name=model.card.name, missing=", ".join(missing))
        present = self.ctx.model_file_present()  # checked off the UI thread when the model changed
        if model.path.suffix.lower() != ".onnx" or present is False:
            why = self.tr("The current model file is not an ONNX file on disk: {path}")
            return None, why.format(path=model.path)
        if present is None:
            return None, self.tr("Checking the current model file {path}…").format(path=model.path)
        return model.path, ""

    def _update_finetune(self) -> None:
        path, why = self.finetune_source()
        self.finetune_radio.setEnabled(path is not None)
        if path is None and self.finetune_radio.isChecked():
            self.fresh_radio.setChecked(True)
        if path is None:
            self.finetune_note.setText(why)
            self.finetune_radio.setToolTip(why)
        else:
            cfg = self.ctx.model.card.config
            arch = self.tr("{filters} base filters, depth {depth}").format(
                filters=cfg["base_filters"], depth=cfg["depth"]
            )
            arch += ", BatchNorm" if cfg.get("batchnorm") else ""
            name = self.ctx.model.card.name
            self.finetune_note.setText(
                self.tr("Production model: {name} ({arch}).").format(name=name, arch=arch)
                + " "
                + self.tr(FINETUNE_HELP)
            )
            self.finetune_radio.setToolTip(str(path))
        self._on_start_from_changed()

    def _on_start_from_changed(self, *_: object) -> None:
        # fine-tuning keeps the source's architecture: the trainer refuses a differing
        # --base-filters, so show the model's value and lock the box instead of failing later
        sb = self.params["--base-filters"]
        if self.finetuning():
            if sb.isEnabled():
                self._fresh_base_filters = sb.value()
            sb.setValue(int(self.ctx.model.card.config["base_filters"]))
            sb.setEnabled(False)
        elif not sb.isEnabled():
            sb.setValue(self._fresh_base_filters)
            sb.setEnabled(True)

    def finetuning(self) -> bool:
        return self.finetune_radio.isChecked() and self.finetune_radio.isEnabled()

    def _resumable(self, run: RunInfo | None) -> bool:
        """A cancelled or unfinished run with what the trainer's resume needs (state.json and
        last.keras, as the runs table's last refresh read them)."""
        return (
            run is not None
            and run.status in ("cancelled", "incomplete")
            and self.runs.run_files(run).resumable
        )

    def _on_role(self, _role: str) -> None:
        self._update_buttons()

    def _update_buttons(self) -> None:
        busy = self.status != "idle"
        needs = self.ctx.needs(Right.TRAIN)  # operators and QA do not train
        self.start_button.setEnabled(not busy and not needs)
        self.start_button.setToolTip(self.tr("Training {needs}").format(needs=needs) if needs else "")
        if hasattr(self, "resume_button"):
            self.resume_button.setEnabled(not busy and not needs and self._resumable(self.runs.selected()))
            self.resume_button.setToolTip(
                self.tr("Training {needs}").format(needs=needs) if needs else self.tr(RESUME_TIP)
            )
        self.cancel_button.setEnabled(self.status in ("starting", "preparing", "training"))

    # -- log / status -------------------------------------------------------------------------
    def append_log(self, line: str) -> None:
        """The training log: the trainer's own output and the panel's notes on it stay English (one
        language in one log); the status line and messages are translated."""
        self.log_view.appendPlainText(line)

    def _set_status(self, status: str, text: str) -> None:
        self.status = status
        self.status_label.setText(text)
        self._update_buttons()

    # -- training -----------------------------------------------------------------------------
    def train_args(self, data: Path, run_dir: Path) -> list[str]:
        args = ["train", "--data", str(data), "--out", str(run_dir), "--progress", "json"]
        source, _ = self.finetune_source() if self.finetuning() else (None, "")
        for flag, sb in self.params.items():
            if source is not None and flag == "--base-filters":
                continue  # the trainer takes the architecture from the model's card
            if sb.value() != AUTO:
                args += [flag, str(sb.value())]
        if source is not None:
            args += ["--init-from", str(source)]
        return args

    def start_training(self) -> bool:
        """Start a run: True when accepted (Start is disabled and the run is starting), False when
        refused. The data folder is checked and the run folder named off the UI thread (the
        ``trainer-start`` job); a missing folder is said on the status line and in the message
        area, and Start is enabled again. Then the reviewed inspections are exported (also off the
        UI thread) when they are included, and the trainer child starts."""
        if self.status != "idle" or self.ctx.refuse(Right.TRAIN, QT_TRANSLATE_NOOP("Refusal", "Training")):
            return False
        text = self.data_edit.text().strip()
        folder = Path(text) if text else None
        reviewed = self.reviewed_check.isChecked()
        if folder is None and not reviewed:
            self.ctx.notify(
                "warning", self.tr("Trainer: pick a data folder, the reviewed inspections, or both.")
            )
            return False
        self.run_dir = None  # named by the job
        self.last_error = ""
        self._clear_run_view()
        self._set_status(
            "starting",
            self.tr("Checking the data folder…") if folder is not None else self.tr("Starting…"),
        )
        self.tasks.submit(
            START_TAG,
            _start_job,
            folder,
            self.runs_dir,
            on_done=lambda found: self._start_checked(text, folder, reviewed, found),
            on_error=self._start_failed,
        )
        return True

    def _clear_run_view(self) -> None:
        """A new run starts with an empty log, curves and result, and no progress or ETA."""
        self.log_view.clear()
        self.curves.clear()
        self._show_result({})
        self._reset_progress()

    def _reset_progress(self) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.eta_label.setText(format_eta(None))

    def _start_checked(self, text: str, folder: Path | None, reviewed: bool, found: StartCheck) -> None:
        """The ``trainer-start`` job's answer: train into ``found.run_dir``, or say the folder is gone."""
        if self.status != "starting":
            return  # cancelled meanwhile
        if found.run_dir is None:
            why = self.tr("Trainer: data folder not found: {folder}").format(folder=folder)
            self._set_status("idle", why)
            self.ctx.notify("warning", why)
            return
        self.ctx.settings.setValue("trainer/data", text)
        self.run_dir = found.run_dir
        if not reviewed:
            assert folder is not None
            self._launch(folder)
            return
        self._set_status("preparing", self.tr("Exporting the reviewed inspections…"))
        run_dir, db, station = self.run_dir, self.ctx.db, self.ctx.station
        self.prep.start(
            lambda st: prepare_training_data(run_dir, folder, db, st, station=station), "training data"
        )

    def _start_failed(self, message: str) -> None:
        if self.status != "starting":
            return
        self.last_error = message
        text = self.tr("Trainer: could not start training: {error}").format(error=message)
        self._set_status("idle", text)
        self.ctx.notify("error", text)

    def _on_data_ready(self, prepared: PreparedData) -> None:
        if self.status != "preparing":
            return  # cancelled meanwhile
        for note in prepared.notes:
            self.append_log(f"skipped: {note}")
        self.append_log(
            f"data: {prepared.path} ({prepared.n_folder} from the folder, {prepared.n_reviewed} reviewed)"
        )
        self._launch(prepared.path)

    def _on_prep_failed(self, message: str) -> None:
        self.last_error = message
        self._set_status("idle", self.tr("Could not prepare the data: {error}").format(error=message))
        self.ctx.notify(
            "error", self.tr("Trainer: could not prepare the data: {error}").format(error=message)
        )

    def _launch(self, data: Path) -> None:
        assert self.run_dir is not None  # the trainer creates it (and the runs folder)
        start = f"fine-tuning {self.ctx.model.card.name}" if self.finetuning() else "a fresh U-Net"  # audited
        shown = (
            self.tr("fine-tuning {model}").format(model=self.ctx.model.card.name)
            if self.finetuning()
            else self.tr("a fresh U-Net")
        )
        self._set_status(
            "training", self.tr("Training {run}… ({start})").format(run=self.run_dir.name, start=shown)
        )
        self.ctx.audit("train.start", {"run": self.run_dir.name, "data": str(data), "start": start})
        self.proc.start([*self.trainer_cmd, *self.train_args(data, self.run_dir)])

    def resume_training(self) -> bool:
        """Continue the selected run (``train --out RUN --resume``): the trainer's own resume."""
        run = self.runs.selected()
        if (
            self.status != "idle"
            or not self._resumable(run)
            or self.ctx.refuse(Right.TRAIN, QT_TRANSLATE_NOOP("Refusal", "Training"))
        ):
            return False
        assert run is not None
        self.run_dir, self.last_error = run.path, ""
        self._clear_run_view()
        self._set_status(
            "training",
            self.tr("Resuming {run} from epoch {epoch}…").format(run=run.name, epoch=run.epochs_done),
        )
        self.ctx.audit("train.resume", {"run": run.name, "from_epoch": run.epochs_done})
        epochs = self.params["--epochs"].value()
        self.proc.start(
            [
                *self.trainer_cmd,
                "train",
                "--out",
                str(run.path),
                "--resume",
                "--progress",
                "json",
                *(["--epochs", str(epochs)] if epochs != AUTO else []),
            ]
        )
        return True

    def cancel(self) -> None:
        if self.status == "starting":
            self.tasks.cancel(START_TAG)
            self._set_status("idle", self.tr("Cancelled before training started."))
        elif self.status == "preparing":
            self.prep.cancel()
            self._set_status("idle", self.tr("Cancelled before training started."))
        elif self.status == "training":
            self._set_status(
                "cancelling", self.tr("Stopping after the current step; the best checkpoint is kept…")
            )
            self.proc.cancel()

    def _on_event(self, ev: dict[str, Any]) -> None:
        kind = ev.get("event")
        if kind == "start":
            epochs, steps = int(ev.get("epochs", 1)), int(ev.get("steps_per_epoch", 1))
            self.progress.setRange(0, max(1, epochs * steps))
            self.append_log(f"training on {ev.get('n_train')} images, validating on {ev.get('n_val')}")
        elif kind == "init":
            diff = ev.get("verify_max_abs_diff")
            checked = f", Keras vs ONNX Runtime max diff {_num(diff):.2g}" if diff is not None else ""
            self.append_log(f"started from {ev.get('path')} (sha256 {str(ev.get('sha256'))[:12]}{checked})")
        elif kind == "step":
            steps = max(1, int(ev.get("steps", 1)))
            done = (int(ev.get("epoch", 1)) - 1) * steps + int(ev.get("step", 0))
            self.progress.setValue(done)
            self.eta_label.setText(format_eta(ev.get("eta_s")))
            self.curves.add_step(done / steps, _num(ev.get("loss")))
        elif kind == "epoch":
            self.curves.add_epoch(int(ev.get("epoch", 0)), _num(ev.get("val_loss")), _num(ev.get("val_dice")))
            self.append_log(
                f"epoch {ev.get('epoch')}: loss {_num(ev.get('loss')):.4f}, "
                f"val Dice {_num(ev.get('val_dice')):.4f} (best {_num(ev.get('best')):.4f})"
            )
        elif kind == "data":
            from trainer.events import data_lines

            for line in data_lines(ev):
                self.append_log(line)
        elif kind == "evaluation":
            self._show_result(ev)
        elif kind == "done":
            self.append_log(
                f"run {ev.get('status')}: best val Dice {_num(ev.get('best_val_dice')):.4f} "
                f"at epoch {ev.get('best_epoch')}"
            )

    def _on_finished(self, code: int, status: str) -> None:
        """The child ended: read its checkpoint, result and the runs folder off the UI thread, then
        say how it ended (the Start button waits for that answer)."""
        run = self.run_dir
        self.status = "finishing"
        self._update_buttons()
        want_result = status == "ok" and not self.result_label.text()  # e.g. a resumed run
        self.tasks.submit(
            "trainer-finished",
            _finished_job,
            run,
            self.runs_dir,
            want_result,
            on_done=lambda found: self._finished(run, code, status, found),
            on_error=lambda _message: self._finished(run, code, status, FinishedRun(False, {}, None)),
        )

    def _finished(self, run: Path | None, code: int, status: str, found: FinishedRun) -> None:
        ckpt = found.checkpoint
        if status == "ok":
            if found.result:
                self._show_result(found.result)
            text = self.tr("Finished {run}. Export it on the right to evaluate and promote.").format(
                run=run.name if run else ""
            )
            result = "completed"
            self.ctx.notify("info", self.tr("Training finished: {run}").format(run=run))
        elif status in ("cancelled", "killed"):
            kept = (
                self.tr("best checkpoint kept: {path}").format(path=run / "best.keras")
                if ckpt and run
                else self.tr("no checkpoint yet")
            )
            cancelled = status == "cancelled"
            text = (
                self.tr("Cancelled ({kept}).")
                if cancelled
                else self.tr("Did not stop in time and was killed ({kept}).")
            ).format(kept=kept)
            result = "cancelled"
            self.ctx.notify(
                "warning",
                (
                    self.tr("Training cancelled; {kept}") if cancelled else self.tr("Training killed; {kept}")
                ).format(kept=kept),
            )
        else:
            self.last_error = self._last_error_line() or self.tr("exit code {code}").format(code=code)
            text = self.tr("Training failed: {error}").format(error=self.last_error)
            result = "failed"
            self.ctx.notify("error", text)
        if status == "ok":
            self.progress.setValue(self.progress.maximum())
            self.eta_label.setText(format_eta(None))
        else:  # a run that is over shows no progress or time left (its log stays until the next)
            self._reset_progress()
        if found.listing is not None:
            self.runs.show_listing(found.listing, select=run)
        else:
            self.runs.refresh(select=run)
        self._set_status("idle", text)
        self.run_finished.emit(str(run or ""), result)

    def _last_error_line(self) -> str:
        lines = [ln for ln in self.log_view.toPlainText().splitlines() if ln.strip()]
        errors = [ln for ln in lines if "error" in ln.lower()]
        return (errors or lines or [""])[-1].removeprefix("inspector-train: error: ")

    def _show_result(self, ev: dict[str, Any]) -> None:
        """Test figures and the final evaluation's curves (empty ``ev``: clear). The curves' image
        is read by a job; the pixmap is made here when it arrives."""
        text = result_text(ev) if ev else ""
        self.result_label.setText(text)
        if text:
            self.append_log(text)
        self.pr_view.setPixmap(QPixmap())
        dirs = [str(d) for d in ev.get("eval_dirs", [])] if ev else []
        if not dirs:
            self.tasks.cancel("trainer-pr-curve")  # a curve still on its way belongs to an older result
            return
        self.tasks.submit(
            "trainer-pr-curve",
            _pr_curve_job,
            dirs,
            on_done=self._show_pr_curve,
            on_error=lambda message: self.append_log(f"pr curve not shown: {message}"),
        )

    def _show_pr_curve(self, image: QImage | None) -> None:
        self.pr_view.setPixmap(QPixmap.fromImage(image) if image is not None else QPixmap())

    # -- runs ---------------------------------------------------------------------------------
    def _on_runs_failed(self, message: str) -> None:
        text = self.tr("Trainer: cannot read the runs folder: {error}").format(error=message)
        self.ctx.notify("warning", text)

    def _on_run_selected(self, run: RunInfo | None) -> None:
        self.release.set_run(run, exported=self.runs.run_files(run).exported)  # as the runs job read it
        self._update_buttons()

    def shutdown(self) -> None:
        """Station closing: stop a training child (it keeps its checkpoint)."""
        self.release.shutdown()
        if self.proc.is_running():
            self.proc.cancel()
            if not self.proc.wait_stopped(5000) and self.proc.proc is not None:
                self.proc.proc.kill()
                self.proc.wait_stopped(2000)
