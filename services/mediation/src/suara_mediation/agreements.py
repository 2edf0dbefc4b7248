"""Mediated agreements: typed obligations with due dates and compliance checks.

A mediator drafts the agreement the parties reached on a case: obligations of six kinds
(payment of an amount by a date, return of documents, reinstatement, a reference letter, an
apology, a policy change), each due on a date. A term that waives a right, or pays less than a
stated entitlement, is flagged and needs a recorded reason, so a worker is never quietly talked
out of what the law gives them. Before signing, the worker acknowledges, in their language, the
outside options they keep (`outside_options.py`); signing without that is refused.

Compliance: the mediator records each obligation met or missed; a daily job marks the pending
obligations of signed agreements missed once their due date has passed. A missed obligation
escalates: `ObligationMissed` → case-management reopens the case.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from pydantic import BaseModel
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_contracts.agreements import (
    AcknowledgeOptions,
    AgreementList,
    AgreementQuery,
    AgreementView,
    CaseAgreementsQuery,
    DraftAgreement,
    ObligationTerm,
    ObligationView,
    RecordCompliance,
    SignAgreement,
)
from suara_contracts.events import ObligationMissed
from suara_contracts.rpc import Actor
from suara_contracts.subjects import Evt, Rpc
from suara_kit.clock import today
from suara_kit.errors import Conflict, NotFound
from suara_kit.ids import uuid7
from suara_kit.service import ServiceApp
from suara_mediation import audit, mediations, outside_options
from suara_mediation.agreement_models import Agreement, Obligation
from suara_mediation.resources import invalid

DRAFT, SIGNED = "draft", "signed"
PENDING, MET, MISSED = "pending", "met", "missed"
FLAG_WORDS = {"waives-right": "gives up one of the worker's rights",
              "below-entitlement": "pays less than the stated entitlement"}
Emit = Callable[[AsyncSession, str, BaseModel], UUID]


async def _agreement(session: AsyncSession, actor: Actor, agreement_id: UUID,
                     lock: bool = False) -> Agreement:
    organisation = mediations.require_mediator(actor)
    row = await session.get(Agreement, agreement_id, with_for_update=lock)
    if row is None or row.organisation != organisation:
        raise NotFound("No such agreement in your organisation.")
    return row


async def _obligations(session: AsyncSession, agreement_id: UUID) -> list[Obligation]:
    return list(await session.exec(select(Obligation).where(
        Obligation.agreement_id == agreement_id).order_by(col(Obligation.position))))


def view(agreement: Agreement, obligations: list[Obligation]) -> AgreementView:
    return AgreementView(
        agreement_id=agreement.id, case_id=agreement.case_id,
        status=agreement.status,  # type: ignore[arg-type]
        drafted_by=agreement.drafted_by, drafted_on=agreement.drafted_on,
        worker_language=agreement.worker_language,
        outside_options=outside_options.outside_options(agreement.worker_language),
        options_acknowledged_on=agreement.options_acknowledged_on,
        options_acknowledged_by=agreement.options_acknowledged_by,
        signed_on=agreement.signed_on,
        obligations=[ObligationView(
            obligation_id=o.id, kind=o.kind, description=o.description,  # type: ignore[arg-type]
            due_on=o.due_on, amount=o.amount, currency=o.currency, entitlement=o.entitlement,
            waives_right=o.waives_right, flag_reason=o.flag_reason,
            status=o.status, flags=o.flags, checked_on=o.checked_on,  # type: ignore[arg-type]
            checked_by=o.checked_by, note=o.note) for o in obligations])


def _check_terms(terms: list[ObligationTerm]) -> None:
    for i, term in enumerate(terms):
        flags = term.found_flags()
        if flags and not (term.flag_reason or "").strip():
            what = " and ".join(FLAG_WORDS[f] for f in flags)
            raise invalid((f"obligations[{i}].flag_reason",
                           f"this term {what}: record why it is acceptable to the worker"))


async def draft(session: AsyncSession, command: DraftAgreement) -> AgreementView:
    """A draft agreement for a case of the mediator's organisation."""
    case = await mediations.case_of(session, command.actor, command.case_id)
    if command.worker_language not in outside_options.LANGUAGES:
        raise invalid(("worker_language", "one of " + ", ".join(sorted(
            outside_options.LANGUAGES))))
    _check_terms(command.obligations)
    agreement = Agreement(id=uuid7(), case_id=case.case_id, organisation=case.organisation,
                          status=DRAFT, drafted_by=command.actor.subject, drafted_on=today(),
                          worker_language=command.worker_language)
    session.add(agreement)
    await session.flush()
    rows = [Obligation(id=uuid7(), agreement_id=agreement.id, position=i, kind=t.kind,
                       description=t.description.strip(), due_on=t.due_on, amount=t.amount,
                       currency=t.currency, entitlement=t.entitlement,
                       waives_right=t.waives_right, flags=t.found_flags(),
                       flag_reason=(t.flag_reason or "").strip() or None)
            for i, t in enumerate(command.obligations)]
    session.add_all(rows)
    await audit.record(session, command.actor.subject, "agreement-draft", case.case_id)
    return view(agreement, rows)


async def get(session: AsyncSession, query: AgreementQuery) -> AgreementView:
    agreement = await _agreement(session, query.actor, query.agreement_id)
    await audit.record(session, query.actor.subject, "agreement-read", agreement.case_id)
    return view(agreement, await _obligations(session, agreement.id))


