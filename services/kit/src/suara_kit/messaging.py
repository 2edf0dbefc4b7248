"""NATS: connection, JetStream streams, request-reply endpoints and calls, durable consumers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError
from nats.micro.request import Request
from opentelemetry.trace import SpanKind
from pydantic import BaseModel, ValidationError

from suara_contracts.subjects import (
    DLQ_PREFIX,
    DLQ_STREAM,
    EVENTS_STREAM,
    EVENTS_SUBJECTS,
    dlq_subject,
)
from suara_kit import replay, telemetry
from suara_kit.db import CommitInDoubt, unreachable
from suara_kit.errors import SuaraError, Unavailable, ValidationFailed, error_from_problem

log = logging.getLogger(__name__)

ReqT = TypeVar("ReqT", bound=BaseModel)
RepT = TypeVar("RepT", bound=BaseModel)


def servers(url: str) -> list[str]:
    """The NATS servers a `SUARA_NATS_URL` names: one URL, or several separated by commas
    (the nodes of a cluster, so a process can start while one of them is down)."""
    found = [part.strip() for part in url.split(",") if part.strip()]
    if not found:
        raise ValueError("SUARA_NATS_URL names no server")
    return found


async def connect(url: str, name: str, *, buffer_while_away: bool = True) -> Client:
    """Connect with endless reconnects: a service outlives a NATS restart. `url` may list
    several servers separated by commas (`servers`).

    Without `buffer_while_away`, a publish or request while NATS is away fails at once
    (`OutboundBufferLimitError`) instead of waiting in the client's buffer: a caller that
    answers "unavailable" after its timeout must not have its request delivered and run when
    NATS comes back (nobody would hear the answer)."""
    return await nats.connect(servers=servers(url), name=name, max_reconnect_attempts=-1,
                              reconnect_time_wait=0.5,
                              connect_timeout=5, allow_reconnect=True,
                              pending_size=nats.aio.client.DEFAULT_PENDING_SIZE
                              if buffer_while_away else 0)


async def ensure_streams(js: JetStreamContext, replicas: int = 1, max_age_days: int = 30) -> None:
    """Create (or update) the event and dead-letter streams; safe to call from every replica.

    Events carry report content, so the stream keeps them only as long as consumers need to
    catch up (`max_age`), not forever. The dead-letter stream keeps them for inspection as long.
    """
    common = {"storage": StorageType.FILE, "num_replicas": replicas,
              "duplicate_window": 15 * 60, "max_age": max_age_days * 86400}
    configs = [StreamConfig(name=EVENTS_STREAM, subjects=[EVENTS_SUBJECTS], **common),
               StreamConfig(name=DLQ_STREAM, subjects=[f"{DLQ_PREFIX}.>"], **common)]
    for config in configs:
        try:
            await js.stream_info(config.name)
            await js.update_stream(config)
        except NotFoundError:
            await js.add_stream(config)


# request-reply, served side
def validation_problem(exc: ValidationError) -> ValidationFailed:
    """A 422 naming each bad field, without echoing the input (it may be a worker's words)."""
    errors = [{"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
              for e in exc.errors(include_input=False, include_url=False)]
    first = errors[0] if errors else {"field": "body", "message": "invalid"}
    return ValidationFailed(f"{first['field']}: {first['message']}", errors=errors)


class Concurrency:
    """Runs endpoint work as tasks, at most `limit` at once: a subscription's callbacks run one
    at a time, so without this one slow request would stall every other."""

    def __init__(self, limit: int = 32) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._tasks: set[asyncio.Task[None]] = set()

    async def spawn(self, work: Awaitable[None]) -> None:
        """Start `work` once a slot is free (waiting here is the backpressure)."""
        await self._slots.acquire()
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()

    async def drain(self) -> None:
        """Wait for the work in flight."""
        await asyncio.gather(*self._tasks, return_exceptions=True)


def endpoint(request_model: type[ReqT],
             handler: Callable[[ReqT], Awaitable[BaseModel | bytes]],
             concurrency: Concurrency | None = None) -> Callable[[Request], Awaitable[None]]:
    """Wrap a typed handler as a nats.micro endpoint that answers errors as problem bodies.
    A handler may answer with bytes: a reply already serialised (a stored one, replayed). The
    request's replay key (`replay.received()`) is set while the handler runs."""

    async def serve(req: Request) -> None:
        if concurrency is not None:
            await concurrency.spawn(answer(req))
        else:
            await answer(req)

    async def answer(req: Request) -> None:
        headers = req.headers or {}
        with (telemetry.consumer_span(req.subject, headers, kind=SpanKind.SERVER),
              replay.receiving(headers.get(replay.HEADER))):
            try:
                reply = await handler(request_model.model_validate_json(req.data))
            except ValidationError as exc:
                await _respond_problem(req, validation_problem(exc))
            except SuaraError as exc:
                await _respond_problem(req, exc)
            except CommitInDoubt:
                log.warning("endpoint %s: database lost during a commit", req.subject)
                await _respond_problem(req, Unavailable(
                    "The service lost its database while saving: what you sent may have been "
                    "saved, or not. Retry with the same Idempotency-Key to find out; without "
                    "one, a retry may file it twice.", retry_after=RETRY_AFTER,
                    reason="outcome-unknown"))
            except Exception as exc:
                if unreachable(exc):  # a dependency away for a moment: 503, come back later
                    log.warning("endpoint %s: database unreachable: %s", req.subject,
                                describe(exc))
                    await _respond_problem(req, Unavailable(
                        "The service cannot reach its database right now; try again shortly.",
                        retry_after=RETRY_AFTER))
                    return
                log.error("endpoint %s failed: %s", req.subject, describe(exc))
                await _respond_problem(req, SuaraError("The service failed; nothing was lost."))
            else:
                await req.respond(reply if isinstance(reply, bytes)
                                  else reply.model_dump_json().encode())

    return serve


def describe(exc: BaseException) -> str:
    """An exception's type and where it was raised, without its message: messages of database
    and validation errors can quote a worker's words."""
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    where = " < ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames))
    return f"{type(exc).__name__} at {where}" if where else type(exc).__name__


async def _respond_problem(req: Request, exc: SuaraError) -> None:
    await req.respond_error(str(exc.status), exc.title, json.dumps(exc.problem()).encode())


# request-reply, calling side
RETRY_AFTER = 5  # seconds a caller is asked to wait when no service answers


async def call(nc: Client, subject: str, request: BaseModel, reply_model: type[RepT],
               timeout: float = 10.0) -> RepT:
    """Ask a service; its problem replies come back as typed `SuaraError`s."""
    with telemetry.producer_span(subject):
        headers = telemetry.inject({})
        key = replay.next_key(subject)
        if key is not None:
            headers[replay.HEADER] = key.header()
        try:
            msg = await nc.request(subject, request.model_dump_json().encode(),
                                   timeout=timeout, headers=headers)
        except NoRespondersError:
            raise Unavailable(f"No service answers {subject.rsplit('.', 1)[0]}; "
                              "try again shortly.", retry_after=RETRY_AFTER) from None
        except NatsTimeout:
            raise Unavailable(f"{subject} did not answer within {timeout:g} s.",
                              retry_after=RETRY_AFTER) from None
        except NatsError as exc:  # connection closed, or reconnecting with a full buffer
            raise Unavailable(f"Services cannot be reached ({type(exc).__name__}); try again "
                              "shortly.", retry_after=RETRY_AFTER) from None
    if msg.headers and msg.headers.get("Nats-Service-Error-Code"):
        try:
            raise error_from_problem(json.loads(msg.data))
        except (ValueError, TypeError):
            raise SuaraError(msg.headers.get("Nats-Service-Error", "service error")) from None
    return reply_model.model_validate_json(msg.data)


# durable consumers
EventHandler = Callable[[Msg], Awaitable[None]]
BatchHandler = Callable[[list[Msg]], Awaitable[None]]


@dataclass
class ConsumerSpec:
    """One durable pull consumer: a name, the event subject it follows, what it does."""

    durable: str
    subject: str
    handle: EventHandler
    max_attempts: int = 5
    backoff: Sequence[float] = field(default_factory=lambda: (1.0, 5.0, 30.0, 120.0))
    parallel: int = 1  # events of one fetched batch handled at once (see `DurableConsumer`)
    # handles the events of one fetch together (e.g. in one transaction), all or none: when it
    # raises, they are handled one by one with `handle`, so one bad event holds up no other
    handle_batch: BatchHandler | None = None
    # Seconds the server waits for an ack before it delivers again. Events being handled are
    # kept held every third of it (`_keep_held`), so it bounds only how long an ack lost in a
    # NATS restart delays the event's redelivery (the inbox then drops the twin): at 30 s, the
    # fault suite settled up to 20 s later than at other times. The server updates it on the
    # durable consumers already deployed when a service starts.
    ack_wait: float = 10.0
    # How long an event waits, held, while its handler cannot reach the database: retried
    # without counting as an attempt, so an outage longer than the backoff dead-letters
    # nothing. Past this, a failure counts as any other (a fault that only looks like one).
    outage_patience: float = 3600.0


class PermanentFailure(Exception):
    """An event that no retry can fix: dead-letter it at once."""


class DurableConsumer:
    """Fetch loop for one durable pull consumer, with bounded redelivery and a dead-letter stream."""

    def __init__(self, js: JetStreamContext, spec: ConsumerSpec, batch: int = 50,
                 rebind_after_idle: int = 30) -> None:
        self.js, self.spec, self.batch = js, spec, batch
        self.rebind_after_idle = rebind_after_idle
        self._stopping = False
        self._ensured = False  # by the service's start: the first bind need not ask again

    async def ensure(self) -> None:
        """Create the durable consumer if it does not exist."""
        config = ConsumerConfig(
            durable_name=self.spec.durable, filter_subject=self.spec.subject,
            ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.spec.ack_wait, max_deliver=self.spec.max_attempts + 1,
            max_ack_pending=1000,
        )
        await self.js.add_consumer(EVENTS_STREAM, config)
        self._ensured = True

    async def run(self) -> None:
        """Fetch and handle until stopped; re-bind after errors and long idle spells, since a
        pull subscription can go deaf after a server restart (nats.py #504)."""
        while not self._stopping:
            sub = None
            try:
                if not self._ensured:
                    await self.ensure()
                self._ensured = False  # after an error or a long idle spell, make sure again
                sub = await self.js.pull_subscribe_bind(self.spec.durable, stream=EVENTS_STREAM)
                await self._loop(sub)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # NATS API errors describe the server's complaint; they never hold event data.
                reason = str(exc)[:200] if isinstance(exc, NatsError) else ""
                log.warning("consumer %s re-binding after %s %s", self.spec.durable,
                            type(exc).__name__, reason)
                await asyncio.sleep(1)
            finally:
                if sub is not None:
                    with contextlib.suppress(Exception):
                        await sub.unsubscribe()

    def stop(self) -> None:
        """Return from `run` after the current fetch."""
        self._stopping = True

    async def _loop(self, sub: JetStreamContext.PullSubscription) -> None:
        idle = 0
        # No `heartbeat=`: nats-py 2.16 sends idle_heartbeat without expires once messages are
        # pending, which the server refuses ("heartbeat value too large").
        while not self._stopping and idle < self.rebind_after_idle:
            try:
                msgs = await sub.fetch(self.batch, timeout=2)
            except (NatsTimeout, TimeoutError):  # nats-py raises either when idle
                idle += 1
                continue
            idle = 0
            keeper = asyncio.create_task(self._keep_held(msgs))
            try:
                if self.spec.handle_batch is not None and len(msgs) > 1:
                    await self._handle_together(msgs)
                elif self.spec.parallel <= 1 or len(msgs) == 1:
                    for msg in msgs:
                        await self.handle(msg)
                else:
                    await self._handle_at_once(msgs)
            finally:
                keeper.cancel()

    async def _keep_held(self, msgs: list[Msg]) -> None:
        """Tell the server, every third of `ack_wait`, that the fetched events not yet settled
        are still being worked on: while one waits out a database outage, the others of its
        fetch are not delivered again (each delivery counts towards dead-lettering)."""
        while True:
            await asyncio.sleep(self.spec.ack_wait / 3)
            for msg in msgs:
                with contextlib.suppress(Exception):  # settled already, or NATS away
                    await msg.in_progress()

    async def _handle_together(self, msgs: list[Msg]) -> None:
        """Hand the batch to `spec.handle_batch` and ack every event once it returns. Events
        delivered too often are dead-lettered first; when the batch fails, each event is
        handled alone (its own retries and dead-lettering), so the others still go through."""
        batch = []
        for msg in msgs:
            if msg.metadata.num_delivered > self.spec.max_attempts:
                await self._dead_letter(msg, "MaxDeliveries")
            else:
                batch.append(msg)
        if not batch:
            return
        assert self.spec.handle_batch is not None
        try:
            await self.spec.handle_batch(batch)
        except Exception as exc:
            log.info("consumer %s: a batch of %d failed (%s); handling its events one by one",
                     self.spec.durable, len(batch), describe(exc))
            await self._one_by_one(batch)
            return
        acks = await asyncio.gather(*(msg.ack() for msg in batch), return_exceptions=True)
        for outcome in acks:  # an ack that failed: re-bind, as after a single one
            if isinstance(outcome, BaseException):
                raise outcome

    async def _one_by_one(self, msgs: list[Msg]) -> None:
        if self.spec.parallel <= 1:
            for msg in msgs:
                await self.handle(msg)
        else:
            await self._handle_at_once(msgs)

    async def _handle_at_once(self, msgs: list[Msg]) -> None:
        """Handle a batch with up to `spec.parallel` events in flight: for consumers whose
        events are independent of each other (one per submission, one per case), where waiting
        on one event's database round trips before starting the next only adds latency. Order
        within the batch is not kept; replicas sharing a durable consumer never kept it anyway."""
        gate = asyncio.Semaphore(self.spec.parallel)

        async def one(msg: Msg) -> None:
            async with gate:
                await self.handle(msg)

        outcomes = await asyncio.gather(*(one(msg) for msg in msgs), return_exceptions=True)
        for outcome in outcomes:  # an ack that failed: re-bind, as after a sequential one
            if isinstance(outcome, BaseException):
                raise outcome

    async def handle(self, msg: Msg) -> None:
        """Handle one delivery: ack on success, delayed nak on failure, dead-letter when spent."""
        delivered = msg.metadata.num_delivered
        if delivered > self.spec.max_attempts:
            await self._dead_letter(msg, "MaxDeliveries")
            return
        headers = msg.headers or {}
        with telemetry.consumer_span(msg.subject, headers, headers.get("Nats-Msg-Id"),
                                     self.spec.durable):
            try:
                await self._through_outages(msg)
            except PermanentFailure as exc:
                await self._dead_letter(msg, str(exc) or "PermanentFailure")
                return
            except Exception as exc:
                log.warning("consumer %s: event %s failed (%s), delivery %d",
                            self.spec.durable, headers.get("Nats-Msg-Id"),
                            describe(exc), delivered)
                if delivered >= self.spec.max_attempts:
                    await self._dead_letter(msg, type(exc).__name__)
                else:
                    delay = self.spec.backoff[min(delivered, len(self.spec.backoff)) - 1]
                    await msg.nak(delay=delay)
                return
        await msg.ack()

    async def _through_outages(self, msg: Msg) -> None:
        """Run the handler; while it fails because the database is unreachable, wait and run
        it again (up to `outage_patience`), the event held (`_keep_held`), not counted as a
        failed attempt."""
        held, pause = 0.0, 0.5
        while True:
            try:
                await self.spec.handle(msg)
                return
            except PermanentFailure:
                raise
            except Exception as exc:
                if (not unreachable(exc) or held >= self.spec.outage_patience
                        or self._stopping):
                    raise
                if held == 0:
                    log.warning("consumer %s: database unreachable (%s); event %s held until "
                                "it is back", self.spec.durable, type(exc).__name__,
                                (msg.headers or {}).get("Nats-Msg-Id"))
            pause = min(pause * 2, self.spec.ack_wait / 3)
            await asyncio.sleep(pause)
            held += pause

    async def _dead_letter(self, msg: Msg, reason: str) -> None:
        headers = msg.headers or {}
        event_id = headers.get("Nats-Msg-Id") or f"seq-{msg.metadata.sequence.stream}"
        dlq_headers = {"Nats-Msg-Id": f"{event_id}:{self.spec.durable}",
                       "Suara-Original-Subject": msg.subject, "Suara-Consumer": self.spec.durable,
                       "Suara-Reason": reason[:100]}
        await self.js.publish(dlq_subject(self.spec.durable), msg.data, headers=dlq_headers)
        log.error("consumer %s: event %s dead-lettered (%s)", self.spec.durable, event_id, reason)
        await msg.term()

