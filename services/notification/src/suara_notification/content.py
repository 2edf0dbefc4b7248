"""The inbox's text at rest: each message sealed with its report's data key (owner: the
submission), and shredded when case-management's retention ends the case.

Every read and write of a message's text goes through `set_body` and `body_of`. After
shredding, the messages stay (who wrote, when, how many files) without their text, and a
message that arrives late for a shredded report is kept the same way.
"""

from __future__ import annotations

import logging
from datetime import date
from uuid import UUID

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_kit.datakeys import DataKey, ring_of
from suara_kit.db import Database
from suara_kit.sealing import SealError
from suara_notification.models import ShreddedReport, StoredMessage

log = logging.getLogger(__name__)


def _context(message: StoredMessage) -> str:
    return f"message:{message.message_id}"


async def shredded(session: AsyncSession, submission_id: UUID) -> bool:
    """Whether retention deleted this report's content."""
    return await session.get(ShreddedReport, submission_id) is not None


async def set_body(session: AsyncSession, message: StoredMessage, body: str,
                   key: DataKey | None = None) -> None:
    """Store the text sealed (the legacy plaintext column is emptied); a shredded report's
    message keeps no text at all."""
    message.legacy_body = None
    if key is None and await shredded(session, message.submission_id):
        message.sealed_body = None
        return
    key = key or await ring_of(session).get_or_create(session, message.submission_id)
    message.sealed_body = key.seal_text(body, _context(message))


async def bodies_of(session: AsyncSession, messages: list[StoredMessage]
                    ) -> dict[UUID, str | None]:
    """Each message's text by id; None where retention deleted it."""
    keys: dict[UUID, tuple[bool, DataKey | None]] = {}
    texts: dict[UUID, str | None] = {}
    for m in messages:
        if m.submission_id not in keys:
            gone = await shredded(session, m.submission_id)
            keys[m.submission_id] = gone, (None if gone else
                                           await ring_of(session).find(session, m.submission_id))
        gone, key = keys[m.submission_id]
        if gone:
            texts[m.message_id] = None
        elif m.sealed_body is None:  # from before data keys, not sealed yet
            texts[m.message_id] = m.legacy_body
        elif key is None:
            texts[m.message_id] = None
        else:
            try:
                texts[m.message_id] = key.open_text(m.sealed_body, _context(m))
            except SealError:  # not this report's row: never a 500 on the reporter's page
                log.warning("an inbox message does not open with its report's key")
                texts[m.message_id] = None
    return texts


async def shred(session: AsyncSession, submission_id: UUID, on: date) -> bool:
    """Delete the report's data key and any plaintext left; False if shredded already."""
    await ring_of(session).shred(session, submission_id)
    await session.exec(update(StoredMessage)  # type: ignore[call-overload]
                       .where(col(StoredMessage.submission_id) == submission_id,
                              col(StoredMessage.legacy_body).is_not(None))
                       .values(legacy_body=None))
    if await shredded(session, submission_id):
        return False
    session.add(ShreddedReport(submission_id=submission_id, shredded_on=on))
    await session.flush()
    return True


async def seal_legacy(db: Database) -> None:
    """Seal message text stored before data keys, one report per transaction. Safe when
    several replicas run it at once: sealed rows have no legacy text left, and a replica that
    loses the race to create a report's key leaves that report to the winner."""
    async with db.transaction() as session:
        reports = list(await session.exec(select(StoredMessage.submission_id).where(
            col(StoredMessage.legacy_body).is_not(None)).distinct()))
    sealed = 0
    for submission_id in reports:
        try:
            async with db.transaction() as session:
                stmt = select(StoredMessage).where(
                    StoredMessage.submission_id == submission_id,
                    col(StoredMessage.legacy_body).is_not(None)).with_for_update()
                for message in await session.exec(stmt):
                    await set_body(session, message, message.legacy_body or "")
                    session.add(message)
                    sealed += 1
        except IntegrityError:
            pass  # another replica created this report's key at the same moment
    if sealed:
        log.info("sealed %d stored inbox messages with their reports' data keys", sealed)
