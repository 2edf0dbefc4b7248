"""Every query case-management makes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import Date, Integer, String, and_, cast, func, literal, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement
from sqlmodel import case as sql_case
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_cases.deadlines import REFERRAL_PREFIX, due
from suara_cases.models import AuditEntry, Case, CaseMessage, CaseSession
from suara_cases.settings import DeadlinePolicy
from suara_cases.states import OPEN_STATES


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


NO_DEADLINE = date(9999, 12, 31)
"""Where a case that owes the reporter nothing (decided, closed, a referral's copy) stands."""


class _PlusDays(FunctionElement[date]):
    """A date column plus a whole number of days, in either database's arithmetic."""

    type = Date()
    inherit_cache = True


@compiles(_PlusDays)
def _plus_days_default(element: _PlusDays, compiler: Any, **kw: Any) -> str:
    day, days = list(element.clauses)
    return f"({compiler.process(day, **kw)} + CAST({compiler.process(days, **kw)} AS INTEGER))"


@compiles(_PlusDays, "sqlite")
def _plus_days_sqlite(element: _PlusDays, compiler: Any, **kw: Any) -> str:
    day, days = list(element.clauses)
    return (f"date({compiler.process(day, **kw)}, "
            f"'+' || {compiler.process(days, **kw)} || ' days')")


class _Least(FunctionElement[date]):
    """The smallest of non-null values (LEAST in PostgreSQL, min() in SQLite)."""

    type = Date()
    inherit_cache = True


@compiles(_Least)
def _least_default(element: _Least, compiler: Any, **kw: Any) -> str:
    return f"LEAST({compiler.process(element.clauses, **kw)})"


@compiles(_Least, "sqlite")
def _least_sqlite(element: _Least, compiler: Any, **kw: Any) -> str:
    return f"min({compiler.process(element.clauses, **kw)})"


def _next_due(policy: DeadlinePolicy) -> ColumnElement[date]:
    """The nearest deadline a case owes the reporter under `policy`, computed in the query as
    `deadlines.due` computes it in Python (acknowledge while received, feedback once
    acknowledged, an update every so many days while open), NO_DEADLINE when it owes none."""
    def plus(day: Any, days: int) -> Any:
        return _PlusDays(day, literal(days, Integer))

    status = col(Case.status)
    update = plus(func.coalesce(col(Case.last_update_on), col(Case.acknowledged_on),
                                col(Case.received_on)), policy.update_every_days)
    acknowledge = sql_case((status == "received",
                            plus(col(Case.received_on), policy.acknowledge_within_days)),
                           else_=update)
    feedback = sql_case((col(Case.acknowledged_on).is_not(None),
                         plus(col(Case.acknowledged_on), policy.feedback_within_days)),
                        else_=update)
    owing = and_(status.in_([s.value for s in OPEN_STATES]),
                 col(Case.reference).not_like(f"{REFERRAL_PREFIX}%"))
    return sql_case((owing, _Least(update, acknowledge, feedback)),
                    else_=literal(NO_DEADLINE, Date))


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
                       after: Sequence[Any] | None = None,
                       policy: DeadlinePolicy | None = None) -> list[Case]:
    """An organisation's cases: high risk first, then the nearest deadline the case owes
    the reporter under the organisation's `policy`, then the id; filtered, and from just
    after `after` (a `triage_position`) when given."""
    rank, next_due = _risk_rank(), _next_due(policy or DeadlinePolicy())
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
        r, day, last = int(after[0]), date.fromisoformat(str(after[1])), UUID(str(after[2]))
        stmt = stmt.where(or_(rank > r, and_(rank == r, next_due > day),
                              and_(rank == r, next_due == day, col(Case.id) > last)))
    stmt = stmt.order_by(rank, next_due, col(Case.id)).limit(limit)
    return list(await session.exec(stmt))


def triage_position(case: Case, policy: DeadlinePolicy | None = None) -> list[Any]:
    """Where a case stands in the triage order (what a cursor holds)."""
    owed = due(case, policy or DeadlinePolicy()).values()
    return [0 if case.risk == "high" else 1, min(owed, default=NO_DEADLINE).isoformat(),
            str(case.id)]


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
