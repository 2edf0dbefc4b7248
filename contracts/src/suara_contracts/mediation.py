"""Request and reply bodies for mediation-scheduling's resources, mediations, holds and bookings
(the `suara.rpc.mediation.v1.*` subjects). Parties appear by role and alias only: a worker or
their representative has no name, phone or address field anywhere."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BeforeValidator, Field, WithJsonSchema, field_validator, model_validator
from pydantic_core import PydanticCustomError

from suara_contracts.rpc import Actor, SessionMode, _Msg

ResourceKind = Literal["mediator", "interpreter", "room", "video-link"]
PartyRole = Literal["worker", "representative", "employer", "interpreter", "observer"]
BookingStatus = Literal["held", "booked", "cancelled", "expired"]
PartyResponse = Literal["pending", "accepted", "declined"]
CancelReason = Literal["party-unavailable", "interpreter-unavailable", "mediator-unavailable",
                       "settled", "withdrawn", "safety", "other"]
LANGUAGE = r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$"
IDEMPOTENCY_KEY = r"^[\x21-\x7e]{1,255}$"
LOCAL_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"
_LOCAL_TIME = re.compile(LOCAL_TIME_PATTERN)
_OFFSET = re.compile(r"^[0-9:.,]+([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)$")
LOCAL_TIME_OFFSET = ("must be a local time without a UTC offset (09:00, not 09:00+07:00 or "
                     "09:00Z): it is read in the time zone given with it (`timezone`)")
LOCAL_TIME_FORMAT = ("must be a local time, HH:MM or HH:MM:SS (with up to 6 decimals of a "
                     "second), e.g. 09:00 or 17:30:00")


def _local_time(value: Any) -> Any:
    """A wall-clock time without an offset, as a string in the documented pattern or a naive
    `time`; anything else (an offset, seconds since midnight, another spelling) is refused."""
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise PydanticCustomError("local_time_offset", LOCAL_TIME_OFFSET)
        return value
    if isinstance(value, str) and _LOCAL_TIME.fullmatch(value):
        return value
    if isinstance(value, str) and _OFFSET.fullmatch(value):
        raise PydanticCustomError("local_time_offset", LOCAL_TIME_OFFSET)
    raise PydanticCustomError("local_time_format", LOCAL_TIME_FORMAT)


LocalTimeOfDay = Annotated[time, BeforeValidator(_local_time), WithJsonSchema({
    "type": "string", "pattern": LOCAL_TIME_PATTERN,
    "description": "local wall-clock time (HH:MM or HH:MM:SS[.ffffff]) in the time zone given "
                   "with it (`timezone`); never with a UTC offset"})]
"""A time of day on the local wall clock of a separate time-zone field (weekly hours, quiet
hours). JSON Schema's `format: time` (RFC 3339 full-time) would demand a UTC offset, which such
a time has not: it is documented as a string with a pattern instead, and an offset is refused."""


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must carry a UTC offset, e.g. 2026-12-06T10:00:00+08:00")
    return value


# resources
class Hours(_Msg):
    """A span of local wall-clock time within one day (end after start)."""

    start: LocalTimeOfDay = Field(examples=["09:00"])
    end: LocalTimeOfDay = Field(examples=["17:00"])


class WeeklyHours(Hours):
    weekday: int = Field(ge=1, le=7, description="ISO weekday: 1 Monday … 7 Sunday")


class DateOverride(_Msg):
    """One local date: off altogether (`hours` empty) or these hours instead of the week's."""

    date: date
    hours: list[Hours] = Field(default=[], max_length=6)


