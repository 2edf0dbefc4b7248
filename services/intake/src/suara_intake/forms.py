"""Intake forms as data: the default form, checking a committee's draft, rendering a version in
one language, validating answers against it, and the danger signals in them.

A form version is a `FormSpec` (every text in every language) stored by `formstore`. The
default form below is version 1 on a new installation; its texts are marked N_() so the
catalogs in locales/ translate them, and `default_spec()` copies every translation into it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from suara_contracts.rpc import (
    Answer,
    Choice,
    ChoiceSpec,
    Condition,
    FieldSpec,
    FormDefinition,
    FormField,
    FormSpec,
    LocalText,
)
from suara_intake import i18n
from suara_kit.clock import today
from suara_kit.errors import ValidationFailed
from suara_kit.i18n import LOCALES

MAX_FILES = 5
TEXT_MAX = 500
LONG_TEXT_MAX = 5000
TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
EARLIEST_DATE = date(1950, 1, 1)
MAX_MAGNITUDE = 30  # a number's digits before or after the point, written out as stored
CHOICE_KINDS = {"single-choice", "multiple-choice", "yes-no"}


def N_(text: str) -> str:
    """Mark a text for the catalog; `default_spec` translates it."""
    return text


def _c(value: str, label: str, danger: str | None = None) -> tuple[str, str, str | None]:
    return value, label, danger


# The default form (version 1), from the grievances that recur in the field.
DEFAULT: list[dict[str, Any]] = [
    {"name": "categories", "kind": "multiple-choice", "required": True,
         "label": N_("What is happening to you?"), "help": N_("Choose all that apply."), "choices": [
             _c("unpaid-wages", N_("Unpaid or underpaid wages")),
             _c("recruitment-fees", N_("Excessive recruitment fees or debt")),
             _c("document-retention", N_("Passport or documents kept by someone else"),
                "document-retention"),
             _c("confinement", N_("Not allowed to leave, or forced overtime"), "confinement"),
             _c("no-rest-day", N_("No weekly rest day")),
             _c("abuse", N_("Abuse or harassment")),
             _c("unsafe", N_("Unsafe work or housing")),
             _c("contract-substitution", N_("Contract changed after arrival")),
             _c("retaliation", N_("Punished for complaining"), "retaliation"),
             _c("other", N_("Something else"))]},
    {"name": "what_happened", "kind": "long-text", "required": True, "max_length": LONG_TEXT_MAX,
         "label": N_("Tell us what happened"),
         "help": N_("Do not write your name or your employer's address unless you want to.")},
    {"name": "owed", "kind": "money", "label": N_("About how much money are you owed?"),
         "help": N_("A rough amount is fine."), "minimum": 0, "maximum": 100_000_000,
         "currencies": ["HKD", "TWD", "SGD", "MYR", "THB", "IDR", "PHP", "USD"],
         "show_if": Condition(field="categories", any_of=["unpaid-wages", "recruitment-fees"])},
    {"name": "documents_held_by", "kind": "single-choice",
         "label": N_("Who has your passport or documents?"),
         "show_if": Condition(field="categories", any_of=["document-retention"]), "choices": [
             _c("employer", N_("My employer")), _c("agency", N_("The recruitment agency")),
             _c("other", N_("Someone else"))]},
    {"name": "hours_per_day", "kind": "number", "label": N_("How many hours do you work a day?"),
         "minimum": 0, "maximum": 24,
         "show_if": Condition(field="categories", any_of=["confinement", "no-rest-day"])},
    {"name": "started_on", "kind": "date", "label": N_("When did this start?"),
         "help": N_("A rough date is fine.")},
    {"name": "country", "kind": "single-choice", "required": True, "label": N_("Where do you work?"),
         "choices": [_c("HK", N_("Hong Kong")), _c("TW", N_("Taiwan")), _c("SG", N_("Singapore")),
                  _c("MY", N_("Malaysia")), _c("TH", N_("Thailand")),
                  _c("other", N_("Another place"))]},
    {"name": "origin", "kind": "single-choice", "label": N_("Which country are you from?"),
         "help": N_("So we can show you your embassy and organisations from home."),
         "choices": [_c("ID", N_("Indonesia")), _c("PH", N_("Philippines")),
                  _c("KH", N_("Cambodia")), _c("MM", N_("Myanmar")), _c("VN", N_("Vietnam")),
                  _c("other", N_("Another country"))]},
    {"name": "employer_kind", "kind": "single-choice", "label": N_("Who is this about?"), "choices": [
        _c("household", N_("The household I work for")), _c("agency", N_("A recruitment agency")),
        _c("company", N_("A company or factory")), _c("other", N_("Someone else"))]},
    {"name": "safe_now", "kind": "yes-no", "label": N_("Are you safe right now?"),
         "choices": [_c("yes", N_("Yes")), _c("no", N_("No"), "not-safe-now")]},
    {"name": "evidence", "kind": "file", "label": N_("Photos or documents"),
         "help": N_("Photos of payslips, contracts or injuries help. We remove the place and time "
                 "hidden inside photos.")},
    {"name": "contact", "kind": "text", "identifying": True, "max_length": 200,
         "label": N_("If you want us to contact you, how?"),
         "help": N_("A phone number or a messaging name. Leave it empty to stay anonymous: you "
                 "can read our replies with your receipt.")},
]

ORGANISATION_NAMES = {
    "tenaganita": N_("Tenaganita (Malaysia)"),
    "map-foundation": N_("MAP Foundation (Thailand)"),
    "serve-the-people": N_("Serve the People Association (Taiwan)"),
    "apmm": N_("Asia Pacific Mission for Migrants (Hong Kong)"),
}


def local(text: str) -> LocalText:
    """A catalog text in every offered language (English where a catalog lacks it)."""
    return {code: i18n.translations(code).gettext(text) for code in LOCALES}


def default_spec() -> FormSpec:
    """The default form with every text translated from the catalogs."""
    fields = []
    for entry in DEFAULT:
        spec = {k: v for k, v in entry.items() if k not in {"label", "help", "choices"}}
        fields.append(FieldSpec(
            **spec, label=local(entry["label"]),
            help=local(entry["help"]) if entry.get("help") else {},
            choices=[ChoiceSpec(value=v, label=local(lbl), danger=d)
                     for v, lbl, d in entry.get("choices", [])]))
    return FormSpec(fields=fields)


# Checking a draft
def _texts(spec: FormSpec) -> list[tuple[str, LocalText]]:
    found: list[tuple[str, LocalText]] = []
    for f in spec.fields:
        found.append((f"{f.name}.label", f.label))
        if f.help:
            found.append((f"{f.name}.help", f.help))
        found += [(f"{f.name}.choices.{c.value}", c.label) for c in f.choices]
    return found


def structure_errors(spec: FormSpec) -> list[dict[str, str]]:
    """What makes a form unusable, whatever its translations: each problem by field."""
    errors: list[dict[str, str]] = []

    def bad(where: str, message: str) -> None:
        errors.append({"field": f"spec.fields.{where}", "message": message})

    seen: dict[str, FieldSpec] = {}
    for f in spec.fields:
        if f.name in seen:
            bad(f.name, "two questions have this name")
        if not f.label.get("en", "").strip():
            bad(f"{f.name}.label", "needs an English text (en)")
        texts = [f.label, f.help, *(c.label for c in f.choices)]
        if unknown := sorted(set().union(*texts) - set(LOCALES)):
            bad(f"{f.name}.label", f"unknown language codes: {', '.join(unknown)}; use "
                f"{', '.join(LOCALES)}")
        values = [c.value for c in f.choices]
        if f.kind in CHOICE_KINDS and not values:
            bad(f"{f.name}.choices", f"a {f.kind} question needs choices")
        if f.kind not in CHOICE_KINDS and values:
            bad(f"{f.name}.choices", f"a {f.kind} question has no choices")
        if len(set(values)) != len(values):
            bad(f"{f.name}.choices", "two choices have the same value")
        if f.kind == "yes-no" and values and sorted(values) != ["no", "yes"]:
            bad(f"{f.name}.choices", "a yes-no question has exactly the choices 'yes' and 'no'")
        if f.kind == "money" and (not f.currencies
                                  or not all(CURRENCY.match(c) for c in f.currencies)):
            bad(f"{f.name}.currencies", "a money question needs ISO 4217 currency codes, "
                "e.g. MYR")
        if f.minimum is not None and f.maximum is not None and f.minimum > f.maximum:
            bad(f"{f.name}.minimum", "is above maximum")
        if f.identifying and f.required:
            bad(f"{f.name}.required", "a question that could identify the worker must stay "
                "optional: reporting without a name must always be possible")
        if f.show_if:
            parent = seen.get(f.show_if.field)
            if parent is None or parent.kind not in CHOICE_KINDS:
                bad(f"{f.name}.show_if", "must name an earlier choice question")
            elif missing := set(f.show_if.any_of) - {c.value for c in parent.choices}:
                bad(f"{f.name}.show_if", f"not choices of {parent.name}: "
                    f"{', '.join(sorted(missing))}")
        seen.setdefault(f.name, f)
    return errors


def translation_gaps(spec: FormSpec) -> list[dict[str, str]]:
    """Texts missing in an offered language: approval waits until every worker can read it."""
    gaps = []
    for where, text in _texts(spec):
        missing = [code for code in LOCALES if not text.get(code, "").strip()]
        if missing:
            gaps.append({"field": f"spec.fields.{where}",
                         "message": f"missing in {', '.join(missing)}"})
    return gaps


def check_draft(spec: FormSpec) -> None:
    """A 422 naming every structural problem of a draft."""
    if errors := structure_errors(spec):
        raise ValidationFailed(f"{errors[0]['field']}: {errors[0]['message']}", errors=errors)


def check_approvable(spec: FormSpec) -> None:
    """A 422 naming every structural problem and every missing translation."""
    if errors := structure_errors(spec) + translation_gaps(spec):
        raise ValidationFailed(f"{errors[0]['field']}: {errors[0]['message']}", errors=errors)


# Rendering
def _pick(text: LocalText, language: str) -> str:
    return text.get(language) or text.get("en", "")


def render(spec: FormSpec, version: int, language: str,
           organisations: list[str]) -> FormDefinition:
    """A version in `language` (English for a language not offered, or a missing text)."""
    served = i18n.served(language)
    gettext: Callable[[str], str] = i18n.translations(served).gettext
    orgs = [Choice(value=o, label=gettext(ORGANISATION_NAMES[o]) if o in ORGANISATION_NAMES
                   else o) for o in organisations]
    fields = [FormField(
        name=f.name, kind=f.kind, label=_pick(f.label, served), help=_pick(f.help, served),
        required=f.required, identifying=f.identifying, max_length=_max_length(f),
        choices=[Choice(value=c.value, label=_pick(c.label, served)) for c in f.choices],
        minimum=f.minimum, maximum=f.maximum, currencies=f.currencies, show_if=f.show_if)
        for f in spec.fields]
    return FormDefinition(version=version, language=served, organisations=orgs, fields=fields)


def _max_length(f: FieldSpec) -> int | None:
    if f.kind == "text":
        return f.max_length or TEXT_MAX
    if f.kind == "long-text":
        return f.max_length or LONG_TEXT_MAX
    return None


# Validating answers
class Problem(Exception):
    """One answer's problem: a code the pages translate, and an English message for the API."""

    def __init__(self, code: str, message: str, **params: Any) -> None:
        super().__init__(message)
        self.code, self.message, self.params = code, message, params


