"""The rate limit held across gateway replicas: two `RateLimiter`s ("replicas") share buckets
through the SUARA_RATE key-value bucket of one real nats-server, on a fake clock, with their
syncs driven by hand (the background loop has tests of its own at the end)."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import nats
import nats.errors
import pytest
from nats.aio.client import Client
from nats.js.errors import NotFoundError
from nats.js.kv import KeyValue

from suara_gateway import limits
from suara_gateway.app import create_app
from suara_gateway.limits import RateLimiter, SharedRates
from suara_gateway.settings import GatewaySettings
from suara_kit.auth import TokenValidator

SECRET = b"a-secret-shared-by-every-replica"
INTERVAL = 0.5
CALLERS = ("partner-map-foundation service-account-partner-map-foundation",
           "suara-console staff-7")
ISSUER = "https://id.suara.test/realms/suara"
PROBE = "/api/v1/webhook-event-types"  # a partner route that needs no service


class Clock:
    """One clock for both replicas: their monotonic clock and their wall clock."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[Client]:
    """A connection to the test's nats-server, with no rate buckets left by earlier tests."""
    conn = await nats.connect(nats_url)
    try:
        await conn.jetstream().delete_key_value(limits.SYNC_BUCKET)
    except NotFoundError:
        pass
    yield conn
    if not conn.is_closed:
        await conn.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


Replica = Callable[..., tuple[RateLimiter, SharedRates]]


@pytest.fixture
def replica(nc: Client, clock: Clock) -> Replica:
    """`replica(per_minute, burst)`: a limiter sharing its buckets through `nc`."""

    def make(per_minute: int, burst: int, secret: bytes = SECRET,
             conn: Client | None = None) -> tuple[RateLimiter, SharedRates]:
        limiter = RateLimiter(per_minute, burst, clock=clock)
        rates = SharedRates(limiter, lambda: limits.bucket(conn or nc), secret,
                            interval=INTERVAL, wall=clock)
        return limiter, rates

    return make


async def keys(nc: Client) -> list[str]:
    kv = await nc.jetstream().key_value(limits.SYNC_BUCKET)
    return list(await kv.keys())


def admitted(limiter: RateLimiter, caller: str, attempts: int) -> int:
    return sum(limiter.take(caller) == 0 for _ in range(attempts))


# sharing -------------------------------------------------------------------------------------
@pytest.mark.parametrize("early", [True, False], ids=["with-early-syncs", "ticks-only"])
async def test_two_replicas_together_admit_about_the_limit(replica: Replica, clock: Clock,
                                                           early: bool) -> None:
    """A caller sending 30 requests a second to each of two replicas for a minute, at a rate of
    600 a minute with a burst of 20, gets about what one replica alone would give it."""
    per_minute, burst, seconds, replicas = 600, 20, 60, 2
    a, b = replica(per_minute, burst), replica(per_minute, burst)
    caller, total = CALLERS[0], 0
    for step in range(seconds * 10):  # steps of 0.1 s; a sync tick every 0.5 s
        for limiter, rates in (a, b):
            total += admitted(limiter, caller, 3)
            if early:  # what the background loop does for a caller it had not synced lately
                await rates.sync(stale_only=True)
        clock.now += 0.1
        if step % 5 == 4:
            await a[1].sync()
            await b[1].sync()
    rate = per_minute / 60
    alone = burst + rate * seconds  # what one bucket admits: 620
    bound = replicas * rate * INTERVAL  # the documented overshoot for a caller at its rate
    assert alone - rate * INTERVAL <= total <= alone + bound, total
    assert total < 1.1 * alone  # not twice the limit


async def test_a_burst_at_every_replica_at_once_is_paid_back(replica: Replica,
                                                             clock: Clock) -> None:
    """Before any sync both replicas spend a full bucket (the documented worst case); after the
    sync the caller owes it and is refused everywhere until the shared bucket has refilled."""
    (a, sync_a), (b, sync_b) = replica(60, 10), replica(60, 10)
    caller = CALLERS[0]
    assert admitted(a, caller, 15) == 10
    assert admitted(b, caller, 15) == 10
    await sync_a.sync()
    await sync_b.sync()
    assert a.take(caller) > 0
    assert b.take(caller) == pytest.approx(11.0)  # 10 owed, then one token: 11 s at 1/s
    clock.now += 10.5
    assert b.take(caller) > 0  # 0.5 tokens
    assert a.take(caller) == 0  # A has not synced for 10 s: it admits on its stale bucket ...
    await sync_a.sync(stale_only=True)  # ... and syncs the caller at once
    assert a.take(caller) > 0
    clock.now += 1.5
    assert admitted(a, caller, 3) == 1


