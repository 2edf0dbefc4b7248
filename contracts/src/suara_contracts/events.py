"""Event payloads and the CloudEvents-shaped envelope they travel in."""

from __future__ import annotations

from datetime import date, datetime
from typing import Generic, Literal, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from suara_contracts.subjects import Evt
from suara_contracts.tolerant import Tolerant

D = TypeVar("D", bound=BaseModel)


class Envelope(Tolerant, Generic[D]):
    """CloudEvents 1.0 structured mode; `id` doubles as the `Nats-Msg-Id` header. Readers
    ignore attributes they do not know (CloudEvents extensions, a newer producer's)."""

    specversion: Literal["1.0"] = "1.0"
    id: UUID
    type: str = Field(description="the event subject, e.g. suara.evt.intake.submission.received.v1")
    source: str = Field(description="the producing service, e.g. /suara/intake")
    time: datetime
    datacontenttype: Literal["application/json"] = "application/json"
    data: D


class _Event(Tolerant):
    """An event payload: consumers ignore fields they do not know (`suara_contracts.tolerant`)."""

    model_config = ConfigDict(frozen=True)


RiskLevel = Literal["normal", "high"]


class SubmissionReceived(_Event):
    """A worker's report was accepted by intake. Carries the report; never who sent it."""

    submission_id: UUID
    reference: str
    organisation: str
    form_version: str
    language: str
    risk: RiskLevel
    risk_reasons: list[str]
    received_on: date = Field(description="coarsened to the day: no time pattern is kept")
    answers: dict[str, str | list[str]]
    channel: Literal["web", "assisted", "partner"] = "web"
    identifying: list[str] = Field(default=[], description=(
        "the answers the form marks as possibly identifying the worker: never put them in a "
        "referral or export without the worker's consent"))


class ReporterFollowUp(_Event):
    """The reporter, through their receipt, replied to their handler or added information."""

    follow_up_id: UUID
    submission_id: UUID
    kind: Literal["reply", "information", "check-in"]
    text: str
    attachment_ids: list[UUID] = []
    sent_on: date = Field(description="coarsened to the day")
    answers_message: UUID | None = Field(default=None, description=(
        "for a check-in: the message that asked"))
    answer: Literal["yes", "no"] | None = None


class DeadlineBreached(_Event):
    """A case missed a deadline: acknowledge (7 days), feedback (3 months after acknowledging)
    or update (the reporter hears from us at least every 30 days). Alerted once per due date."""

    case_id: UUID
    organisation: str
    kind: Literal["acknowledge", "feedback", "update"]
    due_on: date
    assigned_to: str | None = None


class ClusterDetected(_Event):
    """Three or more cases against one respondent in one organisation within the window: a
    pattern the organisation should look at as a whole."""

    organisation: str
    respondent: str
    case_ids: list[UUID]
    window_days: int


class CaseShredded(_Event):
    """A case reached the end of its retention period and its data key was deleted. Every
    service that holds content of the same report deletes its own key for it: the report
    becomes unreadable everywhere, in backups too. Carries identifiers only."""

    case_id: UUID
    submission_id: UUID
    organisation: str
    shredded_on: date


class SurveyAnswered(_Event):
    """A reporter rated the process. Deliberately carries no submission, case or reference:
    the scores are counted, never linked to anyone."""

    organisation: str
    quarter: str = Field(pattern=r"^\d{4}-Q[1-4]$")
    scores: dict[str, int]


class CaseOpened(_Event):
    """Case-management opened a case for a submission."""

    case_id: UUID
    submission_id: UUID
    reference: str
    organisation: str
    status: str
    acknowledge_by: date
    risk: RiskLevel = Field(default="normal", description=(
        "high when intake flagged retaliation, confinement, a held passport or the like: "
        "the team hears of it at once"))


class CaseStatusChanged(_Event):
    """A case moved from one lifecycle state to another."""

    case_id: UUID
    submission_id: UUID
    organisation: str
    from_status: str
    to_status: str


class ReporterMessage(_Event):
    """A handler wrote to the reporter; only the receipt-protected inbox may show it."""

    message_id: UUID
    case_id: UUID
    submission_id: UUID
    organisation: str
    body: str
    asks: Literal["check-in"] | None = Field(default=None, description=(
        "the message asks the reporter a question the inbox lets them answer: 'check-in' asks, "
        "after closure, whether anyone punished them for complaining (yes/no)"))


