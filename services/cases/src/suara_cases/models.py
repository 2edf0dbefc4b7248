"""Case-management's tables."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import JSON, Column, LargeBinary, Text, false
from sqlmodel import Field

from suara_kit.audit import AuditRow
from suara_kit.datakeys import DataKeyRow
from suara_kit.db import UTCDateTime, service_base
from suara_kit.outbox import InboxRow, OutboxRow
from suara_kit.replay import ReplayRow

Base = service_base()


class Case(Base, table=True):
    """A grievance as a CSO handles it; exactly one per submission."""

    __tablename__ = "case"

    id: UUID = Field(primary_key=True)
    submission_id: UUID = Field(unique=True)
    reference: str = Field(max_length=16, index=True)
    organisation: str = Field(max_length=64, index=True)
    status: str = Field(max_length=32)
    risk: str = Field(max_length=10)
    risk_reasons: list = Field(sa_column=Column(JSON, nullable=False))
    language: str = Field(max_length=16)
    content: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True),
                                  description="the answers, sealed with the case's data key")
    sealed_identity: bytes | None = Field(default=None, sa_column=Column(
        LargeBinary, nullable=True), description=(
        "the answers the form marks identifying, sealed apart from the others"))
    legacy_answers: dict | None = Field(default=None, sa_column=Column(
        "answers", JSON(none_as_null=True), nullable=True), description=(
        "answers stored before content was sealed; sealed (and emptied) at start"))
    reported: dict = Field(default_factory=dict, sa_column=Column(
        JSON, nullable=False, server_default="{}"), description=(
        "what the reporter chose as issue, origin and destination country: the statistics' "
        "fallback while the case is not coded, and kept after shredding"))
    shredded_on: date | None = Field(default=None, description=(
        "when retention deleted the data key: the content can no longer be read"))
    identifying: list = Field(default_factory=list, sa_column=Column(
        JSON, nullable=False, server_default="[]"))
    received_on: date
    acknowledge_by: date
    acknowledged_on: date | None = None
    # work on the case
    assigned_to: str | None = Field(default=None, max_length=200, index=True)
    last_update_on: date | None = None
    decided_by: str | None = Field(default=None, max_length=200)
    appeal_against: str | None = Field(default=None, max_length=200, description=(
        "who made the decision under appeal: they may not decide the appeal"))
    closed_on: date | None = None
    # coding, required before closing
    coded_issues: list = Field(default_factory=list, sa_column=Column(
        JSON, nullable=False, server_default="[]"))
    corridor_origin: str | None = Field(default=None, max_length=8)
    corridor_destination: str | None = Field(default=None, max_length=8)
    respondent: str | None = Field(default=None, max_length=200)
    respondent_key: str | None = Field(default=None, max_length=200, index=True)
    respondent_kind: str | None = Field(default=None, max_length=16)


class CaseSession(Base, table=True):
    """A mediation session proposed or booked for a case, as learnt from
    mediation-scheduling (a booking keeps its booking id; see `session_notices`)."""

    __tablename__ = "case_session"

    id: UUID = Field(primary_key=True)
    case_id: UUID = Field(foreign_key="case.id", index=True)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    timezone: str = Field(max_length=64)
    mode: str = Field(max_length=16)
    sequence: int | None = Field(default=None, description=(
        "a booking's iCalendar SEQUENCE as last applied: an older change arriving late is "
        "ignored"))
    cancelled: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class CaseMessage(Base, table=True):
    """A message on a case: a handler's to the reporter (kind to-reporter), or the reporter's
    own reply or added information, through their receipt."""

    __tablename__ = "case_message"

    id: UUID = Field(primary_key=True)
    case_id: UUID = Field(foreign_key="case.id", index=True)
    author: str = Field(max_length=64)
    sealed_body: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    legacy_body: str | None = Field(default=None, sa_column=Column("body", Text, nullable=True))
    sent_on: date
    kind: str = Field(default="to-reporter", max_length=16,
                      sa_column_kwargs={"server_default": "to-reporter"})
    attachment_ids: list = Field(default_factory=list, sa_column=Column(
        JSON, nullable=False, server_default="[]"))


class CheckIn(Base, table=True):
    """A question to the reporter after closure (1, 3 and 6 months): has anyone punished you
    for complaining? A yes reopens the case."""

    __tablename__ = "check_in"

    case_id: UUID = Field(primary_key=True, foreign_key="case.id")
    due_on: date = Field(primary_key=True)
    message_id: UUID | None = Field(default=None, index=True)
    sent_on: date | None = None
    answered_on: date | None = None
    answer: str | None = Field(default=None, max_length=8)


class SurveyTally(Base, table=True):
    """Satisfaction answers, counted per organisation, quarter, question and score; nothing
    here points to a case, a reporter or a day."""

    __tablename__ = "survey_tally"

    organisation: str = Field(primary_key=True, max_length=64)
    quarter: str = Field(primary_key=True, max_length=8)
    question: str = Field(primary_key=True, max_length=24)
    score: int = Field(primary_key=True)
    count: int = 0


class ConflictOfInterest(Base, table=True):
    """A handler declared they cannot handle cases against this respondent (a relative, a
    former employer, a business partner...)."""

    __tablename__ = "conflict_of_interest"

    id: UUID = Field(primary_key=True)
    handler: str = Field(max_length=200, index=True)
    organisation: str = Field(max_length=64)
    respondent_key: str = Field(max_length=200)
    respondent: str = Field(max_length=200)
    declared_on: date


class IdentityRequest(Base, table=True):
    """A handler's request to open a case's sealed identity: it names how the reporter
    consented, and needs another person's approval before the identity can be read."""

    __tablename__ = "identity_request"

    id: UUID = Field(primary_key=True)
    case_id: UUID = Field(foreign_key="case.id", index=True)
    organisation: str = Field(max_length=64, index=True)
    requested_by: str = Field(max_length=200)
    requested_on: date
    reason: str = Field(sa_column=Column(Text, nullable=False))
    consent_source: str = Field(max_length=16, description="reporter, or staff-recorded")
    consent_message_id: UUID | None = Field(default=None, description=(
        "the reporter's own message on the case that gives consent"))
    consent_obtained: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(max_length=16, index=True)
    decided_by: str | None = Field(default=None, max_length=200)
    decided_on: date | None = None
    decision_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    open_until: date | None = None


class DeadlineAlert(Base, table=True):
    """One breached deadline of one case, alerted once."""

    __tablename__ = "deadline_alert"

    case_id: UUID = Field(primary_key=True, foreign_key="case.id")
    kind: str = Field(primary_key=True, max_length=24)
    due_on: date = Field(primary_key=True)
    alerted_on: date


class ClusterAlert(Base, table=True):
    """Three or more cases against one respondent in one organisation within the window."""

    __tablename__ = "cluster_alert"

    organisation: str = Field(primary_key=True, max_length=64)
    respondent_key: str = Field(primary_key=True, max_length=200)
    window_start: date = Field(primary_key=True)
    case_count: int
    alerted_on: date


class AuditEntry(AuditRow, Base, table=True):
    """Append-only, hash-chained record of who read or changed which case."""


class DataKeys(DataKeyRow, Base, table=True):
    """Each case's data key, wrapped by the service's content key; retention deletes it."""


class Outbox(OutboxRow, Base, table=True):
    pass


class Replay(ReplayRow, Base, table=True):
    pass


class Inbox(InboxRow, Base, table=True):
    pass


from suara_cases import liaison_models, referral_models  # noqa: E402, F401  (their tables, for Alembic)
