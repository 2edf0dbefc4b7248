"""Case-management's rules: open cases from submissions, let handlers work them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from suara_cases import audit, content, deadlines, repository
from suara_cases.deadlines import Policies, default_policy
from suara_cases.models import Case, CaseMessage, CaseSession
from suara_cases.states import CaseStatus, allowed_from
from suara_contracts.events import (
    CaseOpened,
    ReporterFollowUp,
    SessionProposed,
    SubmissionReceived,
)
from suara_contracts.rpc import (
    Actor,
    CaseDetail,
    CaseList,
    CaseListQuery,
    CaseMessageView,
    CaseSummary,
    SessionRef,
)
from suara_kit import paging
from suara_kit.clock import today
from suara_kit.db import in_batch
from suara_kit.errors import Forbidden, NotFound, ValidationFailed
from suara_kit.ids import uuid7

HANDLER = "case-handler"


async def open_case(session: AsyncSession, event: SubmissionReceived,
                    acknowledge_within: timedelta) -> CaseOpened | None:
    """Open the one case for a submission; None if it already exists. In a consumer's batch
    the lookup is left to the unique constraint on the submission (`in_batch`)."""
    if not in_batch(session) and await repository.case_of_submission(session,
                                                                     event.submission_id):
        return None
    case = Case(id=uuid7(), submission_id=event.submission_id, reference=event.reference,
                organisation=event.organisation, status=CaseStatus.RECEIVED, risk=event.risk,
                risk_reasons=event.risk_reasons, language=event.language,
                reported=content.reported(event.answers), identifying=event.identifying,
                received_on=event.received_on,
                acknowledge_by=event.received_on + acknowledge_within)
    await content.set_answers(session, case, event.answers,
                              await content.new_key(session, case))
    await audit.record(session, "system", "open", case.id)
    return CaseOpened(case_id=case.id, submission_id=case.submission_id, reference=case.reference,
                      organisation=case.organisation, status=case.status,
                      acknowledge_by=case.acknowledge_by,
                      risk="high" if case.risk == "high" else "normal")


def require_handler(actor: Actor) -> str:
    """The handler's organisation; 403 for anyone who is not a case handler of one."""
    if HANDLER not in actor.roles:
        raise Forbidden("Only a case handler can do this.")
    if not actor.organisation:
        raise Forbidden("Your account belongs to no organisation; ask an administrator.")
    return actor.organisation


async def case_for(session: AsyncSession, actor: Actor, case_id: UUID,
                   write: bool = False) -> Case:
    """A case of the handler's own organisation (others' cases are simply not found). Its
    content and its work belong to the handler it is assigned to; an unassigned case is
    open to every handler of the organisation, for triage."""
    organisation = require_handler(actor)
    case = await repository.get(session, case_id)
    if case is None or case.organisation != organisation:
        raise NotFound("No such case in your organisation.")
    if case.assigned_to and case.assigned_to != actor.subject:
        action = "work on" if write else "read"
        raise Forbidden(f"This case is assigned to another handler; only they can {action} it.")
    return case


async def list_cases(session: AsyncSession, query: CaseListQuery,
                     policy: Policies = default_policy) -> CaseList:
    """One page of the handler's triage queue (no content), filtered as asked."""
    organisation = require_handler(query.actor)
    unknown = sorted(set(query.status) - {s.value for s in CaseStatus})
    if unknown:
        raise ValidationFailed(f"status: no such state {unknown[0]!r}", errors=[
            {"field": "status", "message": f"one of {', '.join(s.value for s in CaseStatus)}"}])
    after = paging.decode("cases", query.cursor, 3, (paging.group, paging.day, paging.uuid))
    who = query.assigned_to
    cases = await repository.triage_queue(
        session, organisation, query.limit + 1, statuses=query.status, risk=query.risk,
        assigned_to=query.actor.subject if who == "me" else who, unassigned=who == "nobody",
        issue=query.issue, origin=query.origin, destination=query.destination, after=after,
        policy=policy(organisation))
    page, more = cases[:query.limit], len(cases) > query.limit
    sessions = await repository.sessions_of(session, [c.id for c in page])
    await audit.record(session, query.actor.subject, "list", None)
    position = repository.triage_position(page[-1], policy(organisation)) if more else None
    return CaseList(items=[summary(c, sessions.get(c.id, []), policy) for c in page],
                    next_cursor=paging.encode("cases", position) if position else None)


async def get_case(session: AsyncSession, actor: Actor, case_id: UUID,
                   policy: Policies = default_policy) -> CaseDetail:
    """One case with its answers; the read is audited."""
    case = await case_for(session, actor, case_id)
    await audit.record(session, actor.subject, "read", case.id)
    return await detail(session, case, policy)


