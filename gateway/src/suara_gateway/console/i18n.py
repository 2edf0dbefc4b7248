"""The console's texts in the staff languages (English, Bahasa Indonesia, Filipino), through
the same gettext machinery as the workers' pages but a catalog of its own: a staff page's
words need not wait for nine translations, and a worker's page never carries a staff string.

Refresh the catalogs after changing a string: `python -m suara_gateway.console.i18n extract`
(from gateway/src), then translate what is new in each .po.
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, select_autoescape

from suara_gateway.i18n import BY_CODE, Language
from suara_kit.i18n import Catalogs

PACKAGE = Path(__file__).parent
STAFF_LANGUAGES = tuple(BY_CODE[code] for code in ("en", "id", "fil"))
STAFF_BY_CODE = {language.code: language for language in STAFF_LANGUAGES}
ENGLISH = STAFF_BY_CODE["en"]
METHOD_MAP = [("templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
OPTIONS_MAP = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}

CATALOGS = Catalogs(PACKAGE, "suara-console", METHOD_MAP, OPTIONS_MAP,
                    locales={language.code: language.locale for language in STAFF_LANGUAGES})


def N_(text: str) -> str:
    """Mark a string for the catalog without translating it here."""
    return text


def translations(language: Language) -> Translations:
    """The compiled catalog of one staff language, read once."""
    return CATALOGS.translations(language.locale)


@cache
def environment(language: Language) -> Environment:
    """One Jinja2 environment per language, so no request ever changes another's language."""
    env = Environment(loader=FileSystemLoader(PACKAGE / "templates"),
                      autoescape=select_autoescape(), extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env


def negotiate(accept_language: str | None) -> Language:
    """The staff language a browser prefers most (Accept-Language), else English."""
    ranked = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        primary = tag.strip().lower().split("-")[0]
        primary = "fil" if primary == "tl" else primary  # Tagalog: Filipino's base
        if primary in STAFF_BY_CODE and quality > 0:
            ranked.append((-quality, position, primary))
    return STAFF_BY_CODE[min(ranked)[2]] if ranked else ENGLISH


if __name__ == "__main__":
    if sys.argv[1:] != ["extract"]:
        sys.exit("usage: python -m suara_gateway.console.i18n extract")
    CATALOGS.refresh()
