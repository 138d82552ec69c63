"""Languages: the shipped translations, the language choice, German on real widgets, English unchanged,
and the scan that keeps new GUI strings going through tr()/translate()."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QLocale, QSettings, QTranslator
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialogButtonBox

from inspector.ui import i18n
from tests.i18n_scan import scan, scan_source
from tests.ui_helpers import close_window, make_window

REPO = Path(__file__).resolve().parents[1]
I18N = REPO / "resources" / "i18n"
LUPDATE = REPO / ".venv" / "bin" / "pyside6-lupdate"
FIELD = re.compile(r"\{[^{}]*\}")


def _messages(ts: Path) -> list[tuple[str, ET.Element]]:
    out = []
    for ctx in ET.parse(ts).getroot().iter("context"):
        name = ctx.findtext("name") or ""
        out.extend((name, m) for m in ctx.iter("message"))
    return out


def _forms(message: ET.Element) -> list[str]:
    t = message.find("translation")
    assert t is not None
    forms = [f.text or "" for f in t.iter("numerusform")]
    return forms if message.get("numerus") == "yes" else [t.text or ""]


# -- the shipped files -------------------------------------------------------------------------------
def test_every_german_entry_is_translated_with_the_same_placeholders():
    messages = _messages(I18N / "inspector_de.ts")
    assert len(messages) > 500  # the whole GUI, not a sample
    problems = []
    for ctx, m in messages:
        src = m.findtext("source") or ""
        t = m.find("translation")
        kind = t.get("type") if t is not None else "missing"
        if kind in ("unfinished", "obsolete", "vanished", "missing"):
            problems.append(f"{ctx}: {src!r} is {kind}")
            continue
        for form in _forms(m):
            if not form.strip():
                problems.append(f"{ctx}: {src!r} has an empty translation")
            # str.format fields must match, or the German text raises KeyError / drops a value
            elif sorted(FIELD.findall(form)) != sorted(FIELD.findall(src)):
                problems.append(f"{ctx}: {src!r} -> {form!r}: placeholders differ")
            elif ("%n" in src) != ("%n" in form):
                problems.append(f"{ctx}: {src!r} -> {form!r}: %n differs")
    assert problems == []


def test_english_file_holds_the_plural_forms():
    messages = _messages(I18N / "inspector_en.ts")
    assert messages
    assert all(m.get("numerus") == "yes" for _c, m in messages)
    for _ctx, m in messages:
        singular, plural = _forms(m)
        assert "(s)" not in singular + plural


@pytest.mark.skipif(not LUPDATE.is_file(), reason="pyside6-lupdate not installed in .venv")
def test_update_script_reproduces_the_shipped_files(tmp_path):
    """scripts/update_translations.sh run on today's sources changes nothing: every GUI string is in
    the shipped .ts (translated: --check), and no stale entry is left. After changing GUI strings, run
    the script and translate what it adds."""
    for rel in ("inspector/ui", "resources/i18n"):
        shutil.copytree(REPO / rel, tmp_path / rel, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "scripts").mkdir()
    shutil.copy2(REPO / "scripts" / "update_translations.sh", tmp_path / "scripts")
    done = subprocess.run(
        ["bash", "scripts/update_translations.sh", "--check"],
        cwd=tmp_path,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "PYSIDE6_BIN": str(LUPDATE.parent)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for name in ("inspector_de.ts", "inspector_en.ts"):
        fresh = (tmp_path / "resources" / "i18n" / name).read_text(encoding="utf-8")
        assert fresh == (I18N / name).read_text(encoding="utf-8"), f"{name} is not up to date"


@pytest.mark.parametrize("lang", ["de", "en"])
def test_qm_matches_its_ts(qapp, lang):
    """The compiled .qm gives every translation of the .ts (it was compiled after the last edit)."""
    t = QTranslator()
    assert t.load(str(I18N / f"inspector_{lang}.qm"))
    for ctx, m in _messages(I18N / f"inspector_{lang}.ts"):
        src, forms = m.findtext("source") or "", _forms(m)
        if m.get("numerus") == "yes":  # raw forms; QCoreApplication.translate puts the number in
            assert [t.translate(ctx, src, None, 1), t.translate(ctx, src, None, 2)] == forms[:2], src
        else:
            assert t.translate(ctx, src) == forms[0], src


def test_german_translates_through_the_application(german):
    assert QCoreApplication.translate("MainWindow", "&File") == "&Datei"
    assert QCoreApplication.translate("LineView", "READY") == "BEREIT"
    assert QCoreApplication.translate("StationStatusBar", "⚠ %n message(s)", None, 3) == "⚠ 3 Meldungen"
    assert QCoreApplication.translate("StationStatusBar", "⚠ %n message(s)", None, 1) == "⚠ 1 Meldung"
    assert i18n.role_label("qa") == "QS"
    from inspector.core.accounts import Right

    assert i18n.needs_text(Right.PROMOTE) == "erfordert QS, Ingenieur oder Admin"


def test_recipe_field_help_covers_every_description():
    """The core's Recipe field descriptions are tooltips: each one is marked in recipe_editor."""
    from inspector.core.recipe import Recipe
    from inspector.ui.recipe_editor import FIELD_HELP

    descriptions = {f.description for f in Recipe.model_fields.values() if f.description}
    assert descriptions - set(FIELD_HELP) == set()


