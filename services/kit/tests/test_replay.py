"""Replay keys (`suara_kit.replay`) against a real nats-server and the intake's database, on
SQLite and PostgreSQL: a request that carries one runs once, whatever the number of retries; a
twin in flight gets a 409; a failure keeps nothing; what is kept is sealed; rows expire."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from nats.aio.client import Client
from pydantic import BaseModel
from sqlmodel import select

from suara_contracts.rpc import FormQuery
from suara_intake.handlers import MIGRATIONS
from suara_intake.models import Inbox, Outbox, Replay
from suara_intake.settings import IntakeSettings
from suara_kit import replay
from suara_kit.clock import utcnow
from suara_kit.errors import Conflict, SuaraError, ValidationFailed
from suara_kit.ids import uuid7
from suara_kit.messaging import call
from suara_kit.service import ServiceApp

PREFIX = "suara.rpc.replaytest.v1"
SUBJECT = f"{PREFIX}.work"
RECEIPT = "K7QX-4M2P-9TLC-WR8D-ZN"  # what a reply may hold that the table must not show
BASE = b"\x01" * 32


class Health(BaseModel):
    """A reply: which run answered, and a secret it carries."""

    service: str
    database: str


class Work:
    """A handler that counts its runs, can be held, and can be made to fail."""

    def __init__(self) -> None:
        self.runs = 0
        self.hold: asyncio.Event | None = None
        self.entered = asyncio.Event()
        self.fail = 0

    async def __call__(self, query: FormQuery) -> Health:
        self.runs += 1
        self.entered.set()
        if self.hold is not None:
            await self.hold.wait()
        if self.fail:
            self.fail -= 1
            raise ValidationFailed("not like this")
        return Health(service=f"{query.language}:{self.runs}", database=RECEIPT)


@pytest.fixture
async def service(nats_url: str, database_url: Callable[..., str], tmp_path: Path
                  ) -> AsyncIterator[tuple[ServiceApp, Work]]:
    settings = IntakeSettings(database_url=database_url("intake"), nats_url=nats_url,
                              var_dir=tmp_path, env="test")
    app = ServiceApp("replay-test", settings, migrations=MIGRATIONS, outbox=Outbox,
                     inbox=Inbox, replays=Replay, rpc_prefix=PREFIX)
    work = Work()
    app.rpc(SUBJECT, FormQuery, work)
    await app.start()
    yield app, work
    await app.stop()


async def ask(nc: Client, language: str = "en") -> Health:
    return await call(nc, SUBJECT, FormQuery(language=language), Health, timeout=5)


async def rows(app: ServiceApp) -> list[Replay]:
    async with app.db.transaction() as session:
        return list((await session.exec(select(Replay))).all())


async def test_a_retried_call_runs_once_and_gets_the_first_reply(
        service: tuple[ServiceApp, Work], nc: Client) -> None:
    app, work = service
    with replay.calling(BASE):
        first = await ask(nc)
    with replay.calling(BASE):  # the retry of the same request: same keys
        again = await ask(nc)
    assert again == first == Health(service="en:1", database=RECEIPT)
    assert work.runs == 1
    # the stored reply is sealed: the table alone shows neither the receipt nor the reply
    [row] = await rows(app)
    assert row.reply is not None
    for clear in (RECEIPT.encode(), b"en:1"):
        assert clear not in base64.b64decode(row.reply)
        assert clear not in row.reply.encode()
    # without a key, or with another request's key, it runs as always
    assert (await ask(nc)).service == "en:2"
    with replay.calling(b"\x02" * 32):
        assert (await ask(nc)).service == "en:3"
    assert work.runs == 3


async def test_each_call_of_a_request_has_its_own_key(
        service: tuple[ServiceApp, Work], nc: Client) -> None:
    _, work = service
    with replay.calling(BASE):
        first = [await ask(nc, "en"), await ask(nc, "th")]
    with replay.calling(BASE):
        again = [await ask(nc, "en"), await ask(nc, "th")]
    assert [h.service for h in first] == ["en:1", "th:2"]
    assert again == first
    assert work.runs == 2


async def test_a_twin_in_flight_is_409_and_the_retry_after_gets_the_reply(
        service: tuple[ServiceApp, Work], nc: Client) -> None:
    _, work = service
    work.hold = asyncio.Event()
    with replay.calling(BASE):
        slow = asyncio.create_task(ask(nc))
    await asyncio.wait_for(work.entered.wait(), 5)
    with replay.calling(BASE), pytest.raises(Conflict) as twin:
        await ask(nc)
    assert twin.value.status == 409
    assert twin.value.problem()["retry_after"] == 1
    assert "still being processed" in str(twin.value)
    work.hold.set()
    first = await slow
    with replay.calling(BASE):
        assert await ask(nc) == first
    assert work.runs == 1


async def test_a_refusal_keeps_nothing_so_the_retry_runs(
        service: tuple[ServiceApp, Work], nc: Client) -> None:
    app, work = service
    work.fail = 1
    with replay.calling(BASE), pytest.raises(ValidationFailed):
        await ask(nc)
    assert await rows(app) == []
    with replay.calling(BASE):
        assert (await ask(nc)).service == "en:2"
    assert work.runs == 2


async def test_an_abandoned_claim_is_taken_over_and_old_rows_are_purged(
        service: tuple[ServiceApp, Work], nc: Client) -> None:
    app, work = service
    with replay.calling(BASE):  # the id the call below will carry
        derived = replay.next_key(SUBJECT)
    assert derived is not None
    stale = utcnow() - timedelta(seconds=replay.ABANDONED_AFTER + 5)
    async with app.db.transaction() as session:
        session.add(Replay(id=derived.id, claimed_at=stale))  # its run died mid-way
    with replay.calling(BASE):
        assert (await ask(nc)).service == "en:1"
    assert work.runs == 1
    assert await app.purge_replays() == 0  # a fresh claim stays
    async with app.db.transaction() as session:
        row = await session.get(Replay, derived.id)
        assert row is not None
        row.claimed_at = utcnow() - timedelta(hours=replay.KEEP_HOURS, minutes=1)
    assert await app.purge_replays() == 1
    assert await rows(app) == []


async def test_a_malformed_header_is_ignored(service: tuple[ServiceApp, Work],
                                             nc: Client) -> None:
    app, work = service
    for header in ("", "x", "a" * 64, f"{'g' * 64} {'s' * 43}", f"{'a' * 64} short",
                   f"{'a' * 64} {'s' * 42}!"):
        reply = await nc.request(SUBJECT, FormQuery().model_dump_json().encode(), timeout=5,
                                 headers={replay.HEADER: header})
        assert Health.model_validate_json(reply.data).service.startswith("en:"), header
    assert work.runs == 6
    assert await rows(app) == []
    assert replay.parse(f"{'a' * 64} {'s' * 43}") == replay.ReplayKey("a" * 64, "s" * 43)


# A handler that does all its work in one transaction keeps its reply in it
# (`reply_in_transaction`): the reply and the work commit together, so a retry after a crash at
# any moment neither waits for an abandoned claim nor runs the work twice.
ATOMIC = f"{PREFIX}.atomic"


class AtomicWork:
    """Writes one inbox row per run (the work) and keeps its reply in the same transaction;
    can be held inside it, or made to fail after its commit (as a process that died before
    it could answer)."""

    def __init__(self, app: ServiceApp) -> None:
        self.app, self.runs, self.fail_after_commit = app, 0, 0
        self.hold: asyncio.Event | None = None
        self.entered = asyncio.Event()

    async def __call__(self, query: FormQuery) -> Health:
        self.runs += 1
        async with self.app.transaction() as session:
            session.add(Inbox(event_id=uuid7(), consumer="atomic-work", handled_at=utcnow()))
            reply = Health(service=f"{query.language}:{self.runs}", database=RECEIPT)
            self.app.keep_reply(session, reply)
            self.entered.set()
            if self.hold is not None:
                await self.hold.wait()
        if self.fail_after_commit:
            self.fail_after_commit -= 1
            raise RuntimeError("the process died after its commit")
        return reply


@pytest.fixture
async def atomic(nats_url: str, database_url: Callable[..., str], tmp_path: Path
                 ) -> AsyncIterator[tuple[ServiceApp, AtomicWork]]:
    settings = IntakeSettings(database_url=database_url("intake"), nats_url=nats_url,
                              var_dir=tmp_path, env="test")
    app = ServiceApp("replay-test", settings, migrations=MIGRATIONS, outbox=Outbox,
                     inbox=Inbox, replays=Replay, rpc_prefix=PREFIX)
    work = AtomicWork(app)
    app.rpc(ATOMIC, FormQuery, work, reply_in_transaction=True)
    await app.start()
    yield app, work
    await app.stop()


async def work_done(app: ServiceApp) -> int:
    async with app.db.transaction() as session:
        found = await session.exec(select(Inbox).where(Inbox.consumer == "atomic-work"))
        return len(found.all())


async def ask_atomic(nc: Client) -> Health:
    return await call(nc, ATOMIC, FormQuery(language="en"), Health, timeout=10)


async def test_a_reply_kept_with_the_work_survives_a_crash_after_the_commit(
        atomic: tuple[ServiceApp, AtomicWork], nc: Client) -> None:
    app, work = atomic
    work.fail_after_commit = 1
    with replay.calling(BASE), pytest.raises(SuaraError):
        await ask_atomic(nc)  # the work committed, the caller heard nothing useful
    with replay.calling(BASE):
        again = await ask_atomic(nc)  # at once: no claim to wait for, and no second run
    assert again == Health(service="en:1", database=RECEIPT)
    assert (work.runs, await work_done(app)) == (1, 1)
    [row] = await rows(app)
    assert row.reply is not None
    assert RECEIPT.encode() not in base64.b64decode(row.reply)


async def test_a_run_that_failed_before_its_commit_leaves_nothing_to_wait_for(
        atomic: tuple[ServiceApp, AtomicWork], nc: Client) -> None:
    app, _ = atomic
    original = app.keep_reply

    def crash(session: object, reply: BaseModel) -> None:
        raise RuntimeError("died inside the transaction")

    app.keep_reply = crash  # type: ignore[method-assign]
    with replay.calling(BASE), pytest.raises(SuaraError):
        await ask_atomic(nc)
    app.keep_reply = original  # type: ignore[method-assign]
    assert (await rows(app), await work_done(app)) == ([], 0)
    with replay.calling(BASE):
        assert (await ask_atomic(nc)).service == "en:2"
    assert await work_done(app) == 1


async def test_twins_at_once_commit_once_and_both_get_that_reply(
        atomic: tuple[ServiceApp, AtomicWork], nc: Client) -> None:
    app, work = atomic
    work.hold = asyncio.Event()
    with replay.calling(BASE):
        first = asyncio.create_task(ask_atomic(nc))
    await asyncio.wait_for(work.entered.wait(), 5)
    with replay.calling(BASE):
        twin = asyncio.create_task(ask_atomic(nc))
    await asyncio.sleep(0.3)  # on PostgreSQL the twin runs too, into the first's row
    work.hold.set()
    replies = await asyncio.gather(first, twin)
    assert replies[0] == replies[1]
    assert await work_done(app) == 1
