"""Languages: every GUI string goes through Qt's translation system (``tr()`` /
``QCoreApplication.translate``); this module picks the language and installs the translators.

The choice is made once at start-up, before any widget is built: ``--lang``, else
``INSPECTOR_LANG`` (kiosk installs), else the ``ui/language`` setting (File ▸ Settings…); "system"
follows the desktop's UI languages. Shipped: English (the source text; ``inspector_en.qm`` holds only its
plural forms) and German. Qt's own ``qtbase_<lang>.qm`` (standard buttons, file dialogs) comes
from the PySide6 wheel when it has one. Logged data (verdict reasons, audit events) stays English.
The sources are ``resources/i18n/*.ts``; ``scripts/update_translations.sh`` regenerates them and
compiles the ``.qm`` files.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QLibraryInfo, QLocale, QSettings, QTranslator

from inspector.core.accounts import RIGHTS, Right, Role, min_role
from inspector.core.paths import resources_dir

log = logging.getLogger(__name__)

LANGUAGE_KEY = "ui/language"
LANGUAGE_ENV = "INSPECTOR_LANG"
SYSTEM = "system"
# code -> the language's own name (shown untranslated, so anyone finds their language)
LANGUAGES: dict[str, str] = {"en": "English", "de": "Deutsch"}
DEFAULT = "en"

_installed: list[QTranslator] = []  # kept referenced: a collected QTranslator stops translating


def translations_dir() -> Path:
    return resources_dir() / "i18n"


def _normalise(value: str) -> str:
    """The language part of a locale name, lower case: de_DE, de-AT, DE and de_DE.UTF-8 give de."""
    return value.strip().lower().replace("-", "_").split("_")[0].split(".")[0]


def system_language(locale: QLocale | None = None) -> str:
    """The first of the desktop's UI languages the station ships, else English."""
    loc = locale or QLocale.system()
    for name in loc.uiLanguages():
        code = _normalise(name)
        if code in LANGUAGES:
            return code
    return DEFAULT


def configured(settings: QSettings | None) -> str:
    """The stored choice: "system", "en" or "de" (anything else reads as "system")."""
    value = (
        _normalise(str(settings.value(LANGUAGE_KEY, SYSTEM) or SYSTEM)) if settings is not None else SYSTEM
    )
    return value if value in LANGUAGES else SYSTEM


def store(settings: QSettings, choice: str) -> None:
    """Save the choice ("system" or a language code); it applies at the next start."""
    code = _normalise(choice)
    if code != SYSTEM and code not in LANGUAGES:
        raise ValueError(f"unknown language {choice!r}; known: system, {', '.join(LANGUAGES)}")
    settings.setValue(LANGUAGE_KEY, code)
    settings.sync()


def resolve(
    settings: QSettings | None = None, override: str | None = None, locale: QLocale | None = None
) -> str:
    """The language to run in: ``override`` (``--lang``), else ``INSPECTOR_LANG``, else the setting;
    "system" (and an unknown value, with a warning) follows the desktop."""
    for source, value in (("--lang", override), (LANGUAGE_ENV, os.environ.get(LANGUAGE_ENV))):
        if value:
            code = _normalise(value)
            if code in LANGUAGES:
                return code
            if code != SYSTEM:
                log.warning(
                    "%s=%s is not a shipped language (%s): following the system",
                    source,
                    value,
                    ", ".join(LANGUAGES),
                )
            return system_language(locale)
    choice = configured(settings)
    return system_language(locale) if choice == SYSTEM else choice


