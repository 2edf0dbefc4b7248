"""Every query case-management makes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import String, and_, cast, or_
from sqlmodel import case as sql_case
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_cases.models import AuditEntry, Case, CaseMessage, CaseSession


async def by_submission(session: AsyncSession, submission_id: UUID) -> Case | None:
    """The case opened for a submission."""
    return (await session.exec(select(Case).where(Case.submission_id == submission_id))).first()


async def case_of_submission(session: AsyncSession, submission_id: UUID) -> UUID | None:
    """The id of the case opened for a submission, as committed (nothing pending is flushed
    first: in a consumer's batch, the cases opened before stay unflushed, to be inserted
    together at commit; two events of one submission in a batch then fail on the unique
    constraint, and the consumer handles them one by one)."""
    with session.no_autoflush:
        return (await session.exec(
            select(Case.id).where(Case.submission_id == submission_id))).first()


async def get(session: AsyncSession, case_id: UUID) -> Case | None:
    """A case by id."""
    return await session.get(Case, case_id)


def _risk_rank() -> Any:
    return sql_case((col(Case.risk) == "high", 0), else_=1)


def _about(issue: str) -> Any:
    """Cases about `issue`: coded so, or, while not coded, reported so. The JSON lists are
    matched as text (the same on SQLite and PostgreSQL); a category value has no quote."""
    quoted = f'"{issue}"'
    coded = cast(col(Case.coded_issues), String)
    reported = cast(col(Case.reported)["categories"], String)
    return or_(coded.contains(quoted, autoescape=True),
               and_(coded == "[]", reported.contains(quoted, autoescape=True)))


def _country(coded: Any, reported_key: str, country: str) -> Any:
    """Cases whose coded country is `country`, or, while not coded, reported so."""
    reported = col(Case.reported)[reported_key].as_string()
    return or_(coded == country, and_(coded.is_(None), reported == country))


async def triage_queue(session: AsyncSession, organisation: str, limit: int = 200, *,
                       statuses: Sequence[str] = (), risk: str | None = None,
                       assigned_to: str | None = None, unassigned: bool = False,
                       issue: str | None = None, origin: str | None = None,
                       destination: str | None = None,
                       after: Sequence[Any] | None = None) -> list[Case]:
    """An organisation's cases: high risk first, then the nearest acknowledgement deadline,
    then the id; filtered, and from just after `after` (a `triage_position`) when given."""
    rank = _risk_rank()
    stmt = select(Case).where(Case.organisation == organisation)
    if issue:
        stmt = stmt.where(_about(issue))
    if origin:
        stmt = stmt.where(_country(col(Case.corridor_origin), "origin", origin))
    if destination:
        stmt = stmt.where(_country(col(Case.corridor_destination), "country", destination))
    if statuses:
        stmt = stmt.where(col(Case.status).in_(list(statuses)))
    if risk:
        stmt = stmt.where(Case.risk == risk)
    if unassigned:
        stmt = stmt.where(col(Case.assigned_to).is_(None))
    elif assigned_to:
        stmt = stmt.where(Case.assigned_to == assigned_to)
    if after is not None:
        r, due, last = int(after[0]), date.fromisoformat(str(after[1])), UUID(str(after[2]))
        stmt = stmt.where(or_(rank > r, and_(rank == r, col(Case.acknowledge_by) > due),
                              and_(rank == r, col(Case.acknowledge_by) == due,
                                   col(Case.id) > last)))
    stmt = stmt.order_by(rank, col(Case.acknowledge_by), col(Case.id)).limit(limit)
    return list(await session.exec(stmt))


def triage_position(case: Case) -> list[Any]:
    """Where a case stands in the triage order (what a cursor holds)."""
    return [0 if case.risk == "high" else 1, case.acknowledge_by.isoformat(), str(case.id)]


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


async def audit_of(session: AsyncSession, case_id: UUID) -> list[AuditEntry]:
    """A case's audit entries, oldest first."""
    stmt = (select(AuditEntry).where(AuditEntry.case_id == case_id)
            .order_by(col(AuditEntry.seq)))
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
