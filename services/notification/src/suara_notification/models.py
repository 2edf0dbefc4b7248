"""Notification's tables: the reporter's inbox, every delivery attempt, the team's alerts."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import JSON, Column, LargeBinary, Text, false
from sqlmodel import Field

from suara_kit.datakeys import DataKeyRow
from suara_kit.db import UTCDateTime, service_base
from suara_kit.outbox import InboxRow, OutboxRow

Base = service_base()


class StoredMessage(Base, table=True):
    """A message in the reporter's receipt-protected inbox: a handler's, or the reporter's own
    reply or added information (so the inbox reads as a conversation); dated to the day. The
    text is sealed with the report's data key (read and write it through
    `suara_notification.content`)."""

    __tablename__ = "reporter_message"

    message_id: UUID = Field(primary_key=True)
    submission_id: UUID = Field(index=True)
    case_id: UUID | None = None
    sealed_body: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True),
                                      description="the text, sealed with the report's data key")
    legacy_body: str | None = Field(default=None, sa_column=Column("body", Text, nullable=True),
                                    description=("text stored before it was sealed; sealed (and "
                                                 "emptied) at start"))
    sent_on: date
    from_reporter: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    attachments: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    kind: str = Field(default="message", max_length=24,
                      sa_column_kwargs={"server_default": "message"})
    answered: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class Delivery(Base, table=True):
    """One attempt to deliver a message on one channel."""

    __tablename__ = "delivery"

    id: UUID = Field(primary_key=True)
    message_id: UUID = Field(foreign_key="reporter_message.message_id", index=True)
    channel: str = Field(max_length=16)
    status: str = Field(max_length=16)
    attempted_at: datetime = Field(sa_type=UTCDateTime)


class DataKeys(DataKeyRow, Base, table=True):
    """Each report's data key (owner: the submission), wrapped by the service's content key;
    deleted when case-management's retention shreds the case."""


class ShreddedReport(Base, table=True):
    """A report whose content retention deleted: its messages show as deleted, and a message
    arriving late for it is kept without its text."""

    __tablename__ = "shredded_report"

    submission_id: UUID = Field(primary_key=True)
    shredded_on: date


class TeamAlert(Base, table=True):
    """An alert to the case handlers of one organisation, from one case-management event (a
    missed deadline, a cluster of cases against one respondent), until a handler takes it on.
    Ids, dates and coding only: never what the reporter said. Dated to the day."""

    __tablename__ = "team_alert"

    alert_id: UUID = Field(primary_key=True)
    event_id: UUID = Field(unique=True, description="the event it came from: stored once")
    organisation: str = Field(max_length=64, index=True)
    kind: str = Field(max_length=24, description=(
        "deadline-acknowledge, deadline-feedback, deadline-update, cluster, session-declined "
        "or session-no-show"))
    case_ids: list = Field(sa_column=Column(JSON, nullable=False))
    due_on: date | None = None
    window_days: int | None = None
    respondent: str | None = Field(default=None, max_length=200)
    party: str | None = Field(default=None, max_length=100, description=(
        "a session alert's party by role and alias, never a name"))
    assigned_to: str | None = Field(default=None, max_length=200, description=(
        "who should act; None: the whole team"))
    raised_on: date
    acknowledged_by: str | None = Field(default=None, max_length=200)
    acknowledged_on: date | None = None


class Outbox(OutboxRow, Base, table=True):
    pass


class EventInbox(InboxRow, Base, table=True):
    """Handled event ids (table `inbox`); not the reporter's inbox."""
