"""The delivery engine: planned messages become stored notifications, and a loop sends them.

Storing (`enqueue`) happens in the event's own transaction, so an event is planned exactly once
and nothing planned is lost. Each (event, recipient, channel) is stored once (a unique
constraint): a redelivered event, a replayed stream or two replicas never make a second
message.

Sending (`Deliverer`) claims due notifications under a lease (`FOR UPDATE SKIP LOCKED` on
PostgreSQL), sends each once through the channel's provider, and records the attempt. A
failure is retried on the channel's schedule (partner webhooks: at once, 5 s, 5 min, 30 min,
2 h, 5 h, 10 h, 10 h; email and SMS: at once, 30 s, 2 min, 10 min), a longer Retry-After is
honoured, then email and SMS switch to the fallback provider, then the notification is dead:
it goes to the dead-letter stream (ids only) and the organisation's team gets an alert.

A restart loses nothing: what waits for a retry is a row with its time; what was being sent
when the process died is claimed again once its lease runs out, and sent again with the same id
(an email's Message-ID, a webhook's `webhook-id`), so the receiver can drop the duplicate. A
graceful stop lets the sends in flight finish and record their outcome first.
"""

from __future__ import annotations

import asyncio
import logging
import time as monotonic
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_contracts.events import DeliveryDead
from suara_contracts.subjects import dlq_subject
from suara_kit.clock import utcnow
from suara_kit.datakeys import ring_of
from suara_kit.db import Database, is_sqlite, memoised
from suara_kit.ids import uuid7
from suara_kit.sealing import Sealer
from suara_notification import templates, webhooks
from suara_notification.channels import Attachment, Outcome, Outgoing, Provider
from suara_notification.models import (
    Attempt,
    Notification,
    ReporterContact,
    StaffRecipient,
    TeamAlert,
    WebhookEndpoint,
)
from suara_notification.plan import HANDLERS, Planned

log = logging.getLogger(__name__)

WEBHOOK_SCHEDULE = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
PROVIDER_SCHEDULE = (0, 30, 120, 600)
MAX_RETRY_AFTER = 36000  # a Retry-After beyond 10 h is taken as 10 h
DEAD_SUBJECT = dlq_subject("notification-delivery")

PENDING, DIGEST, SENDING, SENT, DEAD, CANCELLED, DIGESTED = (
    "pending", "digest", "sending", "sent", "dead", "cancelled", "digested")


# --- when ------------------------------------------------------------------------------------


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def after_quiet_hours(at: datetime, timezone: str | None, start: time | None,
                      end: time | None) -> datetime:
    """`at`, or the end of the recipient's quiet hours when `at` falls inside them (quiet
    hours may run over midnight, e.g. 21:00-07:00)."""
    if start is None or end is None or start == end:
        return at
    tz = zone(timezone)
    local = at.astimezone(tz)
    now = local.time().replace(tzinfo=None)
    overnight = start > end
    quiet = (now >= start or now < end) if overnight else (start <= now < end)
    if not quiet:
        return at
    day = local.date() + timedelta(days=1) if overnight and now >= start else local.date()
    # a local time that does not exist (a daylight-saving gap) resolves past the gap
    return max(at, datetime.combine(day, end, tzinfo=tz).astimezone(UTC))


def schedule_of(channel: str) -> tuple[int, ...]:
    return WEBHOOK_SCHEDULE if channel == "webhook" else PROVIDER_SCHEDULE


# --- storing -----------------------------------------------------------------------------------


async def staff_of(session: AsyncSession, organisation: str, role: str) -> list[StaffRecipient]:
    """The organisation's registered staff holding `role` (asked once per transaction)."""
    async def load() -> list[StaffRecipient]:
        rows = await session.exec(select(StaffRecipient)
                                  .where(StaffRecipient.organisation == organisation))
        return list(rows.all())

    staff = await memoised(session, ("staff", organisation), load)
    return [r for r in staff if role in (r.roles or [])]


async def _staff_targets(session: AsyncSession, item: Planned) -> list[StaffRecipient]:
    if item.organisation is None:
        return []
    if item.audience == "handlers":
        return await staff_of(session, item.organisation, HANDLERS)
    person = await session.get(StaffRecipient, item.subject) if item.subject else None
    if person is not None and person.organisation == item.organisation:
        return [person]
    if item.fallback_to_team:
        return await staff_of(session, item.organisation, HANDLERS)
    return []


