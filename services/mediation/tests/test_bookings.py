"""Resources, mediations, holds and bookings against real SQLite and PostgreSQL databases built
by the migrations, including concurrent bookings of one mediator on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import func, select

from suara_contracts.events import CaseOpened
from suara_contracts.mediation import (
    BookingsQuery,
    BookingView,
    BookSlot,
    CancelBooking,
    ConfirmHold,
    CreateMediation,
    CreateResource,
    MediationQuery,
    MediationsQuery,
    PlaceHold,
    RecordNoShow,
    RecordResponse,
    Reschedule,
    ResourcesQuery,
    UpdateResource,
)
from suara_contracts.proposals import ProposeSlots
from suara_contracts.rpc import Actor
from suara_contracts.subjects import Evt
from suara_kit import migrate
from suara_kit.errors import Conflict, Forbidden, NotFound, SuaraError, ValidationFailed
from suara_kit.ids import uuid7
from suara_kit.outbox import parse_payload
from suara_kit.service import ServiceApp
from suara_mediation import bookings, mediations, proposals, resources, service
from suara_mediation.handlers import MIGRATIONS, build
from suara_mediation.models import Booking, Mediation, Outbox
from suara_mediation.settings import MediationSettings

KL = ZoneInfo("Asia/Kuala_Lumpur")
MEDIATOR = Actor(subject="mediator-1", roles=["mediator"], organisation="tenaganita")
OUTSIDER = Actor(subject="mediator-9", roles=["mediator"], organisation="map-foundation")
ADMIN = Actor(subject="admin-1", roles=["admin"], organisation="tenaganita")
NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # Tuesday 09:00 in Kuala Lumpur
WEEKDAYS = [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(1, 6)]


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    """Freeze the modules' clocks at NOW; the returned function moves them."""
    def move(to: datetime) -> None:
        for module in (bookings, resources, proposals):
            monkeypatch.setattr(module, "utcnow", lambda: to)
    move(NOW)
    return move


@pytest.fixture
async def app(database_url: Callable[[str], str]) -> AsyncIterator[ServiceApp]:
    url = database_url("mediation")
    await migrate.upgrade_async(MIGRATIONS, url)
    app = build(MediationSettings(database_url=url))
    yield app
    await app.db.dispose()


async def run(app: ServiceApp, rule: Callable[..., Any], command: Any, *more: Any) -> Any:
    async with app.transaction() as session:
        return await rule(session, command, *more)


async def make_resource(app: ServiceApp, kind: str = "mediator", name: str = "Mediator Aisyah",
                        **changes: Any) -> UUID:
    fields: dict[str, Any] = {"actor": MEDIATOR, "kind": kind, "name": name,
                              "timezone": "Asia/Kuala_Lumpur", "weekly_hours": WEEKDAYS,
                              "languages": ["ms", "en"]}
    view = await run(app, resources.create, CreateResource(**(fields | changes)))
    return UUID(str(view.resource_id))


@pytest.fixture
async def case_id(app: ServiceApp) -> UUID:
    case_id = uuid7()
    event = CaseOpened(case_id=case_id, submission_id=uuid7(), reference="SU-AAAA-BBBB",
                       organisation="tenaganita", status="received",
                       acknowledge_by=date(2026, 12, 8))
    async with app.transaction() as session:
        await service.case_opened(session, event)
    return case_id


PARTIES = [
    {"role": "worker", "alias": "Worker A", "timezone": "Asia/Kuala_Lumpur",
     "quiet_hours": {"start": "22:00", "end": "07:00"}, "rest_days": [7], "language": "my"},
    {"role": "employer", "alias": "Employer HR", "timezone": "Asia/Kuala_Lumpur"},
    {"role": "interpreter", "alias": "Interpreter", "timezone": "Asia/Yangon", "language": "my"},
]


@pytest.fixture
async def mediation_id(app: ServiceApp, case_id: UUID) -> UUID:
    view = await run(app, mediations.create, CreateMediation(
        actor=MEDIATOR, case_id=case_id, mode="video", languages=[], parties=PARTIES))
    return UUID(str(view.mediation_id))


