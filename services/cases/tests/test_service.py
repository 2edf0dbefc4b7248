"""Case-management's rules on a database built by its migrations (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import select

from suara_cases import content, service, work
from suara_cases.deadlines import due
from suara_cases.handlers import MIGRATIONS
from suara_cases.models import AuditEntry, Case, CaseMessage
from suara_cases.settings import CasesSettings, DeadlinePolicy
from suara_cases.states import CaseStatus
from suara_contracts.events import SubmissionReceived
from suara_contracts.rpc import Actor, CaseListQuery, CodeCase
from suara_kit.clock import today
from suara_kit.db import Database
from suara_kit.errors import Conflict, Forbidden, NotFound, ValidationFailed
from suara_kit.ids import uuid7
from suara_kit.testing import migrated

WEEK = timedelta(days=7)
HANDLER = Actor(subject="staff-1", roles=["case-handler"], organisation="tenaganita")
OTHER_ORG = Actor(subject="staff-2", roles=["case-handler"], organisation="apmm")


@pytest.fixture
async def db(database_url: Callable[[str], str]) -> AsyncIterator[Database]:
    async with migrated(MIGRATIONS, database_url("cases")) as database:
        content.use_keys(database, CasesSettings())
        yield database


def submission(**changes: Any) -> SubmissionReceived:
    fields: dict[str, Any] = {
        "submission_id": uuid7(), "reference": "SU-AAAA-BBBB", "organisation": "tenaganita",
        "form_version": "v1", "language": "en", "risk": "normal", "risk_reasons": [],
        "received_on": date(2026, 11, 2), "answers": {"what_happened": "unpaid"}}
    return SubmissionReceived(**(fields | changes))


async def open_case(db: Database, **changes: Any) -> Case:
    event = submission(**changes)
    async with db.transaction() as session:
        opened = await service.open_case(session, event, WEEK)
        assert opened is not None
        case = await session.get(Case, opened.case_id)
        assert case is not None
    return case


async def test_open_case_stores_the_case_and_returns_the_event(db: Database) -> None:
    event = submission(risk="high", risk_reasons=["confinement"])
    async with db.transaction() as session:
        opened = await service.open_case(session, event, WEEK)
    assert opened is not None
    async with db.transaction() as session:
        case = await session.get(Case, opened.case_id)
        assert case is not None
        answers = await content.answers_of(session, case)
    assert (case.submission_id, case.reference, case.organisation) == (
        event.submission_id, "SU-AAAA-BBBB", "tenaganita")
    assert (case.status, case.risk, case.risk_reasons) == ("received", "high", ["confinement"])
    assert answers == {"what_happened": "unpaid"}
    assert (opened.submission_id, opened.status) == (event.submission_id, "received")


@pytest.mark.parametrize("received_on", [date(2026, 11, 2), date(2026, 12, 28), date(2028, 2, 25)])
async def test_acknowledge_by_is_seven_days_after_receipt(db: Database, received_on: date) -> None:
    case = await open_case(db, received_on=received_on)
    assert case.received_on == received_on
    assert case.acknowledge_by == received_on + timedelta(days=7)


async def test_open_case_is_idempotent_per_submission(db: Database) -> None:
    event = submission()
    async with db.transaction() as session:
        first = await service.open_case(session, event, WEEK)
    async with db.transaction() as session:
        again = await service.open_case(session, event, WEEK)
    assert first is not None
    assert again is None
    async with db.transaction() as session:
        cases = (await session.exec(select(Case))).all()
    assert [c.id for c in cases] == [first.case_id]


async def test_triage_puts_high_risk_first_then_nearest_deadline(db: Database) -> None:
    late_normal = await open_case(db, received_on=date(2026, 11, 20), reference="SU-0000-0001")
    early_normal = await open_case(db, received_on=date(2026, 11, 1), reference="SU-0000-0002")
    late_high = await open_case(db, received_on=date(2026, 11, 25), risk="high",
                                risk_reasons=["retaliation"], reference="SU-0000-0003")
    early_high = await open_case(db, received_on=date(2026, 11, 10), risk="high",
                                 risk_reasons=["confinement"], reference="SU-0000-0004")
    await open_case(db, organisation="apmm", risk="high", received_on=date(2026, 10, 1))
    async with db.transaction() as session:
        queue = (await service.list_cases(session, CaseListQuery(actor=HANDLER))).items
    assert [c.case_id for c in queue] == [early_high.id, late_high.id, early_normal.id,
                                          late_normal.id]
    assert {c.organisation for c in queue} == {"tenaganita"}


async def test_triage_orders_by_the_nearest_deadline_owed_not_the_acknowledgement(
        db: Database) -> None:
    """After acknowledging, what falls due is the feedback (3 months) and the update (every
    30 days): a case acknowledged long ago and answered last week is not more urgent than one
    received yesterday, and one whose three months run out tomorrow is the most urgent."""
    day = date(2026, 11, 20)
    fresh = await open_case(db, received_on=day - timedelta(days=1), reference="SU-DUE-0001")
    updated = await open_case(db, received_on=day - timedelta(days=60), reference="SU-DUE-0002")
    feedback = await open_case(db, received_on=day - timedelta(days=95), reference="SU-DUE-0003")
    closed = await open_case(db, received_on=day - timedelta(days=200), reference="SU-DUE-0004")
    copy = await open_case(db, received_on=day - timedelta(days=300), reference="RF-DUE-0005")
    async with db.transaction() as session:
        for case, status, acknowledged, last in (
                (updated, "in-assessment", day - timedelta(days=58), day - timedelta(days=7)),
                (feedback, "in-mediation", day - timedelta(days=89), day - timedelta(days=2)),
                (closed, "closed", day - timedelta(days=199), day - timedelta(days=100))):
            row = await session.get(Case, case.id)
            assert row is not None
            row.status, row.acknowledged_on, row.last_update_on = status, acknowledged, last
            session.add(row)
    async with db.transaction() as session:
        queue = (await service.list_cases(session, CaseListQuery(actor=HANDLER))).items
    # due: feedback day+1, fresh day+6 (acknowledge), updated day+23 (update), then none
    assert [c.case_id for c in queue][:3] == [feedback.id, fresh.id, updated.id]
    assert {c.case_id for c in queue[3:]} == {closed.id, copy.id}
    assert [min(c.due.values(), default=None) for c in queue[:3]] == [
        day + timedelta(days=1), day + timedelta(days=6), day + timedelta(days=23)]


@pytest.mark.parametrize("strict", [False, True], ids=["directive", "stricter-policy"])
async def test_the_query_orders_the_queue_as_the_deadline_engine_computes_it(
        db: Database, strict: bool) -> None:
    """The ordering is computed by the database; it must agree with `deadlines.due` (what the
    page shows) for every state, with or without a stricter policy, across pages."""
    policy = DeadlinePolicy(acknowledge_within_days=2, feedback_within_days=30,
                            update_every_days=10) if strict else DeadlinePolicy()
    statuses = [s.value for s in CaseStatus]
    base = date(2026, 9, 1)
    for i in range(24):
        case = await open_case(db, received_on=base + timedelta(days=(i * 7) % 40),
                               risk="high" if i % 5 == 0 else "normal",
                               risk_reasons=["retaliation"] if i % 5 == 0 else [],
                               reference=f"{'RF' if i % 11 == 3 else 'SU'}-MIX-{i:04d}")
        status = statuses[i % len(statuses)]
        if status == "received":
            continue
        async with db.transaction() as session:
            row = await session.get(Case, case.id)
            assert row is not None
            row.status = status
            row.acknowledged_on = row.received_on + timedelta(days=i % 4)
            row.last_update_on = (row.received_on + timedelta(days=(i * 3) % 50)
                                  if i % 2 else None)
            session.add(row)
    async with db.transaction() as session:
        rows = list((await session.exec(select(Case))).all())

    def expected(case: Case) -> tuple[int, date, str]:
        owed = due(case, policy).values()
        return (0 if case.risk == "high" else 1, min(owed, default=date(9999, 12, 31)),
                str(case.id))

    want = [c.id for c in sorted((c for c in rows if c.organisation == "tenaganita"),
                                 key=expected)]
    seen, cursor = [], None
    while True:
        async with db.transaction() as session:
            page = await service.list_cases(session, CaseListQuery(
                actor=HANDLER, limit=5, cursor=cursor), lambda _: policy)
        seen += [c.case_id for c in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == want


async def test_the_queue_comes_in_pages_that_neither_skip_nor_repeat_and_filters(
        db: Database) -> None:
    opened = [await open_case(db, received_on=date(2026, 11, 1 + i % 5),
                              risk="high" if i % 3 == 0 else "normal",
                              risk_reasons=["retaliation"] if i % 3 == 0 else [],
                              reference=f"SU-PAGE-{i:04d}") for i in range(11)]
    async with db.transaction() as session:
        whole = (await service.list_cases(session, CaseListQuery(actor=HANDLER))).items
    seen, cursor, pages = [], None, 0
    while True:
        async with db.transaction() as session:
            page = await service.list_cases(session, CaseListQuery(actor=HANDLER, limit=4,
                                                                   cursor=cursor))
        seen += [c.case_id for c in page.items]
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
        if pages == 1:  # a case arriving between two pages sorts after the cursor: no repeat
            await open_case(db, received_on=date(2026, 12, 30), reference="SU-PAGE-LATE")
    assert pages == 3
    assert seen[:len(whole)] == [c.case_id for c in whole]
    assert len(seen) == len(set(seen)) == len(opened) + 1

    async with db.transaction() as session:
        high = await service.list_cases(session, CaseListQuery(actor=HANDLER, risk="high"))
        assert {c.risk for c in high.items} == {"high"}
        assert len(high.items) == 4
        mine = await service.list_cases(session, CaseListQuery(actor=HANDLER, assigned_to="me"))
        assert mine.items == []
        nobody = await service.list_cases(session, CaseListQuery(actor=HANDLER,
                                                                 assigned_to="nobody"))
        assert len(nobody.items) == 12
        received = await service.list_cases(session, CaseListQuery(
            actor=HANDLER, status=["received", "closed"]))
        assert len(received.items) == 12
        with pytest.raises(ValidationFailed, match="no such state"):
            await service.list_cases(session, CaseListQuery(actor=HANDLER, status=["lost"]))
        with pytest.raises(ValidationFailed, match="cursor"):
            await service.list_cases(session, CaseListQuery(actor=HANDLER, cursor="bm9wZQ"))


async def test_handler_of_another_organisation_gets_not_found(db: Database) -> None:
    case = await open_case(db)
    async with db.transaction() as session:
        with pytest.raises(NotFound) as info:
            await service.get_case(session, OTHER_ORG, case.id)
    assert info.value.status == 404
    async with db.transaction() as session:
        with pytest.raises(NotFound):
            await work.acknowledge(session, OTHER_ORG, case.id, "hello")
    async with db.transaction() as session:
        assert (await service.list_cases(session, CaseListQuery(actor=OTHER_ORG))).items == []
        assert (await session.get(Case, case.id)).status == "received"  # type: ignore[union-attr]


async def test_unknown_case_is_not_found(db: Database) -> None:
    async with db.transaction() as session:
        with pytest.raises(NotFound):
            await service.get_case(session, HANDLER, uuid7())


@pytest.mark.parametrize("actor", [
    Actor(subject="m-1", roles=["mediator"], organisation="tenaganita"),
    Actor(subject="a-1", roles=["admin", "offline_access"], organisation="tenaganita"),
    Actor(subject="h-1", roles=["case-handler"], organisation=None),
])
async def test_non_handler_is_forbidden(db: Database, actor: Actor) -> None:
    case = await open_case(db)
    for call in (lambda s: service.list_cases(s, CaseListQuery(actor=actor)),
                 lambda s: service.get_case(s, actor, case.id),
                 lambda s: work.acknowledge(s, actor, case.id, "hello")):
        async with db.transaction() as session:
            with pytest.raises(Forbidden) as info:
                await call(session)
        assert info.value.status == 403


async def test_get_case_returns_answers_and_audits_the_read(db: Database) -> None:
    case = await open_case(db)
    async with db.transaction() as session:
        detail = await service.get_case(session, HANDLER, case.id)
    assert detail.answers == {"what_happened": "unpaid"}
    assert detail.case_id == case.id
    async with db.transaction() as session:
        entries = (await session.exec(select(AuditEntry).order_by(AuditEntry.seq))).all()
    assert [(e.actor, e.action, e.case_id) for e in entries] == [
        ("system", "open", case.id), ("staff-1", "read", case.id)]


async def test_acknowledge_changes_status_and_returns_both_events(db: Database) -> None:
    case = await open_case(db)
    async with db.transaction() as session:
        acked, changed, message = await work.acknowledge(session, HANDLER, case.id,
                                                            "We have your report.")
    assert acked.status == CaseStatus.ACKNOWLEDGED
    assert (changed.case_id, changed.submission_id, changed.organisation) == (
        case.id, case.submission_id, "tenaganita")
    assert (changed.from_status, changed.to_status) == ("received", "acknowledged")
    assert (message.case_id, message.submission_id, message.organisation) == (
        case.id, case.submission_id, "tenaganita")
    assert message.body == "We have your report."
    async with db.transaction() as session:
        stored = await session.get(Case, case.id)
        assert stored is not None
        notes = list((await session.exec(select(CaseMessage))).all())
        bodies = await content.bodies_of(session, stored, notes)
    assert (stored.status, stored.acknowledged_on) == ("acknowledged", today())
    assert [(n.id, n.case_id, n.author, bodies[n.id]) for n in notes] == [
        (message.message_id, case.id, "staff-1", "We have your report.")]
    assert notes[0].legacy_body is None  # stored sealed, never as text
    assert b"your report" not in (notes[0].sealed_body or b"")


async def test_acknowledge_twice_is_conflict(db: Database) -> None:
    case = await open_case(db)
    async with db.transaction() as session:
        await work.acknowledge(session, HANDLER, case.id, "first")
    with pytest.raises(Conflict) as info:
        async with db.transaction() as session:
            await work.acknowledge(session, HANDLER, case.id, "second")
    assert info.value.status == 409
    assert "cannot become 'acknowledged'" in info.value.detail
    async with db.transaction() as session:
        notes = list((await session.exec(select(CaseMessage))).all())
        bodies = await content.bodies_of(session, await session.get(Case, case.id), notes)
    assert list(bodies.values()) == ["first"]


async def test_the_queue_filters_by_issue_and_corridor_as_coded_else_as_reported(
        db: Database) -> None:
    wages = await open_case(db, reference="SU-FLTR-0001", answers={
        "categories": ["unpaid-wages", "no-rest-day"], "origin": "ID", "country": "MY"})
    passport = await open_case(db, reference="SU-FLTR-0002", answers={
        "categories": ["document-retention"], "origin": "PH", "country": "MY"})
    other = await open_case(db, reference="SU-FLTR-0003", answers={
        "categories": ["other"], "origin": "other", "country": "HK"})
    recoded = await open_case(db, reference="SU-FLTR-0004", answers={
        "categories": ["unpaid-wages"], "origin": "ID", "country": "MY"})
    async with db.transaction() as session:
        await work.code(session, HANDLER, CodeCase(
            actor=HANDLER, case_id=recoded.id, issues=["recruitment-fees"], origin="KH",
            destination="TH", respondent="Agency", respondent_kind="agency"), 3, 90)

    async def found(**filters: Any) -> list[Any]:
        async with db.transaction() as session:
            page = await service.list_cases(session, CaseListQuery(actor=HANDLER, **filters))
        return sorted(c.reference for c in page.items)

    assert await found(issue="unpaid-wages") == [wages.reference]  # the coded issue wins
    assert await found(issue="recruitment-fees") == [recoded.reference]
    assert await found(issue="other") == [other.reference]  # not the country "other"
    assert await found(issue="no_rest") == []  # matched whole, no wildcard
    assert await found(origin="ID") == [wages.reference]
    assert await found(origin="KH", destination="TH") == [recoded.reference]
    assert await found(destination="MY") == [wages.reference, passport.reference]
    assert await found(destination="MY", issue="document-retention") == [passport.reference]
    async with db.transaction() as session:
        queue = (await service.list_cases(session, CaseListQuery(actor=HANDLER))).items
    shown = {c.reference: (c.issues, c.origin, c.destination) for c in queue}
    assert shown[wages.reference] == (["unpaid-wages", "no-rest-day"], "ID", "MY")
    assert shown[recoded.reference] == (["recruitment-fees"], "KH", "TH")


async def test_a_case_says_which_statuses_it_may_move_to(db: Database) -> None:
    case = await open_case(db)
    async with db.transaction() as session:
        detail = await service.get_case(session, HANDLER, case.id)
    assert detail.allowed_transitions == ["acknowledged", "withdrawn"]
    async with db.transaction() as session:
        await work.acknowledge(session, HANDLER, case.id, "We have your report.")
        detail = await service.get_case(session, HANDLER, case.id)
    assert detail.allowed_transitions == ["in-assessment", "withdrawn"]