async def _store(session: AsyncSession, row: Notification) -> bool:
    """Add the notification unless this (event, recipient, channel) is stored already."""
    found = await session.exec(select(Notification.id).where(
        Notification.event_key == row.event_key, Notification.recipient == row.recipient,
        Notification.channel == row.channel))
    if found.first() is not None:
        return False
    session.add(row)
    return True


async def enqueue(session: AsyncSession, event_id: UUID, planned: Sequence[Planned],
                  now: datetime | None = None) -> list[Notification]:
    """Store the planned messages of one event, for every recipient and channel they reach;
    the ones already stored are skipped. Returns what was stored."""
    now = now or utcnow()
    stored: list[Notification] = []
    for item in planned:
        key = f"{event_id}{item.key_suffix}"
        due = max(now, item.not_before or now)
        if item.audience == "reporter":
            contact = (await session.get(ReporterContact, item.submission_id)
                       if item.submission_id else None)
            if contact is None:
                continue
            row = Notification(
                id=uuid7(), event_key=key, recipient=f"reporter:{item.submission_id}",
                channel=contact.channel, organisation=item.organisation, topic=item.topic,
                urgent=item.urgent, params=item.params, language=contact.language,
                timezone=contact.timezone, group=item.group, state=PENDING, created_at=now,
                next_attempt_at=after_quiet_hours(due, contact.timezone, contact.quiet_from,
                                                  contact.quiet_until))
            if await _store(session, row):
                stored.append(row)
            continue
        for person in await _staff_targets(session, item):
            if item.topic in (person.muted or []):
                continue
            channels = []
            if person.email:
                channels.append("email")
            if item.urgent and person.sms_urgent and person.phone:
                channels.append("sms")
            for channel in channels:
                digest = channel == "email" and person.digest and not item.urgent
                at = due if item.urgent else after_quiet_hours(
                    due, person.timezone, person.quiet_from, person.quiet_until)
                row = Notification(
                    id=uuid7(), event_key=key, recipient=f"staff:{person.subject}",
                    channel=channel, organisation=item.organisation, topic=item.topic,
                    urgent=item.urgent, params=item.params, language=person.language,
                    timezone=person.timezone, group=item.group,
                    state=DIGEST if digest else PENDING, created_at=now,
                    next_attempt_at=None if digest else at)
                if await _store(session, row):
                    stored.append(row)
    return stored


async def enqueue_webhooks(session: AsyncSession, event_id: UUID,
                           messages: Sequence[tuple[str, str, str]],
                           now: datetime | None = None) -> list[Notification]:
    """Store one webhook message per subscribed endpoint for each (organisation, type, body)."""
    now = now or utcnow()
    stored = []
    for organisation, event_type, body in messages:
        for endpoint in await webhooks.endpoints_for(session, organisation, event_type):
            row = Notification(id=uuid7(), event_key=str(event_id),
                               recipient=f"webhook:{endpoint.id}", channel="webhook",
                               organisation=organisation, topic=event_type,
                               params={"body": body}, state=PENDING, created_at=now,
                               next_attempt_at=now)
            if await _store(session, row):
                stored.append(row)
    return stored


async def cancel_group(session: AsyncSession, group: str, topics: Sequence[str],
                       keep_suffix: str | None = None) -> int:
    """Cancel the unsent notifications of `group` with these topics (e.g. the reminders of a
    session that moved), except those whose event key ends with `keep_suffix`."""
    rows = await session.exec(select(Notification).where(
        Notification.group == group, col(Notification.topic).in_(topics),
        col(Notification.state).in_((PENDING, DIGEST))))
    count = 0
    for row in rows.all():
        if keep_suffix and row.event_key.endswith(keep_suffix):
            continue
        row.state, row.next_attempt_at = CANCELLED, None
        session.add(row)
        count += 1
    return count


async def cancel_recipient(session: AsyncSession, recipient: str) -> int:
    """Cancel everything not yet sent to a recipient (a reporter who removed their contact,
    a staff member who left, a deleted webhook endpoint)."""
    result = await session.exec(update(Notification)  # type: ignore[call-overload]
                                .where(col(Notification.recipient) == recipient,
                                       col(Notification.state).in_((PENDING, DIGEST, SENDING)))
                                .values(state=CANCELLED, next_attempt_at=None, lease_until=None))
    return int(result.rowcount or 0)


# --- the daily digest --------------------------------------------------------------------------


