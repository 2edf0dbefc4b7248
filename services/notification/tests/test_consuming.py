"""Notification's consumer of opened cases, running: events planned in batches."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from uuid import UUID

import nats
from sqlmodel import select

from suara_contracts.events import CaseOpened, Envelope
from suara_contracts.subjects import EVENTS_STREAM, Evt
from suara_kit.clock import utcnow
from suara_kit.ids import uuid7
from suara_kit.messaging import ensure_streams
from suara_kit.outbox import seal_payload
from suara_kit.service import ServiceApp, events_sealer
from suara_kit.testing import eventually
from suara_notification.handlers import build
from suara_notification.models import Notification, StaffRecipient
from suara_notification.settings import NotificationSettings

STAFF = ("handler-a", "handler-b")


def opened(case_id: UUID, n: int) -> CaseOpened:
    return CaseOpened(case_id=case_id, submission_id=uuid7(), reference=f"SU-0000-000{n}",
                      organisation="tenaganita", status="received",
                      acknowledge_by=date(2026, 12, 1))


async def publish(app: ServiceApp, events: list[tuple[UUID, CaseOpened]]) -> None:
    nc = await nats.connect(app.settings.nats_url)
    js = nc.jetstream()
    await ensure_streams(js)
    sealer = events_sealer(app.settings)
    for n, (event_id, event) in enumerate(events):
        envelope = Envelope[CaseOpened](id=event_id, type=Evt.CASE_OPENED,
                                        source="/suara/case-management", time=utcnow(),
                                        data=event).model_dump_json()
        await js.publish(Evt.CASE_OPENED,
                         seal_payload(sealer, Evt.CASE_OPENED, envelope).encode(),
                         headers={"Nats-Msg-Id": f"delivery-{n}"})
    await nc.close()


async def test_a_batch_of_opened_cases_tells_each_handler_once_per_case(
        nats_url: str, database_url: Callable[..., str], tmp_path: Path) -> None:
    """Five opened cases wait for notification, one event of them twice (published again,
    e.g. by a relay after a crash): each handler gets one email per case (the batch with the
    duplicate fails on the inbox and is planned event by event)."""
    app = build(NotificationSettings(database_url=database_url("notification"),
                                     nats_url=nats_url, var_dir=tmp_path, env="test"))
    await app.start()
    try:
        async with app.db.transaction() as session:
            for subject in STAFF:
                session.add(StaffRecipient(subject=subject, organisation="tenaganita",
                                           roles=["case-handler"],
                                           email=f"{subject}@example.org", updated_at=utcnow()))
        cases = [uuid7() for _ in range(5)]
        events = [(uuid7(), opened(case, n)) for n, case in enumerate(cases)]
        await publish(app, [*events, events[3]])

        async def settled() -> bool:
            assert app.nc is not None
            info = await app.nc.jetstream().consumer_info(EVENTS_STREAM,
                                                          "notification-case-opened")
            return (info.delivered.stream_seq >= 6 and info.num_pending == 0
                    and info.num_ack_pending == 0)

        await eventually(settled, timeout=15)
        async with app.db.transaction() as session:
            sent = (await session.exec(select(Notification).where(
                Notification.topic == "case-opened"))).all()
        told = sorted((n.recipient, n.params["case_id"]) for n in sent)
        assert told == sorted((f"staff:{s}", str(c)) for s in STAFF for c in cases)
        assert app.consumed["notification-case-opened"] == 6
    finally:
        await app.stop()
