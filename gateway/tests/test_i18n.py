"""Every string of the page chrome exists, translated, in all nine languages."""

from __future__ import annotations

import re
from datetime import date

import pytest
from babel.messages.catalog import Catalog

from suara_gateway import i18n
from suara_gateway.i18n import Language
from suara_kit.i18n import read_catalog

PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
TEMPLATE = read_catalog(i18n.CATALOGS.locale_dir / "messages.pot")


def msgids(catalog: Catalog) -> set[str]:
    return {str(m.id) for m in catalog if m.id}


def test_the_template_is_up_to_date_with_the_sources() -> None:
    extracted, committed = msgids(i18n.CATALOGS.extract()), msgids(TEMPLATE)
    hint = "run `python -m suara_gateway.i18n extract` and translate the new strings"
    assert extracted - committed == set(), f"not in messages.pot; {hint}"
    assert committed - extracted == set(), f"no longer in the sources; {hint}"


@pytest.mark.parametrize("language", i18n.LANGUAGES, ids=lambda lang: lang.code)
def test_every_string_is_translated(language: Language) -> None:
    catalog = read_catalog(i18n.CATALOGS.po_path(language.locale), language.locale)
    problems = []
    for msgid in sorted(msgids(TEMPLATE)):
        message = catalog.get(msgid)
        if message is None or not message.string:
            problems.append(f"{language.locale}: no translation for {msgid!r}")
        elif message.fuzzy:
            problems.append(f"{language.locale}: fuzzy translation for {msgid!r}")
        elif sorted(PLACEHOLDER.findall(msgid)) != sorted(PLACEHOLDER.findall(str(message.string))):
            problems.append(f"{language.locale}: placeholders differ in {msgid!r}")
    assert not problems, "\n".join(problems)


def test_the_nine_languages_are_named_in_their_own_script() -> None:
    assert [lang.code for lang in i18n.LANGUAGES] == [
        "en", "id", "fil", "km", "my", "vi", "th", "ms", "zh-Hant"]
    assert i18n.BY_CODE["zh-Hant"].name == "繁體中文"
    assert all(lang.direction == "ltr" for lang in i18n.LANGUAGES)


@pytest.mark.parametrize(("code", "expected"), [
    ("en", "Check your report"), ("id", "Cek laporan Anda"), ("km", "ពិនិត្យរបាយការណ៍របស់អ្នក"),
    ("zh-Hant", "查看你的報告")])
def test_a_page_renders_in_the_language_it_is_asked_for(code: str, expected: str) -> None:
    html = i18n.environment(i18n.BY_CODE[code]).get_template("follow_up.html").render(
        language=i18n.BY_CODE[code], prefix=f"/{code}", error=None)
    assert f'<html lang="{code}" dir="ltr">' in html
    assert f"<h1>{expected}</h1>" in html
    assert f'action="/{code}/follow-up"' in html


def test_a_right_to_left_language_is_only_data() -> None:
    rtl = Language("ar", "en", "العربية", direction="rtl")
    html = i18n.environment(rtl).get_template("status.html").render(
        language=rtl, prefix="/ar", status_label="x", received_on="y",
        view={"reference": "SU-AAAA-BBBB", "status": "received", "received_on": date.today(),
              "messages": []})
    assert '<html lang="ar" dir="rtl">' in html


def test_placeholders_are_filled_and_escaped() -> None:
    page = i18n.environment(i18n.BY_CODE["vi"]).from_string(
        '{{ _("Your report %(reference)s", reference=r) }}')
    assert page.render(r="<b>") == "Báo cáo của bạn &lt;b&gt;"