def at(hour: int, day: int = 3, minute: int = 0) -> datetime:
    """`hour`:`minute` Kuala Lumpur time on December `day`, 2026."""
    return datetime(2026, 12, day, hour, minute, tzinfo=KL)


def slot(mediation_id: UUID, ids: list[UUID], start: datetime, key: str,
         minutes: int = 60, **more: Any) -> dict[str, Any]:
    return {"actor": MEDIATOR, "mediation_id": mediation_id, "resources": ids,
            "starts_at": start, "ends_at": start + timedelta(minutes=minutes),
            "idempotency_key": key, **more}


async def book(app: ServiceApp, **fields: Any) -> BookingView:
    return await run(app, bookings.book, BookSlot(**fields), app.emit)  # type: ignore[no-any-return]


async def events(app: ServiceApp) -> list[tuple[str, dict[str, Any]]]:
    async with app.transaction() as session:
        rows = (await session.exec(select(Outbox).order_by(Outbox.created_at))).all()
    return [(r.subject, _data(app, r)) for r in rows]


def _data(app: ServiceApp, row: Outbox) -> dict[str, Any]:
    _, data = parse_payload(row.payload.encode(), app.events_sealer, row.subject)
    return dict(data)


# resources
async def test_resource_round_trip_and_organisation_scope(app: ServiceApp) -> None:
    rid = await make_resource(app, "interpreter", "Interpreter Ko Min", languages=["my"],
                              buffer_after_minutes=15,
                              date_overrides=[{"date": "2026-12-25", "hours": []}])
    listed = await run(app, resources.of_organisation, ResourcesQuery(actor=ADMIN))
    [mine] = listed.items
    assert (mine.resource_id, mine.kind, mine.languages) == (rid, "interpreter", ["my"])
    assert mine.date_overrides[0].hours == []
    assert (await run(app, resources.of_organisation, ResourcesQuery(actor=OUTSIDER))).items == []
    with pytest.raises(NotFound):
        await run(app, resources.update, UpdateResource(
            actor=OUTSIDER, resource_id=rid, kind="room", name="x", timezone="UTC"))
    updated = await run(app, resources.update, UpdateResource(
        actor=ADMIN, resource_id=rid, kind="interpreter", name="Ko Min", languages=["my", "ms"],
        timezone="Asia/Yangon"))
    assert (updated.name, updated.timezone) == ("Ko Min", "Asia/Yangon")


async def test_a_handler_cannot_manage_resources(app: ServiceApp) -> None:
    handler = Actor(subject="h", roles=["case-handler"], organisation="tenaganita")
    with pytest.raises(Forbidden):
        await run(app, resources.of_organisation, ResourcesQuery(actor=handler))


