"""NATS plumbing against a real nats-server: idempotent consumers, bounded redelivery, the
dead-letter stream, and request-reply errors."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from pathlib import Path
from uuid import UUID

import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.micro import add_service
from pydantic import BaseModel
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_contracts.events import CaseOpened, Envelope
from suara_contracts.rpc import FormQuery, Health, StatusQuery
from suara_contracts.subjects import DLQ_STREAM, EVENTS_STREAM, Evt, dlq_subject
from suara_intake.handlers import MIGRATIONS
from suara_intake.models import Inbox, Outbox, Replay
from suara_intake.settings import IntakeSettings
from suara_kit.clock import utcnow
from suara_kit.errors import Conflict, SuaraError, Unavailable, ValidationFailed
from suara_kit.ids import uuid7
from suara_kit.messaging import (
    ConsumerSpec,
    DurableConsumer,
    PermanentFailure,
    call,
    connect,
    endpoint,
    servers,
)
from suara_kit.natsserver import free_port
from suara_kit.service import ServiceApp
from suara_kit.testing import eventually

SUBJECT = "suara.rpc.kittest.v1"
SECRET = "Majikan saya Ibu Lestari di Jalan Mawar 7"


def case_opened() -> CaseOpened:
    return CaseOpened(case_id=uuid7(), submission_id=uuid7(), reference="SU-AAAA-BBBB",
                      organisation="apmm", status="received", acknowledge_by=date(2026, 12, 1))


def envelope(data: CaseOpened, event_id: UUID | None = None) -> bytes:
    return Envelope[CaseOpened](id=event_id or uuid7(), type=Evt.CASE_OPENED, source="/test",
                                time=utcnow(), data=data).model_dump_json().encode()


async def dlq_messages(js: JetStreamContext) -> int:
    return int((await js.stream_info(DLQ_STREAM)).state.messages)


async def settled(js: JetStreamContext, durable: str, delivered: int) -> bool:
    """Every message up to stream sequence `delivered` was acked or terminated."""
    info = await js.consumer_info(EVENTS_STREAM, durable)
    return (info.delivered.stream_seq >= delivered and info.num_ack_pending == 0
            and info.num_pending == 0)


# ServiceApp.on_event: one run per event id
@pytest.fixture
async def app(nats_url: str, tmp_path: Path) -> AsyncIterator[ServiceApp]:
    settings = IntakeSettings(database_url=f"sqlite+aiosqlite:///{tmp_path}/svc.sqlite",
                              nats_url=nats_url, var_dir=tmp_path, env="test")
    service = ServiceApp("kit-test", settings, migrations=MIGRATIONS, outbox=Outbox, inbox=Inbox,
                         replays=Replay, rpc_prefix=SUBJECT)
    yield service
    await service.stop()


async def test_same_event_delivered_twice_is_handled_once(app: ServiceApp,
                                                          js: JetStreamContext) -> None:
    seen: list[tuple[UUID, UUID]] = []

    async def handler(_: AsyncSession, event_id: UUID, data: CaseOpened) -> None:
        seen.append((event_id, data.case_id))

    app.on_event(Evt.CASE_OPENED, CaseOpened, "kit-once", handler)
    await app.start()
    data, event_id = case_opened(), uuid7()
    payload = envelope(data, event_id)
    await js.publish(Evt.CASE_OPENED, payload, headers={"Nats-Msg-Id": "delivery-1"})
    await js.publish(Evt.CASE_OPENED, payload, headers={"Nats-Msg-Id": "delivery-2"})
    assert (await js.stream_info(EVENTS_STREAM)).state.messages == 2

    await eventually(lambda: settled(js, "kit-once", 2), timeout=10)
    assert seen == [(event_id, data.case_id)]
    async with app.db.transaction() as session:
        inbox = (await session.exec(select(Inbox))).all()
    assert [(r.event_id, r.consumer) for r in inbox] == [(event_id, "kit-once")]
    assert await dlq_messages(js) == 0


async def test_distinct_events_are_each_handled(app: ServiceApp, js: JetStreamContext) -> None:
    seen: list[UUID] = []

    async def handler(_: AsyncSession, event_id: UUID, __: CaseOpened) -> None:
        seen.append(event_id)

    app.on_event(Evt.CASE_OPENED, CaseOpened, "kit-each", handler)
    await app.start()
    ids = [uuid7(), uuid7()]
    for event_id in ids:
        await js.publish(Evt.CASE_OPENED, envelope(case_opened(), event_id),
                         headers={"Nats-Msg-Id": str(event_id)})
    await eventually(lambda: settled(js, "kit-each", 2), timeout=10)
    assert sorted(seen) == sorted(ids)


async def test_failed_handler_leaves_no_inbox_row_and_is_retried(app: ServiceApp,
                                                                 js: JetStreamContext) -> None:
    attempts: list[UUID] = []

    async def flaky(session: AsyncSession, event_id: UUID, _: CaseOpened) -> None:
        attempts.append(event_id)
        if len(attempts) == 1:
            raise RuntimeError("database hiccup")

    app.on_event(Evt.CASE_OPENED, CaseOpened, "kit-flaky", flaky)
    await app.start()
    event_id = uuid7()
    await js.publish(Evt.CASE_OPENED, envelope(case_opened(), event_id))
    await eventually(lambda: settled(js, "kit-flaky", 1), timeout=10)
    assert attempts == [event_id, event_id]
    async with app.db.transaction() as session:
        assert len((await session.exec(select(Inbox))).all()) == 1
    assert await dlq_messages(js) == 0


@pytest.mark.parametrize("payload", [
    b"not json at all",
    b'{"id": "not-a-uuid", "data": {}}',
    b'{"data": {}}',
    json.dumps({"id": "0190a0b0-0000-7000-8000-000000000000", "data": {"case_id": 1}}).encode(),
])
async def test_unparseable_event_is_dead_lettered_at_once(app: ServiceApp, js: JetStreamContext,
                                                          payload: bytes) -> None:
    calls: list[UUID] = []

    async def handler(_: AsyncSession, event_id: UUID, __: CaseOpened) -> None:
        calls.append(event_id)

    app.on_event(Evt.CASE_OPENED, CaseOpened, "kit-unreadable", handler)
    await app.start()
    await js.publish(Evt.CASE_OPENED, payload, headers={"Nats-Msg-Id": "poison-1"})
    await eventually(lambda: dlq_messages(js), timeout=10)
    msg = await js.get_msg(DLQ_STREAM, seq=1)
    assert msg.subject == dlq_subject("kit-unreadable")
    assert msg.data == payload
    assert msg.headers is not None
    assert msg.headers["Suara-Consumer"] == "kit-unreadable"
    assert msg.headers["Suara-Original-Subject"] == Evt.CASE_OPENED
    assert msg.headers["Suara-Reason"].startswith("unreadable event")
    assert msg.headers["Nats-Msg-Id"] == "poison-1:kit-unreadable"
    await eventually(lambda: settled(js, "kit-unreadable", 1), timeout=10)
    info = await js.consumer_info(EVENTS_STREAM, "kit-unreadable")
    assert info.num_redelivered == 0
    assert calls == []


# ServiceApp.on_event(batch=True): the events of one fetch in one transaction
async def publish_all(js: JetStreamContext, ids: list[UUID]) -> None:
    for n, event_id in enumerate(ids):
        await js.publish(Evt.CASE_OPENED, envelope(case_opened(), event_id),
                         headers={"Nats-Msg-Id": f"delivery-{n}"})


async def inbox_ids(app: ServiceApp) -> list[UUID]:
    async with app.db.transaction() as session:
        return sorted(row.event_id for row in (await session.exec(select(Inbox))).all())


async def test_a_batch_consumer_handles_waiting_events_in_order_in_one_transaction(
        app: ServiceApp, js: JetStreamContext) -> None:
    seen: list[tuple[UUID, AsyncSession]] = []  # the sessions themselves: ids get reused

    async def handler(session: AsyncSession, event_id: UUID, _: CaseOpened) -> None:
        seen.append((event_id, session))

    app.on_event(Evt.CASE_OPENED, CaseOpened, "kit-batch", handler, parallel=4, batch=True)
    ids = [uuid7() for _ in range(6)]
    await publish_all(js, ids)  # all waiting before the consumer starts: one fetch
    await app.start()
    await eventually(lambda: settled(js, "kit-batch", 6), timeout=10)
    assert [event_id for event_id, _ in seen] == ids  # each once, in the stream's order
    assert len({id(session) for _, session in seen}) == 1  # one transaction for the six
    assert await inbox_ids(app) == sorted(ids)
    assert app.consumed["kit-batch"] == 6


async def test_a_bad_event_rolls_its_batch_back_and_the_others_go_through_alone(
        app: ServiceApp, js: JetStreamContext) -> None:
    ids = [uuid7() for _ in range(5)]
    poison = ids[2]
    calls: list[tuple[UUID, AsyncSession]] = []  # the sessions themselves: ids get reused

    async def handler(session: AsyncSession, event_id: UUID, _: CaseOpened) -> None:
        calls.append((event_id, session))
        if event_id == poison:
            raise PermanentFailure("this case cannot be opened here")

    app.on_event(Evt.CASE_OPENED, CaseOpened, "kit-batch-bad", handler, batch=True)
    await publish_all(js, ids)
    await app.start()
    await eventually(lambda: dlq_messages(js), timeout=10)
    await eventually(lambda: settled(js, "kit-batch-bad", 5), timeout=10)
    # the batch ran up to the poison, was rolled back, then each event ran alone
    batch_session = calls[0][1]
    assert [event_id for event_id, session in calls if session is batch_session] == ids[:3]
    alone = [(event_id, session) for event_id, session in calls if session is not batch_session]
    assert [event_id for event_id, _ in alone] == ids
    assert len({id(session) for _, session in alone}) == 5
    assert await inbox_ids(app) == sorted(set(ids) - {poison})  # nothing of the poison kept
    msg = await js.get_msg(DLQ_STREAM, seq=1)
    assert msg.headers is not None
    assert msg.headers["Suara-Reason"] == "this case cannot be opened here"
    assert app.consumed["kit-batch-bad"] == 4


async def test_an_event_delivered_twice_in_one_batch_is_handled_once(
        app: ServiceApp, js: JetStreamContext) -> None:
    seen: list[UUID] = []

    async def handler(_: AsyncSession, event_id: UUID, __: CaseOpened) -> None:
        seen.append(event_id)

    app.on_event(Evt.CASE_OPENED, CaseOpened, "kit-batch-twice", handler, batch=True)
    first, again = uuid7(), uuid7()
    await publish_all(js, [first, again, first])  # e.g. re-sent by a relay after a crash
    await app.start()
    await eventually(lambda: settled(js, "kit-batch-twice", 3), timeout=10)
    assert sorted(seen) == sorted([first, again])
    assert await inbox_ids(app) == sorted([first, again])
    assert await dlq_messages(js) == 0


# DurableConsumer: bounded redelivery, then the dead-letter stream
async def run_consumer(js: JetStreamContext, spec: ConsumerSpec,
                       until: Callable[[], Awaitable[object]]) -> None:
    consumer = DurableConsumer(js, spec)
    await consumer.ensure()
    task = asyncio.create_task(consumer.run())
    try:
        await eventually(until, timeout=15)
    finally:
        consumer.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_failing_handler_is_retried_a_bounded_number_of_times_then_dead_lettered(
        js: JetStreamContext) -> None:
    deliveries: list[int] = []

    async def always_fails(msg: Msg) -> None:
        deliveries.append(msg.metadata.num_delivered)
        raise RuntimeError("still broken")

    spec = ConsumerSpec(durable="kit-poison", subject=Evt.CASE_OPENED, handle=always_fails,
                        max_attempts=4, backoff=(0.05,) * 4)
    payload = envelope(case_opened())
    await js.publish(Evt.CASE_OPENED, payload, headers={"Nats-Msg-Id": "evt-1"})
    await run_consumer(js, spec, lambda: dlq_messages(js))
    await asyncio.sleep(0.3)  # a further redelivery, if any, would show up here

    assert deliveries == [1, 2, 3, 4]
    assert await dlq_messages(js) == 1
    msg = await js.get_msg(DLQ_STREAM, seq=1)
    assert msg.data == payload
    assert msg.headers is not None
    assert msg.headers["Suara-Consumer"] == "kit-poison"
    assert msg.headers["Suara-Original-Subject"] == Evt.CASE_OPENED
    assert msg.headers["Suara-Reason"] == "RuntimeError"
    info = await js.consumer_info(EVENTS_STREAM, "kit-poison")
    assert (info.num_ack_pending, info.num_pending) == (0, 0)


async def test_events_wait_out_a_database_outage_longer_than_their_retries(
        js: JetStreamContext) -> None:
    """The database is away for 3 s: three times the ack wait, far beyond two attempts with
    50 ms backoff. Every event is held, not delivered again, and handled once it is back."""
    back_at = time.monotonic() + 3.0
    handled: list[tuple[bytes, int]] = []

    async def needs_the_database(msg: Msg) -> None:
        if time.monotonic() < back_at:
            raise ConnectionRefusedError("connection refused")
        handled.append((msg.data, msg.metadata.num_delivered))

    spec = ConsumerSpec(durable="kit-outage", subject=Evt.CASE_OPENED, handle=needs_the_database,
                        max_attempts=2, backoff=(0.05,) * 2, ack_wait=1.0, parallel=2)
    for data in (b"1", b"2", b"3"):
        await js.publish(Evt.CASE_OPENED, data)
    await run_consumer(js, spec, lambda: settled(js, "kit-outage", 3))
    assert sorted(handled) == [(b"1", 1), (b"2", 1), (b"3", 1)]  # each once, never redelivered
    assert await dlq_messages(js) == 0


async def test_an_outage_beyond_the_patience_counts_as_failed_attempts(
        js: JetStreamContext) -> None:
    async def never_reaches_it(_: Msg) -> None:
        raise ConnectionRefusedError("connection refused")

    spec = ConsumerSpec(durable="kit-outage-long", subject=Evt.CASE_OPENED,
                        handle=never_reaches_it, max_attempts=2, backoff=(0.05,) * 2,
                        ack_wait=1.0, outage_patience=0.5)
    await js.publish(Evt.CASE_OPENED, b"1")
    await run_consumer(js, spec, lambda: dlq_messages(js))
    msg = await js.get_msg(DLQ_STREAM, seq=1)
    assert msg.headers is not None
    assert msg.headers["Suara-Reason"] == "ConnectionRefusedError"


async def test_permanent_failure_skips_retries(js: JetStreamContext) -> None:
    deliveries: list[int] = []

    async def refuses(msg: Msg) -> None:
        deliveries.append(msg.metadata.num_delivered)
        raise PermanentFailure("schema from the future")

    spec = ConsumerSpec(durable="kit-permanent", subject=Evt.CASE_OPENED, handle=refuses,
                        backoff=(0.05,) * 4)
    await js.publish(Evt.CASE_OPENED, b"{}", headers={"Nats-Msg-Id": "evt-2"})
    await run_consumer(js, spec, lambda: dlq_messages(js))
    await asyncio.sleep(0.3)
    assert deliveries == [1]
    msg = await js.get_msg(DLQ_STREAM, seq=1)
    assert msg.headers is not None
    assert msg.headers["Suara-Reason"] == "schema from the future"


async def test_successful_handler_acks(js: JetStreamContext) -> None:
    handled: list[bytes] = []

    async def ok(msg: Msg) -> None:
        handled.append(msg.data)

    spec = ConsumerSpec(durable="kit-ok", subject=Evt.CASE_OPENED, handle=ok)
    await js.publish(Evt.CASE_OPENED, b"one")
    await js.publish(Evt.CASE_OPENED, b"two")
    await run_consumer(js, spec, lambda: settled(js, "kit-ok", 2))
    assert handled == [b"one", b"two"]
    assert await dlq_messages(js) == 0


async def test_a_parallel_consumer_handles_a_batch_at_once_and_acks_each(
        js: JetStreamContext) -> None:
    in_flight, most, handled = 0, 0, []
    all_in = asyncio.Event()

    async def slow(msg: Msg) -> None:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        if most >= 4:
            all_in.set()
        await asyncio.wait_for(all_in.wait(), 5)  # only when four run together does any end
        if msg.data == b"bad":
            in_flight -= 1
            raise PermanentFailure("unreadable")
        handled.append(msg.data)
        in_flight -= 1

    spec = ConsumerSpec(durable="kit-parallel", subject=Evt.CASE_OPENED, handle=slow,
                        parallel=4)
    for data in (b"1", b"2", b"bad", b"4", b"5", b"6"):
        await js.publish(Evt.CASE_OPENED, data)
    await run_consumer(js, spec, lambda: settled(js, "kit-parallel", 6))
    assert most == 4  # never more than `parallel`
    assert sorted(handled) == [b"1", b"2", b"4", b"5", b"6"]
    assert await dlq_messages(js) == 1


async def test_connect_takes_the_nodes_of_a_cluster(nats_url: str) -> None:
    down = f"nats://127.0.0.1:{free_port()}"  # a node that is away: the next one is used
    nc = await connect(f"{down}, {nats_url}", "kit-test")
    try:
        assert nc.is_connected
        assert nc.connected_url is not None
        assert nc.connected_url.port == int(nats_url.rsplit(":", 1)[1])
    finally:
        await nc.close()
    assert servers(nats_url) == [nats_url]
    with pytest.raises(ValueError, match="no server"):
        servers(" , ")


# request-reply
@pytest.fixture
async def serve(nc: Client) -> AsyncIterator[Callable[..., Awaitable[str]]]:
    """Serve one typed handler on a subject under SUBJECT; returns the subject."""
    service = await add_service(nc, name="kit_test", version="1.0.0")

    async def add(name: str, model: type[BaseModel],
                  handler: Callable[[BaseModel], Awaitable[BaseModel]]) -> str:
        subject = f"{SUBJECT}.{name}"
        await service.add_endpoint(name=name, subject=subject, handler=endpoint(model, handler),
                                   queue_group="q")
        return subject

    yield add
    await service.stop()


async def test_call_with_nobody_serving_is_unavailable(nc: Client) -> None:
    with pytest.raises(Unavailable) as info:
        await call(nc, f"{SUBJECT}.nobody", FormQuery(), Health, timeout=2)
    assert info.value.status == 503
    assert info.value.problem()["type"].endswith("/unavailable")


async def test_call_returns_the_typed_reply(nc: Client, serve: Callable[..., Awaitable[str]]
                                            ) -> None:
    async def health(query: FormQuery) -> Health:
        return Health(service=query.language, database="ok")

    subject = await serve("health", FormQuery, health)
    assert await call(nc, subject, FormQuery(language="th"), Health) == Health(service="th",
                                                                              database="ok")


async def test_conflict_crosses_the_wire_as_conflict(nc: Client,
                                                     serve: Callable[..., Awaitable[str]]) -> None:
    async def clash(_: FormQuery) -> Health:
        raise Conflict("A case that is 'acknowledged' cannot become 'acknowledged'.",
                       current="acknowledged")

    subject = await serve("clash", FormQuery, clash)
    with pytest.raises(Conflict) as info:
        await call(nc, subject, FormQuery(), Health)
    assert info.value.status == 409
    assert info.value.detail == "A case that is 'acknowledged' cannot become 'acknowledged'."
    assert info.value.extra == {"current": "acknowledged"}


async def crash(_: FormQuery) -> Health:
    raise RuntimeError(SECRET)  # e.g. a DB error quoting bound parameters: a worker's words


async def test_unexpected_error_is_a_500_without_details(
        nc: Client, serve: Callable[..., Awaitable[str]]) -> None:
    subject = await serve("crash", FormQuery, crash)
    with pytest.raises(SuaraError) as info:
        await call(nc, subject, FormQuery(), Health)
    assert type(info.value) is SuaraError
    assert info.value.status == 500
    assert SECRET not in str(info.value.problem())


async def test_unexpected_error_message_is_not_logged(
        nc: Client, serve: Callable[..., Awaitable[str]], caplog: pytest.LogCaptureFixture) -> None:
    subject = await serve("crash", FormQuery, crash)
    with pytest.raises(SuaraError):
        await call(nc, subject, FormQuery(), Health)
    assert "RuntimeError" in caplog.text
    assert SECRET not in caplog.text


async def test_invalid_json_is_422_without_echo(nc: Client,
                                                serve: Callable[..., Awaitable[str]]) -> None:
    async def never(_: StatusQuery) -> Health:
        raise AssertionError("must not run")

    subject = await serve("status", StatusQuery, never)
    raw = ('{"reference": "SU-AAAA-BBBB", "receipt": "' + SECRET).encode()
    reply = await nc.request(subject, raw, timeout=5)
    assert reply.headers is not None
    assert reply.headers["Nats-Service-Error-Code"] == "422"
    body = json.loads(reply.data)
    assert body["status"] == 422
    assert body["type"].endswith("/validation")
    assert SECRET not in reply.data.decode()
    assert "SU-AAAA-BBBB" not in reply.data.decode()


async def test_invalid_fields_come_back_to_call_as_validation_failed(
        nc: Client, serve: Callable[..., Awaitable[str]]) -> None:
    async def never(_: StatusQuery) -> Health:
        raise AssertionError("must not run")

    subject = await serve("status", StatusQuery, never)
    # values out of bounds (unknown fields are ignored: readers are tolerant)
    bad = StatusQuery.model_construct(reference="SU-AAAA-BBBB" * 3, receipt=SECRET * 2)
    with pytest.raises(ValidationFailed) as info:
        await call(nc, subject, bad, Health)
    assert info.value.status == 422
    fields = {e["field"] for e in info.value.extra["errors"]}
    assert fields == {"reference", "receipt"}
    assert SECRET not in json.dumps(info.value.problem())
    assert "SU-AAAA-BBBB" not in json.dumps(info.value.problem())


async def test_two_poison_messages_without_msg_id_both_reach_the_dlq(js: JetStreamContext) -> None:
    async def refuses(_: Msg) -> None:
        raise PermanentFailure("unreadable")

    spec = ConsumerSpec(durable="kit-anon-poison", subject=Evt.CASE_OPENED, handle=refuses)
    await js.publish(Evt.CASE_OPENED, b"first")
    await js.publish(Evt.CASE_OPENED, b"second")
    await run_consumer(js, spec, lambda: settled(js, "kit-anon-poison", 2))
    assert await dlq_messages(js) == 2


async def test_a_deployed_consumer_takes_the_new_ack_wait_when_its_service_starts(
        js: JetStreamContext) -> None:
    """The ack wait went from 30 s to 10 s: a durable consumer created by an older release is
    updated in place by `ensure`, not refused as one that exists with another configuration."""
    async def ignore(_: Msg) -> None:
        return None

    older = ConsumerSpec(durable="kit-ack-wait", subject=Evt.CASE_OPENED, handle=ignore,
                         ack_wait=30.0)
    await DurableConsumer(js, older).ensure()
    assert (await js.consumer_info(EVENTS_STREAM, "kit-ack-wait")).config.ack_wait == 30.0
    current = ConsumerSpec(durable="kit-ack-wait", subject=Evt.CASE_OPENED, handle=ignore)
    assert current.ack_wait == 10.0
    await DurableConsumer(js, current).ensure()
    assert (await js.consumer_info(EVENTS_STREAM, "kit-ack-wait")).config.ack_wait == 10.0
