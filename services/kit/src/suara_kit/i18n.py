"""gettext catalogs for the nine languages Suara speaks, read from .po files (Babel).

Each package keeps `locales/messages.pot` and `locales/<locale>/LC_MESSAGES/messages.po`; the
catalogs are compiled in memory at start-up, so no .mo file is committed or built.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.support import Translations

# URL / BCP 47 code → gettext locale: English, Bahasa Indonesia, Filipino, Khmer, Burmese,
# Vietnamese, Thai, Malay, Traditional Chinese.
LOCALES = {"en": "en", "id": "id", "fil": "fil", "km": "km", "my": "my", "vi": "vi", "th": "th",
           "ms": "ms", "zh-Hant": "zh_Hant"}


def read_catalog(path: Path, locale: str | None = None) -> Catalog:
    """A .po or .pot file as a Babel catalog."""
    with path.open("rb") as f:
        return read_po(f, locale=locale)


class Catalogs:
    """One package's catalogs: where they live, how to extract them, the compiled result; in
    the nine languages unless `locales` names fewer (the staff console's three)."""

    def __init__(self, package: Path, project: str,
                 method_map: Sequence[tuple[str, str]],
                 options_map: dict[str, dict[str, Any]] | None = None,
                 locales: Mapping[str, str] = LOCALES) -> None:
        self.package, self.project, self.locales = package, project, dict(locales)
        self.method_map, self.options_map = list(method_map), options_map or {}
        self.locale_dir = package / "locales"
        self.translations = cache(self._compile)

    def po_path(self, locale: str, root: Path | None = None) -> Path:
        """Where a locale's catalog lives."""
        return (root or self.locale_dir) / locale / "LC_MESSAGES" / "messages.po"

    def _compile(self, locale: str) -> Translations:
        buffer = BytesIO()
        write_mo(buffer, read_catalog(self.po_path(locale), locale))  # fuzzy entries left out
        buffer.seek(0)
        return Translations(fp=buffer, domain="messages")

    def load_all(self) -> None:
        """Compile every catalog now, so a broken .po fails at start-up, not on a page."""
        for locale in self.locales.values():
            self.translations(locale)

    def extract(self, root: Path | None = None) -> Catalog:
        """Every translatable string in the sources, as a fresh template catalog."""
        catalog = Catalog(project=self.project, version="1", charset="utf-8")
        for filename, lineno, message, comments, context in extract_from_dir(
                root or self.package, self.method_map, self.options_map,
                strip_comment_tags=True):
            catalog.add(message, None, [(filename, lineno)], auto_comments=comments,
                        context=context)
        return catalog

    def refresh(self, root: Path | None = None, locale_dir: Path | None = None) -> None:
        """Rewrite messages.pot and merge it into every language's .po, keeping `check:`
        comments (a translator's doubt survives a refresh)."""
        locale_dir = locale_dir or self.locale_dir
        template = self.extract(root)
        locale_dir.mkdir(parents=True, exist_ok=True)
        with (locale_dir / "messages.pot").open("wb") as f:
            write_po(f, template, width=100)
        for locale in self.locales.values():
            path = self.po_path(locale, locale_dir)
            catalog = read_catalog(path, locale) if path.exists() else Catalog(locale=locale)
            checks = {m.id: [c for c in m.auto_comments if c.startswith("check:")]
                      for m in catalog}
            catalog.update(template, update_header_comment=False)
            for message in catalog:
                message.auto_comments += [c for c in checks.get(message.id, [])
                                          if c not in message.auto_comments]
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as f:
                write_po(f, catalog, width=100, ignore_obsolete=True)


PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def msgids(catalog: Catalog) -> set[str]:
    """The message ids of a catalog (without the header)."""
    return {str(m.id) for m in catalog if m.id}


def template_drift(catalogs: Catalogs) -> tuple[set[str], set[str]]:
    """Strings in the sources but not in messages.pot, and the other way round."""
    extracted = msgids(catalogs.extract())
    committed = msgids(read_catalog(catalogs.locale_dir / "messages.pot"))
    return extracted - committed, committed - extracted


def untranslated(catalogs: Catalogs, locale: str) -> list[str]:
    """Every template string a locale lacks, has fuzzy, or translates with other placeholders."""
    template = msgids(read_catalog(catalogs.locale_dir / "messages.pot"))
    catalog = read_catalog(catalogs.po_path(locale), locale)
    problems = []
    for msgid in sorted(template):
        message = catalog.get(msgid)
        if message is None or not message.string:
            problems.append(f"{locale}: no translation for {msgid!r}")
        elif message.fuzzy:
            problems.append(f"{locale}: fuzzy translation for {msgid!r}")
        elif sorted(PLACEHOLDER.findall(msgid)) != sorted(PLACEHOLDER.findall(str(message.string))):
            problems.append(f"{locale}: placeholders differ in {msgid!r}")
    return problems
