"""Notification's tables: the reporter's inbox and every delivery attempt."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import Column, Text, false
from sqlmodel import Field

from suara_kit.db import UTCDateTime, service_base
from suara_kit.outbox import InboxRow, OutboxRow

Base = service_base()


class StoredMessage(Base, table=True):
    """A message in the reporter's receipt-protected inbox: a handler's, or the reporter's own
    reply or added information (so the inbox reads as a conversation); dated to the day."""

    __tablename__ = "reporter_message"

    message_id: UUID = Field(primary_key=True)
    submission_id: UUID = Field(index=True)
    case_id: UUID | None = None
    body: str = Field(sa_column=Column(Text, nullable=False))
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


class Outbox(OutboxRow, Base, table=True):
    pass


class EventInbox(InboxRow, Base, table=True):
    """Handled event ids (table `inbox`); not the reporter's inbox."""
