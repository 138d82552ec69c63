"""The status bar: which backend, model, recipe, database and role are in force, always visible."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QTimer
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from inspector.core.recipe import Recipe
from inspector.ui.context import AppContext, ModelState
from inspector.ui.i18n import role_label
from inspector.ui.style import ACCENT, VERDICT_COLORS

OVERRIDE_BADGE = QT_TRANSLATE_NOOP("StationStatusBar", "⚠ OVERRIDE: model promoted without passing the gate")
LINE_POLL_MS = 1000  # line I/O status (LineIO.describe() is thread-safe and cheap)


def masked_db_url(db: Any) -> str:
    """The DB URL with any password replaced by ***: the status bar is on screen all day."""
    url = getattr(db, "url", None)
    if url is None:
        return QCoreApplication.translate("StationStatusBar", "no database")
    return url.render_as_string(hide_password=True)


class StationStatusBar(QStatusBar):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setSizeGripEnabled(True)
        self.backend_label = QLabel()
        self.model_label = QLabel()
        self.recipe_label = QLabel()
        self.db_label = QLabel()
        self.role_label = QLabel()
        self.role_label.setObjectName("RoleBadge")
        self.problems_label = QLabel()
        self.override_label = QLabel(self.tr(OVERRIDE_BADGE))
        self.override_label.setObjectName("OverrideBadge")
        self.override_label.setStyleSheet(
            f"background: {VERDICT_COLORS['NG']}; color: white; font-weight: 600; padding: 0 6px;"
        )
        self.override_label.hide()
        self.line_label = QLabel()  # line I/O outputs, while a product maps them (watch_line)
        self.line_label.setObjectName("LineStatus")
        self.line_label.hide()
        self._line_source: Callable[[], Any] | None = None
        self._line_timer = QTimer(self)
        self._line_timer.setInterval(LINE_POLL_MS)
        self._line_timer.timeout.connect(self.poll_line)
        for w in (
            self.problems_label,
            self.override_label,
            self.line_label,
            self.backend_label,
            self.model_label,
            self.recipe_label,
            self.db_label,
        ):
            self.addPermanentWidget(w)
        self.addPermanentWidget(self.role_label)
        self.problems_label.hide()
        ctx.model_changed.connect(self._on_model)
        ctx.model_file_checked.connect(lambda _present: self._on_model(ctx.model))
        ctx.recipe_changed.connect(self._on_recipe)
        ctx.role_changed.connect(lambda _r: self._on_role())
        self._on_model(ctx.model)
        self._on_recipe(ctx.recipe)
        self._on_role()
        db_text = masked_db_url(ctx.db)
        self.db_label.setText(self.tr("DB {url}").format(url=db_text))
        self.db_label.setToolTip(
            self.tr("Verdict database: {url}\nStation: {station}").format(url=db_text, station=ctx.station)
        )

    def _on_model(self, model: ModelState) -> None:
        # the context's answer, checked off the UI thread; until it comes the model is shown by name
        have = self.ctx.model_file_present() is not False
        backend = model.backend_display or (
            self.tr("backend: loads at first start") if have else self.tr("backend: none")
        )
        self.backend_label.setText(backend)
        self.backend_label.setToolTip(model.notice or backend)
        if have:
            sha = model.card.sha256[:8] if model.card.sha256 else "?"
            self.model_label.setText(self.tr("Model {name} · {sha}").format(name=model.card.name, sha=sha))
            self.model_label.setStyleSheet("")
        else:
            self.model_label.setText(self.tr("Model: NONE"))
            self.model_label.setStyleSheet(f"color: {VERDICT_COLORS['NG']}; font-weight: 600;")
        self.model_label.setToolTip(f"{model.path}\nsha256 {model.card.sha256 or '-'}")
        # Until a model that passed the gate replaces it (or QA rolls back), whatever else happens.
        self.override_label.setVisible(have and bool(model.override_reason))
        self.override_label.setToolTip(
            self.tr(
                "Model {name} was promoted by QA override although it failed the promotion gate.\n"
                "Reason: {reason}\nRoll back in the Trainer tab if in doubt."
            ).format(name=model.card.name, reason=model.override_reason)
            if model.override_reason
            else ""
        )

    def _on_recipe(self, recipe: Recipe) -> None:
        self.recipe_label.setText(
            self.tr("Recipe {name} v{version}").format(name=recipe.name, version=recipe.version)
        )
        self.recipe_label.setToolTip(
            self.tr("threshold {threshold:.2f}, min area {area} px").format(
                threshold=recipe.threshold, area=recipe.min_area_px
            )
        )

    def _on_role(self) -> None:
        qa = self.ctx.is_qa()
        text = (
            f"{role_label(self.ctx.role)} · {self.ctx.user}" if self.ctx.personal else role_label("operator")
        )
        self.role_label.setText(text)
        color = VERDICT_COLORS["REVIEW"] if qa else ACCENT
        self.role_label.setStyleSheet(f"background: {color}; color: white; border: none;")

    def watch_line(self, get_line: Callable[[], Any]) -> None:
        """Poll ``get_line()`` (a LineIO or None) once a second and show its outputs' state."""
        self._line_source = get_line
        self._line_timer.start()
        self.poll_line()

    def poll_line(self) -> None:
        line = self._line_source() if self._line_source is not None else None
        if line is None:
            self.line_label.hide()
            return
        statuses = line.status()
        down = [s for s in statuses if str(s.state) in ("down", "closed")]
        short = [
            next((k for k in ("OPC UA", "Modbus", "MQTT") if s.name.startswith(k)), s.name) for s in statuses
        ]
        outputs = ", ".join(f"{name} {s.state}" for name, s in zip(short, statuses, strict=True))
        self.line_label.setText(("⚠ " if down else "") + self.tr("Line: {outputs}").format(outputs=outputs))
        self.line_label.setToolTip(line.describe())
        color = VERDICT_COLORS["REVIEW"] if down else ACCENT
        self.line_label.setStyleSheet(f"color: {color}; font-weight: 600;")
        self.line_label.show()

    def set_problems(self, n: int) -> None:
        self.problems_label.setVisible(n > 0)
        self.problems_label.setText(self.tr("⚠ %n message(s)", "", n))
        self.problems_label.setStyleSheet(f"color: {VERDICT_COLORS['REVIEW']};")
