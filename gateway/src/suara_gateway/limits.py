"""What one caller may ask of the gateway: requests per minute, and bytes per request.

**Rate.** Every request with a valid bearer token is counted in a token bucket of its caller:
`SUARA_GATEWAY_RATE_PER_MINUTE` refill a bucket of `SUARA_GATEWAY_RATE_BURST`; an empty bucket
is a 429 with Retry-After. The caller is the token's client and subject (`azp`, `sub`): a
partner system's client-credentials token always has the subject of that client's one service
account, so each partner client has a bucket of its own; a person has one whatever app they use.
The key comes from the *validated* principal (`charge` runs in `deps.get_principal`, after the
signature check), so a forged token can neither dodge the limit nor empty someone else's bucket.

**Across replicas.** The decision is always taken in memory (`RateLimiter.take`, no NATS on the
request path), but the gateway replicas keep one bucket per caller between them (`SharedRates`;
`SUARA_GATEWAY_RATE_SHARED`, when unset on in production only). Every
`SUARA_GATEWAY_RATE_SYNC_SECONDS` (0.5 s) each replica takes the callers it admitted since its
last sync (at most `MAX_SYNCED`, the busiest first) and, for each, reads the caller's shared
bucket from the JetStream key-value bucket `SUARA_RATE`, refills it for the time since it was
written, takes off what it admitted, and writes it back with compare-and-set (`create` for a new
caller, `update(last=revision)` otherwise, again from the read on a wrong sequence). The local
bucket is then lowered to the shared one (less what it admitted meanwhile), so it now counts
what every other replica had reported for that caller. A caller a replica has not synced for an
interval (new to it, or quiet there) is synced at once in the background after its first
request there, not at the next tick, so a replica never goes on for long on a stale bucket.

Each entry is named by an HMAC of the caller under a key derived from
`SUARA_GATEWAY_IDEMPOTENCY_KEY` (the same in every replica): KV keys are NATS subjects, so no
client or subject appears in NATS, and none can be confirmed by hashing a guess. The value is
`<tokens> <unix time>`; the bucket has memory storage, one revision, and forgets a caller no
replica has synced for `SYNC_TTL_SECONDS` (5 min; its bucket has refilled by then as long as
burst / rate is under 5 minutes, as by default). Refills use the replicas' wall clocks: a skew of
s seconds between two replicas moves a bucket by s * rate tokens.

**Overshoot.** What a replica admits before it reports it is what the others do not know yet.
For a caller at its rate (the case that matters: a caller being limited) the replicas admit at
most (replicas - 1) * rate * sync interval more than one bucket would, under replicas * rate *
sync interval (3 replicas at the default 600 a minute and 0.5 s: 10 requests). A full bucket can
be spent on every replica in the same moment before any of them reports it: a caller bursting at
all replicas at once gets up to replicas * burst. The shared bucket then goes that far below
zero and every replica refuses the caller until it has refilled, so over a longer time no caller
gets more than the rate. What a replica admitted but had not reported when it stops is lost (at
most one interval's).

**Fallback.** When NATS or the bucket fails, the sync gives up for that interval (one warning
per outage, naming no caller; what it had to report is dropped) and each replica limits on its
own, as before: a caller gets up to replicas * the rate until NATS is back. A request never
waits for NATS nor fails because of the limiter.

Reporters are not counted at all. There is nothing to count them by: the anonymity filter has
already dropped the client address, and a limit per address would lock out a whole dormitory
that shares one network (DESIGN.md, invariant 2). What guards the reporter routes instead:
intake locks a reference after too many wrong receipts or claim codes
(`SUARA_INTAKE_RECEIPT_MAX_FAILURES`, `_LOCKOUT_MINUTES`), receipts carry 130 random bits, and
every body is bounded below.

**Size.** `BodyLimitMiddleware` answers 413 before the app reads a body larger than
`SUARA_GATEWAY_MAX_BODY_BYTES`, at once when Content-Length says so, otherwise as soon as the
bytes received pass the limit (a chunked body is cut off there). Multipart bodies (file
uploads) have the uploads' own, larger limit (`attach.MAX_BODY`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import heapq
import hmac
import logging
import math
import time
from collections.abc import Awaitable, Callable

import nats.errors
from fastapi import Request
from nats.aio.client import Client
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from suara_gateway import attach, problems
from suara_gateway.settings import GatewaySettings
from suara_kit.auth import Principal
from suara_kit.errors import SuaraError

log = logging.getLogger(__name__)

MAX_CALLERS = 10_000  # buckets kept before the full ones are dropped
MAX_SYNCED = 1_000  # callers one sync reports, the busiest first
SYNC_SECONDS = 0.5
SYNC_BUCKET = "SUARA_RATE"
SYNC_TTL_SECONDS = 300  # a caller no replica has synced for this long is forgotten
SYNC_CONCURRENCY = 32  # key-value round trips in flight during a sync
NATS_TIMEOUT = 2.0  # seconds one key-value operation of a sync may take
STALE_AFTER = 1.5  # sync intervals after which a replica's view of a caller is stale
_CAS_TRIES = 4
_KEY_INFO = b"suara-gateway-rate-v1:"
NATS_ERRORS = (nats.errors.Error, TimeoutError, OSError)


class RateLimited(SuaraError):
    status, slug, title = 429, "rate-limited", "Too many requests"


class RateLimiter:
    """Token buckets by caller, in this process's memory (asyncio: no lock needed). When
    shared (`SharedRates`), it also counts what it admits for the next sync (`drain`), and a
    sync lowers its buckets to the shared ones (`merge`)."""

    def __init__(self, per_minute: int, burst: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_second, self.burst, self._clock = per_minute / 60, float(burst), clock
        # caller → (tokens, when, when this replica last synced it with the others)
        self._buckets: dict[str, tuple[float, float, float]] = {}
        self._taken: dict[str, int] | None = None  # shared: admitted since the caller's sync
        self._stale: set[str] = set()  # shared: admitted on a stale bucket, to sync at once
        self._stale_after = math.inf
        self._wake: Callable[[], None] = _nothing

    def now(self) -> float:
        return self._clock()

    def share(self, interval: float, wake: Callable[[], None]) -> None:
        """Count what `take` admits, for a sync every `interval` s; `wake()` asks for an early
        sync of callers admitted on a bucket not synced for longer."""
        self._taken, self._stale = {}, set()
        self._stale_after, self._wake = STALE_AFTER * interval, wake

    def unshare(self) -> None:
        self._taken, self._stale, self._stale_after, self._wake = None, set(), math.inf, _nothing

    def take(self, caller: str) -> float:
        """Take one token: 0 when the caller may go on, else the seconds until it may."""
        now = self._clock()
        tokens, then, synced = self._buckets.get(caller, (self.burst, now, -math.inf))
        tokens = min(self.burst, tokens + (now - then) * self.per_second)
        if tokens >= 1:
            self._buckets[caller] = (tokens - 1, now, synced)
            if self._taken is not None:
                self._taken[caller] = self._taken.get(caller, 0) + 1
                if now - synced >= self._stale_after and caller not in self._stale:
                    self._stale.add(caller)
                    self._wake()
            if len(self._buckets) > MAX_CALLERS:
                self._forget_full(now)
            return 0.0
        self._buckets[caller] = (tokens, now, synced)
        return (1 - tokens) / self.per_second

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled: a new bucket starts full anyway."""
        self._buckets = {caller: (tokens, then, synced)
                         for caller, (tokens, then, synced) in self._buckets.items()
                         if tokens + (now - then) * self.per_second < self.burst}

    def drain(self, stale_only: bool = False) -> dict[str, int]:
        """What was admitted since the last sync, by caller (the `MAX_SYNCED` busiest; only
        those admitted on a stale bucket if `stale_only`), no longer counted here."""
        taken = self._taken
        if not taken:
            return {}
        callers = [c for c in self._stale if c in taken] if stale_only else list(taken)
        if len(callers) > MAX_SYNCED:
            callers = heapq.nlargest(MAX_SYNCED, callers, key=taken.__getitem__)
        chosen = {caller: taken.pop(caller) for caller in callers}
        self._stale.difference_update(chosen)
        return chosen

    def recount(self, caller: str, count: int) -> None:
        """Count again what a sync could not report (for the next one)."""
        if self._taken is not None:
            self._taken[caller] = self._taken.get(caller, 0) + count

    def merge(self, caller: str, tokens: float, at: float) -> None:
        """Lower the caller's bucket to the shared one, which held `tokens` at `at` (this
        limiter's clock) before what this replica admitted since the drain."""
        now = self._clock()
        shared = (min(self.burst, tokens + (now - at) * self.per_second)
                  - (self._taken or {}).get(caller, 0))
        own, then, _ = self._buckets.get(caller, (self.burst, now, now))
        own = min(self.burst, own + (now - then) * self.per_second)
        self._buckets[caller] = (min(own, shared), now, now)
        if len(self._buckets) > MAX_CALLERS:
            self._forget_full(now)


