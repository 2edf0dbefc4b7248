"""Notification's rules: put handlers' messages in the reporter's inbox and show it to them."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from suara_contracts.events import ReporterMessage
from suara_contracts.rpc import Inbox, InboxMessage, InboxQuery
from suara_kit.clock import today, utcnow
from suara_kit.ids import uuid7
from suara_notification import repository
from suara_notification.models import Delivery, StoredMessage

INBOX_CHANNEL = "inbox"


async def deliver_to_inbox(session: AsyncSession, event: ReporterMessage) -> bool:
    """Store a message in the reporter's inbox once and record the delivery; False if known."""
    if await repository.message_by_id(session, event.message_id) is not None:
        return False
    session.add(StoredMessage(message_id=event.message_id, submission_id=event.submission_id,
                              case_id=event.case_id, body=event.body, sent_on=today()))
    await session.flush()  # no ORM relationship orders these inserts; the FK needs the message first
    session.add(Delivery(id=uuid7(), message_id=event.message_id, channel=INBOX_CHANNEL,
                         status="delivered", attempted_at=utcnow()))
    await session.flush()
    return True


async def inbox(session: AsyncSession, query: InboxQuery) -> Inbox:
    """A reporter's messages, oldest first; the caller has already checked their receipt."""
    rows = await repository.messages_for(session, query.submission_id)
    return Inbox(messages=[InboxMessage(message_id=r.message_id, body=r.body, sent_on=r.sent_on)
                           for r in rows])
