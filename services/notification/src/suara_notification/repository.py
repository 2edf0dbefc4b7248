"""Every query notification makes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import and_, case, or_
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


async def alerts_of(session: AsyncSession, organisation: str, open_only: bool = False,
                    limit: int = 200, after: Sequence[Any] | None = None) -> list[TeamAlert]:
    """An organisation's alerts: those nobody took on first, newest first within each (ids are
    time-ordered within a day); from just after `after` (an `alert_position`) when given."""
    stmt = select(TeamAlert).where(TeamAlert.organisation == organisation)
    if open_only:
        stmt = stmt.where(col(TeamAlert.acknowledged_by).is_(None))
    taken_on = case((col(TeamAlert.acknowledged_by).is_(None), 0), else_=1)
    if after is not None:
        taken, raised, last = int(after[0]), date.fromisoformat(str(after[1])), UUID(str(after[2]))
        stmt = stmt.where(or_(taken_on > taken,
                              and_(taken_on == taken, col(TeamAlert.raised_on) < raised),
                              and_(taken_on == taken, col(TeamAlert.raised_on) == raised,
                                   col(TeamAlert.alert_id) < last)))
    result = await session.exec(stmt.order_by(taken_on, col(TeamAlert.raised_on).desc(),
                                              col(TeamAlert.alert_id).desc()).limit(limit))
    return list(result.all())


def alert_position(alert: TeamAlert) -> list[Any]:
    """Where an alert stands in the feed's order (what a cursor holds)."""
    return [0 if alert.acknowledged_by is None else 1, alert.raised_on.isoformat(),
            str(alert.alert_id)]
