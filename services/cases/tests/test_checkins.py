"""Check-ins after closure: asked at 1, 3 and 6 months, once each; a yes reopens the case at
high risk; a reopened case asks nothing until it closes again."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import date, timedelta
from uuid import UUID

import pytest
from sqlmodel import select

from suara_cases import checkins, content, service, work
from suara_cases.handlers import MIGRATIONS
from suara_cases.models import Case, CheckIn
from suara_cases.settings import CasesSettings
from suara_contracts.events import ReporterFollowUp, SubmissionReceived
from suara_contracts.rpc import Actor, CodeCase, TransitionCase
from suara_kit.clock import today
from suara_kit.db import Database
from suara_kit.ids import uuid7
from suara_kit.testing import migrated

ANI = Actor(subject="ani", roles=["case-handler"], organisation="tenaganita")


@pytest.fixture
async def db(database_url: Callable[[str], str]) -> AsyncIterator[Database]:
    async with migrated(MIGRATIONS, database_url("cases")) as database:
        content.use_keys(database, CasesSettings())
        yield database


async def closed_case(db: Database) -> Case:
    event = SubmissionReceived(
        submission_id=uuid7(), reference="SU-AAAA-BBBB", organisation="tenaganita",
        form_version="1", language="id", risk="normal", risk_reasons=[], received_on=today(),
        answers={"what_happened": "x"})
    async with db.transaction() as session:
        opened = await service.open_case(session, event, timedelta(days=7))
    assert opened is not None
    case_id = opened.case_id
    async with db.transaction() as session:
        await work.code(session, ANI, CodeCase(
            actor=ANI, case_id=case_id, issues=["unpaid-wages"], origin="ID", destination="MY",
            respondent="Maju", respondent_kind="employer"), 3, 90)
    for to in ("acknowledged", "in-assessment", "in-resolution", "resolved", "closed"):
        async with db.transaction() as session:
            await work.transition(session, ANI, TransitionCase(actor=ANI, case_id=case_id,
                                                               to=to, message="m"))
    async with db.transaction() as session:
        case = await session.get(Case, case_id)
    assert case is not None
    return case


async def planned(db: Database, case_id: UUID) -> list[CheckIn]:
    async with db.transaction() as session:
        return list(await session.exec(select(CheckIn).where(CheckIn.case_id == case_id)
                                       .order_by(CheckIn.due_on)))  # type: ignore[arg-type]


def answer(case: Case, message_id: UUID, said: str) -> ReporterFollowUp:
    return ReporterFollowUp(follow_up_id=uuid7(), submission_id=case.submission_id,
                            kind="check-in", text=said, sent_on=today(),
                            answers_message=message_id, answer=said)  # type: ignore[arg-type]


async def test_closing_plans_three_check_ins_sent_once_each(db: Database) -> None:
    case = await closed_case(db)
    closed = case.closed_on
    assert closed is not None
    assert [c.due_on for c in await planned(db, case.id)] == [
        closed + timedelta(days=d) for d in (30, 91, 182)]
    async with db.transaction() as session:
        assert await checkins.due_now(session, closed + timedelta(days=29)) == []
    async with db.transaction() as session:
        first = await checkins.due_now(session, closed + timedelta(days=30))
    assert [(q.case_id, q.asks) for q in first] == [(case.id, "check-in")]
    async with db.transaction() as session:
        assert await checkins.due_now(session, closed + timedelta(days=31)) == []
    async with db.transaction() as session:  # a late scan sends the two that are due
        assert len(await checkins.due_now(session, closed + timedelta(days=200))) == 2


async def test_a_yes_reopens_the_case_at_high_risk(db: Database) -> None:
    case = await closed_case(db)
    assert case.closed_on is not None
    async with db.transaction() as session:
        [question] = await checkins.due_now(session, case.closed_on + timedelta(days=30))
    async with db.transaction() as session:
        reopened = await checkins.answered(session, answer(case, question.message_id, "yes"),
                                           today())
    assert reopened is not None
    assert (reopened.from_status, reopened.to_status) == ("closed", "in-assessment")
    async with db.transaction() as session:
        again = await session.get(Case, case.id)
        assert again is not None
        assert (again.status, again.risk, again.closed_on) == ("in-assessment", "high", None)
        assert "retaliation-after-closure" in again.risk_reasons
        second = await checkins.answered(session, answer(case, question.message_id, "no"),
                                         today())
    assert second is None  # the first answer stands
    checks = await planned(db, case.id)
    # the later check-ins are dropped; closing the case again plans new ones
    assert [(c.answer, c.sent_on is not None) for c in checks] == [("yes", True)]


async def test_a_no_is_recorded_and_changes_nothing_else(db: Database) -> None:
    case = await closed_case(db)
    assert case.closed_on is not None
    async with db.transaction() as session:
        [question] = await checkins.due_now(session, case.closed_on + timedelta(days=30))
        assert await checkins.answered(session, answer(case, question.message_id, "no"),
                                       today()) is None
        again = await session.get(Case, case.id)
    assert again is not None
    assert (again.status, again.risk) == ("closed", "normal")


async def test_someone_elses_question_is_ignored(db: Database) -> None:
    case = await closed_case(db)
    other = await closed_case(db)
    assert case.closed_on is not None
    async with db.transaction() as session:
        questions = await checkins.due_now(session, case.closed_on + timedelta(days=30))
    mine = next(q for q in questions if q.case_id == case.id)
    async with db.transaction() as session:
        assert await checkins.answered(session, answer(other, mine.message_id, "yes"),
                                       today()) is None
        still = await session.get(Case, case.id)
    assert still is not None
    assert still.status == "closed"


def test_the_schedule_is_one_three_and_six_months() -> None:
    assert checkins.AFTER_DAYS == (30, 91, 182)
    assert date(2026, 1, 1) + timedelta(days=checkins.AFTER_DAYS[-1]) == date(2026, 7, 2)
