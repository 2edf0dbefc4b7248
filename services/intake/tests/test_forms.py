"""The intake form: answer validation and the danger signals that raise a case's risk."""

from __future__ import annotations

from typing import Any

import pytest

from suara_contracts.rpc import Answer
from suara_intake import forms
from suara_kit.errors import ValidationFailed

VALID: dict[str, Answer] = {
    "categories": ["unpaid-wages"],
    "what_happened": "Not paid for two months.",
    "country": "MY",
}


def answers(**changes: Any) -> dict[str, Answer]:
    merged = VALID | changes
    return {k: v for k, v in merged.items() if v is not None}


def fields_of(exc: ValidationFailed) -> dict[str, str]:
    return {e["field"]: e["message"] for e in exc.extra["errors"]}


def test_valid_answers_pass_and_blank_optionals_are_dropped() -> None:
    given = answers(employer_kind="", safe_now="yes")
    assert forms.validate(given) == answers(safe_now="yes")


def test_unknown_question_is_refused() -> None:
    with pytest.raises(ValidationFailed) as info:
        forms.validate(answers(passport_number="A1234567"))
    assert info.value.status == 422
    assert fields_of(info.value) == {"answers.passport_number": "not a question on this form"}
    assert "A1234567" not in str(info.value.problem())


@pytest.mark.parametrize("missing", ["categories", "what_happened", "country"])
def test_missing_required_answer_is_refused(missing: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        forms.validate(answers(**{missing: None}))
    assert fields_of(info.value) == {f"answers.{missing}": "this question needs an answer"}
    assert info.value.detail == f"answers.{missing}: this question needs an answer"


@pytest.mark.parametrize("empty", ["", []])
def test_empty_required_answer_is_refused(empty: Answer) -> None:
    with pytest.raises(ValidationFailed) as info:
        forms.validate(answers(categories=empty))
    assert "answers.categories" in fields_of(info.value)


def test_optional_answers_may_be_left_out() -> None:
    assert "safe_now" not in forms.validate(answers())


@pytest.mark.parametrize(("field", "value", "message"), [
    ("country", "XX", "choose one of the options"),
    ("safe_now", "maybe", "choose one of the options"),
    ("employer_kind", ["household"], "must be text"),
    ("categories", "unpaid-wages", "choose one or more of the options"),
    ("categories", ["unpaid-wages", "aliens"], "not an option: aliens"),
])
def test_bad_choice_is_refused(field: str, value: Answer, message: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        forms.validate(answers(**{field: value}))
    assert fields_of(info.value) == {f"answers.{field}": message}


def test_too_long_text_is_refused() -> None:
    assert forms.validate(answers(what_happened="x" * 5000))["what_happened"] == "x" * 5000
    with pytest.raises(ValidationFailed) as info:
        forms.validate(answers(what_happened="x" * 5001))
    assert fields_of(info.value) == {"answers.what_happened": "at most 5000 characters"}


def test_every_error_is_listed() -> None:
    with pytest.raises(ValidationFailed) as info:
        forms.validate({"nickname": "Ani", "country": "XX"})
    assert set(fields_of(info.value)) == {"answers.nickname", "answers.categories",
                                          "answers.what_happened", "answers.country"}


@pytest.mark.parametrize(("given", "reasons"), [
    (answers(), []),
    (answers(safe_now="yes"), []),
    (answers(categories=["retaliation"]), ["retaliation"]),
    (answers(categories=["confinement", "unpaid-wages"]), ["confinement"]),
    (answers(categories=["document-retention"]), ["document-retention"]),
    (answers(safe_now="no"), ["not-safe-now"]),
    (answers(categories=["retaliation", "document-retention", "confinement"], safe_now="no"),
     ["confinement", "document-retention", "retaliation", "not-safe-now"]),
    ({"categories": "retaliation"}, []),
])
def test_risk_reasons(given: dict[str, Answer], reasons: list[str]) -> None:
    assert forms.risk_reasons(given) == reasons


def test_definition_lists_the_organisations() -> None:
    form = forms.definition("en", ["tenaganita", "new-cso"])
    assert [(o.value, o.label) for o in form.organisations] == [
        ("tenaganita", "Tenaganita (Malaysia)"), ("new-cso", "new-cso")]
    assert form.version == forms.VERSION
    assert {f.name for f in form.fields} >= {"categories", "what_happened", "safe_now"}
