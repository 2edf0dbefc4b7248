"""Notification's NATS endpoints and event consumers."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from suara_contracts.alerts import AcknowledgeAlert, AlertList, AlertsQuery, AlertView
from suara_contracts.events import (
    CaseOpened,
    CaseShredded,
    CaseStatusChanged,
    ClusterDetected,
    DeadlineBreached,
    ObligationMissed,
    PartyAttendance,
    ReferralChanged,
    ReporterFollowUp,
    ReporterMessage,
    SessionChanged,
)
from suara_contracts.invites import InviteFile, InviteQuery
from suara_contracts.notifications import (
    ReporterContactQuery,
    SetReporterContact,
    SetStaffPreferences,
    StaffPreferencesQuery,
)
from suara_contracts.rpc import Actor, Inbox, InboxQuery
from suara_contracts.subjects import Evt, Rpc
from suara_kit.datakeys import use_keys
from suara_kit.messaging import call
from suara_kit.service import PARALLEL, ServiceApp
from suara_notification import (
    alerts,
    content,
    delivery,
    outbound,
    preferences,
    providers,
    service,
    templates,
    webhook_handlers,
    webhooks,
)
from suara_notification.channels import Attachment
from suara_notification.models import DataKeys, EventInbox, Outbox, Replay, StaffRecipient
from suara_notification.settings import NotificationSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: NotificationSettings | None = None) -> ServiceApp:
    """The notification service, wired."""
    settings = settings or NotificationSettings()
    app = ServiceApp("notification", settings, migrations=MIGRATIONS, outbox=Outbox,
                     inbox=EventInbox, replays=Replay, rpc_prefix=Rpc.NOTIFICATION)
    use_keys(app.db, settings, DataKeys)

    async def inbox(query: InboxQuery) -> Inbox:
        # Only the gateway calls this, after intake has verified the reporter's receipt.
        async with app.transaction() as session:
            return await service.inbox(session, query)

    async def on_reporter_message(session: AsyncSession, event_id: UUID,
                                  event: ReporterMessage) -> None:
        await service.deliver_to_inbox(session, event)
        await outbound.planned(session, event_id, Evt.REPORTER_MESSAGE, event)

    async def on_follow_up(session: AsyncSession, event_id: UUID,
                           event: ReporterFollowUp) -> None:
        await service.keep_follow_up(session, event)
        await outbound.planned(session, event_id, Evt.REPORTER_FOLLOW_UP, event)

    async def on_case_shredded(session: AsyncSession, event_id: UUID,
                               event: CaseShredded) -> None:
        await service.case_shredded(session, event.submission_id, event.shredded_on)
        await preferences.forget_contact(session, event.submission_id)
        await outbound.planned(session, event_id, Evt.CASE_SHREDDED, event)

    async def list_alerts(query: AlertsQuery) -> AlertList:
        async with app.transaction() as session:
            return await alerts.list_alerts(session, query)

    async def acknowledge_alert(command: AcknowledgeAlert) -> AlertView:
        async with app.transaction() as session:
            return await alerts.acknowledge(session, command)

    def on_alert(subject: str):  # type: ignore[no-untyped-def]
        async def handle(session: AsyncSession, event_id: UUID, event: alerts.Alerting) -> None:
            await alerts.raise_alert(session, event_id, event)  # the in-app feed
            await outbound.planned(session, event_id, subject, event)  # email, SMS, webhooks
        return handle

    def plan_only(subject: str):  # type: ignore[no-untyped-def]
        async def handle(session: AsyncSession, event_id: UUID, event: object) -> None:
            await outbound.planned(session, event_id, subject, event)  # type: ignore[arg-type]
        return handle

    async def invite(person: StaffRecipient, booking_id: UUID) -> Attachment:
        # the mediator's own copy, asked for as the mediator (mediation checks who asks)
        assert app.nc is not None
        actor = Actor(subject=person.subject, roles=list(person.roles),
                      organisation=person.organisation)
        found = await call(app.nc, Rpc.MEDIATION_INVITE,
                           InviteQuery(actor=actor, booking_id=booking_id), InviteFile,
                           timeout=10)
        return Attachment(found.filename, f"text/calendar; method={found.method}",
                          found.calendar.encode())

    senders = providers.providers(settings)
    webhook_sender = outbound.webhook_provider(settings)
    deliverer = delivery.Deliverer(
        app.db, providers={**senders, "webhook": [webhook_sender]},
        secret_sealer=webhooks.secret_sealer(settings), console_url=settings.console_url,
        nudge_link=settings.nudge_link, reporter_from=settings.reporter_email_from,
        invite=invite,
        dead_letter=lambda session, row: app.emit(session, delivery.DEAD_SUBJECT,
                                                  delivery.dead_letter(row)),
        poll_seconds=settings.delivery_poll_seconds, batch=settings.delivery_batch,
        lease_seconds=settings.delivery_lease_seconds)
    app.deliverer = deliverer  # type: ignore[attr-defined]  # tests drive and inspect it

    async def stop_sending() -> None:
        await deliverer.drain()
        await providers.close({**senders, "webhook": [webhook_sender]})

    async def digests() -> None:
        async with app.transaction() as session:
            await delivery.make_digests(session)
        deliverer.wake()

    app.rpc(Rpc.NOTIFICATION_INBOX, InboxQuery, inbox)
    app.rpc(Rpc.NOTIFICATION_ALERTS, AlertsQuery, list_alerts)
    app.rpc(Rpc.NOTIFICATION_ALERT_ACKNOWLEDGE, AcknowledgeAlert, acknowledge_alert)
    app.rpc(Rpc.NOTIFICATION_STAFF_GET, StaffPreferencesQuery,
            app.transactional(preferences.staff_get))
    app.rpc(Rpc.NOTIFICATION_STAFF_SET, SetStaffPreferences,
            app.transactional(preferences.staff_set))
    app.rpc(Rpc.NOTIFICATION_STAFF_FORGET, StaffPreferencesQuery,
            app.transactional(preferences.staff_forget))
    app.rpc(Rpc.NOTIFICATION_CONTACT_GET, ReporterContactQuery,
            app.transactional(preferences.contact_get))
    app.rpc(Rpc.NOTIFICATION_CONTACT_SET, SetReporterContact,
            app.transactional(preferences.contact_set))
    app.rpc(Rpc.NOTIFICATION_CONTACT_REMOVE, ReporterContactQuery,
            app.transactional(preferences.contact_remove))
    webhook_handlers.register(app, settings)
    app.on_event(Evt.DEADLINE_BREACHED, DeadlineBreached, "notification-deadline-breached",
                 on_alert(Evt.DEADLINE_BREACHED))
    app.on_event(Evt.CLUSTER_DETECTED, ClusterDetected, "notification-cluster-detected",
                 on_alert(Evt.CLUSTER_DETECTED))
    app.on_event(Evt.PARTY_RESPONDED, PartyAttendance, "notification-party-responded",
                 on_alert(Evt.PARTY_RESPONDED))
    app.on_event(Evt.PARTY_NO_SHOW, PartyAttendance, "notification-party-no-show",
                 on_alert(Evt.PARTY_NO_SHOW))
    app.on_event(Evt.CASE_OPENED, CaseOpened, "notification-case-opened",
                 plan_only(Evt.CASE_OPENED), parallel=PARALLEL, batch=True)
    app.on_event(Evt.CASE_STATUS_CHANGED, CaseStatusChanged, "notification-case-status",
                 plan_only(Evt.CASE_STATUS_CHANGED))
    app.on_event(Evt.OBLIGATION_MISSED, ObligationMissed, "notification-obligation-missed",
                 plan_only(Evt.OBLIGATION_MISSED))
    for subject in (Evt.SESSION_BOOKED, Evt.SESSION_RESCHEDULED, Evt.SESSION_CANCELLED):
        app.on_event(subject, SessionChanged, f"notification-session-{subject.split('.')[-2]}",
                     plan_only(subject))
    for subject in (Evt.REFERRAL_CREATED, Evt.REFERRAL_ACCEPTED, Evt.REFERRAL_REJECTED,
                    Evt.REFERRAL_COMPLETED, Evt.REFERRAL_REVOKED):
        app.on_event(subject, ReferralChanged, f"notification-referral-{subject.split('.')[-2]}",
                     plan_only(subject))
    app.on_event(Evt.REPORTER_FOLLOW_UP, ReporterFollowUp, "notification-reporter-follow-up",
                 on_follow_up)
    app.on_event(Evt.REPORTER_MESSAGE, ReporterMessage, "notification-reporter-message",
                 on_reporter_message)
    app.on_event(Evt.CASE_SHREDDED, CaseShredded, "notification-case-shredded", on_case_shredded)
    app.on_start(lambda: content.seal_legacy(app.db))
    app.on_start(templates.load)  # a broken template or catalog stops the start, not a send
    app.background("notification-delivery", deliverer.run, stop_sending)
    app.every(300, "notification-digests", digests)
    return app
