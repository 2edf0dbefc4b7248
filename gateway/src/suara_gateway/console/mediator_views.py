"""What the mediators' pages call things, in the staff member's language, and how they show
times: a moment in a time zone, a week of local days, the time zones to choose from. Names and
formats only: every rule (who may book what, which slot fits) stays in mediation-scheduling."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel.dates import format_date, format_datetime, get_day_names

from suara_contracts.mediation import PartyView
from suara_gateway.console.i18n import N_, translations
from suara_gateway.i18n import BY_CODE, Language

WEEKDAYS = range(1, 8)  # ISO: 1 Monday … 7 Sunday
UTC_ZONE = "UTC"
# the corridors' zones first: where workers come from and where they work
COMMON_ZONES = ("Asia/Kuala_Lumpur", "Asia/Singapore", "Asia/Hong_Kong", "Asia/Taipei",
                "Asia/Bangkok", "Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura", "Asia/Manila",
                "Asia/Phnom_Penh", "Asia/Yangon", "Asia/Ho_Chi_Minh", "UTC")
_AREAS = ("Africa/", "America/", "Antarctica/", "Asia/", "Atlantic/", "Australia/", "Europe/",
          "Indian/", "Pacific/")

KINDS = {"mediator": N_("Mediator"), "interpreter": N_("Interpreter"), "room": N_("Room"),
         "video-link": N_("Video link")}
ROLES = {"worker": N_("Worker"), "representative": N_("Worker's representative"),
         "employer": N_("Employer side"), "interpreter": N_("Interpreter"),
         "observer": N_("Observer")}
MODES = {"in-person": N_("In person"), "video": N_("Video call"), "phone": N_("Phone call")}
STATUSES = {"held": N_("Held"), "booked": N_("Booked"), "cancelled": N_("Cancelled"),
            "expired": N_("Hold expired")}
RESPONSES = {"pending": N_("No answer yet"), "accepted": N_("Accepted"),
             "declined": N_("Declined")}
CANCEL_REASONS = {
    "party-unavailable": N_("A party cannot come"),
    "interpreter-unavailable": N_("The interpreter cannot come"),
    "mediator-unavailable": N_("The mediator cannot come"),
    "settled": N_("The parties settled"), "withdrawn": N_("The worker withdrew"),
    "safety": N_("A safety concern"), "other": N_("Another reason"),
}
OBLIGATION_KINDS = {
    "payment": N_("Payment"), "return-documents": N_("Return of documents"),
    "reinstatement": N_("Reinstatement"), "reference-letter": N_("Reference letter"),
    "apology": N_("Apology"), "policy-change": N_("Policy change"),
}
OBLIGATION_STATUSES = {"pending": N_("Not yet due or not checked"), "met": N_("Met"),
                       "missed": N_("Missed")}
AGREEMENT_STATUSES = {"draft": N_("Draft"), "signed": N_("Signed")}
FLAGS = {"waives-right": N_("Gives up one of the worker's rights"),
         "below-entitlement": N_("Pays less than the worker is entitled to")}
# why no slot fits, in plain words (the service's own sentence is shown too)
NO_SLOT = {
    "missing-resource": N_(
        "Your organisation has no active resource of a kind this mediation needs: a mediator, "
        "an interpreter for each of its languages, or a room (in person) or video link."),
    "party-unavailable": N_(
        "One party has no time at all that suits them in this period: their quiet hours and "
        "rest days leave nothing long enough."),
    "parties-never-overlap": N_(
        "Two parties never have a suitable time in common: their time zones, quiet hours or "
        "rest days keep them apart."),
    "resource-unavailable": N_(
        "No resource of one kind is free long enough in this period: working hours, days "
        "off, bookings, notice and how far ahead it can be booked leave no room."),
    "party-resource-never-overlap": N_(
        "A party's suitable hours never meet the working hours of any resource of one kind. "
        "Often this is a worker's only rest day against weekday working hours."),
    "resources-never-overlap": N_(
        "Two kinds of resource are never free at the same time while every party can come."),
    "no-common-slot": N_(
        "Each pair of constraints can be met, but never all at once. Try a longer period or "
        "a shorter session."),
}
OTHER_NO_SLOT = N_("The constraints leave no common time.")
# the worker's language for the outside-options text (mediation's codes)
WORKER_LANGUAGES = ("en", "id", "fil", "ms", "th", "vi", "km", "my", "zh_Hant")


@dataclass(frozen=True)
class Words:
    """Translation and formatting in one staff language."""

    language: Language

    def t(self, text: str) -> str:
        """A catalog string, translated."""
        return translations(self.language).gettext(text)

    def label(self, table: dict[str, str], key: str | None) -> str:
        """A code's name from one of the tables above (the code itself if unknown)."""
        return self.t(table[key]) if key in table else (key or "")

    def weekday(self, iso_day: int) -> str:
        """The weekday's name, 1 Monday … 7 Sunday."""
        return str(get_day_names("wide", locale=self.language.locale)[iso_day - 1])

    def day(self, value: date) -> str:
        """A date with its weekday: Monday 7 December 2026."""
        return format_date(value, "EEEE d MMMM y", locale=self.language.locale)

    def short_day(self, value: date) -> str:
        """A short date with its weekday: Mon 7 Dec 2026."""
        return format_date(value, "EEE d MMM y", locale=self.language.locale)

    def local_day(self, value: datetime, zone: str) -> str:
        """The short date of a moment on the clock in `zone`."""
        return self.short_day(value.astimezone(zone_of(zone)).date())

    def moment(self, value: datetime, zone: str) -> str:
        """A moment as the clock in `zone` reads it: Mon 7 Dec 2026, 10:00."""
        return format_datetime(value, "EEE d MMM y, HH:mm", tzinfo=zone_of(zone),
                               locale=self.language.locale)

    def span(self, start: datetime, end: datetime, zone: str) -> str:
        """A session's time in `zone`: Mon 7 Dec 2026, 10:00 to 11:30 with an en dash (both
        dates if it ends on another day there)."""
        tz = zone_of(zone)
        if start.astimezone(tz).date() != end.astimezone(tz).date():
            return f"{self.moment(start, zone)} – {self.moment(end, zone)}"
        ends = format_datetime(end, "HH:mm", tzinfo=tz, locale=self.language.locale)
        return f"{self.moment(start, zone)}–{ends}"

    def clock(self, value: datetime, zone: str) -> str:
        """Only the time of day in `zone`: 10:00."""
        return format_datetime(value, "HH:mm", tzinfo=zone_of(zone), locale=self.language.locale)

    def local_span(self, start: str, end: str, zone: str) -> str:
        """A party's local time from the ISO strings a proposal gives."""
        return self.span(datetime.fromisoformat(start), datetime.fromisoformat(end), zone)

    def hours(self, start: time, end: time) -> str:
        return f"{start:%H:%M}–{end:%H:%M}"

    def rest_days(self, days: list[int]) -> str:
        return ", ".join(self.weekday(d) for d in days)

    def no_slot(self, code: str) -> str:
        return self.t(NO_SLOT.get(code, OTHER_NO_SLOT))

    def named(self, message: str, parties: list[PartyView]) -> str:
        """The slot engine's sentence with each party's id replaced by its alias."""
        for party in parties:
            message = message.replace(str(party.party_id), party.alias)
        return message

    def worker_language(self, code: str) -> str:
        """A language by its own name (mediation writes zh_Hant, the pages zh-Hant)."""
        found = BY_CODE.get(code.replace("_", "-"))
        return found.name if found else code


