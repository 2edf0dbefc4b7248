"""The default intake form, built from the grievances that recur in the field.

Issue 3 turns this into versioned data the worker committee edits; until then it is code.
Every text a worker reads is marked N_() and translated from the catalogs in locales/.
"""

from __future__ import annotations

from collections.abc import Callable

from suara_contracts.rpc import Answer, Choice, FormDefinition, FormField
from suara_intake import i18n
from suara_kit.errors import ValidationFailed

VERSION = "2026-11-default"


def N_(text: str) -> str:
    """Mark a text for the catalog; `definition` translates it."""
    return text


CATEGORIES = [
    Choice(value="unpaid-wages", label=N_("Unpaid or underpaid wages")),
    Choice(value="recruitment-fees", label=N_("Excessive recruitment fees or debt")),
    Choice(value="document-retention", label=N_("Passport or documents kept by someone else")),
    Choice(value="confinement", label=N_("Not allowed to leave, or forced overtime")),
    Choice(value="no-rest-day", label=N_("No weekly rest day")),
    Choice(value="abuse", label=N_("Abuse or harassment")),
    Choice(value="unsafe", label=N_("Unsafe work or housing")),
    Choice(value="contract-substitution", label=N_("Contract changed after arrival")),
    Choice(value="retaliation", label=N_("Punished for complaining")),
    Choice(value="other", label=N_("Something else")),
]

FIELDS = [
    FormField(name="categories", kind="multiple-choice", required=True, choices=CATEGORIES,
              label=N_("What is happening to you?"), help=N_("Choose all that apply.")),
    FormField(name="what_happened", kind="long-text", required=True, max_length=5000,
              label=N_("Tell us what happened"),
              help=N_("Do not write your name or your employer's address unless you want to.")),
    FormField(name="country", kind="single-choice", required=True,
              label=N_("Where do you work?"),
              choices=[Choice(value=c, label=lbl) for c, lbl in (
                  ("HK", N_("Hong Kong")), ("TW", N_("Taiwan")), ("SG", N_("Singapore")),
                  ("MY", N_("Malaysia")), ("TH", N_("Thailand")),
                  ("other", N_("Another place")))]),
    FormField(name="employer_kind", kind="single-choice", label=N_("Who is this about?"),
              choices=[Choice(value=c, label=lbl) for c, lbl in (
                  ("household", N_("The household I work for")),
                  ("agency", N_("A recruitment agency")),
                  ("company", N_("A company or factory")), ("other", N_("Someone else")))]),
    FormField(name="safe_now", kind="yes-no", label=N_("Are you safe right now?"),
              choices=[Choice(value="yes", label=N_("Yes")), Choice(value="no", label=N_("No"))]),
]

DANGER_CATEGORIES = {"retaliation", "confinement", "document-retention"}
ORGANISATION_NAMES = {
    "tenaganita": N_("Tenaganita (Malaysia)"),
    "map-foundation": N_("MAP Foundation (Thailand)"),
    "serve-the-people": N_("Serve the People Association (Taiwan)"),
    "apmm": N_("Asia Pacific Mission for Migrants (Hong Kong)"),
}


def _translated(field: FormField, gettext: Callable[[str], str]) -> FormField:
    choices = [c.model_copy(update={"label": gettext(c.label)}) for c in field.choices]
    return field.model_copy(update={"label": gettext(field.label), "choices": choices,
                                    "help": gettext(field.help) if field.help else field.help})


def definition(language: str, organisations: list[str]) -> FormDefinition:
    """The form in `language`, or in English for a language not offered; `language` on the
    result says which one was served."""
    served = i18n.served(language)
    gettext = i18n.translations(served).gettext
    orgs = [Choice(value=o, label=gettext(ORGANISATION_NAMES[o]) if o in ORGANISATION_NAMES else o)
            for o in organisations]
    fields = [_translated(f, gettext) for f in FIELDS]
    return FormDefinition(version=VERSION, language=served, organisations=orgs, fields=fields)


def _check_field(field: FormField, value: Answer | None) -> str | None:
    if value in (None, "", []):
        return "this question needs an answer" if field.required else None
    allowed = {c.value for c in field.choices}
    if field.kind == "multiple-choice":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return "choose one or more of the options"
        bad = [v for v in value if v not in allowed]
        return f"not an option: {', '.join(bad)[:80]}" if bad else None
    if not isinstance(value, str):
        return "must be text"
    if field.choices and value not in allowed:
        return "choose one of the options"
    if field.max_length and len(value) > field.max_length:
        return f"at most {field.max_length} characters"
    return None


def validate(answers: dict[str, Answer]) -> dict[str, Answer]:
    """Check answers against the form; unknown questions and bad values are a 422."""
    known = {f.name: f for f in FIELDS}
    errors = [{"field": f"answers.{n}", "message": "not a question on this form"}
              for n in answers if n not in known]
    for field in FIELDS:
        message = _check_field(field, answers.get(field.name))
        if message:
            errors.append({"field": f"answers.{field.name}", "message": message})
    if errors:
        first = errors[0]
        raise ValidationFailed(f"{first['field']}: {first['message']}", errors=errors)
    return {k: v for k, v in answers.items() if v not in ("", [])}


def risk_reasons(answers: dict[str, Answer]) -> list[str]:
    """Danger signals in the answers: they put the case first in the handler's queue."""
    chosen = answers.get("categories", [])
    reasons = sorted(DANGER_CATEGORIES.intersection(chosen if isinstance(chosen, list) else []))
    if answers.get("safe_now") == "no":
        reasons.append("not-safe-now")
    return reasons
