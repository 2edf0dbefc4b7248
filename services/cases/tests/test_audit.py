"""The hash-chained audit log: entries link up, and any edit breaks the chain."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from itertools import pairwise

import pytest
from sqlalchemy import text
from sqlmodel import col, select

from suara_cases import audit, content
from suara_cases.handlers import MIGRATIONS
from suara_cases.models import AuditEntry
from suara_cases.settings import CasesSettings
from suara_kit.db import Database
from suara_kit.ids import uuid7
from suara_kit.testing import migrated


@pytest.fixture
async def db(database_url: Callable[[str], str]) -> AsyncIterator[Database]:
    async with migrated(MIGRATIONS, database_url("cases")) as database:
        content.use_keys(database, CasesSettings())
        yield database


async def entries(db: Database) -> list[AuditEntry]:
    async with db.transaction() as session:
        return list(await session.exec(select(AuditEntry).order_by(col(AuditEntry.seq))))


async def verify(db: Database) -> bool:
    async with db.transaction() as session:
        return await audit.verify(session)


async def write_three(db: Database) -> None:
    case_id = uuid7()
    async with db.transaction() as session:
        await audit.record(session, "system", "open", case_id)
    async with db.transaction() as session:
        await audit.record(session, "staff-1", "list", None)
        await audit.record(session, "staff-1", "read", case_id)
    assert await audit.LOG.chain_pending(db) == 3


async def test_empty_log_verifies(db: Database) -> None:
    assert await verify(db) is True


async def test_entries_chain(db: Database) -> None:
    await write_three(db)
    log = await entries(db)
    assert [(e.actor, e.action) for e in log] == [("system", "open"), ("staff-1", "list"),
                                                  ("staff-1", "read")]
    assert log[0].prev_hash == audit.GENESIS
    assert [e.position for e in log] == [1, 2, 3]
    for before, after in pairwise(log):
        assert after.prev_hash == before.hash
    for entry in log:
        assert entry.prev_hash is not None
        assert entry.hash == audit.entry_hash(entry.prev_hash, entry)
        assert entry.hash is not None
        assert len(entry.hash) == 64
    assert len({e.hash for e in log}) == 3
    assert await verify(db) is True


async def test_long_actor_is_truncated_consistently(db: Database) -> None:
    async with db.transaction() as session:
        await audit.record(session, "x" * 200, "read", None)
    await audit.LOG.chain_pending(db)
    [entry] = await entries(db)
    assert entry.actor == "x" * 64
    assert await verify(db) is True


@pytest.mark.parametrize(("column", "value"), [
    ("actor", "someone-else"),
    ("action", "export"),
    ("at", None),
])
async def test_tampering_breaks_verification(db: Database, column: str, value: str | None) -> None:
    await write_three(db)
    log = await entries(db)
    async with db.transaction() as session:
        entry = await session.get(AuditEntry, log[1].seq)
        assert entry is not None
        if column == "at":
            entry.at = entry.at.replace(year=entry.at.year - 1)
        else:
            setattr(entry, column, value)
    assert await verify(db) is False


async def test_tampering_with_raw_sql_breaks_verification(db: Database) -> None:
    await write_three(db)
    first = (await entries(db))[0]
    async with db.transaction() as session:
        await session.exec(text("UPDATE audit_entry SET actor = 'intruder' WHERE seq = :seq")  # type: ignore[call-overload]
                           .bindparams(seq=first.seq))
    assert await verify(db) is False


async def test_deleting_an_entry_breaks_verification(db: Database) -> None:
    await write_three(db)
    middle = (await entries(db))[1]
    async with db.transaction() as session:
        await session.exec(text("DELETE FROM audit_entry WHERE seq = :seq")  # type: ignore[call-overload]
                           .bindparams(seq=middle.seq))
    assert await verify(db) is False


async def test_rehashing_one_entry_still_breaks_the_next_link(db: Database) -> None:
    await write_three(db)
    log = await entries(db)
    async with db.transaction() as session:
        entry = await session.get(AuditEntry, log[1].seq)
        assert entry is not None
        entry.actor = "someone-else"
        assert entry.prev_hash is not None
        entry.hash = audit.entry_hash(entry.prev_hash, entry)
    assert await verify(db) is False


async def test_the_verify_command_names_the_broken_entry(
        db: Database, capsys: pytest.CaptureFixture[str]) -> None:
    await write_three(db)
    assert await audit.LOG.check(db.url) == 0
    assert capsys.readouterr().out == "audit log intact: 3 entries\n"
    async with db.transaction() as session:
        await audit.record(session, "staff-2", "read", None)
    assert await audit.LOG.check(db.url) == 0
    assert capsys.readouterr().out == "audit log intact: 3 entries (1 not chained yet)\n"
    middle = (await entries(db))[1]
    async with db.transaction() as session:
        await session.exec(text("DELETE FROM audit_entry WHERE seq = :seq")  # type: ignore[call-overload]
                           .bindparams(seq=middle.seq))
    assert await audit.LOG.check(db.url) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"audit log BROKEN at entry {middle.seq + 1}: does not link")
    assert audit.main(["frobnicate"]) == 2


async def test_recent_entries_are_pending_then_chained_after_the_others(db: Database) -> None:
    await write_three(db)
    async with db.transaction() as session:
        await audit.record(session, "staff-2", "read", None)
    async with db.transaction() as session:
        verdict = await audit.inspect(session)
    assert (verdict.intact, verdict.entries, verdict.pending) == (True, 3, 1)
    assert await audit.LOG.chain_pending(db) == 1
    assert await audit.LOG.chain_pending(db) == 0
    log = await entries(db)
    assert [e.position for e in log] == [1, 2, 3, 4]
    assert log[3].prev_hash == log[2].hash
    async with db.transaction() as session:
        assert (await audit.inspect(session)).entries == 4


async def test_recording_takes_no_lock_while_its_transaction_is_open(db: Database) -> None:
    """Two transactions that each record an entry do not wait for each other (the chain's lock
    used to be held from the first entry to the commit: one case opened at a time)."""
    if "sqlite" in db.url:
        pytest.skip("SQLite has one connection per database: transactions run one at a time")
    async with db.transaction() as first:
        await audit.record(first, "system", "open", uuid7())
        await first.flush()

        async def second() -> None:
            async with db.transaction() as session:
                await audit.record(session, "system", "open", uuid7())

        await asyncio.wait_for(second(), 5)  # committed while `first` is still open
    assert await audit.LOG.chain_pending(db) == 2
    assert await verify(db) is True