@pytest.mark.parametrize(("changes", "field"), [
    ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ({"weekly_hours": [{"weekday": 1, "start": "17:00", "end": "09:00"}]}, "weekly_hours[0].end"),
    ({"weekly_hours": [{"weekday": 2, "start": "09:00", "end": "13:00"},
                       {"weekday": 2, "start": "12:00", "end": "18:00"}]},
     "weekly_hours[1].start"),
    ({"date_overrides": [{"date": "2026-12-24", "hours": [{"start": "12:00", "end": "11:00"}]}]},
     "date_overrides[0].hours[0].end"),
    ({"minimum_notice_minutes": 1440, "booking_horizon_days": 1}, "minimum_notice_minutes"),
    ({"kind": "interpreter", "languages": []}, "languages"),
])
async def test_bad_availability_is_422_naming_the_field(app: ServiceApp, changes: dict[str, Any],
                                                        field: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        await make_resource(app, **changes)
    assert field in [e["field"] for e in info.value.extra["errors"]]


# mediations
async def test_mediation_is_for_a_case_of_the_mediators_organisation(
        app: ServiceApp, case_id: UUID, mediation_id: UUID) -> None:
    with pytest.raises(NotFound, match="no such case"):
        await run(app, mediations.create, CreateMediation(
            actor=OUTSIDER, case_id=case_id, parties=PARTIES))
    with pytest.raises(NotFound):
        await run(app, bookings.mediation_detail,
                  MediationQuery(actor=OUTSIDER, mediation_id=mediation_id))
    seen = await run(app, bookings.mediation_detail,
                     MediationQuery(actor=MEDIATOR, mediation_id=mediation_id))
    assert [(p.role, p.alias) for p in seen.parties] == [
        ("worker", "Worker A"), ("employer", "Employer HR"), ("interpreter", "Interpreter")]
    assert seen.parties[0].rest_days == [7]
    assert str(seen.parties[0].quiet_hours.start) == "22:00:00"


async def test_mediation_checks_parties(app: ServiceApp, case_id: UUID) -> None:
    with pytest.raises(ValidationFailed) as info:
        await run(app, mediations.create, CreateMediation(
            actor=MEDIATOR, case_id=case_id, languages=["km"],
            parties=[{"role": "employer", "alias": "HR", "timezone": "Asia/Nowhere"}]))
    assert info.value.extra["errors"][0]["field"] == "parties[0].timezone"
    with pytest.raises(ValidationFailed) as info:
        await run(app, mediations.create, CreateMediation(
            actor=MEDIATOR, case_id=case_id, languages=["km"],
            parties=[{"role": "employer", "alias": "HR", "timezone": "Asia/Bangkok"}]))
    assert [e["field"] for e in info.value.extra["errors"]] == ["parties", "languages"]


# holds and bookings
async def test_book_directly_stages_an_event_with_aliases_only(
        app: ServiceApp, mediation_id: UUID) -> None:
    mediator, room = await make_resource(app), await make_resource(app, "video-link", "Zoom 1")
    booked = await book(app, **slot(mediation_id, [mediator, room], at(10), "k-1"))
    assert (booked.status, booked.sequence, booked.timezone) == ("booked", 0, "Asia/Kuala_Lumpur")
    assert booked.starts_at == at(10)
    assert {r.kind for r in booked.resources} == {"mediator", "video-link"}
    [(subject, data)] = await events(app)
    assert subject == Evt.SESSION_BOOKED
    assert [(p["role"], p["alias"]) for p in data["parties"]] == [
        ("worker", "Worker A"), ("employer", "Employer HR"), ("interpreter", "Interpreter")]
    assert set(data["parties"][0]) == {"party_id", "role", "alias", "timezone", "language"}


async def test_idempotent_retry_and_key_reuse(app: ServiceApp, mediation_id: UUID) -> None:
    mediator = await make_resource(app)
    first = await book(app, **slot(mediation_id, [mediator], at(10), "k-1"))
    again = await book(app, **slot(mediation_id, [mediator], at(10), "k-1"))
    assert again.booking_id == first.booking_id
    assert (first.replayed, again.replayed) == (False, True)
    with pytest.raises(ValidationFailed, match="Idempotency-Key reuse"):
        await book(app, **slot(mediation_id, [mediator], at(14), "k-1"))
    with pytest.raises(ValidationFailed, match="Idempotency-Key reuse"):  # another operation
        await run(app, bookings.hold, PlaceHold(**slot(mediation_id, [mediator], at(10), "k-1")),
                  app.emit)
    async with app.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Booking)) == 1
    assert len(await events(app)) == 1


async def test_overlap_is_refused_naming_resource_and_local_time(
        app: ServiceApp, mediation_id: UUID) -> None:
    mediator = await make_resource(app)
    await book(app, **slot(mediation_id, [mediator], at(10), "k-1"))
    with pytest.raises(Conflict) as info:
        await book(app, **slot(mediation_id, [mediator], at(10, minute=30), "k-2"))
    assert "mediator Mediator Aisyah is already booked 2026-12-03 10:00–11:00 " \
           "(Asia/Kuala_Lumpur)" in info.value.detail
    assert info.value.extra["resource_id"] == str(mediator)
    await book(app, **slot(mediation_id, [mediator], at(11), "k-3"))  # back to back is fine


