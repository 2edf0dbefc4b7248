"""The catalog checks find what is missing, fuzzy or broken."""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from suara_kit.i18n import Catalogs, template_drift, untranslated


def write(path: Path, catalog: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, catalog)


def test_missing_fuzzy_and_placeholder_problems_are_named(tmp_path: Path) -> None:
    (tmp_path / "page.py").write_text('_("Hello")\n_("Bye")\n_("Hi %(name)s")\n_("New")\n_("Missing")\n')
    catalogs = Catalogs(tmp_path, "t", [("page.py", "python")])
    template = Catalog()
    for msgid in ("Hello", "Bye", "Hi %(name)s", "Missing"):
        template.add(msgid)
    write(tmp_path / "locales" / "messages.pot", template)
    po = Catalog(locale="id")
    po.add("Hello", "Halo")
    po.add("Bye", "Dah", flags=["fuzzy"])
    po.add("Hi %(name)s", "Hai")
    write(catalogs.po_path("id"), po)

    assert template_drift(catalogs) == ({"New"}, set())
    problems = untranslated(catalogs, "id")
    assert problems == ["id: fuzzy translation for 'Bye'",
                        "id: placeholders differ in 'Hi %(name)s'",
                        "id: no translation for 'Missing'"]
    assert catalogs.translations("id").gettext("Hello") == "Halo"
