"""After a case closes, the reporter is asked at 1, 3 and 6 months whether anyone punished them
for complaining. A yes reopens the case at high risk; every answer stays on the case.

The question travels as a message that `asks` "check-in": the reporter's pages show it in their
own language with yes/no buttons, so the English body below is only a fallback.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_cases import audit, content
from suara_cases.deadlines import is_referral_copy
from suara_cases.models import Case, CheckIn
from suara_cases.states import CaseStatus
from suara_contracts.events import CaseStatusChanged, ReporterFollowUp, ReporterMessage

AFTER_DAYS = (30, 91, 182)
QUESTION = ("Your case was closed. Since then, has anyone punished you for complaining: your "
            "employer, your agency or anyone else? Answer yes or no below; a yes reopens your "
            "case.")
REASON = "retaliation-after-closure"
SYSTEM = "suara"


async def schedule(session: AsyncSession, case: Case) -> None:
    """Plan the check-ins of a case that just closed (none for a case that came by referral:
    its reporter is reached by the referring organisation)."""
    if is_referral_copy(case) or case.closed_on is None:
        return
    for days in AFTER_DAYS:
        due = case.closed_on + timedelta(days=days)
        if await session.get(CheckIn, (case.id, due)) is None:
            session.add(CheckIn(case_id=case.id, due_on=due))


async def cancel_unsent(session: AsyncSession, case: Case) -> None:
    """A reopened case asks nothing until it closes again."""
    await session.exec(delete(CheckIn).where(  # type: ignore[call-overload]
        col(CheckIn.case_id) == case.id, col(CheckIn.sent_on).is_(None)))


async def due_now(session: AsyncSession, today: date) -> list[ReporterMessage]:
    """Send every check-in that is due, once; the messages to emit."""
    rows = await session.exec(select(CheckIn, Case).join(Case).where(
        col(CheckIn.sent_on).is_(None), col(CheckIn.due_on) <= today,
        Case.status == CaseStatus.CLOSED).with_for_update(skip_locked=True, of=CheckIn))
    sent = []
    for check, case in rows:
        message = await content.add_message(session, case, author=SYSTEM, body=QUESTION,
                                            sent_on=today, kind="check-in")
        check.sent_on, check.message_id = today, message.id
        await audit.record(session, SYSTEM, "check-in:sent", case.id)
        sent.append(ReporterMessage(message_id=message.id, case_id=case.id,
                                    submission_id=case.submission_id,
                                    organisation=case.organisation, body=QUESTION,
                                    asks="check-in"))
    await session.flush()
    return sent


async def answered(session: AsyncSession, event: ReporterFollowUp,
                   today: date) -> CaseStatusChanged | None:
    """Record the reporter's answer; a yes reopens a closed case at high risk."""
    if event.answers_message is None:
        return None
    check = (await session.exec(select(CheckIn).where(
        CheckIn.message_id == event.answers_message))).first()
    case = await session.get(Case, check.case_id) if check else None
    if check is None or case is None or case.submission_id != event.submission_id:
        return None  # not a question this reporter was asked: nothing to record
    if check.answered_on is not None:
        return None  # answered before (a second click): the first answer stands
    check.answered_on, check.answer = today, event.answer
    await audit.record(session, "reporter", f"check-in:{event.answer}", case.id)
    if event.answer != "yes":
        return None
    case.risk = "high"
    case.risk_reasons = [*dict.fromkeys([*case.risk_reasons, REASON])]
    if case.status != CaseStatus.CLOSED:
        return None
    previous = case.status
    case.status, case.closed_on, case.appeal_against = CaseStatus.IN_ASSESSMENT, None, None
    await cancel_unsent(session, case)  # planned again when it closes again
    await content.add_message(session, case, author=SYSTEM, sent_on=today,
                              body="Reopened: the reporter says they were punished for "
                                   "complaining after the case closed.", kind="status-note")
    await audit.record(session, SYSTEM, "reopen:retaliation", case.id)
    return CaseStatusChanged(case_id=case.id, submission_id=case.submission_id,
                             organisation=case.organisation, from_status=previous,
                             to_status=case.status)
