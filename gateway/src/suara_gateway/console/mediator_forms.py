"""The mediators' forms: what a form sent, turned into the fields of a contract message, and a
service's refusal turned into a message on the page, tied to the inputs it concerns, with what
was typed kept. The rules stay in mediation-scheduling: a form is checked here only as far as
the contract's own models check it (the same models the service reads)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from suara_contracts.mediation import IDEMPOTENCY_KEY, ResourceView
from suara_gateway.console.i18n import N_
from suara_kit.errors import SuaraError, ValidationFailed
from suara_kit.messaging import validation_problem

Path = tuple[str, ...]
ROWS_PER_DAY, OVERRIDE_HOURS, BLANK_OVERRIDES, OBLIGATION_ROWS = 2, 2, 2, 3
_WEEKLY = re.compile(r"^w([1-7])-(\d{1,2})-(start|end)$")
_OVERRIDE = re.compile(r"^o(\d{1,3})-")
_OBLIGATION = re.compile(r"^ob(\d{1,2})-")
_KEY = re.compile(IDEMPOTENCY_KEY)

# what to do about a refused field, by the last name in its contract path
HINTS = {
    "start": N_("Give a local time such as 09:00, without a UTC offset. Each range ends after "
                "it starts and does not overlap another range of the same day."),
    "end": N_("Give a local time such as 17:00, without a UTC offset, after the start."),
    "timezone": N_("Choose a time zone from the list."),
    "date": N_("Give each date once, as a date such as 2026-12-24."),
    "hours": N_("Give the hours for this date, or choose a day off."),
    "name": N_("Give a name of at most 120 characters."),
    "text": N_("Write the note: at most 4,000 characters."),
    "party_id": N_("A caucus note names the party it was held with; a joint note names none."),
    "booking_id": N_("Choose one of this mediation's sessions, or none."),
    "visibility": N_("Choose joint or caucus."),
    "reason": N_("Choose a reason."),
    "note": N_("Shorten the note."),
    "starts_at": N_("Choose a start in the future, within the published hours of everyone "
                    "taking part."),
    "ends_at": N_("Choose a length that ends within the published hours and how far ahead "
                  "they can be booked."),
    "duration_minutes": N_("Choose a length between 15 minutes and 8 hours."),
    "horizon_days": N_("Choose a period between 1 and 60 days."),
    "kind": N_("Choose what is promised."),
    "description": N_("Describe the obligation in 3 to 1,000 characters."),
    "due_on": N_("Give the date it is due, such as 2026-12-31."),
    "amount": N_("A payment needs an amount and a currency; only a payment has them."),
    "currency": N_("Give the currency as three capital letters, such as MYR."),
    "entitlement": N_("Give what the worker is entitled to as an amount, or leave it empty."),
    "flag_reason": N_("This term is flagged: record why it is acceptable to the worker."),
    "worker_language": N_("Choose the language the worker reads."),
    "language": N_("Show the worker the text in their own language."),
    "acknowledged_by": N_("Say who read the text."),
    "met": N_("Say whether the obligation was met."),
}
OTHER_HINT = N_("Check this field.")
LEADS = {
    403: N_("This was not done: your account may not do this."),
    404: N_("This was not done: it no longer exists in your organisation."),
    409: N_("This was not done: it conflicts with what is already recorded."),
    410: N_("This was not done: the case's content was deleted at the end of its retention "
            "period."),
    422: N_("This was not done. Correct what is marked and send it again."),
}
OTHER_LEAD = N_("This was not done.")
CONFLICTS = {  # a 409 said for what the form was doing
    "availability": N_("This was not saved: your account is linked to another resource "
                       "already."),
    "slot": N_("This slot is no longer free: a person or room in it was held or booked "
               "meanwhile. Find slots again and choose another."),
    "reschedule": N_("The new time clashes with another hold or booking of the same people "
                     "or room."),
    "confirm": N_("This hold cannot be confirmed any more."),
    "cancel": N_("This session was cancelled already."),
}


@dataclass
class Refusal:
    """A refusal of one form, as the page shows it."""

    form: str
    lead: str  # a catalog string
    detail: str  # the service's own words (English)
    fields: dict[str, str] = field(default_factory=dict)  # element id -> catalog hint
    values: dict[str, Any] = field(default_factory=dict)  # what was sent, by element name
    said: dict[str, str] = field(default_factory=dict)  # element id -> the service's words

    def has(self, form: str, element: str) -> bool:
        return self.form == form and element in self.fields


@dataclass
class Sent:
    """A form's values (by element name) and where each contract field came from."""

    values: dict[str, Any]
    paths: dict[Path, str] = field(default_factory=dict)  # contract path -> element id


def text(form: FormData, name: str) -> str:
    """A text field, trimmed, with the browser's line breaks made plain."""
    value = form.get(name)
    return value.replace("\r\n", "\n").strip() if isinstance(value, str) else ""