def lang_tag(code: str) -> str:
    """A BCP 47 tag for an HTML lang attribute from mediation's language code."""
    return code.replace("_", "-")


def zone_of(name: str) -> ZoneInfo:
    """An IANA zone; UTC for a name that is not one (a page never fails on a stored zone)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(UTC_ZONE)


@cache
def all_zones() -> tuple[str, ...]:
    """Every canonical IANA zone (Area/City), sorted, for the list to choose from."""
    return tuple(sorted(z for z in available_timezones() if z.startswith(_AREAS)))


def monday_of(value: date) -> date:
    return value - timedelta(days=value.isoweekday() - 1)


@dataclass(frozen=True)
class Week:
    """Seven local days from a Monday, in one time zone."""

    monday: date
    zone: str

    @classmethod
    def of(cls, asked: str | None, today: date, zone: str) -> Week:
        """The week holding the date asked for (YYYY-MM-DD), else this week."""
        try:
            day = date.fromisoformat(asked) if asked else today
        except ValueError:
            day = today
        return cls(monday_of(day), zone)

    @property
    def days(self) -> list[date]:
        return [self.monday + timedelta(days=i) for i in range(7)]

    def start(self, day: date) -> datetime:
        """Midnight of a local day, as an aware moment."""
        return datetime.combine(day, time(0), tzinfo=zone_of(self.zone))

    @property
    def starts(self) -> datetime:
        return self.start(self.monday)

    @property
    def ends(self) -> datetime:
        return self.start(self.monday + timedelta(days=7))

    @property
    def previous(self) -> date:
        return self.monday - timedelta(days=7)

    @property
    def following(self) -> date:
        return self.monday + timedelta(days=7)
