"""Rules tab (QA): edit the recipe, see the effect live, then apply it as a new version.

Nothing here changes what the station does until Apply: edits make a
*candidate* recipe that is (1) re-decided on the selected inspection at once,
(2) replayed over the last N logged inspections in the background, and
(3) swept for precision/recall on reviewed inspections. Apply and Restore are
QA-only and always create a new immutable version (parent, author, reason)
plus audit events; the old versions stay listed with their parameters and how
each differs from the running recipe, and Restore asks before it acts.

ROI and exclusion zones are drawn on the image (zone_overlay.py) as well as typed in
the editor. Every database and file access (the selected inspection, the version
list, saving a version) runs on the GUI task runner (inspector.ui.tasks): the UI
thread never waits on the database, and a slow answer to an old question is dropped.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt, Signal
from PySide6.QtGui import QCloseEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from inspector.core.accounts import Right
from inspector.core.recipe import Recipe, Zone
from inspector.core.rules import decide
from inspector.core.types import Decision, Verdict
from inspector.services.queries_extra import StoredView, latest_inspection_id, load_stored_view
from inspector.services.recipes import StoredRecipe, recipe_versions, save_edited_recipe
from inspector.ui.context import AppContext
from inspector.ui.history_panel import image_note_text, selection_bus
from inspector.ui.image_view import ImageView
from inspector.ui.pr_plot import PRPlot
from inspector.ui.recipe_editor import (
    RecipeEditor,
    diff_summary,
    format_param,
    param_diff,
    param_label,
    param_order,
)
from inspector.ui.style import VERDICT_COLORS
from inspector.ui.tasks import WRITE_LANE, Job, TaskRunner, TaskState
from inspector.ui.whatif import FlipsTable, PROutcome, ReplayOutcome, WhatIfRunner
from inspector.ui.zone_overlay import COLOURS, ZoneKind, ZoneOverlay

QA_ONLY = QT_TRANSLATE_NOOP("Refusal", "Changing the recipe")


class RulesPanel(QWidget):
    """Recipe editor + live decision + what-if replay + PR plots + versions.

    ``set_inspection(id)`` shows that logged inspection under the candidate
    recipe (connect HistoryPanel.inspection_selected to it). ``applied``
    fires with the new Recipe after Apply or Restore (ctx.recipe_changed
    fires too).
    """

    applied = Signal(Recipe)  # the recipe version just stored and made current

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
        self.tasks = TaskRunner(self, "rules")
        self.candidate: Recipe = ctx.recipe
        self._saving = False  # a new version is being written (Apply/Restore wait for it)
        self._loading_id: int | None = None  # inspection being read for the live view

        # -- selected inspection, re-decided live; the recipe's zones drawn (and edited) on it
        self.image = ImageView()
        self.zones = ZoneOverlay(self.image, editable=True)
        self.draw_buttons: dict[ZoneKind, QToolButton] = {}
        for kind, text, tip in (
            (
                "roi",
                self.tr("Draw ROI"),
                self.tr("Drag on the image to draw an inspected zone (regions count only inside)"),
            ),
            (
                "exclusion",
                self.tr("Draw exclusion"),
                self.tr("Drag on the image to draw a zone whose regions are ignored"),
            ),
        ):
            b = QToolButton()
            b.setText(text)
            b.setCheckable(True)
            b.setToolTip(tip)
            b.setObjectName(f"draw_{kind}")
            b.setStyleSheet(f"QToolButton:checked {{ border: 2px solid {COLOURS[kind]}; }}")  # type: ignore[index]
            b.toggled.connect(lambda on, k=kind: self._on_draw_toggled(k, on))
            self.draw_buttons[kind] = b  # type: ignore[index]
        self.delete_zone_button = QToolButton()
        self.delete_zone_button.setText(self.tr("Delete zone"))
        self.delete_zone_button.setToolTip(self.tr("Remove the selected zone (Delete key on the image)"))
        self.delete_zone_button.clicked.connect(lambda: self.zones.delete_selected())
        self.zone_hint = QLabel(
            self.tr(
                "Zones: pick Draw, drag on the image; drag a zone or its corners to "
                "move or resize it; click one and press Delete to remove it."
            )
        )
        self.zone_hint.setProperty("muted", True)
        self.zone_hint.setWordWrap(True)
        self.live_label = QLabel(self.tr("No inspection selected"))
        self.live_label.setWordWrap(True)
        self.live_reasons = QLabel("")
        self.live_reasons.setWordWrap(True)
        self.follow_latest = QCheckBox(self.tr("Follow latest inspection"))
        self.follow_latest.setChecked(True)
        self.follow_latest.setToolTip(
            self.tr("Show each new inspection as it is logged (off once you pick one)")
        )
        self.follow_latest.toggled.connect(self._on_follow)

        # -- what-if
        self.n_spin = QSpinBox()
        self.n_spin.setRange(1, 20_000)
        self.n_spin.setValue(replay_n)
        self.n_spin.setSuffix(self.tr(" inspections"))
        self.n_spin.setKeyboardTracking(True)  # the runner debounces: typing 2000 runs once
        self.n_spin.setToolTip(
            self.tr("Replay the candidate recipe over this many of the newest logged inspections")
        )
        self.n_spin.valueChanged.connect(lambda n: self.runner.request(self.candidate, n))
        self.whatif_status = QLabel("")
        self.flips = FlipsTable()
        self.plot = PRPlot()
        self.pr_label = QLabel("")
        self.pr_label.setWordWrap(True)

        # -- apply / versions
        self.reason_edit = QLineEdit()
        self.reason_edit.setPlaceholderText(self.tr("Why this change (required, goes into the audit log)"))
        self.apply_button = QPushButton(self.tr("Apply as new version"))
        self.revert_button = QPushButton(self.tr("Revert edits"))
        self.versions = QTableWidget(0, 5)
        self.versions.setHorizontalHeaderLabels(
            [
                self.tr("Version"),
                self.tr("Author"),
                self.tr("Reason"),
                self.tr("Date"),
                self.tr("Restoring it changes"),
            ]
        )
        self.versions.verticalHeader().hide()
        self.versions.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.versions.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.versions.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        vh = self.versions.horizontalHeader()
        vh.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        vh.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)  # a long reason must not hide the diff
        self.versions.setColumnWidth(2, 200)
        vh.setStretchLastSection(True)
        self.restore_button = QPushButton(self.tr("Restore selected version…"))
        self.version_detail = QTextBrowser()
        self.version_detail.setObjectName("VersionDetail")
        self.version_detail.setOpenLinks(False)
        self.restore_dialog: QMessageBox | None = None
        self._stored: list[StoredRecipe] = []

        self._layout()
        self.editor.edited.connect(self._on_edited)
        self.editor.invalid.connect(self._on_invalid)
        self.runner.replay_ready.connect(self._on_replay)
        self.runner.pr_ready.connect(self._on_pr)
        self.runner.failed.connect(
            lambda msg: self.whatif_status.setText(self.tr("What-if failed: {error}").format(error=msg))
        )
        self.runner.busy_changed.connect(self._on_busy)
        self.flips.flip_selected.connect(self._on_flip_selected)
        # lambdas: clicked(bool) would otherwise arrive as the `reason`/`version` argument
        self.apply_button.clicked.connect(lambda: self.apply())
        self.revert_button.clicked.connect(lambda: self.editor.set_recipe(self.ctx.recipe))
        self.restore_button.clicked.connect(lambda: self.ask_restore())
        self.versions.currentCellChanged.connect(lambda *_a: self._show_version_detail())
        self.zones.edited.connect(self._on_zones_drawn)
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
        self._show_latest()

    def _layout(self) -> None:
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.editor)
        apply_box = QGroupBox(self.tr("Apply"))
        al = QVBoxLayout(apply_box)
        al.addWidget(self.reason_edit)
        row = QHBoxLayout()
        row.addWidget(self.apply_button)
        row.addWidget(self.revert_button)
        al.addLayout(row)
        # Versions: the list beside the selected version's parameters and its diff to the running
        # recipe, in a tab under the image (the editor column is too narrow for both)
        ver_tab = QWidget()
        vl = QVBoxLayout(ver_tab)
        vl.setContentsMargins(0, 4, 0, 0)
        ver_split = QSplitter(Qt.Orientation.Horizontal)
        ver_left = QWidget()
        vll = QVBoxLayout(ver_left)
        vll.setContentsMargins(0, 0, 0, 0)
        vll.addWidget(self.versions, 1)
        vll.addWidget(self.restore_button)
        ver_split.addWidget(ver_left)
        ver_split.addWidget(self.version_detail)
        ver_split.setStretchFactor(0, 3)
        ver_split.setStretchFactor(1, 2)
        vl.addWidget(ver_split, 1)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(scroll, 1)
        ll.addWidget(apply_box)

        live = QWidget()
        lv = QVBoxLayout(live)
        lv.setContentsMargins(0, 0, 0, 0)
        zone_bar = QHBoxLayout()
        for b in self.draw_buttons.values():
            zone_bar.addWidget(b)
        zone_bar.addWidget(self.delete_zone_button)
        zone_bar.addWidget(self.zone_hint, 1)
        lv.addLayout(zone_bar)
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
        nrow.addWidget(QLabel(self.tr("What-if over the last")))
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
        self.bottom_tabs = QTabWidget()
        self.bottom_tabs.setDocumentMode(True)
        self.bottom_tabs.addTab(bottom, self.tr("Precision / recall"))
        self.bottom_tabs.addTab(ver_tab, self.tr("Versions"))
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(top)
        right.addWidget(self.bottom_tabs)
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
        """Read the inspection off the UI thread, then show it re-decided (a newer request wins)."""
        if self._loading_id == inspection_id or (
            self._loading_id is None and self.view is not None and self.view.id == inspection_id
        ):
            return
        self._loading_id = inspection_id

        def loaded(view: StoredView | None) -> None:
            self._loading_id = None
            self.view = view
            self._redecide()

        def failed(message: str) -> None:  # a damaged blob must not break the editor
            self.ctx.notify(
                "error",
                self.tr("Could not load inspection {id}: {error}").format(id=inspection_id, error=message),
            )
            loaded(None)

        self.tasks.submit(
            "rules-view", _view_job, self.ctx.db, inspection_id, on_done=loaded, on_error=failed
        )

    def _show_latest(self) -> None:
        def found(latest: int | None) -> None:
            if latest is not None and self.follow_latest.isChecked():
                self._show_inspection(latest)

        def failed(message: str) -> None:
            self.ctx.notify(
                "error", self.tr("Could not read the inspection log: {error}").format(error=message)
            )

        self.tasks.submit("rules-latest", _latest_job, self.ctx.db, on_done=found, on_error=failed)

    def is_loading(self) -> bool:
        """True while the live view's inspection is being read (tests wait on it)."""
        return self.tasks.busy("rules-view") or self.tasks.busy("rules-latest")

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
            self._show_latest()

    def _redecide(self) -> None:
        v = self.view
        if v is None:
            self.live = None
            self.image.clear()
            self.live_label.setText(self.tr("No inspection selected"))
            self.live_reasons.setText("")
            return
        if v.prob is None:
            self.live = None
            if v.image is not None:
                self.image.show_result(v.image, None, v.decision, v.detail.row.threshold)
            else:
                self.image.show_message(image_note_text(v.image_note) or self.tr("image not available"))
            if v.decision.verdict is Verdict.ERROR:
                # Never replayed: the part was not inspected, no recipe can make it OK.
                self.live_label.setText(
                    f"#{v.id} {v.detail.row.source_key}<br>"
                    + self.tr(
                        "logged <b>ERROR</b> (not inspected): no map to re-decide, no recipe changes it"
                    )
                )
                self.live_reasons.setText("\n".join(f"• {r}" for r in v.decision.reasons))
            else:
                self.live_label.setText(
                    self.tr("#{id}: no probability map stored, cannot re-decide").format(id=v.id)
                )
                self.live_reasons.setText("")
            return
        # decide() on the stored map, the same function the station runs: a few ms, so on every edit.
        d = decide(v.prob, self.candidate)
        self.live = d
        self.image.show_result(v.image, v.prob, d, self.candidate.threshold)
        logged = v.decision.verdict
        change = (
            self.tr("unchanged")
            if d.verdict is logged
            else self.tr("<b>flips {old} → {new}</b>").format(old=logged.value, new=d.verdict.value)
        )
        self.live_label.setText(
            f"#{v.id} {v.detail.row.source_key}<br>"
            + self.tr("logged <b>{logged}</b> · with these settings <b>{verdict}</b> ({change})").format(
                logged=logged.value, verdict=d.verdict.value, change=change
            )
        )
        self.live_reasons.setText("\n".join(f"• {r}" for r in d.reasons))

    # -- editing ----------------------------------------------------------------------------------
    def _on_edited(self, recipe: Recipe) -> None:
        self.candidate = recipe
        self.zones.set_zones(list(recipe.roi), list(recipe.exclusions))  # no-op while they are the drawn ones
        self._redecide()
        self.plot.set_markers(recipe.threshold, recipe.level_ng)
        self.runner.request(recipe, self.n_spin.value())
        self._update_role()

    def _on_invalid(self, message: str) -> None:
        self.apply_button.setEnabled(False)
        self.whatif_status.setText(self.tr("Not a valid recipe: {error}").format(error=message))

    def _on_busy(self, busy: bool) -> None:
        if busy:
            self.whatif_status.setText(self.tr("computing…"))

    def _on_replay(self, out: ReplayOutcome) -> None:
        self.flips.show_outcome(out)
        self.whatif_status.setText("")

    def _on_pr(self, out: PROutcome) -> None:
        for param, points in out.points.items():
            self.plot.set_points(param, points)
        self.plot.set_markers(self.candidate.threshold, self.candidate.level_ng)
        if out.reviewed == 0:
            self.pr_label.setText(
                self.tr("No reviewed inspections yet: review some in History to see precision/recall.")
            )
        else:
            more = "" if out.complete else " " + self.tr("Computing the other sweep…")
            self.pr_label.setText(
                self.tr(
                    "Precision/recall on {n} reviewed inspections (REVIEW counts as flagged); "
                    "the dashed line is "
                    "the current setting. [{ms:.0f} ms]"
                ).format(n=out.reviewed, ms=out.seconds * 1000)
                + more
            )

    def _on_flip_selected(self, inspection_id: int) -> None:
        self.follow_latest.setChecked(False)
        self._show_inspection(inspection_id)

    def _on_recipe_changed(self, recipe: Recipe) -> None:
        self.editor.set_recipe(recipe)
        self.reload_versions()

    # -- zones on the image -----------------------------------------------------------------------
    def _on_draw_toggled(self, kind: ZoneKind, on: bool) -> None:
        if on:
            other = self.draw_buttons["exclusion" if kind == "roi" else "roi"]
            other.blockSignals(True)
            other.setChecked(False)
            other.blockSignals(False)
            self.zones.set_draw_kind(kind)
            self.image.setFocus()  # Delete acts on the image
        elif self.zones.draw_kind() == kind:
            self.zones.set_draw_kind(None)

    def _on_zones_drawn(self, roi: list[Zone], exclusions: list[Zone]) -> None:
        """A zone was drawn, moved, resized or deleted on the image: the editor (and so the
        candidate recipe, its live verdict and the what-if) follows."""
        self.editor.set_zones(roi, exclusions)

    # -- roles ------------------------------------------------------------------------------------
    def _update_role(self) -> None:
        qa = self.ctx.may(Right.RECIPE)
        valid = self.editor.candidate() is not None
        self.apply_button.setEnabled(qa and valid and not self._saving)
        self.restore_button.setEnabled(qa and not self._saving)
        what = QCoreApplication.translate("Refusal", QA_ONLY)
        tip = "" if qa else f"{what}: {self.ctx.needs(Right.RECIPE)}"
        for b in (self.apply_button, self.restore_button):
            b.setToolTip(tip)

    def _refuse_unless_qa(self, what: str) -> bool:
        return self.ctx.refuse(Right.RECIPE, what)

    # -- apply / restore --------------------------------------------------------------------------
    def apply(self, reason: str | None = None) -> Job[Recipe] | None:
        """Save the candidate as a new version (off the UI thread); it becomes current once stored.

        Returns the save job, or None when refused; ``applied`` and ``ctx.recipe_changed`` fire
        after the commit.
        """
        if self._refuse_unless_qa(QT_TRANSLATE_NOOP("Refusal", "Apply")):
            return None
        if self._busy_saving(QT_TRANSLATE_NOOP("Refusal", "Apply")):
            return None
        candidate = self.editor.candidate()
        if candidate is None:
            self.ctx.notify(
                "warning",
                self.tr("Apply refused: the recipe is not valid ({error}).").format(
                    error=self.editor.error()
                ),
            )
            return None
        reason = (reason if reason is not None else self.reason_edit.text()).strip()
        if not reason:
            self.ctx.notify("warning", self.tr("Apply refused: give a reason for the change."))
            self.reason_edit.setFocus()
            return None
        if candidate.params() == self.ctx.recipe.params():
            self.ctx.notify("info", self.tr("Nothing to apply: the settings equal the current recipe."))
            return None
        evidence: dict[str, Any] = {}
        out = self.runner.last_replay
        if out is not None and out.recipe.params() == candidate.params():
            # What the QA engineer saw before applying, kept with the decision.
            evidence = {"replayed": out.replayed, "flips": out.counts}
        return self._save(candidate, reason, "recipe.apply", evidence, clear_reason=True)

    def ask_restore(self) -> QMessageBox | None:
        """The Restore button: show what restoring the selected version changes and ask (non-blocking)."""
        restore = QT_TRANSLATE_NOOP("Refusal", "Restore")
        if self._refuse_unless_qa(restore) or self._busy_saving(restore):
            return None
        stored = self._stored_version(None)
        if stored is None:
            self.ctx.notify("warning", self.tr("Restore: select a version in the list first."))
            return None
        params = stored.recipe().params()
        if params == self.ctx.recipe.params():
            self.ctx.notify(
                "info",
                self.tr("v{version} has the running recipe's settings; nothing to restore.").format(
                    version=stored.version
                ),
            )
            return None
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle(self.tr("Restore recipe version"))
        box.setText(
            self.tr("Make the settings of v{version} the running recipe again?").format(
                version=stored.version
            )
        )
        diff = param_diff(self.ctx.recipe.params(), params)
        lines = [f"{label}: {cur} → {old}" for label, cur, old in diff]
        box.setInformativeText(
            self.tr("This changes:")
            + "\n"
            + "\n".join(f"• {line}" for line in lines)
            + "\n\n"
            + self.tr(
                "It is saved as a new version (v{version} stays listed) and audited under {user}."
            ).format(version=self.ctx.recipe.version, user=self.ctx.user)
        )
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)  # Enter must not restore by accident
        box.button(QMessageBox.StandardButton.Yes).setText(
            self.tr("Restore v{version}").format(version=stored.version)
        )
        version = stored.version

        def clicked(button: QAbstractButton) -> None:
            if box.standardButton(button) == QMessageBox.StandardButton.Yes:
                self.restore(version)

        box.buttonClicked.connect(clicked)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        self.restore_dialog = box
        box.open()
        return box

    def restore(self, version: int | None = None, reason: str | None = None) -> Job[Recipe] | None:
        """Make an earlier version current again, as a new version with the same parameters.

        No question asked (the Restore button asks first: ``ask_restore``); returns the save job.
        """
        restore = QT_TRANSLATE_NOOP("Refusal", "Restore")
        if self._refuse_unless_qa(restore) or self._busy_saving(restore):
            return None
        stored = self._stored_version(version)
        if stored is None:
            self.ctx.notify("warning", self.tr("Restore: select a version in the list first."))
            return None
        if stored.recipe().params() == self.ctx.recipe.params():
            self.ctx.notify(
                "info",
                self.tr("v{version} has the running recipe's settings; nothing to restore.").format(
                    version=stored.version
                ),
            )
            return None
        text = (reason if reason is not None else self.reason_edit.text()).strip()
        why = f"restore v{stored.version}" + (f": {text}" if text else "")  # stored with the version: English
        return self._save(
            stored.recipe(), why, "recipe.restore", {"restored_version": stored.version}, clear_reason=True
        )

    def is_saving(self) -> bool:
        return self._saving

    def _busy_saving(self, what: str) -> bool:
        if self._saving:
            self.ctx.notify(
                "info",
                self.tr("{what}: the previous recipe version is still being saved.").format(
                    what=QCoreApplication.translate("Refusal", what)
                ),
            )
        return self._saving

    def _stored_version(self, version: int | None) -> StoredRecipe | None:
        if version is None:
            row = self.versions.currentRow()
            return self._stored[row] if 0 <= row < len(self._stored) else None
        return next((s for s in self._stored if s.version == version), None)

    def _save(
        self, params_from: Recipe, reason: str, action: str, details: dict[str, Any], *, clear_reason: bool
    ) -> Job[Recipe]:
        """Write the new version (with its retry and audit event) on the write lane; current once stored."""
        current, user = self.ctx.recipe, self.ctx.user
        self._saving = True
        self._update_role()

        def saved(new: Recipe) -> None:
            self._saving = False
            if clear_reason:
                self.reason_edit.clear()
            self.ctx.notify(
                "info",
                self.tr("Recipe {name} v{version} applied by {user}: {reason}").format(
                    name=new.name, version=new.version, user=user, reason=reason
                ),
            )
            self.ctx.set_recipe(new)  # editor and versions follow through recipe_changed
            self._update_role()
            self.applied.emit(new)

        def failed(message: str) -> None:  # DB trouble: tell the user, keep the running recipe
            self._saving = False
            self.ctx.notify("error", self.tr("Could not save the recipe: {error}").format(error=message))
            self._update_role()

        return self.tasks.submit(
            "recipe-save",
            _save_job,
            self.ctx.db,
            current,
            params_from,
            user,
            reason,
            action,
            details,
            on_done=saved,
            on_error=failed,
            lane=WRITE_LANE,
            supersede=False,
        )

    def reload_versions(self) -> None:
        """Re-read the version list off the UI thread."""
        name = self.ctx.recipe.name

        def failed(message: str) -> None:
            self.ctx.notify(
                "error",
                self.tr("Could not read the versions of recipe {name}: {error}").format(
                    name=name, error=message
                ),
            )

        self.tasks.submit(
            "rules-versions", _versions_job, self.ctx.db, name, on_done=self._set_versions, on_error=failed
        )

    def _set_versions(self, stored: list[StoredRecipe]) -> None:
        selected = self._stored_version(None)
        self._stored = list(reversed(stored))
        current_params = self.ctx.recipe.params()
        self.versions.blockSignals(True)
        self.versions.setRowCount(len(self._stored))
        for i, s in enumerate(self._stored):
            current = s.version == self.ctx.recipe.version
            change = "—" if current else diff_summary(current_params, s.recipe().params(), limit=2)
            cells = (
                self.tr("v{version} (current)").format(version=s.version) if current else f"v{s.version}",
                s.author,
                s.reason,
                s.created_at.astimezone().strftime("%Y-%m-%d %H:%M"),
                change,
            )
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j in (2, 4):
                    item.setToolTip(text)
                self.versions.setItem(i, j, item)
        row = next((i for i, s in enumerate(self._stored) if selected and s.version == selected.version), -1)
        if row >= 0:
            self.versions.setCurrentCell(row, 0)
        self.versions.blockSignals(False)
        self._show_version_detail()

    def _show_version_detail(self) -> None:
        """The selected version's parameters beside the running recipe's, differences marked."""
        stored = self._stored_version(None)
        if stored is None:
            self.version_detail.setHtml(
                self.tr(
                    "<i>Select a version to see its parameters and "
                    "how it differs from the running recipe.</i>"
                )
            )
            return
        version, current = stored.recipe().params(), self.ctx.recipe.params()
        changed = {label for label, _a, _b in param_diff(current, version)}
        mark = VERDICT_COLORS[Verdict.REVIEW.value]
        rows = []
        for name in param_order():
            label = param_label(name)
            a, b = format_param(name, version.get(name)), format_param(name, current.get(name))
            style = f" style='color:{mark}; font-weight:bold'" if label in changed else ""
            rows.append(
                f"<tr{style}><td>{html.escape(label)}</td><td>{html.escape(a)}</td>"
                f"<td>{html.escape(b)}</td></tr>"
            )
        n = len(changed)
        if stored.version == self.ctx.recipe.version:
            head = self.tr("the running recipe")
        elif n:
            head = (
                self.tr("1 setting differs from the running recipe (marked)")
                if n == 1
                else self.tr("{n} settings differ from the running recipe (marked)").format(n=n)
            )
        else:
            head = self.tr("same settings as the running recipe")
        when = stored.created_at.astimezone().strftime("%Y-%m-%d %H:%M")
        by = " " + self.tr("by {user}").format(user=html.escape(stored.author)) if stored.author else ""
        running = self.tr("running (v{version})").format(version=self.ctx.recipe.version)
        self.version_detail.setHtml(
            f"<b>v{stored.version}</b>{by} · {when}<br>"
            f"<i>{html.escape(stored.reason)}</i><br>{head}"
            f"<table cellspacing='0' cellpadding='2' width='100%'>"
            f"<tr><th align='left'>{self.tr('Parameter')}</th><th align='left'>v{stored.version}</th>"
            f"<th align='left'>{running}</th></tr>{''.join(rows)}</table>"
        )

    # -- lifecycle --------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Cancel the what-if, let a recipe save in flight finish (the main window calls this on close)."""
        self.runner.cancel()
        self.runner.wait(5000)
        self.tasks.close(wait=True, timeout=15)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)


# -- jobs (run on the task runner's threads) ------------------------------------------------------
def _view_job(_state: TaskState, db: Any, inspection_id: int) -> StoredView | None:
    return load_stored_view(db, inspection_id)


def _latest_job(_state: TaskState, db: Any) -> int | None:
    return latest_inspection_id(db)


def _versions_job(_state: TaskState, db: Any, name: str) -> list[StoredRecipe]:
    return recipe_versions(db, name)


def _save_job(
    _state: TaskState,
    db: Any,
    current: Recipe,
    params_from: Recipe,
    user: str,
    reason: str,
    action: str,
    details: dict[str, Any],
) -> Recipe:
    """A new version of ``current``'s name with ``params_from``'s settings, then its audit event."""
    return save_edited_recipe(db, current, params_from, user, reason, action, details)
