"""The default intake form, built from the grievances that recur in the field.

Issue 3 turns this into versioned data the worker committee edits; until then it is code.
"""

from __future__ import annotations

from suara_contracts.rpc import Answer, Choice, FormDefinition, FormField
from suara_kit.errors import ValidationFailed

VERSION = "2026-11-default"

CATEGORIES = [
    Choice(value="unpaid-wages", label="Unpaid or underpaid wages"),
    Choice(value="recruitment-fees", label="Excessive recruitment fees or debt"),
    Choice(value="document-retention", label="Passport or documents kept by someone else"),
    Choice(value="confinement", label="Not allowed to leave, or forced overtime"),
    Choice(value="no-rest-day", label="No weekly rest day"),
    Choice(value="abuse", label="Abuse or harassment"),
    Choice(value="unsafe", label="Unsafe work or housing"),
    Choice(value="contract-substitution", label="Contract changed after arrival"),
    Choice(value="retaliation", label="Punished for complaining"),
    Choice(value="other", label="Something else"),
]

FIELDS = [
    FormField(name="categories", kind="multiple-choice", required=True, choices=CATEGORIES,
              label="What is happening to you?", help="Choose all that apply."),
    FormField(name="what_happened", kind="long-text", required=True, max_length=5000,
              label="Tell us what happened",
              help="Do not write your name or your employer's address unless you want to."),
    FormField(name="country", kind="single-choice", required=True, label="Where do you work?",
              choices=[Choice(value=c, label=lbl) for c, lbl in (
                  ("HK", "Hong Kong"), ("TW", "Taiwan"), ("SG", "Singapore"),
                  ("MY", "Malaysia"), ("TH", "Thailand"), ("other", "Another place"))]),
    FormField(name="employer_kind", kind="single-choice", label="Who is this about?",
              choices=[Choice(value=c, label=lbl) for c, lbl in (
                  ("household", "The household I work for"), ("agency", "A recruitment agency"),
                  ("company", "A company or factory"), ("other", "Someone else"))]),
    FormField(name="safe_now", kind="yes-no", label="Are you safe right now?",
              choices=[Choice(value="yes", label="Yes"), Choice(value="no", label="No")]),
]

DANGER_CATEGORIES = {"retaliation", "confinement", "document-retention"}
ORGANISATION_NAMES = {
    "tenaganita": "Tenaganita (Malaysia)",
    "map-foundation": "MAP Foundation (Thailand)",
    "serve-the-people": "Serve the People Association (Taiwan)",
    "apmm": "Asia Pacific Mission for Migrants (Hong Kong)",
}


def definition(language: str, organisations: list[str]) -> FormDefinition:
    """The form as pages render it (English until issue 3's catalogs land)."""
    orgs = [Choice(value=o, label=ORGANISATION_NAMES.get(o, o)) for o in organisations]
    return FormDefinition(version=VERSION, language=language, organisations=orgs, fields=FIELDS)


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
