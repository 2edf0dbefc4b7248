"""UTCDateTime: aware UTC in, aware UTC out, on SQLite too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import StatementError
from sqlmodel import select

from suara_intake.handlers import MIGRATIONS
from suara_intake.models import Outbox
from suara_kit.db import Database, UTCDateTime, is_sqlite
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