async def make_digests(session: AsyncSession, now: datetime | None = None) -> int:
    """For each staff member who asked for a digest and whose digest hour has come today (in
    their zone), gather what waits for it into one `digest` email. Once a day per person."""
    now = now or utcnow()
    people = await session.exec(select(StaffRecipient).where(col(StaffRecipient.digest)))
    made = 0
    for person in people.all():
        local = now.astimezone(zone(person.timezone))
        if local.hour < person.digest_hour:
            continue
        waiting = list((await session.exec(
            select(Notification).where(Notification.recipient == f"staff:{person.subject}",
                                       Notification.state == DIGEST)
            .order_by(col(Notification.created_at)))).all())
        if not waiting:
            continue
        row = Notification(
            id=uuid7(), event_key=f"digest:{person.subject}:{local.date().isoformat()}",
            recipient=f"staff:{person.subject}", channel="email",
            organisation=person.organisation, topic="digest",
            params={"items": [{"topic": n.topic, "params": n.params} for n in waiting]},
            language=person.language, timezone=person.timezone, state=PENDING,
            created_at=now, next_attempt_at=now)
        if not await _store(session, row):
            continue  # today's digest went out: the rest waits for tomorrow's
        for item in waiting:
            item.state = DIGESTED
            session.add(item)
        made += 1
    return made


# --- sending -----------------------------------------------------------------------------------

InviteFetcher = Callable[[StaffRecipient, UUID], Awaitable[Attachment]]


@dataclass
class Prepared:
    """A claimed notification and what is needed to send it, or why it cannot be sent."""

    row: Notification
    outgoing: Outgoing | None = None
    provider: Provider | None = None
    cancel: str | None = None  # the recipient is gone: cancel without trying
    endpoint: WebhookEndpoint | None = None
    missing: str | None = None  # something the message needs is not there yet: a failure


