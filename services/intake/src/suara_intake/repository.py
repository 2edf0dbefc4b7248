"""Every query intake makes."""

from __future__ import annotations

from uuid import UUID

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_intake.models import RemedyEditRow, Submission


async def by_reference(session: AsyncSession, reference: str) -> Submission | None:
    """The submission with this public reference."""
    result = await session.exec(select(Submission).where(Submission.reference == reference))
    return result.first()


async def by_id(session: AsyncSession, submission_id: UUID) -> Submission | None:
    """The submission with this id."""
    return await session.get(Submission, submission_id)


async def remedy_edits(session: AsyncSession) -> list[RemedyEditRow]:
    """The worker committee's edits of the remedy routes (a few dozen rows at most)."""
    return list(await session.exec(select(RemedyEditRow)))
