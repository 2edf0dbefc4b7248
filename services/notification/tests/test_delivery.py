"""The delivery engine: the plan stores each message once per (event, recipient, channel); the
loop sends what is due, retries on the channel's schedule, honours Retry-After, falls back to
the second provider, dead-letters with an alert; quiet hours, the digest, session reminders
and the reporter's nudge contact."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID

import pytest
from sqlmodel import select

from suara_contracts.events import (
    CaseOpened,
    DeadlineBreached,
    PartyRef,
    ReporterFollowUp,
    ReporterMessage,
    SessionChanged,
)
from suara_contracts.notifications import (
    ReporterContactQuery,
    SetReporterContact,
    SetStaffPreferences,
    StaffPreferences,
    StaffPreferencesQuery,
)
from suara_contracts.rpc import Actor
from suara_contracts.subjects import Evt
from suara_kit.datakeys import use_keys
from suara_kit.db import Database
from suara_kit.errors import Forbidden, ValidationFailed
from suara_kit.ids import uuid7
from suara_kit.testing import migrated
from suara_notification import delivery, outbound, preferences, service, webhooks
from suara_notification.channels import Outcome, Outgoing
from suara_notification.delivery import Deliverer, after_quiet_hours
from suara_notification.handlers import MIGRATIONS
from suara_notification.models import (
    Attempt,
    DataKeys,
    Notification,
    ReporterContact,
    TeamAlert,
    WebhookEndpoint,
)
from suara_notification.settings import NotificationSettings

ORG, OTHER = "tenaganita", "map-foundation"
T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in Kuala Lumpur
SECRET_WORDS = "Majikan saya menahan paspor Siti"


class Scripted:
    """A provider that answers from a script (then 'sent') and remembers what it was given."""

    def __init__(self, name: str, *outcomes: Outcome) -> None:
        self.name, self.script, self.sent = name, list(outcomes), []  # type: ignore[var-annotated]

    async def send(self, message: Outgoing) -> Outcome:
        self.sent.append(message)
        return self.script.pop(0) if self.script else Outcome("sent", "ok")


@pytest.fixture
async def db(database_url: Callable[[str], str]) -> AsyncIterator[Database]:
    async with migrated(MIGRATIONS, database_url("notification")) as database:
        use_keys(database, NotificationSettings(), DataKeys)
        yield database


def staff(subject: str, roles: tuple[str, ...] = ("case-handler",),
          organisation: str = ORG) -> Actor:
    return Actor(subject=subject, roles=list(roles), organisation=organisation)


async def register(db: Database, actor: Actor, **wanted: object) -> None:
    async with db.transaction() as session:
        await preferences.staff_set(session, SetStaffPreferences(
            actor=actor, preferences=StaffPreferences(**wanted)))  # type: ignore[arg-type]


async def rows(db: Database, **where: object) -> list[Notification]:
    async with db.transaction() as session:
        stmt = select(Notification)
        for field, value in where.items():
            stmt = stmt.where(getattr(Notification, field) == value)
        return list((await session.exec(stmt.order_by(Notification.created_at))).all())


async def plan_event(db: Database, subject: str, event: object,
                     event_id: UUID | None = None) -> list[Notification]:
    async with db.transaction() as session:
        return await outbound.planned(session, event_id or uuid7(), subject,
                                      event)  # type: ignore[arg-type]


def opened(risk: str = "normal", organisation: str = ORG) -> CaseOpened:
    return CaseOpened(case_id=uuid7(), submission_id=uuid7(), reference="SU-TEST-0001",
                      organisation=organisation, status="received",
                      acknowledge_by=date(2026, 12, 8), risk=risk)  # type: ignore[arg-type]


def deliverer(db: Database, **providers: list[Scripted]) -> Deliverer:
    dead: list[UUID] = []
    engine = Deliverer(db, providers=providers,  # type: ignore[arg-type]
                       secret_sealer=webhooks.secret_sealer(NotificationSettings()),
                       console_url="https://suara.example", nudge_link=None,
                       reporter_from="Updates <no-reply@updates.example>",
                       dead_letter=lambda _, row: dead.append(row.id))
    engine.dead = dead  # type: ignore[attr-defined]
    return engine


# --- the plan: who, on which channel, once -----------------------------------------------------


async def test_a_new_case_reaches_each_registered_handler_of_its_organisation_once(
        db: Database) -> None:
    await register(db, staff("ani"), email="ani@tenaganita.example")
    await register(db, staff("budi"), email="budi@tenaganita.example",
                   muted=["case-opened"])
    await register(db, staff("cita"))  # no address: nothing to send to
    await register(db, staff("med", ("mediator",)), email="med@tenaganita.example")
    await register(db, staff("map", organisation=OTHER), email="x@map.example")
    event, event_id = opened(), uuid7()

    first = await plan_event(db, Evt.CASE_OPENED, event, event_id)
    again = await plan_event(db, Evt.CASE_OPENED, event, event_id)  # redelivered

    assert [(n.recipient, n.channel) for n in first] == [("staff:ani", "email")]
    assert again == []
    stored = await rows(db)
    assert len(stored) == 1
    assert stored[0].params == {"case_id": str(event.case_id), "reference": "SU-TEST-0001",
                                "acknowledge_by": "2026-12-08", "risk": "normal"}
    assert stored[0].organisation == ORG
    assert stored[0].topic == "case-opened"


async def test_urgent_messages_also_go_by_sms_to_who_asked_and_skip_quiet_hours(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    night = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # 23:00 in Kuala Lumpur
    monkeypatch.setattr(outbound, "utcnow", lambda: night)
    monkeypatch.setattr(delivery, "utcnow", lambda: night)
    await register(db, staff("ani"), email="ani@tenaganita.example", phone="+60123456789",
                   sms_urgent=True, timezone="Asia/Kuala_Lumpur",
                   quiet_from=time(21, 0), quiet_until=time(7, 0))

    urgent = await plan_event(db, Evt.CASE_OPENED, opened("high"))
    calm = await plan_event(db, Evt.CASE_OPENED, opened("normal"))

    assert sorted(n.channel for n in urgent) == ["email", "sms"]
    assert all(n.urgent and n.next_attempt_at == night for n in urgent)
    assert [n.channel for n in calm] == ["email"]
    # deferred to 07:00 Kuala Lumpur, the end of the quiet hours
    assert calm[0].next_attempt_at == datetime(2026, 12, 1, 23, 0, tzinfo=UTC)


def test_quiet_hours_over_midnight_within_a_day_and_across_a_daylight_saving_change() -> None:
    kl = "Asia/Kuala_Lumpur"
    late = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)  # 23:30 local
    early = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)  # 05:00 local, the next day
    day = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)  # 12:00 local
    morning = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)  # 07:00 local on 2 December
    assert after_quiet_hours(late, kl, time(21), time(7)) == morning
    assert after_quiet_hours(early, kl, time(21), time(7)) == morning
    assert after_quiet_hours(day, kl, time(21), time(7)) == day
    assert after_quiet_hours(day, kl, time(12), time(13)) == datetime(2026, 12, 1, 5, 0,
                                                                      tzinfo=UTC)
    assert after_quiet_hours(late, kl, None, None) == late
    # London, the night the clocks go forward (29 March 2026): quiet until 07:00 BST = 06:00 UTC
    night = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert after_quiet_hours(night, "Europe/London", time(22), time(7)) == datetime(
        2026, 3, 29, 6, 0, tzinfo=UTC)


async def test_a_missed_deadline_goes_to_the_assigned_handler_else_to_the_team(
        db: Database) -> None:
    await register(db, staff("ani"), email="ani@tenaganita.example")
    await register(db, staff("budi"), email="budi@tenaganita.example")
    def breach(assigned: str | None) -> DeadlineBreached:
        return DeadlineBreached(case_id=uuid7(), organisation=ORG, kind="acknowledge",
                                due_on=date(2026, 12, 8), assigned_to=assigned)

    assert [n.recipient for n in await plan_event(db, Evt.DEADLINE_BREACHED,
                                                  breach("budi"))] == ["staff:budi"]
    # assigned to someone who never registered: the team hears of it rather than nobody
    assert sorted(n.recipient for n in await plan_event(
        db, Evt.DEADLINE_BREACHED, breach("gone"))) == ["staff:ani", "staff:budi"]
    assert sorted(n.recipient for n in await plan_event(
        db, Evt.DEADLINE_BREACHED, breach(None))) == ["staff:ani", "staff:budi"]


async def test_a_reporters_reply_reaches_the_handlers_of_its_case_without_its_words(
        db: Database) -> None:
    await register(db, staff("ani"), email="ani@tenaganita.example")
    case = opened()
    await plan_event(db, Evt.CASE_OPENED, case)
    reply = ReporterFollowUp(follow_up_id=uuid7(), submission_id=case.submission_id,
                             kind="check-in", text=SECRET_WORDS, sent_on=date(2026, 12, 2),
                             answer="yes")
    stored = await plan_event(db, Evt.REPORTER_FOLLOW_UP, reply)
    assert [(n.topic, n.urgent) for n in stored] == [("reporter-replied", True)]
    assert stored[0].params == {"case_id": str(case.case_id), "reference": "SU-TEST-0001",
                                "kind": "check-in"}
    unknown = reply.model_copy(update={"submission_id": uuid7(), "follow_up_id": uuid7()})
    assert await plan_event(db, Evt.REPORTER_FOLLOW_UP, unknown) == []


# --- the reporter's nudge contact ---------------------------------------------------------------


async def test_a_reporter_nudge_goes_only_where_they_asked_sealed_and_masked(
        db: Database) -> None:
    submission = uuid7()
    message = ReporterMessage(message_id=uuid7(), case_id=uuid7(), submission_id=submission,
                              organisation=ORG, body=SECRET_WORDS)
    assert await plan_event(db, Evt.REPORTER_MESSAGE, message) == []  # no contact: nothing

    async with db.transaction() as session:
        view = await preferences.contact_set(session, SetReporterContact(
            submission_id=submission, channel="sms", address="+62 812-3456-7890",
            language="id", timezone="Asia/Jakarta"))
    assert view.masked == "••••••90"  # the last two digits; not even the number's length
    async with db.transaction() as session:
        row = await session.get(ReporterContact, submission)
        assert row is not None
        assert b"3456" not in row.sealed_address
        assert await delivery._reporter_address(session, submission) == "+6281234567890"

    stored = await plan_event(db, Evt.REPORTER_MESSAGE, message.model_copy(
        update={"message_id": uuid7()}))
    assert [(n.topic, n.channel, n.language, n.params) for n in stored] == [
        ("nudge", "sms", "id", {})]

    async with db.transaction() as session:
        await preferences.contact_remove(session, ReporterContactQuery(submission_id=submission))
    assert [n.state for n in await rows(db)] == ["cancelled"]
    async with db.transaction() as session:
        assert (await preferences.contact_get(session, ReporterContactQuery(
            submission_id=submission))).channel is None


async def test_bad_contacts_and_bad_preferences_are_refused_with_the_field(db: Database) -> None:
    async with db.transaction() as session:
        with pytest.raises(ValidationFailed, match="country code") as bad:
            await preferences.contact_set(session, SetReporterContact(
                submission_id=uuid7(), channel="sms", address="0812 3456"))
        assert bad.value.extra["errors"][0]["field"] == "address"
        with pytest.raises(ValidationFailed, match="email"):
            await preferences.contact_set(session, SetReporterContact(
                submission_id=uuid7(), channel="email", address="not-an-address"))
        with pytest.raises(ValidationFailed, match="time zone"):
            await preferences.staff_set(session, SetStaffPreferences(
                actor=staff("ani"), preferences=StaffPreferences(timezone="Mars/Olympus")))
        with pytest.raises(ValidationFailed, match="phone"):
            await preferences.staff_set(session, SetStaffPreferences(
                actor=staff("ani"), preferences=StaffPreferences(sms_urgent=True)))
        with pytest.raises(Forbidden):
            await preferences.staff_get(session, StaffPreferencesQuery(
                actor=Actor(subject="x", roles=["case-handler"])))


async def test_shredding_the_report_forgets_its_contact(db: Database) -> None:
    submission = uuid7()
    async with db.transaction() as session:
        await preferences.contact_set(session, SetReporterContact(
            submission_id=submission, channel="email", address="worker@mail.example"))
    async with db.transaction() as session:
        await service.case_shredded(session, submission, date(2026, 12, 1))
        await preferences.forget_contact(session, submission)
    async with db.transaction() as session:
        assert await session.get(ReporterContact, submission) is None
        with pytest.raises(Exception, match="deleted"):
            await preferences.contact_set(session, SetReporterContact(
                submission_id=submission, channel="email", address="worker@mail.example"))


# --- sessions: the mediator's messages and the reminders ----------------------------------------


def session_event(case_id: UUID, starts_at: datetime, sequence: int = 0,
                  booking_id: UUID | None = None) -> SessionChanged:
    worker = PartyRef(party_id=uuid7(), role="worker", alias="Worker A",
                      timezone="Asia/Kuala_Lumpur", language="id")
    return SessionChanged(booking_id=booking_id or uuid7(), mediation_id=uuid7(),
                          case_id=case_id, organisation=ORG, starts_at=starts_at,
                          ends_at=starts_at + timedelta(hours=1), timezone="Asia/Kuala_Lumpur",
                          mode="video", sequence=sequence, parties=[worker], mediator="med")


async def test_a_session_reminds_the_mediator_and_the_worker_and_follows_its_moves(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outbound, "utcnow", lambda: T0)
    monkeypatch.setattr(delivery, "utcnow", lambda: T0)
    await register(db, staff("med", ("mediator",)), email="med@tenaganita.example")
    case = opened()
    await plan_event(db, Evt.CASE_OPENED, case)
    async with db.transaction() as session:
        await preferences.contact_set(session, SetReporterContact(
            submission_id=case.submission_id, channel="sms", address="+60123456789",
            timezone="Asia/Kuala_Lumpur"))
    start = T0 + timedelta(days=3)  # 10:00 in Kuala Lumpur: outside the worker's quiet hours
    booked = session_event(case.case_id, start)

    stored = await plan_event(db, Evt.SESSION_BOOKED, booked)
    assert sorted((n.topic, n.recipient.split(":")[0], n.next_attempt_at) for n in stored) == [
        ("nudge-reminder", "reporter", start - timedelta(hours=24)),
        ("nudge-reminder", "reporter", start - timedelta(hours=1)),
        ("session-booked", "staff", T0),
        ("session-reminder", "staff", start - timedelta(hours=24)),
        ("session-reminder", "staff", start - timedelta(hours=1)),
    ]

    moved_to = T0 + timedelta(hours=5)  # too soon for a 24-hour reminder
    moved = session_event(case.case_id, moved_to, 1, booked.booking_id)
    await plan_event(db, Evt.SESSION_RESCHEDULED, moved)
    live = [n for n in await rows(db) if n.state == "pending" and "reminder" in n.topic]
    assert sorted((n.topic, n.next_attempt_at) for n in live) == [
        ("nudge-reminder", moved_to - timedelta(hours=1)),
        ("session-reminder", moved_to - timedelta(hours=1))]

    # the booking's first event arriving late changes nothing
    assert await plan_event(db, Evt.SESSION_BOOKED, booked) == []

    await plan_event(db, Evt.SESSION_CANCELLED, session_event(case.case_id, moved_to, 2,
                                                             booked.booking_id))
    assert not [n for n in await rows(db) if n.state == "pending" and "reminder" in n.topic]
    assert [n.topic for n in await rows(db, recipient="staff:med")
            if n.topic.startswith("session-") and n.topic != "session-reminder"] == [
        "session-booked", "session-rescheduled", "session-cancelled"]


# --- the digest ----------------------------------------------------------------------------------


async def test_a_digest_gathers_what_can_wait_into_one_email_a_day(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery, "utcnow", lambda: T0)
    await register(db, staff("ani"), email="ani@tenaganita.example", digest=True,
                   digest_hour=18, timezone="Asia/Kuala_Lumpur")
    await plan_event(db, Evt.CASE_OPENED, opened())
    await plan_event(db, Evt.CASE_OPENED, opened())
    urgent = await plan_event(db, Evt.CASE_OPENED, opened("high"))
    assert [n.state for n in urgent] == ["pending"]  # urgent: not held for the digest
    assert len(await rows(db, state="digest")) == 2

    async with db.transaction() as session:
        assert await delivery.make_digests(session, T0) == 0  # 10:00: before the digest hour
    evening = T0 + timedelta(hours=9)  # 19:00 in Kuala Lumpur
    async with db.transaction() as session:
        assert await delivery.make_digests(session, evening) == 1
    async with db.transaction() as session:
        assert await delivery.make_digests(session, evening + timedelta(hours=1)) == 0
    digest = await rows(db, topic="digest")
    assert len(digest) == 1
    assert len(digest[0].params["items"]) == 2
    assert {i["topic"] for i in digest[0].params["items"]} == {"case-opened"}
    assert len(await rows(db, state="digested")) == 2


# --- sending: retries, Retry-After, fallback, dead letters, leases -------------------------------


async def _webhook(db: Database) -> WebhookEndpoint:
    async with db.transaction() as session:
        endpoint = WebhookEndpoint(id=uuid7(), organisation=ORG, created_by="partner",
                                   url="https://partner.example/hook", event_types=["case.opened"],
                                   created_at=T0, updated_at=T0)
        session.add(endpoint)
        return endpoint


async def _attempts(db: Database, row: Notification) -> list[Attempt]:
    async with db.transaction() as session:
        found = await session.exec(select(Attempt).where(Attempt.notification_id == row.id)
                                   .order_by(Attempt.number))
        return list(found.all())


async def test_a_webhook_is_retried_on_its_schedule_then_dead_lettered_with_an_alert(
        db: Database) -> None:
    await _webhook(db)
    [row] = await plan_event(db, Evt.CASE_OPENED, opened())
    assert row.channel == "webhook"
    assert row.params["body"].startswith("{")
    failing = Scripted("webhook", *[Outcome("failed", "503", 503)] * 8)
    engine = deliverer(db, webhook=[failing])

    now = datetime.now(UTC)
    waits = []
    for _ in range(8):
        assert await engine.run_once(now) == 1
        [current] = await rows(db, id=row.id)
        if current.next_attempt_at is not None:
            waits.append(int((current.next_attempt_at - now).total_seconds()))
            assert await engine.run_once(current.next_attempt_at - timedelta(seconds=1)) == 0
            now = current.next_attempt_at
    assert waits == [5, 300, 1800, 7200, 18000, 36000, 36000]
    [current] = await rows(db, id=row.id)
    assert (current.state, current.attempts) == ("dead", 8)
    assert [a.number for a in await _attempts(db, row)] == list(range(1, 9))
    assert {m.message_id for m in failing.sent} == {row.id}  # one webhook-id throughout
    assert engine.dead == [row.id]  # type: ignore[attr-defined]
    async with db.transaction() as session:
        [alert] = (await session.exec(select(TeamAlert))).all()
    assert (alert.kind, alert.organisation) == ("delivery-failed", ORG)
    assert "webhook" in (alert.party or "")


async def test_retry_after_is_honoured_and_a_success_ends_the_sequence(db: Database) -> None:
    await _webhook(db)
    [row] = await plan_event(db, Evt.CASE_OPENED, opened())
    engine = deliverer(db, webhook=[Scripted("webhook", Outcome("failed", "429", 429,
                                                                retry_after=120))])
    now = datetime.now(UTC)
    await engine.run_once(now)
    [current] = await rows(db, id=row.id)
    assert current.next_attempt_at == now + timedelta(seconds=120)  # not the schedule's 5 s
    await engine.run_once(now + timedelta(seconds=120))
    [current] = await rows(db, id=row.id)
    assert (current.state, current.attempts) == ("sent", 1)
    assert [a.status for a in await _attempts(db, row)] == ["failed", "sent"]


async def test_email_falls_back_to_the_second_provider_when_the_first_refuses(
        db: Database) -> None:
    await register(db, staff("ani"), email="ani@tenaganita.example")
    [row] = await plan_event(db, Evt.CASE_OPENED, opened())
    first = Scripted("smtp", Outcome("refused", "550 relay denied"))
    second = Scripted("smtp-fallback")
    engine = deliverer(db, email=[first, second])
    now = datetime.now(UTC)
    await engine.run_once(now)
    await engine.run_once(now)
    [current] = await rows(db, id=row.id)
    assert (current.state, current.provider) == ("sent", 1)
    assert [(a.provider, a.status) for a in await _attempts(db, row)] == [
        ("smtp", "refused"), ("smtp-fallback", "sent")]
    sent = second.sent[0]
    assert sent.address == "ani@tenaganita.example"
    assert "SU-TEST-0001" in sent.body
    assert "https://suara.example" in sent.body


async def test_an_unconfigured_channel_keeps_its_messages_waiting(db: Database) -> None:
    await register(db, staff("ani"), email="ani@tenaganita.example")
    [row] = await plan_event(db, Evt.CASE_OPENED, opened())
    now = datetime.now(UTC)
    await deliverer(db).run_once(now)  # no SMTP server configured
    [current] = await rows(db, id=row.id)
    assert (current.state, current.attempts) == ("pending", 0)
    assert current.next_attempt_at == now + timedelta(minutes=5)


async def test_a_send_cut_off_by_a_crash_is_claimed_again_once_its_lease_runs_out(
        db: Database) -> None:
    await register(db, staff("ani"), email="ani@tenaganita.example")
    [row] = await plan_event(db, Evt.CASE_OPENED, opened())
    engine = deliverer(db, email=[Scripted("smtp")])
    now = datetime.now(UTC)
    assert await engine._claim(now) == [row.id]  # claimed; then the process died
    assert await engine.run_once(now + timedelta(seconds=60)) == 0  # still leased
    assert await engine.run_once(now + timedelta(seconds=121)) == 1
    [current] = await rows(db, id=row.id)
    assert current.state == "sent"


async def test_a_stop_before_anything_went_out_hands_the_claimed_rows_back_at_once(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """A graceful stop between the claim and the send (say, while the message is being
    prepared) must not hold the message for the lease's two minutes."""
    await register(db, staff("ani"), email="ani@tenaganita.example")
    [row] = await plan_event(db, Evt.CASE_OPENED, opened())
    mail = Scripted("smtp")
    engine = deliverer(db, email=[mail])
    preparing, never = asyncio.Event(), asyncio.Event()

    async def stuck(row_id: UUID, now: datetime) -> object:
        preparing.set()
        await never.wait()
        raise AssertionError("not reached")

    monkeypatch.setattr(engine, "_prepare_safely", stuck)
    now = datetime.now(UTC)
    round_ = asyncio.create_task(engine.run_once(now))
    await asyncio.wait_for(preparing.wait(), 5)
    assert [r.state for r in await rows(db, id=row.id)] == ["sending"]
    round_.cancel()
    with pytest.raises(asyncio.CancelledError):
        await round_
    [current] = await rows(db, id=row.id)
    assert (current.state, current.lease_until, mail.sent) == ("pending", None, [])
    monkeypatch.undo()
    assert await engine.run_once(now + timedelta(seconds=1)) == 1  # not 120 s later
    [current] = await rows(db, id=row.id)
    assert (current.state, len(mail.sent)) == ("sent", 1)


