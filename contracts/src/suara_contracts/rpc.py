"""Request and reply bodies of the request-reply subjects in `subjects.Rpc`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from suara_contracts.events import RiskLevel

Answer = str | list[str]


class _Msg(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Actor(_Msg):
    """Who asks, as the gateway verified from the token. Never a reporter."""

    subject: str
    roles: list[str]
    organisation: str | None = None
    client_id: str | None = None


# intake
FieldKind = Literal["text", "long-text", "single-choice", "multiple-choice", "yes-no"]


class Choice(_Msg):
    value: str
    label: str


class FormField(_Msg):
    """One question of the intake form."""

    name: str
    kind: FieldKind
    label: str
    help: str = ""
    required: bool = False
    identifying: bool = False
    choices: list[Choice] = []
    max_length: int | None = None


class FormQuery(_Msg):
    language: str = "en"


class FormDefinition(_Msg):
    """The current intake form, as a worker-facing page renders it."""

    version: str
    language: str
    organisations: list[Choice]
    fields: list[FormField]


class SubmitReport(_Msg):
    """An anonymous report as the worker filled it in."""

    organisation: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
    language: str = Field(default="en", min_length=2, max_length=16)
    answers: dict[str, Answer] = Field(max_length=100)


class AnswersChecked(_Msg):
    """A report would be accepted as it stands (a dry run stores nothing); otherwise the
    check answers 422 with every problem by field."""

    valid: Literal[True] = True


class SubmitReceipt(_Msg):
    """What the worker keeps: the public reference and the secret receipt (shown once)."""

    reference: str
    receipt: str
    status: str


Channel = Literal["web", "assisted", "partner"]


class OnBehalfReport(_Msg):
    """A report filed for a worker by CSO staff (assisted) or a partner's system (partner).
    The filer gets a one-time claim code, never the receipt: the worker turns the code into
    a receipt only they know."""

    actor: Actor
    channel: Literal["assisted", "partner"]
    language: str = Field(default="en", min_length=2, max_length=16)
    answers: dict[str, Answer] = Field(max_length=100)


class ClaimTicket(_Msg):
    """What the filer hands to the worker: the reference and a single-use claim code."""

    reference: str
    claim_code: str
    claim_by: date
    status: str


class ClaimReceipt(_Msg):
    """The worker redeems a claim code for their own receipt."""

    reference: str = Field(min_length=1, max_length=32)
    claim_code: str = Field(min_length=1, max_length=32)


class StatusQuery(_Msg):
    """A reporter's follow-up: reference and receipt, nothing else."""

    reference: str = Field(min_length=1, max_length=32)
    receipt: str = Field(min_length=1, max_length=64)


class ReportStatus(_Msg):
    """What the reporter may see about their report."""

    reference: str
    submission_id: UUID
    status: str
    received_on: date
    country: str | None = Field(default=None, description="where the reporter said they work")
    categories: list[str] = Field(default=[], description="what the reporter said happened")


RemedyKind = Literal["labour-conciliation", "tribunal", "small-claims", "court",
                     "embassy-consulate", "government-hotline", "cso-hotline", "legal-aid",
                     "police"]


class RemedyQuery(_Msg):
    """Which remedy routes a worker has: where they work, where they come from, what happened."""

    destination: str = Field(pattern=r"^[A-Z]{2}$")
    origin: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    issues: list[str] = Field(default=[], max_length=20)
    language: str = Field(default="en", min_length=2, max_length=16)


class RemedyRoute(_Msg):
    """One place a worker can take a grievance, with the official page it is based on."""

    id: str
    country: str
    kind: RemedyKind
    name: str
    available_in: list[str]
    issues: list[str]
    how: str
    contact: str
    cost: str
    source: str
    checked_on: date
    note: str | None = None


class RemedyRoutes(_Msg):
    """The remedy routes open to a worker, the most direct first."""

    destination: str
    origin: str | None
    routes: list[RemedyRoute]


# case-management
class CaseListQuery(_Msg):
    actor: Actor


class CaseQuery(_Msg):
    actor: Actor
    case_id: UUID


class AcknowledgeCase(_Msg):
    actor: Actor
    case_id: UUID
    message: str = Field(min_length=1, max_length=4000)


class SessionRef(_Msg):
    session_id: UUID
    starts_at: datetime
    ends_at: datetime
    timezone: str
    mode: str


class CaseSummary(_Msg):
    """A case as a handler sees it in a list; timestamps coarsened to the day."""

    case_id: UUID
    reference: str
    organisation: str
    status: str
    risk: RiskLevel
    risk_reasons: list[str]
    received_on: date
    acknowledge_by: date
    sessions: list[SessionRef] = []


class CaseDetail(CaseSummary):
    """A case with the report's answers, for the handler it belongs to."""

    language: str
    answers: dict[str, Answer]


class CaseList(_Msg):
    items: list[CaseSummary]


# mediation-scheduling
SessionMode = Literal["in-person", "video", "phone"]


class ProposeSession(_Msg):
    actor: Actor
    case_id: UUID
    starts_at: datetime
    ends_at: datetime
    timezone: str = Field(min_length=1, max_length=64)
    mode: SessionMode = "in-person"

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("must carry a UTC offset, e.g. 2026-12-06T10:00:00+08:00")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> ProposeSession:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class SessionView(SessionRef):
    case_id: UUID
    organisation: str
    status: str


# notification
class InboxQuery(_Msg):
    submission_id: UUID


class InboxMessage(_Msg):
    message_id: UUID
    body: str
    sent_on: date
    sender: str = "your case handler"


class Inbox(_Msg):
    messages: list[InboxMessage]


class HealthQuery(_Msg):
    """Readiness probe: no fields."""


class Health(_Msg):
    service: str
    database: Literal["ok"]
