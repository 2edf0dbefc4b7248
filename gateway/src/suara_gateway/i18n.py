"""The page chrome in nine languages: gettext catalogs read from .po files at start-up.

Refresh the catalogs after changing a string: `python -m suara_gateway.i18n extract`
(rewrites messages.pot from the templates and pages.py, then merges it into every .po).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, select_autoescape

from suara_kit.i18n import LOCALES, Catalogs

PACKAGE = Path(__file__).parent
METHOD_MAP = [("templates/**.html", "jinja2.ext:babel_extract"), ("pages.py", "python")]
OPTIONS_MAP = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}


@dataclass(frozen=True)
class Language:
    """One language a worker can choose: its URL code (BCP 47), gettext locale and own name."""

    code: str
    locale: str
    name: str
    direction: str = "ltr"


NAMES = {"en": "English", "id": "Bahasa Indonesia", "fil": "Filipino", "km": "ភាសាខ្មែរ",
         "my": "မြန်မာဘာသာ", "vi": "Tiếng Việt", "th": "ภาษาไทย", "ms": "Bahasa Melayu",
         "zh-Hant": "繁體中文"}
RIGHT_TO_LEFT: frozenset[str] = frozenset()  # add a code here and its pages turn dir="rtl"
LANGUAGES = tuple(Language(code, locale, NAMES[code], "rtl" if code in RIGHT_TO_LEFT else "ltr")
                  for code, locale in LOCALES.items())
BY_CODE = {lang.code: lang for lang in LANGUAGES}
ENGLISH = BY_CODE["en"]


CATALOGS = Catalogs(PACKAGE, "suara-gateway", METHOD_MAP, OPTIONS_MAP)


def translations(language: Language) -> Translations:
    """The compiled catalog of one language, read once."""
    return CATALOGS.translations(language.locale)


@cache
def environment(language: Language) -> Environment:
    """One Jinja2 environment per language, so no request ever changes another's language."""
    env = Environment(loader=FileSystemLoader(PACKAGE / "templates"),
                      autoescape=select_autoescape(), extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env


def load_all() -> None:
    """Read every catalog now, so a broken .po fails at start-up rather than on a page."""
    for language in LANGUAGES:
        environment(language)


if __name__ == "__main__":
    if sys.argv[1:] != ["extract"]:
        sys.exit("usage: python -m suara_gateway.i18n extract")
    CATALOGS.refresh()
