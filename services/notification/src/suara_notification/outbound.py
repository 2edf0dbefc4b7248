"""From an event to stored notifications: the plan's messages and the partners' webhooks, in
the event's own transaction (so an event is planned once, and nothing planned is lost)."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_contracts.events import (
    CaseOpened,
    ClusterDetected,
    DeadlineBreached,
    ObligationMissed,
    PartyAttendance,
    ReferralChanged,
    ReporterFollowUp,
    ReporterMessage,
    SessionChanged,
)
from suara_contracts.subjects import Evt
from suara_kit.clock import utcnow
from suara_kit.db import in_batch
from suara_notification import delivery, partner_events, plan
from suara_notification.models import CaseIndex, Notification
from suara_notification.settings import NotificationSettings
from suara_notification.webhook_sender import WebhookSender

SESSION_CHANGES = {Evt.SESSION_BOOKED: "booked", Evt.SESSION_RESCHEDULED: "rescheduled",
                   Evt.SESSION_CANCELLED: "cancelled"}
REMINDER_TOPICS = ("session-reminder", "nudge-reminder")


def webhook_provider(settings: NotificationSettings) -> WebhookSender:
    return WebhookSender(settings.webhook_allow_networks, settings.webhook_timeout_seconds)


async def _case(session: AsyncSession, case_id: UUID) -> CaseIndex | None:
    return await session.get(CaseIndex, case_id)


async def _case_of_submission(session: AsyncSession, submission_id: UUID) -> CaseIndex | None:
    found = await session.exec(select(CaseIndex).where(CaseIndex.submission_id == submission_id))
    return found.first()


async def _stale(session: AsyncSession, group: str, sequence: int) -> bool:
    """Whether a later change of the session was planned already (the booked, rescheduled and
    cancelled events are consumed apart, so they may come out of order)."""
    rows = await session.exec(select(Notification).where(Notification.group == group))
    return any(int(r.params.get("sequence", -1)) > sequence for r in rows.all())


async def _plan(session: AsyncSession, subject: str, event: BaseModel) -> list[plan.Planned]:
    now = utcnow()
    if isinstance(event, CaseOpened):  # in a batch, the primary key refuses a known case
        if in_batch(session) or await _case(session, event.case_id) is None:
            session.add(CaseIndex(case_id=event.case_id, submission_id=event.submission_id,
                                  organisation=event.organisation, reference=event.reference))
        return plan.case_opened(event, event.risk)
    if isinstance(event, ReporterFollowUp):
        case = await _case_of_submission(session, event.submission_id)
        if case is None:
            return []
        return plan.reporter_followed_up(event, case.organisation, case.case_id,
                                         case.reference)
    if isinstance(event, ReporterMessage):
        return plan.reporter_message(event)
    if isinstance(event, DeadlineBreached):
        return plan.deadline_breached(event)
    if isinstance(event, ClusterDetected):
        return plan.cluster_detected(event)
    if isinstance(event, SessionChanged):
        group = f"booking:{event.booking_id}"
        if await _stale(session, group, event.sequence):
            return []
        await delivery.cancel_group(session, group, REMINDER_TOPICS)
        case = await _case(session, event.case_id)
        return plan.session_changed(event, SESSION_CHANGES[subject], event.mediator,
                                    case.submission_id if case else None, now)
    if isinstance(event, PartyAttendance):
        return plan.party_attendance(event, event.mediator)
    if isinstance(event, ReferralChanged):
        return plan.referral_changed(event)
    if isinstance(event, ObligationMissed):
        return plan.obligation_missed(event)
    return []


async def planned(session: AsyncSession, event_id: UUID, subject: str,
                  event: BaseModel) -> list[Notification]:
    """Store every notification `event` makes: to staff, to the reporter, to partners."""
    if isinstance(event, CaseOpened):
        # Consumed in batches (one transaction per fetch). Planning an opened case reads staff,
        # contacts, webhooks and the case index, none of which another opened case changes, so
        # its lookups flush nothing: the batch's rows are inserted together at commit. A case
        # or notification twice in one batch fails on its unique key, and the consumer then
        # plans the events one by one.
        with session.no_autoflush:
            return await _planned(session, event_id, subject, event)
    return await _planned(session, event_id, subject, event)


async def _planned(session: AsyncSession, event_id: UUID, subject: str,
                   event: BaseModel) -> list[Notification]:
    stored = await delivery.enqueue(session, event_id, await _plan(session, subject, event))
    now = utcnow()
    bodies = [(organisation, kind, partner_events.payload(kind, data, now))
              for organisation, kind, data in partner_events.partner_events(subject, event)]
    stored += await delivery.enqueue_webhooks(session, event_id, bodies, now)
    return stored