def _nothing() -> None:
    pass


def _parse(value: bytes | None) -> tuple[float, float] | None:
    """A shared bucket's `<tokens> <unix time>`; None if unreadable."""
    try:
        tokens, at = (float(part) for part in (value or b"").split())
    except ValueError:
        return None
    return (tokens, at) if math.isfinite(tokens) and math.isfinite(at) else None


class SharedRates:
    """Keeps a `RateLimiter`'s buckets in step with the other replicas' through the key-value
    bucket that `open_bucket` opens (see the module docstring): `sync` now and then, in a
    background task between `start` and `stop`."""

    def __init__(self, limiter: RateLimiter, open_bucket: Callable[[], Awaitable[KeyValue]],
                 secret: bytes, interval: float = SYNC_SECONDS,
                 wall: Callable[[], float] = time.time) -> None:
        self.limiter, self.interval = limiter, interval
        self._open, self._wall, self._kv = open_bucket, wall, None
        self._secret = hashlib.sha256(_KEY_INFO + secret).digest()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.healthy = True  # False from a failed sync until one succeeds
        limiter.share(interval, self._wake.set)

    def key_of(self, caller: str) -> str:
        """The caller's entry: an HMAC, so no client or subject is ever a NATS subject."""
        return hmac.new(self._secret, caller.encode(), hashlib.sha256).hexdigest()[:32]

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="rate-sync")

    async def stop(self) -> None:
        """End the background sync; the limiter goes on alone."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.limiter.unshare()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + self.interval
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.0, due - loop.time()))
            self._wake.clear()
            full = loop.time() >= due
            if full:
                due = loop.time() + self.interval
            try:
                await self.sync(stale_only=not full)
            except Exception as exc:  # the limiter outlives whatever a sync meets
                self._down(exc)
            await asyncio.sleep(self.interval / 5)  # bounds the early syncs too

    async def sync(self, stale_only: bool = False) -> None:
        """Report what this replica admitted since the last sync, and lower its buckets to
        the shared ones; on a NATS failure, drop the report and go on alone."""
        taken = self.limiter.drain(stale_only)
        if not taken:
            return
        try:
            kv = self._kv = self._kv or await self._open()
        except NATS_ERRORS as exc:
            self._down(exc)
            return
        failed: list[BaseException] = []
        slots = asyncio.Semaphore(SYNC_CONCURRENCY)

        async def report(caller: str, count: int) -> None:
            async with slots:
                if failed:
                    return  # NATS is failing: do not wait for it once per caller
                try:
                    await self._report(kv, caller, count)
                except NATS_ERRORS as exc:
                    failed.append(exc)

        await asyncio.gather(*(report(caller, count) for caller, count in taken.items()))
        if failed:
            self._kv = None  # reopened (or created again) by the next sync
            self._down(failed[0])
        elif not self.healthy:
            self.healthy = True
            log.info("rate limit: shared with the other gateway replicas again")

    async def _report(self, kv: KeyValue, caller: str, count: int) -> None:
        key = self.key_of(caller)
        for _ in range(_CAS_TRIES):
            try:
                entry: KeyValue.Entry | None = await kv.get(key)
            except KeyNotFoundError:
                entry = None
            stored = _parse(entry.value) if entry is not None else None
            wall, local = self._wall(), self.limiter.now()
            tokens = self.limiter.burst
            if stored is not None:
                elapsed = max(0.0, wall - stored[1])
                tokens = min(tokens, stored[0] + elapsed * self.limiter.per_second)
            tokens -= count
            value = f"{tokens:.3f} {wall:.3f}".encode()
            try:
                if entry is None:
                    await kv.create(key, value)
                else:
                    await kv.update(key, value, last=entry.revision)
            except KeyWrongLastSequenceError:
                continue  # another replica wrote first: read again
            self.limiter.merge(caller, tokens, local)
            return
        self.limiter.recount(caller, count)  # busy key: report it next time

    def _down(self, exc: BaseException) -> None:
        """Once per outage, without callers (only the error's type)."""
        if self.healthy:
            self.healthy = False
            log.warning("rate limit: cannot share with the other gateway replicas (%s); each "
                        "limits callers on its own until NATS answers", type(exc).__name__)


async def bucket(nc: Client, replicas: int = 1) -> KeyValue:
    """The shared buckets, created on first use by whichever gateway gets there first. Memory
    storage: losing them only refills every caller's bucket."""
    js = nc.jetstream(timeout=NATS_TIMEOUT)
    try:
        return await js.key_value(SYNC_BUCKET)
    except BucketNotFoundError:
        config = KeyValueConfig(bucket=SYNC_BUCKET, description="Rate-limit buckets (hashed)",
                                history=1, ttl=SYNC_TTL_SECONDS, storage=StorageType.MEMORY,
                                replicas=replicas)
        return await js.create_key_value(config)


def share(limiter: RateLimiter, nc: Client, settings: GatewaySettings) -> SharedRates | None:
    """Start sharing the limiter's buckets with the other replicas, if the settings say so
    (`rate_shared`; unset, in production); stop with `SharedRates.stop`."""
    shared = settings.rate_shared if settings.rate_shared is not None else (
        settings.env == "production")
    if not shared:
        return None
    rates = SharedRates(limiter, lambda: bucket(nc, settings.nats_replicas),
                        settings.idempotency_key.get_secret_value().encode(),
                        settings.rate_sync_seconds)
    rates.start()
    return rates


def caller_key(principal: Principal) -> str:
    """The bucket of a validated caller: its client and subject."""
    return f"{principal.client_id or '-'} {principal.subject}"


def charge(request: Request, principal: Principal) -> None:
    """Count this request against its caller's bucket (once per request); 429 when empty."""
    limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    if limiter is None or getattr(request.state, "rate_charged", False):
        return
    request.state.rate_charged = True
    wait = limiter.take(caller_key(principal))
    if wait:
        seconds = max(1, math.ceil(wait))
        raise RateLimited(f"Too many requests from your client; try again in {seconds} s.",
                          retry_after=seconds)


def _too_large(limit: int, multipart: bool) -> attach.TooLarge:
    if multipart:
        return attach.TooLarge(f"Send at most {attach.LIMITS.max_files} files of up to "
                               f"{attach.LIMITS.max_bytes // (1024 * 1024)} MB each.")
    return attach.TooLarge(f"A request body may carry at most {limit // 1024} KiB.")


class BodyLimitMiddleware:
    """Pure ASGI middleware: 413 problem+json for a body over the limit, before it is read."""

    def __init__(self, app: ASGIApp, max_body: int, max_upload: int = attach.MAX_BODY) -> None:
        self.app, self.max_body, self.max_upload = app, max_body, max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        multipart = headers.get(b"content-type", b"").lower().startswith(b"multipart/form-data")
        limit = self.max_upload if multipart else self.max_body
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await problems.problem_response(_too_large(limit, multipart))(scope, receive, send)
            return
        received, started = 0, False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                # An HTTPException, since FastAPI turns any other error raised while it reads
                # a body into a 400; `problems` renders it as the 413 it carries.
                raise problems.ProblemException(_too_large(limit, multipart))
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except problems.ProblemException as exc:  # raised where no handler answers it
            if started:
                raise
            await problems.problem_response(exc.error)(scope, receive, send)
