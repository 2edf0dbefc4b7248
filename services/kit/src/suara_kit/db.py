"""Database access: one async engine per service, SQLite by default, PostgreSQL when configured."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import DateTime, MetaData, event, exc, text
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, registry
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_base() -> type[SQLModel]:
    """A SQLModel base with its own metadata, so each service owns its tables."""
    reg = registry(metadata=MetaData(naming_convention=NAMING_CONVENTION))

    class Base(SQLModel, registry=reg):
        pass

    return Base


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: pass a timezone-aware value")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def is_sqlite(url: str) -> bool:
    """Whether a URL points at SQLite."""
    return url.startswith("sqlite")


def unreachable(error: BaseException) -> bool:
    """Whether `error` says the database cannot be reached right now (refused or lost
    connections, a pool with no connection to give, a locked SQLite file): a moment later the
    same request may well succeed, so its caller hears 503, not 500."""
    if isinstance(error, CommitInDoubt):
        return True  # the database went away mid-commit
    if isinstance(error, ConnectionError | TimeoutError | socket.gaierror | exc.TimeoutError):
        return True  # e.g. ConnectionRefusedError while connecting, which SQLAlchemy passes on
    if isinstance(error, exc.DBAPIError):
        return bool(error.connection_invalidated) or isinstance(
            error, exc.OperationalError | exc.InterfaceError) or isinstance(error.orig, OSError)
    return False


class CommitInDoubt(Exception):
    """The connection was lost while a transaction committed: it may or may not have."""


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


DEFAULT_POOL_SIZE = 10


def make_engine(url: str, pool_size: int = DEFAULT_POOL_SIZE) -> AsyncEngine:
    """An async engine; SQLite keeps a single connection (one writer per database)."""
    if is_sqlite(url):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, pool_size=1, max_overflow=0, pool_timeout=60)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # No pre-ping: it was a round trip before every transaction (a tenth of a consumer's CPU).
    # A connection lost while the database was away fails its first use instead; SQLAlchemy
    # then drops the whole pool, the caller hears 503 (`unreachable`) or the event is retried,
    # and tests/faults/test_postgres_outage.py holds that nothing accepted is lost.
    # No overflow: a burst beyond the pool waits for a connection instead of opening one that
    # is closed again when it is handed back. With overflow, the load benchmark opened a new
    # PostgreSQL connection every seven transactions (a backend forked, authenticated, its
    # prepared statements lost), a fifth of the throughput.
    return create_async_engine(url, pool_size=pool_size, max_overflow=0, pool_pre_ping=False)


class Database:
    """An engine and its session factory; the caller owns each transaction."""

    def __init__(self, url: str, pool_size: int = DEFAULT_POOL_SIZE) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size)
        # handed to every session (`session.info`): e.g. the service's data-key ring
        self.info: dict = {}
        self.sessions = async_sessionmaker(self.engine, class_=AsyncSession,
                                           expire_on_commit=False, info=self.info)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error. When
        the database goes away during the commit itself (the rows already sent), whether it
        committed is unknown: that is a `CommitInDoubt`, not a plain failure (a caller told
        "failed" would do again what may be done)."""
        async with self.sessions() as session:
            async with session.begin():
                yield session
                # what is still pending goes out first: a failure there (a constraint, a
                # database that cannot be reached) leaves nothing committed, for certain
                await session.flush()
                try:
                    await session.commit()
                except Exception as exc:
                    if unreachable(exc):
                        raise CommitInDoubt from exc
                    raise

    async def ping(self) -> None:
        """Raise if the database cannot be reached."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


MEMO = "suara.memo"
BATCH = "suara.batch"


def in_batch(session: AsyncSession) -> bool:
    """Whether this transaction handles a batch of events (`ServiceApp.on_event(batch=True)`).
    A handler may then skip a lookup that only guards against a duplicate that a unique
    constraint also refuses: the duplicate fails the batch's commit, and the consumer handles
    the events one by one, where the lookup runs (a round trip per event saved in the usual
    case, where there is no duplicate)."""
    return bool(session.info.get(BATCH))


async def memoised(session: AsyncSession, key: tuple[Any, ...],
                   load: Callable[[], Awaitable[list[T]]]) -> list[T]:
    """`load()` once per transaction for `key` (a copy of the list each time): a consumer
    handling fifty events in one transaction asks the organisation's staff once, not fifty
    times. Forgotten at every flush, so a transaction that writes what it read reads it
    again."""
    cache: dict[tuple[Any, ...], list[T]] = session.info.setdefault(MEMO, {})
    if key not in cache:
        cache[key] = await load()
    return list(cache[key])


@event.listens_for(Session, "after_flush")
def _forget_memo(session: Session, _context: Any) -> None:
    session.info.pop(MEMO, None)
