"""The case pages' forms: reading what a handler sent, and turning a service's refusal into a
message on the page, tied to the fields it concerns, with what they typed kept."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from suara_gateway.console.i18n import N_
from suara_kit.errors import SuaraError
from suara_kit.messaging import validation_problem

M = TypeVar("M", bound=BaseModel)

# what to do about a field the service refused, by its name in the contracts
FIELD_MESSAGES = {
    "body": N_("Write your message (at most 4,000 characters)."),
    "message": N_("Write a message to the reporter (at most 4,000 characters)."),
    "reason": N_("Say why, in a few words."),
    "to": N_("Choose one of the statuses offered."),
    "handler": N_("Give a colleague's account id, or leave it empty to take the case yourself."),
    "issues": N_("Choose at least one issue."),
    "origin": N_("Choose the worker's country."),
    "destination": N_("Choose the country where they work."),
    "respondent": N_("Name the employer or agency (at most 200 characters)."),
    "respondent_kind": N_("Choose who the respondent is."),
    "to_organisation": N_("Choose an organisation."),
    "share_profile": N_("Choose how much may be shared."),
    "types": N_("Choose a referral, a transfer or both."),
    "type": N_("Choose a referral or a transfer."),
    "obtained": N_("Say how and when the reporter agreed (at least 5 characters)."),
    "message_id": N_("Choose one of the reporter's own messages, or none."),
    "note": N_("Shorten the note to at most 2,000 characters."),
}
ALIASES = {"corridor": ("origin", "destination")}  # a closing refusal names the corridor
LEADS = {
    409: N_("This was not done: the case's current state does not allow it."),
    410: N_("This was not done: the case's content was deleted at the end of its retention "
            "period."),
    422: N_("This was not done. Correct what is marked and send it again."),
}
OTHER_LEAD = N_("This was not done.")


@dataclass
class Refusal:
    """A service's refusal of one form, as the page shows it."""

    form: str
    lead: str  # a catalog string
    detail: str  # the service's own words (English)
    fields: dict[str, str] = field(default_factory=dict)  # field -> catalog string
    values: dict[str, Any] = field(default_factory=dict)  # what was sent, to fill in again


def text(form: FormData, name: str) -> str:
    """A text field, trimmed, with the browser's line breaks made plain."""
    value = form.get(name)
    return value.replace("\r\n", "\n").strip() if isinstance(value, str) else ""


def texts(form: FormData, name: str) -> list[str]:
    """Every value of a repeated field (checkboxes)."""
    return [v.strip() for v in form.getlist(name) if isinstance(v, str) and v.strip()]


def build(model: type[M], **fields: Any) -> M:
    """A contract message from the form; a refusal naming the fields when it is not valid."""
    try:
        return model(**fields)
    except ValidationError as exc:
        raise validation_problem(exc) from None


def _named(error: SuaraError, known: set[str]) -> list[str]:
    """The form fields a refusal is about."""
    names = [str(e.get("field", "")) for e in error.extra.get("errors", [])
             if isinstance(e, dict)]
    names += [str(n) for n in error.extra.get("missing", [])]
    head = error.detail.split(":", 1)[0].strip()
    names += [head] if head in known | set(ALIASES) else []
    found: list[str] = []
    for name in names:
        last = name.split(".")[-1] if name else ""
        for one in ALIASES.get(last, (last,)):
            if one in known and one not in found:
                found.append(one)
    return found


def refusal(form: str, error: SuaraError, values: dict[str, Any], known: set[str]) -> Refusal:
    """The page's message for a service's refusal of `form`."""
    fields = {name: FIELD_MESSAGES.get(name, N_("Check this field."))
              for name in _named(error, known)}
    return Refusal(form, LEADS.get(error.status, OTHER_LEAD), error.detail, fields, values)
