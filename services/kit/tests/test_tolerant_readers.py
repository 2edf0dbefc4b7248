"""Rolling upgrades against a real nats-server: a message from a newer producer, carrying a field
this version does not know, is read (the field ignored), never refused or dead-lettered."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.micro import add_service
from nats.micro.request import Request
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

import suara_intake.models as intake_models
from suara_contracts.events import CaseOpened, Envelope
from suara_contracts.rpc import FormQuery, Health
from suara_contracts.subjects import DLQ_STREAM, EVENTS_STREAM, Evt
from suara_intake.handlers import MIGRATIONS
from suara_intake.settings import IntakeSettings
from suara_kit.clock import utcnow
from suara_kit.ids import uuid7
from suara_kit.messaging import call, endpoint
from suara_kit.service import ServiceApp
from suara_kit.testing import eventually

SUBJECT = "suara.rpc.kittolerant.v1"


@pytest.fixture
async def app(nats_url: str, tmp_path: Path) -> AsyncIterator[ServiceApp]:
    settings = IntakeSettings(database_url=f"sqlite+aiosqlite:///{tmp_path}/svc.sqlite",
                              nats_url=nats_url, var_dir=tmp_path, env="test")
    tables: dict[str, Any] = {"outbox": intake_models.Outbox, "inbox": intake_models.Inbox}
    if hasattr(intake_models, "Replay"):  # the services' RPC replay table
        tables["replays"] = intake_models.Replay
    service = ServiceApp("kit-tolerant", settings, migrations=MIGRATIONS, rpc_prefix=SUBJECT,
                         **tables)
    yield service
    await service.stop()


def newer_case_opened(case_id: UUID, event_id: UUID) -> bytes:
    """A case.opened envelope as a newer producer writes it: an optional field added to the
    payload, and an attribute (a CloudEvents extension) added to the envelope."""
    data = CaseOpened(case_id=case_id, submission_id=uuid7(), reference="SU-AAAA-BBBB",
                      organisation="apmm", status="received", acknowledge_by=date(2026, 12, 1),
                      risk="high")
    envelope = json.loads(Envelope[CaseOpened](
        id=event_id, type=Evt.CASE_OPENED, source="/suara/cases", time=utcnow(),
        data=data).model_dump_json())
    envelope["data"]["handled_by_team"] = "north"
    envelope["partitionkey"] = "apmm"
    return json.dumps(envelope).encode()


async def test_an_event_with_a_field_added_later_is_handled_not_dead_lettered(
        app: ServiceApp, js: JetStreamContext) -> None:
    seen: list[tuple[UUID, CaseOpened]] = []

    async def handler(_: AsyncSession, event_id: UUID, data: CaseOpened) -> None:
        seen.append((event_id, data))

    app.on_event(Evt.CASE_OPENED, CaseOpened, "kit-tolerant", handler)
    await app.start()
    case_id, event_id = uuid7(), uuid7()
    await js.publish(Evt.CASE_OPENED, newer_case_opened(case_id, event_id),
                     headers={"Nats-Msg-Id": str(event_id)})

    async def handled() -> bool:
        info = await js.consumer_info(EVENTS_STREAM, "kit-tolerant")
        return bool(seen) and info.num_ack_pending == 0 and info.num_pending == 0

    await eventually(handled, timeout=10)
    [(got_id, data)] = seen
    assert got_id == event_id
    assert (data.case_id, data.risk, data.organisation) == (case_id, "high", "apmm")
    assert "handled_by_team" not in data.model_dump()
    async with app.db.transaction() as session:
        inbox = (await session.exec(select(intake_models.Inbox))).all()
    assert [(r.event_id, r.consumer) for r in inbox] == [(event_id, "kit-tolerant")]
    assert (await js.stream_info(DLQ_STREAM)).state.messages == 0


async def test_a_reply_with_a_field_added_later_is_read_by_the_caller(nc: Client) -> None:
    """An older gateway calling a newer service: `call` reads the reply it knows."""

    async def newer_service(req: Request) -> None:
        await req.respond(json.dumps({"service": "intake", "database": "ok",
                                      "uptime_seconds": 12}).encode())

    service = await add_service(nc, name="kit_tolerant_reply", version="1.0.0")
    try:
        await service.add_endpoint(name="health", subject=f"{SUBJECT}.health",
                                   handler=newer_service, queue_group="q")
        reply = await call(nc, f"{SUBJECT}.health", FormQuery(), Health, timeout=5)
    finally:
        await service.stop()
    assert reply == Health(service="intake", database="ok")


async def test_a_request_with_a_field_added_later_is_served(nc: Client) -> None:
    """An older service answering a newer caller: the endpoint reads the request it knows."""
    asked: list[FormQuery] = []

    async def form(query: FormQuery) -> Health:
        asked.append(query)
        return Health(service=query.language, database="ok")

    service = await add_service(nc, name="kit_tolerant_request", version="1.0.0")
    try:
        await service.add_endpoint(name="form", subject=f"{SUBJECT}.form",
                                   handler=endpoint(FormQuery, form), queue_group="q")
        raw = await nc.request(f"{SUBJECT}.form", json.dumps(
            {"language": "th", "version": 3, "audience": "assisted"}).encode(), timeout=5)
    finally:
        await service.stop()
    assert not (raw.headers or {}).get("Nats-Service-Error-Code"), raw.data
    assert asked == [FormQuery(language="th", version=3)]
    assert Health.model_validate_json(raw.data) == Health(service="th", database="ok")