async def test_what_one_replica_admitted_limits_the_other_after_a_sync(
        replica: Replica, clock: Clock) -> None:
    (a, sync_a), (b, sync_b) = replica(60, 5), replica(60, 5)
    caller = CALLERS[0]
    assert admitted(a, caller, 5) == 5
    await sync_a.sync()
    assert b.take(caller) == 0  # B has never synced this caller: its bucket is stale
    await sync_b.sync(stale_only=True)  # so the loop syncs it at once
    wait = b.take(caller)
    assert wait == pytest.approx(2.0)  # the shared bucket is at -1: 2 s to one token
    clock.now += 2
    assert b.take(caller) == 0
    assert b.take(caller) > 0
    # and the other way round, on buckets both replicas now know
    clock.now += 60
    assert admitted(b, caller, 5) == 5
    assert a.take(caller) == 0  # A has no news yet ...
    await sync_b.sync()
    await sync_a.sync()  # ... until it reports its own request
    assert a.take(caller) > 0


async def test_callers_do_not_share_a_bucket(replica: Replica, nc: Client) -> None:
    (a, sync_a), (b, sync_b) = replica(60, 5), replica(60, 5)
    busy, other = CALLERS
    assert admitted(a, busy, 5) == 5
    await sync_a.sync()
    assert admitted(b, other, 1) == 1
    await sync_b.sync()  # B now knows `other`'s shared bucket: one of five taken
    assert admitted(b, other, 10) == 4  # `busy`'s empty bucket is not `other`'s
    assert b.take(busy) == 0  # new to B: admitted, and synced at once
    await sync_b.sync(stale_only=True)
    assert b.take(busy) > 0
    await sync_b.sync()
    kv = await nc.jetstream().key_value(limits.SYNC_BUCKET)
    shared = {caller: float(((await kv.get(sync_a.key_of(caller))).value or b"").split()[0])
              for caller in CALLERS}
    assert shared == {busy: pytest.approx(-1), other: pytest.approx(0)}


async def test_keys_name_no_caller(replica: Replica, nc: Client) -> None:
    (a, sync_a), (b, sync_b) = replica(60, 5), replica(60, 5)
    for caller in CALLERS:
        a.take(caller)
        b.take(caller)
    await sync_a.sync()
    await sync_b.sync()
    names = await keys(nc)
    assert len(names) == 2  # one entry per caller, whichever replica wrote it
    assert sorted(names) == sorted(sync_a.key_of(c) for c in CALLERS)
    for name in names:
        assert re.fullmatch(r"[0-9a-f]{32}", name)
        for caller in CALLERS:
            for part in caller.split():
                assert part not in name
    # keyed: without the replicas' secret a guess at a caller gives another name
    other = SharedRates(RateLimiter(60, 5), lambda: limits.bucket(nc), b"another-secret")
    assert other.key_of(CALLERS[0]) != sync_a.key_of(CALLERS[0])


async def test_a_busy_key_is_written_with_compare_and_set(replica: Replica, nc: Client) -> None:
    """Many replicas reporting the same caller at once: every report counts exactly once."""
    pairs = [replica(600, 1000) for _ in range(6)]
    caller = CALLERS[0]
    for limiter, _ in pairs:
        assert admitted(limiter, caller, 10) == 10
    await asyncio.gather(*(rates.sync() for _, rates in pairs))
    for _, rates in pairs:  # a report that lost the race too often is made at the next sync
        await rates.sync()
    kv = await nc.jetstream().key_value(limits.SYNC_BUCKET)
    stored = (await kv.get(pairs[0][1].key_of(caller))).value
    assert stored is not None
    assert float(stored.split()[0]) == pytest.approx(1000 - 60)


