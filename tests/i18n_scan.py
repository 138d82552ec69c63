"""Find user-visible string literals in inspector/ui that do not go through tr()/translate().

Looks at the arguments of common Qt text setters and widget constructors (ast, no import):
a string literal, an f-string or a concatenation with words in it that is not wrapped in
``tr(...)`` / ``translate(...)`` (optionally followed by ``.format(...)`` / ``.arg(...)``) is
reported. ``python -m tests.i18n_scan`` prints the findings.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

UI_DIR = Path(__file__).resolve().parents[1] / "inspector" / "ui"

# method name -> which positional arguments carry text (None: all of them)
TEXT_METHODS: dict[str, tuple[int, ...] | None] = {
    "setText": (0,),
    "setWindowTitle": (0,),
    "setToolTip": (0,),
    "setStatusTip": (0,),
    "setWhatsThis": (0,),
    "setPlaceholderText": (0,),
    "setTitle": (0,),
    "setInformativeText": (0,),
    "setDetailedText": (0,),
    "setLabelText": (0,),
    "showMessage": (0,),
    "setSpecialValueText": (0,),
    "setSuffix": (0,),
    "setPrefix": (0,),
    "setHeaderLabels": (0,),
    "setHorizontalHeaderLabels": (0,),
    "setVerticalHeaderLabels": (0,),
    "setAccessibleName": (0,),
    "setCancelButtonText": (0,),
    "setOkButtonText": (0,),
    "setButtonText": (1,),
    "setFormat": (0,),
    "setHtml": (0,),
    "addTab": (1, 2),
    "insertTab": (2, 3),
    "setTabText": (1,),
    "setTabToolTip": (1,),
    "addAction": (0, 1),
    "addMenu": (0, 1),
    "addRow": (0,),
    "addItem": (0,),
    "addItems": (0,),
    "insertItem": (1,),
    "setItemText": (1,),
    "setItemToolTip": (1,),
    "addButton": (0,),
    "notify": (1,),
    "setNameFilter": (0,),
    "setEmptyText": (0,),
}
TEXT_CONSTRUCTORS = {
    "QLabel",
    "QPushButton",
    "QCheckBox",
    "QRadioButton",
    "QGroupBox",
    "QAction",
    "QMenu",
    "QDockWidget",
    "QMessageBox",
    "QTreeWidgetItem",
    "QTableWidgetItem",
    "QListWidgetItem",
    "QCommandLinkButton",
    "QToolButton",
    "QStandardItem",
}
# QMessageBox.information(parent, title, text), QFileDialog.getOpenFileName(parent, caption, dir, filter), ...
STATIC_TEXT_CALLS = {
    ("QMessageBox", "information"),
    ("QMessageBox", "warning"),
    ("QMessageBox", "critical"),
    ("QMessageBox", "question"),
    ("QMessageBox", "about"),
    ("QFileDialog", "getOpenFileName"),
    ("QFileDialog", "getSaveFileName"),
    ("QFileDialog", "getExistingDirectory"),
    ("QFileDialog", "getOpenFileNames"),
    ("QInputDialog", "getText"),
    ("QInputDialog", "getItem"),
    ("QInputDialog", "getInt"),
    ("QInputDialog", "getDouble"),
}
TEXT_KEYWORDS = {"text", "title", "toolTip", "statusTip", "caption", "filter", "label", "placeholderText"}
WRAPPERS = {"tr", "translate", "QT_TR_NOOP", "QT_TRANSLATE_NOOP"}
# Words that are the same in every language: line codes, names, units (a literal made only of these,
# markup and placeholders needs no translation).
ALLOWED = {
    "OK",
    "NG",
    "REVIEW",
    "ERROR",
    "ONNX",
    "Runtime",
    "TensorRT",
    "OpenVINO",
    "Triton",
    "PNG",
    "CSV",
    "JSON",
    "PDF",
    "SVG",
    "HTML",
    "Excel",
    "ROI",
    "PIN",
    "DB",
    "GPU",
    "CPU",
    "KIOSK",
    "BatchNorm",
    "sha256",
    "px",
    "ms",
}
_WORDS = re.compile(r"[A-Za-zÄÖÜäöüß][A-Za-z0-9ÄÖÜäöüß]+")  # a word: a letter, then letters or digits
_MARKUP = re.compile(r"<[^>]*>|&\w+;|\{[^}]*\}")  # HTML tags, entities, format fields


def _needs_translation(literal: str) -> bool:
    """Words in ``literal`` outside markup and placeholders that are not in ALLOWED."""
    return any(w not in ALLOWED for w in _WORDS.findall(_MARKUP.sub(" ", literal)))


@dataclass(frozen=True, slots=True)
class Finding:
    path: str
    line: int
    call: str
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.call}({self.text!r})"


def _callee(node: ast.Call) -> str:
    f = node.func
    if isinstance(f, ast.Attribute):
        return f.attr
    if isinstance(f, ast.Name):
        return f.id
    return ""


def _is_wrapped(node: ast.expr) -> bool:
    """tr("..."), translate("ctx", "..."), and those with .format()/.arg()/.replace() on them."""
    while isinstance(node, ast.Call):
        name = _callee(node)
        if name in WRAPPERS:
            return True
        if name in ("format", "arg", "replace", "strip") and isinstance(node.func, ast.Attribute):
            node = node.func.value
            continue
        return False
    return False


def _visible_literals(node: ast.expr) -> list[str]:
    """The user-visible literal words in an argument expression that are not translated."""
    if _is_wrapped(node):
        return []
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value] if _needs_translation(node.value.replace("&", "")) else []
    if isinstance(node, ast.JoinedStr):
        parts = [v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
        return [ast.unparse(node)] if _needs_translation(" ".join(parts)) else []
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        return _visible_literals(node.left) + _visible_literals(node.right)
    if isinstance(node, ast.IfExp):
        return _visible_literals(node.body) + _visible_literals(node.orelse)
    if isinstance(node, ast.BoolOp):
        return [t for v in node.values for t in _visible_literals(v)]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [t for e in node.elts for t in _visible_literals(e)]
    if isinstance(node, ast.Call) and _callee(node) == "join" and node.args:
        return _visible_literals(node.args[0])
    return []


def _text_args(node: ast.Call) -> list[ast.expr]:
    name = _callee(node)
    f = node.func
    static = isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name)
    if static and (f.value.id, f.attr) in STATIC_TEXT_CALLS:  # type: ignore[union-attr]
        args = list(node.args[1:])
    elif isinstance(f, ast.Name) and name in TEXT_CONSTRUCTORS:
        args = list(node.args)
    elif isinstance(f, ast.Attribute) and name in TEXT_METHODS:
        wanted = TEXT_METHODS[name]
        args = [a for i, a in enumerate(node.args) if wanted is None or i in wanted]
    else:
        return []
    return args + [k.value for k in node.keywords if k.arg in TEXT_KEYWORDS]


def scan_source(source: str, path: str = "<string>") -> list[Finding]:
    out: list[Finding] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            for arg in _text_args(node):
                found = _visible_literals(arg)
                out.extend(Finding(path, node.lineno, _callee(node), text) for text in found)
    return out


def scan(folder: Path = UI_DIR) -> list[Finding]:
    out: list[Finding] = []
    for path in sorted(folder.glob("*.py")):
        out.extend(scan_source(path.read_text(encoding="utf-8"), path.name))
    return out


if __name__ == "__main__":
    findings = scan()
    for f in findings:
        print(f)
    print(len(findings), "untranslated")
