"""Case content mediation holds (session notes), sealed with a data key per case, and
shredded when case-management shreds the case (`CaseShredded`).

Mediation keeps its own data key for each case, under its own key-encryption key
(`settings.content_key`), so no other service's keys open its rows. Once the case is shredded
its key is deleted: every note of the case, here and in every backup, stops opening, and is
shown as deleted."""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from suara_contracts.events import CaseShredded
from suara_kit import datakeys
from suara_kit.datakeys import DataKey, Shredded, ring_of
from suara_kit.db import Database
from suara_mediation import repository
from suara_mediation.models import DataKeys, KnownCase


def use_keys(db: Database, settings: Any) -> None:
    """Give every session of `db` mediation's data-key ring (from `settings.content_key`)."""
    datakeys.use_keys(db, settings, DataKeys)


async def key_for_writing(session: AsyncSession, case: KnownCase) -> DataKey:
    """The case's data key (made on first use); 410 once the case was shredded."""
    if case.shredded_on is not None:
        raise Shredded(f"This case's content was deleted on {case.shredded_on.isoformat()} at "
                       "the end of its retention period; nothing more can be written to it.")
    return await ring_of(session).get_or_create(session, case.case_id)


async def key_for_reading(session: AsyncSession, case: KnownCase) -> DataKey | None:
    """The case's data key, or None when it was shredded (or nothing was ever sealed)."""
    if case.shredded_on is not None:
        return None
    return await ring_of(session).find(session, case.case_id)


async def case_shredded(session: AsyncSession, event: CaseShredded) -> None:
    """Delete the case's data key and remember the case is shredded; a repeat changes nothing."""
    await ring_of(session).shred(session, event.case_id)
    case = await repository.case_by_id(session, event.case_id)
    if case is not None and case.shredded_on is None:
        case.shredded_on = event.shredded_on
        session.add(case)