async def test_buffers_keep_bookings_apart(app: ServiceApp, mediation_id: UUID) -> None:
    early = [{"weekday": d, "start": "08:00", "end": "17:00"} for d in range(1, 6)]
    interpreter = await make_resource(app, "interpreter", "Ko Min", languages=["my"],
                                      buffer_before_minutes=10, buffer_after_minutes=20,
                                      weekly_hours=early)
    mediator = await make_resource(app)
    other = await make_resource(app, name="Mediator Budi", weekly_hours=early)
    await book(app, **slot(mediation_id, [mediator, interpreter], at(10), "k-1"))
    with pytest.raises(Conflict, match="20-minute buffer after"):  # 11:00 + 20 + 10 > 11:20
        await book(app, **slot(mediation_id, [other, interpreter], at(11, minute=20), "k-2"))
    ok = await book(app, **slot(mediation_id, [other, interpreter], at(11, minute=30), "k-3"))
    assert ok.status == "booked"
    with pytest.raises(Conflict, match="Ko Min"):  # before: 09:00 + 60 + 20 + 10 > 10:00
        await book(app, **slot(mediation_id, [other, interpreter], at(8, minute=31), "k-4"))


async def test_notice_horizon_and_team(app: ServiceApp, mediation_id: UUID) -> None:
    mediator = await make_resource(app, minimum_notice_minutes=24 * 60, booking_horizon_days=30)
    with pytest.raises(ValidationFailed, match="minutes' notice: the earliest start is "
                                              "2026-12-02 09:00"):
        await book(app, **slot(mediation_id, [mediator], at(14, day=1), "k-1"))
    with pytest.raises(ValidationFailed, match="at most 30 days ahead") as info:
        await book(app, **slot(mediation_id, [mediator], at(10, day=31), "k-2"))
    assert info.value.extra["errors"][0]["field"] == "ends_at"
    with pytest.raises(ValidationFailed, match="must be in the future"):
        await book(app, **slot(mediation_id, [mediator], at(8, day=1), "k-3"))
    with pytest.raises(ValidationFailed, match="outside the published hours"):
        await book(app, **slot(mediation_id, [mediator], at(18, day=3), "k-late"))
    with pytest.raises(ValidationFailed, match="outside the published hours"):  # a Saturday
        await book(app, **slot(mediation_id, [mediator], at(10, day=5), "k-saturday"))
    room, video = await make_resource(app, "room", "Room 2"), await make_resource(
        app, "video-link", "Zoom")
    with pytest.raises(ValidationFailed, match="at most one room or video link"):
        await book(app, **slot(mediation_id, [mediator, room, video], at(10), "k-4"))
    with pytest.raises(ValidationFailed, match="exactly one mediator"):
        await book(app, **slot(mediation_id, [room], at(10), "k-5"))
    with pytest.raises(ValidationFailed, match="no such resource"):
        await book(app, **slot(mediation_id, [mediator, uuid7()], at(10), "k-6"))


async def test_hold_expires_and_then_frees_its_resources(
        app: ServiceApp, mediation_id: UUID, clock: Callable[[datetime], None]) -> None:
    mediator = await make_resource(app)
    held = await run(app, bookings.hold, PlaceHold(**slot(mediation_id, [mediator], at(10), "h")),
                     app.emit)
    assert (held.status, held.expires_at) == ("held", NOW + timedelta(minutes=15))
    with pytest.raises(Conflict, match="already held"):
        await book(app, **slot(mediation_id, [mediator], at(10), "k-1"))
    clock(NOW + timedelta(minutes=16))
    with pytest.raises(Conflict, match="expired"):
        await run(app, bookings.confirm, ConfirmHold(actor=MEDIATOR, booking_id=held.booking_id,
                                                     idempotency_key="c"), app.emit)
    taken = await book(app, **slot(mediation_id, [mediator], at(10), "k-2"))
    assert taken.status == "booked"
    seen = await run(app, bookings.mediation_detail,
                     MediationQuery(actor=MEDIATOR, mediation_id=mediation_id))
    assert sorted(b.status for b in seen.bookings) == ["booked", "expired"]


