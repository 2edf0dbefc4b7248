"""Intake's tables: submissions (with the receipt's salted hash, never the receipt)."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import JSON, Column, LargeBinary, false
from sqlmodel import Field

from suara_kit.datakeys import DataKeyRow
from suara_kit.db import UTCDateTime, service_base
from suara_kit.outbox import InboxRow, OutboxRow
from suara_kit.replay import ReplayRow

Base = service_base()


class Submission(Base, table=True):
    """One anonymous report. No address, device, agent or exact time is kept."""

    __tablename__ = "submission"

    id: UUID = Field(primary_key=True)
    reference: str = Field(unique=True, max_length=16)
    organisation: str = Field(max_length=64, index=True)
    form_version: str = Field(max_length=40)
    language: str = Field(max_length=16)
    sealed_answers: bytes | None = Field(default=None, sa_column=Column(
        LargeBinary, nullable=True), description=(
        "the answers, sealed with the submission's data key (read and write them through "
        "`suara_intake.content`)"))
    legacy_answers: dict | None = Field(default=None, sa_column=Column(
        "answers", JSON(none_as_null=True), nullable=True), description=(
        "answers stored before they were sealed; sealed (and emptied) at start"))
    risk: str = Field(max_length=10)
    risk_reasons: list = Field(sa_column=Column(JSON, nullable=False))
    received_on: date
    status: str = Field(default="received", max_length=32)
    status_changed_on: date
    case_id: UUID | None = None
    channel: str = Field(default="web", max_length=16)
    filed_by: str | None = Field(default=None, max_length=200, description=(
        "the staff account or partner client that filed an assisted or partner report (never "
        "set for a worker's own report)"))
    receipt_salt: bytes = Field(max_length=16)
    receipt_hash: bytes | None = Field(default=None, max_length=32)
    claim_hash: bytes | None = Field(default=None, max_length=32)
    claim_by: date | None = None
    failed_attempts: int = 0
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    surveyed: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    shredded_on: date | None = Field(default=None, description=(
        "when retention deleted the data key: the answers and files can no longer be read"))


class Attachment(Base, table=True):
    """A file a worker attached: cleaned of metadata by the gateway, sealed (AES-GCM) here with
    the submission's data key, the attachment id in the associated data so a blob cannot be
    moved to another row. Rows from before data keys (`keyed` false) are sealed with the
    service-wide attachment key."""

    __tablename__ = "attachment"

    id: UUID = Field(primary_key=True)
    submission_id: UUID = Field(index=True)
    question: str = Field(max_length=40)
    media_type: str = Field(max_length=40)
    size: int
    sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    added_on: date
    keyed: bool = Field(default=False, sa_column_kwargs={"server_default": false()},
                        description="sealed with the submission's data key")


class RemedyEditRow(Base, table=True):
    """The worker committee's latest word on one remedy route: a corrected or new route, or
    (route null) a withdrawn one. It takes precedence over the repository's data files."""

    __tablename__ = "remedy_edit"

    route_id: str = Field(primary_key=True, max_length=80)
    route: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    edited_by: str = Field(max_length=200)
    edited_on: date
    reason: str = Field(max_length=500)


class FormVersionRow(Base, table=True):
    """One version of the intake form. Approved versions never change: reports keep the
    number of the version they were filed on, so they stay readable after later versions."""

    __tablename__ = "form_version"

    number: int = Field(primary_key=True)
    status: str = Field(max_length=16, index=True)
    spec: dict = Field(sa_column=Column(JSON, nullable=False))
    note: str = Field(default="", max_length=2000)
    based_on: int | None = None
    drafted_by: str = Field(max_length=200)
    drafted_on: date
    consultation_ref: str | None = Field(default=None, max_length=200)
    approved_by: str | None = Field(default=None, max_length=200)
    approved_on: date | None = None


class DataKeys(DataKeyRow, Base, table=True):
    """Each submission's data key, wrapped by the service's content key; deleted (shredded)
    when case-management's retention ends the case."""


class Outbox(OutboxRow, Base, table=True):
    pass


class Replay(ReplayRow, Base, table=True):
    pass


class Inbox(InboxRow, Base, table=True):
    pass
