"""Opening a case's sealed identity.

The answers the form marks identifying are sealed apart from the rest of the case
(`content.set_answers`). A handler who needs them (say, the labour office will not file a wage
claim without the worker's name) asks, naming how the reporter consented: best, the reporter's
own message on the case, which the server checks is theirs; otherwise how and when staff heard
it. Another handler of the organisation approves or refuses; the person who asked never can.
Only the requester reads the identity, only for `OPEN_DAYS` days after approval. Every request,
decision, read and refusal is in the audit log.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_cases import audit, content
from suara_cases.models import IdentityRequest
from suara_cases.service import case_for, reporter_message, require_handler
from suara_contracts.identity import (
    CaseIdentityQuery,
    DecideIdentity,
    IdentityRequestList,
    IdentityRequestView,
    IdentityView,
    PendingIdentityQuery,
    RequestIdentity,
)
from suara_contracts.subjects import Rpc
from suara_kit.clock import today
from suara_kit.errors import Conflict, Forbidden, NotFound, RefusedAfterCommit
from suara_kit.ids import uuid7
from suara_kit.service import ServiceApp

OPEN_DAYS = 7
PENDING, APPROVED, REFUSED = "pending", "approved", "refused"


def view(request: IdentityRequest) -> IdentityRequestView:
    return IdentityRequestView(
        request_id=request.id, case_id=request.case_id, requested_by=request.requested_by,
        requested_on=request.requested_on, reason=request.reason,
        consent_source=request.consent_source,  # type: ignore[arg-type]
        consent_message_id=request.consent_message_id,
        consent_obtained=request.consent_obtained,
        status=request.status,  # type: ignore[arg-type]
        decided_by=request.decided_by, decided_on=request.decided_on,
        decision_note=request.decision_note, open_until=request.open_until)


async def _requests(session: AsyncSession, *where: Any) -> list[IdentityRequest]:
    stmt = select(IdentityRequest).where(*where).order_by(col(IdentityRequest.id).desc())
    return list(await session.exec(stmt))


async def request(session: AsyncSession, command: RequestIdentity) -> IdentityRequestView:
    """Ask to open the identity of a case you may work on."""
    actor = command.actor
    case = await case_for(session, actor, command.case_id, write=True)
    if not await content.identity_of(session, case):
        raise Conflict("This report holds no identifying answers: there is nothing to open.")
    source, obtained = "staff-recorded", command.consent.obtained.strip()
    if command.consent.message_id is not None:
        await reporter_message(session, case, command.consent.message_id, "consent.message_id")
        source = "reporter"
    waiting = await _requests(session, IdentityRequest.case_id == case.id,
                              IdentityRequest.requested_by == actor.subject,
                              col(IdentityRequest.status).in_([PENDING, APPROVED]))
    if any(r.status == PENDING or (r.open_until and r.open_until >= today())
           for r in waiting):
        raise Conflict("You already have a pending or open request for this identity.")
    row = IdentityRequest(id=uuid7(), case_id=case.id, organisation=case.organisation,
                          requested_by=actor.subject, requested_on=today(),
                          reason=command.reason.strip(), consent_source=source,
                          consent_message_id=command.consent.message_id,
                          consent_obtained=obtained, status=PENDING)
    session.add(row)
    await audit.record(session, actor.subject, "identity-request", case.id)
    return view(row)


async def of_case(session: AsyncSession, query: CaseIdentityQuery) -> IdentityRequestList:
    case = await case_for(session, query.actor, query.case_id)
    return IdentityRequestList(items=[view(r) for r in await _requests(
        session, IdentityRequest.case_id == case.id)])


async def pending(session: AsyncSession, query: PendingIdentityQuery) -> IdentityRequestList:
    """Requests of the organisation waiting for a second person (no case content)."""
    organisation = require_handler(query.actor)
    return IdentityRequestList(items=[view(r) for r in await _requests(
        session, IdentityRequest.organisation == organisation,
        IdentityRequest.status == PENDING)])


async def decide(session: AsyncSession, command: DecideIdentity) -> IdentityRequestView:
    """Approve or refuse another handler's request."""
    actor = command.actor
    organisation = require_handler(actor)
    row = await session.get(IdentityRequest, command.request_id, with_for_update=True)
    if row is None or row.organisation != organisation:
        raise NotFound("No such identity request in your organisation.")
    if row.requested_by == actor.subject:
        await audit.record(session, actor.subject, "identity-self-approval-refused", row.case_id)
        raise RefusedAfterCommit(Forbidden("You asked for this identity: another handler of your "
                                "organisation must approve or refuse it."))
    if row.status != PENDING:
        raise Conflict(f"This request was already {row.status} by {row.decided_by}.")
    row.status = APPROVED if command.approve else REFUSED
    row.decided_by, row.decided_on = actor.subject, today()
    row.decision_note = command.note.strip() or None
    if command.approve:
        row.open_until = today() + timedelta(days=OPEN_DAYS)
    session.add(row)
    await audit.record(session, actor.subject, f"identity-{row.status}", row.case_id)
    return view(row)


async def open_identity(session: AsyncSession, query: CaseIdentityQuery) -> IdentityView:
    """The identifying answers, for the requester of an approved, unexpired request."""
    actor = query.actor
    case = await case_for(session, actor, query.case_id)
    approved = [r for r in await _requests(
        session, IdentityRequest.case_id == case.id,
        IdentityRequest.requested_by == actor.subject, IdentityRequest.status == APPROVED)
        if r.open_until is not None and r.open_until >= today()]
    if not approved:
        await audit.record(session, actor.subject, "identity-read-refused", case.id)
        raise RefusedAfterCommit(Conflict(
            "Opening the reporter's identity needs your request, with the reporter's recorded "
            "consent, approved by another handler in the last "
            f"{OPEN_DAYS} days: POST /api/v1/cases/{case.id}/identity-requests."))
    answers = await content.identity_of(session, case)
    await audit.record(session, actor.subject, "identity-read", case.id)
    return IdentityView(case_id=case.id, request_id=approved[0].id, answers=answers,
                        open_until=approved[0].open_until)  # type: ignore[arg-type]


def endpoints(app: ServiceApp) -> list[tuple[str, type[BaseModel], Any]]:
    """The identity subjects, each in one transaction; a refusal is raised only after its
    audit entry is committed."""
    return [
        (Rpc.CASES_IDENTITY_REQUEST, RequestIdentity, app.transactional(request)),
        (Rpc.CASES_IDENTITY_REQUESTS, CaseIdentityQuery, app.transactional(of_case)),
        (Rpc.CASES_IDENTITY_PENDING, PendingIdentityQuery, app.transactional(pending)),
        (Rpc.CASES_IDENTITY_DECIDE, DecideIdentity, app.transactional(decide)),
        (Rpc.CASES_IDENTITY_OPEN, CaseIdentityQuery, app.transactional(open_identity)),
    ]
