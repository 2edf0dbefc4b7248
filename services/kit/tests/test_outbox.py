"""The outbox relay against a real nats-server, with intake's tables as a concrete service."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlmodel import select

from suara_contracts.events import CaseOpened
from suara_contracts.subjects import EVENTS_STREAM, Evt
from suara_intake.handlers import MIGRATIONS
from suara_intake.models import Outbox
from suara_kit import telemetry
from suara_kit.db import Database
from suara_kit.ids import uuid7
from suara_kit.messaging import ensure_streams
from suara_kit.outbox import SEALED, OutboxRelay, add_event, parse_payload
from suara_kit.sealing import Sealer, SealError
from suara_kit.testing import eventually, migrated


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with migrated(MIGRATIONS, f"sqlite+aiosqlite:///{tmp_path}/intake.sqlite") as database:
        yield database


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    """A recording tracer for suara_kit.telemetry, without touching the global provider."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(telemetry, "tracer", lambda: provider.get_tracer("test"))
    yield exporter
    provider.shutdown()


def event() -> CaseOpened:
    return CaseOpened(case_id=uuid7(), submission_id=uuid7(), reference="SU-AAAA-BBBB",
                      organisation="apmm", status="received", acknowledge_by=date(2026, 12, 1))


async def stage(db: Database, data: CaseOpened | None = None) -> UUID:
    async with db.transaction() as session:
        return add_event(session, Outbox, Evt.CASE_OPENED, data or event(), "/suara/test")


async def rows(db: Database) -> list[Outbox]:
    async with db.transaction() as session:
        return list((await session.exec(select(Outbox).order_by(Outbox.id))).all())


async def stream_count(js: JetStreamContext) -> int:
    return int((await js.stream_info(EVENTS_STREAM)).state.messages)


async def test_add_event_stages_an_envelope(db: Database) -> None:
    data = event()
    event_id = await stage(db, data)
    [row] = await rows(db)
    assert (row.id, row.subject, row.published_at, row.attempts) == (event_id, Evt.CASE_OPENED,
                                                                     None, 0)
    body = json.loads(row.payload)
    assert (body["id"], body["type"], body["source"]) == (str(event_id), Evt.CASE_OPENED,
                                                          "/suara/test")
    assert parse_payload(row.payload.encode()) == (event_id, json.loads(data.model_dump_json()))


async def test_a_sealed_event_holds_nothing_readable_and_opens_only_on_its_subject(
        db: Database) -> None:
    sealer = Sealer("the-events-key-every-service-shares", info=b"suara-events-v1")
    data = event()
    async with db.transaction() as session:
        event_id = add_event(session, Outbox, Evt.CASE_OPENED, data, "/suara/test", sealer)
    [row] = await rows(db)
    assert row.payload.startswith(SEALED)
    for clear in ("SU-AAAA-BBBB", "apmm", str(data.case_id), Evt.CASE_OPENED):
        assert clear not in row.payload
    raw = row.payload.encode()
    assert parse_payload(raw, sealer, Evt.CASE_OPENED) == (
        event_id, json.loads(data.model_dump_json()))
    with pytest.raises(SealError):  # replayed on another subject
        parse_payload(raw, sealer, Evt.CASE_STATUS_CHANGED)
    with pytest.raises(SealError):  # a service without the key
        parse_payload(raw, None, Evt.CASE_OPENED)
    with pytest.raises(SealError):
        parse_payload(raw, Sealer("not-the-events-key-at-all", info=b"suara-events-v1"),
                      Evt.CASE_OPENED)
    with pytest.raises(SealError):
        parse_payload(SEALED.encode() + b"%%not base64%%", sealer, Evt.CASE_OPENED)
    unsealed = json.dumps({"id": str(event_id), "data": {"x": 1}}).encode()
    # an event staged before sealing began, still in flight, is still read
    assert parse_payload(unsealed, sealer, Evt.CASE_OPENED) == (event_id, {"x": 1})


async def test_relay_publishes_with_msg_id_and_stored_traceparent(
        db: Database, js: JetStreamContext, spans: InMemorySpanExporter) -> None:
    with telemetry.tracer().start_as_current_span("request", kind=SpanKind.SERVER) as request:
        event_id = await stage(db)
    [row] = await rows(db)
    ctx = request.get_span_context()
    assert row.traceparent is not None
    assert row.traceparent.split("-")[1:3] == [f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}"]

    relay = OutboxRelay(db, Outbox, js)
    assert await relay.publish_pending() == 1

    msg = await js.get_msg(EVENTS_STREAM, seq=1)
    assert msg.subject == Evt.CASE_OPENED
    assert msg.headers is not None
    assert msg.headers["Nats-Msg-Id"] == str(event_id)
    assert msg.data == row.payload.encode()
    producer = next(s for s in spans.get_finished_spans() if s.kind == SpanKind.PRODUCER)
    assert producer.parent is not None
    assert producer.parent.span_id == ctx.span_id
    assert producer.context.trace_id == ctx.trace_id
    assert msg.headers["traceparent"].split("-")[1:3] == [
        f"{ctx.trace_id:032x}", f"{producer.context.span_id:016x}"]
    assert producer.attributes is not None
    assert producer.attributes["messaging.message.id"] == str(event_id)

    [published] = await rows(db)
    assert published.published_at is not None
    assert await relay.publish_pending() == 0
    assert await stream_count(js) == 1


