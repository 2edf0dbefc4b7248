"""Mediated agreements: typed obligations, flagged terms need a reason, no signature before the
worker acknowledged their outside options in their language, and a missed obligation is
escalated once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from pydantic import BaseModel, ValidationError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_contracts.agreements import (
    AcknowledgeOptions,
    AgreementQuery,
    DraftAgreement,
    ObligationTerm,
    RecordCompliance,
    SignAgreement,
)
from suara_contracts.events import ObligationMissed
from suara_contracts.rpc import Actor
from suara_contracts.subjects import Evt
from suara_kit.clock import today
from suara_kit.db import Database
from suara_kit.errors import Conflict, Forbidden, NotFound, ValidationFailed
from suara_kit.ids import uuid7
from suara_kit.testing import migrated
from suara_mediation import agreements, audit, outside_options
from suara_mediation.handlers import MIGRATIONS
from suara_mediation.models import AuditEntry, KnownCase

MEDIATOR = Actor(subject="med-t", roles=["mediator"], organisation="tenaganita")
OTHER_ORG = Actor(subject="med-m", roles=["mediator"], organisation="map-foundation")
HANDLER = Actor(subject="h-t", roles=["case-handler"], organisation="tenaganita")


@pytest.fixture
async def db(database_url: Callable[[str], str]) -> AsyncIterator[Database]:
    async with migrated(MIGRATIONS, database_url("mediation")) as database:
        yield database


class Emitted:
    def __init__(self) -> None:
        self.events: list[tuple[str, BaseModel]] = []

    def __call__(self, _: AsyncSession, subject: str, data: BaseModel) -> UUID:
        self.events.append((subject, data))
        return uuid7()


@pytest.fixture
async def case_id(db: Database) -> UUID:
    case = uuid7()
    async with db.transaction() as session:
        session.add(KnownCase(case_id=case, organisation="tenaganita", opened_on=today()))
    return case


def payment(**fields: Any) -> ObligationTerm:
    return ObligationTerm(**{"kind": "payment", "description": "Three months of wages",
                             "due_on": today() + timedelta(days=14),
                             "amount": Decimal("4500.00"), "currency": "MYR"} | fields)


def passport() -> ObligationTerm:
    return ObligationTerm(kind="return-documents", description="Return the passport",
                          due_on=today() + timedelta(days=3))


async def drafted(db: Database, case_id: UUID, *terms: ObligationTerm,
                  language: str = "my") -> Any:
    async with db.transaction() as session:
        return await agreements.draft(session, DraftAgreement(
            actor=MEDIATOR, case_id=case_id, worker_language=language,
            obligations=list(terms or (payment(), passport()))))


async def signed(db: Database, case_id: UUID) -> Any:
    made = await drafted(db, case_id)
    async with db.transaction() as session:
        await agreements.acknowledge_options(session, AcknowledgeOptions(
            actor=MEDIATOR, agreement_id=made.agreement_id, language="my",
            text_version=outside_options.VERSION))
    async with db.transaction() as session:
        return await agreements.sign(session, SignAgreement(actor=MEDIATOR,
                                                            agreement_id=made.agreement_id))


def test_terms_are_typed() -> None:
    with pytest.raises(ValidationError, match="a payment needs an amount and a currency"):
        ObligationTerm(kind="payment", description="wages", due_on=date(2027, 1, 1))
    with pytest.raises(ValidationError, match="only a payment has an amount"):
        ObligationTerm(kind="apology", description="sorry", due_on=date(2027, 1, 1),
                       amount=Decimal(5))
    with pytest.raises(ValidationError):
        ObligationTerm(kind="gift", description="x", due_on=date(2027, 1, 1))  # type: ignore[arg-type]


async def test_a_draft_shows_the_outside_options_in_the_workers_language(
        db: Database, case_id: UUID) -> None:
    made = await drafted(db, case_id)
    assert made.status == "draft"
    assert [o.kind for o in made.obligations] == ["payment", "return-documents"]
    assert made.outside_options.language == "my"
    assert made.outside_options.text == outside_options.TEXT["my"]
    assert made.outside_options.needs_native_review  # Burmese is a non-native draft
    async with db.transaction() as session:
        again = await agreements.get(session, AgreementQuery(actor=MEDIATOR,
                                                             agreement_id=made.agreement_id))
    assert again == made


def test_every_language_of_the_worker_has_the_outside_options() -> None:
    assert outside_options.LANGUAGES == {"en", "id", "fil", "ms", "th", "vi", "km", "my",
                                         "zh_Hant"}
    for language in outside_options.LANGUAGES:
        text = outside_options.outside_options(language).text
        assert len(text) > 80, language
    assert outside_options.NEEDS_REVIEW == {"km", "my"}


@pytest.mark.parametrize(("term", "words"), [
    (payment(entitlement=Decimal("6000.00")), "pays less than the stated entitlement"),
    (ObligationTerm(kind="policy-change", description="The worker will not complain",
                    due_on=date(2027, 1, 1), waives_right=True),
     "gives up one of the worker's rights"),
])
async def test_a_flagged_term_needs_a_recorded_reason(db: Database, case_id: UUID,
                                                      term: ObligationTerm, words: str) -> None:
    with pytest.raises(ValidationFailed, match=words) as refused:
        await drafted(db, case_id, passport(), term)
    assert refused.value.extra["errors"][0]["field"] == "obligations[1].flag_reason"
    reason = "The worker chose a faster, smaller payment over a tribunal claim."
    made = await drafted(db, case_id, passport(), term.model_copy(update={
        "flag_reason": reason}))
    assert made.obligations[1].flags == term.found_flags()
    assert made.obligations[1].flag_reason == reason


async def test_no_signature_before_the_worker_acknowledged_their_options(
        db: Database, case_id: UUID) -> None:
    made = await drafted(db, case_id)
    with pytest.raises(Conflict, match="has not acknowledged the outside options"):
        async with db.transaction() as session:
            await agreements.sign(session, SignAgreement(actor=MEDIATOR,
                                                         agreement_id=made.agreement_id))
    with pytest.raises(ValidationFailed, match="the worker reads my"):
        async with db.transaction() as session:
            await agreements.acknowledge_options(session, AcknowledgeOptions(
                actor=MEDIATOR, agreement_id=made.agreement_id, language="en",
                text_version=outside_options.VERSION))
    with pytest.raises(Conflict, match="text of the outside options changed"):
        async with db.transaction() as session:
            await agreements.acknowledge_options(session, AcknowledgeOptions(
                actor=MEDIATOR, agreement_id=made.agreement_id, language="my",
                text_version="2020-01-v0"))
    done = await signed(db, case_id)
    assert (done.status, done.signed_on, done.options_acknowledged_by) == (
        "signed", today(), "worker")
    with pytest.raises(Conflict, match="signed already"):
        async with db.transaction() as session:
            await agreements.sign(session, SignAgreement(actor=MEDIATOR,
                                                         agreement_id=done.agreement_id))


async def test_only_the_cases_organisations_mediators(db: Database, case_id: UUID) -> None:
    made = await drafted(db, case_id)
    with pytest.raises(NotFound):
        async with db.transaction() as session:
            await agreements.get(session, AgreementQuery(actor=OTHER_ORG,
                                                         agreement_id=made.agreement_id))
    with pytest.raises(Forbidden):
        async with db.transaction() as session:
            await agreements.get(session, AgreementQuery(actor=HANDLER,
                                                         agreement_id=made.agreement_id))
    with pytest.raises(NotFound):
        async with db.transaction() as session:
            await agreements.draft(session, DraftAgreement(
                actor=OTHER_ORG, case_id=case_id, worker_language="id",
                obligations=[passport()]))


async def test_compliance_is_recorded_and_a_missed_obligation_escalates_once(
        db: Database, case_id: UUID) -> None:
    done = await signed(db, case_id)
    pay, docs = done.obligations
    emit = Emitted()
    async with db.transaction() as session:
        checked = await agreements.record_compliance(session, RecordCompliance(
            actor=MEDIATOR, agreement_id=done.agreement_id, obligation_id=docs.obligation_id,
            met=True, note="Passport returned at the office"), emit)
    assert checked.obligations[1].status == "met"
    assert emit.events == []
    with pytest.raises(Conflict, match="recorded met"):
        async with db.transaction() as session:
            await agreements.record_compliance(session, RecordCompliance(
                actor=MEDIATOR, agreement_id=done.agreement_id,
                obligation_id=docs.obligation_id, met=False), emit)
    async with db.transaction() as session:
        missed = await agreements.record_compliance(session, RecordCompliance(
            actor=MEDIATOR, agreement_id=done.agreement_id, obligation_id=pay.obligation_id,
            met=False, note="No transfer arrived"), emit)
    assert missed.obligations[0].status == "missed"
    [(subject, event)] = emit.events
    assert subject == Evt.OBLIGATION_MISSED
    assert isinstance(event, ObligationMissed)
    assert (event.case_id, event.kind, event.obligation_id) == (
        case_id, "payment", pay.obligation_id)
    async with db.transaction() as session:
        assert await agreements.mark_overdue(session, emit) == 0  # nothing pending is overdue


async def test_the_daily_job_marks_overdue_obligations_missed(
        db: Database, case_id: UUID, monkeypatch: pytest.MonkeyPatch) -> None:
    await drafted(db, case_id)  # a draft's dates bind nobody
    done = await signed(db, case_id)
    emit = Emitted()
    monkeypatch.setattr(agreements, "today", lambda: today() + timedelta(days=4))
    async with db.transaction() as session:
        assert await agreements.mark_overdue(session, emit) == 1  # the passport, due in 3
    async with db.transaction() as session:
        assert await agreements.mark_overdue(session, emit) == 0  # once
    assert [e.obligation_id for _, e in emit.events] == [done.obligations[1].obligation_id]
    async with db.transaction() as session:
        after = await agreements.get(session, AgreementQuery(actor=MEDIATOR,
                                                             agreement_id=done.agreement_id))
    assert [(o.kind, o.status, o.checked_by) for o in after.obligations] == [
        ("payment", "pending", None), ("return-documents", "missed", "system")]


async def test_every_read_and_write_of_an_agreement_is_in_the_audit_chain(
        db: Database, case_id: UUID) -> None:
    done = await signed(db, case_id)
    async with db.transaction() as session:
        await agreements.get(session, AgreementQuery(actor=MEDIATOR,
                                                     agreement_id=done.agreement_id))
    assert await audit.LOG.chain_pending(db) == 4  # the service's job does this every second
    async with db.transaction() as session:
        entries = list(await session.exec(select(AuditEntry).order_by(col(AuditEntry.seq))))
        assert await audit.LOG.verify(session)
    assert [(e.actor, e.action, e.case_id) for e in entries] == [
        ("med-t", "agreement-draft", case_id),
        ("med-t", "agreement-options-acknowledged", case_id),
        ("med-t", "agreement-sign", case_id), ("med-t", "agreement-read", case_id)]
    async with db.transaction() as session:
        entries[1].actor = "someone-else"
        session.add(entries[1])
    async with db.transaction() as session:
        verdict = await audit.LOG.inspect(session)
    assert (verdict.intact, verdict.broken_at) == (False, entries[1].seq)
