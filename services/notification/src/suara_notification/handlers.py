"""Notification's NATS endpoints and event consumers."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from suara_contracts.alerts import AcknowledgeAlert, AlertList, AlertsQuery, AlertView
from suara_contracts.events import (
    CaseShredded,
    ClusterDetected,
    DeadlineBreached,
    PartyAttendance,
    ReporterFollowUp,
    ReporterMessage,
)
from suara_contracts.rpc import Inbox, InboxQuery
from suara_contracts.subjects import Evt, Rpc
from suara_kit.datakeys import use_keys
from suara_kit.service import ServiceApp
from suara_notification import alerts, content, service
from suara_notification.models import DataKeys, EventInbox, Outbox
from suara_notification.settings import NotificationSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: NotificationSettings | None = None) -> ServiceApp:
    """The notification service, wired."""
    settings = settings or NotificationSettings()
    app = ServiceApp("notification", settings, migrations=MIGRATIONS, outbox=Outbox,
                     inbox=EventInbox, rpc_prefix=Rpc.NOTIFICATION)
    use_keys(app.db, settings, DataKeys)

    async def inbox(query: InboxQuery) -> Inbox:
        # Only the gateway calls this, after intake has verified the reporter's receipt.
        async with app.transaction() as session:
            return await service.inbox(session, query)

    async def on_reporter_message(session: AsyncSession, _: UUID, event: ReporterMessage) -> None:
        await service.deliver_to_inbox(session, event)

    async def on_follow_up(session: AsyncSession, _: UUID, event: ReporterFollowUp) -> None:
        await service.keep_follow_up(session, event)

    async def on_case_shredded(session: AsyncSession, _: UUID, event: CaseShredded) -> None:
        await service.case_shredded(session, event.submission_id, event.shredded_on)

    async def list_alerts(query: AlertsQuery) -> AlertList:
        async with app.transaction() as session:
            return await alerts.list_alerts(session, query)

    async def acknowledge_alert(command: AcknowledgeAlert) -> AlertView:
        async with app.transaction() as session:
            return await alerts.acknowledge(session, command)

    async def on_alert(session: AsyncSession, event_id: UUID, event: alerts.Alerting) -> None:
        # the in-app feed; email, SMS and webhooks (later) deliver the same row from here
        await alerts.raise_alert(session, event_id, event)

    app.rpc(Rpc.NOTIFICATION_INBOX, InboxQuery, inbox)
    app.rpc(Rpc.NOTIFICATION_ALERTS, AlertsQuery, list_alerts)
    app.rpc(Rpc.NOTIFICATION_ALERT_ACKNOWLEDGE, AcknowledgeAlert, acknowledge_alert)
    app.on_event(Evt.DEADLINE_BREACHED, DeadlineBreached, "notification-deadline-breached",
                 on_alert)
    app.on_event(Evt.CLUSTER_DETECTED, ClusterDetected, "notification-cluster-detected",
                 on_alert)
    app.on_event(Evt.PARTY_RESPONDED, PartyAttendance, "notification-party-responded",
                 on_alert)
    app.on_event(Evt.PARTY_NO_SHOW, PartyAttendance, "notification-party-no-show", on_alert)
    app.on_event(Evt.REPORTER_FOLLOW_UP, ReporterFollowUp, "notification-reporter-follow-up",
                 on_follow_up)
    app.on_event(Evt.REPORTER_MESSAGE, ReporterMessage, "notification-reporter-message",
                 on_reporter_message)
    app.on_event(Evt.CASE_SHREDDED, CaseShredded, "notification-case-shredded", on_case_shredded)
    app.on_start(lambda: content.seal_legacy(app.db))
    return app
