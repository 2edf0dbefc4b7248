"""Mediation-scheduling's rules against a real SQLite database built by its migrations."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from suara_contracts.events import CaseOpened
from suara_contracts.rpc import Actor, ProposeSession
from suara_contracts.subjects import Evt
from suara_kit import migrate
from suara_kit.clock import utcnow
from suara_kit.errors import Conflict, Forbidden, NotFound, ValidationFailed
from suara_kit.ids import uuid7
from suara_kit.outbox import parse_payload
from suara_kit.service import ServiceApp
from suara_mediation import service
from suara_mediation.handlers import MIGRATIONS, build
from suara_mediation.models import KnownCase, MediationSession, Outbox
from suara_mediation.settings import MediationSettings

HONG_KONG = ZoneInfo("Asia/Hong_Kong")
MEDIATOR = Actor(subject="staff-17", roles=["mediator"], organisation="apmm")
NOW = utcnow()


@pytest.fixture
def db_url(database_url: Callable[[str], str]) -> str:
    url = database_url("mediation")
    migrate.upgrade(MIGRATIONS, url)
    return url


@pytest.fixture
async def app(db_url: str) -> AsyncIterator[ServiceApp]:
    app = build(MediationSettings(database_url=db_url))
    yield app
    await app.db.dispose()


@pytest.fixture
async def case_id(app: ServiceApp) -> UUID:
    case_id = uuid7()
    event = CaseOpened(case_id=case_id, submission_id=uuid7(), reference="SU-AAAA-BBBB",
                       organisation="apmm", status="received", acknowledge_by=date(2026, 12, 1))
    async with app.transaction() as session:
        await service.case_opened(session, event)
    return case_id


def at(hour: int, days: int = 3) -> datetime:
    """`hour` o'clock Hong Kong time, `days` from now."""
    day = (NOW + timedelta(days=days)).astimezone(HONG_KONG)
    return day.replace(hour=hour, minute=0, second=0, microsecond=0)


def request(case_id: UUID, **changes: Any) -> ProposeSession:
    fields: dict[str, Any] = {"actor": MEDIATOR, "case_id": case_id, "starts_at": at(10),
                              "ends_at": at(11), "timezone": "Asia/Hong_Kong", "mode": "video"}
    return ProposeSession(**(fields | changes))


async def propose(app: ServiceApp, req: ProposeSession) -> MediationSession:
    async with app.transaction() as session:
        return await service.propose(session, req, app.emit)


async def outbox_rows(app: ServiceApp) -> list[Outbox]:
    async with app.transaction() as session:
        return list((await session.exec(select(Outbox))).all())


async def test_success_stores_utc_and_stages_one_event(app: ServiceApp, case_id: UUID) -> None:
    row = await propose(app, request(case_id))

    async with app.transaction() as session:
        stored = await session.get(MediationSession, row.id)
    assert stored is not None
    assert stored.starts_at == at(10)
    assert stored.starts_at.tzinfo == UTC
    assert stored.starts_at.hour == (at(10).hour - 8) % 24
    assert (stored.status, stored.proposed_by, stored.organisation) == ("proposed", "staff-17",
                                                                        "apmm")
    [event] = await outbox_rows(app)
    assert event.subject == Evt.SESSION_PROPOSED
    _, data = parse_payload(event.payload.encode(), app.events_sealer, event.subject)
    assert data["session_id"] == str(row.id)
    assert data["timezone"] == "Asia/Hong_Kong"
    assert service.view_of(stored).starts_at == at(10)


async def test_case_opened_twice_is_remembered_once(app: ServiceApp, case_id: UUID) -> None:
    event = CaseOpened(case_id=case_id, submission_id=uuid7(), reference="SU-AAAA-BBBB",
                       organisation="apmm", status="received", acknowledge_by=date(2026, 12, 1))
    async with app.transaction() as session:
        await service.case_opened(session, event)
    async with app.transaction() as session:
        cases = (await session.exec(select(KnownCase))).all()
    assert [c.case_id for c in cases] == [case_id]


async def test_only_a_mediator_can_propose(app: ServiceApp, case_id: UUID) -> None:
    handler = Actor(subject="staff-3", roles=["case-handler"], organisation="apmm")
    with pytest.raises(Forbidden, match="only a mediator can propose a session") as info:
        await propose(app, request(case_id, actor=handler))
    assert info.value.status == 403


async def test_unknown_case_is_not_found(app: ServiceApp, case_id: UUID) -> None:
    with pytest.raises(NotFound, match="no such case, or it is not open yet") as info:
        await propose(app, request(uuid7()))
    assert info.value.status == 404


async def test_other_organisations_case_looks_missing(app: ServiceApp, case_id: UUID) -> None:
    outsider = Actor(subject="staff-9", roles=["mediator"], organisation="tenaganita")
    with pytest.raises(NotFound) as info:
        await propose(app, request(case_id, actor=outsider))
    assert info.value.detail == service.NO_SUCH_CASE


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "Asia", "../../etc/passwd", "+08:00"])
async def test_bad_timezone_is_422(app: ServiceApp, case_id: UUID, name: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        await propose(app, request(case_id, timezone=name))
    assert info.value.status == 422
    assert info.value.extra["errors"][0]["field"] == "timezone"


async def test_start_in_the_past_is_422(app: ServiceApp, case_id: UUID) -> None:
    with pytest.raises(ValidationFailed) as info:
        await propose(app, request(case_id, starts_at=at(10, days=-1), ends_at=at(11, days=-1)))
    assert info.value.extra["errors"][0]["field"] == "starts_at"
    assert await outbox_rows(app) == []


async def test_overlap_is_409(app: ServiceApp, case_id: UUID) -> None:
    first = await propose(app, request(case_id))
    clash = request(case_id, starts_at=at(10) + timedelta(minutes=30), ends_at=at(12))
    with pytest.raises(Conflict, match="already has a proposed session") as info:
        await propose(app, clash)
    assert info.value.status == 409
    assert info.value.extra["session_id"] == str(first.id)
    assert len(await outbox_rows(app)) == 1


async def test_back_to_back_sessions_do_not_overlap(app: ServiceApp, case_id: UUID) -> None:
    await propose(app, request(case_id))
    await propose(app, request(case_id, starts_at=at(11), ends_at=at(12)))
    assert len(await outbox_rows(app)) == 2
