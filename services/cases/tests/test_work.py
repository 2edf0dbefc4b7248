"""A handler's work on a case: lifecycle moves, assignment and conflicts of interest, coding
before closing, appeals decided by someone else, the cluster rule and the deadline engine
(driven by a hand-moved clock)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlmodel import col, select

from suara_cases import content, deadlines, service, work
from suara_cases.handlers import MIGRATIONS
from suara_cases.models import AuditEntry, Case, CaseMessage
from suara_cases.settings import CasesSettings, DeadlinePolicy
from suara_contracts.events import SubmissionReceived
from suara_contracts.rpc import Actor, AssignCase, CodeCase, DeclareConflict, TransitionCase
from suara_kit.clock import today
from suara_kit.db import Database
from suara_kit.errors import Conflict, Forbidden, ValidationFailed
from suara_kit.ids import uuid7
from suara_kit.testing import migrated

ANI = Actor(subject="ani", roles=["case-handler"], organisation="tenaganita")
BUDI = Actor(subject="budi", roles=["case-handler"], organisation="tenaganita")


@pytest.fixture
async def db(database_url: Callable[[str], str]) -> AsyncIterator[Database]:
    async with migrated(MIGRATIONS, database_url("cases")) as database:
        content.use_keys(database, CasesSettings())
        yield database


async def new_case(db: Database, received_on: date | None = None, **changes: Any) -> UUID:
    event = SubmissionReceived(**({
        "submission_id": uuid7(), "reference": "SU-AAAA-BBBB", "organisation": "tenaganita",
        "form_version": "1", "language": "id", "risk": "normal", "risk_reasons": [],
        "received_on": received_on or today(), "answers": {"what_happened": "x"}} | changes))
    async with db.transaction() as session:
        opened = await service.open_case(session, event, timedelta(days=7))
    assert opened is not None
    return opened.case_id


async def move(db: Database, actor: Actor, case_id: UUID, to: str, **extra: Any) -> work.Outcome:
    async with db.transaction() as session:
        return await work.transition(session, actor, TransitionCase(
            actor=actor, case_id=case_id, to=to, **extra))


async def code(db: Database, case_id: UUID, respondent: str = "Maju Jaya Sdn. Bhd.",
               actor: Actor = ANI) -> work.Outcome:
    async with db.transaction() as session:
        return await work.code(session, actor, CodeCase(
            actor=actor, case_id=case_id, issues=["unpaid-wages"], origin="ID",
            destination="MY", respondent=respondent, respondent_kind="employer"), 3, 90)


async def actions(db: Database, case_id: UUID) -> list[str]:
    async with db.transaction() as session:
        rows = await session.exec(select(AuditEntry).where(AuditEntry.case_id == case_id)
                                  .order_by(col(AuditEntry.seq)))
        return [r.action for r in rows]


async def test_a_case_walks_its_lifecycle_to_closed(db: Database) -> None:
    case_id = await new_case(db)
    ack = await move(db, ANI, case_id, "acknowledged", message="We have your report.")
    assert ack.changed is not None
    assert ack.changed.to_status == "acknowledged"
    assert ack.message is not None
    assert ack.message.body == "We have your report."
    await move(db, ANI, case_id, "in-assessment")
    await move(db, ANI, case_id, "in-resolution", reason="Employer agreed to talk")
    decided = await move(db, ANI, case_id, "resolved", message="Your wages were paid.")
    assert decided.case.decided_by == "ani"
    with pytest.raises(Conflict, match="missing: issues, corridor, respondent") as info:
        await move(db, ANI, case_id, "closed")
    assert info.value.status == 409
    await code(db, case_id)
    closed = await move(db, ANI, case_id, "closed")
    assert (closed.case.status, closed.case.closed_on) == ("closed", today())
    assert await actions(db, case_id) == [
        "open", "status:acknowledged", "status:in-assessment", "status:in-resolution",
        "status:resolved", "code", "status:closed"]
    async with db.transaction() as session:
        notes = list((await session.exec(select(CaseMessage).where(
            CaseMessage.case_id == case_id, CaseMessage.kind == "status-note"))).all())
        bodies = await content.bodies_of(session, await session.get(Case, case_id), notes)
    assert list(bodies.values()) == ["Employer agreed to talk"]


@pytest.mark.parametrize(("path", "to"), [
    ([], "resolved"), ([], "closed"), ([], "in-assessment"),
    (["acknowledged"], "referred"), (["acknowledged", "in-assessment"], "received")])
async def test_an_illegal_move_is_a_409_naming_the_allowed_ones(
        db: Database, path: list[str], to: str) -> None:
    case_id = await new_case(db)
    for step in path:
        await move(db, ANI, case_id, step, message="m")
    with pytest.raises(Conflict, match="Allowed from") as info:
        await move(db, ANI, case_id, to, message="m")
    assert info.value.extra["target"] == to


async def test_unknown_status_and_missing_messages_and_reasons_are_422(db: Database) -> None:
    case_id = await new_case(db)
    with pytest.raises(ValidationFailed, match="no status 'done'"):
        await move(db, ANI, case_id, "done")
    with pytest.raises(ValidationFailed, match="message"):
        await move(db, ANI, case_id, "acknowledged")
    with pytest.raises(ValidationFailed, match="reason"):
        await move(db, ANI, case_id, "withdrawn")


async def test_an_appeal_is_decided_by_someone_else(db: Database) -> None:
    case_id = await new_case(db)
    for to in ("acknowledged", "in-assessment"):
        await move(db, ANI, case_id, to, message="m")
    await move(db, ANI, case_id, "not-upheld", message="Not upheld")
    await code(db, case_id)
    await move(db, ANI, case_id, "closed")
    with pytest.raises(ValidationFailed, match="reason"):
        await move(db, ANI, case_id, "in-assessment")
    reopened = await move(db, ANI, case_id, "in-assessment", reason="Worker appealed: new "
                          "payslips show the deductions")
    assert (reopened.case.appeal_against, reopened.case.closed_on) == ("ani", None)
    with pytest.raises(Conflict, match="another handler decides the appeal"):
        await move(db, ANI, case_id, "not-upheld")
    await move(db, BUDI, case_id, "in-resolution")
    decided = await move(db, BUDI, case_id, "resolved", message="Upheld on appeal")
    assert decided.case.decided_by == "budi"
    assert "appeal:in-assessment" in await actions(db, case_id)


async def test_assignment_is_refused_and_audited_on_a_declared_conflict(db: Database) -> None:
    case_id = await new_case(db)
    await code(db, case_id, "PT Maju Jaya")
    async with db.transaction() as session:
        await work.declare_conflict(session, BUDI, DeclareConflict(actor=BUDI,
                                                                   respondent="MAJU JAYA"))
    async with db.transaction() as session:
        refused = await work.assign(session, ANI, AssignCase(actor=ANI, case_id=case_id,
                                                             handler="budi"))
    assert refused.refused
    assert "conflict of interest" in refused.refused
    assert refused.case.assigned_to is None
    assert (await actions(db, case_id))[-1] == "assign-refused:conflict"
    async with db.transaction() as session:
        taken = await work.assign(session, ANI, AssignCase(actor=ANI, case_id=case_id))
    assert taken.case.assigned_to == "ani"


async def test_an_assigned_case_belongs_to_its_handler(db: Database) -> None:
    case_id = await new_case(db)
    async with db.transaction() as session:
        await work.assign(session, ANI, AssignCase(actor=ANI, case_id=case_id))
    async with db.transaction() as session:
        with pytest.raises(Forbidden, match="assigned to another handler"):
            await service.get_case(session, BUDI, case_id)
        with pytest.raises(Forbidden):
            await work.assign(session, BUDI, AssignCase(actor=BUDI, case_id=case_id))
    with pytest.raises(Forbidden, match="work on"):
        await move(db, BUDI, case_id, "acknowledged", message="m")
    async with db.transaction() as session:  # she hands it on
        await work.assign(session, ANI, AssignCase(actor=ANI, case_id=case_id, handler="budi"))
        assert (await service.get_case(session, BUDI, case_id)).assigned_to == "budi"


async def test_coding_a_conflicted_respondent_takes_the_case_from_its_handler(
        db: Database) -> None:
    case_id = await new_case(db)
    async with db.transaction() as session:
        await work.declare_conflict(session, ANI, DeclareConflict(actor=ANI,
                                                                  respondent="Agensi Sinar"))
        await work.assign(session, ANI, AssignCase(actor=ANI, case_id=case_id))
    coded = await code(db, case_id, "agensi sinar sdn bhd")
    assert coded.case.assigned_to is None
    assert (await actions(db, case_id))[-1] == "unassign:conflict"


def test_respondent_spellings_match() -> None:
    assert work.respondent_key("Maju Jaya Sdn. Bhd.") == work.respondent_key("MAJU  JAYA")
    assert work.respondent_key("PT Sinar Tbk") == "sinar"
    assert work.respondent_key("Agensi Sinar") != work.respondent_key("Agensi Bulan")


async def test_the_third_case_against_a_respondent_raises_one_cluster_alert(
        db: Database) -> None:
    first, second, third, fourth = [await new_case(db) for _ in range(4)]
    old = await new_case(db, received_on=today() - timedelta(days=120))
    assert (await code(db, old)).cluster is None  # too long ago to count
    assert (await code(db, first)).cluster is None
    assert (await code(db, second, "maju jaya")).cluster is None
    alert = (await code(db, third, "MAJU JAYA SDN BHD")).cluster
    assert alert is not None
    assert set(alert.case_ids) == {first, second, third}
    assert (alert.organisation, alert.window_days) == ("tenaganita", 90)
    assert (await code(db, fourth)).cluster is None  # one alert per window
    other = await new_case(db)
    assert (await code(db, other, "Someone Else")).cluster is None


POLICY = DeadlinePolicy()


async def test_deadlines_follow_the_case(db: Database) -> None:
    received = date(2026, 1, 5)
    case_id = await new_case(db, received_on=received)
    async with db.transaction() as session:
        case = await session.get(Case, case_id)
        assert case is not None
        assert deadlines.due(case, POLICY) == {"acknowledge": date(2026, 1, 12),
                                               "update": date(2026, 2, 4)}
        assert deadlines.overdue(case, POLICY, date(2026, 1, 12)) == []
        assert deadlines.overdue(case, POLICY, date(2026, 1, 13)) == ["acknowledge"]
        case.status, case.acknowledged_on = "in-assessment", date(2026, 1, 10)
        case.last_update_on = date(2026, 3, 1)
        assert deadlines.due(case, POLICY) == {"feedback": date(2026, 4, 10),
                                               "update": date(2026, 3, 31)}
        strict = DeadlinePolicy(acknowledge_within_days=3, update_every_days=14)
        assert deadlines.due(case, strict)["update"] == date(2026, 3, 15)
        case.status = "resolved"
        assert deadlines.due(case, POLICY) == {}


async def test_the_scan_alerts_each_missed_deadline_once(db: Database) -> None:
    late = await new_case(db, received_on=date(2026, 1, 1))
    await new_case(db, received_on=date(2026, 1, 20))
    async with db.transaction() as session:
        breaches = await deadlines.scan(session, date(2026, 1, 21))
    assert [(b.case_id, b.kind, b.due_on) for b in breaches] == [
        (late, "acknowledge", date(2026, 1, 8))]
    async with db.transaction() as session:
        assert await deadlines.scan(session, date(2026, 1, 22)) == []  # alerted already
    async with db.transaction() as session:  # a month on, both owe the reporter news
        later = await deadlines.scan(session, date(2026, 2, 25))
    assert sorted((b.kind, b.due_on) for b in later) == [
        ("acknowledge", date(2026, 1, 27)), ("update", date(2026, 1, 31)),
        ("update", date(2026, 2, 19))]


async def test_a_stricter_organisation_policy_applies(db: Database) -> None:
    await new_case(db, received_on=date(2026, 1, 1))
    strict = CasesSettings(organisation_deadlines={
        "tenaganita": DeadlinePolicy(acknowledge_within_days=2)})
    async with db.transaction() as session:
        breaches = await deadlines.scan(session, date(2026, 1, 4), strict.deadlines_for)
    assert [(b.kind, b.due_on) for b in breaches] == [("acknowledge", date(2026, 1, 3))]


async def test_a_case_that_came_by_referral_has_no_reporter_inbox(db: Database) -> None:
    case_id = await new_case(db, reference="RF-AAAA-BBBB")
    async with db.transaction() as session:
        with pytest.raises(Conflict, match="inbox stays with the referring organisation"):
            await work.send_message(session, ANI, case_id, "Hello")
        case = await session.get(Case, case_id)
        assert case is not None
        assert deadlines.due(case, POLICY) == {}