# -- the language choice -----------------------------------------------------------------------------
def test_resolve_order_env_over_setting_and_system(tmp_path, monkeypatch, qapp):
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    german_desktop = QLocale(QLocale.Language.German, QLocale.Country.Austria)
    english_desktop = QLocale(QLocale.Language.English, QLocale.Country.UnitedStates)
    french_desktop = QLocale(QLocale.Language.French, QLocale.Country.France)
    monkeypatch.delenv(i18n.LANGUAGE_ENV, raising=False)
    assert i18n.configured(settings) == "system"
    assert i18n.resolve(settings, locale=german_desktop) == "de"
    assert i18n.resolve(settings, locale=english_desktop) == "en"
    assert i18n.resolve(settings, locale=french_desktop) == "en"  # not shipped: English
    i18n.store(settings, "de")
    assert i18n.resolve(settings, locale=english_desktop) == "de"
    monkeypatch.setenv(i18n.LANGUAGE_ENV, "en_GB.UTF-8")
    assert i18n.resolve(settings, locale=german_desktop) == "en"
    assert i18n.resolve(settings, override="de", locale=english_desktop) == "de"  # --lang wins
    monkeypatch.setenv(i18n.LANGUAGE_ENV, "klingon")  # unknown: the desktop's, with a warning
    assert i18n.resolve(settings, locale=german_desktop) == "de"
    with pytest.raises(ValueError, match="unknown language"):
        i18n.store(settings, "fr")
    settings.setValue(i18n.LANGUAGE_KEY, "xx")
    assert i18n.configured(settings) == "system"


def test_install_missing_translation_keeps_english(tmp_path, monkeypatch, qapp):
    monkeypatch.setenv("INSPECTOR_RESOURCES", str(tmp_path))  # no resources/i18n there
    try:
        loaded = i18n.install("de")
        assert not any(p.endswith("inspector_de.qm") for p in loaded)
        assert QCoreApplication.translate("MainWindow", "&File") == "&File"
    finally:
        i18n.uninstall()


# -- real widgets ------------------------------------------------------------------------------------
@pytest.fixture
def german(qapp, monkeypatch):
    monkeypatch.delenv(i18n.LANGUAGE_ENV, raising=False)
    loaded = i18n.install("de")  # before any widget is built, as run_gui does
    assert any(p.endswith("inspector_de.qm") for p in loaded)
    yield loaded
    i18n.uninstall()


@pytest.fixture
def english(qapp, monkeypatch):
    monkeypatch.delenv(i18n.LANGUAGE_ENV, raising=False)
    i18n.install("en")
    yield
    i18n.uninstall()


def _menus(window) -> list[str]:
    return [a.text() for a in window.menuBar().actions()]


def _tabs(window) -> list[str]:
    return [window.tabs.tabText(i) for i in range(window.tabs.count())]


