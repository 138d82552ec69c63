"""One look for the whole station: palette, stylesheet and verdict colours.

Panels use the object names and dynamic properties defined here instead of
inline colours, so the look stays consistent and is changed in one place.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from inspector.core.types import Verdict

# Verdict colours chosen for contrast with white text on a dark UI. ERROR (a part that was not
# inspected) is purple: never mistaken for a pass (green) nor for a judged reject (red / amber).
VERDICT_COLORS: dict[str, str] = {
    Verdict.OK.value: "#2e9e4f",
    Verdict.NG.value: "#d64541",
    Verdict.REVIEW.value: "#e0a020",
    Verdict.ERROR.value: "#a55fd0",
}
IDLE_COLOR = "#3a4048"

BG = "#1d2126"
PANEL = "#252a31"
PANEL_ALT = "#2d333b"
BORDER = "#39404a"
TEXT = "#e6e8eb"
MUTED = "#9aa3ad"
ACCENT = "#3d8bfd"
VIEW_BG = "#14171b"

STYLESHEET = f"""
QWidget {{ color: {TEXT}; font-size: 10pt; }}
QMainWindow, QDialog {{ background: {BG}; }}
QTabWidget::pane {{ border: 1px solid {BORDER}; border-radius: 4px; top: -1px; background: {BG}; }}
QTabBar::tab {{ background: {PANEL}; color: {MUTED}; padding: 7px 18px; border: 1px solid {BORDER};
    border-bottom: none; border-top-left-radius: 4px; border-top-right-radius: 4px; margin-right: 2px; }}
QTabBar::tab:selected {{ background: {BG}; color: {TEXT}; border-bottom: 2px solid {ACCENT}; }}
QGroupBox {{ background: {PANEL}; border: 1px solid {BORDER}; border-radius: 6px; margin-top: 14px;
    padding: 10px 8px 8px 8px; font-weight: 600; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 10px; padding: 0 4px; color: {MUTED}; }}
QPushButton, QToolButton {{ background: {PANEL_ALT}; border: 1px solid {BORDER}; border-radius: 4px;
    padding: 5px 12px; }}
QPushButton:hover, QToolButton:hover {{ border-color: {ACCENT}; }}
QPushButton:pressed, QToolButton:pressed {{ background: {BORDER}; }}
QPushButton:disabled, QToolButton:disabled {{ color: #5f6670; border-color: #30363e; }}
QPushButton:default {{ border-color: {ACCENT}; }}
QPushButton[primary="true"] {{ background: {ACCENT}; border-color: {ACCENT}; color: white;
    font-weight: 600; }}
QPushButton[primary="true"]:disabled {{ background: #2c4466; color: #8ea3bf; }}
QLineEdit, QComboBox, QSpinBox {{ background: {VIEW_BG}; border: 1px solid {BORDER}; border-radius: 4px;
    padding: 4px 6px; selection-background-color: {ACCENT}; }}
QLineEdit:focus, QComboBox:focus {{ border-color: {ACCENT}; }}
QComboBox QAbstractItemView {{ background: {PANEL}; border: 1px solid {BORDER};
    selection-background-color: {ACCENT}; }}
QListWidget, QTreeWidget, QTableView {{ background: {VIEW_BG}; border: 1px solid {BORDER}; border-radius: 4px;
    alternate-background-color: {PANEL}; }}
QListWidget::item:selected {{ background: {PANEL_ALT}; border: 2px solid {ACCENT}; border-radius: 4px;
    color: {TEXT}; }}
QHeaderView::section {{ background: {PANEL}; color: {MUTED}; border: none; border-right: 1px solid {BORDER};
    padding: 4px 6px; }}
QStatusBar {{ background: {PANEL}; border-top: 1px solid {BORDER}; }}
QStatusBar::item {{ border: none; }}
QStatusBar QLabel {{ color: {MUTED}; padding: 0 8px; border-left: 1px solid {BORDER}; }}
QMenuBar {{ background: {PANEL}; }}
QMenuBar::item:selected, QMenu::item:selected {{ background: {ACCENT}; color: white; }}
QMenu {{ background: {PANEL}; border: 1px solid {BORDER}; }}
QDockWidget::title {{ background: {PANEL}; padding: 5px 8px; color: {MUTED}; }}
QSplitter::handle {{ background: {BG}; }}
QCheckBox::indicator {{ width: 15px; height: 15px; }}
QLabel[muted="true"] {{ color: {MUTED}; }}
QLabel[hint="true"] {{ color: #f0c060; }}
QLabel[error="true"] {{ color: #ff7b72; }}
QFrame#Tile {{ background: {PANEL_ALT}; border: 1px solid {BORDER}; border-radius: 6px; }}
QLabel#TileValue {{ font-size: 19pt; font-weight: 700; }}
QLabel#TileCaption {{ color: {MUTED}; font-size: 8.5pt; text-transform: uppercase; }}
QLabel#VerdictText {{ font-size: 40pt; font-weight: 800; color: white; letter-spacing: 2px; }}
QLabel#VerdictText[long="true"] {{ font-size: 21pt; letter-spacing: 0px; }}
QLabel#VerdictDetail {{ color: white; font-size: 10.5pt; }}
QLabel#RoleBadge {{ border-radius: 4px; padding: 1px 8px; font-weight: 600; }}
"""


def apply_style(app: QApplication) -> None:
    """Fusion + a dark palette + the stylesheet: identical on every platform."""
    app.setStyle("Fusion")
    pal = QPalette()
    for role, color in (
        (QPalette.ColorRole.Window, BG),
        (QPalette.ColorRole.WindowText, TEXT),
        (QPalette.ColorRole.Base, VIEW_BG),
        (QPalette.ColorRole.AlternateBase, PANEL),
        (QPalette.ColorRole.Text, TEXT),
        (QPalette.ColorRole.Button, PANEL_ALT),
        (QPalette.ColorRole.ButtonText, TEXT),
        (QPalette.ColorRole.Highlight, ACCENT),
        (QPalette.ColorRole.HighlightedText, "#ffffff"),
        (QPalette.ColorRole.ToolTipBase, PANEL),
        (QPalette.ColorRole.ToolTipText, TEXT),
        (QPalette.ColorRole.PlaceholderText, MUTED),
    ):
        pal.setColor(role, QColor(color))
    app.setPalette(pal)
    app.setStyleSheet(STYLESHEET)


def verdict_color(verdict: str | None) -> str:
    return VERDICT_COLORS.get(str(verdict), IDLE_COLOR) if verdict else IDLE_COLOR
