"""Every query notification makes."""

from __future__ import annotations

from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_notification.models import StoredMessage


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
