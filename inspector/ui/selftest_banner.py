"""The self-test banner of the live panel: a red bar across the panel while the golden-sample
self-test of the loaded model + recipe + backend fails (the station then passes no part: every
part is logged as ERROR). Hidden while the self-test passes."""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from inspector.core.selftest import SelfTestReport
from inspector.ui.style import VERDICT_COLORS

TITLE = QT_TRANSLATE_NOOP("SelfTestBanner", "Self-test failed: station will not pass parts — every part is "
                                            "logged as ERROR")
MAX_LINES = 6  # failed checks listed in the banner; the tooltip has the whole report


class SelfTestBanner(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SelfTestBanner")
        self.setStyleSheet(
            f"QFrame#SelfTestBanner {{ background: {VERDICT_COLORS['NG']}; border-radius: 6px; }}"
            "QFrame#SelfTestBanner QLabel { color: white; }"
        )
        self.title_label = QLabel(self.tr(TITLE))
        self.title_label.setStyleSheet("font-size: 13pt; font-weight: 700;")
        self.title_label.setWordWrap(True)
        self.detail_label = QLabel("")
        self.detail_label.setWordWrap(True)
        self.detail_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addWidget(self.title_label)
        layout.addWidget(self.detail_label)
        self.report: SelfTestReport | None = None
        self.hide()

    @property
    def failing(self) -> bool:
        return self.report is not None and not self.report.passed

    def show_report(self, report: SelfTestReport) -> bool:
        """Show (failed) or hide (passed) for ``report``; True when that changes what the station
        does (passed <-> failed, or another failure), so the caller can say it once."""
        changed = self.report is None or (self.report.passed, self.report.reason) != (
            report.passed,
            report.reason,
        )
        self.report = report
        if report.passed:
            self.hide()
            self.detail_label.setText("")
            self.setToolTip("")
            return changed
        context = self.tr("Model {model} ({sha}), recipe {recipe} v{version}, {backend}.").format(
            model=report.model_name, sha=report.model_sha256[:12], recipe=report.recipe_name,
            version=report.recipe_version, backend=report.backend)
        failed = report.failed  # the checks' names and headlines are the report's own (English) text
        lines = [f"• {c.name}: {c.headline}" for c in failed[:MAX_LINES]]
        if len(failed) > MAX_LINES:
            lines.append("• " + self.tr("… and {n} more").format(n=len(failed) - MAX_LINES))
        if not failed:  # unverified: nothing failed, nothing was verified
            lines.append(f"• {report.reason.removeprefix('self-test failed: ')}")
        self.detail_label.setText("\n".join([context, *lines]))
        self.setToolTip("\n".join(report.lines()))
        self.show()
        return changed