def key_of(form: FormData) -> str:
    """The form's idempotency key: a retry of the same form is answered, not run again."""
    sent = text(form, "idempotency_key")
    return sent if _KEY.fullmatch(sent) else new_key()


def new_key() -> str:
    return "console-" + secrets.token_urlsafe(18)


def checked(exc: ValidationError) -> ValidationFailed:
    """A contract model's refusal, as the service would have answered it."""
    return validation_problem(exc)


def _path(name: str) -> Path:
    return tuple(re.findall(r"[^.\[\]]+", name))


def _named(error: SuaraError) -> list[tuple[Path, str]]:
    """The fields a refusal names, each with what the service said of it."""
    found = [(_path(str(e.get("field", ""))), str(e.get("message", "")))
             for e in error.extra.get("errors", []) if isinstance(e, dict)]
    head, _, rest = error.detail.partition(":")
    if not found and rest and head.strip() and " " not in head.strip():
        found.append((_path(head.strip()), rest.strip()))
    return [(p, said) for p, said in found if p]


def _element(path: Path, paths: dict[Path, str]) -> str | None:
    for end in range(len(path), 0, -1):
        if path[:end] in paths:
            return paths[path[:end]]
    return None


def _hint(path: Path) -> str:
    names = [p for p in path if not p.isdigit()]
    return HINTS.get(names[-1], OTHER_HINT) if names else OTHER_HINT


def refusal(form: str, error: SuaraError, sent: Sent) -> Refusal:
    """The page's message for a service's (or a contract model's) refusal of `form`."""
    fields: dict[str, str] = {}
    said: dict[str, str] = {}
    named = _named(error)
    for path, words in named:
        element = _element(path, sent.paths)
        if element is not None and element not in fields:
            fields[element], said[element] = _hint(path), words
    lead = CONFLICTS.get(form, LEADS[409]) if error.status == 409 else LEADS.get(
        error.status, OTHER_LEAD)
    # what the service said of each field is shown at the field; the whole answer only when
    # some of it concerns no field of this form
    detail = "" if named and len(said) == len(named) else error.detail
    return Refusal(form, lead, detail, fields, sent.values, said)


def local(form: str, element: str, hint: str, sent: Sent) -> Refusal:
    """A refusal the page makes itself, before asking a service (nothing to send)."""
    return Refusal(form, LEADS[422], "", {element: hint}, sent.values)


# ------------------------------------------------------------------------------------------
# availability
# ------------------------------------------------------------------------------------------
@dataclass
class OverrideRow:
    """One date override as the editor shows it."""

    date: str = ""
    kind: str = "off"  # "off" or "hours"
    hours: list[tuple[str, str]] = field(default_factory=list)
    existing: bool = False

    def padded(self) -> list[tuple[str, str]]:
        return (self.hours + [("", "")] * OVERRIDE_HOURS)[:max(OVERRIDE_HOURS, len(self.hours))]


@dataclass
class AvailabilityForm:
    """The editor's rows: several ranges a day, date overrides, the time zone."""

    name: str
    timezone: str
    days: dict[int, list[tuple[str, str]]]
    overrides: list[OverrideRow]

    @classmethod
    def of(cls, resource: ResourceView | None, name: str, zone: str) -> AvailabilityForm:
        """The editor for a stored resource (or a new one), with blank rows to add to."""
        days: dict[int, list[tuple[str, str]]] = {d: [] for d in range(1, 8)}
        overrides: list[OverrideRow] = []
        if resource is not None:
            name, zone = resource.name, resource.timezone
            for span in sorted(resource.weekly_hours, key=lambda s: (s.weekday, s.start)):
                days[span.weekday].append((f"{span.start:%H:%M}", f"{span.end:%H:%M}"))
            for o in sorted(resource.date_overrides, key=lambda o: o.date):
                overrides.append(OverrideRow(
                    o.date.isoformat(), "hours" if o.hours else "off",
                    [(f"{h.start:%H:%M}", f"{h.end:%H:%M}") for h in o.hours], existing=True))
        for spans in days.values():
            spans.extend([("", "")] * max(ROWS_PER_DAY - len(spans), 1))
        overrides.extend(OverrideRow() for _ in range(BLANK_OVERRIDES))
        return cls(name, zone, days, overrides)

    @classmethod
    def sent(cls, values: dict[str, Any]) -> AvailabilityForm:
        """The editor again, exactly as the staff member filled it in."""
        days: dict[int, list[tuple[str, str]]] = {d: [] for d in range(1, 8)}
        for d in days:
            rows = sorted({int(m[2]) for k in values if (m := _WEEKLY.match(k)) and
                           int(m[1]) == d})
            days[d] = [(values.get(f"w{d}-{r}-start", ""), values.get(f"w{d}-{r}-end", ""))
                       for r in range(max(rows, default=-1) + 1)] or [("", "")]
        count = max((int(m[1]) + 1 for k in values if (m := _OVERRIDE.match(k))), default=0)
        overrides = [OverrideRow(
            values.get(f"o{r}-date", ""), values.get(f"o{r}-kind", "off"),
            [(values.get(f"o{r}-h{j}-start", ""), values.get(f"o{r}-h{j}-end", ""))
             for j in range(OVERRIDE_HOURS)], existing=bool(values.get(f"o{r}-existing")))
            for r in range(count)]
        return cls(values.get("name", ""), values.get("timezone", ""), days, overrides)