async def test_a_deleted_endpoint_or_a_forgotten_address_cancels_without_sending(
        db: Database) -> None:
    endpoint = await _webhook(db)
    await register(db, staff("ani"), email="ani@tenaganita.example")
    planned = await plan_event(db, Evt.CASE_OPENED, opened())
    async with db.transaction() as session:
        found = await session.get(WebhookEndpoint, endpoint.id)
        assert found is not None
        found.enabled = False
        session.add(found)
        await preferences.staff_forget(session, StaffPreferencesQuery(actor=staff("ani")))
    hook, mail = Scripted("webhook"), Scripted("smtp")
    await deliverer(db, webhook=[hook], email=[mail]).run_once(datetime.now(UTC))
    assert sorted(n.state for n in await rows(db)) == ["cancelled", "cancelled"]
    assert len(planned) == 2
    assert hook.sent == []
    assert mail.sent == []


async def test_a_reporters_email_nudge_comes_from_a_neutral_sender_and_says_nothing(
        db: Database) -> None:
    submission = uuid7()
    async with db.transaction() as session:
        await preferences.contact_set(session, SetReporterContact(
            submission_id=submission, channel="email", address="worker@mail.example",
            quiet_from=None, quiet_until=None))
    await plan_event(db, Evt.REPORTER_MESSAGE, ReporterMessage(
        message_id=uuid7(), case_id=uuid7(), submission_id=submission, organisation=ORG,
        body=SECRET_WORDS))
    await register(db, staff("ani"), email="ani@tenaganita.example")
    await plan_event(db, Evt.CASE_OPENED, opened())
    mail = Scripted("smtp")
    await deliverer(db, email=[mail]).run_once(datetime.now(UTC))
    by_address = {m.address: m for m in mail.sent}
    nudge = by_address["worker@mail.example"]
    assert nudge.sender == "Updates <no-reply@updates.example>"
    assert SECRET_WORDS not in nudge.body
    assert ORG not in nudge.body
    assert by_address["ani@tenaganita.example"].sender is None  # staff: the provider's From


async def test_a_message_that_cannot_be_rendered_fails_on_schedule_and_ends_dead(
        db: Database) -> None:
    await register(db, staff("ani"), email="ani@tenaganita.example")
    [row] = await plan_event(db, Evt.CASE_OPENED, opened())
    async with db.transaction() as session:
        broken = await session.get(Notification, row.id)
        assert broken is not None
        broken.topic = "no-such-topic"  # e.g. a template removed in an upgrade
        session.add(broken)
    mail = Scripted("smtp")
    engine = deliverer(db, email=[mail])
    now = datetime.now(UTC)
    for _ in range(4):
        assert await engine.run_once(now) == 1
        [current] = await rows(db, id=row.id)
        now = current.next_attempt_at or now
    assert (current.state, current.attempts) == ("dead", 4)
    assert mail.sent == []
    assert {a.detail for a in await _attempts(db, row)} == {
        "could not be prepared (ValueError)"}