async def test_confirm_a_hold_once(app: ServiceApp, mediation_id: UUID) -> None:
    mediator = await make_resource(app)
    held = await run(app, bookings.hold, PlaceHold(**slot(mediation_id, [mediator], at(10), "h",
                                                          hold_minutes=5)), app.emit)
    assert held.expires_at == NOW + timedelta(minutes=5)
    confirm = ConfirmHold(actor=MEDIATOR, booking_id=held.booking_id, idempotency_key="c")
    booked = await run(app, bookings.confirm, confirm, app.emit)
    assert (booked.status, booked.expires_at) == ("booked", None)
    assert (await run(app, bookings.confirm, confirm, app.emit)).replayed
    with pytest.raises(Conflict, match="not a hold"):
        await run(app, bookings.confirm, confirm.model_copy(update={"idempotency_key": "c2"}),
                  app.emit)
    assert [s for s, _ in await events(app)] == [Evt.SESSION_BOOKED]


async def test_reschedule_respond_cancel_and_no_show(
        app: ServiceApp, mediation_id: UUID, clock: Callable[[datetime], None]) -> None:
    mediator = await make_resource(app)
    booked = await book(app, **slot(mediation_id, [mediator], at(10), "k-1"))
    worker, employer = booked.attendance[0].party_id, booked.attendance[1].party_id
    answered = await run(app, bookings.respond, RecordResponse(
        actor=MEDIATOR, booking_id=booked.booking_id, party_id=worker, response="accepted"),
        app.emit)
    assert [a.response for a in answered.attendance] == ["accepted", "pending", "pending"]

    move = Reschedule(actor=MEDIATOR, booking_id=booked.booking_id, starts_at=at(14),
                      ends_at=at(15), idempotency_key="r-1")
    moved = await run(app, bookings.reschedule, move, app.emit)
    assert (moved.sequence, moved.starts_at) == (1, at(14))
    assert [a.response for a in moved.attendance] == ["pending"] * 3  # asked again
    assert (await run(app, bookings.reschedule, move, app.emit)).sequence == 1  # replayed
    await book(app, **slot(mediation_id, [mediator], at(10), "k-2"))  # the old time is free

    with pytest.raises(Conflict, match="record a no-show after that"):
        await run(app, bookings.no_show, RecordNoShow(
            actor=MEDIATOR, booking_id=booked.booking_id, party_id=employer), app.emit)
    clock(at(14, minute=20).astimezone(UTC))
    shown = await run(app, bookings.no_show, RecordNoShow(
        actor=MEDIATOR, booking_id=booked.booking_id, party_id=employer), app.emit)
    assert [a.no_show for a in shown.attendance] == [False, True, False]
    with pytest.raises(NotFound, match="No such party"):
        await run(app, bookings.no_show, RecordNoShow(
            actor=MEDIATOR, booking_id=booked.booking_id, party_id=uuid7()), app.emit)

    cancelled = await run(app, bookings.cancel, CancelBooking(
        actor=MEDIATOR, booking_id=booked.booking_id, reason="party-unavailable",
        note="Worker A's employer moved her to another house"), app.emit)
    assert (cancelled.status, cancelled.sequence, cancelled.cancel_reason) == (
        "cancelled", 2, "party-unavailable")
    with pytest.raises(Conflict):
        await run(app, bookings.cancel, CancelBooking(
            actor=MEDIATOR, booking_id=booked.booking_id, reason="other"), app.emit)
    with pytest.raises(NotFound):
        await run(app, bookings.cancel, CancelBooking(
            actor=OUTSIDER, booking_id=booked.booking_id, reason="other"), app.emit)

    staged = await events(app)
    assert [s for s, _ in staged] == [
        Evt.SESSION_BOOKED, Evt.PARTY_RESPONDED, Evt.SESSION_RESCHEDULED, Evt.SESSION_BOOKED,
        Evt.PARTY_NO_SHOW, Evt.SESSION_CANCELLED]
    assert staged[1][1]["party"]["alias"] == "Worker A"
    assert staged[1][1]["response"] == "accepted"
    assert staged[4][1]["response"] == "no-show"
    assert staged[5][1]["cancel_reason"] == "party-unavailable"
    assert "moved her" not in json.dumps([d for _, d in staged])  # the note stays in the row


