"""What every outbound channel (email, SMS, partner webhooks) is to the delivery engine: a
`Provider` takes one rendered `Outgoing` message and says what came of it in an `Outcome`.

The engine (`suara_notification.delivery`) decides when to try, records every attempt, retries
with backoff, falls back to a second provider and dead-letters; a provider only tries once and
never raises for a failure it can describe. Nothing here logs a message's text or address.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal, Protocol
from uuid import UUID

Channel = Literal["email", "sms", "webhook"]
Status = Literal["sent", "failed", "refused", "gone"]


@dataclass(frozen=True)
class Attachment:
    """A file sent with an email, e.g. a mediation session's iCalendar invitation."""

    filename: str
    content_type: str  # e.g. "text/calendar; method=REQUEST"
    data: bytes


@dataclass(frozen=True)
class Outgoing:
    """One rendered message to one address. `message_id` is the notification's id: stable
    across retries and replays (an email's Message-ID, a webhook's `webhook-id`), so a
    receiver can drop a duplicate."""

    message_id: UUID
    channel: Channel
    address: str  # an email address, an E.164 phone number, or a webhook URL
    body: str  # plain text; for a webhook, the JSON payload exactly as signed
    subject: str = ""
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()
    secrets: tuple[str, ...] = field(default=(), repr=False)  # webhook signing secrets
    sender: str | None = None  # an email's From instead of the provider's (reporter nudges)


@dataclass(frozen=True)
class Outcome:
    """What one try came to.

    - `sent`: delivered (accepted by the SMTP server, the SMS provider or the endpoint);
    - `failed`: may work later (timeout, 5xx, 429, connection refused): retry;
    - `refused`: will not work with this provider (bad address, 4xx other than 408/409/425/
      429): try the fallback provider, if any, else dead-letter;
    - `gone`: the webhook endpoint answered 410: disable it, do not retry.
    `detail` is short and never holds the message or the address."""

    status: Status
    detail: str = ""
    http_status: int | None = None
    retry_after: float | None = None  # seconds, when the receiver said (Retry-After)

    @property
    def ok(self) -> bool:
        return self.status == "sent"


class Provider(Protocol):
    """One way of sending on one channel (an SMTP server, an SMS provider, the webhook
    sender)."""

    name: str

    async def send(self, message: Outgoing) -> Outcome:
        """Try once; describe failures in the outcome rather than raising."""
        ...


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (RFC 9110: whole seconds, or an HTTP date);
    None if absent or unreadable. Shared by every HTTP provider."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # not "²", which float() refuses
        seconds = float(value)
        return seconds if math.isfinite(seconds) else None  # 400 nines are infinite
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