def _number(value: str, f: FieldSpec) -> Decimal:
    try:
        number = Decimal(value.strip().replace(",", ""))
    except InvalidOperation:
        raise Problem("not-a-number", "must be a number, e.g. 1500") from None
    # 1e-999999 is finite too, and would be stored as a megabyte of zeros
    if not number.is_finite() or (number and abs(number.adjusted()) > MAX_MAGNITUDE):
        raise Problem("not-a-number", "must be a number, e.g. 1500")
    if f.minimum is not None and number < Decimal(str(f.minimum)):
        raise Problem("too-small", f"must be at least {_plain(f.minimum)}",
                      minimum=_plain(f.minimum))
    if f.maximum is not None and number > Decimal(str(f.maximum)):
        raise Problem("too-big", f"must be at most {_plain(f.maximum)}",
                      maximum=_plain(f.maximum))
    return number


def _plain(number: float | Decimal) -> str:
    value = Decimal(str(number)).normalize()
    return f"{value:f}"


def _date(value: str) -> str:
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise Problem("not-a-date", "must be a date as YYYY-MM-DD, e.g. 2026-03-01") from None
    if day > today() + timedelta(days=1):
        raise Problem("date-in-future", "cannot be in the future")
    if day < EARLIEST_DATE:
        raise Problem("date-too-early", "is too long ago")
    return day.isoformat()


