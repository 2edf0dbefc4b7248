"""Every query mediation-scheduling makes."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_mediation.models import KnownCase, MediationSession

ACTIVE_STATUSES = ("proposed",)


async def case_by_id(session: AsyncSession, case_id: UUID) -> KnownCase | None:
    """The known case with this id."""
    return await session.get(KnownCase, case_id)


async def overlapping(session: AsyncSession, case_id: UUID, starts_at: datetime,
                      ends_at: datetime) -> MediationSession | None:
    """An active session of this case that overlaps [starts_at, ends_at), if any."""
    result = await session.exec(
        select(MediationSession)
        .where(MediationSession.case_id == case_id)
        .where(col(MediationSession.status).in_(ACTIVE_STATUSES))
        .where(MediationSession.starts_at < ends_at)
        .where(MediationSession.ends_at > starts_at)
        .order_by(col(MediationSession.starts_at))
    )
    return result.first()