class ObligationMissed(_Event):
    """An obligation of a signed mediated agreement was not kept by its due date: the case
    is reopened. Ids, the kind of obligation and its date only."""

    case_id: UUID
    organisation: str
    agreement_id: UUID
    obligation_id: UUID
    kind: Literal["payment", "return-documents", "reinstatement", "reference-letter",
                  "apology", "policy-change"]
    due_on: date


class SessionProposed(_Event):
    """A mediator proposed a mediation session for a case."""

    session_id: UUID
    case_id: UUID
    organisation: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    mode: str


class PartyRef(_Event):
    """A mediation party as events name them: role and alias, never who they are."""

    party_id: UUID
    role: str
    alias: str
    timezone: str
    language: str


class SessionChanged(_Event):
    """A mediation session was booked (directly or by confirming a hold), rescheduled or
    cancelled. Times in UTC with the zone to show them in; parties by role and alias only."""

    booking_id: UUID
    mediation_id: UUID
    case_id: UUID
    organisation: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    mode: str
    sequence: int = Field(description="the iCalendar SEQUENCE: bumped on every change")
    parties: list[PartyRef]
    cancel_reason: str | None = Field(default=None, description=(
        "a reason code (never the mediator's free-text note); set when cancelled"))
    mediator: str | None = Field(default=None, description=(
        "the staff account (OIDC subject) of the mediator running the mediation, who is sent "
        "the change and the reminders"))


class PartyAttendance(_Event):
    """A party accepted or declined a booked session, or did not come to it."""

    booking_id: UUID
    mediation_id: UUID
    case_id: UUID
    organisation: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    sequence: int
    party: PartyRef
    response: Literal["accepted", "declined", "no-show"]
    mediator: str | None = Field(default=None, description=(
        "the staff account (OIDC subject) of the mediator running the mediation"))


class ReferralChanged(_Event):
    """A referral or transfer between organisations was made or moved on (created, accepted,
    rejected, completed, revoked). Ids and organisations only: never case content."""

    referral_id: UUID
    case_id: UUID = Field(description="the sending organisation's case")
    linked_case_id: UUID | None = Field(default=None, description=(
        "the receiving organisation's case, once accepted (for a transfer: the case itself)"))
    type: Literal["referral", "transfer"]
    from_organisation: str
    to_organisation: str
    from_status: str | None = Field(default=None, description="None when created")
    to_status: str


class DeliveryDead(_Event):
    """A notification that could not be delivered after every retry and the fallback
    provider, parked on the dead-letter stream (`suara.dlq.notification-delivery`) for an
    operator. Ids, channel and topic only: never the address, never the text."""

    notification_id: UUID
    channel: Literal["email", "sms", "webhook"]
    topic: str
    organisation: str | None = None
    recipient_kind: Literal["staff", "reporter", "webhook"]
    attempts: int


EVENT_TYPES: dict[str, type[_Event]] = {
    Evt.SUBMISSION_RECEIVED: SubmissionReceived,
    Evt.CASE_OPENED: CaseOpened,
    Evt.CASE_STATUS_CHANGED: CaseStatusChanged,
    Evt.REPORTER_MESSAGE: ReporterMessage,
    Evt.REPORTER_FOLLOW_UP: ReporterFollowUp,
    Evt.DEADLINE_BREACHED: DeadlineBreached,
    Evt.CLUSTER_DETECTED: ClusterDetected,
    Evt.CASE_SHREDDED: CaseShredded,
    Evt.SURVEY_ANSWERED: SurveyAnswered,
    Evt.SESSION_PROPOSED: SessionProposed,
    Evt.OBLIGATION_MISSED: ObligationMissed,
    Evt.SESSION_BOOKED: SessionChanged,
    Evt.SESSION_RESCHEDULED: SessionChanged,
    Evt.SESSION_CANCELLED: SessionChanged,
    Evt.PARTY_RESPONDED: PartyAttendance,
    Evt.PARTY_NO_SHOW: PartyAttendance,
    Evt.REFERRAL_CREATED: ReferralChanged,
    Evt.REFERRAL_ACCEPTED: ReferralChanged,
    Evt.REFERRAL_REJECTED: ReferralChanged,
    Evt.REFERRAL_COMPLETED: ReferralChanged,
    Evt.REFERRAL_REVOKED: ReferralChanged,
}