async def detail(session: AsyncSession, case: Case,
                 policy: Policies = default_policy) -> CaseDetail:
    """A case as its handler reads it."""
    answers = await content.answers_of(session, case)
    sealed = sorted(await content.identity_of(session, case))  # the names, not the answers
    sessions = await repository.sessions_of(session, [case.id])
    messages = await repository.messages_of(session, case.id)
    bodies = await content.bodies_of(session, case, messages)
    return CaseDetail(**summary(case, sessions.get(case.id, []), policy).model_dump(),
                      language=case.language, answers=answers,
                      identifying=case.identifying, sealed_identity=sealed,
                      messages=[message_view(m, bodies[m.id]) for m in messages],
                      coded_issues=case.coded_issues, corridor_origin=case.corridor_origin,
                      corridor_destination=case.corridor_destination,
                      respondent=case.respondent, respondent_kind=case.respondent_kind,
                      decided_by=case.decided_by, appeal_against=case.appeal_against,
                      closed_on=case.closed_on, allowed_transitions=allowed_from(case.status))


REPORTER = "reporter"


def message_view(message: CaseMessage, body: str) -> CaseMessageView:
    return CaseMessageView(message_id=message.id, author=message.author,
                           from_reporter=message.author == REPORTER, kind=message.kind,
                           body=body, attachment_ids=message.attachment_ids,
                           sent_on=message.sent_on)


async def reporter_followed_up(session: AsyncSession, event: ReporterFollowUp) -> None:
    """Put the reporter's reply, added information or check-in answer on their case."""
    if await session.get(CaseMessage, event.follow_up_id) is not None:
        return
    case = await repository.by_submission(session, event.submission_id)
    if case is None:
        raise NotFound("follow-up for a submission with no case yet")  # retried: it opens soon
    if case.shredded_on is not None:
        return  # retention ended: the reporter's words have nowhere readable to go
    await content.add_message(session, case, message_id=event.follow_up_id, author=REPORTER,
                              body=event.text, sent_on=event.sent_on, kind=event.kind,
                              attachment_ids=[str(i) for i in event.attachment_ids])
    await audit.record(session, "reporter", f"reporter-{event.kind}", case.id)


async def reporter_message(session: AsyncSession, case: Case, message_id: UUID,
                           field: str) -> CaseMessage:
    """The reporter's own message on `case` (their reply or added information), which a
    consent may point to; a 422 naming `field` otherwise."""
    message = await session.get(CaseMessage, message_id)
    if message is None or message.case_id != case.id or message.author != REPORTER:
        raise ValidationFailed(f"{field}: no message from the reporter with that id on this "
                               "case")
    return message


async def record_session(session: AsyncSession, event: SessionProposed) -> None:
    """Keep the proposed mediation session on the case."""
    if await session.get(CaseSession, event.session_id) is not None:
        return
    if await repository.get(session, event.case_id) is None:
        raise NotFound("session for an unknown case")  # retried, then dead-lettered
    session.add(CaseSession(id=event.session_id, case_id=event.case_id,
                            starts_at=event.starts_at, ends_at=event.ends_at,
                            timezone=event.timezone, mode=event.mode))
    await audit.record(session, "system", "session-proposed", event.case_id)


def summary(case: Case, sessions: list[CaseSession],
            policy: Policies = default_policy) -> CaseSummary:
    """A case as it appears in a list, with its deadlines."""
    rules = policy(case.organisation)
    return CaseSummary(
        case_id=case.id, reference=case.reference, organisation=case.organisation,
        status=case.status, risk=case.risk, risk_reasons=case.risk_reasons,  # type: ignore[arg-type]
        received_on=case.received_on, acknowledge_by=case.acknowledge_by,
        sessions=[SessionRef(session_id=s.id, starts_at=s.starts_at, ends_at=s.ends_at,
                             timezone=s.timezone, mode=s.mode, cancelled=s.cancelled)
                  for s in sessions],
        assigned_to=case.assigned_to, shredded_on=case.shredded_on,
        due=dict(deadlines.due(case, rules)),
        overdue=list(deadlines.overdue(case, rules, today())),
        **about(case))


def about(case: Case) -> dict[str, Any]:
    """Issues and corridor as coded, else as the reporter chose them."""
    reported = case.reported or {}
    chosen = reported.get("categories") or []
    origin, destination = reported.get("origin"), reported.get("country")
    return {"issues": case.coded_issues or ([chosen] if isinstance(chosen, str) else chosen),
            "origin": case.corridor_origin or (origin if isinstance(origin, str) else None),
            "destination": case.corridor_destination
            or (destination if isinstance(destination, str) else None)}