class ResourceBody(_Msg):
    kind: ResourceKind
    name: str = Field(min_length=1, max_length=120, description=(
        "a display name, e.g. 'Mediator Aisyah' or 'Room 2, Tenaganita KL'"))
    languages: list[str] = Field(default=[], max_length=12, description=(
        "languages the resource works in (interpreters: the ones they interpret)"))
    timezone: str = Field(min_length=1, max_length=64, examples=["Asia/Kuala_Lumpur"])
    weekly_hours: list[WeeklyHours] = Field(default=[], max_length=70)
    date_overrides: list[DateOverride] = Field(default=[], max_length=366)
    buffer_before_minutes: int = Field(default=0, ge=0, le=240)
    buffer_after_minutes: int = Field(default=0, ge=0, le=240)
    minimum_notice_minutes: int = Field(default=0, ge=0, le=43_200)
    booking_horizon_days: int = Field(default=90, ge=1, le=730)
    active: bool = True
    account: str | None = Field(default=None, min_length=1, max_length=255, description=(
        "the staff account (the `sub` of their token) of the mediator or interpreter this "
        "resource is, so their own availability and sessions can be found; a mediator links "
        "only their own account, an administrator anyone's; one resource per account"))

    @field_validator("languages")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        for code in value:
            if not re.match(LANGUAGE, code):
                raise ValueError(f"{code!r} is not a language code such as 'my' or 'zh-Hant'")
        return value


class CreateResource(ResourceBody):
    actor: Actor


class UpdateResource(ResourceBody):
    actor: Actor
    resource_id: UUID


class ResourcesQuery(_Msg):
    actor: Actor


class ResourceView(ResourceBody):
    resource_id: UUID
    organisation: str


class ResourceList(_Msg):
    items: list[ResourceView]


# mediations and their parties
class PartyBody(_Msg):
    """Someone taking part, by role and alias, with the constraints a slot must respect."""

    role: PartyRole
    alias: str = Field(min_length=1, max_length=64, description=(
        "how the mediation refers to the party, e.g. 'Worker A' or 'Employer HR': never a "
        "worker's or representative's real name"))
    timezone: str = Field(min_length=1, max_length=64, examples=["Asia/Yangon"])
    quiet_hours: Hours | None = Field(default=None, description=(
        "local hours never to schedule in; may cross midnight (22:00–07:00)"))
    rest_days: list[int] = Field(default=[], max_length=7, description=(
        "ISO weekdays the party does not work, e.g. [7] for a domestic worker's Sunday"))
    language: str = Field(default="en", pattern=LANGUAGE)

    @field_validator("rest_days")
    @classmethod
    def _weekdays(cls, value: list[int]) -> list[int]:
        if any(not 1 <= d <= 7 for d in value) or len(set(value)) != len(value):
            raise ValueError("distinct ISO weekdays, 1 (Monday) to 7 (Sunday)")
        return sorted(value)


class MediationBody(_Msg):
    mode: SessionMode = "in-person"
    languages: list[str] = Field(default=[], max_length=8, description=(
        "languages the session needs interpreted: each needs an interpreter party"))
    parties: list[PartyBody] = Field(min_length=1, max_length=20)


class CreateMediation(MediationBody):
    actor: Actor
    case_id: UUID


class PartyView(PartyBody):
    party_id: UUID


class CaseMediationsQuery(_Msg):
    actor: Actor
    case_id: UUID


class MediationQuery(_Msg):
    actor: Actor
    mediation_id: UUID


# holds and bookings
class SlotBody(_Msg):
    starts_at: datetime
    ends_at: datetime
    resources: list[UUID] = Field(min_length=1, max_length=10, description=(
        "one mediator, the interpreters, and at most one room or video link"))
    timezone: str | None = Field(default=None, max_length=64, description=(
        "the zone times are shown in; the mediator resource's zone when absent"))

    _aware_times = field_validator("starts_at", "ends_at")(_aware)

    @model_validator(mode="after")
    def _ordered(self) -> SlotBody:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if len(set(self.resources)) != len(self.resources):
            raise ValueError("resources: each resource once")
        return self


class HoldBody(SlotBody):
    hold_minutes: int | None = Field(default=None, ge=1, le=1440, description=(
        "how long the hold lasts; the service's default (15 minutes) when absent"))


