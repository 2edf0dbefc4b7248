"""Notification's tables: the reporter's inbox, every delivery attempt, the team's alerts."""

from __future__ import annotations

from datetime import date, datetime, time
from uuid import UUID

from sqlalchemy import JSON, Column, LargeBinary, Text, UniqueConstraint, false
from sqlmodel import Field

from suara_kit.datakeys import DataKeyRow
from suara_kit.db import UTCDateTime, service_base
from suara_kit.outbox import InboxRow, OutboxRow
from suara_kit.replay import ReplayRow

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


class Replay(ReplayRow, Base, table=True):
    pass


class EventInbox(InboxRow, Base, table=True):
    """Handled event ids (table `inbox`); not the reporter's inbox."""


# --- outbound delivery (email, SMS, partner webhooks) ------------------------------------


class StaffRecipient(Base, table=True):
    """A staff member who gets notifications: their address, language, time zone and
    preferences, as they set them through the gateway (`/api/v1/me/notifications`)."""

    __tablename__ = "staff_recipient"

    subject: str = Field(primary_key=True, max_length=255, description="the OIDC `sub`")
    organisation: str = Field(max_length=64, index=True)
    roles: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32, description="E.164, for urgent SMS")
    language: str = Field(default="en", max_length=16)
    timezone: str = Field(default="UTC", max_length=64)
    quiet_from: time | None = Field(default=None, description="local start of quiet hours")
    quiet_until: time | None = Field(default=None, description="local end of quiet hours")
    digest: bool = Field(default=False, sa_column_kwargs={"server_default": false()},
                         description="non-urgent email comes once a day, in one message")
    digest_hour: int = Field(default=8, sa_column_kwargs={"server_default": "8"})
    muted: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False),
                        description="topics this person does not want by email or SMS")
    sms_urgent: bool = Field(default=False, sa_column_kwargs={"server_default": false()},
                             description="urgent topics also by SMS to `phone`")
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ReporterContact(Base, table=True):
    """Where a reporter chose to get a content-free nudge ("you have an update") when their
    inbox has something new. The address is sealed with the report's data key, so retention's
    shredding deletes it with the rest; only this service ever reads it, to send."""

    __tablename__ = "reporter_contact"

    submission_id: UUID = Field(primary_key=True)
    channel: str = Field(max_length=8, description="sms or email")
    sealed_address: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    language: str = Field(default="en", max_length=16)
    timezone: str = Field(default="UTC", max_length=64)
    # no model defaults here: SQLAlchemy would put a default in place of an explicit None
    # ("no quiet hours"); the request's defaults are the contract's (21:00-07:00)
    quiet_from: time | None = None
    quiet_until: time | None = None
    updated_at: datetime = Field(sa_type=UTCDateTime)


class CaseIndex(Base, table=True):
    """What notification knows of a case to route to the right people: its ids, organisation
    and public reference (from CaseOpened); never content."""

    __tablename__ = "case_index"

    case_id: UUID = Field(primary_key=True)
    submission_id: UUID = Field(index=True)
    organisation: str = Field(max_length=64)
    reference: str = Field(max_length=40)


class Notification(Base, table=True):
    """One message to one recipient on one channel, from one event (or one reminder): stored
    once, whatever the event's redeliveries, and worked until sent, dead or cancelled. Holds
    the template and its parameters (ids, dates, references: never what a reporter said);
    the text is rendered when it is sent, in the recipient's language and time zone."""

    __tablename__ = "notification"
    __table_args__ = (UniqueConstraint("event_key", "recipient", "channel",
                                       name="uq_notification_event_recipient_channel"),)

    id: UUID = Field(primary_key=True)
    event_key: str = Field(max_length=120, description=(
        "the event id, or `reminder:<booking>:<sequence>:<24h|1h>`, or `digest:<sub>:<day>`"))
    recipient: str = Field(max_length=300, description=(
        "`staff:<sub>`, `reporter:<submission>` or `webhook:<endpoint>`"))
    channel: str = Field(max_length=16, description="email, sms or webhook")
    organisation: str | None = Field(default=None, max_length=64, index=True)
    topic: str = Field(max_length=40)
    urgent: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    params: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    language: str = Field(default="en", max_length=16)
    timezone: str = Field(default="UTC", max_length=64)
    group: str | None = Field(default=None, max_length=120, index=True, description=(
        "what the message is about, e.g. `booking:<id>`: reminders of a moved session are "
        "cancelled by it"))
    state: str = Field(max_length=12, index=True, description=(
        "pending, digest (waits for the daily digest), sending, sent, dead, cancelled"))
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    provider: int = Field(default=0, sa_column_kwargs={"server_default": "0"}, description=(
        "which of the channel's providers is in use: 0 the primary, 1 the fallback"))
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    first_failed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Attempt(Base, table=True):
    """One try at sending a notification: which provider, what came of it (a status and a
    short reason, never the message)."""

    __tablename__ = "notification_attempt"

    id: UUID = Field(primary_key=True)
    notification_id: UUID = Field(foreign_key="notification.id", index=True)
    number: int
    provider: str = Field(max_length=40)
    status: str = Field(max_length=16, description=(
        "sent, failed, refused (permanent), gone (410: endpoint disabled)"))
    detail: str = Field(default="", max_length=300)
    http_status: int | None = None
    attempted_at: datetime = Field(sa_type=UTCDateTime)
    duration_ms: int = 0


class WebhookEndpoint(Base, table=True):
    """A partner's webhook subscription: where to POST which event types of its organisation."""

    __tablename__ = "webhook_endpoint"

    id: UUID = Field(primary_key=True)
    organisation: str = Field(max_length=64, index=True)
    created_by: str = Field(max_length=255, description="the client or user that made it")
    url: str = Field(max_length=2000)
    description: str = Field(default="", max_length=300)
    event_types: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    enabled: bool = Field(default=True)
    disabled_reason: str | None = Field(default=None, max_length=200)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failing_since: datetime | None = Field(default=None, sa_type=UTCDateTime, description=(
        "the first failure since the last success; five days of it disables the endpoint"))
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class WebhookSecret(Base, table=True):
    """A signing secret of an endpoint, sealed with the service's content key. After a
    rotation the old secret signs alongside the new one until `expires_at`."""

    __tablename__ = "webhook_secret"

    id: UUID = Field(primary_key=True)
    endpoint_id: UUID = Field(foreign_key="webhook_endpoint.id", index=True)
    sealed_secret: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