def _money(value: str, f: FieldSpec) -> str:
    parts = value.split()
    if len(parts) != 2:
        raise Problem("not-money", "must be an amount and a currency, e.g. '1500 MYR'")
    amount, currency = parts
    if currency.upper() not in f.currencies:
        raise Problem("not-a-currency", f"choose one of the currencies: "
                      f"{', '.join(f.currencies)}", currencies=", ".join(f.currencies))
    return f"{_plain(_number(amount, f))} {currency.upper()}"


def _check(f: FieldSpec, value: Answer) -> Answer:
    """The answer as stored, or Problem."""
    allowed = {c.value for c in f.choices}
    if f.kind == "multiple-choice":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise Problem("choose-some", "choose one or more of the options")
        if bad := [v for v in value if v not in allowed]:
            raise Problem("not-an-option", f"not an option: {', '.join(bad)[:80]}")
        return list(dict.fromkeys(value))
    if f.kind == "file":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise Problem("not-files", "must be a list of upload tokens")
        if len(value) > MAX_FILES:
            raise Problem("too-many-files", f"at most {MAX_FILES} files", maximum=MAX_FILES)
        if not all(TOKEN.match(v) for v in value):
            raise Problem("not-files", "must be upload tokens from /api/v1/uploads")
        return list(dict.fromkeys(value))
    if not isinstance(value, str):
        raise Problem("not-text", "must be text")
    if f.kind in CHOICE_KINDS:
        if value not in allowed:
            raise Problem("choose-one", "choose one of the options")
        return value
    if f.kind == "date":
        return _date(value)
    if f.kind == "number":
        return _plain(_number(value, f))
    if f.kind == "money":
        return _money(value, f)
    limit = _max_length(f)
    if limit and len(value) > limit:
        raise Problem("too-long", f"at most {limit} characters", maximum=limit)
    return value


