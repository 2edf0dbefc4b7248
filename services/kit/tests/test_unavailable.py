"""A dependency that is away for a moment is a 503 with Retry-After, at once: a service whose
database cannot be reached answers so (not 500), and a caller connected without a reconnect
buffer (the gateway) fails its calls at once while NATS is away, instead of having them sent,
and run, after it told its own caller they failed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nats.aio.client import Client
from nats.micro import add_service
from sqlalchemy import exc

from suara_contracts.rpc import FormQuery, Health
from suara_kit.db import unreachable
from suara_kit.errors import Unavailable
from suara_kit.messaging import call, connect, endpoint
from suara_kit.natsserver import NatsServer

SUBJECT = "suara.rpc.kit-unavailable.v1"


def test_what_counts_as_an_unreachable_database() -> None:
    assert unreachable(ConnectionRefusedError(111, "refused"))
    assert unreachable(ConnectionResetError())
    assert unreachable(TimeoutError())
    assert unreachable(exc.TimeoutError("QueuePool limit reached"))
    assert unreachable(exc.OperationalError("SELECT 1", {}, Exception("database is locked")))
    assert unreachable(exc.InterfaceError("SELECT 1", {}, Exception("connection is closed")))
    assert unreachable(exc.DBAPIError("SELECT 1", {}, OSError("gone")))
    lost = exc.DBAPIError("SELECT 1", {}, Exception("x"), connection_invalidated=True)
    assert unreachable(lost)
    assert not unreachable(exc.IntegrityError("INSERT", {}, Exception("duplicate key")))
    assert not unreachable(exc.DBAPIError("SELECT 1", {}, Exception("syntax error")))
    assert not unreachable(FileNotFoundError("x"))
    assert not unreachable(RuntimeError("bug"))


async def test_a_database_that_cannot_be_reached_is_a_503_with_retry_after(nc: Client) -> None:
    async def refused(_: FormQuery) -> Health:
        raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")

    service = await add_service(nc, name="kit_unavailable", version="1.0.0")
    await service.add_endpoint(name="refused", subject=f"{SUBJECT}.refused",
                               handler=endpoint(FormQuery, refused), queue_group="q")
    try:
        with pytest.raises(Unavailable) as info:
            await call(nc, f"{SUBJECT}.refused", FormQuery(), Health, timeout=5)
    finally:
        await service.stop()
    assert info.value.status == 503
    assert info.value.extra["retry_after"] > 0
    assert "5432" not in str(info.value.problem())


async def answered(caller: Client) -> None:
    """Call until the service answers (its subscription may still be on its way)."""
    deadline = time.monotonic() + 15
    while True:
        try:
            assert (await call(caller, f"{SUBJECT}.health", FormQuery(), Health)).service == "kit"
            return
        except Unavailable:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.2)


@pytest.fixture
async def own_server(tmp_path: Path) -> AsyncIterator[NatsServer]:
    """A nats-server of this test's own, to stop and start."""
    server = NatsServer(tmp_path / "nats").start()
    yield server
    server.stop()


async def test_without_a_reconnect_buffer_calls_fail_at_once_while_nats_is_away(
        own_server: NatsServer) -> None:
    served = await connect(own_server.url, "served")
    caller = await connect(own_server.url, "caller", buffer_while_away=False)
    runs = 0

    async def health(_: FormQuery) -> Health:
        nonlocal runs
        runs += 1
        return Health(service="kit", database="ok")

    service = await add_service(served, name="kit_away", version="1.0.0")
    await service.add_endpoint(name="health", subject=f"{SUBJECT}.health",
                               handler=endpoint(FormQuery, health), queue_group="q")
    try:
        await answered(caller)
        await asyncio.to_thread(own_server.stop)
        for _ in range(50):  # until the client has noticed
            if not caller.is_connected:
                break
            await asyncio.sleep(0.05)
        started = time.monotonic()
        with pytest.raises(Unavailable):
            await call(caller, f"{SUBJECT}.health", FormQuery(), Health, timeout=5)
        assert time.monotonic() - started < 1  # not the timeout: at once
        await asyncio.to_thread(own_server.start)  # same port, same store
        await answered(caller)  # once both have reconnected (and the service re-subscribed)
        await asyncio.sleep(0.3)
        assert runs == 2  # the failed call was never delivered later
    finally:
        await service.stop()
        await caller.close()
        await served.close()
