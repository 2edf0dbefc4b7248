"""A case's history from its audit log: events oldest first, reads per day and person, days
only, and only for whoever may read the case."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import date, timedelta

import pytest

from suara_cases import content, history, service, work
from suara_cases.handlers import MIGRATIONS
from suara_cases.models import Case
from suara_cases.settings import CasesSettings
from suara_contracts.events import SubmissionReceived
from suara_contracts.rpc import Actor, AssignCase, TransitionCase
from suara_kit.clock import today
from suara_kit.db import Database
from suara_kit.errors import Forbidden, NotFound
from suara_kit.ids import uuid7
from suara_kit.testing import migrated

HANDLER = Actor(subject="staff-1", roles=["case-handler"], organisation="tenaganita")
COLLEAGUE = Actor(subject="staff-3", roles=["case-handler"], organisation="tenaganita")
OTHER_ORG = Actor(subject="staff-2", roles=["case-handler"], organisation="apmm")


@pytest.fixture
async def db(database_url: Callable[[str], str]) -> AsyncIterator[Database]:
    async with migrated(MIGRATIONS, database_url("cases")) as database:
        content.use_keys(database, CasesSettings())
        yield database


async def open_case(db: Database) -> Case:
    event = SubmissionReceived(
        submission_id=uuid7(), reference="SU-HIST-0001", organisation="tenaganita",
        form_version="v1", language="en", risk="normal", risk_reasons=[],
        received_on=date(2026, 11, 2), answers={"what_happened": "unpaid"})
    async with db.transaction() as session:
        opened = await service.open_case(session, event, timedelta(days=7))
        assert opened is not None
        case = await session.get(Case, opened.case_id)
        assert case is not None
    return case


async def test_history_lists_what_happened_and_who_read_the_case(db: Database) -> None:
    case = await open_case(db)
    for _ in range(2):
        async with db.transaction() as session:
            await service.get_case(session, HANDLER, case.id)
    async with db.transaction() as session:
        await work.assign(session, HANDLER, AssignCase(actor=HANDLER, case_id=case.id))
        await work.transition(session, HANDLER, TransitionCase(
            actor=HANDLER, case_id=case.id, to="acknowledged", message="We have it."))
        await service.get_case(session, HANDLER, case.id)
    async with db.transaction() as session:
        found = await history.of_case(session, HANDLER, case.id)
    assert [(e.actor, e.action, e.count) for e in found.events] == [
        ("system", "open", 1), ("staff-1", "assign", 1),
        ("staff-1", "status:acknowledged", 1)]
    assert [(e.on, e.actor, e.action, e.count) for e in found.reads] == [
        (today(), "staff-1", "read", 3)]
    assert found.left_out == 0


async def test_history_is_for_those_who_may_read_the_case(db: Database) -> None:
    case = await open_case(db)
    async with db.transaction() as session:
        await work.assign(session, HANDLER, AssignCase(actor=HANDLER, case_id=case.id))
    async with db.transaction() as session:
        with pytest.raises(NotFound):
            await history.of_case(session, OTHER_ORG, case.id)
        with pytest.raises(Forbidden):
            await history.of_case(session, COLLEAGUE, case.id)
