"""Every query notification makes."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import case
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_notification.models import StoredMessage, TeamAlert


async def message_by_id(session: AsyncSession, message_id: UUID) -> StoredMessage | None:
    """The stored message with this id."""
    return await session.get(StoredMessage, message_id)


async def messages_for(session: AsyncSession, submission_id: UUID) -> list[StoredMessage]:
    """A submission's messages, oldest first (ids are time-ordered within a day)."""
    result = await session.exec(
        select(StoredMessage)
        .where(StoredMessage.submission_id == submission_id)
        .order_by(col(StoredMessage.sent_on), col(StoredMessage.message_id))
    )
    return list(result.all())


async def alert_from_event(session: AsyncSession, event_id: UUID) -> TeamAlert | None:
    """The alert stored for this event, if any."""
    result = await session.exec(select(TeamAlert).where(TeamAlert.event_id == event_id))
    return result.first()


async def alerts_of(session: AsyncSession, organisation: str,
                    open_only: bool = False) -> list[TeamAlert]:
    """An organisation's alerts: those nobody took on first, newest first within each (ids are
    time-ordered within a day)."""
    stmt = select(TeamAlert).where(TeamAlert.organisation == organisation)
    if open_only:
        stmt = stmt.where(col(TeamAlert.acknowledged_by).is_(None))
    taken_on = case((col(TeamAlert.acknowledged_by).is_(None), 0), else_=1)
    result = await session.exec(stmt.order_by(taken_on, col(TeamAlert.raised_on).desc(),
                                              col(TeamAlert.alert_id).desc()))
    return list(result.all())