def shown(f: FieldSpec, answers: dict[str, Answer]) -> bool:
    """Whether a question applies, given the answers to the questions it depends on."""
    return f.show_if is None or f.show_if.met(answers)


def validate(spec: FormSpec, answers: dict[str, Answer]) -> dict[str, Answer]:
    """The answers as stored: checked, normalised, blanks dropped, and answers to questions
    that do not apply (their condition is not met) dropped. Otherwise a 422 naming every
    problem, each with a `code` the pages translate."""
    known = {f.name: f for f in spec.fields}
    errors = [{"field": f"answers.{n}", "code": "not-a-question",
               "message": "not a question on this form"} for n in answers if n not in known]
    kept: dict[str, Answer] = {}
    for f in spec.fields:
        if not shown(f, kept):
            continue
        value = answers.get(f.name)
        if isinstance(value, str):
            value = value.strip()
        if value in (None, "", []):
            if f.required:
                errors.append({"field": f"answers.{f.name}", "code": "required",
                               "message": "this question needs an answer"})
            continue
        try:
            kept[f.name] = _check(f, value)  # type: ignore[arg-type]
        except Problem as problem:
            errors.append({"field": f"answers.{f.name}", "code": problem.code,
                           "message": problem.message, **problem.params})
    if errors:
        first = errors[0]
        raise ValidationFailed(f"{first['field']}: {first['message']}", errors=errors)
    return kept


def risk_reasons(spec: FormSpec, answers: dict[str, Answer]) -> list[str]:
    """Danger signals in the answers: they put the case first in the handler's queue."""
    reasons: list[str] = []
    for f in spec.fields:
        given = answers.get(f.name)
        chosen = set(given) if isinstance(given, list) else {given}
        reasons += sorted(c.danger for c in f.choices if c.danger and c.value in chosen)
    return list(dict.fromkeys(reasons))


def identifying(spec: FormSpec, answers: dict[str, Answer]) -> list[str]:
    """The answered questions whose answers could identify the worker."""
    return [f.name for f in spec.fields if f.identifying and f.name in answers]


def file_tokens(spec: FormSpec, answers: dict[str, Answer]) -> list[tuple[str, str]]:
    """(question, upload token) for every file the answers refer to."""
    return [(f.name, token) for f in spec.fields if f.kind == "file"
            for token in answers.get(f.name, [])]
