"""A key held by a gateway that died: the next retry, at any gateway, takes it over as soon as
that gateway's heartbeat is gone, not after `abandon_after` (real NATS key-value buckets)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import nats
import pytest
from nats.aio.client import Client

from suara_gateway import idempotency
from suara_gateway.idempotency import Claimed, IdempotencyStore, Liveness, Slot
from suara_kit.errors import Conflict

SECRET = "a-test-secret-for-idempotency-that-is-long"
SLOT = Slot(name="f" * 64, key=b"retry-key-0123456789", token=None)


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[Client]:
    client = await nats.connect(nats_url)
    js = client.jetstream()
    for name in (idempotency.BUCKET, idempotency.GATEWAYS_BUCKET):
        try:
            await js.delete_key_value(name)
        except nats.js.errors.NotFoundError:
            pass
    yield client
    await client.close()


async def gateway(nc: Client) -> IdempotencyStore:
    liveness = Liveness(await idempotency.liveness_bucket(nc))
    await liveness.start()
    return IdempotencyStore(await idempotency.bucket(nc), SECRET, liveness=liveness)


async def test_a_retry_at_another_gateway_takes_over_from_one_that_died(nc: Client) -> None:
    first, second = await gateway(nc), await gateway(nc)
    assert isinstance(await first.begin(SLOT, "request"), Claimed)
    with pytest.raises(Conflict):  # its gateway is alive: the request may still finish
        await second.begin(SLOT, "request")
    assert first.liveness is not None
    await first.liveness.stop()  # as after kill -9 once its heartbeat expired (15 s)
    assert isinstance(await second.begin(SLOT, "request"), Claimed)
    assert second.liveness is not None
    await second.liveness.stop()


async def test_an_entry_without_its_gateway_waits_for_abandon_after(nc: Client) -> None:
    """Entries written before entries named their gateway (a rolling upgrade) are taken over
    by time only."""
    store = await gateway(nc)
    await store.kv.put(SLOT.name, b"R%d" % int(store._clock()))
    with pytest.raises(Conflict):
        await store.begin(SLOT, "request")
    await store.kv.put(SLOT.name, b"R%d" % int(store._clock() - store.abandon_after - 1))
    assert isinstance(await store.begin(SLOT, "request"), Claimed)
    assert store.liveness is not None
    await store.liveness.stop()


async def test_a_heartbeat_expires_when_its_gateway_stops_beating(nc: Client) -> None:
    bucket = await idempotency.liveness_bucket(nc)
    status = await bucket.status()
    assert status.ttl == idempotency.HEARTBEAT_TTL  # an entry lasts 15 s after its last beat
    liveness = Liveness(bucket)
    await liveness.start()
    assert not await liveness.gone(liveness.instance)
    assert await liveness.gone("0" * 32)  # never seen
    await liveness.stop()
    assert await liveness.gone(liveness.instance)
