"""Partner webhooks: an organisation's subscriptions (endpoints, event types, signing secrets)
and what the delivery engine needs of them.

Only a partner system (role cso-partner) or an administrator of the organisation manages its
webhooks; another organisation's webhook is not found (its existence does not leak). A signing
secret is shown once, when made; it is stored sealed with the service's content key, bound to
its endpoint. Messages are one `Notification` each (recipient `webhook:<endpoint id>`), so the
engine sends, retries and records them like every other channel.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import delete as sql_delete
from sqlalchemy import func
from sqlalchemy import update as sql_update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_contracts.rpc import Actor
from suara_contracts.webhooks import (
    AttemptView,
    CreateWebhook,
    DeliveriesQuery,
    DeliveryList,
    DeliveryView,
    Replayed,
    ReplayWebhook,
    SecretRotated,
    UpdateWebhook,
    WebhookCreated,
    WebhookDeleted,
    WebhookList,
    WebhookQuery,
    WebhooksQuery,
    WebhookView,
)
from suara_kit import paging
from suara_kit.clock import utcnow
from suara_kit.db import memoised
from suara_kit.errors import Conflict, Forbidden, NotFound, ValidationFailed
from suara_kit.ids import uuid7
from suara_kit.sealing import Sealer
from suara_kit.settings import ServiceSettings
from suara_notification import netguard, signing
from suara_notification.channels import Outcome
from suara_notification.models import Attempt, Notification, WebhookEndpoint, WebhookSecret
from suara_notification.partner_events import EVENT_TYPES

MANAGERS = frozenset({"cso-partner", "admin"})
CHANNEL = "webhook"
MAX_ENDPOINTS = 20
REPLAY_LIMIT = 1000
ROTATION_OVERLAP = timedelta(hours=24)
FAILING_LIMIT = timedelta(days=5)
GONE = "the endpoint answered 410 Gone"
SECRET_INFO = b"suara-webhook-secrets-v1"
NO_SUCH = "No such webhook in your organisation."


def secret_sealer(settings: ServiceSettings) -> Sealer:
    """The sealer of signing secrets: the service's content key, with an info of its own."""
    return Sealer(settings.content_key.get_secret_value(),
                  [k.get_secret_value() for k in settings.content_previous_keys],
                  info=SECRET_INFO)


def recipient(endpoint_id: UUID) -> str:
    """The `Notification.recipient` of an endpoint's messages."""
    return f"webhook:{endpoint_id}"


def require_manager(actor: Actor) -> str:
    """The caller's organisation; 403 unless a partner system or administrator of one."""
    if not MANAGERS & set(actor.roles):
        raise Forbidden("Webhooks are managed by an organisation's partner system (role "
                        "cso-partner) or administrator (role admin).")
    if not actor.organisation:
        raise Forbidden("Webhooks belong to an organisation: they need the role cso-partner or "
                        "admin of one, and your account belongs to no organisation.")
    return actor.organisation


async def _endpoint(session: AsyncSession, actor: Actor, webhook_id: UUID) -> WebhookEndpoint:
    organisation = require_manager(actor)
    row = await session.get(WebhookEndpoint, webhook_id)
    if row is None or row.organisation != organisation:
        raise NotFound(NO_SUCH)
    return row


def view(row: WebhookEndpoint) -> WebhookView:
    """An endpoint as its organisation sees it: never its secret."""
    return WebhookView(webhook_id=row.id, organisation=row.organisation, url=row.url,
                       description=row.description, event_types=list(row.event_types),
                       enabled=row.enabled, disabled_reason=row.disabled_reason,
                       disabled_at=row.disabled_at, failing_since=row.failing_since,
                       created_by=row.created_by, created_at=row.created_at,
                       updated_at=row.updated_at)


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", errors=[{"field": field, "message": message}])


def check_event_types(event_types: list[str]) -> list[str]:
    """The event types, if every one is in the catalog; 422 naming the unknown ones."""
    unknown = [t for t in event_types if t not in EVENT_TYPES]
    if unknown:
        raise _invalid("event_types", f"unknown event type {', '.join(unknown)}; known: "
                                      f"{', '.join(EVENT_TYPES)}")
    return list(dict.fromkeys(event_types))


async def check_url(url: str, allow_networks: list[str]) -> str:
    """The URL, if it leads to the public internet (or an allowed network) now; 422 saying
    why not."""
    try:
        await netguard.resolve(url, allow_networks)
    except netguard.Refused as refused:
        raise _invalid("url", str(refused)) from None
    except netguard.Unresolved as unresolved:
        raise _invalid("url", f"{unresolved} Check the name.") from None
    return url


async def _add_secret(session: AsyncSession, endpoint_id: UUID, sealer: Sealer,
                      now: datetime) -> str:
    secret = signing.new_secret()
    session.add(WebhookSecret(id=uuid7(), endpoint_id=endpoint_id, created_at=now,
                              sealed_secret=sealer.seal(secret.encode(), endpoint_id.bytes)))
    return secret


