"""A report's content at rest: its answers and files, sealed with the submission's own data key
(`suara_kit.datakeys`), and shredded when case-management's retention ends the case.

Every read and write of a submission's answers goes through `answers_of` and `set_answers`;
attachments are sealed by `seal_attachment` and opened by `open_attachment`. What stays
readable after shredding: the reference, the receipt's hash, status and dates, so the worker's
receipt still shows where the report went, and that its content was deleted.

Files attached before data keys (`Attachment.keyed` false) were sealed with the service-wide
attachment key, which retention cannot shred: they are sealed again with the data key at
start, and a shredded submission's remaining ones are erased.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import false, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_intake.models import Attachment, Submission
from suara_kit.datakeys import DataKey, Shredded, ring_of
from suara_kit.db import Database
from suara_kit.sealing import Sealer, SealError

log = logging.getLogger(__name__)

ANSWERS = "answers"
DELETED = ("What you told us in this report was deleted on {date}, at the end of the time we "
           "keep reports (our retention policy); nobody can read it any more. Your reference "
           "and receipt still show its status. To tell us something new, file a new report.")


def deleted(on: date) -> Shredded:
    """The 410 for reading or adding to a report shredded `on` that day."""
    return Shredded(DELETED.format(date=on.isoformat()), deleted_on=on.isoformat())


async def new_key(session: AsyncSession, submission_id: UUID) -> DataKey:
    """A new submission's data key, stored in the caller's transaction."""
    return await ring_of(session).create(session, submission_id)


async def key_for(session: AsyncSession, sub: Submission) -> DataKey:
    """The key to seal more of this submission's content with; 410 once it was shredded.

    The submission's row is locked first (PostgreSQL), as `shred` locks it: a shredding that
    committed meanwhile is seen here, and one that comes later waits for this transaction, so
    no content is ever sealed under a key made after its report was shredded."""
    shredded_on = sub.shredded_on or (await session.exec(
        select(Submission.shredded_on).where(Submission.id == sub.id).with_for_update())).first()
    if shredded_on is not None:
        raise deleted(shredded_on)
    return await ring_of(session).get_or_create(session, sub.id)


async def set_answers(session: AsyncSession, sub: Submission, answers: dict[str, Any],
                      key: DataKey | None = None) -> None:
    """Store the answers sealed (the legacy plaintext column is emptied)."""
    key = key or await key_for(session, sub)
    sub.sealed_answers, sub.legacy_answers = key.seal_json(answers, ANSWERS), None
    session.add(sub)


async def answers_of(session: AsyncSession, sub: Submission) -> dict[str, Any]:
    """The answers as filed; 410 (`Shredded`) once retention deleted them."""
    if sub.shredded_on is not None:
        raise deleted(sub.shredded_on)
    if sub.sealed_answers is None:
        return dict(sub.legacy_answers or {})
    key = await ring_of(session).get(session, sub.id)
    return dict(key.open_json(sub.sealed_answers, ANSWERS))


def attachment_context(attachment_id: UUID) -> str:
    return f"attachment:{attachment_id}"


def seal_attachment(key: DataKey, attachment: Attachment, data: bytes) -> None:
    """Seal a file with its submission's key, bound to its own row."""
    attachment.sealed = key.seal(data, attachment_context(attachment.id))
    attachment.keyed = True


async def open_attachment(session: AsyncSession, sealer: Sealer, attachment: Attachment
                          ) -> bytes:
    """A file's plaintext; 410 once its submission was shredded. Files from before data keys
    open with the service-wide attachment key."""
    sub = await session.get(Submission, attachment.submission_id)
    if sub is not None and sub.shredded_on is not None:
        raise deleted(sub.shredded_on)
    if attachment.keyed:
        key = await ring_of(session).get(session, attachment.submission_id)
        return key.open(attachment.sealed, attachment_context(attachment.id))
    return sealer.open(attachment.sealed, attachment.id.bytes)


async def shred(session: AsyncSession, submission_id: UUID, on: date) -> bool:
    """Delete the submission's data key (case-management's retention ended its case) and
    erase what that cannot make unreadable; False when it was shredded already."""
    sub = await session.get(Submission, submission_id, with_for_update=True)
    await ring_of(session).shred(session, submission_id)
    if sub is None or sub.shredded_on is not None:
        return False
    sub.shredded_on, sub.legacy_answers = on, None
    session.add(sub)
    await session.exec(update(Attachment)  # type: ignore[call-overload]
                       .where(col(Attachment.submission_id) == submission_id,
                              col(Attachment.keyed).is_(false()))
                       .values(sealed=b""))
    return True


async def seal_legacy(db: Database, sealer: Sealer) -> None:
    """Seal answers and files stored before data keys. Safe when several replicas run it at
    once: each row is sealed in its own transaction, skipped when already sealed, and a
    replica that loses the race to create a key leaves that row to the winner."""
    async with db.transaction() as session:
        subs = list(await session.exec(select(Submission.id).where(
            col(Submission.legacy_answers).is_not(None))))
        files = list(await session.exec(select(Attachment.id).where(
            col(Attachment.keyed).is_(false()), Attachment.sealed != b"")))
    sealed = unreadable = 0
    for submission_id in subs:
        try:
            async with db.transaction() as session:
                sub = await session.get(Submission, submission_id, with_for_update=True)
                if sub is None or sub.legacy_answers is None:
                    continue
                if sub.shredded_on is not None:
                    sub.legacy_answers = None
                    continue
                await set_answers(session, sub, dict(sub.legacy_answers))
                sealed += 1
        except IntegrityError:
            pass  # another replica created this submission's key at the same moment
    for attachment_id in files:
        try:
            async with db.transaction() as session:
                attachment = await session.get(Attachment, attachment_id, with_for_update=True)
                if attachment is None or attachment.keyed or not attachment.sealed:
                    continue
                sub = await session.get(Submission, attachment.submission_id,
                                        with_for_update=True)
                if sub is None or sub.shredded_on is not None:
                    attachment.sealed = b""
                    continue
                data = sealer.open(attachment.sealed, attachment.id.bytes)
                seal_attachment(await key_for(session, sub), attachment, data)
                sealed += 1
        except IntegrityError:
            pass
        except SealError:  # e.g. a retired attachment key: it never opened; start anyway
            unreadable += 1
    if unreadable:
        log.warning("%d stored files do not open with the attachment keys and stay as they "
                    "were; add the key they were sealed with to attachment_previous_keys",
                    unreadable)
    if sealed:
        log.info("sealed %d stored reports and files with their data keys", sealed)