class PlaceHold(HoldBody):
    actor: Actor
    mediation_id: UUID
    idempotency_key: str = Field(pattern=IDEMPOTENCY_KEY)


class BookSlot(SlotBody):
    actor: Actor
    mediation_id: UUID
    idempotency_key: str = Field(pattern=IDEMPOTENCY_KEY)


class ConfirmHold(_Msg):
    actor: Actor
    booking_id: UUID
    idempotency_key: str = Field(pattern=IDEMPOTENCY_KEY)


class RescheduleBody(_Msg):
    starts_at: datetime
    ends_at: datetime

    _aware_times = field_validator("starts_at", "ends_at")(_aware)

    @model_validator(mode="after")
    def _ordered(self) -> RescheduleBody:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class Reschedule(RescheduleBody):
    actor: Actor
    booking_id: UUID
    idempotency_key: str = Field(pattern=IDEMPOTENCY_KEY)


class CancelBody(_Msg):
    reason: CancelReason
    note: str = Field(default="", max_length=500, description=(
        "for the organisation's record only: never sent to parties or in events"))


class CancelBooking(CancelBody):
    actor: Actor
    booking_id: UUID


class ResponseBody(_Msg):
    party_id: UUID
    response: Literal["accepted", "declined"]


class RecordResponse(ResponseBody):
    """A party's answer to the booked time, recorded by the mediator for parties who have no
    account (today: every party)."""

    actor: Actor
    booking_id: UUID


class NoShowBody(_Msg):
    party_id: UUID


class RecordNoShow(NoShowBody):
    actor: Actor
    booking_id: UUID


class BookingQuery(_Msg):
    actor: Actor
    booking_id: UUID


class ResourceRef(_Msg):
    resource_id: UUID
    kind: ResourceKind
    name: str


class Attendance(_Msg):
    party_id: UUID
    role: PartyRole
    alias: str
    response: PartyResponse = Field(description="to the booking's current sequence")
    no_show: bool = False


class BookingView(_Msg):
    booking_id: UUID
    mediation_id: UUID
    case_id: UUID
    status: BookingStatus
    starts_at: datetime
    ends_at: datetime
    timezone: str
    expires_at: datetime | None = Field(default=None, description="for a hold: when it lapses")
    sequence: int = Field(description="bumped on every reschedule and on cancellation "
                          "(the iCalendar SEQUENCE)")
    resources: list[ResourceRef]
    attendance: list[Attendance] = []
    cancel_reason: CancelReason | None = None
    replayed: bool = Field(default=False, description=(
        "this is the stored answer to an earlier request with the same Idempotency-Key"))


class MediationView(MediationBody):
    mediation_id: UUID
    case_id: UUID
    organisation: str
    parties: list[PartyView]  # type: ignore[assignment]
    created_on: date
    bookings: list[BookingView] = []


class MediationList(_Msg):
    items: list[MediationView]


class MediationsQuery(_Msg):
    """The organisation's mediations, newest first, without their bookings."""

    actor: Actor
    limit: int = Field(default=50, ge=1, le=200)


WINDOW_MAX_DAYS = 42


class BookingsQuery(_Msg):
    """Holds and bookings starting in [starts_from, starts_before): a calendar's week."""

    actor: Actor
    starts_from: datetime
    starts_before: datetime
    mine: bool = Field(default=False, description=(
        "only those taking a resource linked to the caller's own account"))

    _aware_times = field_validator("starts_from", "starts_before")(_aware)

    @model_validator(mode="after")
    def _window(self) -> BookingsQuery:
        if self.starts_before <= self.starts_from:
            raise ValueError("starts_before must be after starts_from")
        if (self.starts_before - self.starts_from).days > WINDOW_MAX_DAYS:
            raise ValueError(f"a window of at most {WINDOW_MAX_DAYS} days")
        return self


class BookingList(_Msg):
    items: list[BookingView]
