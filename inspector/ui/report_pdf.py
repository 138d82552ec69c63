"""Lot and shift reports as PDF (and page images), written by Qt: QTextDocument + QPdfWriter.

The page is the HTML report of :mod:`inspector.services.lot_report` with its SVG charts rendered to
images (Qt's rich-text HTML has no inline SVG). No extra dependency: PySide6-Essentials has
everything. Works without a display: the CLI (``inspector report --pdf``) gets an offscreen
QGuiApplication; the GUI writes reports from a worker thread (QPainter on a QPdfWriter or a
QImage is allowed off the UI thread).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QByteArray, QMarginsF, QSizeF, QUrl
from PySide6.QtGui import (
    QColor,
    QGuiApplication,
    QImage,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QTextDocument,
)
from PySide6.QtSvg import QSvgRenderer

from inspector.services.lot_report import ReportData, charts, render_html

CHART_SCALE = 2.0  # chart images at twice their size: sharp in print
CHART_WIDTH = 640  # the charts' width on the page (document pixels)


def ensure_gui_app() -> QGuiApplication:
    """The running Qt application, else an offscreen QGuiApplication (headless commands)."""
    app = QGuiApplication.instance()
    if app is not None:
        return app  # type: ignore[return-value]
    if not os.environ.get("QT_QPA_PLATFORM") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or sys.platform in ("win32", "darwin")
    ):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    return QGuiApplication(sys.argv[:1])


def svg_image(svg: str, scale: float = CHART_SCALE) -> QImage:
    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    size = renderer.defaultSize()
    image = QImage(int(size.width() * scale), int(size.height() * scale), QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    try:
        renderer.render(painter)
    finally:
        painter.end()
    return image


def report_document(data: ReportData) -> QTextDocument:
    """The report as a QTextDocument with its charts as image resources."""
    doc = QTextDocument()
    doc.setDocumentMargin(0)
    names: dict[str, str] = {}
    for name, svg in charts(data).items():
        url = f"chart-{name}.png"
        image = svg_image(svg)
        doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(url), image)
        names[name] = url
    doc.setHtml(render_html(data, images=names, image_width=CHART_WIDTH))
    return doc


def write_pdf(data: ReportData, path: Path) -> Path:
    """The report as an A4 PDF at ``path`` (written to a temporary name, then renamed)."""
    ensure_gui_app()
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    writer = QPdfWriter(str(tmp))
    writer.setTitle(data.title)
    writer.setCreator("Defect Inspector")
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setPageMargins(QMarginsF(14, 14, 14, 14), QPageLayout.Unit.Millimeter)
    writer.setResolution(150)
    doc = report_document(data)
    try:
        doc.print_(writer)
        del writer  # the PDF is complete once the writer is gone
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def render_page_image(data: ReportData, width: int = 900) -> QImage:
    """The report laid out on one tall image (previews and screenshots)."""
    ensure_gui_app()
    doc = report_document(data)
    doc.setDocumentMargin(24)
    doc.setTextWidth(width)
    size: QSizeF = doc.size()
    image = QImage(width, int(size.height()) + 1, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    try:
        doc.drawContents(painter)
    finally:
        painter.end()
    return image