class Deliverer:
    """Sends due notifications. `run()` loops until cancelled; `wake()` starts a round at once;
    `run_once()` does one round (tests call it with their own clock)."""

    def __init__(self, db: Database, *, providers: dict[str, list[Provider]],
                 secret_sealer: Sealer, console_url: str, nudge_link: str | None,
                 reporter_from: str | None = None,
                 invite: InviteFetcher | None = None,
                 dead_letter: Callable[[AsyncSession, Notification], None] | None = None,
                 poll_seconds: float = 1.0, batch: int = 20, lease_seconds: float = 120.0,
                 concurrency: int = 8) -> None:
        self.db, self.providers, self.sealer = db, providers, secret_sealer
        self.console_url, self.nudge_link, self.invite = console_url, nudge_link, invite
        self.dead_letter, self.reporter_from = dead_letter, reporter_from
        self.poll, self.batch, self.lease = poll_seconds, batch, timedelta(seconds=lease_seconds)
        self._limit = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                busy = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the next round may work (e.g. the database is back)
                log.exception("delivery round failed")
                busy = 0
            if busy >= self.batch:
                continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll)
            except TimeoutError:
                pass

    async def run_once(self, now: datetime | None = None) -> int:
        """Claim what is due, send it, record the outcomes; the number claimed."""
        clock, now = now, now or utcnow()
        claimed = await self._claim(now)
        if not claimed:
            return 0
        try:
            prepared = [await self._prepare_safely(row_id, now) for row_id in claimed]
        except asyncio.CancelledError:  # a stop before anything went out: hand them back now,
            await asyncio.shield(self._release(claimed))  # not when their lease runs out
            raise

        async def one(item: Prepared) -> None:
            async with self._limit:
                outcome, took = await self._send(item)
            await self._record(item, outcome, took, clock)

        # shielded: a stop (task cancel) still lets sends in flight be recorded
        task = asyncio.ensure_future(asyncio.gather(*(one(p) for p in prepared)))
        self._in_flight.add(task)  # type: ignore[arg-type]
        task.add_done_callback(self._in_flight.discard)  # type: ignore[arg-type]
        await asyncio.shield(task)
        return len(claimed)

    async def drain(self) -> None:
        """Wait for sends in flight to be recorded (a graceful stop)."""
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def _claim(self, now: datetime) -> list[UUID]:
        async with self.db.transaction() as session:
            due = (col(Notification.next_attempt_at) <= now)
            stmt = (select(Notification)
                    .where(col(Notification.state).in_((PENDING, SENDING)), due)
                    .where((col(Notification.lease_until).is_(None))
                           | (col(Notification.lease_until) < now))
                    .order_by(col(Notification.urgent).desc(),
                              col(Notification.next_attempt_at))
                    .limit(self.batch))
            if not is_sqlite(self.db.url):
                stmt = stmt.with_for_update(skip_locked=True)
            rows = list((await session.exec(stmt)).all())
            for row in rows:
                row.state, row.lease_until = SENDING, now + self.lease
                session.add(row)
            return [r.id for r in rows]

    async def _release(self, claimed: list[UUID]) -> None:
        """Claimed rows not sent after all go back to pending, due as they were."""
        try:
            async with self.db.transaction() as session:
                for row_id in claimed:
                    row = await session.get(Notification, row_id)
                    if row is not None and row.state == SENDING:
                        row.state, row.lease_until = PENDING, None
                        session.add(row)
        except Exception as exc:  # the lease still frees them in time
            log.warning("claimed notifications could not be handed back: %s",
                        type(exc).__name__)

    async def _prepare_safely(self, row_id: UUID, now: datetime) -> Prepared:
        """`_prepare`, or a failure to record when the message cannot be made (say, a template
        that does not render): retried on the schedule, then dead-lettered, never looping."""
        try:
            return await self._prepare(row_id, now)
        except Exception as exc:
            log.warning("a notification could not be prepared: %s", type(exc).__name__)
            async with self.db.transaction() as session:
                row = await session.get(Notification, row_id)
                assert row is not None
                session.expunge(row)
            return Prepared(row, missing=f"could not be prepared ({type(exc).__name__})")

    async def _prepare(self, row_id: UUID, now: datetime) -> Prepared:
        async with self.db.transaction() as session:
            row = await session.get(Notification, row_id)
            assert row is not None
            session.expunge(row)
            kind, _, who = row.recipient.partition(":")
            providers = self.providers.get(row.channel, [])
            if row.channel != "webhook" and not providers:
                return Prepared(row)  # the channel is not configured: wait for it
            provider = providers[min(row.provider, len(providers) - 1)] if providers else None
            if kind == "webhook":
                endpoint = await session.get(WebhookEndpoint, UUID(who))
                if endpoint is None or not endpoint.enabled:
                    return Prepared(row, cancel="the endpoint is deleted or disabled")
                session.expunge(endpoint)
                secrets = await webhooks.secrets_for(session, endpoint.id, self.sealer, now)
                outgoing = Outgoing(message_id=row.id, channel="webhook", address=endpoint.url,
                                    body=str(row.params.get("body", "")),
                                    secrets=tuple(secrets))
                return Prepared(row, outgoing, provider, endpoint=endpoint)
            if kind == "reporter":
                address = await _reporter_address(session, UUID(who))
                if address is None:
                    return Prepared(row, cancel="the reporter's contact is gone")
                attachments: tuple[Attachment, ...] = ()
                person = None
            else:
                person = await session.get(StaffRecipient, who)
                address = None
                if person is not None:
                    address = person.email if row.channel == "email" else person.phone
                if person is None or not address:
                    return Prepared(row, cancel="the staff member's address is gone")
                session.expunge(person)
            text = templates.render(row.topic, row.channel,  # type: ignore[arg-type]
                                    row.language, row.timezone, row.params,
                                    console_url=self.console_url, nudge_link=self.nudge_link)
        attachments: tuple[Attachment, ...] = ()
        if (person is not None and row.channel == "email" and self.invite is not None
                and row.topic in ("session-booked", "session-rescheduled",
                                  "session-cancelled")):
            try:
                attachments = (await self.invite(person, UUID(str(row.params["booking_id"]))),)
            except Exception as exc:  # mediation busy or down: the message waits for it
                log.warning("a session's invitation is unavailable: %s", type(exc).__name__)
                return Prepared(row, provider=provider,
                                missing="the session's invitation is not available yet")
        outgoing = Outgoing(message_id=row.id, channel=row.channel,  # type: ignore[arg-type]
                            address=address, subject=text.subject, body=text.text,
                            html=text.html, attachments=attachments,
                            sender=self.reporter_from if person is None else None)
        return Prepared(row, outgoing, provider)

    async def _send(self, item: Prepared) -> tuple[Outcome | None, int]:
        if item.missing:
            return Outcome("failed", item.missing), 0
        if item.cancel or item.outgoing is None or item.provider is None:
            return None, 0
        started = monotonic.monotonic()
        try:
            outcome = await item.provider.send(item.outgoing)
        except Exception as exc:  # a provider bug must not kill the loop; retry later
            outcome = Outcome("failed", f"provider error: {type(exc).__name__}")
        return outcome, int((monotonic.monotonic() - started) * 1000)

    async def _record(self, item: Prepared, outcome: Outcome | None, took: int,
                      clock: datetime | None) -> None:
        now = clock or utcnow()
        async with self.db.transaction() as session:
            row = await session.get(Notification, item.row.id)
            if row is None:
                return
            if item.cancel:
                row.state, row.next_attempt_at, row.lease_until = CANCELLED, None, None
                session.add(row)
                return
            if outcome is None:  # the channel is not configured: look again later
                row.state, row.lease_until = PENDING, None
                row.next_attempt_at = now + timedelta(minutes=5)
                session.add(row)
                return
            if row.state != SENDING:  # cancelled while it was being sent: keep that
                _add_attempt(session, row, item, outcome, took, now, await _count(session, row))
                return
            _add_attempt(session, row, item, outcome, took, now, await _count(session, row))
            if item.endpoint is not None:
                endpoint = await session.get(WebhookEndpoint, item.endpoint.id)
                if endpoint is not None:
                    await webhooks.record_outcome(session, endpoint, outcome, now)
            row.lease_until = None
            if outcome.ok:
                row.state, row.sent_at, row.next_attempt_at = SENT, now, None
                session.add(row)
                return
            row.attempts += 1
            row.first_failed_at = row.first_failed_at or now
            schedule = schedule_of(row.channel)
            providers = self.providers.get(row.channel, [])
            exhausted = outcome.status in ("refused", "gone") or row.attempts >= len(schedule)
            if exhausted and outcome.status != "gone" and row.provider + 1 < len(providers):
                row.provider, row.attempts = row.provider + 1, 0
                row.state, row.next_attempt_at = PENDING, now
            elif exhausted:
                row.state, row.next_attempt_at = DEAD, None
                await _alert_dead(session, row, now)
                if self.dead_letter is not None:
                    self.dead_letter(session, row)
            else:
                wait = schedule[row.attempts]
                if outcome.retry_after:
                    wait = max(wait, min(int(outcome.retry_after), MAX_RETRY_AFTER))
                row.state, row.next_attempt_at = PENDING, now + timedelta(seconds=wait)
            session.add(row)


