"""Case-management's consumer of submissions, running: events handled in batches."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from uuid import UUID

import nats
from sqlmodel import select

from suara_cases.handlers import build
from suara_cases.models import Case
from suara_cases.settings import CasesSettings
from suara_contracts.events import Envelope, SubmissionReceived
from suara_contracts.subjects import EVENTS_STREAM, Evt
from suara_kit.clock import utcnow
from suara_kit.ids import uuid7
from suara_kit.messaging import ensure_streams
from suara_kit.outbox import seal_payload
from suara_kit.service import ServiceApp, events_sealer
from suara_kit.testing import eventually


def received(submission_id: UUID, reference: str) -> SubmissionReceived:
    return SubmissionReceived(
        submission_id=submission_id, reference=reference, organisation="tenaganita",
        form_version="v1", language="en", risk="normal", risk_reasons=[],
        received_on=date(2026, 11, 2), answers={"what_happened": "unpaid"})


async def publish(app: ServiceApp, events: list[SubmissionReceived]) -> None:
    nc = await nats.connect(app.settings.nats_url)
    js = nc.jetstream()
    await ensure_streams(js)
    sealer = events_sealer(app.settings)
    for event in events:
        event_id = uuid7()  # each a distinct event, as a producer publishing twice makes
        envelope = Envelope[SubmissionReceived](id=event_id, type=Evt.SUBMISSION_RECEIVED,
                                                source="/suara/intake", time=utcnow(),
                                                data=event).model_dump_json()
        await js.publish(Evt.SUBMISSION_RECEIVED,
                         seal_payload(sealer, Evt.SUBMISSION_RECEIVED, envelope).encode(),
                         headers={"Nats-Msg-Id": str(event_id)})
    await nc.close()


async def test_a_batch_opens_one_case_per_submission_even_when_one_comes_twice(
        nats_url: str, database_url: Callable[..., str], tmp_path: Path) -> None:
    """Five submissions wait for case-management, one of them twice under two event ids: the
    batch holding both fails on the unique submission, and the events handled one by one
    open one case each."""
    app = build(CasesSettings(database_url=database_url("cases"), nats_url=nats_url,
                              var_dir=tmp_path, env="test"))
    submissions = [uuid7() for _ in range(5)]
    events = [received(s, f"SU-0000-000{n}") for n, s in enumerate(submissions)]
    await publish(app, [*events, events[2]])
    await app.start()
    try:
        async def opened() -> list[UUID] | None:
            async with app.db.transaction() as session:
                found = [c.submission_id for c in (await session.exec(select(Case))).all()]
            return found if len(found) >= 5 else None

        async def settled() -> bool:
            assert app.nc is not None
            info = await app.nc.jetstream().consumer_info(EVENTS_STREAM,
                                                          "cases-submission-received")
            return info.num_pending == 0 and info.num_ack_pending == 0

        await eventually(opened, timeout=15)
        await eventually(settled, timeout=15)
        async with app.db.transaction() as session:
            cases = (await session.exec(select(Case))).all()
        assert sorted(c.submission_id for c in cases) == sorted(submissions)
        assert app.consumed["cases-submission-received"] == 6

        # a later batch carries a submission whose case is open already (under a new event
        # id) and a new one: the batch, which looks nothing up, fails on the constraint; one
        # by one, the known one is skipped and the new one opened
        late = uuid7()
        await publish(app, [events[1], received(late, "SU-0000-0009")])

        async def all_seen() -> bool:
            return app.consumed["cases-submission-received"] == 8 and await settled()
        await eventually(all_seen, timeout=15)
        async with app.db.transaction() as session:
            cases = (await session.exec(select(Case))).all()
        assert sorted(c.submission_id for c in cases) == sorted([*submissions, late])
    finally:
        await app.stop()