async def of_case(session: AsyncSession, query: CaseAgreementsQuery) -> AgreementList:
    case = await mediations.case_of(session, query.actor, query.case_id)
    await audit.record(session, query.actor.subject, "agreement-list", case.case_id)
    agreements = await session.exec(select(Agreement).where(
        Agreement.case_id == case.case_id).order_by(col(Agreement.id)))
    return AgreementList(items=[view(a, await _obligations(session, a.id))
                                for a in agreements])


async def acknowledge_options(session: AsyncSession, command: AcknowledgeOptions
                              ) -> AgreementView:
    """Record that the worker read, in their language, the options they keep."""
    agreement = await _agreement(session, command.actor, command.agreement_id, lock=True)
    if agreement.status != DRAFT:
        raise Conflict("This agreement is signed already.")
    if command.language != agreement.worker_language:
        raise invalid(("language", f"the worker reads {agreement.worker_language}: show them "
                                   "the text in that language"))
    if command.text_version != outside_options.VERSION:
        raise Conflict(f"The text of the outside options changed (now version "
                       f"{outside_options.VERSION}); show the worker the current text.")
    agreement.options_version = command.text_version
    agreement.options_acknowledged_on = today()
    agreement.options_acknowledged_by = command.acknowledged_by
    session.add(agreement)
    await audit.record(session, command.actor.subject, "agreement-options-acknowledged",
                       agreement.case_id)
    return view(agreement, await _obligations(session, agreement.id))


async def sign(session: AsyncSession, command: SignAgreement) -> AgreementView:
    agreement = await _agreement(session, command.actor, command.agreement_id, lock=True)
    if agreement.status != DRAFT:
        raise Conflict("This agreement is signed already.")
    if agreement.options_acknowledged_on is None:
        raise Conflict("The worker has not acknowledged the outside options they keep (labour "
                       "department, tribunal, court): show them the text in their language "
                       "and record it first.")
    agreement.status, agreement.signed_on = SIGNED, today()
    session.add(agreement)
    await audit.record(session, command.actor.subject, "agreement-sign", agreement.case_id)
    return view(agreement, await _obligations(session, agreement.id))


def _missed(agreement: Agreement, obligation: Obligation) -> ObligationMissed:
    return ObligationMissed(case_id=agreement.case_id, organisation=agreement.organisation,
                            agreement_id=agreement.id, obligation_id=obligation.id,
                            kind=obligation.kind,  # type: ignore[arg-type]
                            due_on=obligation.due_on)


async def record_compliance(session: AsyncSession, command: RecordCompliance,
                            emit: Emit) -> AgreementView:
    """The mediator checked an obligation: met, or missed (which reopens the case)."""
    agreement = await _agreement(session, command.actor, command.agreement_id, lock=True)
    if agreement.status != SIGNED:
        raise Conflict("Only a signed agreement's obligations are checked.")
    obligation = await session.get(Obligation, command.obligation_id)
    if obligation is None or obligation.agreement_id != agreement.id:
        raise NotFound("No such obligation in this agreement.")
    if obligation.status == MET:
        raise Conflict(f"This obligation was recorded met on {obligation.checked_on}.")
    if obligation.status == MISSED and not command.met:
        raise Conflict("This obligation is recorded missed already.")
    was = obligation.status
    obligation.status = MET if command.met else MISSED
    obligation.checked_on, obligation.checked_by = today(), command.actor.subject
    obligation.note = command.note.strip() or None
    session.add(obligation)
    await audit.record(session, command.actor.subject, f"obligation-{obligation.status}",
                       agreement.case_id)
    if was == PENDING and obligation.status == MISSED:
        emit(session, Evt.OBLIGATION_MISSED, _missed(agreement, obligation))
    return view(agreement, await _obligations(session, agreement.id))


async def mark_overdue(session: AsyncSession, emit: Emit) -> int:
    """Pending obligations of signed agreements past their due date become missed, once."""
    rows = await session.exec(
        select(Obligation, Agreement).join(Agreement).where(
            Agreement.status == SIGNED, Obligation.status == PENDING,
            col(Obligation.due_on) < today()).with_for_update(skip_locked=True, of=Obligation))
    count = 0
    for obligation, agreement in rows:
        obligation.status, obligation.checked_on, obligation.checked_by = (
            MISSED, today(), "system")
        session.add(obligation)
        await audit.record(session, "system", "obligation-missed", agreement.case_id)
        emit(session, Evt.OBLIGATION_MISSED, _missed(agreement, obligation))
        count += 1
    return count


Handler = Callable[[Any], Awaitable[BaseModel]]


def endpoints(app: ServiceApp) -> list[tuple[str, type[BaseModel], Handler]]:
    serve = app.transactional
    return [
        (Rpc.MEDIATION_AGREEMENT_DRAFT, DraftAgreement, serve(draft)),
        (Rpc.MEDIATION_AGREEMENT_GET, AgreementQuery, serve(get)),
        (Rpc.MEDIATION_AGREEMENTS_OF_CASE, CaseAgreementsQuery, serve(of_case)),
        (Rpc.MEDIATION_AGREEMENT_ACKNOWLEDGE, AcknowledgeOptions, serve(acknowledge_options)),
        (Rpc.MEDIATION_AGREEMENT_SIGN, SignAgreement, serve(sign)),
        (Rpc.MEDIATION_AGREEMENT_COMPLIANCE, RecordCompliance,
         serve(lambda s, c: record_compliance(s, c, app.emit))),
    ]
