"""Mediation-scheduling's tables: the cases it knows of and the sessions proposed for them."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from sqlmodel import Field

from suara_kit.db import UTCDateTime, service_base
from suara_kit.outbox import InboxRow, OutboxRow

Base = service_base()


class KnownCase(Base, table=True):
    """A case case-management opened; sessions can only be proposed for these."""

    __tablename__ = "known_case"

    case_id: UUID = Field(primary_key=True)
    organisation: str = Field(max_length=64, index=True)
    opened_on: date


class MediationSession(Base, table=True):
    """A mediation session for a case; times are stored in UTC, shown in `timezone`."""

    __tablename__ = "mediation_session"

    id: UUID = Field(primary_key=True)
    case_id: UUID = Field(index=True)
    organisation: str = Field(max_length=64)
    proposed_by: str = Field(max_length=255)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    timezone: str = Field(max_length=64)
    mode: str = Field(max_length=16)
    status: str = Field(default="proposed", max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime)


class Outbox(OutboxRow, Base, table=True):
    pass


class Inbox(InboxRow, Base, table=True):
    pass
