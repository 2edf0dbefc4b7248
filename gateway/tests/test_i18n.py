"""Every string of the page chrome exists, translated, in all nine languages."""

from __future__ import annotations

from datetime import date

import pytest

from suara_gateway import i18n
from suara_gateway.console import i18n as console_i18n
from suara_gateway.i18n import Language
from suara_kit.i18n import template_drift, untranslated

HINT = "run `python -m suara_gateway.i18n extract` and translate the new strings"


def test_the_template_is_up_to_date_with_the_sources() -> None:
    missing, stale = template_drift(i18n.CATALOGS)
    assert missing == set(), f"not in messages.pot; {HINT}"
    assert stale == set(), f"no longer in the sources; {HINT}"


@pytest.mark.parametrize("language", i18n.LANGUAGES, ids=lambda lang: lang.code)
def test_every_string_is_translated(language: Language) -> None:
    problems = untranslated(i18n.CATALOGS, language.locale)
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


def test_the_consoles_template_is_up_to_date_with_its_sources() -> None:
    missing, stale = template_drift(console_i18n.CATALOGS)
    hint = ("run `python -m suara_gateway.console.i18n extract` and translate the new strings "
            "in English, Bahasa Indonesia and Filipino")
    assert missing == set(), f"not in the console's messages.pot; {hint}"
    assert stale == set(), f"no longer in the console's sources; {hint}"


@pytest.mark.parametrize("language", console_i18n.STAFF_LANGUAGES, ids=lambda lang: lang.code)
def test_every_console_string_is_translated_for_staff(language: Language) -> None:
    problems = untranslated(console_i18n.CATALOGS, language.locale)
    assert not problems, "\n".join(problems)


def test_staff_read_the_console_in_three_languages_and_workers_never_see_its_strings() -> None:
    assert [lang.code for lang in console_i18n.STAFF_LANGUAGES] == ["en", "id", "fil"]
    worker_strings = {str(m.id) for m in i18n.CATALOGS.extract() if m.id}
    assert "Suara console" not in worker_strings


@pytest.mark.parametrize(("header", "code"), [
    (None, "en"), ("id-ID,id;q=0.9,en;q=0.8", "id"), ("en-GB, fil;q=0.9", "en"),
    ("tl, en;q=0.1", "fil"), ("km, th;q=0.8", "en"), ("fil;q=0, id;q=0.2", "id"),
    ("id;q=x, fil", "fil")])
def test_the_browsers_language_picks_among_the_staff_languages(header: str | None,
                                                                code: str) -> None:
    assert console_i18n.negotiate(header).code == code
