"""The parties' vote on a session time against real SQLite and PostgreSQL databases built by
the migrations: votes, changed votes, the tally, and a closed ballot."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from suara_contracts.ballots import BallotQuery, CastVote, CreateBallot
from suara_contracts.events import CaseOpened
from suara_contracts.mediation import CreateMediation, CreateResource
from suara_contracts.rpc import Actor
from suara_kit import migrate
from suara_kit.errors import Conflict, NotFound, ValidationFailed
from suara_kit.ids import uuid7
from suara_kit.service import ServiceApp
from suara_mediation import ballots, mediations, resources, service
from suara_mediation.handlers import MIGRATIONS, build
from suara_mediation.settings import MediationSettings

MEDIATOR = Actor(subject="mediator-1", roles=["mediator"], organisation="tenaganita")
OUTSIDER = Actor(subject="mediator-9", roles=["mediator"], organisation="map-foundation")
PARTIES = [
    {"role": "worker", "alias": "Worker A", "timezone": "Asia/Kuala_Lumpur", "language": "my"},
    {"role": "employer", "alias": "Employer HR", "timezone": "Asia/Kuala_Lumpur"},
]
START = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


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
async def mediation(app: ServiceApp) -> Any:
    case_id = uuid7()
    async with app.transaction() as session:
        await service.case_opened(session, CaseOpened(
            case_id=case_id, submission_id=uuid7(), reference="SU-AAAA-BBBB",
            organisation="tenaganita", status="received", acknowledge_by=date(2026, 12, 8)))
    return await run(app, mediations.create, CreateMediation(
        actor=MEDIATOR, case_id=case_id, mode="video", languages=[], parties=PARTIES))


@pytest.fixture
async def resource_id(app: ServiceApp) -> UUID:
    view = await run(app, resources.create, CreateResource(
        actor=MEDIATOR, kind="mediator", name="Mediator Aisyah", timezone="Asia/Kuala_Lumpur"))
    return UUID(str(view.resource_id))


@pytest.fixture
async def ballot(app: ServiceApp, mediation: Any, resource_id: UUID) -> Any:
    return await run(app, ballots.create, CreateBallot(
        actor=MEDIATOR, mediation_id=mediation.mediation_id, candidates=[
            {"starts_at": START + timedelta(days=d), "ends_at": START + timedelta(days=d, hours=1),
             "resource_ids": [resource_id]} for d in range(3)]))


async def vote(app: ServiceApp, ballot: Any, party: UUID, *accepts: int,
               actor: Actor = MEDIATOR) -> Any:
    return await run(app, ballots.vote, CastVote(actor=actor, ballot_id=ballot.ballot_id,
                                                 party_id=party, accepts=list(accepts)))


async def test_a_slot_is_chosen_only_when_every_party_accepts_it(
        app: ServiceApp, mediation: Any, ballot: Any) -> None:
    worker, employer = (p.party_id for p in mediation.parties)
    assert ballot.status == "open"
    assert ballot.chosen is None
    assert ballot.reason.startswith("waiting for votes from")
    assert [r.index for r in ballot.ranked] == [0, 1, 2]

    tally = await vote(app, ballot, worker, 1, 2)
    assert tally.chosen is None
    assert tally.reason == "waiting for votes from Employer HR (employer)"
    assert tally.voted == [worker]

    tally = await vote(app, ballot, employer, 0)
    assert tally.chosen is None
    assert "no slot is acceptable to every party" in tally.reason

    tally = await vote(app, ballot, employer, 0, 2)  # the employer changes its vote
    assert tally.chosen == 2
    assert tally.reason is None
    assert tally.ranked[0].index == 2
    assert set(tally.ranked[0].accepted_by) == {worker, employer}
    assert tally.ranked[0].starts_at == START + timedelta(days=2)
    assert [r.index for r in tally.ranked[1:]] == [0, 1]
    assert tally.ranked[1].missing == [worker]

    got = await run(app, ballots.get, BallotQuery(actor=MEDIATOR, ballot_id=ballot.ballot_id))
    assert got == tally


async def test_a_closed_ballot_keeps_its_votes(app: ServiceApp, mediation: Any,
                                               ballot: Any) -> None:
    worker, _ = (p.party_id for p in mediation.parties)
    await vote(app, ballot, worker, 0)
    closed = await run(app, ballots.close, BallotQuery(actor=MEDIATOR, ballot_id=ballot.ballot_id))
    assert closed.status == "closed"
    with pytest.raises(Conflict):
        await vote(app, ballot, worker, 1)
    with pytest.raises(Conflict):
        await run(app, ballots.close, BallotQuery(actor=MEDIATOR, ballot_id=ballot.ballot_id))
    got = await run(app, ballots.get, BallotQuery(actor=MEDIATOR, ballot_id=ballot.ballot_id))
    assert got.voted == [worker]
    assert got.ranked[0].accepted_by == [worker]


async def test_votes_and_candidates_are_checked(app: ServiceApp, mediation: Any, ballot: Any,
                                                resource_id: UUID) -> None:
    worker, _ = (p.party_id for p in mediation.parties)
    for party, accepts, field in ((uuid7(), [0], "party_id"), (worker, [3], "accepts[0]")):
        with pytest.raises(ValidationFailed) as failed:
            await vote(app, ballot, party, *accepts)
        assert failed.value.extra["errors"][0]["field"] == field
    bad = [{"starts_at": START, "ends_at": START, "resource_ids": [resource_id]},
           {"starts_at": START, "ends_at": START + timedelta(hours=1), "resource_ids": [uuid7()]}]
    with pytest.raises(ValidationFailed) as failed:
        await run(app, ballots.create, CreateBallot(
            actor=MEDIATOR, mediation_id=mediation.mediation_id, candidates=bad))
    assert [e["field"] for e in failed.value.extra["errors"]] == [
        "candidates[0].ends_at", "candidates[1].resource_ids"]


async def test_another_organisations_ballot_is_not_found(app: ServiceApp, mediation: Any,
                                                         ballot: Any) -> None:
    worker, _ = (p.party_id for p in mediation.parties)
    with pytest.raises(NotFound):
        await vote(app, ballot, worker, 0, actor=OUTSIDER)
    with pytest.raises(NotFound):
        await run(app, ballots.get, BallotQuery(actor=OUTSIDER, ballot_id=ballot.ballot_id))
    with pytest.raises(NotFound):
        await run(app, ballots.create, CreateBallot(
            actor=OUTSIDER, mediation_id=mediation.mediation_id, candidates=[
                {"starts_at": START, "ends_at": START + timedelta(hours=1),
                 "resource_ids": [uuid7()]}]))