async def test_concurrent_bookings_of_one_mediator_book_once(
        app: ServiceApp, mediation_id: UUID, db_backend: str) -> None:
    """Fifteen overlapping bookings of one mediator at once, each in its own transaction:
    exactly one wins; the others are 409s naming the mediator."""
    mediator = await make_resource(app)
    attempts = [book(app, **slot(mediation_id, [mediator], at(10, minute=2 * i), f"race-{i}"))
                for i in range(15)]
    results = await asyncio.gather(*attempts, return_exceptions=True)
    won = [r for r in results if isinstance(r, BookingView)]
    lost = [r for r in results if isinstance(r, SuaraError)]
    assert len(won) == 1, results
    assert len(lost) == 14
    assert all(isinstance(r, Conflict) and "Mediator Aisyah" in r.detail for r in lost), lost
    async with app.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Booking)) == 1
    assert db_backend in ("sqlite", "postgresql")


async def test_concurrent_retries_with_one_key_book_once(
        app: ServiceApp, mediation_id: UUID) -> None:
    """The same request sent five times at once (a client retrying): one booking, and every
    answer names it."""
    mediator = await make_resource(app)
    async def attempt() -> BookingView:
        try:
            return await book(app, **slot(mediation_id, [mediator], at(10), "same"))
        except IntegrityError:  # what the endpoint wrapper retries once
            return await book(app, **slot(mediation_id, [mediator], at(10), "same"))

    results = await asyncio.gather(*[attempt() for _ in range(5)])
    assert len({r.booking_id for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    async with app.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Booking)) == 1
        assert await session.scalar(select(func.count()).select_from(Mediation)) == 1


# proposals: the slot engine over stored resources, parties and bookings
async def propose(app: ServiceApp, mediation_id: UUID, **fields: Any) -> Any:
    async with app.db.transaction() as session:
        return await proposals.propose(session, ProposeSlots(
            actor=MEDIATOR, mediation_id=mediation_id, **({"duration_minutes": 60} | fields)))


async def test_proposals_respect_hours_bookings_and_the_workers_rest_day(
        app: ServiceApp, mediation_id: UUID) -> None:
    mediator = await make_resource(app, weekly_hours=[
        {"weekday": d, "start": "09:00", "end": "17:00"} for d in range(1, 8)])
    video = await make_resource(app, "video-link", "Zoom", weekly_hours=[
        {"weekday": d, "start": "07:00", "end": "22:00"} for d in range(1, 8)])
    await book(app, **slot(mediation_id, [mediator, video], at(9, day=2), "k-1", minutes=480))
    found = await propose(app, mediation_id, count=6)
    assert found.reasons == []
    starts = [s.starts_at.astimezone(KL) for s in found.slots]
    assert len(starts) == 6
    for start, option in zip(starts, found.slots, strict=True):
        assert start.date() != date(2026, 12, 2)  # booked all day
        assert start.isoweekday() != 7  # the worker's rest day
        assert 9 <= start.hour < 17
        assert sorted(option.resource_ids) == sorted([mediator, video])
        assert {t.alias for t in option.local} == {"Worker A", "Employer HR", "Interpreter"}
    yangon = next(t for t in found.slots[0].local if t.timezone == "Asia/Yangon")
    assert yangon.start.endswith("+06:30")
    first = found.slots[0]
    assert first.starts_at > NOW, found.slots
    booked = await book(app, **slot(mediation_id, first.resource_ids, first.starts_at, "k-2"))
    assert booked.status == "booked"  # what is proposed is bookable
    again = await propose(app, mediation_id, count=6)
    assert first.starts_at not in [s.starts_at for s in again.slots]


async def test_no_slot_says_why(app: ServiceApp, case_id: UUID) -> None:
    view = await run(app, mediations.create, CreateMediation(
        actor=MEDIATOR, case_id=case_id, mode="video", languages=["my"], parties=PARTIES))
    await make_resource(app)
    found = await propose(app, UUID(str(view.mediation_id)))
    assert found.slots == []
    assert {r.code for r in found.reasons} == {"missing-resource"}
    assert any("interpreter for my" in r.message for r in found.reasons), found.reasons
    with pytest.raises(ValidationFailed, match="step_minutes"):
        await propose(app, UUID(str(view.mediation_id)), step_minutes=7)
    with pytest.raises(NotFound):
        async with app.db.transaction() as session:
            await proposals.propose(session, ProposeSlots(
                actor=OUTSIDER, mediation_id=UUID(str(view.mediation_id))))


