"""Notification's rules: put handlers' messages in the reporter's inbox and show it to them."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from suara_contracts.events import ReporterFollowUp, ReporterMessage
from suara_contracts.rpc import Inbox, InboxMessage, InboxQuery
from suara_kit.clock import today, utcnow
from suara_kit.ids import uuid7
from suara_notification import content, repository
from suara_notification.models import Delivery, StoredMessage

INBOX_CHANNEL = "inbox"


async def deliver_to_inbox(session: AsyncSession, event: ReporterMessage) -> bool:
    """Store a message in the reporter's inbox once and record the delivery; False if known."""
    if await repository.message_by_id(session, event.message_id) is not None:
        return False
    kind = "check-in-question" if event.asks == "check-in" else "message"
    message = StoredMessage(message_id=event.message_id, submission_id=event.submission_id,
                            case_id=event.case_id, sent_on=today(), kind=kind)
    await content.set_body(session, message, event.body)
    session.add(message)
    await session.flush()  # no ORM relationship orders these inserts; the FK needs the message first
    session.add(Delivery(id=uuid7(), message_id=event.message_id, channel=INBOX_CHANNEL,
                         status="delivered", attempted_at=utcnow()))
    await session.flush()
    return True


async def keep_follow_up(session: AsyncSession, event: ReporterFollowUp) -> bool:
    """Keep the reporter's own reply or added information in their inbox; False if known."""
    if await repository.message_by_id(session, event.follow_up_id) is not None:
        return False
    kind = "message"
    if event.kind == "check-in" and event.answers_message:
        kind = "check-in-answer"
        asked = await repository.message_by_id(session, event.answers_message)
        if asked is None or asked.submission_id != event.submission_id or asked.answered:
            return False  # not this reporter's question, or answered already: keep the first
        asked.answered = True
    message = StoredMessage(message_id=event.follow_up_id, submission_id=event.submission_id,
                            sent_on=event.sent_on, from_reporter=True,
                            attachments=len(event.attachment_ids), kind=kind)
    await content.set_body(session, message, event.text)
    session.add(message)
    await session.flush()
    return True


async def inbox(session: AsyncSession, query: InboxQuery) -> Inbox:
    """A reporter's messages both ways, oldest first; the caller has checked their receipt.
    Once retention deleted the report's content, each message is there without its text."""
    rows = await repository.messages_for(session, query.submission_id)
    bodies = await content.bodies_of(session, rows)
    return Inbox(messages=[InboxMessage(message_id=r.message_id,
                                        body=bodies[r.message_id] or "", sent_on=r.sent_on,
                                        sender="you" if r.from_reporter else "your case handler",
                                        from_reporter=r.from_reporter,
                                        attachments=r.attachments,
                                        kind=r.kind,  # type: ignore[arg-type]
                                        answered=r.answered,
                                        deleted=bodies[r.message_id] is None)
                           for r in rows])


async def case_shredded(session: AsyncSession, submission_id: UUID, on: date) -> bool:
    """Retention ended the report's case: delete its data key, so the inbox's text can no
    longer be read (here, in a backup or anywhere else). Harmless when repeated."""
    return await content.shred(session, submission_id, on)