def test_main_window_in_german(german, qtbot, tmp_path, tiny_model, monkeypatch):
    window = make_window(qtbot, tmp_path, tiny_model, monkeypatch)
    try:
        assert _menus(window) == ["&Datei", "&Prüflauf", "&Ansicht", "R&olle", "&Hilfe"]
        assert _tabs(window)[:3] == ["Live", "Verlauf", "Regeln"]
        assert window.panels.keys() >= {"Live", "History", "Rules"}  # the keys stay English
        live = window.live
        assert live.reset_button.text() == "Zähler zurücksetzen"
        assert live.start_button.text() == "Start"
        assert live.banner.verdict_label.text() == "BEREIT"
        assert window.status.recipe_label.text().startswith("Rezept ")
        assert window.status.role_label.text() == "Bediener"
        window.status.set_problems(2)
        assert window.status.problems_label.text() == "⚠ 2 Meldungen"
        file_menu = window.menuBar().actions()[0].menu()
        assert "&Einstellungen…" in [a.text() for a in file_menu.actions()]
        # the line view: its buttons are keys; the captions, hint and idle tile are German
        view = window.line_view.view
        assert view.tile.title.text() == "BEREIT"
        assert view.counts["lot"].caption.text() == "LOS"
        assert view.counts["total"].caption.text() == "GESAMT"
        assert view.counts["NG"].caption.text() == "NG"  # line codes stay as they are
        assert view.keys_label.text().startswith("Leertaste Start/Pause")
        assert window.line_view.toggle_action.text() == "Linien&ansicht (Vollbild)"
        toolbar = window.products.toolbar
        assert toolbar.start_lot_button.text() == "Los starten"
        assert toolbar.report_button.text() == "Bericht…"
    finally:
        close_window(window)


def test_login_dialog_in_german(german, qtbot, tmp_path, tiny_model, monkeypatch):
    window = make_window(qtbot, tmp_path, tiny_model, monkeypatch)
    try:
        window.qa_action.trigger()
        dlg = window.roles.login_dialog
        assert dlg is not None
        assert dlg.windowTitle() == "QS-Anmeldung"
        assert dlg.form.labelForField(dlg.name_edit).text() == "Name"
        assert dlg.name_edit.placeholderText() == "Ihr Name (Pflicht, für das Audit-Protokoll)"
        # Qt's own buttons come from qtbase_de.qm (shipped in the PySide6 wheel)
        cancel = dlg.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        assert cancel.text().replace("&", "") == "Abbrechen"
        dlg.name_edit.setText("Alice")
        dlg.pin_edit.setText("0000")
        dlg.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
        assert dlg.error_label.text().startswith("QS ist gesperrt")  # no PIN set on this computer
        dlg.reject()
    finally:
        close_window(window)


def test_english_unchanged(english, qtbot, tmp_path, tiny_model, monkeypatch):
    window = make_window(qtbot, tmp_path, tiny_model, monkeypatch)
    try:
        assert _menus(window) == ["&File", "&Run", "&View", "R&ole", "&Help"]
        assert _tabs(window)[:3] == ["Live", "History", "Rules"]
        assert window.live.reset_button.text() == "Reset counters"
        assert window.line_view.view.tile.title.text() == "READY"
        assert window.status.role_label.text() == "Operator"
        window.status.set_problems(1)  # the English plural forms come from inspector_en.qm
        assert window.status.problems_label.text() == "⚠ 1 message"
        window.status.set_problems(3)
        assert window.status.problems_label.text() == "⚠ 3 messages"
        window.qa_action.trigger()
        assert window.roles.login_dialog.windowTitle() == "QA login"
        window.roles.login_dialog.reject()
    finally:
        close_window(window)


def test_settings_dialog_stores_the_language_for_the_next_start(qtbot, tmp_path, tiny_model, monkeypatch):
    monkeypatch.delenv(i18n.LANGUAGE_ENV, raising=False)
    window = make_window(qtbot, tmp_path, tiny_model, monkeypatch)
    try:
        dlg = window.show_settings()
        assert dlg.language.currentData() == "system"
        assert [dlg.language.itemData(i) for i in range(dlg.language.count())] == ["system", "en", "de"]
        assert dlg.language.itemText(2) == "Deutsch"
        assert "next start" in dlg.note.text()
        dlg.language.setCurrentIndex(dlg.language.findData("de"))
        dlg.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
        assert i18n.configured(window.ctx.settings) == "de"
        assert i18n.resolve(window.ctx.settings) == "de"
        assert any("next start" in text for _level, text in window.messages.messages())
        # the window itself stays in its language until the restart
        assert _menus(window)[0] == "&File"
        dlg = window.show_settings()
        assert dlg.language.currentData() == "de"  # reopened: shows the stored choice
        dlg.reject()
    finally:
        close_window(window)


def test_settings_dialog_says_when_the_environment_overrides(qtbot, tmp_path, tiny_model, monkeypatch):
    window = make_window(qtbot, tmp_path, tiny_model, monkeypatch)
    monkeypatch.setenv(i18n.LANGUAGE_ENV, "de")
    try:
        dlg = window.show_settings()
        assert "INSPECTOR_LANG=de" in dlg.note.text()
        dlg.reject()
    finally:
        close_window(window)


