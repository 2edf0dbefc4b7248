"""The inbox's text is sealed with the report's data key; when case-management's retention
shreds the case, notification deletes that key: the messages stay, without their text."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import nats
import pytest
from sqlalchemy import text
from sqlmodel import select

from suara_contracts.events import CaseShredded, Envelope, ReporterFollowUp, ReporterMessage
from suara_contracts.rpc import Inbox, InboxQuery
from suara_contracts.subjects import Evt, Rpc
from suara_kit.clock import today, utcnow
from suara_kit.datakeys import use_keys
from suara_kit.db import Database
from suara_kit.ids import uuid7
from suara_kit.messaging import call
from suara_kit.testing import eventually, migrated
from suara_notification import content, service
from suara_notification.handlers import MIGRATIONS, build
from suara_notification.models import DataKeys, EventInbox, ShreddedReport, StoredMessage
from suara_notification.settings import NotificationSettings

MARKER = "Agensi masih menahan paspor Siti"
SHREDDED_ON = date(2031, 5, 1)


def with_ring(database: Database) -> Database:
    use_keys(database, NotificationSettings(), DataKeys)
    return database


@pytest.fixture
async def db(database_url: Callable[[str], str]) -> AsyncIterator[Database]:
    async with migrated(MIGRATIONS, database_url("notification")) as database:
        yield with_ring(database)


def to_reporter(submission_id: UUID, body: str = MARKER, asks: str | None = None
                ) -> ReporterMessage:
    return ReporterMessage(message_id=uuid7(), case_id=uuid7(), submission_id=submission_id,
                           organisation="apmm", body=body, asks=asks)  # type: ignore[arg-type]


def from_reporter(submission_id: UUID, text: str = MARKER, **extra: Any) -> ReporterFollowUp:
    return ReporterFollowUp(follow_up_id=uuid7(), submission_id=submission_id,
                            text=text, sent_on=today(), **{"kind": "reply", **extra})


async def conversation(db: Database, submission_id: UUID) -> None:
    async with db.transaction() as session:  # ids are time-ordered: the inbox's order
        await service.deliver_to_inbox(session, to_reporter(submission_id))
        await service.keep_follow_up(session, from_reporter(submission_id))
        asked = to_reporter(submission_id, asks="check-in")
        await service.deliver_to_inbox(session, asked)
        await service.keep_follow_up(session, from_reporter(
            submission_id, "yes", kind="check-in", answer="yes",
            answers_message=asked.message_id))


async def inbox(db: Database, submission_id: UUID) -> Inbox:
    async with db.transaction() as session:
        return await service.inbox(session, InboxQuery(submission_id=submission_id))


async def shred(db: Database, submission_id: UUID, on: date = SHREDDED_ON) -> bool:
    async with db.transaction() as session:
        return await service.case_shredded(session, submission_id, on)


async def raw_messages(db: Database) -> list[dict[str, Any]]:
    async with db.engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(text("SELECT * FROM reporter_message"))
                                  ).mappings()]


def assert_no_plaintext(rows: list[dict[str, Any]]) -> None:
    assert rows
    for row in rows:
        assert row["body"] is None  # the legacy plaintext column stays empty
        for value in row.values():
            if isinstance(value, bytes | bytearray | memoryview):
                assert MARKER.encode() not in bytes(value)
            else:
                assert MARKER not in str(value)


async def test_the_database_holds_no_plaintext_of_messages(db: Database) -> None:
    report = uuid7()
    await conversation(db, report)
    assert_no_plaintext(await raw_messages(db))
    if db.url.startswith("sqlite"):  # the whole file, free pages and all
        await db.dispose()
        with sqlite3.connect(db.url.split("///", 1)[1]) as plain:
            dump = "\n".join(plain.iterdump())
        assert "INSERT INTO \"reporter_message\"" in dump
        assert MARKER not in dump
    box = await inbox(db, report)
    assert [m.body for m in box.messages] == [MARKER, MARKER, MARKER, "yes"]
    assert [m.kind for m in box.messages] == ["message", "message", "check-in-question",
                                              "check-in-answer"]
    assert not any(m.deleted for m in box.messages)


async def test_after_shredding_the_inbox_shows_the_messages_without_their_text(
        db: Database) -> None:
    report, other = uuid7(), uuid7()
    await conversation(db, report)
    await conversation(db, other)
    assert await shred(db, report) is True

    box = await inbox(db, report)
    assert len(box.messages) == 4
    assert all(m.deleted and m.body == "" for m in box.messages)
    assert [(m.from_reporter, m.kind) for m in box.messages] == [
        (False, "message"), (True, "message"), (False, "check-in-question"),
        (True, "check-in-answer")]
    assert MARKER not in box.model_dump_json()
    async with db.transaction() as session:
        assert await session.get(DataKeys, report) is None
        assert await session.get(DataKeys, other) is not None
    untouched = await inbox(db, other)  # only this report's key went
    assert [m.body for m in untouched.messages][:2] == [MARKER, MARKER]

    # a message that was on its way when the case was shredded is kept without its text
    late = to_reporter(report, "written before the shredding")
    async with db.transaction() as session:
        assert await service.deliver_to_inbox(session, late) is True
        assert await service.keep_follow_up(session, from_reporter(report)) is True
    box = await inbox(db, report)
    assert len(box.messages) == 6
    assert all(m.deleted and m.body == "" for m in box.messages)
    async with db.transaction() as session:
        assert await session.get(DataKeys, report) is None  # no fresh key was made for it
        stored = await session.get(StoredMessage, late.message_id)
        assert stored is not None
        assert (stored.sealed_body, stored.legacy_body) == (None, None)


async def test_shredding_twice_is_harmless(db: Database) -> None:
    report = uuid7()
    await conversation(db, report)
    assert await shred(db, report) is True
    assert await shred(db, report, date(2031, 6, 1)) is False
    assert await shred(db, uuid7()) is True  # a report with no messages: remembered anyway
    async with db.transaction() as session:
        kept = await session.get(ShreddedReport, report)
    assert kept is not None
    assert kept.shredded_on == SHREDDED_ON
    assert all(m.deleted for m in (await inbox(db, report)).messages)


async def _legacy(db: Database, submission_id: UUID, body: str = MARKER) -> UUID:
    """A message as notification stored it before data keys: plaintext."""
    message_id = uuid7()
    async with db.transaction() as session:
        session.add(StoredMessage(message_id=message_id, submission_id=submission_id,
                                  legacy_body=body, sent_on=today()))
    return message_id


async def test_legacy_plaintext_is_sealed_at_start_by_replicas_racing(db: Database) -> None:
    report, gone = uuid7(), uuid7()
    for _ in range(3):
        await _legacy(db, report)
    await _legacy(db, gone)
    box = await inbox(db, report)  # readable before sealing too
    assert [m.body for m in box.messages] == [MARKER] * 3
    assert await shred(db, gone) is True  # its plaintext is erased, not sealed
    assert MARKER in str(await raw_messages(db))

    replicas = [with_ring(Database(db.url)) for _ in range(2)]
    try:
        if db.url.startswith("sqlite"):  # one writer: SQLite runs a single replica
            for replica in replicas:
                await content.seal_legacy(replica)
        else:
            await asyncio.gather(*(content.seal_legacy(r) for r in replicas))
    finally:
        for replica in replicas:
            await replica.dispose()
    await content.seal_legacy(db)  # every later start: nothing left to do

    assert_no_plaintext(await raw_messages(db))
    assert [m.body for m in (await inbox(db, report)).messages] == [MARKER] * 3
    assert [m.deleted for m in (await inbox(db, gone)).messages] == [True]
    async with db.transaction() as session:
        assert [k.owner_id for k in (await session.exec(select(DataKeys))).all()] == [report]


def _envelope(event: CaseShredded) -> tuple[UUID, bytes]:
    event_id = uuid7()
    envelope = Envelope[CaseShredded](id=event_id, type=Evt.CASE_SHREDDED,
                                      source="/suara/case-management", time=utcnow(), data=event)
    return event_id, envelope.model_dump_json().encode()


async def test_the_running_service_consumes_case_shredded(
        nats_url: str, database_url: Callable[[str], str], tmp_path: Path) -> None:
    url, report = database_url("notification"), uuid7()
    async with migrated(MIGRATIONS, url) as seeded:  # a message from before data keys
        legacy = await _legacy(with_ring(seeded), report)
    app = build(NotificationSettings(database_url=url, nats_url=nats_url, var_dir=tmp_path,
                                     env="test"))
    await app.start()
    nc = await nats.connect(nats_url)
    try:
        assert_no_plaintext(await raw_messages(app.db))  # sealed at start
        await conversation(app.db, report)
        query = InboxQuery(submission_id=report)
        before = await call(nc, Rpc.NOTIFICATION_INBOX, query, Inbox)
        assert before.messages[0].message_id == legacy
        assert before.messages[0].body == MARKER
        assert not any(m.deleted for m in before.messages)

        event = CaseShredded(case_id=uuid7(), submission_id=report, organisation="apmm",
                             shredded_on=SHREDDED_ON)
        js = nc.jetstream()
        ids = []
        for _ in range(2):  # case-management shredding it twice
            event_id, body = _envelope(event)
            ids.append(event_id)
            await js.publish(Evt.CASE_SHREDDED, body, headers={"Nats-Msg-Id": str(event_id)})

        async def handled() -> bool:
            async with app.db.transaction() as session:
                done = {(row.event_id, row.consumer)
                        for row in (await session.exec(select(EventInbox))).all()}
            return {(i, "notification-case-shredded") for i in ids} <= done

        await eventually(handled)
        after = await call(nc, Rpc.NOTIFICATION_INBOX, query, Inbox)
        assert len(after.messages) == 5
        assert all(m.deleted and m.body == "" for m in after.messages)
        assert MARKER not in after.model_dump_json()
    finally:
        await nc.close()
        await app.stop()
