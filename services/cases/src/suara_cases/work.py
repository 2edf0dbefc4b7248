"""A handler's work on a case: moving it along its lifecycle, assignment and conflicts of
interest, coding, messages to the reporter, and the cluster rule. Every write is audited."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_cases import audit, checkins, content
from suara_cases.deadlines import is_referral_copy
from suara_cases.models import Case, CaseMessage, ClusterAlert, ConflictOfInterest
from suara_cases.service import case_for, require_handler
from suara_cases.states import DECISIONS, CaseStatus, check_transition
from suara_contracts.events import CaseStatusChanged, ClusterDetected, ReporterMessage
from suara_contracts.rpc import (
    Actor,
    AssignCase,
    CodeCase,
    ConflictView,
    DeclareConflict,
    TransitionCase,
)
from suara_kit.clock import today
from suara_kit.errors import Conflict, Forbidden, ValidationFailed
from suara_kit.ids import uuid7

LEGAL_SUFFIXES = re.compile(r"\b(sdn|bhd|pte|ltd|limited|co|inc|company|pt|tbk|llc)\b")


def respondent_key(name: str) -> str:
    """One spelling per respondent, so 'Maju Jaya Sdn. Bhd.' and 'MAJU JAYA' match."""
    text = unicodedata.normalize("NFKC", name).casefold()
    text = re.sub(r"[^\w\s]", " ", text)
    text = LEGAL_SUFFIXES.sub(" ", text)
    return " ".join(text.split())[:200]


@dataclass
class Outcome:
    """What a write did: the case, and the events to emit once it commits."""

    case: Case
    changed: CaseStatusChanged | None = None
    message: ReporterMessage | None = None
    cluster: ClusterDetected | None = None
    refused: str | None = None  # a refusal to raise after the audit entry is committed


NO_INBOX = ("This case came to you by referral: the reporter's inbox stays with the referring "
            "organisation. Record your outcome on the referral instead.")


async def _message(session: AsyncSession, case: Case, actor: Actor, body: str,
                   kind: str = "to-reporter") -> CaseMessage:
    if kind == "to-reporter" and is_referral_copy(case):
        raise Conflict(NO_INBOX)
    return await content.add_message(session, case, author=actor.subject, body=body,
                                     kind=kind, sent_on=today())


async def send_message(session: AsyncSession, actor: Actor, case_id: UUID, body: str
                       ) -> tuple[CaseMessage, ReporterMessage]:
    """A message to the reporter's inbox; it counts as the update they are owed."""
    case = await case_for(session, actor, case_id, write=True)
    note = await _message(session, case, actor, body)
    case.last_update_on = today()
    await audit.record(session, actor.subject, "message", case.id)
    return note, ReporterMessage(message_id=note.id, case_id=case.id,
                                 submission_id=case.submission_id,
                                 organisation=case.organisation, body=body)


def missing_coding(case: Case) -> list[str]:
    """What must be coded before the case can close."""
    missing = [] if case.coded_issues else ["issues"]
    if not (case.corridor_origin and case.corridor_destination):
        missing.append("corridor")
    if not case.respondent:
        missing.append("respondent")
    return missing


async def transition(session: AsyncSession, actor: Actor, command: TransitionCase) -> Outcome:
    """Move a case; 409 for a move the lifecycle does not allow, with the reason why."""
    case = await case_for(session, actor, command.case_id, write=True)
    try:
        target = CaseStatus(command.to)
    except ValueError:
        raise ValidationFailed(f"to: no status '{command.to}'; statuses are "
                               f"{', '.join(CaseStatus)}") from None
    check_transition(case.status, target)
    reason = command.reason.strip()
    if target == CaseStatus.ACKNOWLEDGED and not command.message:
        raise ValidationFailed("message: acknowledging tells the reporter; write the message")
    if target == CaseStatus.CLOSED and (missing := missing_coding(case)):
        raise Conflict(f"Code the case before closing it; missing: {', '.join(missing)}.",
                       missing=missing)
    appeal = case.status == CaseStatus.CLOSED and target == CaseStatus.IN_ASSESSMENT
    if (appeal or target == CaseStatus.WITHDRAWN) and len(reason) < 3:
        raise ValidationFailed(f"reason: say why the case becomes '{target}'")
    if target in DECISIONS and case.appeal_against == actor.subject:
        raise Conflict("You made the decision under appeal; another handler decides the "
                       "appeal.")
    previous = case.status
    case.status, case.last_update_on = target, today()
    if target == CaseStatus.ACKNOWLEDGED:
        case.acknowledged_on = today()
    if target in DECISIONS:
        case.decided_by = actor.subject
    if appeal:
        case.appeal_against, case.closed_on = case.decided_by, None
        await checkins.cancel_unsent(session, case)
    if target == CaseStatus.CLOSED:
        case.closed_on = today()
        await checkins.schedule(session, case)
    if reason:
        await _message(session, case, actor, reason, kind="status-note")
    outcome = Outcome(case, changed=CaseStatusChanged(
        case_id=case.id, submission_id=case.submission_id, organisation=case.organisation,
        from_status=previous, to_status=target))
    if command.message:
        note = await _message(session, case, actor, command.message)
        outcome.message = ReporterMessage(message_id=note.id, case_id=case.id,
                                          submission_id=case.submission_id,
                                          organisation=case.organisation, body=command.message)
    await audit.record(session, actor.subject, f"{'appeal' if appeal else 'status'}:{target}",
                       case.id)
    return outcome


