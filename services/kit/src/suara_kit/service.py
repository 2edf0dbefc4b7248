"""One call wires a service: settings, logging, tracing, database and migrations, NATS
endpoints, the outbox relay and durable consumers. Each service's entry point stays short."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import json
import logging
import os
import signal
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TypeVar
from uuid import UUID

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.micro import add_service
from nats.micro.service import EndpointStats, Service
from pydantic import BaseModel, ValidationError
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_contracts.rpc import Health, HealthQuery
from suara_kit import migrate, replay, telemetry
from suara_kit.clock import utcnow
from suara_kit.db import BATCH, Database
from suara_kit.errors import Conflict, RefusedAfterCommit
from suara_kit.groupcommit import GroupCommit
from suara_kit.logs import configure_logging
from suara_kit.messaging import (
    Concurrency,
    ConsumerSpec,
    DurableConsumer,
    PermanentFailure,
    connect,
    endpoint,
    ensure_streams,
)
from suara_kit.outbox import InboxRow, OutboxRelay, OutboxRow, add_event, parse_payload
from suara_kit.replay import ReplayKey, ReplayRow
from suara_kit.sealing import Sealer, SealError
from suara_kit.settings import ServiceSettings

log = logging.getLogger(__name__)
D = TypeVar("D", bound=BaseModel)
EVENTS_INFO = b"suara-events-v1"
Req = TypeVar("Req", bound=BaseModel)
Rep = TypeVar("Rep", bound=BaseModel)
T = TypeVar("T")
PARALLEL = 16  # events at once, for consumers of independent events (one per submission or case)


@dataclass
class _Keeping:
    """A run of a handler that keeps its reply in its own transaction (`keep_reply`)."""

    key: ReplayKey
    kept: bool = False


_keeping: contextvars.ContextVar[_Keeping | None] = contextvars.ContextVar("suara_keeping",
                                                                           default=None)


def events_sealer(settings: ServiceSettings) -> Sealer:
    """The sealer of event payloads, from the events key every service shares."""
    return Sealer(settings.events_key.get_secret_value(),
                  [k.get_secret_value() for k in settings.events_previous_keys],
                  info=EVENTS_INFO)


DATABASE_CHECK_SECONDS = 5.0


def micro_name(service: str) -> str:
    """A service's name as NATS micro knows it (`$SRV.*.<name>`): case_management."""
    return service.replace("-", "_")


def instance_file(service: str) -> Path:
    """Where a service's process writes its instance id unless SUARA_INSTANCE_FILE says: in
    the temporary directory, which in a container is the container's own."""
    return Path(tempfile.gettempdir()) / f"suara-{service}.instance"


def _write_instance(path: Path, name: str, instance: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps({"service": name, "id": instance}))
    partial.replace(path)


GC_THRESHOLD = (20_000, 20, 50)


def settle_garbage_collector() -> None:
    """After start: move what is alive now (modules, models, compiled statements) out of the
    collector's sight, and collect the youngest objects every 20,000 allocations instead of
    700. A service allocates thousands of short-lived objects per event (models, rows,
    statements); with the default the collector ran on every few events and walked the whole
    heap often. SUARA_GC=default keeps Python's settings."""
    if os.environ.get("SUARA_GC", "tuned") == "default":
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


