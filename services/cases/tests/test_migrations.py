"""Data migrations of case-management, run on a database left at the revision before them,
on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from alembic import command
from sqlalchemy import text

from suara_cases import audit
from suara_cases.handlers import MIGRATIONS
from suara_cases.models import AuditEntry
from suara_kit.db import Database
from suara_kit.ids import uuid7
from suara_kit.migrate import alembic_config, upgrade

BEFORE_CHAINER = "dce0e8898c3d"


async def _old_chain(url: str) -> None:
    """Three entries as the code before the chainer wrote them: hashed in seq order."""
    db = Database(url)
    try:
        prev = audit.GENESIS
        for seq, (actor, action) in enumerate([("system", "open"), ("staff-1", "read"),
                                                ("staff-1", "assign")], start=1):
            entry = AuditEntry(at=datetime(2026, 11, 1, 9, seq, tzinfo=UTC),
                               actor=actor, action=action, case_id=uuid7())
            entry.prev_hash, entry.hash = prev, audit.entry_hash(prev, entry)
            prev = entry.hash
            async with db.transaction() as session:
                await session.exec(text(  # type: ignore[call-overload]
                    "INSERT INTO audit_entry (at, actor, action, case_id, prev_hash, hash)"
                    " VALUES (:at, :actor, :action, :case_id, :prev, :hash)").bindparams(
                    at=entry.at, actor=actor, action=action,
                    case_id=entry.case_id.hex if "sqlite" in url else entry.case_id,
                    prev=entry.prev_hash, hash=entry.hash))
    finally:
        await db.dispose()


async def _after(url: str) -> tuple[audit.Verdict, audit.Verdict]:
    db = Database(url)
    try:
        async with db.transaction() as session:
            migrated = await audit.inspect(session)
            await audit.record(session, "staff-2", "read", None)
        await audit.LOG.chain_pending(db)
        async with db.transaction() as session:
            return migrated, await audit.inspect(session)
    finally:
        await db.dispose()


def test_an_existing_chain_stays_intact_and_new_entries_follow_it(
        database_url: Callable[..., str]) -> None:
    url = database_url("cases", empty=True)
    command.upgrade(alembic_config(MIGRATIONS, url), BEFORE_CHAINER)
    asyncio.run(_old_chain(url))

    upgrade(MIGRATIONS, url)

    migrated, later = asyncio.run(_after(url))
    assert (migrated.intact, migrated.entries, migrated.pending) == (True, 3, 0)
    assert (later.intact, later.entries, later.pending) == (True, 4, 0)
