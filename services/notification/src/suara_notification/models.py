"""Notification's tables: the reporter's inbox and every delivery attempt."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import Column, Text
from sqlmodel import Field

from suara_kit.db import UTCDateTime, service_base
from suara_kit.outbox import InboxRow, OutboxRow

Base = service_base()


class StoredMessage(Base, table=True):
    """A handler's message in the reporter's receipt-protected inbox; dated to the day only."""

    __tablename__ = "reporter_message"

    message_id: UUID = Field(primary_key=True)
    submission_id: UUID = Field(index=True)
    case_id: UUID
    body: str = Field(sa_column=Column(Text, nullable=False))
    sent_on: date


class Delivery(Base, table=True):
    """One attempt to deliver a message on one channel."""

    __tablename__ = "delivery"

    id: UUID = Field(primary_key=True)
    message_id: UUID = Field(foreign_key="reporter_message.message_id", index=True)
    channel: str = Field(max_length=16)
    status: str = Field(max_length=16)
    attempted_at: datetime = Field(sa_type=UTCDateTime)


class Outbox(OutboxRow, Base, table=True):
    pass


class EventInbox(InboxRow, Base, table=True):
    """Handled event ids (table `inbox`); not the reporter's inbox."""
