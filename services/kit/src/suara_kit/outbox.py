"""Transactional outbox and inbox: a state change and its event commit together; consumers
record each handled event id so redelivery does nothing twice."""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import json
import logging
import time
from datetime import datetime, timedelta
from uuid import UUID

from nats.js import JetStreamContext
from pydantic import BaseModel
from sqlalchemy import Text, delete, update
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_contracts.events import Envelope
from suara_kit import telemetry
from suara_kit.clock import utcnow
from suara_kit.db import Database, UTCDateTime, is_sqlite
from suara_kit.ids import uuid7
from suara_kit.sealing import Sealer, SealError

log = logging.getLogger(__name__)


class OutboxRow(SQLModel):
    """Mixin: declare `class Outbox(OutboxRow, Base, table=True)` in each service."""

    __tablename__ = "outbox"

    id: UUID = Field(primary_key=True)
    subject: str = Field(max_length=200)
    payload: str = Field(sa_type=Text)
    traceparent: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=200)


class InboxRow(SQLModel):
    """Mixin: declare `class Inbox(InboxRow, Base, table=True)`; (event, consumer) is unique."""

    __tablename__ = "inbox"

    event_id: UUID = Field(primary_key=True)
    consumer: str = Field(primary_key=True, max_length=100)
    handled_at: datetime = Field(sa_type=UTCDateTime)


SEALED = "suara-sealed-v1:"  # a sealed payload: this prefix, then base64 of the sealed envelope


def seal_payload(sealer: Sealer, subject: str, envelope_json: str) -> str:
    """An event's envelope sealed with the events key, bound to its subject (a payload copied
    onto another subject does not open). The outbox row and the stream hold only this."""
    sealed = sealer.seal(envelope_json.encode(), subject.encode())
    return SEALED + base64.b64encode(sealed).decode()


@functools.cache
def envelope_of(model: type[BaseModel]) -> type[Envelope]:  # type: ignore[type-arg]
    """`Envelope[model]`, built once: pydantic keeps its parametrised classes only weakly, so
    `Envelope[...]` written in place built a new class for every event (3 % of intake's CPU
    under load)."""
    return Envelope[model]  # type: ignore[valid-type]


def add_event(session: AsyncSession, outbox: type[OutboxRow], subject: str,
              data: BaseModel, source: str, sealer: Sealer | None = None) -> UUID:
    """Stage an event in the caller's transaction; the relay publishes it after commit. With
    a `sealer`, the payload is sealed (events carry case content while in flight)."""
    event_id = uuid7()
    now = utcnow()
    envelope = envelope_of(type(data))(id=event_id, type=subject, source=source, time=now,
                                       data=data)
    payload = envelope.model_dump_json()
    if sealer is not None:
        payload = seal_payload(sealer, subject, payload)
    session.add(outbox(id=event_id, subject=subject, payload=payload,
                       traceparent=telemetry.current_traceparent(), created_at=now))
    return event_id


