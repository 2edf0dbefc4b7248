"""A missed obligation of a mediated agreement brings the case back to its handler."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import date, timedelta
from uuid import UUID

import pytest
from sqlmodel import select

from suara_cases import content, escalations, service, work
from suara_cases.handlers import MIGRATIONS
from suara_cases.models import Case, CaseMessage, CheckIn
from suara_cases.settings import CasesSettings
from suara_contracts.events import ObligationMissed, SubmissionReceived
from suara_contracts.rpc import Actor, CodeCase, TransitionCase
from suara_kit.clock import today
from suara_kit.db import Database
from suara_kit.errors import NotFound
from suara_kit.ids import uuid7
from suara_kit.testing import migrated

ANI = Actor(subject="ani", roles=["case-handler"], organisation="tenaganita")


@pytest.fixture
async def db(database_url: Callable[[str], str]) -> AsyncIterator[Database]:
    async with migrated(MIGRATIONS, database_url("cases")) as database:
        content.use_keys(database, CasesSettings())
        yield database


async def case_at(db: Database, *statuses: str) -> UUID:
    event = SubmissionReceived(
        submission_id=uuid7(), reference="SU-AAAA-BBBB", organisation="tenaganita",
        form_version="1", language="my", risk="normal", risk_reasons=[], received_on=today(),
        answers={"what_happened": "x"})
    async with db.transaction() as session:
        opened = await service.open_case(session, event, timedelta(days=7))
    assert opened is not None
    async with db.transaction() as session:
        await work.code(session, ANI, CodeCase(
            actor=ANI, case_id=opened.case_id, issues=["unpaid-wages"], origin="MM",
            destination="TH", respondent="Maju", respondent_kind="employer"), 3, 90)
    for to in statuses:
        async with db.transaction() as session:
            await work.transition(session, ANI, TransitionCase(
                actor=ANI, case_id=opened.case_id, to=to, message="m"))  # type: ignore[arg-type]
    return opened.case_id


def missed(case_id: UUID) -> ObligationMissed:
    return ObligationMissed(case_id=case_id, organisation="tenaganita", agreement_id=uuid7(),
                            obligation_id=uuid7(), kind="payment", due_on=date(2026, 12, 10))


async def notes(db: Database, case_id: UUID) -> list[str]:
    async with db.transaction() as session:
        case = await session.get(Case, case_id)
        rows = list(await session.exec(select(CaseMessage).where(
            CaseMessage.case_id == case_id, CaseMessage.kind == "status-note")))
        return list((await content.bodies_of(session, case, rows)).values())  # type: ignore[arg-type]


async def test_a_closed_case_is_reopened(db: Database) -> None:
    case_id = await case_at(db, "acknowledged", "in-assessment", "in-mediation", "resolved",
                            "closed")
    async with db.transaction() as session:
        assert len(list(await session.exec(select(CheckIn)))) == 3
        changed = await escalations.obligation_missed(session, missed(case_id))
    assert changed is not None
    assert (changed.from_status, changed.to_status) == ("closed", "in-assessment")
    async with db.transaction() as session:
        case = await session.get(Case, case_id)
        assert case is not None
        assert (case.status, case.closed_on) == ("in-assessment", None)
        assert list(await session.exec(select(CheckIn))) == []  # planned again at closing
    assert any("a payment due on 2026-12-10 did not happen" in n and "reopened" in n
               for n in await notes(db, case_id))


async def test_an_open_case_keeps_its_status_and_gets_a_note(db: Database) -> None:
    case_id = await case_at(db, "acknowledged", "in-assessment", "in-mediation")
    async with db.transaction() as session:
        assert await escalations.obligation_missed(session, missed(case_id)) is None
        case = await session.get(Case, case_id)
    assert case is not None
    assert case.status == "in-mediation"
    assert any("did not happen" in n for n in await notes(db, case_id))


async def test_an_unknown_case_is_retried_and_a_shredded_one_ignored(db: Database) -> None:
    with pytest.raises(NotFound):
        async with db.transaction() as session:
            await escalations.obligation_missed(session, missed(uuid7()))
    case_id = await case_at(db, "acknowledged", "in-assessment", "in-mediation", "resolved",
                            "closed")
    async with db.transaction() as session:
        case = await session.get(Case, case_id)
        assert case is not None
        await content.shred(session, case, today())
    async with db.transaction() as session:
        assert await escalations.obligation_missed(session, missed(case_id)) is None
