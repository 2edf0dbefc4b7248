"""Session notes against real SQLite and PostgreSQL databases built by the migrations: who may
be shown which note, the text sealed at rest, and notes of a shredded case."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import date
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import text

from suara_contracts.events import CaseOpened, CaseShredded
from suara_contracts.mediation import CreateMediation
from suara_contracts.notes import NotesQuery, WriteNote
from suara_contracts.rpc import Actor
from suara_kit import migrate
from suara_kit.datakeys import Shredded
from suara_kit.errors import Forbidden, NotFound, ValidationFailed
from suara_kit.ids import uuid7
from suara_kit.service import ServiceApp
from suara_mediation import content, mediations, notes, service
from suara_mediation.handlers import MIGRATIONS, build
from suara_mediation.settings import MediationSettings

MEDIATOR = Actor(subject="mediator-1", roles=["mediator"], organisation="tenaganita")
OUTSIDER = Actor(subject="mediator-9", roles=["mediator"], organisation="map-foundation")
HANDLER = Actor(subject="handler-1", roles=["case-handler"], organisation="tenaganita")
PARTIES = [
    {"role": "worker", "alias": "Worker A", "timezone": "Asia/Kuala_Lumpur", "language": "my"},
    {"role": "employer", "alias": "Employer HR", "timezone": "Asia/Kuala_Lumpur"},
]
WORKER_CAUCUS = "Worker fears the supervisor will cut her overtime if she names him."
EMPLOYER_CAUCUS = "HR would pay two months' arrears but not the deductions."
JOINT = "Both sides agreed to meet again on Friday."


@pytest.fixture
async def app(database_url: Callable[[str], str]) -> AsyncIterator[ServiceApp]:
    url = database_url("mediation")
    await migrate.upgrade_async(MIGRATIONS, url)
    app = build(MediationSettings(database_url=url))
    yield app
    await app.db.dispose()


async def run(app: ServiceApp, rule: Callable[..., Any], command: Any) -> Any:
    async with app.transaction() as session:
        return await rule(session, command)


@pytest.fixture
async def case_id(app: ServiceApp) -> UUID:
    case_id = uuid7()
    async with app.transaction() as session:
        await service.case_opened(session, CaseOpened(
            case_id=case_id, submission_id=uuid7(), reference="SU-AAAA-BBBB",
            organisation="tenaganita", status="received", acknowledge_by=date(2026, 12, 8)))
    return case_id


@pytest.fixture
async def mediation(app: ServiceApp, case_id: UUID) -> Any:
    return await run(app, mediations.create, CreateMediation(
        actor=MEDIATOR, case_id=case_id, mode="video", languages=[], parties=PARTIES))


def sides(mediation: Any) -> tuple[UUID, UUID]:
    return mediation.parties[0].party_id, mediation.parties[1].party_id


async def write(app: ServiceApp, mediation: Any, note_text: str, party: UUID | None = None,
                actor: Actor = MEDIATOR, **more: Any) -> Any:
    return await run(app, notes.write, WriteNote(
        actor=actor, mediation_id=mediation.mediation_id, text=note_text,
        visibility="caucus" if party else "joint", party_id=party, **more))


async def read(app: ServiceApp, mediation: Any, party: UUID | None = None,
               actor: Actor = MEDIATOR) -> list[Any]:
    return (await run(app, notes.read, NotesQuery(
        actor=actor, mediation_id=mediation.mediation_id, for_party=party))).items


async def test_each_side_sees_the_joint_notes_and_only_its_own_caucus(
        app: ServiceApp, mediation: Any) -> None:
    worker, employer = sides(mediation)
    await write(app, mediation, WORKER_CAUCUS, worker)
    await write(app, mediation, JOINT)
    await write(app, mediation, EMPLOYER_CAUCUS, employer)

    assert [n.text for n in await read(app, mediation)] == [WORKER_CAUCUS, JOINT, EMPLOYER_CAUCUS]
    for_worker = await read(app, mediation, worker)
    for_employer = await read(app, mediation, employer)
    assert [n.text for n in for_worker] == [WORKER_CAUCUS, JOINT]
    assert [n.text for n in for_employer] == [JOINT, EMPLOYER_CAUCUS]
    assert all(n.party_id in (None, worker) for n in for_worker)
    assert all(n.party_id in (None, employer) for n in for_employer)


async def test_the_text_is_sealed_at_rest(app: ServiceApp, mediation: Any) -> None:
    await write(app, mediation, WORKER_CAUCUS, sides(mediation)[0])
    async with app.transaction() as session:
        rows = (await session.exec(text("SELECT * FROM mediation_note"))).all()  # type: ignore[call-overload]
    raw = repr(rows).encode() + b"".join(bytes(v) for r in rows for v in r
                                         if isinstance(v, bytes | memoryview))
    assert rows
    assert b"supervisor" not in raw
    assert b"overtime" not in raw


async def test_notes_of_a_shredded_case_read_as_deleted(
        app: ServiceApp, mediation: Any, case_id: UUID) -> None:
    worker, _ = sides(mediation)
    await write(app, mediation, WORKER_CAUCUS, worker)
    await write(app, mediation, JOINT)
    event = CaseShredded(case_id=case_id, submission_id=uuid7(), organisation="tenaganita",
                         shredded_on=date(2027, 6, 1))
    for _ in range(2):  # a redelivered event changes nothing
        async with app.transaction() as session:
            await content.case_shredded(session, event)

    for party in (None, worker):
        items = await read(app, mediation, party)
        assert len(items) == 2
        assert all(n.text is None and n.deleted for n in items)
    with pytest.raises(Shredded):
        await write(app, mediation, JOINT)


async def test_a_note_is_checked_field_by_field(app: ServiceApp, mediation: Any,
                                                case_id: UUID) -> None:
    worker, _ = sides(mediation)
    other = await run(app, mediations.create, CreateMediation(
        actor=MEDIATOR, case_id=case_id, mode="video", languages=[], parties=PARTIES))
    stranger = other.parties[0].party_id
    cases = [({"visibility": "caucus", "party_id": None}, "party_id"),
             ({"visibility": "caucus", "party_id": stranger}, "party_id"),
             ({"visibility": "joint", "party_id": worker}, "party_id"),
             ({"visibility": "joint", "text": "   "}, "text"),
             ({"visibility": "joint", "booking_id": uuid7()}, "booking_id")]
    for fields, field in cases:
        command = {"actor": MEDIATOR, "mediation_id": mediation.mediation_id,
                   "text": JOINT} | fields
        with pytest.raises(ValidationFailed) as failed:
            await run(app, notes.write, WriteNote(**command))
        assert failed.value.extra["errors"][0]["field"] == field
    with pytest.raises(ValueError, match="4000"):
        WriteNote(actor=MEDIATOR, mediation_id=mediation.mediation_id, visibility="joint",
                  text="x" * 4001)
    with pytest.raises(ValidationFailed):
        await read(app, mediation, stranger)
    assert await read(app, mediation) == []


async def test_only_the_organisations_mediators(app: ServiceApp, mediation: Any) -> None:
    await write(app, mediation, JOINT)
    with pytest.raises(NotFound):
        await write(app, mediation, JOINT, actor=OUTSIDER)
    with pytest.raises(NotFound):
        await read(app, mediation, actor=OUTSIDER)
    with pytest.raises(Forbidden):
        await read(app, mediation, actor=HANDLER)
