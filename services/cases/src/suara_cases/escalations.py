"""Escalations from other services: an obligation of a mediated agreement was not kept, so
the case comes back to its handler.

A case that was decided or closed is reopened (in assessment; its post-closure check-ins wait
until it closes again); a case still open stays where it is. Either way a status note on the
case says what was missed and by when, and the reopening is audited."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from suara_cases import audit, checkins, content, repository
from suara_cases.states import OPEN_STATES, CaseStatus
from suara_contracts.events import CaseStatusChanged, ObligationMissed
from suara_kit.clock import today
from suara_kit.errors import NotFound

SYSTEM = "system"
WHAT = {"payment": "a payment", "return-documents": "the return of documents",
        "reinstatement": "a reinstatement", "reference-letter": "a reference letter",
        "apology": "an apology", "policy-change": "a policy change"}


async def obligation_missed(session: AsyncSession,
                            event: ObligationMissed) -> CaseStatusChanged | None:
    """Reopen the case of a missed obligation; the status change, if there was one."""
    case = await repository.get(session, event.case_id)
    if case is None:
        raise NotFound("obligation missed on an unknown case")  # retried, then dead-lettered
    if case.shredded_on is not None:
        return None  # retention ended the case: there is nothing left to reopen
    note = (f"The mediated agreement was not kept: {WHAT[event.kind]} due on "
            f"{event.due_on.isoformat()} did not happen.")
    previous = case.status
    if previous not in OPEN_STATES:
        case.status, case.closed_on, case.appeal_against = CaseStatus.IN_ASSESSMENT, None, None
        case.last_update_on = today()
        await checkins.cancel_unsent(session, case)
        note += " The case is reopened."
    await content.add_message(session, case, author=SYSTEM, body=note, kind="status-note",
                              sent_on=today())
    session.add(case)
    await audit.record(session, SYSTEM, f"obligation-missed:{event.kind}", case.id)
    if case.status == previous:
        return None
    return CaseStatusChanged(case_id=case.id, submission_id=case.submission_id,
                             organisation=case.organisation, from_status=previous,
                             to_status=case.status)