# fallback ------------------------------------------------------------------------------------
async def test_without_nats_each_replica_limits_alone(
        replica: Replica, nats_url: str, clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    conn = await nats.connect(nats_url)
    a, sync_a = replica(60, 3, conn=conn)
    caller = CALLERS[0]
    assert admitted(a, caller, 1) == 1
    await sync_a.sync()
    assert sync_a.healthy
    await conn.close()  # NATS gone
    caplog.set_level(logging.INFO, logger=limits.__name__)
    for _ in range(3):
        clock.now += 1
        assert admitted(a, caller, 1) == 1  # the local bucket goes on
        await sync_a.sync()  # gives up, does not raise
    assert not sync_a.healthy
    assert admitted(a, caller, 5) == 2
    assert a.take(caller) > 0
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # once per outage
    assert warnings[0].getMessage().startswith("rate limit: cannot share")
    for part in " ".join(CALLERS).split():
        assert part not in caplog.text


async def test_the_sync_recovers_when_nats_is_back(
        replica: Replica, nc: Client, clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    attempts: list[str] = []

    async def flaky() -> KeyValue:
        attempts.append("open")
        if len(attempts) <= 2:
            raise nats.errors.ConnectionClosedError
        return await limits.bucket(nc)

    limiter = RateLimiter(60, 5, clock=clock)
    rates = SharedRates(limiter, flaky, SECRET, interval=INTERVAL, wall=clock)
    caplog.set_level(logging.INFO, logger=limits.__name__)
    for _ in range(3):
        limiter.take(CALLERS[0])
        await rates.sync()
    assert rates.healthy
    assert len(attempts) == 3
    assert [r.levelno for r in caplog.records] == [logging.WARNING, logging.INFO]
    assert await keys(nc) == [rates.key_of(CALLERS[0])]
    # only what the last sync had to report reached the shared bucket: 5 - 1
    kv = await nc.jetstream().key_value(limits.SYNC_BUCKET)
    value = (await kv.get(rates.key_of(CALLERS[0]))).value or b""
    assert float(value.split()[0]) == pytest.approx(4)


async def test_a_deleted_bucket_is_created_again(replica: Replica, nc: Client) -> None:
    a, sync_a = replica(60, 5)
    a.take(CALLERS[0])
    await sync_a.sync()
    await nc.jetstream().delete_key_value(limits.SYNC_BUCKET)
    a.take(CALLERS[0])
    await sync_a.sync()  # fails on the old bucket, and forgets it
    a.take(CALLERS[0])
    await sync_a.sync()
    assert sync_a.healthy
    assert await keys(nc) == [sync_a.key_of(CALLERS[0])]


# the background loop -------------------------------------------------------------------------
async def eventually(check: Callable[[], Any], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not within the time")


async def test_the_background_sync_runs_and_stops_cleanly(nc: Client) -> None:
    limiter = RateLimiter(60, 5)
    rates = SharedRates(limiter, lambda: limits.bucket(nc), SECRET, interval=0.1)
    rates.start()
    task = rates._task
    assert task is not None
    limiter.take(CALLERS[0])  # a caller new to this replica: synced at once

    async def stored() -> bool:
        try:
            return await keys(nc) == [rates.key_of(CALLERS[0])]
        except nats.errors.Error:
            return False

    await eventually(stored)
    await rates.stop()
    assert task.done()
    assert task.cancelled()
    assert rates._task is None
    limiter.take(CALLERS[0])
    assert limiter.drain() == {}  # no longer counted for a sync
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "rate-sync"]


async def test_the_gateway_shares_its_buckets_while_it_runs(
        nc: Client, nats_url: str, validator: TokenValidator, sign: Callable[..., str]) -> None:
    settings = GatewaySettings(nats_url=nats_url, oidc_issuer=ISSUER, rpc_timeout=2,
                               rate_shared=True, rate_per_minute=60, rate_burst=3,
                               rate_sync_seconds=0.1)
    token = sign(sub="service-account-partner-map-foundation", azp="partner-map-foundation",
                 client_id="partner-map-foundation", realm_access={"roles": ["cso-partner"]})
    headers = {"Authorization": f"Bearer {token}"}
    app = create_app(settings, validator)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as http:
            assert (await http.get(PROBE, headers=headers)).status_code == 200

            async def stored() -> bool:
                try:
                    return len(await keys(nc)) == 1
                except nats.errors.Error:
                    return False

            await eventually(stored)
            name = (await keys(nc))[0]
            assert re.fullmatch(r"[0-9a-f]{32}", name)
            assert "map-foundation" not in name
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "rate-sync"]


def test_sharing_is_on_in_production_unless_turned_off() -> None:
    production = {"env": "production", "idempotency_key": "x" * 40,
                  "console_session_key": "y" * 40, "public_url": "https://suara.example.org"}
    assert GatewaySettings().rate_shared is None
    limiter = RateLimiter(60, 5)
    assert limits.share(limiter, None, GatewaySettings()) is None  # type: ignore[arg-type]
    off = GatewaySettings(rate_shared=False, **production)
    assert limits.share(limiter, None, off) is None  # type: ignore[arg-type]


async def test_share_starts_a_sync_in_production(nc: Client) -> None:
    limiter = RateLimiter(60, 5)
    rates = limits.share(limiter, nc, GatewaySettings(
        env="production", idempotency_key="x" * 40, console_session_key="y" * 40,
        public_url="https://suara.example.org"))
    assert rates is not None
    assert rates.interval == 0.5
    await rates.stop()
