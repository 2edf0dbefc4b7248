"""Restarting the notification service in the middle of a retry sequence loses nothing and
sends nothing twice: an event consumed from a real nats-server becomes a webhook, the partner's
endpoint fails once, the service stops and a new one starts on the same database, and the
retry goes out once, with the same `webhook-id`, signed so the independent `standardwebhooks`
package verifies it. A stop in the middle of a send lets it finish and records it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import nats
import nats.js.errors
from sqlmodel import select
from standardwebhooks.webhooks import Webhook

from suara_contracts.events import CaseOpened, Envelope
from suara_contracts.rpc import Actor
from suara_contracts.subjects import DLQ_STREAM, Evt, dlq_subject
from suara_contracts.webhooks import CreateWebhook
from suara_kit.clock import utcnow
from suara_kit.ids import uuid7
from suara_kit.outbox import parse_payload
from suara_kit.service import ServiceApp
from suara_kit.testing import eventually
from suara_notification import webhooks
from suara_notification.handlers import build
from suara_notification.models import Attempt, Notification, TeamAlert, WebhookEndpoint
from suara_notification.settings import NotificationSettings

ORG = "tenaganita"


def settings(database_url: str, nats_url: str, tmp_path: Path) -> NotificationSettings:
    return NotificationSettings(database_url=database_url, nats_url=nats_url,
                                var_dir=tmp_path, env="test", delivery_poll_seconds=0.1,
                                webhook_allow_networks=["127.0.0.0/8"])


async def subscribe(app: ServiceApp, url: str, config: NotificationSettings) -> str:
    partner = Actor(subject="svc-partner", roles=["cso-partner"], organisation=ORG,
                    client_id="partner-tenaganita")
    async with app.db.transaction() as session:
        created = await webhooks.create(
            session, CreateWebhook(actor=partner, url=url, event_types=["case.opened"]),
            sealer=webhooks.secret_sealer(config), allow_networks=config.webhook_allow_networks)
    return created.secret


async def publish_case_opened(nats_url: str) -> CaseOpened:
    event = CaseOpened(case_id=uuid7(), submission_id=uuid7(), reference="SU-REST-ART1",
                       organisation=ORG, status="received", acknowledge_by=date(2026, 12, 8))
    envelope = Envelope[CaseOpened](id=uuid7(), type=Evt.CASE_OPENED,
                                    source="/suara/case-management", time=utcnow(), data=event)
    nc = await nats.connect(nats_url)
    try:
        await nc.jetstream().publish(Evt.CASE_OPENED, envelope.model_dump_json().encode(),
                                     headers={"Nats-Msg-Id": str(envelope.id)})
    finally:
        await nc.close()
    return event


async def state_of(app: ServiceApp) -> tuple[list[Notification], list[Attempt]]:
    async with app.db.transaction() as session:
        rows = list((await session.exec(select(Notification))).all())
        attempts = list((await session.exec(select(Attempt).order_by(Attempt.number))).all())
    return rows, attempts


async def test_a_restart_between_retries_loses_nothing_and_sends_nothing_twice(
        nats_url: str, database_url: Callable[[str], str], tmp_path: Path, receiver) -> None:  # type: ignore[no-untyped-def]
    config = settings(database_url("notification"), nats_url, tmp_path)
    first = build(config)
    await first.start()
    try:
        secret = await subscribe(first, receiver.url, config)
        receiver.answer(503)  # the partner is down for the first try
        event = await publish_case_opened(nats_url)

        async def failed_once() -> bool:
            rows, attempts = await state_of(first)
            return len(attempts) == 1 and rows[0].state == "pending"
        await eventually(failed_once, timeout=15)
    finally:
        await first.stop()  # the retry is due in 5 s: the service is gone by then

    second = build(config)
    await second.start()
    try:
        async def sent() -> bool:
            rows, _ = await state_of(second)
            return rows[0].state == "sent"
        await eventually(sent, timeout=20)
        rows, attempts = await state_of(second)
        assert [(a.number, a.status, a.http_status) for a in attempts] == [
            (1, "failed", 503), (2, "sent", 200)]
        assert len(rows) == 1
        assert rows[0].attempts == 1

        await eventually(lambda: len(receiver.requests) == 2, timeout=5)
        ids = {r.headers["webhook-id"] for r in receiver.requests}
        assert ids == {f"msg_{rows[0].id}"}  # one message, retried: the same id
        delivered = receiver.requests[-1]
        payload = Webhook(secret).verify(delivered.body, delivered.headers)
        assert payload["type"] == "case.opened"
        assert payload["data"]["case_id"] == str(event.case_id)
        await second.deliverer.run_once()  # type: ignore[attr-defined]
        assert len(receiver.requests) == 2  # nothing more goes out
    finally:
        await second.stop()


async def test_a_stop_during_a_send_records_it_and_the_next_start_does_not_repeat_it(
        nats_url: str, database_url: Callable[[str], str], tmp_path: Path, receiver) -> None:  # type: ignore[no-untyped-def]
    config = settings(database_url("notification"), nats_url, tmp_path)
    first = build(config)
    await first.start()
    try:
        await subscribe(first, receiver.url, config)
        receiver.answer(200, delay=1.0)  # a slow partner
        await publish_case_opened(nats_url)

        async def in_flight() -> bool:  # the partner has the request and has not answered:
            # the row says "sending" already when it is claimed, before the request goes out
            rows, _ = await state_of(first)
            return bool(rows) and rows[0].state == "sending" and receiver.arrived == 1
        await eventually(in_flight, timeout=15)
    finally:
        await first.stop()  # while the request is in flight
    assert len(receiver.requests) == 1

    second = build(config)
    await second.start()
    try:
        rows, attempts = await state_of(second)
        assert rows[0].state == "sent"
        assert [a.status for a in attempts] == ["sent"]
        await second.deliverer.run_once()  # type: ignore[attr-defined]
        assert len(receiver.requests) == 1
    finally:
        await second.stop()


async def test_an_endpoint_that_answers_410_is_disabled_and_its_message_dead_lettered(
        nats_url: str, database_url: Callable[[str], str], tmp_path: Path, receiver) -> None:  # type: ignore[no-untyped-def]
    config = settings(database_url("notification"), nats_url, tmp_path)
    app = build(config)
    await app.start()
    nc = await nats.connect(nats_url)
    try:
        await subscribe(app, receiver.url, config)
        receiver.answer(410)
        await publish_case_opened(nats_url)

        async def dead() -> bool:
            rows, _ = await state_of(app)
            return bool(rows) and rows[0].state == "dead"
        await eventually(dead, timeout=15)
        rows, attempts = await state_of(app)
        assert [a.status for a in attempts] == ["gone"]  # no retry after a 410
        async with app.db.transaction() as session:
            [endpoint] = (await session.exec(select(WebhookEndpoint))).all()
            [alert] = (await session.exec(select(TeamAlert))).all()
        assert not endpoint.enabled
        assert "410" in (endpoint.disabled_reason or "")
        assert (alert.kind, alert.organisation) == ("delivery-failed", ORG)

        js = nc.jetstream()
        subject = dlq_subject("notification-delivery")

        async def parked() -> object:
            try:
                return await js.get_last_msg(DLQ_STREAM, subject)
            except nats.js.errors.NotFoundError:
                return None
        message = await eventually(parked, timeout=10)
        _, raw = parse_payload(message.data, app.events_sealer, subject)  # type: ignore[attr-defined]
        assert raw["notification_id"] == str(rows[0].id)
        assert (raw["channel"], raw["recipient_kind"], raw["topic"]) == (
            "webhook", "webhook", "case.opened")
        assert receiver.url not in message.data.decode("utf-8", "replace")
    finally:
        await nc.close()
        await app.stop()
