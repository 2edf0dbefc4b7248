"""Mediation-scheduling's rules: learn which cases are open, let mediators propose sessions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_contracts.events import CaseOpened, SessionProposed
from suara_contracts.rpc import Actor, ProposeSession, SessionView
from suara_contracts.subjects import Evt
from suara_kit.clock import today, utcnow
from suara_kit.db import in_batch
from suara_kit.errors import Conflict, Forbidden, NotFound, ValidationFailed
from suara_kit.ids import uuid7
from suara_mediation import repository
from suara_mediation.models import KnownCase, MediationSession

Emit = Callable[[AsyncSession, str, BaseModel], UUID]

MEDIATOR = "mediator"
NO_SUCH_CASE = "no such case, or it is not open yet"


async def case_opened(session: AsyncSession, event: CaseOpened) -> None:
    """Remember an opened case; a repeated event changes nothing. In a consumer's batch there
    is no lookup (`in_batch`): the cases go in together at commit, and a case known already
    (or twice in the batch) fails on the primary key, so the consumer handles the events one
    by one, where the lookup runs."""
    known = None
    if not in_batch(session):
        with session.no_autoflush:
            known = await repository.case_by_id(session, event.case_id)
    if known is None:
        session.add(KnownCase(case_id=event.case_id, organisation=event.organisation,
                              opened_on=today()))


async def _case_for(session: AsyncSession, actor: Actor, case_id: UUID) -> KnownCase:
    if MEDIATOR not in actor.roles:
        raise Forbidden("only a mediator can propose a session")
    case = await repository.case_by_id(session, case_id)
    # Another organisation's case answers exactly like a missing one: its existence is not told.
    if case is None or actor.organisation is None or case.organisation != actor.organisation:
        raise NotFound(NO_SUCH_CASE)
    return case


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", errors=[{"field": field, "message": message}])


def zone(name: str) -> ZoneInfo:
    """The IANA time zone called `name`; anything else is a 422 on `timezone`."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise _invalid("timezone", "not an IANA time zone such as Asia/Hong_Kong") from None


def _check_times(request: ProposeSession) -> tuple[datetime, datetime]:
    zone(request.timezone)
    starts_at, ends_at = request.starts_at.astimezone(UTC), request.ends_at.astimezone(UTC)
    if starts_at <= utcnow():
        raise _invalid("starts_at", "must be in the future")
    return starts_at, ends_at


async def _refuse_overlap(session: AsyncSession, request: ProposeSession, starts_at: datetime,
                          ends_at: datetime) -> None:
    clash = await repository.overlapping(session, request.case_id, starts_at, ends_at)
    if clash is None:
        return
    local = ZoneInfo(request.timezone)
    span = (f"{clash.starts_at.astimezone(local):%Y-%m-%d %H:%M}–"
            f"{clash.ends_at.astimezone(local):%H:%M} ({request.timezone})")
    raise Conflict(f"This case already has a {clash.status} session at {span} that overlaps "
                   "the proposed time. Choose another time.", session_id=str(clash.id))


async def propose(session: AsyncSession, request: ProposeSession,
                  emit: Emit) -> MediationSession:
    """Store a proposed session for a case of the mediator's organisation, and stage its event."""
    case = await _case_for(session, request.actor, request.case_id)
    starts_at, ends_at = _check_times(request)
    await _refuse_overlap(session, request, starts_at, ends_at)
    row = MediationSession(
        id=uuid7(), case_id=case.case_id, organisation=case.organisation,
        proposed_by=request.actor.subject, starts_at=starts_at, ends_at=ends_at,
        timezone=request.timezone, mode=request.mode, created_at=utcnow())
    session.add(row)
    await session.flush()
    emit(session, Evt.SESSION_PROPOSED, SessionProposed(
        session_id=row.id, case_id=row.case_id, organisation=row.organisation,
        starts_at=starts_at, ends_at=ends_at, timezone=row.timezone, mode=row.mode))
    return row


def view_of(row: MediationSession) -> SessionView:
    """A session as the mediator sees it."""
    return SessionView(session_id=row.id, case_id=row.case_id, organisation=row.organisation,
                       starts_at=row.starts_at, ends_at=row.ends_at, timezone=row.timezone,
                       mode=row.mode, status=row.status)
