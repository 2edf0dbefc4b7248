"""Request and reply bodies of notification preferences: a staff member's own (address,
language, time zone, quiet hours, digest, muted topics) and a reporter's nudge contact (the
`suara.rpc.notification.v1.staff-*` and `contact-*` subjects).

A reporter's contact is used for one thing only: a content-free nudge ("you have an update")
when their receipt-protected inbox has something new, or before a mediation session. Nobody
else, staff included, can read it; it is deleted with the report's content."""

from __future__ import annotations

from datetime import time
from typing import Literal
from uuid import UUID

from pydantic import Field

from suara_contracts.mediation import LocalTimeOfDay
from suara_contracts.rpc import Actor, _Msg

StaffTopic = Literal["case-opened", "reporter-replied", "deadline-breached", "cluster-detected",
                     "session-booked", "session-rescheduled", "session-cancelled",
                     "session-reminder", "party-declined", "party-no-show",
                     "referral-received", "referral-moved", "obligation-missed"]
StaffLanguage = Literal["en", "id", "fil"]
ReporterLanguage = Literal["en", "id", "fil", "ms", "th", "vi", "km", "my", "zh-Hant"]
EMAIL_PATTERN = r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,63}$"
PHONE_PATTERN = r"^\+[1-9][0-9]{6,14}$"


class StaffPreferences(_Msg):
    """How a staff member wants to hear of their work. Urgent messages (a high-risk case, a
    check-in answer, a session about to start) ignore quiet hours and the digest."""

    email: str | None = Field(default=None, max_length=320, pattern=EMAIL_PATTERN,
                              description="where email goes; none: no email",
                              examples=["ani@tenaganita.example"])
    phone: str | None = Field(default=None, pattern=PHONE_PATTERN, description=(
        "E.164 number for urgent SMS (with `sms_urgent`)"), examples=["+60123456789"])
    language: StaffLanguage = "en"
    timezone: str = Field(default="UTC", max_length=64, examples=["Asia/Kuala_Lumpur"])
    quiet_from: LocalTimeOfDay | None = Field(default=None, description=(
        "start of quiet hours, local time in `timezone`: nothing that can wait arrives then"),
                                              examples=["21:00"])
    quiet_until: LocalTimeOfDay | None = Field(default=None, description=(
        "end of quiet hours, local time in `timezone`"), examples=["07:00"])
    digest: bool = Field(default=False, description=(
        "what can wait comes in one email a day, at `digest_hour`"))
    digest_hour: int = Field(default=8, ge=0, le=23)
    muted: list[StaffTopic] = Field(default=[], max_length=20, description=(
        "topics not to send by email or SMS (they stay in the console)"))
    sms_urgent: bool = Field(default=False, description="urgent messages by SMS too")


class StaffPreferencesQuery(_Msg):
    actor: Actor


class SetStaffPreferences(_Msg):
    actor: Actor
    preferences: StaffPreferences


class StaffPreferencesView(_Msg):
    """The caller's preferences; `registered` false: nothing is sent to them yet."""

    registered: bool
    organisation: str | None = None
    preferences: StaffPreferences


class SetReporterContact(_Msg):
    """A reporter (the gateway checked their receipt) asks for nudges at this address."""

    submission_id: UUID
    channel: Literal["sms", "email"]
    address: str = Field(min_length=3, max_length=320)
    language: ReporterLanguage = "en"
    timezone: str = Field(default="UTC", max_length=64)
    quiet_from: LocalTimeOfDay | None = Field(default=time(21, 0))
    quiet_until: LocalTimeOfDay | None = Field(default=time(7, 0))


class ReporterContactQuery(_Msg):
    submission_id: UUID


class ReporterContactView(_Msg):
    """Whether nudges go somewhere, shown to the reporter only, with the address masked."""

    channel: Literal["sms", "email"] | None = None
    masked: str | None = Field(default=None, description="e.g. '••••••89' or 'a•••@g•••.com'")
    quiet_from: LocalTimeOfDay | None = None
    quiet_until: LocalTimeOfDay | None = None