# a staff member's own resource, the calendar's window and the organisation's mediations
async def test_a_resource_is_linked_to_its_mediators_own_account_once(app: ServiceApp) -> None:
    mine = await make_resource(app, account=MEDIATOR.subject)
    listed = await run(app, resources.of_organisation, ResourcesQuery(actor=MEDIATOR))
    assert [(r.resource_id, r.account) for r in listed.items] == [(mine, MEDIATOR.subject)]
    with pytest.raises(Conflict, match="linked to the resource Mediator Aisyah already"):
        await make_resource(app, name="Aisyah again", account=MEDIATOR.subject)
    with pytest.raises(Forbidden, match="only to their own account"):
        await make_resource(app, name="Colleague", account="mediator-2")
    with pytest.raises(ValidationFailed) as info:
        await make_resource(app, "room", "Room 2", account=MEDIATOR.subject)
    assert info.value.extra["errors"][0]["field"] == "account"
    colleague = await make_resource(app, name="Colleague", actor=ADMIN, account="mediator-2")
    kept = await run(app, resources.update, UpdateResource(  # a mediator edits it, link kept
        actor=MEDIATOR, resource_id=colleague, kind="mediator", name="Colleague B",
        timezone="Asia/Kuala_Lumpur", account="mediator-2"))
    assert kept.account == "mediator-2"


async def test_a_calendar_window_lists_sessions_mine_or_the_organisations(
        app: ServiceApp, mediation_id: UUID) -> None:
    mine = await make_resource(app, account=MEDIATOR.subject)
    other = await make_resource(app, name="Mediator Ben")
    await book(app, **slot(mediation_id, [mine], at(10), "w-1"))
    await book(app, **slot(mediation_id, [other], at(11, day=4), "w-2"))
    await run(app, bookings.hold, PlaceHold(**slot(mediation_id, [mine], at(14, day=4), "w-3")),
              app.emit)
    await book(app, **slot(mediation_id, [mine], at(10, day=10), "w-4"))  # next week

    def window(**more: Any) -> BookingsQuery:
        return BookingsQuery(actor=MEDIATOR, starts_from=datetime(2026, 11, 30, tzinfo=KL),
                             starts_before=datetime(2026, 12, 7, tzinfo=KL), **more)

    everyone = await run(app, bookings.in_window, window())
    assert [(b.starts_at.astimezone(KL).day, b.status) for b in everyone.items] == [
        (3, "booked"), (4, "booked"), (4, "held")]
    own = await run(app, bookings.in_window, window(mine=True))
    assert [b.starts_at.astimezone(KL).day for b in own.items] == [3, 4]
    assert {a.alias for a in own.items[0].attendance} == {"Worker A", "Employer HR",
                                                         "Interpreter"}
    assert (await run(app, bookings.in_window, BookingsQuery(
        actor=OUTSIDER, starts_from=at(0, day=1), starts_before=at(0, day=8)))).items == []
    with pytest.raises(Forbidden):
        await run(app, bookings.in_window, window().model_copy(update={"actor": ADMIN}))
    with pytest.raises(ValueError, match="at most 42 days"):
        BookingsQuery(actor=MEDIATOR, starts_from=at(0, day=1), starts_before=at(0, day=1)
                      + timedelta(days=43))


async def test_the_organisations_mediations_newest_first(
        app: ServiceApp, case_id: UUID, mediation_id: UUID) -> None:
    second = await run(app, mediations.create, CreateMediation(
        actor=MEDIATOR, case_id=case_id, mode="in-person", parties=PARTIES[:2]))
    listed = await run(app, mediations.of_organisation, MediationsQuery(actor=MEDIATOR))
    assert [m.mediation_id for m in listed.items] == [second.mediation_id, mediation_id]
    assert [p.alias for p in listed.items[1].parties] == ["Worker A", "Employer HR",
                                                          "Interpreter"]
    assert (await run(app, mediations.of_organisation,
                      MediationsQuery(actor=OUTSIDER))).items == []
