"""Partner webhook subscriptions, on a migrated database: an organisation's partner system (or
administrator) creates, lists, changes, deletes endpoints, rotates secrets, reads deliveries and
replays them; nobody else does, no other organisation sees them; private URLs and unknown
event types are refused; an endpoint that answers 410, or fails for 5 days, is disabled. And
what partners hear: each event type's thin payload, for the right organisations."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import TypeVar
from uuid import UUID

import pytest
from sqlmodel import select

from suara_contracts.events import (
    CaseOpened,
    CaseShredded,
    CaseStatusChanged,
    DeadlineBreached,
    ObligationMissed,
    PartyRef,
    ReferralChanged,
    ReporterFollowUp,
    ReporterMessage,
    SessionChanged,
)
from suara_contracts.rpc import Actor
from suara_contracts.subjects import Evt
from suara_contracts.webhooks import (
    CreateWebhook,
    DeliveriesQuery,
    ReplayWebhook,
    UpdateWebhook,
    WebhookCreated,
    WebhookQuery,
    WebhooksQuery,
)
from suara_kit.db import Database
from suara_kit.errors import Conflict, Forbidden, NotFound, ValidationFailed
from suara_kit.ids import uuid7
from suara_kit.sealing import Sealer
from suara_kit.testing import migrated
from suara_notification import netguard, webhooks
from suara_notification.channels import Outcome
from suara_notification.handlers import MIGRATIONS
from suara_notification.models import Attempt, Notification, WebhookEndpoint, WebhookSecret
from suara_notification.partner_events import EVENT_TYPES, partner_events, payload
from suara_notification.settings import NotificationSettings

ORG, OTHER = "tenaganita", "map-foundation"
PARTNER = Actor(subject="svc-tenaganita", roles=["cso-partner"], organisation=ORG,
                client_id="partner-tenaganita")
ADMIN = Actor(subject="admin-1", roles=["admin"], organisation=ORG)
MAP = Actor(subject="svc-map", roles=["cso-partner"], organisation=OTHER,
            client_id="partner-map-foundation")
URL = "https://hooks.partner.example/suara?token=abc"
SEALER = webhooks.secret_sealer(NotificationSettings())
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
T = TypeVar("T")


@pytest.fixture
async def db(database_url: Callable[[str], str],
             monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Database]:
    async def lookup(host: str, _: int) -> list[str]:
        table = {"hooks.partner.example": ["93.184.215.14"], "other.partner.example":
                 ["2606:2800:21f:cb07:6820:80da:af6b:8b2c"], "intranet.example": ["10.0.0.8"]}
        if host not in table:
            raise netguard.Unresolved(f"{host} does not resolve.")
        return table[host]

    monkeypatch.setattr(netguard, "_addresses", lookup)
    async with migrated(MIGRATIONS, database_url("notification")) as database:
        yield database


async def run(db: Database, rule: Callable[..., Awaitable[T]], request: object,
                 **kwargs: object) -> T:
    async with db.transaction() as session:
        return await rule(session, request, **kwargs)


async def create(db: Database, actor: Actor = PARTNER, url: str = URL,
                 event_types: tuple[str, ...] = ("case.opened", "case.status_changed"),
                 allow: tuple[str, ...] = ()) -> WebhookCreated:
    command = CreateWebhook(actor=actor, url=url, description="case system",
                            event_types=list(event_types))
    return await run(db, webhooks.create, command, sealer=SEALER, allow_networks=list(allow))


async def notify(db: Database, endpoint_id: UUID, n: int, at: datetime = T0,
                 state: str = "sent") -> list[UUID]:
    """n messages to the endpoint (as the delivery engine stores them), each tried once."""
    ids = []
    async with db.transaction() as session:
        for i in range(n):
            row = Notification(id=uuid7(), event_key=f"evt-{uuid7()}",
                               recipient=webhooks.recipient(endpoint_id), channel="webhook",
                               organisation=ORG, topic="case.opened", state=state,
                               params={"body": f'{{"n":{i}}}'}, attempts=1, provider=0,
                               created_at=at + timedelta(minutes=i), lease_until=None,
                               first_failed_at=at if state == "dead" else None,
                               sent_at=at if state == "sent" else None)
            session.add(row)
            await session.flush()
            session.add(Attempt(id=uuid7(), notification_id=row.id, number=1,
                                provider="webhook", status="sent" if state == "sent"
                                else "failed", detail="HTTP 200", http_status=200,
                                attempted_at=at, duration_ms=12))
            ids.append(row.id)
    return ids


async def test_create_returns_the_secret_once_and_lists_without_it(db: Database) -> None:
    made = await create(db)
    assert made.secret.startswith("whsec_")
    assert (made.organisation, made.url, made.enabled) == (ORG, URL, True)
    assert made.event_types == ["case.opened", "case.status_changed"]
    assert made.created_by == "partner-tenaganita"
    listed = (await run(db, webhooks.list_endpoints, WebhooksQuery(actor=ADMIN))).items
    assert [w.webhook_id for w in listed] == [made.webhook_id]
    assert "secret" not in listed[0].model_dump()
    assert made.secret not in listed[0].model_dump_json()
    got = await run(db, webhooks.get, WebhookQuery(actor=PARTNER, webhook_id=made.webhook_id))
    assert got == listed[0]
    async with db.transaction() as session:  # sealed at rest, bound to the endpoint
        [stored] = (await session.exec(select(WebhookSecret))).all()
        assert made.secret.encode() not in stored.sealed_secret
        assert await webhooks.secrets_for(session, made.webhook_id, SEALER, T0) == [made.secret]
        stranger = Sealer("another-content-key-of-32-chars!", info=webhooks.SECRET_INFO)
        with pytest.raises(ValueError, match="key"):
            await webhooks.secrets_for(session, made.webhook_id, stranger, T0)


async def test_other_organisations_and_roles_are_kept_out(db: Database) -> None:
    made = await create(db)
    assert (await run(db, webhooks.list_endpoints, WebhooksQuery(actor=MAP))).items == []
    ask = WebhookQuery(actor=MAP, webhook_id=made.webhook_id)
    for rule in (webhooks.get, webhooks.delete, webhooks.deliveries, webhooks.rotate):
        request = (DeliveriesQuery(actor=MAP, webhook_id=made.webhook_id)
                   if rule is webhooks.deliveries else ask)
        kwargs = {"sealer": SEALER} if rule is webhooks.rotate else {}
        with pytest.raises(NotFound):
            await run(db, rule, request, **kwargs)
    with pytest.raises(NotFound):
        await run(db, webhooks.update, UpdateWebhook(actor=MAP, webhook_id=made.webhook_id,
                                                     enabled=False), allow_networks=[])
    with pytest.raises(NotFound):
        await run(db, webhooks.replay, ReplayWebhook(actor=MAP, webhook_id=made.webhook_id,
                                                     since=T0))
    for outsider in (Actor(subject="h", roles=["case-handler"], organisation=ORG),
                     Actor(subject="m", roles=["mediator"], organisation=ORG),
                     Actor(subject="a", roles=["admin"])):  # an admin of no organisation
        with pytest.raises(Forbidden, match="role"):
            await run(db, webhooks.list_endpoints, WebhooksQuery(actor=outsider))
        with pytest.raises(Forbidden):
            await create(db, outsider)
        with pytest.raises(Forbidden):
            await run(db, webhooks.get, WebhookQuery(actor=outsider,
                                                     webhook_id=made.webhook_id))


REFUSED_URLS = [
    ("https://intranet.example/hook", "resolves to 10.0.0.8"),
    ("https://169.254.169.254/latest", "non-public"),
    ("https://localhost/hook", "this machine"),
    ("http://hooks.partner.example/hook", "https"),
    ("https://user:pw@hooks.partner.example/", "user name"),
    ("https://nowhere.example/hook", "does not resolve"),
]


async def test_private_urls_and_unknown_event_types_are_refused(db: Database) -> None:
    for url, says in REFUSED_URLS:
        with pytest.raises(ValidationFailed, match=says) as refused:
            await create(db, url=url)
        assert refused.value.status == 422
        assert refused.value.extra["errors"][0]["field"] == "url"
    with pytest.raises(ValidationFailed, match=r"case\.reopened") as unknown:
        await create(db, event_types=("case.opened", "case.reopened"))
    assert unknown.value.extra["errors"][0]["field"] == "event_types"
    assert "case.status_changed" in unknown.value.detail  # names the known ones
    assert (await run(db, webhooks.list_endpoints, WebhooksQuery(actor=PARTNER))).items == []

    local = await create(db, url="http://127.0.0.1:8080/hook", allow=("127.0.0.0/8",))
    assert local.url == "http://127.0.0.1:8080/hook"  # an allowed network admits it
    with pytest.raises(ValidationFailed, match="unknown event type"):
        await run(db, webhooks.update, UpdateWebhook(
            actor=PARTNER, webhook_id=local.webhook_id, event_types=["submission.received"]),
            allow_networks=[])


async def test_at_most_twenty_per_organisation(db: Database,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    assert webhooks.MAX_ENDPOINTS == 20
    monkeypatch.setattr(webhooks, "MAX_ENDPOINTS", 3)  # the same rule, with fewer rows
    for _ in range(3):
        await create(db)
    with pytest.raises(Conflict, match="3 webhooks already"):
        await create(db)
    await create(db, MAP)  # another organisation counts its own


async def test_update_and_re_enabling_clears_why_it_was_disabled(db: Database) -> None:
    made = await create(db)
    changed = await run(db, webhooks.update, UpdateWebhook(
        actor=PARTNER, webhook_id=made.webhook_id, url="https://other.partner.example/v2",
        description="v2", event_types=["session.booked", "session.booked"]),
        allow_networks=[])
    assert (changed.url, changed.description, changed.event_types) == (
        "https://other.partner.example/v2", "v2", ["session.booked"])
    with pytest.raises(ValidationFailed, match="non-public"):
        await run(db, webhooks.update, UpdateWebhook(
            actor=PARTNER, webhook_id=made.webhook_id, url="https://10.0.0.1/"),
            allow_networks=[])
    async with db.transaction() as session:
        row = await session.get(WebhookEndpoint, made.webhook_id)
        assert row is not None
        await webhooks.record_outcome(session, row, Outcome("gone", http_status=410), T0)
    off = await run(db, webhooks.get, WebhookQuery(actor=PARTNER, webhook_id=made.webhook_id))
    assert (off.enabled, off.disabled_reason) == (False, "the endpoint answered 410 Gone")
    on = await run(db, webhooks.update, UpdateWebhook(
        actor=PARTNER, webhook_id=made.webhook_id, enabled=True), allow_networks=[])
    assert (on.enabled, on.disabled_reason, on.disabled_at, on.failing_since) == (
        True, None, None, None)
    assert on.url == "https://other.partner.example/v2"  # untouched fields stay
    paused = await run(db, webhooks.update, UpdateWebhook(
        actor=ADMIN, webhook_id=made.webhook_id, enabled=False), allow_networks=[])
    assert (paused.enabled, paused.disabled_reason) == (False, "disabled by admin-1")


async def test_delete_cancels_what_waits_and_keeps_the_record(db: Database) -> None:
    made = await create(db)
    sent = await notify(db, made.webhook_id, 2)
    waiting = await notify(db, made.webhook_id, 3, state="pending")
    gone = await run(db, webhooks.delete, WebhookQuery(actor=PARTNER,
                                                       webhook_id=made.webhook_id))
    assert (gone.webhook_id, gone.cancelled) == (made.webhook_id, 3)
    async with db.transaction() as session:
        assert await session.get(WebhookEndpoint, made.webhook_id) is None
        assert (await session.exec(select(WebhookSecret))).all() == []
        states = {n.id: n.state for n in (await session.exec(select(Notification))).all()}
    assert states == {**dict.fromkeys(sent, "sent"), **dict.fromkeys(waiting, "cancelled")}
    with pytest.raises(NotFound):
        await run(db, webhooks.get, WebhookQuery(actor=PARTNER, webhook_id=made.webhook_id))


async def test_rotation_signs_with_both_for_a_day(db: Database,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webhooks, "utcnow", lambda: T0)
    made = await create(db)
    ask = WebhookQuery(actor=PARTNER, webhook_id=made.webhook_id)
    first = await run(db, webhooks.rotate, ask, sealer=SEALER)
    assert first.secret != made.secret
    assert first.previous_valid_until == T0 + timedelta(hours=24)
    async with db.transaction() as session:
        assert await webhooks.secrets_for(session, made.webhook_id, SEALER, T0) == [
            first.secret, made.secret]  # newest first
        assert await webhooks.secrets_for(session, made.webhook_id, SEALER,
                                          T0 + timedelta(hours=25)) == [first.secret]
    # rotating again an hour later: the first secret keeps its earlier end, not a new day
    monkeypatch.setattr(webhooks, "utcnow", lambda: T0 + timedelta(hours=1))
    second = await run(db, webhooks.rotate, ask, sealer=SEALER)
    async with db.transaction() as session:
        ends = {s.expires_at for s in (await session.exec(select(WebhookSecret))).all()}
    assert ends == {T0 + timedelta(hours=24), T0 + timedelta(hours=25), None}
    assert second.previous_valid_until == T0 + timedelta(hours=25)
    # two days on, the expired secrets are deleted when rotating
    monkeypatch.setattr(webhooks, "utcnow", lambda: T0 + timedelta(days=2))
    third = await run(db, webhooks.rotate, ask, sealer=SEALER)
    async with db.transaction() as session:
        assert len((await session.exec(select(WebhookSecret))).all()) == 2
        assert await webhooks.secrets_for(session, made.webhook_id, SEALER,
                                          T0 + timedelta(days=2)) == [third.secret, second.secret]


async def test_deliveries_newest_first_with_attempts_and_a_cursor(db: Database) -> None:
    made = await create(db)
    other = await create(db)
    ids = await notify(db, made.webhook_id, 5)
    await notify(db, other.webhook_id, 2)  # another endpoint's
    page = await run(db, webhooks.deliveries, DeliveriesQuery(
        actor=PARTNER, webhook_id=made.webhook_id, limit=3))
    assert [d.message_id for d in page.items] == ids[::-1][:3]
    assert page.next_cursor is not None  # an opaque cursor after the third
    first = page.items[0]
    assert (first.event_type, first.state, first.body) == ("case.opened", "sent", '{"n":4}')
    assert [(a.number, a.status, a.http_status, a.duration_ms) for a in first.attempts] == [
        (1, "sent", 200, 12)]
    rest = await run(db, webhooks.deliveries, DeliveriesQuery(
        actor=PARTNER, webhook_id=made.webhook_id, limit=3, cursor=page.next_cursor))
    assert [d.message_id for d in rest.items] == ids[1::-1]
    assert rest.next_cursor is None


async def test_replay_one_or_all_since_a_time(db: Database) -> None:
    made = await create(db)
    old = await notify(db, made.webhook_id, 2, at=T0 - timedelta(days=1), state="dead")
    recent = await notify(db, made.webhook_id, 3, at=T0)
    [busy] = await notify(db, made.webhook_id, 1, at=T0 + timedelta(hours=1), state="sending")
    done = await run(db, webhooks.replay, ReplayWebhook(actor=PARTNER,
                                                        webhook_id=made.webhook_id, since=T0))
    assert done.replayed == 3  # not the one being sent right now, nothing older
    async with db.transaction() as session:
        rows = {n.id: n for n in (await session.exec(select(Notification))).all()}
    for message_id in recent:
        row = rows[message_id]
        assert (row.state, row.attempts, row.provider, row.first_failed_at,
                row.lease_until) == ("pending", 0, 0, None, None)
        assert row.next_attempt_at is not None
    assert {rows[i].state for i in old} == {"dead"}
    assert rows[busy].state == "sending"

    one = await run(db, webhooks.replay, ReplayWebhook(
        actor=PARTNER, webhook_id=made.webhook_id, message_id=old[0]))
    assert one.replayed == 1
    async with db.transaction() as session:
        row = await session.get(Notification, old[0])
        assert row is not None
        assert (row.state, row.first_failed_at) == ("pending", None)
    with pytest.raises(NotFound):  # not a message of this endpoint
        await run(db, webhooks.replay, ReplayWebhook(
            actor=PARTNER, webhook_id=made.webhook_id, message_id=uuid7()))
    with pytest.raises(Conflict, match="being sent"):
        await run(db, webhooks.replay, ReplayWebhook(
            actor=PARTNER, webhook_id=made.webhook_id, message_id=busy))


async def test_replay_caps_and_needs_an_enabled_endpoint(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webhooks, "REPLAY_LIMIT", 3)
    made = await create(db)
    ids = await notify(db, made.webhook_id, 4, state="dead")
    done = await run(db, webhooks.replay, ReplayWebhook(actor=PARTNER,
                                                        webhook_id=made.webhook_id, since=T0))
    assert done.replayed == 3
    async with db.transaction() as session:
        states = [(await session.get(Notification, i)).state for i in ids]  # type: ignore[union-attr]
    assert states == ["pending", "pending", "pending", "dead"]  # oldest first

    await run(db, webhooks.update, UpdateWebhook(actor=PARTNER, webhook_id=made.webhook_id,
                                                 enabled=False), allow_networks=[])
    with pytest.raises(Conflict, match="enable it first"):
        await run(db, webhooks.replay, ReplayWebhook(actor=PARTNER,
                                                     webhook_id=made.webhook_id, since=T0))


async def test_the_engine_finds_the_subscribed_enabled_endpoints(db: Database) -> None:
    opened = await create(db, event_types=("case.opened",))
    both = await create(db, event_types=("case.opened", "session.booked"))
    paused = await create(db, event_types=("case.opened",))
    theirs = await create(db, MAP, event_types=("case.opened",))
    await run(db, webhooks.update, UpdateWebhook(actor=PARTNER, webhook_id=paused.webhook_id,
                                                 enabled=False), allow_networks=[])
    async with db.transaction() as session:
        found = await webhooks.endpoints_for(session, ORG, "case.opened")
        assert [e.id for e in found] == [opened.webhook_id, both.webhook_id]
        booked = await webhooks.endpoints_for(session, ORG, "session.booked")
        assert [e.id for e in booked] == [both.webhook_id]
        assert [e.id for e in await webhooks.endpoints_for(session, OTHER, "case.opened")] == [
            theirs.webhook_id]
        assert await webhooks.endpoints_for(session, ORG, "case.shredded") == []


async def outcome(db: Database, endpoint_id: UUID, result: Outcome,
                  at: datetime) -> WebhookEndpoint:
    async with db.transaction() as session:
        row = await session.get(WebhookEndpoint, endpoint_id)
        assert row is not None
        await webhooks.record_outcome(session, row, result, at)
    async with db.transaction() as session:
        row = await session.get(WebhookEndpoint, endpoint_id)
        assert row is not None
        return row


async def test_410_or_five_days_of_failures_disable_a_success_resets_the_clock(db: Database) -> None:
    made = await create(db)
    failed = Outcome("failed", "HTTP 503", http_status=503)
    row = await outcome(db, made.webhook_id, failed, T0)
    assert (row.failing_since, row.enabled) == (T0, True)
    row = await outcome(db, made.webhook_id, failed, T0 + timedelta(days=4, hours=23))
    assert (row.failing_since, row.enabled) == (T0, True)  # the first failure counts
    row = await outcome(db, made.webhook_id, Outcome("sent", http_status=200),
                        T0 + timedelta(days=4, hours=23, minutes=30))
    assert (row.failing_since, row.enabled) == (None, True)

    restart = T0 + timedelta(days=6)
    await outcome(db, made.webhook_id, Outcome("refused", "resolves to 10.0.0.8"), restart)
    row = await outcome(db, made.webhook_id, failed, restart + timedelta(days=5))
    assert (row.enabled, row.disabled_at) == (False, restart + timedelta(days=5))
    assert row.disabled_reason is not None
    assert "5 days" in row.disabled_reason

    gone = await create(db)
    row = await outcome(db, gone.webhook_id, Outcome("gone", "HTTP 410", http_status=410), T0)
    assert (row.enabled, row.disabled_reason, row.disabled_at) == (
        False, "the endpoint answered 410 Gone", T0)


# --- what partners hear: the catalog and the thin payloads ------------------------------------
CASE, OTHER_CASE = uuid7(), uuid7()
SUBMISSION = uuid7()
START = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)


def _party() -> PartyRef:
    return PartyRef(party_id=uuid7(), role="employer", alias="Employer HR Manager Siti",
                    timezone="Asia/Kuala_Lumpur", language="en")


def test_each_partner_event_is_thin_and_for_the_right_organisations() -> None:
    booking, mediation, agreement, obligation, referral = (uuid7() for _ in range(5))
    cases = [
        (Evt.CASE_OPENED, CaseOpened(case_id=CASE, submission_id=SUBMISSION,
                                     reference="SU-K7M2-9QXD", organisation=ORG,
                                     status="received", acknowledge_by=date(2026, 12, 8)),
         [(ORG, "case.opened", {"case_id": str(CASE), "reference": "SU-K7M2-9QXD"})]),
        (Evt.CASE_STATUS_CHANGED, CaseStatusChanged(
            case_id=CASE, submission_id=SUBMISSION, organisation=ORG,
            from_status="received", to_status="in-assessment"),
         [(ORG, "case.status_changed", {"case_id": str(CASE), "from_status": "received",
                                        "to_status": "in-assessment"})]),
        (Evt.DEADLINE_BREACHED, DeadlineBreached(
            case_id=CASE, organisation=ORG, kind="feedback", due_on=date(2026, 12, 1),
            assigned_to="handler-ani"),
         [(ORG, "case.deadline_missed", {"case_id": str(CASE), "kind": "feedback",
                                         "due_on": "2026-12-01"})]),
        (Evt.CASE_SHREDDED, CaseShredded(case_id=CASE, submission_id=SUBMISSION,
                                         organisation=ORG, shredded_on=date(2026, 12, 1)),
         [(ORG, "case.shredded", {"case_id": str(CASE)})]),
        (Evt.OBLIGATION_MISSED, ObligationMissed(
            case_id=CASE, organisation=ORG, agreement_id=agreement, obligation_id=obligation,
            kind="payment", due_on=date(2026, 12, 1)),
         [(ORG, "agreement.obligation_missed", {
             "case_id": str(CASE), "agreement_id": str(agreement),
             "obligation_id": str(obligation), "kind": "payment", "due_on": "2026-12-01"})]),
        (Evt.REFERRAL_ACCEPTED, ReferralChanged(
            referral_id=referral, case_id=CASE, linked_case_id=OTHER_CASE, type="referral",
            from_organisation=ORG, to_organisation=OTHER, from_status="pending",
            to_status="accepted"),
         [(ORG, "referral.changed", {
             "referral_id": str(referral), "type": "referral", "from_status": "pending",
             "to_status": "accepted", "from_organisation": ORG, "to_organisation": OTHER,
             "case_id": str(CASE)}),  # the sender hears of its own case only
          (OTHER, "referral.changed", {
              "referral_id": str(referral), "type": "referral", "from_status": "pending",
              "to_status": "accepted", "from_organisation": ORG, "to_organisation": OTHER,
              "linked_case_id": str(OTHER_CASE)})]),  # and the receiver of its own
    ]
    for subject, kind in ((Evt.SESSION_BOOKED, "session.booked"),
                          (Evt.SESSION_RESCHEDULED, "session.rescheduled"),
                          (Evt.SESSION_CANCELLED, "session.cancelled")):
        event = SessionChanged(booking_id=booking, mediation_id=mediation, case_id=CASE,
                               organisation=ORG, starts_at=START,
                               ends_at=START + timedelta(hours=1),
                               timezone="Asia/Kuala_Lumpur", mode="video", sequence=2,
                               parties=[_party()], cancel_reason="mediator-unavailable")
        cases.append((subject, event, [(ORG, kind, {
            "booking_id": str(booking), "mediation_id": str(mediation), "case_id": str(CASE),
            "starts_at": "2026-12-03T17:00:00Z", "ends_at": "2026-12-03T18:00:00Z",
            "sequence": 2})]))
    for subject, event, expected in cases:
        found = partner_events(subject, event)
        assert found == expected, subject
        text = json.dumps([d for _, _, d in found])
        for secret in (str(SUBMISSION), "Siti", "handler-ani", "mediator-unavailable"):
            assert secret not in text, (subject, secret)
        assert {t for _, t, _ in found} <= set(EVENT_TYPES)
    assert {t for _, _, found in cases for _, t, _ in found} == set(EVENT_TYPES)


def test_events_partners_do_not_subscribe_to_give_nothing() -> None:
    follow_up = ReporterFollowUp(follow_up_id=uuid7(), submission_id=SUBMISSION, kind="reply",
                                 text="the agent came back", sent_on=date(2026, 12, 1))
    assert partner_events(Evt.REPORTER_FOLLOW_UP, follow_up) == []
    message = ReporterMessage(message_id=uuid7(), case_id=CASE, submission_id=SUBMISSION,
                              organisation=ORG, body="We called your employer.")
    assert partner_events(Evt.REPORTER_MESSAGE, message) == []


def test_the_payload_is_compact_sorted_and_always_the_same() -> None:
    data = {"to_status": "closed", "case_id": str(CASE), "from_status": None}
    at = datetime(2026, 11, 20, 18, 30, tzinfo=timezone(timedelta(hours=8)))
    body = payload("case.status_changed", data, at)
    assert body == (f'{{"data":{{"case_id":"{CASE}","from_status":null,"to_status":"closed"}},'
                    '"timestamp":"2026-11-20T10:30:00Z","type":"case.status_changed"}')
    assert payload("case.status_changed", dict(reversed(data.items())), at) == body