class OutboxRelay:
    """Publishes committed outbox rows to JetStream with `Nats-Msg-Id` = event id."""

    def __init__(self, db: Database, outbox: type[OutboxRow], js: JetStreamContext, *,
                 batch: int = 200, poll_interval: float = 1.0, gather_delay: float = 0.005,
                 retention: timedelta = timedelta(days=1)) -> None:
        self.db, self.outbox, self.js = db, outbox, js
        self.batch, self.poll_interval, self.retention = batch, poll_interval, retention
        self.gather_delay = gather_delay
        self._wake = asyncio.Event()
        self._stopping = False
        self._next_purge = 0.0

    def wake(self) -> None:
        """Ask the relay to look for new rows now."""
        self._wake.set()

    async def run(self) -> None:
        """Loop until stopped: publish pending rows, then wait for a wake-up or the poll."""
        while not self._stopping:
            try:
                while await self.publish_pending():
                    pass
                if time.monotonic() >= self._next_purge:
                    await self._purge()
                    self._next_purge = time.monotonic() + 600
            except Exception as exc:  # keep relaying after DB or NATS hiccups
                log.warning("outbox relay pass failed: %s", type(exc).__name__)
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)
                await asyncio.sleep(self.gather_delay)  # let a burst's commits share one pass
            except TimeoutError:
                pass
            self._wake.clear()

    def stop(self) -> None:
        """Make `run` return after its current pass."""
        self._stopping = True
        self._wake.set()

    async def publish_pending(self) -> int:
        """Publish one batch; return how many rows were published.

        On PostgreSQL the rows stay locked (FOR UPDATE SKIP LOCKED) while they are published,
        so replicas never publish the same row twice. SQLite has one relay and one pooled
        connection: it claims, lets go of the connection while publishing, then marks.
        """
        if is_sqlite(self.db.url):
            async with self.db.transaction() as session:
                rows = await self._pending(session)
            results = await self._publish_all(rows)
            async with self.db.transaction() as session:
                return await self._mark(session, rows, results)
        async with self.db.transaction() as session:
            rows = await self._pending(session)
            return await self._mark(session, rows, await self._publish_all(rows))

    async def _pending(self, session: AsyncSession) -> list[OutboxRow]:
        row_cls = self.outbox
        stmt = (select(row_cls).where(col(row_cls.published_at).is_(None))
                .order_by(col(row_cls.id)).limit(self.batch).with_for_update(skip_locked=True))
        return list(await session.exec(stmt))

    async def _publish_all(self, rows: list[OutboxRow]) -> list[BaseException | None]:
        return await asyncio.gather(*(self._publish(r) for r in rows), return_exceptions=True)

    async def _mark(self, session: AsyncSession, rows: list[OutboxRow],
                    results: list[BaseException | None]) -> int:
        row_cls = self.outbox
        done = [r.id for r, res in zip(rows, results, strict=True) if res is None]
        failed = {r.id: type(res).__name__ for r, res in zip(rows, results, strict=True) if res}
        if done:
            await session.exec(update(row_cls).where(col(row_cls.id).in_(done))
                               .values(published_at=utcnow()))
        for row_id, error in failed.items():
            await session.exec(update(row_cls).where(col(row_cls.id) == row_id)
                               .values(attempts=col(row_cls.attempts) + 1, last_error=error))
        if rows and not done:
            log.warning("outbox relay: %d rows could not be published", len(rows))
        return len(done)

    async def _publish(self, row: OutboxRow) -> None:
        parent = telemetry.extract({"traceparent": row.traceparent} if row.traceparent else None)
        with telemetry.producer_span(row.subject, str(row.id), parent=parent):
            headers = telemetry.inject({"Nats-Msg-Id": str(row.id)})
            await self.js.publish(row.subject, row.payload.encode(), headers=headers, timeout=5)

    async def _purge(self) -> None:
        cutoff = utcnow() - self.retention
        async with self.db.transaction() as session:
            await session.exec(delete(self.outbox).where(
                self.outbox.published_at < cutoff))  # type: ignore[operator]


def open_payload(raw: bytes, sealer: Sealer | None, subject: str) -> bytes:
    """The envelope JSON of a payload: opened with the events key when it is sealed (a sealed
    payload without a key, or with the wrong subject, is a `SealError`, i.e. a ValueError)."""
    if not raw.startswith(SEALED.encode()):
        return raw
    if sealer is None:
        raise SealError("a sealed event, and no events key to open it")
    try:
        sealed = base64.b64decode(raw[len(SEALED):], validate=True)
    except binascii.Error:
        raise SealError("a sealed event that is not base64") from None
    return sealer.open(sealed, subject.encode())


def parse_payload(raw: bytes, sealer: Sealer | None = None,
                  subject: str = "") -> tuple[UUID, dict]:
    """The event id and data of an envelope, without trusting anything else in it; anything
    unreadable is a ValueError, KeyError or TypeError."""
    try:
        body = json.loads(open_payload(raw, sealer, subject))
    except RecursionError:
        raise ValueError("an envelope nested too deeply") from None
    return UUID(str(body["id"])), body["data"]
