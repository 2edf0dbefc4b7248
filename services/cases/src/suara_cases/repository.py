"""Every query case-management makes."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from sqlmodel import case as sql_case
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_cases.models import Case, CaseMessage, CaseSession


async def by_submission(session: AsyncSession, submission_id: UUID) -> Case | None:
    """The case opened for a submission."""
    return (await session.exec(select(Case).where(Case.submission_id == submission_id))).first()


async def get(session: AsyncSession, case_id: UUID) -> Case | None:
    """A case by id."""
    return await session.get(Case, case_id)


async def triage_queue(session: AsyncSession, organisation: str, limit: int = 200) -> list[Case]:
    """An organisation's cases: high risk first, then the nearest acknowledgement deadline."""
    risk_first = sql_case((col(Case.risk) == "high", 0), else_=1)
    stmt = (select(Case).where(Case.organisation == organisation)
            .order_by(risk_first, col(Case.acknowledge_by), col(Case.id)).limit(limit))
    return list(await session.exec(stmt))


async def sessions_of(session: AsyncSession, case_ids: list[UUID]) -> dict[UUID, list[CaseSession]]:
    """Mediation sessions per case."""
    if not case_ids:
        return {}
    rows = await session.exec(select(CaseSession).where(col(CaseSession.case_id).in_(case_ids))
                              .order_by(col(CaseSession.starts_at)))
    found: dict[UUID, list[CaseSession]] = {}
    for row in rows:
        found.setdefault(row.case_id, []).append(row)
    return found


async def messages_of(session: AsyncSession, case_id: UUID) -> list[CaseMessage]:
    """A case's messages both ways, oldest first (ids are time-ordered uuid7)."""
    stmt = (select(CaseMessage).where(CaseMessage.case_id == case_id)
            .order_by(col(CaseMessage.sent_on), col(CaseMessage.id)))
    return list(await session.exec(stmt))


async def received_between(session: AsyncSession, organisation: str | None, first: date | None,
                           last: date) -> list[Case]:
    """Cases received up to `last` (and from `first`, when given), of one organisation or of
    all, for the statistics."""
    stmt = select(Case).where(col(Case.received_on) <= last)
    if first is not None:
        stmt = stmt.where(col(Case.received_on) >= first)
    if organisation is not None:
        stmt = stmt.where(Case.organisation == organisation)
    return list(await session.exec(stmt))
