"""The texts of emails and SMS in the languages Suara speaks: gettext catalogs read from .po
files at start-up (no .mo file is committed or built).

Staff messages are written in English, Bahasa Indonesia and Filipino; a staff member with
another language gets English. A reporter's nudge exists in all nine worker languages.

Refresh the catalogs after changing a template: `python -m suara_notification.i18n extract`
(rewrites messages.pot from the templates, then merges it into every .po).
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.support import Translations

from suara_kit.i18n import LOCALES, PLACEHOLDER, Catalogs, read_catalog

PACKAGE = Path(__file__).parent
_JINJA = {"extensions": "jinja2.ext.i18n", "trimmed": "true", "trim_blocks": "true",
          "lstrip_blocks": "true"}
METHOD_MAP = [("templates/**.txt", "jinja2.ext:babel_extract"),
              ("templates/**.html", "jinja2.ext:babel_extract")]
OPTIONS_MAP = {"templates/**.txt": _JINJA, "templates/**.html": _JINJA}

CATALOGS = Catalogs(PACKAGE, "suara-notification", METHOD_MAP, OPTIONS_MAP)

ENGLISH = "en"
REPORTER_LOCALES = tuple(LOCALES.values())  # en id fil km my vi th ms zh_Hant
STAFF_LOCALES = ("en", "id", "fil")
REPORTER_TEMPLATES = "templates/reporter/"  # a string used here must exist in all nine


def locale_of(language: str, offered: tuple[str, ...] = REPORTER_LOCALES) -> str:
    """The gettext locale a language code gets ('zh-Hant', 'id-ID', 'fil'…): itself if
    offered, else its primary language if offered, else English."""
    wanted = language.strip().replace("-", "_").lower()
    by_lower = {locale.lower(): locale for locale in offered}
    return by_lower.get(wanted) or by_lower.get(wanted.split("_")[0]) or ENGLISH


def translations(locale: str) -> Translations:
    """The compiled catalog of one locale, read once."""
    return CATALOGS.translations(locale)


def _needed_in(locale: str, locations: list[tuple[str, int | None]]) -> bool:
    if locale in STAFF_LOCALES:
        return True
    return any(path.startswith(REPORTER_TEMPLATES) for path, _ in locations)


def untranslated(locale: str, catalogs: Catalogs = CATALOGS) -> list[str]:
    """Every string a locale must have but lacks, has fuzzy, or translates with other
    placeholders: all strings in the staff languages, the reporter's in every language."""
    template = read_catalog(catalogs.locale_dir / "messages.pot")
    catalog = read_catalog(catalogs.po_path(locale), locale)
    problems = []
    for entry in template:
        if not entry.id or not _needed_in(locale, entry.locations):
            continue
        message = catalog.get(entry.id)
        if message is None or not message.string:
            problems.append(f"{locale}: no translation for {entry.id!r}")
        elif message.fuzzy:
            problems.append(f"{locale}: fuzzy translation for {entry.id!r}")
        elif sorted(PLACEHOLDER.findall(entry.id)) != sorted(PLACEHOLDER.findall(message.string)):
            problems.append(f"{locale}: placeholders differ in {entry.id!r}")
    return problems


if __name__ == "__main__":
    if sys.argv[1:] != ["extract"]:
        sys.exit("usage: python -m suara_notification.i18n extract")
    CATALOGS.refresh()