def install(language: str, app: QCoreApplication | None = None) -> list[str]:
    """Install the translators of ``language`` (replacing earlier ones); returns the files loaded.

    Call before any widget is built: texts are translated when a widget sets them. A missing
    ``.qm`` is logged and the GUI stays English (it never stops the station).
    """
    app = app or QCoreApplication.instance()
    if app is None:
        raise RuntimeError("install() needs a QApplication")
    uninstall(app)
    code = language if language in LANGUAGES else DEFAULT
    loaded: list[str] = []
    candidates = [
        (f"qtbase_{code}", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)),
        (f"inspector_{code}", str(translations_dir())),
    ]
    for name, folder in candidates:
        translator = QTranslator(app)
        if translator.load(name, folder):
            app.installTranslator(translator)
            _installed.append(translator)
            loaded.append(translator.filePath())
        elif name.startswith("inspector_"):
            log.warning("no translation %s.qm in %s: the GUI stays English", name, folder)
        else:  # a Qt without its own translations: standard buttons stay English
            log.info("no Qt translation %s.qm in %s", name, folder)
    return loaded


def uninstall(app: QCoreApplication | None = None) -> None:
    """Remove the translators installed here (texts built afterwards are the English sources)."""
    app = app or QCoreApplication.instance()
    for old in _installed:
        if app is not None:
            app.removeTranslator(old)
        old.deleteLater()
    _installed.clear()


def installed_files() -> list[str]:
    return [t.filePath() for t in _installed]


# -- shared words of the domain (inspector.core keeps English; the GUI shows these) -------------
_ROLE_LABELS = {
    Role.OPERATOR: QT_TRANSLATE_NOOP("Roles", "Operator"),
    Role.QA: QT_TRANSLATE_NOOP("Roles", "QA"),
    Role.ENGINEER: QT_TRANSLATE_NOOP("Roles", "Engineer"),
    Role.ADMIN: QT_TRANSLATE_NOOP("Roles", "Admin"),
}


def role_label(role: str | Role) -> str:
    """A role's name in the GUI's language ("Operator" / "Bediener")."""
    try:
        return QCoreApplication.translate("Roles", _ROLE_LABELS[Role(role)])
    except ValueError:
        return str(role)


_RIGHT_LABELS = {
    Right.INSPECT: QT_TRANSLATE_NOOP("Roles", "inspect"),
    Right.LOT: QT_TRANSLATE_NOOP("Roles", "lots"),
    Right.REVIEW: QT_TRANSLATE_NOOP("Roles", "reviews"),
    Right.RECIPE: QT_TRANSLATE_NOOP("Roles", "recipes"),
    Right.PROMOTE: QT_TRANSLATE_NOOP("Roles", "promotion and rollback"),
    Right.LEAVE_KIOSK: QT_TRANSLATE_NOOP("Roles", "leaving kiosk mode"),
    Right.TRAIN: QT_TRANSLATE_NOOP("Roles", "training"),
    Right.ENGINE: QT_TRANSLATE_NOOP("Roles", "engine rebuilds"),
    Right.PRODUCTS: QT_TRANSLATE_NOOP("Roles", "products"),
    Right.USERS: QT_TRANSLATE_NOOP("Roles", "user accounts"),
}


def role_summary() -> list[str]:
    """What each role adds to the one below (the user admin panel), from the rights table."""
    lines, below = [], frozenset[Right]()
    for role in Role:
        adds = ", ".join(
            QCoreApplication.translate("Roles", _RIGHT_LABELS.get(r, r.value))
            for r in Right
            if r in RIGHTS[role] and r not in below
        )
        lines.append(f"{role_label(role)}: {'' if role is Role.OPERATOR else '+ '}{adds}")
        below = RIGHTS[role]
    return lines


def roles_from(lowest: Role) -> str:
    """``lowest`` and every role above it: "QA, Engineer or Admin"."""
    roles = [role_label(r) for r in Role if r.rank >= lowest.rank]
    if len(roles) == 1:
        return roles[0]
    return QCoreApplication.translate("Roles", "{roles} or {last}").format(
        roles=", ".join(roles[:-1]), last=roles[-1]
    )


def needs_text(right: Right) -> str:
    """What a right takes, for tooltips and refusals: "needs QA, Engineer or Admin"."""
    return QCoreApplication.translate("Roles", "needs {roles}").format(roles=roles_from(min_role(right)))