class ServiceApp:
    """A running Suara service. Register endpoints and consumers, then `start()` or `run()`."""

    def __init__(self, name: str, settings: ServiceSettings, *, migrations: Path,
                 outbox: type[OutboxRow], inbox: type[InboxRow], replays: type[ReplayRow],
                 rpc_prefix: str) -> None:
        self.name, self.settings = name, settings
        self.migrations, self.outbox_model, self.inbox_model = migrations, outbox, inbox
        self.replay_model = replays
        self.rpc_prefix = rpc_prefix
        self.source = f"/suara/{name}"
        self.db = Database(settings.resolved_database_url(), settings.database_pool_size)
        self.events_sealer = events_sealer(settings)
        self._endpoints: dict[str, Callable[[object], Awaitable[None]]] = {}
        self._concurrency = Concurrency(settings.rpc_concurrency)
        self._consumer_specs: list[ConsumerSpec] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._consumers: list[DurableConsumer] = []
        self.consumed: Counter[str] = Counter()  # events handled in this process, per consumer
        self.nc: Client | None = None
        self.relay: OutboxRelay | None = None
        self._micro: Service | None = None
        self._on_start: list[Callable[[], Awaitable[None]]] = []
        self._periodic: list[tuple[str, float, Callable[[], Awaitable[None]]]] = []
        self._background: list[tuple[str, Callable[[], Awaitable[None]],
                                     Callable[[], Awaitable[None]] | None]] = []
        self.rpc(f"{rpc_prefix}.health", HealthQuery, self._health)
        self.every(3600, "rpc-replay-purge", self.purge_replays)
        self.grouped = GroupCommit(self.db, after_commit=self._wake_relay,
                                   max_members=settings.rpc_concurrency)
        self._database_reached = time.monotonic()  # set again by `_check_database`
        self._database_away_logged = False
        self.every(DATABASE_CHECK_SECONDS, "database-check", self._check_database)

    # registration
    def transactional(self, rule: Callable[[AsyncSession, Req], Awaitable[Rep]]
                      ) -> Callable[[Req], Awaitable[Rep]]:
        """An RPC handler running `rule(session, request)` in one transaction (its events
        go out through the outbox). A `RefusedAfterCommit` from the rule commits what the
        rule wrote before refusing, e.g. the audit entry of a refused read."""
        async def handle(request: Req) -> Rep:
            refused: RefusedAfterCommit | None = None
            async with self.transaction() as session:
                try:
                    return await rule(session, request)
                except RefusedAfterCommit as refusal:
                    refused = refusal
            raise refused.error
        return handle

    def rpc(self, subject: str, model: type[Req],
            handler: Callable[[Req], Awaitable[BaseModel]], *,
            reply_in_transaction: bool = False) -> None:
        """Serve `subject` (under this service's versioned prefix) with a typed handler. A
        request carrying a replay key runs at most once per key (`suara_kit.replay`).

        With `reply_in_transaction`, the handler does all its work in one transaction and
        calls `keep_reply` in it: the reply is then kept with the work, atomically, and no
        claim is held while it runs. A run that dies before its commit leaves nothing (a
        retry runs at once), one that dies after it leaves its reply (a retry gets it), and of
        two twins running at once only one commits (the other gets its reply)."""
        if not subject.startswith(self.rpc_prefix + "."):
            raise ValueError(f"{subject} is outside {self.rpc_prefix}")
        wrapped = (self._kept_with_work(handler) if reply_in_transaction
                   else self._replayable(handler))
        self._endpoints[subject] = endpoint(model, wrapped,  # type: ignore[assignment]
                                            self._concurrency)

    def keep_reply(self, session: AsyncSession, reply: BaseModel) -> None:
        """In the transaction of a handler served with `reply_in_transaction`: keep `reply`
        for the request's replay key, so it commits with the work (nothing without a key)."""
        keeping = _keeping.get()
        if keeping is None or keeping.kept:
            return
        session.add(self.replay_model(id=keeping.key.id, claimed_at=utcnow(),
                                      reply=keeping.key.seal(reply.model_dump_json().encode())))
        keeping.kept = True

    def _kept_with_work(self, handler: Callable[[Req], Awaitable[BaseModel]]
                        ) -> Callable[[Req], Awaitable[BaseModel | bytes]]:
        async def handle(request: Req) -> BaseModel | bytes:
            key = replay.received()
            if key is None:
                return await handler(request)
            stored = await self._stored(key)
            if stored is not None:
                return stored
            keeping = _Keeping(key)
            token = _keeping.set(keeping)
            try:
                reply = await handler(request)
            except IntegrityError:  # a twin committed first (or another constraint failed)
                stored = await self._stored(key)
                if stored is None:
                    raise
                return stored
            finally:
                _keeping.reset(token)
            if not keeping.kept:  # the handler did not keep it: keep it now
                try:
                    async with self.db.transaction() as session:
                        self.keep_reply(session, reply)
                except IntegrityError:
                    pass
            return reply
        return handle

    async def _stored(self, key: ReplayKey) -> bytes | None:
        """The reply kept for `key`, or None. A claim without a reply (a run of the claiming
        kind, from before an upgrade) is a Conflict until it is abandoned, then forgotten."""
        async with self.db.transaction() as session:
            row = await session.get(self.replay_model, key.id)
            if row is None:
                return None
            if row.reply is not None:
                return self._open(key, row.reply)
            if (utcnow() - row.claimed_at).total_seconds() <= replay.ABANDONED_AFTER:
                raise replay.in_flight()
            await session.delete(row)
        return None

    @staticmethod
    def _open(key: ReplayKey, reply: str) -> bytes:
        try:
            return key.open(reply)
        except (SealError, ValueError):
            raise Conflict("The answer kept for this Idempotency-Key can no longer be read; "
                           "send a new key.", reason="idempotency-unreadable") from None

    # one run per replay key
    def _replayable(self, handler: Callable[[Req], Awaitable[BaseModel]]
                    ) -> Callable[[Req], Awaitable[BaseModel | bytes]]:
        async def handle(request: Req) -> BaseModel | bytes:
            key = replay.received()
            if key is None:
                return await handler(request)
            stored = await self._claim(key)
            if stored is not None:
                return stored
            try:
                reply = await handler(request)
            except BaseException:
                await self._release(key)
                raise
            data = reply.model_dump_json().encode()
            async with self.db.transaction() as session:
                row = await session.get(self.replay_model, key.id)
                if row is not None:
                    row.reply = key.seal(data)
            return data
        return handle

    async def _claim(self, key: ReplayKey) -> bytes | None:
        """Hold `key` for this run (None), or the reply a finished run stored; a Conflict
        while another run holds it."""
        now = utcnow()
        try:
            async with self.db.transaction() as session:
                row = await session.get(self.replay_model, key.id)
                if row is None:
                    session.add(self.replay_model(id=key.id, claimed_at=now))
                    return None
                if row.reply is not None:
                    return self._open(key, row.reply)
                if (now - row.claimed_at).total_seconds() > replay.ABANDONED_AFTER:
                    row.claimed_at = now  # its run died: this one takes over
                    return None
        except IntegrityError:
            pass  # a twin claimed it a moment ago
        raise replay.in_flight()

    async def _release(self, key: ReplayKey) -> None:
        try:
            async with self.db.transaction() as session:
                row = await session.get(self.replay_model, key.id)
                if row is not None and row.reply is None:
                    await session.delete(row)
        except Exception as exc:  # the claim then frees itself after ABANDONED_AFTER
            log.warning("replay: could not release a claim: %s", type(exc).__name__)

    async def purge_replays(self) -> int:
        """Forget replay rows claimed more than a day ago (the gateway forgets its keys then
        too); the number removed."""
        model = self.replay_model
        cutoff = utcnow() - timedelta(hours=replay.KEEP_HOURS)
        async with self.db.transaction() as session:
            result = await session.exec(delete(model).where(col(model.claimed_at) < cutoff))
        return int(result.rowcount or 0)

    def on_event(self, subject: str, model: type[D], durable: str,
                 handler: Callable[[AsyncSession, UUID, D], Awaitable[None]],
                 parallel: int = 1, batch: bool = False) -> None:
        """Consume `subject` durably; `handler` runs once per event id, in a transaction.
        `parallel` > 1 handles that many events at once, for events independent of each other
        (e.g. one per case): a handler must then not rely on the order of its events.

        With `batch`, the events of one fetch (up to 50, as many as are waiting) are handled
        in order in one transaction, one commit for all: for busy consumers, where a
        transaction per event is most of the cost. If any of them fails, the transaction is
        rolled back and each event is handled alone in its own, so a bad event is retried or
        dead-lettered by itself."""
        one = self._idempotent(durable, model, handler)
        together = self._idempotent_batch(durable, model, handler) if batch else None
        self._consumer_specs.append(
            ConsumerSpec(durable=durable, subject=subject, parallel=parallel,
                         handle=self._counted(durable, one),
                         handle_batch=self._counted_batch(durable, together)
                         if together else None))

    def _counted_batch(self, durable: str, handle: Callable[[list[Msg]], Awaitable[None]]
                       ) -> Callable[[list[Msg]], Awaitable[None]]:
        async def counted(msgs: list[Msg]) -> None:
            await handle(msgs)
            self.consumed[durable] += len(msgs)
        return counted

    def _counted(self, durable: str, handle: Callable[[Msg], Awaitable[None]]
                 ) -> Callable[[Msg], Awaitable[None]]:
        async def counted(msg: Msg) -> None:
            await handle(msg)
            self.consumed[durable] += 1
        return counted

    def _stats(self, endpoint: EndpointStats) -> dict[str, object] | None:
        """What this process adds to `$SRV.STATS.<service>` (each replica answers for itself):
        on the health endpoint, how many events each durable consumer handled here (counts
        only), so an operator sees how replicas share the events."""
        if endpoint.subject != f"{self.rpc_prefix}.health":
            return None
        return {"consumed": dict(self.consumed),
                "database_reached_seconds_ago": round(time.monotonic()
                                                      - self._database_reached, 1)}

    async def _check_database(self) -> None:
        """Note when this replica last reached its database (its probe reads it)."""
        try:
            await self.db.ping()
        except Exception as exc:
            if not self._database_away_logged:
                log.warning("%s cannot reach its database (%s)", self.name, type(exc).__name__)
                self._database_away_logged = True
            return
        self._database_reached = time.monotonic()
        self._database_away_logged = False

    def instance_file(self) -> Path:
        """Where this process writes its NATS micro instance id (see `suara_kit.probe`)."""
        return self.settings.instance_file or instance_file(self.name)

    def on_start(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run `hook` once the database is migrated, before any endpoint is served (e.g. to
        store seed data); it must be safe when several replicas run it at once."""
        self._on_start.append(hook)

    def background(self, name: str, run: Callable[[], Awaitable[None]],
                   drain: Callable[[], Awaitable[None]] | None = None) -> None:
        """Run `run()` while the service runs (a loop of its own, e.g. a delivery worker);
        at stop it is cancelled, then `drain()` is awaited so work in flight can finish."""
        self._background.append((name, run, drain))

    def every(self, seconds: float, name: str, job: Callable[[], Awaitable[None]]) -> None:
        """Run `job` every `seconds` while the service runs (first run after one interval).
        A failing run is logged and the next one happens anyway; every replica runs it, so
        the job must be safe to run concurrently."""
        self._periodic.append((name, seconds, job))

    async def _repeat(self, name: str, seconds: float,
                      job: Callable[[], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await job()
            except Exception:  # keep the schedule: the next run may succeed
                log.exception("periodic job %s failed", name)

    # transactions and events
    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A unit of work; committed events are handed to the relay right after commit."""
        async with self.db.transaction() as session:
            yield session
        self._wake_relay()

    async def in_group(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `work(session)` in a transaction shared with the work that arrives with it
        (`suara_kit.groupcommit`): for handlers whose work only stages rows and computes its
        reply, and may run twice (alone, when its group cannot commit). A reply kept with
        `keep_reply` is kept anew on each run."""
        keeping = _keeping.get()

        async def run(session: AsyncSession) -> T:
            if keeping is not None:
                keeping.kept = False
            return await work(session)

        if not self.settings.group_commit:
            async with self.transaction() as session:
                return await run(session)
        return await self.grouped.run(run)

    def _wake_relay(self) -> None:
        """Hand what was just committed to the relay (events go out at once)."""
        if self.relay:
            self.relay.wake()

    def emit(self, session: AsyncSession, subject: str, data: BaseModel) -> UUID:
        """Stage an event in the open transaction (outbox)."""
        return add_event(session, self.outbox_model, subject, data, self.source,
                         self.events_sealer)

    def _idempotent(self, durable: str, model: type[D],
                    handler: Callable[[AsyncSession, UUID, D], Awaitable[None]]
                    ) -> Callable[[Msg], Awaitable[None]]:
        inbox = self.inbox_model

        async def handle(msg: Msg) -> None:
            try:
                event_id, raw = parse_payload(msg.data, self.events_sealer, msg.subject)
                data = model.model_validate(raw)
            except (ValueError, KeyError, TypeError, ValidationError) as exc:
                raise PermanentFailure(f"unreadable event: {type(exc).__name__}") from None
            try:
                async with self.transaction() as session:
                    # insert first: an event seen before stops here (IntegrityError), before
                    # any work, and one seen for the first time costs no lookup
                    session.add(inbox(event_id=event_id, consumer=durable, handled_at=utcnow()))
                    await session.flush()
                    await handler(session, event_id, data)
            except IntegrityError:
                async with self.db.transaction() as session:
                    if await session.get(inbox, (event_id, durable)) is None:
                        raise
        return handle

    def _idempotent_batch(self, durable: str, model: type[D],
                          handler: Callable[[AsyncSession, UUID, D], Awaitable[None]]
                          ) -> Callable[[list[Msg]], Awaitable[None]]:
        """`_idempotent` for a batch: every event's inbox row, then every handler, in one
        transaction. An unreadable event or one seen before fails the whole batch, which the
        consumer then handles event by event (where those cases have their own answers)."""
        inbox = self.inbox_model

        async def handle(msgs: list[Msg]) -> None:
            events = []
            for msg in msgs:
                event_id, raw = parse_payload(msg.data, self.events_sealer, msg.subject)
                events.append((msg, event_id, model.model_validate(raw)))
            now = utcnow()
            async with self.transaction() as session:
                session.info[BATCH] = True  # see `suara_kit.db.in_batch`
                session.add_all([inbox(event_id=event_id, consumer=durable, handled_at=now)
                                 for _, event_id, _ in events])
                await session.flush()
                for msg, event_id, data in events:
                    headers = msg.headers or {}
                    with telemetry.consumer_span(msg.subject, headers,
                                                 headers.get("Nats-Msg-Id"), durable):
                        await handler(session, event_id, data)
        return handle

    async def _health(self, _: HealthQuery) -> Health:
        await self.db.ping()
        return Health(service=self.name, database="ok")

    # lifecycle
    async def start(self) -> None:
        """Migrate, connect, serve endpoints, start the relay and the consumers."""
        telemetry.setup_tracing(self.name, self.settings.otlp_endpoint)
        await migrate.upgrade_async(self.migrations, self.db.url)
        for hook in self._on_start:
            await hook()
        self.nc = await connect(self.settings.nats_url, self.name)
        js = self.nc.jetstream()
        await ensure_streams(js, self.settings.nats_replicas, self.settings.events_max_age_days)
        self.relay = OutboxRelay(self.db, self.outbox_model, js)
        self._tasks.append(asyncio.create_task(self.relay.run(), name=f"{self.name}-relay"))
        consumers = [DurableConsumer(js, spec) for spec in self._consumer_specs]
        await asyncio.gather(*(c.ensure() for c in consumers))  # one round trip, not one each
        for consumer in consumers:
            self._consumers.append(consumer)
            self._tasks.append(asyncio.create_task(consumer.run(), name=consumer.spec.durable))
        for name, seconds, job in self._periodic:
            self._tasks.append(asyncio.create_task(self._repeat(name, seconds, job), name=name))
        for name, run, _ in self._background:
            self._tasks.append(asyncio.create_task(run(), name=name))  # type: ignore[arg-type]
        self._micro = await add_service(self.nc, name=micro_name(self.name),
                                        version="1.0.0", description=f"Suara {self.name}",
                                        stats_handler=self._stats)
        for subject, handler in self._endpoints.items():
            await self._micro.add_endpoint(name=subject.replace(".", "_"), subject=subject,
                                           handler=handler, queue_group="q")
        self._database_reached = time.monotonic()  # migrated a moment ago
        _write_instance(self.instance_file(), micro_name(self.name), self._micro.id)
        log.info("%s ready: %d endpoints, %d consumers", self.name, len(self._endpoints),
                 len(self._consumers))

    async def stop(self) -> None:
        """Stop serving, finish in-flight work, close connections."""
        if self._micro:
            self.instance_file().unlink(missing_ok=True)
            await self._micro.stop()
        await self._concurrency.drain()
        if self.relay:
            self.relay.stop()
        for consumer in self._consumers:
            consumer.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for _, _, drain in self._background:
            if drain is not None:
                await drain()
        if self.nc:
            await self.nc.close()
        await self.db.dispose()
        telemetry.shutdown_tracing()

    def run(self) -> None:
        """Run until SIGINT or SIGTERM (the `python -m suara_<service>` entry point)."""
        configure_logging(self.name, self.settings.log_level)

        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await self.start()
            settle_garbage_collector()
            await stop.wait()
            await self.stop()

        asyncio.run(main())