async def _count(session: AsyncSession, row: Notification) -> int:
    result = await session.exec(select(func.count()).select_from(Attempt)
                                .where(Attempt.notification_id == row.id))
    return int(result.one())


def _add_attempt(session: AsyncSession, row: Notification, item: Prepared, outcome: Outcome,
                 took: int, now: datetime, earlier: int) -> None:
    session.add(Attempt(id=uuid7(), notification_id=row.id, number=earlier + 1,
                        provider=item.provider.name if item.provider else "-",
                        status=outcome.status, detail=outcome.detail[:300],
                        http_status=outcome.http_status, attempted_at=now, duration_ms=took))


async def _reporter_address(session: AsyncSession, submission_id: UUID) -> str | None:
    contact = await session.get(ReporterContact, submission_id)
    if contact is None:
        return None
    key = await ring_of(session).find(session, submission_id)
    if key is None:
        return None  # shredded
    return key.open_text(contact.sealed_address, contact_context(submission_id))


def contact_context(submission_id: UUID) -> str:
    return f"contact:{submission_id}"


async def _alert_dead(session: AsyncSession, row: Notification, now: datetime) -> None:
    """Tell the organisation's team, in their alert feed, that a message could not be
    delivered (ids and channel only)."""
    if row.organisation is None:
        return
    what = row.recipient.partition(":")[0]
    session.add(TeamAlert(alert_id=uuid7(), event_id=row.id, organisation=row.organisation,
                          kind="delivery-failed", case_ids=[], raised_on=now.date(),
                          party=f"{row.channel} to a {what}: {row.topic}"[:100]))


def dead_letter(row: Notification) -> DeliveryDead:
    """What the dead-letter stream gets: ids, channel, topic, never an address or text."""
    return DeliveryDead(notification_id=row.id, channel=row.channel,  # type: ignore[arg-type]
                        topic=row.topic, organisation=row.organisation,
                        recipient_kind=row.recipient.partition(":")[0],  # type: ignore[arg-type]
                        attempts=row.attempts)
