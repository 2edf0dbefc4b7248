"""The intake form's texts in nine languages: gettext catalogs read from .po files.

Refresh the catalogs after changing a text in forms.py: `python -m suara_intake.i18n extract`
(rewrites messages.pot, then merges it into every .po).
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.support import Translations

from suara_kit.i18n import LOCALES, Catalogs

PACKAGE = Path(__file__).parent
METHOD_MAP = [("forms.py", "python")]

FALLBACK = "en"


def served(language: str) -> str:
    """The language a request for `language` gets: itself if offered, else English."""
    code = language.replace("_", "-")
    return code if code in LOCALES else FALLBACK


CATALOGS = Catalogs(PACKAGE, "suara-intake", METHOD_MAP)


def translations(code: str) -> Translations:
    """The compiled catalog of an offered language (a URL code such as `zh-Hant`)."""
    return CATALOGS.translations(LOCALES[code])


if __name__ == "__main__":
    if sys.argv[1:] != ["extract"]:
        sys.exit("usage: python -m suara_intake.i18n extract")
    CATALOGS.refresh()
