"""The team's alert feed: case-management's missed deadlines and clusters become one alert each
for the organisation's case handlers, listed open first and newest first, taken on once; no
case content, no other organisation's alerts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import UUID

import nats
import pytest
from sqlalchemy import inspect
from sqlmodel import select

from suara_contracts.alerts import AcknowledgeAlert, AlertList, AlertsQuery, AlertView
from suara_contracts.events import (
    ClusterDetected,
    DeadlineBreached,
    Envelope,
    PartyAttendance,
    PartyRef,
    ReporterMessage,
)
from suara_contracts.rpc import Actor
from suara_contracts.subjects import Evt, Rpc
from suara_kit.clock import today, utcnow
from suara_kit.datakeys import use_keys
from suara_kit.db import Database
from suara_kit.errors import Conflict, Forbidden, NotFound, ValidationFailed
from suara_kit.ids import uuid7
from suara_kit.messaging import call
from suara_kit.testing import eventually, migrated
from suara_notification import alerts, service
from suara_notification.handlers import MIGRATIONS, build
from suara_notification.models import DataKeys, EventInbox, TeamAlert
from suara_notification.settings import NotificationSettings

ORG, OTHER = "tenaganita", "map-foundation"
MARKER = "Majikan saya menahan paspor dan gaji Siti"
ANI = Actor(subject="handler-ani", roles=["case-handler"], organisation=ORG)
BUDI = Actor(subject="handler-budi", roles=["case-handler"], organisation=ORG)
MAP = Actor(subject="handler-map", roles=["case-handler"], organisation=OTHER)


@pytest.fixture
async def db(database_url: Callable[[str], str]) -> AsyncIterator[Database]:
    async with migrated(MIGRATIONS, database_url("notification")) as database:
        use_keys(database, NotificationSettings(), DataKeys)
        yield database


def breach(kind: str = "acknowledge", organisation: str = ORG,
           assigned_to: str | None = None, case_id: UUID | None = None) -> DeadlineBreached:
    return DeadlineBreached(case_id=case_id or uuid7(), organisation=organisation,
                            kind=kind,  # type: ignore[arg-type]
                            due_on=date(2026, 3, 9), assigned_to=assigned_to)


def cluster(organisation: str = ORG) -> ClusterDetected:
    return ClusterDetected(organisation=organisation, respondent="Maju Jaya Sdn Bhd",
                           case_ids=[uuid7(), uuid7(), uuid7()], window_days=90)


async def raise_(db: Database, event: DeadlineBreached | ClusterDetected,
                 event_id: UUID | None = None) -> TeamAlert | None:
    async with db.transaction() as session:
        return await alerts.raise_alert(session, event_id or uuid7(), event)


async def listed(db: Database, actor: Actor = ANI, open_only: bool = False) -> list[AlertView]:
    async with db.transaction() as session:
        return (await alerts.list_alerts(session, AlertsQuery(actor=actor,
                                                              open_only=open_only))).items


async def take_on(db: Database, actor: Actor, alert_id: UUID) -> AlertView:
    async with db.transaction() as session:
        return await alerts.acknowledge(session, AcknowledgeAlert(actor=actor,
                                                                  alert_id=alert_id))


async def test_each_event_raises_one_alert_however_often_it_arrives(db: Database) -> None:
    event, event_id = breach(assigned_to="handler-ani"), uuid7()
    first = await raise_(db, event, event_id)
    assert first is not None
    assert await raise_(db, event, event_id) is None  # redelivered: nothing new
    assert await raise_(db, cluster()) is not None
    async with db.transaction() as session:
        rows = (await session.exec(select(TeamAlert))).all()
    assert len(rows) == 2

    items = await listed(db)
    assert [a.kind for a in items] == ["cluster", "deadline-acknowledge"]
    deadline = items[1]
    assert deadline.case_ids == [event.case_id]
    assert (deadline.due_on, deadline.window_days, deadline.respondent) == (
        date(2026, 3, 9), None, None)
    assert deadline.assigned_to == "handler-ani"
    assert deadline.raised_on == today()
    assert (deadline.acknowledged_by, deadline.acknowledged_on) == (None, None)
    grouped = items[0]
    assert (grouped.respondent, grouped.window_days, grouped.due_on) == (
        "Maju Jaya Sdn Bhd", 90, None)
    assert len(grouped.case_ids) == 3
    assert grouped.assigned_to is None  # a cluster is for the whole team


async def test_every_deadline_kind_and_an_unassigned_case(db: Database) -> None:
    for kind in ("acknowledge", "feedback", "update"):
        await raise_(db, breach(kind))
    items = await listed(db)
    assert sorted(a.kind for a in items) == ["deadline-acknowledge", "deadline-feedback",
                                             "deadline-update"]
    assert all(a.assigned_to is None for a in items)  # unassigned: the whole team


async def test_open_alerts_first_then_newest_first(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    raised: dict[str, UUID] = {}
    for name, days_ago in (("old", 3), ("middle", 2), ("new", 1), ("newer-same-day", 1)):
        monkeypatch.setattr(alerts, "today", lambda d=days_ago: today() - timedelta(days=d))
        alert = await raise_(db, breach())
        assert alert is not None
        raised[name] = alert.alert_id
    monkeypatch.setattr(alerts, "today", today)
    names = {v: k for k, v in raised.items()}

    assert [names[a.alert_id] for a in await listed(db)] == [
        "newer-same-day", "new", "middle", "old"]
    taken = await take_on(db, BUDI, raised["new"])
    assert (taken.acknowledged_by, taken.acknowledged_on) == ("handler-budi", today())
    await take_on(db, ANI, raised["old"])
    assert [names[a.alert_id] for a in await listed(db)] == [
        "newer-same-day", "middle", "new", "old"]
    assert [names[a.alert_id] for a in await listed(db, open_only=True)] == [
        "newer-same-day", "middle"]


async def test_an_organisation_sees_and_takes_on_only_its_own_alerts(db: Database) -> None:
    ours = await raise_(db, breach())
    theirs = await raise_(db, cluster(OTHER))
    assert ours is not None
    assert theirs is not None
    assert [a.alert_id for a in await listed(db, ANI)] == [ours.alert_id]
    assert [a.alert_id for a in await listed(db, MAP)] == [theirs.alert_id]
    with pytest.raises(NotFound):
        await take_on(db, MAP, ours.alert_id)
    with pytest.raises(NotFound):
        await take_on(db, ANI, uuid7())
    assert (await listed(db, ANI))[0].acknowledged_by is None

    for outsider in (Actor(subject="m", roles=["mediator"], organisation=ORG),
                     Actor(subject="c", roles=["worker-committee"]),
                     Actor(subject="h", roles=["case-handler"])):  # no organisation
        with pytest.raises(Forbidden):
            await listed(db, outsider)
        with pytest.raises(Forbidden):
            await take_on(db, outsider, ours.alert_id)


async def test_taking_an_alert_on_twice_is_a_conflict_naming_who(db: Database) -> None:
    alert = await raise_(db, breach())
    assert alert is not None
    await take_on(db, ANI, alert.alert_id)
    with pytest.raises(Conflict) as again:
        await take_on(db, BUDI, alert.alert_id)
    assert "handler-ani" in again.value.detail
    assert again.value.extra == {"acknowledged_by": "handler-ani",
                                 "acknowledged_on": today().isoformat()}
    with pytest.raises(Conflict) as mine:
        await take_on(db, ANI, alert.alert_id)
    assert mine.value.detail.startswith("You took this alert on already")
    assert (await listed(db))[0].acknowledged_by == "handler-ani"  # the first one stands


async def test_an_alert_holds_no_case_content(db: Database) -> None:
    report = uuid7()
    async with db.transaction() as session:  # the reporter's inbox has content; alerts do not
        await service.deliver_to_inbox(session, ReporterMessage(
            message_id=uuid7(), case_id=uuid7(), submission_id=report, organisation=ORG,
            body=MARKER))
    await raise_(db, breach())
    await raise_(db, cluster())
    async with db.engine.connect() as conn:
        columns = await conn.run_sync(
            lambda c: {col["name"] for col in inspect(c).get_columns("team_alert")})
    assert columns == {"alert_id", "event_id", "organisation", "kind", "case_ids", "due_on",
                       "window_days", "respondent", "party", "assigned_to", "raised_on",
                       "acknowledged_by", "acknowledged_on"}
    assert set(AlertView.model_fields) == columns - {"event_id"}
    items = await listed(db)
    assert len(items) == 2
    assert MARKER not in AlertList(items=items).model_dump_json()
    assert str(report) not in AlertList(items=items).model_dump_json()


def _envelope(subject: str, event: DeadlineBreached | ClusterDetected) -> tuple[UUID, bytes]:
    event_id = uuid7()
    envelope = Envelope[type(event)](  # type: ignore[misc]
        id=event_id, type=subject, source="/suara/case-management", time=utcnow(), data=event)
    return event_id, envelope.model_dump_json().encode()


async def test_the_running_service_consumes_both_events_and_serves_the_feed(
        nats_url: str, database_url: Callable[[str], str], tmp_path: Path) -> None:
    app = build(NotificationSettings(database_url=database_url("notification"),
                                     nats_url=nats_url, var_dir=tmp_path, env="test"))
    await app.start()
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        handled: list[tuple[UUID, str]] = []
        for subject, event, durable in (
                (Evt.DEADLINE_BREACHED, breach(assigned_to="handler-ani"),
                 "notification-deadline-breached"),
                (Evt.CLUSTER_DETECTED, cluster(), "notification-cluster-detected")):
            event_id, body = _envelope(subject, event)
            handled.append((event_id, durable))
            for copy in range(2):  # delivered twice (JetStream's dedup window passed)
                await js.publish(subject, body, headers={"Nats-Msg-Id": f"{event_id}-{copy}"})

        async def consumed() -> bool:
            async with app.db.transaction() as session:
                done = {(row.event_id, row.consumer)
                        for row in (await session.exec(select(EventInbox))).all()}
            return set(handled) <= done

        await eventually(consumed)
        feed = await call(nc, Rpc.NOTIFICATION_ALERTS, AlertsQuery(actor=ANI), AlertList)
        # two consumers, one event each: which alert is newer depends on which ran first
        assert sorted(a.kind for a in feed.items) == ["cluster", "deadline-acknowledge"]
        other = await call(nc, Rpc.NOTIFICATION_ALERTS, AlertsQuery(actor=MAP), AlertList)
        assert other.items == []

        alert_id = next(a.alert_id for a in feed.items if a.kind == "deadline-acknowledge")
        taken = await call(nc, Rpc.NOTIFICATION_ALERT_ACKNOWLEDGE,
                           AcknowledgeAlert(actor=BUDI, alert_id=alert_id), AlertView)
        assert taken.acknowledged_by == "handler-budi"
        with pytest.raises(Conflict) as again:
            await call(nc, Rpc.NOTIFICATION_ALERT_ACKNOWLEDGE,
                       AcknowledgeAlert(actor=ANI, alert_id=alert_id), AlertView)
        assert again.value.extra["acknowledged_by"] == "handler-budi"
        with pytest.raises(NotFound):
            await call(nc, Rpc.NOTIFICATION_ALERT_ACKNOWLEDGE,
                       AcknowledgeAlert(actor=MAP, alert_id=alert_id), AlertView)
        still_open = await call(nc, Rpc.NOTIFICATION_ALERTS,
                                AlertsQuery(actor=ANI, open_only=True), AlertList)
        assert [a.kind for a in still_open.items] == ["cluster"]
    finally:
        await nc.close()
        await app.stop()


def attendance(response: str, organisation: str = ORG) -> PartyAttendance:
    start = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)  # 4 December, 01:00 in Kuala Lumpur
    return PartyAttendance(
        booking_id=uuid7(), mediation_id=uuid7(), case_id=uuid7(), organisation=organisation,
        starts_at=start, ends_at=start + timedelta(hours=1), timezone="Asia/Kuala_Lumpur",
        sequence=0, response=response,  # type: ignore[arg-type]
        party=PartyRef(party_id=uuid7(), role="employer", alias="Employer HR",
                       timezone="Asia/Kuala_Lumpur", language="en"))


async def test_a_declined_or_missed_session_alerts_the_team(db: Database) -> None:
    assert await raise_(db, attendance("accepted")) is None  # nothing to do
    declined = await raise_(db, attendance("declined"))
    missed = await raise_(db, attendance("no-show", organisation=OTHER))
    assert declined is not None
    assert missed is not None
    [mine] = await listed(db)
    assert (mine.kind, mine.party, mine.due_on, mine.assigned_to) == (
        "session-declined", "employer: Employer HR", date(2026, 12, 4), None)  # local day
    [theirs] = await listed(db, MAP)
    assert theirs.kind == "session-no-show"


async def test_the_feed_comes_in_pages_in_its_order(db: Database,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    for days_ago in (4, 3, 3, 2, 1):
        monkeypatch.setattr(alerts, "today", lambda d=days_ago: today() - timedelta(days=d))
        await raise_(db, breach())
    monkeypatch.setattr(alerts, "today", today)
    whole = await listed(db)
    await take_on(db, ANI, whole[1].alert_id)
    whole = await listed(db)
    seen, cursor = [], None
    while True:
        async with db.transaction() as session:
            page = await alerts.list_alerts(session, AlertsQuery(actor=ANI, limit=2,
                                                                 cursor=cursor))
        seen += [a.alert_id for a in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [a.alert_id for a in whole]
    assert whole[-1].acknowledged_by == "handler-ani"  # taken on: after the open ones
    async with db.transaction() as session:
        with pytest.raises(ValidationFailed, match="cursor"):
            await alerts.list_alerts(session, AlertsQuery(actor=ANI, cursor=cursor + "x"))
