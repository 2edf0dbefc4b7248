"""Mediation-scheduling's tables: the cases it knows of, the sessions proposed for them, the
bookable resources, mediations with their parties, and holds and bookings of resources."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, Index, Text
from sqlmodel import Field

from suara_kit.audit import AuditRow
from suara_kit.datakeys import DataKeyRow
from suara_kit.db import UTCDateTime, service_base
from suara_kit.outbox import InboxRow, OutboxRow
from suara_kit.replay import ReplayRow

Base = service_base()


class KnownCase(Base, table=True):
    """A case case-management opened; sessions can only be proposed for these."""

    __tablename__ = "known_case"

    case_id: UUID = Field(primary_key=True)
    organisation: str = Field(max_length=64, index=True)
    opened_on: date
    shredded_on: date | None = None


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


class Resource(Base, table=True):
    """A bookable mediator, interpreter, room or video link of one organisation. Weekly hours
    and date overrides are local times in `timezone`, kept as validated JSON documents."""

    __tablename__ = "resource"

    id: UUID = Field(primary_key=True)
    organisation: str = Field(max_length=64, index=True)
    kind: str = Field(max_length=16)
    name: str = Field(max_length=120)
    languages: list[str] = Field(default_factory=list, sa_type=JSON)
    timezone: str = Field(max_length=64)
    weekly_hours: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    date_overrides: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    minimum_notice_minutes: int = 0
    booking_horizon_days: int = 90
    active: bool = True
    account: str | None = Field(default=None, max_length=255)
    updated_by: str = Field(max_length=255)
    updated_at: datetime = Field(sa_type=UTCDateTime)

    # one resource per staff account in an organisation (NULLs, unlinked resources, repeat)
    __table_args__ = (Index("ix_resource_organisation_account", "organisation", "account",
                            unique=True),)


class Mediation(Base, table=True):
    """A mediation for a case: its mode, the languages it needs, its parties and bookings."""

    __tablename__ = "mediation"

    id: UUID = Field(primary_key=True)
    case_id: UUID = Field(index=True)
    organisation: str = Field(max_length=64)
    mode: str = Field(max_length=16)
    languages: list[str] = Field(default_factory=list, sa_type=JSON)
    created_by: str = Field(max_length=255)
    created_on: date


class MediationParty(Base, table=True):
    """A party by role and alias, with its constraints. Deliberately no name, phone or address:
    a worker or representative is known to mediation by alias only."""

    __tablename__ = "mediation_party"

    id: UUID = Field(primary_key=True)
    mediation_id: UUID = Field(foreign_key="mediation.id", index=True)
    position: int
    role: str = Field(max_length=16)
    alias: str = Field(max_length=64)
    timezone: str = Field(max_length=64)
    quiet_start: time | None = None
    quiet_end: time | None = None
    rest_days: list[int] = Field(default_factory=list, sa_type=JSON)
    language: str = Field(max_length=16)


class Booking(Base, table=True):
    """A hold (until `expires_at`) or a booking of a slot for a mediation; times in UTC."""

    __tablename__ = "booking"

    id: UUID = Field(primary_key=True)
    mediation_id: UUID = Field(foreign_key="mediation.id", index=True)
    organisation: str = Field(max_length=64)
    status: str = Field(max_length=16)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    timezone: str = Field(max_length=64)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sequence: int = 0
    cancel_reason: str | None = Field(default=None, max_length=32)
    cancel_note: str | None = Field(default=None, max_length=500)
    created_by: str = Field(max_length=255)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class BookingResource(Base, table=True):
    """A resource a hold or booking takes; the slot's times are copied here for the overlap
    check, which runs per resource."""

    __tablename__ = "booking_resource"

    booking_id: UUID = Field(foreign_key="booking.id", primary_key=True)
    resource_id: UUID = Field(foreign_key="resource.id", primary_key=True, index=True)
    starts_at: datetime = Field(sa_type=UTCDateTime, index=True)
    ends_at: datetime = Field(sa_type=UTCDateTime)


class BookingAttendance(Base, table=True):
    """A party's answer to one booking (valid for `sequence` only) and whether they came."""

    __tablename__ = "booking_attendance"

    booking_id: UUID = Field(foreign_key="booking.id", primary_key=True)
    party_id: UUID = Field(foreign_key="mediation_party.id", primary_key=True)
    response: str = Field(default="pending", max_length=16)
    sequence: int = 0
    no_show: bool = False
    recorded_by: str = Field(max_length=255)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class IdempotencyKey(Base, table=True):
    """An `Idempotency-Key` used in an organisation: the request's fingerprint and the answer
    it got, replayed for a retry of the same request."""

    __tablename__ = "idempotency_key"

    organisation: str = Field(max_length=64, primary_key=True)
    key: str = Field(max_length=255, primary_key=True)
    fingerprint: str = Field(max_length=64)
    response: str = Field(sa_type=Text)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)


class DataKeys(DataKeyRow, Base, table=True):
    """One data key per case, sealing its session notes (`content.py`)."""


class AuditEntry(AuditRow, Base, table=True):
    """Append-only, hash-chained record of who read or wrote which case's mediation content
    (notes, agreements, invitations)."""


class Outbox(OutboxRow, Base, table=True):
    pass


class Replay(ReplayRow, Base, table=True):
    pass


class Inbox(InboxRow, Base, table=True):
    pass


# agreement, note and ballot tables, for Alembic
from suara_mediation import agreement_models, note_models  # noqa: E402, F401