async def test_without_a_trace_no_traceparent_is_invented(
        db: Database, js: JetStreamContext, monkeypatch: pytest.MonkeyPatch) -> None:
    # tracing off, whatever provider an earlier test installed globally
    monkeypatch.setattr(telemetry, "tracer", lambda: trace.NoOpTracer())
    await stage(db)
    [row] = await rows(db)
    assert row.traceparent is None
    assert await OutboxRelay(db, Outbox, js).publish_pending() == 1
    msg = await js.get_msg(EVENTS_STREAM, seq=1)
    assert msg.headers is not None
    assert "traceparent" not in msg.headers


async def test_row_stays_pending_while_no_stream_acks(db: Database, nc: Client) -> None:
    event_id = await stage(db)
    relay = OutboxRelay(db, Outbox, nc.jetstream())
    assert await relay.publish_pending() == 0
    [row] = await rows(db)
    assert (row.published_at, row.attempts, row.last_error) == (None, 1, "NoStreamResponseError")

    js = nc.jetstream()
    await ensure_streams(js)
    assert await relay.publish_pending() == 1
    [row] = await rows(db)
    assert row.published_at is not None
    msg = await js.get_msg(EVENTS_STREAM, seq=1)
    assert msg.headers is not None
    assert msg.headers["Nats-Msg-Id"] == str(event_id)


async def test_lost_ack_keeps_the_row_and_the_retry_is_deduplicated(
        db: Database, js: JetStreamContext, monkeypatch: pytest.MonkeyPatch) -> None:
    await stage(db)
    real_publish = js.publish

    async def publish_then_lose_ack(*args: Any, **kwargs: Any) -> None:
        await real_publish(*args, **kwargs)
        raise TimeoutError("ack lost")

    monkeypatch.setattr(js, "publish", publish_then_lose_ack)
    relay = OutboxRelay(db, Outbox, js)
    assert await relay.publish_pending() == 0
    [row] = await rows(db)
    assert (row.published_at, row.attempts, row.last_error) == (None, 1, "TimeoutError")
    assert await stream_count(js) == 1

    monkeypatch.setattr(js, "publish", real_publish)
    assert await relay.publish_pending() == 1
    assert await stream_count(js) == 1
    [row] = await rows(db)
    assert row.published_at is not None


async def test_same_rows_published_twice_are_deduplicated(db: Database,
                                                       js: JetStreamContext) -> None:
    await stage(db)
    await stage(db)
    relay = OutboxRelay(db, Outbox, js)
    assert await relay.publish_pending() == 2
    async with db.transaction() as session:
        for row in (await session.exec(select(Outbox))).all():
            row.published_at = None
    assert await relay.publish_pending() == 2
    assert await stream_count(js) == 2


async def test_relay_publishes_in_batches(db: Database, js: JetStreamContext) -> None:
    for _ in range(5):
        await stage(db)
    relay = OutboxRelay(db, Outbox, js, batch=2)
    assert [await relay.publish_pending() for _ in range(4)] == [2, 2, 1, 0]
    assert await stream_count(js) == 5
    ids = [r.id for r in await rows(db)]
    published = [(await js.get_msg(EVENTS_STREAM, seq=n)).headers for n in range(1, 6)]
    assert [UUID(h["Nats-Msg-Id"]) for h in published if h] == ids


async def test_running_relay_is_woken_after_commit(db: Database, js: JetStreamContext) -> None:
    relay = OutboxRelay(db, Outbox, js, poll_interval=60)
    task = asyncio.create_task(relay.run())
    await asyncio.sleep(0.3)  # let the first pass find nothing: only wake() can publish now
    try:
        await stage(db)
        relay.wake()
        await eventually(lambda: stream_count(js), timeout=5)
        await eventually(lambda: _all_published(db), timeout=5)
    finally:
        relay.stop()
        await asyncio.wait_for(task, 5)


async def _all_published(db: Database) -> bool:
    return all(r.published_at is not None for r in await rows(db))