# --- the partner's operations ------------------------------------------------------------


async def create(session: AsyncSession, command: CreateWebhook, *, sealer: Sealer,
                 allow_networks: list[str]) -> WebhookCreated:
    """Add an endpoint to the caller's organisation, with its first secret (shown once)."""
    organisation = require_manager(command.actor)
    event_types = check_event_types(command.event_types)
    url = await check_url(command.url, allow_networks)
    count = (await session.exec(select(func.count()).select_from(WebhookEndpoint).where(
        WebhookEndpoint.organisation == organisation))).one()
    if count >= MAX_ENDPOINTS:
        raise Conflict(f"Your organisation has {MAX_ENDPOINTS} webhooks already, the most it "
                       "may have; delete one first.")
    now = utcnow()
    row = WebhookEndpoint(id=uuid7(), organisation=organisation, url=url,
                          created_by=command.actor.client_id or command.actor.subject,
                          description=command.description, event_types=event_types,
                          created_at=now, updated_at=now)
    session.add(row)
    await session.flush()
    secret = await _add_secret(session, row.id, sealer, now)
    await session.flush()
    return WebhookCreated(**view(row).model_dump(), secret=secret)


async def list_endpoints(session: AsyncSession, query: WebhooksQuery) -> WebhookList:
    """The caller's organisation's endpoints, oldest first."""
    organisation = require_manager(query.actor)
    rows = await session.exec(select(WebhookEndpoint)
                              .where(WebhookEndpoint.organisation == organisation)
                              .order_by(col(WebhookEndpoint.id)))
    return WebhookList(items=[view(r) for r in rows])


async def get(session: AsyncSession, query: WebhookQuery) -> WebhookView:
    """One endpoint of the caller's organisation."""
    return view(await _endpoint(session, query.actor, query.webhook_id))


async def update(session: AsyncSession, command: UpdateWebhook, *,
                 allow_networks: list[str]) -> WebhookView:
    """Change an endpoint; enabling a disabled one clears why it was disabled."""
    row = await _endpoint(session, command.actor, command.webhook_id)
    if command.url is not None and command.url != row.url:
        row.url = await check_url(command.url, allow_networks)
    if command.event_types is not None:
        row.event_types = check_event_types(command.event_types)
    if command.description is not None:
        row.description = command.description
    now = utcnow()
    if command.enabled is True and not row.enabled:
        row.enabled, row.disabled_reason, row.disabled_at = True, None, None
        row.failing_since = None
    elif command.enabled is False and row.enabled:
        _disable(row, f"disabled by {command.actor.client_id or command.actor.subject}"[:200],
                 now)
    row.updated_at = now
    session.add(row)
    await session.flush()
    return view(row)


async def delete(session: AsyncSession, query: WebhookQuery) -> WebhookDeleted:
    """Delete an endpoint and its secrets; its messages not sent yet are cancelled (its past
    deliveries stay, as the record of what was sent)."""
    row = await _endpoint(session, query.actor, query.webhook_id)
    cancelled = await session.exec(sql_update(Notification)  # type: ignore[call-overload]
                                   .where(col(Notification.recipient) == recipient(row.id),
                                          col(Notification.channel) == CHANNEL,
                                          col(Notification.state) == "pending")
                                   .values(state="cancelled", next_attempt_at=None))
    await session.exec(sql_delete(WebhookSecret)  # type: ignore[call-overload]
                       .where(col(WebhookSecret.endpoint_id) == row.id))
    await session.delete(row)
    await session.flush()
    return WebhookDeleted(webhook_id=query.webhook_id, cancelled=cancelled.rowcount)


async def rotate(session: AsyncSession, query: WebhookQuery, *,
                 sealer: Sealer) -> SecretRotated:
    """A new secret (shown once). The previous one keeps signing alongside it for 24 hours
    (one already due to expire sooner keeps its earlier end); expired ones are deleted."""
    row = await _endpoint(session, query.actor, query.webhook_id)
    now = utcnow()
    until = now + ROTATION_OVERLAP
    previous = await session.exec(select(WebhookSecret)
                                  .where(WebhookSecret.endpoint_id == row.id))
    ends: list[datetime] = []
    for old in previous:
        if old.expires_at is not None and old.expires_at <= now:
            await session.delete(old)
            continue
        old.expires_at = min(old.expires_at or until, until)
        ends.append(old.expires_at)
        session.add(old)
    secret = await _add_secret(session, row.id, sealer, now)
    await session.flush()
    return SecretRotated(webhook_id=row.id, secret=secret,
                         previous_valid_until=max(ends) if ends else None)