async def acknowledge(session: AsyncSession, actor: Actor, case_id: UUID, message: str
                      ) -> tuple[Case, CaseStatusChanged, ReporterMessage]:
    """received → acknowledged, with a message to the reporter's inbox (the transition with
    its message, as POST /cases/{id}/acknowledge has always offered it)."""
    outcome = await transition(session, actor, TransitionCase(
        actor=actor, case_id=case_id, to=CaseStatus.ACKNOWLEDGED, message=message))
    if outcome.changed is None or outcome.message is None:  # a transition always has both
        raise RuntimeError("acknowledging produced no status change or message")
    return outcome.case, outcome.changed, outcome.message


async def _conflicted(session: AsyncSession, handler: str, organisation: str,
                      key: str | None) -> bool:
    if not key:
        return False
    found = await session.exec(select(ConflictOfInterest).where(
        ConflictOfInterest.handler == handler, ConflictOfInterest.organisation == organisation,
        ConflictOfInterest.respondent_key == key))
    return found.first() is not None


async def assign(session: AsyncSession, actor: Actor, command: AssignCase) -> Outcome:
    """Give the case to a handler (yourself by default). Refused, and the refusal audited,
    when that handler declared a conflict of interest with the respondent."""
    case = await case_for(session, actor, command.case_id)
    if case.assigned_to not in (None, actor.subject):
        raise Forbidden("This case is assigned to another handler; only they can hand it on.")
    assignee = command.handler or actor.subject
    if await _conflicted(session, assignee, case.organisation, case.respondent_key):
        await audit.record(session, actor.subject, "assign-refused:conflict", case.id)
        return Outcome(case, refused=("This handler declared a conflict of interest with the "
                                      "respondent of this case; assign someone else."))
    case.assigned_to = assignee
    await audit.record(session, actor.subject, "assign", case.id)
    return Outcome(case)


async def declare_conflict(session: AsyncSession, actor: Actor,
                           command: DeclareConflict) -> ConflictView:
    """Record the actor's own conflict of interest with a respondent."""
    organisation = require_handler(actor)
    row = ConflictOfInterest(id=uuid7(), handler=actor.subject, organisation=organisation,
                             respondent=command.respondent.strip(),
                             respondent_key=respondent_key(command.respondent),
                             declared_on=today())
    session.add(row)
    await audit.record(session, actor.subject, "declare-conflict", None)
    return ConflictView(conflict_id=row.id, respondent=row.respondent,
                        declared_on=row.declared_on)


async def conflicts_of(session: AsyncSession, actor: Actor) -> list[ConflictView]:
    require_handler(actor)
    rows = await session.exec(select(ConflictOfInterest).where(
        ConflictOfInterest.handler == actor.subject).order_by(col(ConflictOfInterest.id)))
    return [ConflictView(conflict_id=r.id, respondent=r.respondent, declared_on=r.declared_on)
            for r in rows]


async def code(session: AsyncSession, actor: Actor, command: CodeCase, cluster_size: int,
               window_days: int) -> Outcome:
    """Code issue, corridor and respondent. A handler with a conflict of interest with the
    newly coded respondent loses the case (audited); a cluster of cases against one
    respondent raises an alert."""
    case = await case_for(session, actor, command.case_id, write=True)
    case.coded_issues = list(dict.fromkeys(command.issues))
    case.corridor_origin, case.corridor_destination = command.origin, command.destination
    case.respondent, case.respondent_kind = command.respondent.strip(), command.respondent_kind
    case.respondent_key = respondent_key(command.respondent)
    await audit.record(session, actor.subject, "code", case.id)
    if case.assigned_to and await _conflicted(session, case.assigned_to, case.organisation,
                                              case.respondent_key):
        case.assigned_to = None
        await audit.record(session, "system", "unassign:conflict", case.id)
    await session.flush()
    return Outcome(case, cluster=await _cluster(session, case, cluster_size, window_days))


async def _cluster(session: AsyncSession, case: Case, size: int,
                   window_days: int) -> ClusterDetected | None:
    """An alert when this case makes `size` cases against its respondent within the window,
    unless one was raised for that respondent within the window already."""
    if not case.respondent_key:
        return None
    since = today() - timedelta(days=window_days)
    recent = list(await session.exec(select(Case).where(
        Case.organisation == case.organisation, Case.respondent_key == case.respondent_key,
        col(Case.received_on) >= since).order_by(col(Case.received_on))))
    if len(recent) < size:
        return None
    raised = await session.exec(select(ClusterAlert).where(
        ClusterAlert.organisation == case.organisation,
        ClusterAlert.respondent_key == case.respondent_key,
        col(ClusterAlert.alerted_on) >= since))
    if raised.first() is not None:
        return None
    start: date = recent[0].received_on
    session.add(ClusterAlert(organisation=case.organisation, respondent_key=case.respondent_key,
                             window_start=start, case_count=len(recent), alerted_on=today()))
    await audit.record(session, "system", "cluster-alert", case.id)
    return ClusterDetected(organisation=case.organisation, respondent=case.respondent or "",
                           case_ids=[c.id for c in recent], window_days=window_days)