# -- the scan ----------------------------------------------------------------------------------------
def test_no_untranslated_gui_literals():
    findings = scan()
    assert findings == [], "wrap these in self.tr()/QCoreApplication.translate():\n" + "\n".join(
        map(str, findings)
    )


def test_scan_finds_unwrapped_texts_and_accepts_wrapped_ones():
    bad = """
QLabel("Hello there")
b.setText(f"{n} parts")
box.setToolTip("Start " + name)
QMessageBox.warning(self, "Title", "Body text")
tabs.addTab(w, "History")
combo.addItem("Folder", "folder")
ctx.notify("info", f"Lot {code} started")
"""
    good = """
QLabel(self.tr("Hello there"))
b.setText(self.tr("{n} parts").format(n=n))
box.setToolTip(QCoreApplication.translate("Ctx", "Start {name}").format(name=name))
QLabel("OK")
QLabel("NG")
b.setText(f"{n:,}")
b.setText("–")
label.setText(f"<b>{name}</b> &nbsp;·&nbsp; {lot}")
combo.addItem(self.tr(label), "folder")
ctx.notify("info", text)
"""
    found = scan_source(bad)
    assert [f.line for f in found] == [2, 3, 4, 5, 5, 6, 7, 8]
    assert scan_source(good) == []


def _shown_texts(root) -> list[tuple[str, str]]:
    """(where, text) of what a person reads on ``root`` and its children."""
    from PySide6.QtWidgets import (
        QAbstractButton,
        QComboBox,
        QGroupBox,
        QLabel,
        QLineEdit,
        QTableWidget,
        QTabWidget,
        QWidget,
    )

    out: list[tuple[str, str]] = []
    for w in [root, *root.findChildren(QWidget)]:
        where = f"{type(w).__name__} {w.objectName()}"
        out.append((where + " tooltip", w.toolTip()))
        out.append((where + " title", w.windowTitle() if w.isWindow() else ""))
        if isinstance(w, QLabel | QAbstractButton):
            out.append((where, w.text()))
        if isinstance(w, QGroupBox):
            out.append((where, w.title()))
        if isinstance(w, QLineEdit):
            out.append((where + " placeholder", w.placeholderText()))
        if isinstance(w, QComboBox):
            out.extend((where + " item", w.itemText(i)) for i in range(w.count()))
        if isinstance(w, QTabWidget):
            out.extend((where + " tab", w.tabText(i)) for i in range(w.count()))
        if isinstance(w, QTableWidget):
            for c in range(w.columnCount()):
                item = w.horizontalHeaderItem(c)
                out.append((where + " header", item.text() if item is not None else ""))
    for a in root.findChildren(QAction):
        out.append((f"QAction {a.objectName()}", a.text()))
    return [(where, text) for where, text in out if text]


def test_no_widget_shows_an_english_source_text_in_german(german, qtbot, tmp_path, tiny_model, monkeypatch):
    """Every text on the window and its dialogs that is one of the GUI's source strings shows its German
    translation: catches a text translated in the wrong context (it would silently stay English)."""
    translation = {}
    for _ctx, m in _messages(I18N / "inspector_de.ts"):
        src = m.findtext("source") or ""
        if m.get("numerus") != "yes" and not FIELD.search(src) and _forms(m)[0] != src:
            translation[src] = _forms(m)[0]
    window = make_window(qtbot, tmp_path, tiny_model, monkeypatch)
    try:
        from inspector.ui.line_mode import LotIdDialog
        from inspector.ui.login_dialog import ChangePasswordDialog, ChangePinDialog
        from inspector.ui.product_picker import NewProductDialog
        from inspector.ui.user_admin import AddUserDialog, ResetPasswordDialog, UserAdminDialog

        window.qa_action.trigger()
        roots = [
            window,
            window.show_shortcuts(),
            window.show_settings(),
            window.products.choose_dialog(),
            window.products.toolbar.open_report(),
            window.roles.login_dialog,
            UserAdminDialog(window.ctx, window),
            AddUserDialog(window),
            ResetPasswordDialog("bob", window),
            ChangePinDialog(window.roles.pins, window),
            ChangePasswordDialog(window.ctx.db, "bob", "", window),
            LotIdDialog(window),
            NewProductDialog(window.products, window),
        ]
        assert "Trainer" in window.panels  # the trainer and release panels are part of the window
        english = [
            (type(r).__name__, where, text)
            for r in roots
            for where, text in _shown_texts(r)
            if text in translation
        ]
        assert english == []
        for r in roots[1:]:
            r.close()
    finally:
        close_window(window)
