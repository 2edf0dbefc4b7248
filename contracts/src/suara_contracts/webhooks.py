"""Request and reply bodies of partner webhooks (the `suara.rpc.notification.v1.webhook-*`
subjects): a partner organisation's system subscribes HTTPS endpoints to event types, and
notification POSTs each event to them, signed the Standard Webhooks way (headers
`webhook-id`, `webhook-timestamp`, `webhook-signature`).

Payloads are thin: ids, statuses and dates only, never what a reporter said, never who they
are. A partner that needs more asks the API with its own token. `EVENT_TYPES` is the catalog
partners may subscribe to."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import Field, field_validator, model_validator

from suara_contracts.rpc import Actor, _Msg

EVENT_TYPES: dict[str, str] = {
    "case.opened": "a case was opened for a report to your organisation",
    "case.status_changed": "one of your cases moved from one status to another",
    "case.deadline_missed": "one of your cases missed a deadline (acknowledge, feedback, update)",
    "case.shredded": "one of your cases reached the end of its retention and was deleted",
    "referral.changed": "a referral to or from your organisation was made or moved on",
    "session.booked": "a mediation session of one of your cases was booked",
    "session.rescheduled": "a mediation session of one of your cases was moved",
    "session.cancelled": "a mediation session of one of your cases was cancelled",
    "agreement.obligation_missed": "an obligation of a mediated agreement was not kept in time",
}
"""Event type -> what it tells, in one line."""

EVENT_TYPE = r"^[a-z]+(\.[a-z_]+)+$"
DeliveryState = Literal["pending", "sending", "sent", "dead", "cancelled"]
AttemptStatus = Literal["sent", "failed", "refused", "gone"]


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("must carry a UTC offset, e.g. 2026-12-06T10:00:00Z")
    return value


def _event_types(value: list[str]) -> list[str]:
    for item in value:
        if not re.match(EVENT_TYPE, item):
            raise ValueError(f"{item[:60]!r} is not an event type such as 'case.opened'")
    return list(dict.fromkeys(value))


class WebhookBody(_Msg):
    """A webhook subscription: where to POST which event types."""

    url: str = Field(min_length=1, max_length=2000, description=(
        "an https URL on the public internet (no user name or password in it); private, "
        "loopback and link-local addresses are refused"),
        examples=["https://hooks.partner.example/suara"])
    description: str = Field(default="", max_length=300, examples=["case system, production"])
    event_types: list[str] = Field(min_length=1, max_length=len(EVENT_TYPES), description=(
        "the event types to send, from GET /api/v1/webhook-event-types"),
        examples=[["case.opened", "case.status_changed"]])

    @field_validator("event_types")
    @classmethod
    def _types(cls, value: list[str]) -> list[str]:
        return _event_types(value)


class CreateWebhook(WebhookBody):
    """A partner's system (or an administrator of the organisation) adds an endpoint."""

    actor: Actor


class WebhookChanges(_Msg):
    """What to change in a webhook; fields left out stay as they are."""

    url: str | None = Field(default=None, min_length=1, max_length=2000)
    description: str | None = Field(default=None, max_length=300)
    event_types: list[str] | None = Field(default=None, min_length=1,
                                          max_length=len(EVENT_TYPES))
    enabled: bool | None = Field(default=None, description=(
        "false pauses deliveries; true resumes them and clears why it was disabled"))

    @field_validator("event_types")
    @classmethod
    def _types(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _event_types(value)


class UpdateWebhook(WebhookChanges):
    actor: Actor
    webhook_id: UUID


class WebhooksQuery(_Msg):
    """The caller's organisation's webhooks."""

    actor: Actor


class WebhookQuery(_Msg):
    """One webhook of the caller's organisation (to read, delete, or give a new secret)."""

    actor: Actor
    webhook_id: UUID


class WebhookView(_Msg):
    """A webhook subscription as its organisation sees it (never its secret)."""

    webhook_id: UUID
    organisation: str
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None = Field(default=None, examples=[
        "the endpoint answered 410 Gone"])
    disabled_at: datetime | None = None
    failing_since: datetime | None = Field(default=None, description=(
        "the first failed delivery since the last success; after 5 days of failures the "
        "webhook is disabled"))
    created_by: str
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookView):
    """A new webhook with its signing secret: shown this once, keep it."""

    secret: str = Field(description=(
        "the Standard Webhooks signing secret (`whsec_` + base64); shown only now"),
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])


class WebhookList(_Msg):
    items: list[WebhookView]


class WebhookDeleted(_Msg):
    """The webhook and its secrets are gone; its messages not sent yet were cancelled."""

    webhook_id: UUID
    cancelled: int = Field(description="messages that were waiting and will not be sent")


class SecretRotated(_Msg):
    """A new signing secret, shown this once. Until `previous_valid_until` every message is
    signed with the previous secret too, so the receiver can switch without losing any."""

    webhook_id: UUID
    secret: str = Field(examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])
    previous_valid_until: datetime | None = Field(default=None, description=(
        "when the previous secret stops signing; null when there was none"))


class DeliveriesQuery(_Msg):
    """A webhook's messages, newest first, a page at a time."""

    actor: Actor
    webhook_id: UUID
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=512, description=(
        "the `next_cursor` of the previous page"))


class AttemptView(_Msg):
    """One try at delivering a message."""

    number: int
    status: AttemptStatus
    detail: str = Field(examples=["HTTP 503"])
    http_status: int | None = None
    attempted_at: datetime
    duration_ms: int


class DeliveryView(_Msg):
    """One message to the webhook, with every try at it."""

    message_id: UUID = Field(description="the `webhook-id` header: the same on every retry")
    event_type: str = Field(examples=["case.opened"])
    state: DeliveryState
    body: str = Field(description="the JSON payload exactly as it was signed")
    attempts: list[AttemptView]
    created_at: datetime
    next_attempt_at: datetime | None = None
    sent_at: datetime | None = None


class DeliveryList(_Msg):
    items: list[DeliveryView]
    next_cursor: str | None = Field(default=None, description=(
        "pass it as `cursor` for the next page; null on the last page"))


class ReplayBody(_Msg):
    """Send again one message (`message_id`), or every message created since a time (at most
    1000, oldest first)."""

    message_id: UUID | None = None
    since: datetime | None = Field(default=None, examples=["2026-11-20T00:00:00Z"])

    @field_validator("since")
    @classmethod
    def _since(cls, value: datetime | None) -> datetime | None:
        return _aware(value)

    @model_validator(mode="after")
    def _one(self) -> ReplayBody:
        if (self.message_id is None) == (self.since is None):
            raise ValueError("give either message_id or since")
        return self


class ReplayWebhook(ReplayBody):
    actor: Actor
    webhook_id: UUID


class Replayed(_Msg):
    """How many messages were queued to be sent again (with their original `webhook-id`)."""

    replayed: int
