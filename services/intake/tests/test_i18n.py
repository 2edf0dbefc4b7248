"""Every text of the intake form exists, translated, in all nine languages."""

from __future__ import annotations

import pytest

from suara_contracts.rpc import FormDefinition
from suara_intake import forms, i18n
from suara_kit.i18n import LOCALES, template_drift, untranslated

SPEC = forms.default_spec()


def definition(language: str, organisations: list[str]) -> FormDefinition:
    """The default form (version 1) as a page in `language` renders it."""
    return forms.render(SPEC, 1, language, organisations)


HINT = "run `python -m suara_intake.i18n extract` and translate the new texts"


def test_the_template_is_up_to_date_with_the_sources() -> None:
    missing, stale = template_drift(i18n.CATALOGS)
    assert missing == set(), f"not in messages.pot; {HINT}"
    assert stale == set(), f"no longer in the sources; {HINT}"


@pytest.mark.parametrize("locale", LOCALES.values())
def test_every_text_is_translated(locale: str) -> None:
    problems = untranslated(i18n.CATALOGS, locale)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("language", "label"), [
    ("en", "What is happening to you?"), ("id", "Apa yang terjadi pada Anda?"),
    ("fil", "Ano ang nangyayari sa iyo?"), ("km", "តើមានអ្វីកើតឡើងចំពោះអ្នក?"),
    ("my", "သင့်အပေါ် ဘာတွေ ဖြစ်နေသလဲ။"), ("vi", "Bạn đang gặp chuyện gì?"),
    ("th", "เกิดอะไรขึ้นกับคุณ"), ("ms", "Apa yang berlaku kepada anda?"),
    ("zh-Hant", "你遇到甚麼事？")])
def test_the_form_is_served_in_each_language(language: str, label: str) -> None:
    form = definition(language, ["tenaganita"])
    assert form.language == language
    assert form.fields[0].label == label


def test_translation_keeps_names_values_and_rules() -> None:
    english, khmer = definition("en", ["apmm"]), definition("km", ["apmm"])
    shape = [(f.name, f.kind, f.required, f.max_length, [c.value for c in f.choices])
             for f in english.fields]
    assert shape == [(f.name, f.kind, f.required, f.max_length, [c.value for c in f.choices])
                     for f in khmer.fields]
    assert khmer.organisations[0].value == "apmm"
    assert forms.DEFAULT[0]["label"] == "What is happening to you?"


def test_an_unknown_language_is_served_in_english() -> None:
    form = definition("xx", ["tenaganita"])
    assert form.language == "en"
    assert form.fields[0].label == "What is happening to you?"
    assert definition("zh_Hant", []).language == "zh-Hant"