def availability(form: FormData) -> tuple[Sent, dict[str, Any], Refusal | None]:
    """The editor's values and the contract fields they make (weekly hours, overrides), or
    the page's own refusal of an override with hours but none given."""
    values = {k: v.strip() for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    sent = Sent(values, {("name",): "name", ("timezone",): "timezone"})
    weekly: list[dict[str, Any]] = []
    for name in sorted(values, key=_weekly_order):
        match = _WEEKLY.match(name)
        if match is None or match[3] != "start":
            continue
        day, row = int(match[1]), match[2]
        start, end = values[name], values.get(f"w{day}-{row}-end", "")
        if not start and not end:
            continue
        at = str(len(weekly))
        sent.paths |= {("weekly_hours", at): name, ("weekly_hours", at, "start"): name,
                       ("weekly_hours", at, "end"): f"w{day}-{row}-end"}
        weekly.append({"weekday": day, "start": start, "end": end})
    overrides: list[dict[str, Any]] = []
    count = max((int(m[1]) + 1 for k in values if (m := _OVERRIDE.match(k))), default=0)
    for r in range(count):
        day = values.get(f"o{r}-date", "")
        if not day or values.get(f"o{r}-remove"):
            continue
        at = str(len(overrides))
        sent.paths |= {("date_overrides", at): f"o{r}-date",
                       ("date_overrides", at, "date"): f"o{r}-date"}
        hours: list[dict[str, str]] = []
        if values.get(f"o{r}-kind") == "hours":
            for j in range(OVERRIDE_HOURS):
                start, end = values.get(f"o{r}-h{j}-start", ""), values.get(f"o{r}-h{j}-end", "")
                if start or end:
                    sent.paths |= {
                        ("date_overrides", at, "hours", str(len(hours))): f"o{r}-h{j}-start",
                        ("date_overrides", at, "hours", str(len(hours)), "start"):
                            f"o{r}-h{j}-start",
                        ("date_overrides", at, "hours", str(len(hours)), "end"):
                            f"o{r}-h{j}-end"}
                    hours.append({"start": start, "end": end})
            if not hours:
                return sent, {}, local("availability", f"o{r}-h0-start", HINTS["hours"], sent)
        overrides.append({"date": day, "hours": hours})
    fields = {"name": values.get("name", ""), "timezone": values.get("timezone", ""),
              "weekly_hours": weekly, "date_overrides": overrides}
    return sent, fields, None


def _weekly_order(name: str) -> tuple[int, int]:
    match = _WEEKLY.match(name)
    return (int(match[1]), int(match[2])) if match else (9, 0)


# ------------------------------------------------------------------------------------------
# agreements
# ------------------------------------------------------------------------------------------
OBLIGATION_FIELDS = ("kind", "description", "due_on", "amount", "currency", "entitlement",
                     "flag_reason")


def obligation_rows(values: dict[str, Any] | None) -> int:
    """How many obligation rows the draft form shows."""
    if not values:
        return OBLIGATION_ROWS
    return max((int(m[1]) + 1 for k in values if (m := _OBLIGATION.match(k))),
               default=OBLIGATION_ROWS)


def agreement(form: FormData) -> tuple[Sent, dict[str, Any]]:
    """The draft's values and the agreement's fields: the rows with something in them."""
    values = {k: v.strip() for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    sent = Sent(values, {("worker_language",): "worker_language"})
    obligations: list[dict[str, Any]] = []
    for r in range(obligation_rows(values)):
        row = {name: values.get(f"ob{r}-{name}", "") for name in OBLIGATION_FIELDS}
        if not row["kind"] and not row["description"]:
            continue
        at = str(len(obligations))
        sent.paths |= {("obligations", at): f"ob{r}-amount"}
        sent.paths |= {("obligations", at, name): f"ob{r}-{name}" for name in OBLIGATION_FIELDS}
        obligations.append({
            "kind": row["kind"], "description": row["description"], "due_on": row["due_on"],
            "amount": row["amount"] or None, "currency": row["currency"].upper() or None,
            "entitlement": row["entitlement"] or None,
            "waives_right": bool(values.get(f"ob{r}-waives_right")),
            "flag_reason": row["flag_reason"] or None})
    if not obligations:
        sent.paths[("obligations",)] = "ob0-kind"
    return sent, {"worker_language": values.get("worker_language", ""),
                  "obligations": obligations}
