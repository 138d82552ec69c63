"""Rules tab (QA): edit the recipe, see the effect live, then apply it as a new version.

Nothing here changes what the station does until Apply: edits make a
*candidate* recipe that is (1) re-decided on the selected inspection at once,
(2) replayed over the last N logged inspections in the background, and
(3) swept for precision/recall on reviewed inspections. Apply and Restore are
QA-only and always create a new immutable version (parent, author, reason)
plus audit events; the old versions stay listed.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtGui import QCloseEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from db import queries
from db.queries import RecipeExistsError, StoredRecipe
from inspector.core.recipe import Recipe
from inspector.core.rules import decide
from inspector.core.types import Decision, Verdict
from inspector.ui.context import AppContext
from inspector.ui.history_panel import selection_bus
from inspector.ui.image_view import ImageView
from inspector.ui.pr_plot import PRPlot
from inspector.ui.queries_extra import StoredView, latest_inspection_id, load_stored_view
from inspector.ui.recipe_editor import RecipeEditor
from inspector.ui.whatif import FlipsTable, PROutcome, ReplayOutcome, WhatIfRunner

QA_ONLY = "Only QA can change the recipe: switch to QA mode first."


class RulesPanel(QWidget):
    """Recipe editor + live decision + what-if replay + PR plots + versions.

    ``set_inspection(id)`` shows that logged inspection under the candidate
    recipe (connect HistoryPanel.inspection_selected to it). ``applied``
    fires with the new Recipe after Apply or Restore (ctx.recipe_changed
    fires too).
    """

    applied = Signal(object)

    def __init__(
        self,
        ctx: AppContext,
        parent: QWidget | None = None,
        *,
        replay_n: int = 200,
        debounce_ms: int | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.view: StoredView | None = None
        self.live: Decision | None = None
        self.editor = RecipeEditor(ctx.recipe)
        kwargs = {} if debounce_ms is None else {"debounce_ms": debounce_ms}
        self.runner = WhatIfRunner(ctx.db, replay_n, self, **kwargs)
        self.candidate: Recipe = ctx.recipe

        # -- selected inspection, re-decided live
        self.image = ImageView()
        self.live_label = QLabel("No inspection selected")
        self.live_label.setWordWrap(True)
        self.live_reasons = QLabel("")
        self.live_reasons.setWordWrap(True)
        self.follow_latest = QCheckBox("Follow latest inspection")
        self.follow_latest.setChecked(True)
        self.follow_latest.setToolTip("Show each new inspection as it is logged (off once you pick one)")
        self.follow_latest.toggled.connect(self._on_follow)

        # -- what-if
        self.n_spin = QSpinBox()
        self.n_spin.setRange(1, 20_000)
        self.n_spin.setValue(replay_n)
        self.n_spin.setSuffix(" inspections")
        self.n_spin.setKeyboardTracking(False)
        self.n_spin.setToolTip("Replay the candidate recipe over this many of the newest logged inspections")
        self.n_spin.valueChanged.connect(lambda n: self.runner.request(self.candidate, n))
        self.whatif_status = QLabel("")
        self.flips = FlipsTable()
        self.plot = PRPlot()
        self.pr_label = QLabel("")
        self.pr_label.setWordWrap(True)

        # -- apply / versions
        self.reason_edit = QLineEdit()
        self.reason_edit.setPlaceholderText("Why this change (required, goes into the audit log)")
        self.apply_button = QPushButton("Apply as new version")
        self.revert_button = QPushButton("Revert edits")
        self.versions = QTableWidget(0, 4)
        self.versions.setHorizontalHeaderLabels(["Version", "Author", "Reason", "Date"])
        self.versions.verticalHeader().hide()
        self.versions.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.versions.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.versions.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.versions.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.versions.horizontalHeader().setStretchLastSection(True)
        self.restore_button = QPushButton("Restore selected version")
        self._stored: list[StoredRecipe] = []

        self._layout()
        self.editor.edited.connect(self._on_edited)
        self.editor.invalid.connect(self._on_invalid)
        self.runner.replay_ready.connect(self._on_replay)
        self.runner.pr_ready.connect(self._on_pr)
        self.runner.failed.connect(lambda msg: self.whatif_status.setText(f"What-if failed: {msg}"))
        self.runner.busy_changed.connect(self._on_busy)
        self.flips.flip_selected.connect(self._on_flip_selected)
        # lambdas: clicked(bool) would otherwise arrive as the `reason`/`version` argument
        self.apply_button.clicked.connect(lambda: self.apply())
        self.revert_button.clicked.connect(lambda: self.editor.set_recipe(self.ctx.recipe))
        self.restore_button.clicked.connect(lambda: self.restore())
        ctx.recipe_changed.connect(self._on_recipe_changed)
        ctx.role_changed.connect(lambda _r: self._update_role())
        ctx.inspection_logged.connect(self._on_logged)
        selection_bus(ctx).inspection_selected.connect(self._on_history_selected)
        self._pending_id: int | None = None
        self._replay_stale = False
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)  # child widgets get no closeEvent on quit

        self.reload_versions()
        self._update_role()
        self._on_edited(self.editor.candidate() or ctx.recipe)
        latest = latest_inspection_id(ctx.db)
        if latest is not None:
            self._show_inspection(latest)

    def _layout(self) -> None:
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.editor)
        apply_box = QGroupBox("Apply")
        al = QVBoxLayout(apply_box)
        al.addWidget(self.reason_edit)
        row = QHBoxLayout()
        row.addWidget(self.apply_button)
        row.addWidget(self.revert_button)
        al.addLayout(row)
        ver_box = QGroupBox("Versions")
        vl = QVBoxLayout(ver_box)
        vl.addWidget(self.versions)
        vl.addWidget(self.restore_button)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(scroll, 3)
        ll.addWidget(apply_box)
        ll.addWidget(ver_box, 2)

        live = QWidget()
        lv = QVBoxLayout(live)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(self.image, 1)
        info = QVBoxLayout()
        info.addWidget(self.live_label)
        info.addWidget(self.live_reasons)
        info.addWidget(self.follow_latest)
        info.addStretch(1)
        whatif = QWidget()
        wl = QVBoxLayout(whatif)
        wl.setContentsMargins(0, 0, 0, 0)
        nrow = QHBoxLayout()
        nrow.addWidget(QLabel("What-if over the last"))
        nrow.addWidget(self.n_spin)
        nrow.addWidget(self.whatif_status, 1)
        wl.addLayout(nrow)
        wl.addWidget(self.flips, 1)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(live)
        side = QWidget()
        sl = QVBoxLayout(side)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.addLayout(info)
        sl.addWidget(whatif, 1)
        top.addWidget(side)
        bottom = QWidget()
        bl = QVBoxLayout(bottom)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.addWidget(self.pr_label)
        bl.addWidget(self.plot, 1)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(top)
        right.addWidget(bottom)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 3)
        lay = QVBoxLayout(self)
        lay.addWidget(split)

    # -- selected inspection ----------------------------------------------------------------------
    def set_inspection(self, inspection_id: int) -> None:
        """Show a logged inspection under the candidate recipe (stops following the latest)."""
        self.follow_latest.setChecked(False)
        self._show_inspection(inspection_id)

    def _show_inspection(self, inspection_id: int) -> None:
        if self.view is not None and self.view.id == inspection_id:
            return
        try:
            self.view = load_stored_view(self.ctx.db, inspection_id)
        except Exception as exc:  # a damaged blob must not break the editor
            self.view = None
            self.ctx.notify("error", f"Could not load inspection {inspection_id}: {exc}")
        self._redecide()

    def _on_history_selected(self, inspection_id: int) -> None:
        # Holding Down in History skims many rows: while this tab is hidden only
        # remember the last one and load it when the tab is shown.
        self.follow_latest.setChecked(False)
        if self.isVisible():
            self._show_inspection(inspection_id)
        else:
            self._pending_id = inspection_id

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._pending_id is not None:
            pending, self._pending_id = self._pending_id, None
            self._show_inspection(pending)
        if self._replay_stale:
            self._replay_stale = False
            self.runner.request(self.candidate)

    def _on_logged(self, inspection_id: int) -> None:
        # The station is inspecting: a hidden tab must not spend its CPU on
        # replays nobody looks at; catch up when the tab is shown.
        if not self.isVisible():
            if self.follow_latest.isChecked():
                self._pending_id = inspection_id
            self._replay_stale = True
            return
        if self.follow_latest.isChecked():
            self._show_inspection(inspection_id)
        self.runner.request(self.candidate)  # the newest rows are part of "the last N"

    def _on_follow(self, on: bool) -> None:
        if on:
            latest = latest_inspection_id(self.ctx.db)
            if latest is not None:
                self._show_inspection(latest)

    def _redecide(self) -> None:
        v = self.view
        if v is None:
            self.live = None
            self.image.clear()
            self.live_label.setText("No inspection selected")
            self.live_reasons.setText("")
            return
        if v.prob is None:
            self.live = None
            if v.image is not None:
                self.image.show_result(v.image, None, v.decision, v.detail.row.threshold)
            else:
                self.image.show_message(v.image_note or "image not available")
            if v.decision.verdict is Verdict.ERROR:
                # Never replayed: the part was not inspected, no recipe can make it OK.
                self.live_label.setText(
                    f"#{v.id} {v.detail.row.source_key}<br>logged <b>ERROR</b> (not inspected): "
                    "no map to re-decide, no recipe changes it"
                )
                self.live_reasons.setText("\n".join(f"• {r}" for r in v.decision.reasons))
            else:
                self.live_label.setText(f"#{v.id}: no probability map stored, cannot re-decide")
                self.live_reasons.setText("")
            return
        # decide() on the stored map, the same function the station runs: a few ms, so on every edit.
        d = decide(v.prob, self.candidate)
        self.live = d
        self.image.show_result(v.image, v.prob, d, self.candidate.threshold)
        logged = v.decision.verdict
        change = "unchanged" if d.verdict is logged else f"<b>flips {logged.value} → {d.verdict.value}</b>"
        self.live_label.setText(
            f"#{v.id} {v.detail.row.source_key}<br>logged <b>{logged.value}</b> · "
            f"with these settings <b>{d.verdict.value}</b> ({change})"
        )
        self.live_reasons.setText("\n".join(f"• {r}" for r in d.reasons))

    # -- editing ----------------------------------------------------------------------------------
    def _on_edited(self, recipe: Recipe) -> None:
        self.candidate = recipe
        self._redecide()
        self.plot.set_markers(recipe.threshold, recipe.level_ng)
        self.runner.request(recipe, self.n_spin.value())
        self._update_role()

    def _on_invalid(self, message: str) -> None:
        self.apply_button.setEnabled(False)
        self.whatif_status.setText(f"Not a valid recipe: {message}")

    def _on_busy(self, busy: bool) -> None:
        if busy:
            self.whatif_status.setText("computing…")

    def _on_replay(self, out: ReplayOutcome) -> None:
        self.flips.show_outcome(out)
        self.whatif_status.setText("")

    def _on_pr(self, out: PROutcome) -> None:
        for param, points in out.points.items():
            self.plot.set_points(param, points)
        self.plot.set_markers(self.candidate.threshold, self.candidate.level_ng)
        if out.reviewed == 0:
            self.pr_label.setText(
                "No reviewed inspections yet: review some in History to see precision/recall."
            )
        else:
            more = "" if out.complete else " Computing the other sweep…"
            self.pr_label.setText(
                f"Precision/recall on {out.reviewed} reviewed inspections (REVIEW counts as flagged); "
                f"the dashed line is the current setting. [{out.seconds * 1000:.0f} ms]{more}"
            )

    def _on_flip_selected(self, inspection_id: int) -> None:
        self.follow_latest.setChecked(False)
        self._show_inspection(inspection_id)

    def _on_recipe_changed(self, recipe: Recipe) -> None:
        self.editor.set_recipe(recipe)
        self.reload_versions()

    # -- roles ------------------------------------------------------------------------------------
    def _update_role(self) -> None:
        qa = self.ctx.is_qa()
        valid = self.editor.candidate() is not None
        self.apply_button.setEnabled(qa and valid)
        self.restore_button.setEnabled(qa)
        tip = "" if qa else QA_ONLY
        for b in (self.apply_button, self.restore_button):
            b.setToolTip(tip)

    def _refuse_unless_qa(self, what: str) -> bool:
        if self.ctx.is_qa():
            return False
        self.ctx.notify("warning", f"{what} refused: {QA_ONLY}")
        return True

    # -- apply / restore --------------------------------------------------------------------------
    def apply(self, reason: str | None = None) -> Recipe | None:
        """Save the candidate as a new version and make it current; None when refused."""
        if self._refuse_unless_qa("Apply"):
            return None
        candidate = self.editor.candidate()
        if candidate is None:
            self.ctx.notify("warning", f"Apply refused: the recipe is not valid ({self.editor.error()}).")
            return None
        reason = (reason if reason is not None else self.reason_edit.text()).strip()
        if not reason:
            self.ctx.notify("warning", "Apply refused: give a reason for the change.")
            self.reason_edit.setFocus()
            return None
        if candidate.params() == self.ctx.recipe.params():
            self.ctx.notify("info", "Nothing to apply: the settings equal the current recipe.")
            return None
        evidence: dict[str, Any] = {}
        out = self.runner.last_replay
        if out is not None and out.recipe.params() == candidate.params():
            # What the QA engineer saw before applying, kept with the decision.
            evidence = {"replayed": out.replayed, "flips": out.counts}
        new = self._save(candidate, reason, "recipe.apply", evidence)
        if new is not None:
            self.reason_edit.clear()
        return new

    def restore(self, version: int | None = None, reason: str | None = None) -> Recipe | None:
        """Make an earlier version current again, as a new version with the same parameters."""
        if self._refuse_unless_qa("Restore"):
            return None
        stored = self._stored_version(version)
        if stored is None:
            self.ctx.notify("warning", "Restore: select a version in the list first.")
            return None
        if stored.params == self.ctx.recipe.params():
            self.ctx.notify(
                "info", f"v{stored.version} has the running recipe's settings; nothing to restore."
            )
            return None
        text = (reason if reason is not None else self.reason_edit.text()).strip()
        why = f"restore v{stored.version}" + (f": {text}" if text else "")
        new = self._save(stored.recipe(), why, "recipe.restore", {"restored_version": stored.version})
        if new is not None:
            self.reason_edit.clear()
        return new

    def _stored_version(self, version: int | None) -> StoredRecipe | None:
        if version is None:
            row = self.versions.currentRow()
            return self._stored[row] if 0 <= row < len(self._stored) else None
        return next((s for s in self._stored if s.version == version), None)

    def _parent_id(self) -> int | None:
        cur = self.ctx.recipe
        row = queries.get_recipe(self.ctx.db, cur.name, cur.version)
        if row is not None:
            return row.id
        # The running recipe was never logged (fresh DB, recipe from a file):
        # store it first so the new version has a real parent to point at.
        return queries.save_recipe_version(
            self.ctx.db, cur, author=self.ctx.user, reason="baseline: running recipe, first stored on edit"
        ).id

    def _save(self, params_from: Recipe, reason: str, action: str, details: dict[str, Any]) -> Recipe | None:
        db, name = self.ctx.db, self.ctx.recipe.name
        try:
            parent = self._parent_id()
            for attempt in (1, 2):
                version = queries.next_recipe_version(db, name)
                new = Recipe.model_validate(
                    {**params_from.model_dump(mode="json"), "name": name, "version": version}
                )
                try:
                    stored = queries.save_recipe_version(db, new, self.ctx.user, reason, parent_id=parent)
                    break
                except RecipeExistsError:
                    if attempt == 2:  # another station keeps winning the race; let the user retry
                        raise
            queries.audit(
                db,
                self.ctx.user,
                action,
                {
                    "recipe_id": stored.id,
                    "name": name,
                    "version": version,
                    "parent_id": parent,
                    "from_version": self.ctx.recipe.version,
                    "reason": reason,
                    **details,
                },
            )
        except Exception as exc:  # DB trouble: tell the user, keep the running recipe
            self.ctx.notify("error", f"Could not save the recipe: {exc}")
            return None
        self.ctx.notify("info", f"Recipe {name} v{version} applied by {self.ctx.user}: {reason}")
        self.ctx.set_recipe(new)  # editor and versions follow through recipe_changed
        self.applied.emit(new)
        return new

    def reload_versions(self) -> None:
        self._stored = list(reversed(queries.recipe_versions(self.ctx.db, self.ctx.recipe.name)))
        self.versions.setRowCount(len(self._stored))
        for i, s in enumerate(self._stored):
            current = s.version == self.ctx.recipe.version
            cells = (
                f"v{s.version}" + (" (current)" if current else ""),
                s.author,
                s.reason,
                s.created_at.astimezone().strftime("%Y-%m-%d %H:%M"),
            )
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j == 2:
                    item.setToolTip(s.reason)
                self.versions.setItem(i, j, item)

    # -- lifecycle --------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Cancel and wait for the background job (the main window calls this on close)."""
        self.runner.cancel()
        self.runner.wait(5000)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)
