"""Notification's rules against a real SQLite database built by its migrations."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from uuid import UUID

import pytest
from sqlmodel import select

from suara_contracts.events import ReporterMessage
from suara_contracts.rpc import InboxQuery
from suara_kit.clock import today
from suara_kit.datakeys import use_keys
from suara_kit.db import Database
from suara_kit.ids import uuid7
from suara_kit.testing import migrated
from suara_notification import service
from suara_notification.handlers import MIGRATIONS
from suara_notification.models import DataKeys, Delivery, StoredMessage
from suara_notification.settings import NotificationSettings


@pytest.fixture
async def db(database_url: Callable[[str], str]) -> AsyncIterator[Database]:
    async with migrated(MIGRATIONS, database_url("notification")) as database:
        use_keys(database, NotificationSettings(), DataKeys)
        yield database


def message(submission_id: UUID, body: str = "We have received your report.") -> ReporterMessage:
    return ReporterMessage(message_id=uuid7(), case_id=uuid7(), submission_id=submission_id,
                           organisation="apmm", body=body)


async def deliver(db: Database, event: ReporterMessage) -> bool:
    async with db.transaction() as session:
        return await service.deliver_to_inbox(session, event)


async def inbox_of(db: Database, submission_id: UUID) -> list[tuple[UUID, str]]:
    async with db.transaction() as session:
        box = await service.inbox(session, InboxQuery(submission_id=submission_id))
    return [(m.message_id, m.body) for m in box.messages]


async def test_message_handled_twice_is_stored_once(db: Database) -> None:
    event = message(uuid7())
    assert await deliver(db, event) is True
    assert await deliver(db, event) is False

    async with db.transaction() as session:
        stored = (await session.exec(select(StoredMessage))).all()
        deliveries = (await session.exec(select(Delivery))).all()
    assert [m.message_id for m in stored] == [event.message_id]
    assert stored[0].sent_on == today()
    assert [(d.message_id, d.channel, d.status) for d in deliveries] == [
        (event.message_id, "inbox", "delivered")]


async def test_inbox_returns_messages_oldest_first(db: Database) -> None:
    submission_id = uuid7()
    first, second = message(submission_id, "first"), message(submission_id, "second")
    await deliver(db, second)
    await deliver(db, first)
    assert await inbox_of(db, submission_id) == [(first.message_id, "first"),
                                                  (second.message_id, "second")]


async def test_other_submission_sees_nothing(db: Database) -> None:
    await deliver(db, message(uuid7()))
    assert await inbox_of(db, uuid7()) == []
