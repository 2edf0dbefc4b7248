"""Intake forms as data: answer validation for every kind of question, conditional questions,
danger signals, checking a committee's draft, and rendering in a language."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from suara_contracts.rpc import Answer, ChoiceSpec, Condition, FieldSpec, FormSpec
from suara_intake import forms
from suara_kit.clock import today
from suara_kit.errors import ValidationFailed
from suara_kit.i18n import LOCALES

SPEC = forms.default_spec()
VALID: dict[str, Answer] = {
    "categories": ["unpaid-wages"],
    "what_happened": "Not paid for two months.",
    "country": "MY",
}


def answers(**changes: Any) -> dict[str, Answer]:
    merged = VALID | changes
    return {k: v for k, v in merged.items() if v is not None}


def errors_of(given: dict[str, Answer], spec: FormSpec = SPEC) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as info:
        forms.validate(spec, given)
    assert info.value.status == 422
    return {e["field"]: e["code"] for e in info.value.extra["errors"]}


def validate(given: dict[str, Answer]) -> dict[str, Answer]:
    return forms.validate(SPEC, given)


def test_valid_answers_pass_and_blank_optionals_are_dropped() -> None:
    assert validate(answers(employer_kind="", safe_now="yes", contact="  ")) == answers(
        safe_now="yes")


def test_unknown_question_is_refused_without_echoing_the_answer() -> None:
    with pytest.raises(ValidationFailed) as info:
        validate(answers(passport_number="A1234567"))
    assert info.value.extra["errors"] == [{
        "field": "answers.passport_number", "code": "not-a-question",
        "message": "not a question on this form"}]
    assert "A1234567" not in str(info.value.problem())


@pytest.mark.parametrize("missing", ["categories", "what_happened", "country"])
def test_missing_required_answer_is_refused(missing: str) -> None:
    assert errors_of(answers(**{missing: None})) == {f"answers.{missing}": "required"}


@pytest.mark.parametrize(("field", "value", "code"), [
    ("country", "XX", "choose-one"),
    ("safe_now", "maybe", "choose-one"),
    ("employer_kind", ["household"], "not-text"),
    ("categories", "unpaid-wages", "choose-some"),
    ("categories", ["unpaid-wages", "aliens"], "not-an-option"),
    ("what_happened", "x" * 5001, "too-long"),
    ("contact", "x" * 201, "too-long"),
    ("started_on", "last year", "not-a-date"),
    ("started_on", "2026-02-30", "not-a-date"),
    ("started_on", "1900-01-01", "date-too-early"),
    ("owed", "lots", "not-money"),
    ("owed", "1500 EUR", "not-a-currency"),
    ("owed", "-5 MYR", "too-small"),
    ("owed", "abc MYR", "not-a-number"),
    ("owed", "NaN MYR", "not-a-number"),
    ("evidence", "photo.jpg", "not-files"),
    ("evidence", ["../../etc/passwd"], "not-files"),
    ("evidence", [f"token{i:020d}" for i in range(6)], "too-many-files"),
])
def test_bad_answer_is_refused_with_a_code(field: str, value: Answer, code: str) -> None:
    assert errors_of(answers(**{field: value})) == {f"answers.{field}": code}


def test_date_in_the_future_is_refused_but_today_is_fine() -> None:
    tomorrow_but_one = (today() + timedelta(days=2)).isoformat()
    assert errors_of(answers(started_on=tomorrow_but_one)) == {
        "answers.started_on": "date-in-future"}
    assert validate(answers(started_on=today().isoformat()))["started_on"] == (
        today().isoformat())


def test_numbers_and_money_are_normalised() -> None:
    given = answers(categories=["unpaid-wages", "no-rest-day"], owed="1,500.50 myr",
                    hours_per_day=" 14 ")
    assert validate(given) == given | {"owed": "1500.5 MYR", "hours_per_day": "14"}
    assert errors_of(answers(categories=["no-rest-day"], hours_per_day="25")) == {
        "answers.hours_per_day": "too-big"}


def test_limits_travel_with_the_error_so_pages_can_say_them() -> None:
    with pytest.raises(ValidationFailed) as info:
        validate(answers(what_happened="x" * 5001))
    assert info.value.extra["errors"][0]["maximum"] == 5000
    assert info.value.detail == "answers.what_happened: at most 5000 characters"


def test_answers_to_questions_that_do_not_apply_are_dropped() -> None:
    # "owed" is asked only about wages or fees; "documents_held_by" only about documents
    given = answers(categories=["abuse"], owed="100 MYR", documents_held_by="employer")
    assert validate(given) == answers(categories=["abuse"])
    # ...and an invalid answer to a question that does not apply is no error either
    assert validate(answers(categories=["abuse"], owed="lots")) == answers(categories=["abuse"])
    shown = answers(categories=["document-retention"], documents_held_by="agency")
    assert validate(shown)["documents_held_by"] == "agency"


def test_a_required_conditional_question_is_required_only_when_shown() -> None:
    spec = FormSpec(fields=[
        FieldSpec(name="trouble", kind="yes-no", label={"en": "Trouble?"}, choices=[
            ChoiceSpec(value="yes", label={"en": "Yes"}),
            ChoiceSpec(value="no", label={"en": "No"})]),
        FieldSpec(name="what", kind="text", label={"en": "What?"}, required=True,
                  show_if=Condition(field="trouble", any_of=["yes"]))])
    assert forms.validate(spec, {"trouble": "no"}) == {"trouble": "no"}
    assert errors_of({"trouble": "yes"}, spec) == {"answers.what": "required"}


def test_every_error_is_listed() -> None:
    assert set(errors_of({"nickname": "Ani", "country": "XX"})) == {
        "answers.nickname", "answers.categories", "answers.what_happened", "answers.country"}


@pytest.mark.parametrize(("given", "reasons"), [
    (answers(), []),
    (answers(safe_now="yes"), []),
    (answers(categories=["retaliation"]), ["retaliation"]),
    (answers(categories=["confinement", "unpaid-wages"]), ["confinement"]),
    (answers(categories=["document-retention"]), ["document-retention"]),
    (answers(safe_now="no"), ["not-safe-now"]),
    (answers(categories=["retaliation", "document-retention", "confinement"], safe_now="no"),
     ["confinement", "document-retention", "retaliation", "not-safe-now"]),
])
def test_risk_reasons(given: dict[str, Answer], reasons: list[str]) -> None:
    assert forms.risk_reasons(SPEC, validate(given)) == reasons


def test_identifying_answers_are_named() -> None:
    assert forms.identifying(SPEC, answers()) == []
    assert forms.identifying(SPEC, answers(contact="+60 12 345")) == ["contact"]


def test_default_form_covers_the_grievances_from_the_field_in_every_language() -> None:
    categories = {c.value for c in SPEC.fields[0].choices}
    assert categories >= {"unpaid-wages", "recruitment-fees", "document-retention",
                          "confinement", "no-rest-day", "abuse", "unsafe",
                          "contract-substitution", "retaliation"}
    kinds = {f.kind for f in SPEC.fields}
    assert kinds >= {"multiple-choice", "long-text", "money", "date", "number",
                     "single-choice", "yes-no", "file", "text"}
    assert forms.structure_errors(SPEC) == []
    assert forms.translation_gaps(SPEC) == []
    labels = {code: SPEC.fields[0].label[code] for code in LOCALES}
    assert labels["id"] != labels["en"]
    assert labels["km"] != labels["en"]


def field(**changes: Any) -> FieldSpec:
    base: dict[str, Any] = {"name": "q", "kind": "text", "label": {"en": "Q?"}}
    return FieldSpec(**(base | changes))


@pytest.mark.parametrize(("fields", "where", "words"), [
    ([field(), field()], "spec.fields.q", "two questions"),
    ([field(label={"id": "Apa?"})], "spec.fields.q.label", "English"),
    ([field(label={"en": "Q?", "xx": "?"})], "spec.fields.q.label", "unknown language"),
    ([field(kind="single-choice")], "spec.fields.q.choices", "needs choices"),
    ([field(choices=[ChoiceSpec(value="a", label={"en": "A"})])], "spec.fields.q.choices",
     "has no choices"),
    ([field(kind="yes-no", choices=[ChoiceSpec(value="y", label={"en": "Y"})])],
     "spec.fields.q.choices", "'yes' and 'no'"),
    ([field(kind="money")], "spec.fields.q.currencies", "ISO 4217"),
    ([field(kind="number", minimum=5, maximum=1)], "spec.fields.q.minimum", "above"),
    ([field(identifying=True, required=True)], "spec.fields.q.required", "optional"),
    ([field(show_if=Condition(field="later", any_of=["x"]))], "spec.fields.q.show_if",
     "earlier choice question"),
    ([field(name="a", kind="single-choice", choices=[ChoiceSpec(value="x", label={"en": "X"})]),
      field(show_if=Condition(field="a", any_of=["y"]))], "spec.fields.q.show_if",
     "not choices of a: y"),
])
def test_a_broken_draft_is_refused_with_the_place_of_each_problem(
        fields: list[FieldSpec], where: str, words: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        forms.check_draft(FormSpec(fields=fields))
    problems = {e["field"]: e["message"] for e in info.value.extra["errors"]}
    assert words in problems[where]


def test_approval_waits_for_every_translation() -> None:
    spec = FormSpec(fields=[field(label={"en": "Q?", "id": "Apa?"})])
    forms.check_draft(spec)  # a draft may be half translated
    with pytest.raises(ValidationFailed) as info:
        forms.check_approvable(spec)
    message = info.value.extra["errors"][0]["message"]
    assert message.startswith("missing in ")
    assert "km" in message
    assert "id" not in message


def test_render_picks_the_language_and_falls_back_to_english() -> None:
    form = forms.render(SPEC, 1, "id", ["tenaganita", "new-cso"])
    assert form.version == 1
    assert form.language == "id"
    assert [(o.value, o.label) for o in form.organisations] == [
        ("tenaganita", "Tenaganita (Malaysia)"), ("new-cso", "new-cso")]
    assert form.fields[0].label == SPEC.fields[0].label["id"]
    owed = next(f for f in form.fields if f.name == "owed")
    assert owed.show_if == Condition(field="categories",
                                     any_of=["unpaid-wages", "recruitment-fees"])
    assert "MYR" in owed.currencies
    assert next(f for f in form.fields if f.name == "contact").identifying
    half = FormSpec(fields=[field(label={"en": "Q?", "id": "Apa?"})])
    assert forms.render(half, 2, "km", []).fields[0].label == "Q?"
    assert forms.render(half, 2, "xx", []).language == "en"