async def deliveries(session: AsyncSession, query: DeliveriesQuery) -> DeliveryList:
    """An endpoint's messages, newest first, with every attempt, a page at a time."""
    row = await _endpoint(session, query.actor, query.webhook_id)
    stmt = select(Notification).where(Notification.recipient == recipient(row.id),
                                      Notification.channel == CHANNEL)
    after = paging.decode("deliveries", query.cursor, 1, (paging.uuid,))
    if after is not None:
        stmt = stmt.where(col(Notification.id) < UUID(str(after[0])))
    messages = list(await session.exec(stmt.order_by(col(Notification.id).desc())
                                       .limit(query.limit + 1)))
    messages, more = messages[:query.limit], len(messages) > query.limit
    tries: dict[UUID, list[AttemptView]] = {m.id: [] for m in messages}
    attempts = await session.exec(select(Attempt)
                                  .where(col(Attempt.notification_id).in_(list(tries)))
                                  .order_by(col(Attempt.number)))
    for a in attempts:
        tries[a.notification_id].append(AttemptView(
            number=a.number, status=a.status,  # type: ignore[arg-type]
            detail=a.detail, http_status=a.http_status, attempted_at=a.attempted_at,
            duration_ms=a.duration_ms))
    items = [DeliveryView(message_id=m.id, event_type=m.topic,
                          state=m.state,  # type: ignore[arg-type]
                          body=str(m.params.get("body", "")), attempts=tries[m.id],
                          created_at=m.created_at, next_attempt_at=m.next_attempt_at,
                          sent_at=m.sent_at) for m in messages]
    return DeliveryList(items=items, next_cursor=paging.encode("deliveries", [str(
        messages[-1].id)]) if more else None)


async def replay(session: AsyncSession, command: ReplayWebhook) -> Replayed:
    """Send messages again, with their original ids: one, or every one created since a time
    (at most 1000, oldest first; not those being sent right now)."""
    row = await _endpoint(session, command.actor, command.webhook_id)
    if not row.enabled:
        raise Conflict("This webhook is disabled: enable it first (PATCH with enabled true), "
                       "then replay.")
    stmt = select(Notification).where(Notification.recipient == recipient(row.id),
                                      Notification.channel == CHANNEL)
    if command.message_id is not None:
        message = (await session.exec(stmt.where(Notification.id == command.message_id))).first()
        if message is None:
            raise NotFound("No such message to this webhook.")
        if message.state == "sending":
            raise Conflict("This message is being sent right now; look at its deliveries.")
        messages = [message]
    else:
        assert command.since is not None
        messages = list(await session.exec(
            stmt.where(col(Notification.created_at) >= command.since,
                       col(Notification.state) != "sending")
            .order_by(col(Notification.created_at), col(Notification.id)).limit(REPLAY_LIMIT)))
    now = utcnow()
    for message in messages:
        message.state, message.next_attempt_at, message.attempts = "pending", now, 0
        message.provider, message.first_failed_at, message.lease_until = 0, None, None
        session.add(message)
    await session.flush()
    return Replayed(replayed=len(messages))


# --- for the delivery engine --------------------------------------------------------------


async def endpoints_for(session: AsyncSession, organisation: str,
                        event_type: str) -> list[WebhookEndpoint]:
    """The organisation's enabled endpoints subscribed to the event type (the organisation's
    endpoints are asked once per transaction)."""
    async def load() -> list[WebhookEndpoint]:
        rows = await session.exec(select(WebhookEndpoint)
                                  .where(WebhookEndpoint.organisation == organisation,
                                         col(WebhookEndpoint.enabled).is_(True))
                                  .order_by(col(WebhookEndpoint.id)))
        return list(rows.all())

    # at most 20 per organisation: the JSON list is matched here, the same on every database
    endpoints = await memoised(session, ("webhook-endpoints", organisation), load)
    return [r for r in endpoints if event_type in r.event_types]


async def secrets_for(session: AsyncSession, endpoint_id: UUID, sealer: Sealer,
                      now: datetime) -> list[str]:
    """The endpoint's secrets that still sign, newest first."""
    rows = await session.exec(select(WebhookSecret)
                              .where(WebhookSecret.endpoint_id == endpoint_id)
                              .order_by(col(WebhookSecret.created_at).desc(),
                                        col(WebhookSecret.id).desc()))
    return [sealer.open(r.sealed_secret, endpoint_id.bytes).decode() for r in rows
            if r.expires_at is None or r.expires_at > now]


def _disable(row: WebhookEndpoint, reason: str, now: datetime) -> None:
    row.enabled, row.disabled_reason, row.disabled_at = False, reason, now


async def record_outcome(session: AsyncSession, endpoint: WebhookEndpoint, outcome: Outcome,
                         now: datetime) -> None:
    """Keep an endpoint's health: a success clears its failing streak; 410 Gone disables it;
    failing for 5 days without a success disables it."""
    if outcome.status == "sent":
        endpoint.failing_since = None
    elif outcome.status == "gone":
        if endpoint.enabled:
            _disable(endpoint, GONE, now)
    else:
        endpoint.failing_since = endpoint.failing_since or now
        if endpoint.enabled and now - endpoint.failing_since >= FAILING_LIMIT:
            _disable(endpoint, f"every delivery failed for 5 days or more (since "
                               f"{endpoint.failing_since:%Y-%m-%d %H:%M} UTC)", now)
    session.add(endpoint)
    await session.flush()
