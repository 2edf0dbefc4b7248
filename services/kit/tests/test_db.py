"""UTCDateTime: aware UTC in, aware UTC out, on SQLite too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import StatementError
from sqlmodel import select

from suara_intake.handlers import MIGRATIONS
from suara_intake.models import Outbox
from suara_kit.db import CommitInDoubt, Database, UTCDateTime, is_sqlite, memoised, unreachable
from suara_kit.faultproxy import FaultProxy
from suara_kit.ids import uuid7
from suara_kit.testing import migrated

BANGKOK = timezone(timedelta(hours=7))


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with migrated(MIGRATIONS, f"sqlite+aiosqlite:///{tmp_path}/intake.sqlite") as database:
        yield database


def row(created_at: datetime) -> Outbox:
    return Outbox(id=uuid7(), subject="suara.evt.test.v1", payload="{}", created_at=created_at)


def test_bind_refuses_naive_datetime() -> None:
    with pytest.raises(ValueError, match="naive datetime refused"):
        UTCDateTime().process_bind_param(datetime(2026, 11, 23, 9, 0), sqlite.dialect())


def test_bind_converts_to_utc() -> None:
    bound = UTCDateTime().process_bind_param(datetime(2026, 11, 23, 9, 0, tzinfo=BANGKOK),
                                             sqlite.dialect())
    assert bound == datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    assert bound is not None
    assert bound.utcoffset() == timedelta(0)


def test_result_of_naive_value_is_read_as_utc() -> None:
    value = UTCDateTime().process_result_value(datetime(2026, 11, 23, 2, 0), sqlite.dialect())
    assert value == datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    assert value is not None
    assert value.tzinfo is UTC


def test_none_passes_through() -> None:
    assert UTCDateTime().process_bind_param(None, sqlite.dialect()) is None
    assert UTCDateTime().process_result_value(None, sqlite.dialect()) is None


async def test_naive_datetime_is_refused_by_the_database_layer(db: Database) -> None:
    with pytest.raises(StatementError, match="naive datetime refused"):
        async with db.transaction() as session:
            session.add(row(datetime(2026, 11, 23, 9, 0)))
    async with db.transaction() as session:
        assert (await session.exec(select(Outbox))).all() == []


async def test_sqlite_returns_aware_utc(db: Database) -> None:
    written = datetime(2026, 11, 23, 9, 30, 15, 123456, tzinfo=BANGKOK)
    stored = row(written)
    async with db.transaction() as session:
        session.add(stored)
    async with db.sessions() as session:
        read = await session.get(Outbox, stored.id)
    assert read is not None
    assert read.created_at == written
    assert read.created_at.tzinfo is UTC
    assert read.created_at.hour == 2
    assert read.published_at is None


def test_is_sqlite() -> None:
    assert is_sqlite("sqlite+aiosqlite:///var/db/x.sqlite")
    assert not is_sqlite("postgresql+asyncpg://h/db")


@pytest.mark.parametrize("db_backend", [pytest.param("postgresql", marks=pytest.mark.postgres)],
                         indirect=True)  # SQLite keeps one connection whatever the setting
async def test_a_burst_waits_for_the_pool_instead_of_opening_connections(
        database_url: Callable[..., str]) -> None:
    """Twenty transactions at once on a pool of three use three connections, and a second
    burst the same three: none is opened beyond the pool and closed again (on PostgreSQL each
    new connection forks a backend and loses its prepared statements)."""
    database = Database(database_url("intake"), pool_size=3)

    async def backend() -> int:
        async with database.transaction() as session:
            pid = (await session.exec(text("SELECT pg_backend_pid()"))).one()[0]  # type: ignore[call-overload]
            await session.exec(text("SELECT pg_sleep(0.02)"))  # type: ignore[call-overload]
        return int(pid)

    try:
        first = set(await asyncio.gather(*(backend() for _ in range(20))))
        second = set(await asyncio.gather(*(backend() for _ in range(20))))
    finally:
        await database.dispose()
    assert len(first) == 3
    assert second == first


@pytest.mark.parametrize("db_backend", [pytest.param("postgresql", marks=pytest.mark.postgres)],
                         indirect=True)
async def test_losing_the_database_during_the_commit_is_a_commit_in_doubt(
        database_url: Callable[..., str]) -> None:
    """Lost before the commit, the work failed; lost during it, nobody knows whether it was
    saved, and the caller is told so (a 503 that says the outcome is unknown)."""
    url = urlsplit(database_url("intake"))
    proxy = FaultProxy((url.hostname or "127.0.0.1", url.port or 5432)).start()
    database = Database(url._replace(netloc=url.netloc.replace(
        f"{url.hostname}:{url.port or 5432}", f"127.0.0.1:{proxy.port}")).geturl(), pool_size=1)
    async def work(cut_before_the_statement: bool) -> None:
        async with database.transaction() as session:
            if cut_before_the_statement:
                proxy.cut()
            await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
            proxy.cut()  # the body is done: the next thing sent is the commit

    try:
        with pytest.raises(CommitInDoubt):
            await work(cut_before_the_statement=False)
        assert unreachable(CommitInDoubt())
        proxy.restore()
        failed = await asyncio.gather(work(cut_before_the_statement=True),
                                      return_exceptions=True)
        assert isinstance(failed[0], Exception)  # lost in the body: a plain failure
        assert not isinstance(failed[0], CommitInDoubt)
        assert unreachable(failed[0])
    finally:
        await database.dispose()
        proxy.close()


async def test_a_memoised_lookup_runs_once_per_transaction_and_again_after_a_flush(
        db: Database) -> None:
    loads: list[int] = []

    async def load() -> list[int]:
        loads.append(1)
        return [1, 2]

    async with db.transaction() as session:
        first = await memoised(session, ("staff", "tenaganita"), load)
        first.append(99)  # a caller's copy: the memo is not changed by it
        assert await memoised(session, ("staff", "tenaganita"), load) == [1, 2]
        assert len(loads) == 1
        await memoised(session, ("staff", "apmm"), load)  # another key: its own load
        assert len(loads) == 2
        session.add(row(datetime.now(UTC)))
        await session.flush()  # the transaction wrote: what it read may have changed
        await memoised(session, ("staff", "tenaganita"), load)
        assert len(loads) == 3
    async with db.transaction() as session:  # a new transaction reads afresh
        await memoised(session, ("staff", "tenaganita"), load)
    assert len(loads) == 4
