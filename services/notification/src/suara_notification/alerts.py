"""The case handlers' team alerts: case-management's missed deadlines and clusters of cases
against one respondent, in an in-app feed per organisation, until a handler takes one on.

`alert_for` is the one place an event becomes an alert: the feed stores what it returns, and a
later channel (email, SMS, webhooks) delivers that same row. An alert holds ids, dates and the
case's coding only (a cluster's respondent, as handlers coded it): never what the reporter said,
never a message; its English wording is the gateway's. Nothing here is logged.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_contracts.alerts import AcknowledgeAlert, AlertList, AlertsQuery, AlertView
from suara_contracts.events import ClusterDetected, DeadlineBreached, PartyAttendance
from suara_contracts.rpc import Actor
from suara_kit import paging
from suara_kit.clock import today
from suara_kit.errors import Conflict, Forbidden, NotFound
from suara_kit.ids import uuid7
from suara_notification import repository
from suara_notification.models import TeamAlert

HANDLER = "case-handler"
CLUSTER = "cluster"


Alerting = DeadlineBreached | ClusterDetected | PartyAttendance


def alert_for(event_id: UUID, event: Alerting, on: date) -> TeamAlert | None:
    """The alert an event raises, on the day it arrives. A deadline is for the handler the
    case is assigned to (None: the whole team); a cluster is for the whole team; a party that
    declined a mediation session or did not come to it is for the whole team (an acceptance
    raises nothing)."""
    if isinstance(event, PartyAttendance):
        if event.response == "accepted":
            return None
        local_day = event.starts_at.astimezone(ZoneInfo(event.timezone)).date()
        return TeamAlert(alert_id=uuid7(), event_id=event_id, organisation=event.organisation,
                         kind=f"session-{event.response}", case_ids=[str(event.case_id)],
                         due_on=local_day, raised_on=on,
                         party=f"{event.party.role}: {event.party.alias}"[:100])
    if isinstance(event, DeadlineBreached):
        return TeamAlert(alert_id=uuid7(), event_id=event_id, organisation=event.organisation,
                         kind=f"deadline-{event.kind}", case_ids=[str(event.case_id)],
                         due_on=event.due_on, assigned_to=event.assigned_to, raised_on=on)
    return TeamAlert(alert_id=uuid7(), event_id=event_id, organisation=event.organisation,
                     kind=CLUSTER, case_ids=[str(c) for c in dict.fromkeys(event.case_ids)],
                     window_days=event.window_days, respondent=event.respondent[:200],
                     raised_on=on)


async def raise_alert(session: AsyncSession, event_id: UUID,
                      event: Alerting) -> TeamAlert | None:
    """Store the event's alert once; None when this event raised one already, or raises
    none."""
    if await repository.alert_from_event(session, event_id) is not None:
        return None
    alert = alert_for(event_id, event, today())
    if alert is None:
        return None
    session.add(alert)
    await session.flush()
    return alert


def require_handler(actor: Actor) -> str:
    """The handler's organisation; 403 for anyone who is not a case handler of one."""
    if HANDLER not in actor.roles:
        raise Forbidden("Only a case handler can see and take on the team's alerts.")
    if not actor.organisation:
        raise Forbidden("Your account belongs to no organisation; ask an administrator.")
    return actor.organisation


def view(alert: TeamAlert) -> AlertView:
    """An alert as the organisation's handlers see it."""
    return AlertView(alert_id=alert.alert_id, organisation=alert.organisation,
                     kind=alert.kind,  # type: ignore[arg-type]
                     case_ids=[UUID(str(c)) for c in alert.case_ids], due_on=alert.due_on,
                     window_days=alert.window_days, respondent=alert.respondent,
                     party=alert.party, assigned_to=alert.assigned_to, raised_on=alert.raised_on,
                     acknowledged_by=alert.acknowledged_by,
                     acknowledged_on=alert.acknowledged_on)


async def list_alerts(session: AsyncSession, query: AlertsQuery) -> AlertList:
    """The caller's organisation's alerts: those nobody took on first, newest first."""
    organisation = require_handler(query.actor)
    after = paging.decode("alerts", query.cursor, 3, (paging.group, paging.day, paging.uuid))
    rows = await repository.alerts_of(session, organisation, query.open_only, query.limit + 1,
                                      after)
    page, more = rows[:query.limit], len(rows) > query.limit
    return AlertList(items=[view(r) for r in page],
                     next_cursor=paging.encode("alerts", repository.alert_position(page[-1]))
                     if more else None)


async def acknowledge(session: AsyncSession, command: AcknowledgeAlert) -> AlertView:
    """A handler takes an alert on: who and on which day. Another organisation's alert is not
    found; one taken on already is a 409 that names who did (a race between two handlers
    included: the first one wins)."""
    organisation = require_handler(command.actor)
    alert = await session.get(TeamAlert, command.alert_id)
    if alert is None or alert.organisation != organisation:
        raise NotFound("No such alert in your organisation.")
    taken = await session.exec(update(TeamAlert)  # type: ignore[call-overload]
                               .where(col(TeamAlert.alert_id) == alert.alert_id,
                                      col(TeamAlert.acknowledged_by).is_(None))
                               .values(acknowledged_by=command.actor.subject,
                                       acknowledged_on=today()))
    await session.refresh(alert)
    if taken.rowcount == 0:
        who = ("You" if alert.acknowledged_by == command.actor.subject
               else f"Handler {alert.acknowledged_by}")
        raise Conflict(f"{who} took this alert on already, on {alert.acknowledged_on}.",
                       acknowledged_by=alert.acknowledged_by,
                       acknowledged_on=str(alert.acknowledged_on))
    return view(alert)
