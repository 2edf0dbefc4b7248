"""`Idempotency-Key` on POSTs under /api/v1 (Stripe's semantics), so a partner can retry safely.

A client that may retry a POST sends `Idempotency-Key: <a fresh random key, e.g. a UUID>`;
partners should send one on every POST. Without the header a POST runs as it always did.

* The first request with a key runs. A success (status < 400) is kept for 24 h.
* The same key with the same request (method, path, query, content type and body) gets that
  response again, with `Idempotent-Replayed: true`; nothing runs twice.
* The same key with another request is a 422; while the first is still running, a 409 with
  `Retry-After: 1`.
* A 4xx or 5xx answer releases the key, so a retry runs again: a 4xx did nothing, and a 5xx
  must stay retryable.
* A 503 because a service did not answer in time is released too, although the service may
  commit a moment later. That gap is closed one hop down: every service call the request makes
  carries a replay key derived from this entry (`suara_kit.replay`), so the retry's calls get the
  service's stored replies (or a 409 while the first run still holds them) instead of running
  again.
* A request still marked as running by a gateway that is gone (it died mid-request) is taken
  over by the next retry, at any gateway. Each gateway keeps a heartbeat in the `SUARA_GATEWAYS`
  bucket (`Liveness`: rewritten every 5 s, gone 15 s after the last); a running entry names its
  gateway, and a retry that finds that gateway's heartbeat gone takes the entry over, so a
  crashed gateway holds its clients' retries back for 15 s at most. An entry of a live gateway,
  or one written before entries named their gateway, is taken over after `abandon_after`.

Keys are per caller and path. A bearer token's issuer, subject and client (`iss`, `sub`, `azp`)
name the caller; they are read without verification only to find the entry, and the token is
verified before any answer comes from the store (replay, 409, 422), so a forged token learns
nothing. Callers without a token share one namespace, where the key is all that guards a stored
answer (a worker's receipt), so there it needs at least 16 characters.

State lives in the JetStream key-value bucket `SUARA_IDEMPOTENCY`. An entry is named by a hash
of (caller, method, path, key). Running, it holds only its start time. Done, the response and a
hash of the request are sealed with AES-256-GCM under a key derived from the gateway's secret
(SUARA_GATEWAY_IDEMPOTENCY_KEY) and the Idempotency-Key itself, bound to the entry's name:
neither NATS alone nor the gateway secret alone opens a receipt.

Routes that take `Idempotency-Key` themselves (mediation holds, bookings, confirmations,
reschedules) pass through: their service dedupes per organisation in the booking's own
transaction. When NATS cannot be reached the middleware fails closed (503, `Retry-After`):
what the caller asked to have deduplicated is not run without it. Nothing about a request
(key, body, caller) is logged or put in a span.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import nats.errors
from fastapi.openapi.utils import get_openapi
from nats.aio.client import Client
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from suara_gateway import problems
from suara_gateway.attach import MAX_BODY, TooLarge
from suara_gateway.settings import GatewaySettings
from suara_kit import replay
from suara_kit.errors import Conflict, SuaraError, Unavailable, ValidationFailed
from suara_kit.sealing import Sealer, SealError

log = logging.getLogger(__name__)

BUCKET = "SUARA_IDEMPOTENCY"
TTL_SECONDS = 24 * 3600
ABANDONED_AFTER = 60.0
GATEWAYS_BUCKET = "SUARA_GATEWAYS"
HEARTBEAT_SECONDS = 5.0
HEARTBEAT_TTL = 15  # seconds a heartbeat lasts: three missed beats
ANONYMOUS = "anonymous"
ANONYMOUS_MIN_LENGTH = 16
HEADER = "Idempotency-Key"
_VALID = re.compile(rb"[\x21-\x7e]{1,255}")  # as suara_contracts.mediation.IDEMPOTENCY_KEY
_INFO = b"suara-gateway-idempotency-v1:"
_RUNNING, _DONE = b"R", b"D"
_KEPT_HEADERS = (b"content-type", b"location")
NATS_ERRORS = (nats.errors.Error, TimeoutError)

REUSED = ("This Idempotency-Key was used with a different request; send a new key for a new "
          "request.")


@dataclass(frozen=True)
class Slot:
    """Where one caller's key lives: the entry's name, the key, the token to verify."""

    name: str
    key: bytes
    token: str | None


@dataclass(frozen=True)
class Stored:
    """A response as kept for replays."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


@dataclass(frozen=True)
class Claimed:
    """This request holds the key at `revision`: run it, then `finish`."""

    revision: int


def slot_name(caller: str, method: str, path: str, key: str) -> str:
    """The entry's name in the bucket: a hash, so no subject carries a key or a path."""
    raw = json.dumps([caller, method, path, key], separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()


def _header(scope: Scope, name: bytes) -> list[bytes]:
    return [value for key, value in scope["headers"] if key == name]


def _bearer(scope: Scope) -> str | None:
    values = _header(scope, b"authorization")
    scheme, _, token = (values[0].decode("latin-1") if values else "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _claims(token: str) -> dict[str, Any] | None:
    """A JWT's claims, unverified (only to name the caller's namespace)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, UnicodeError, binascii.Error):
        return None
    return claims if isinstance(claims, dict) else None


def caller_of(scope: Scope) -> tuple[str, str | None]:
    """The namespace of the request's keys, and the token to verify before answering from
    the store (None for anonymous callers)."""
    token = _bearer(scope)
    claims = _claims(token) if token else None
    if token is None or claims is None:
        return ANONYMOUS, None
    client = claims.get("azp") or claims.get("client_id") or claims.get("clientId")
    return json.dumps(["token", claims.get("iss"), claims.get("sub"), client]), token


def slot_of(scope: Scope, values: list[bytes]) -> Slot:
    """The request's slot, or a 422 naming the header when the key is not acceptable."""
    caller, token = caller_of(scope)
    if len(values) != 1 or not _VALID.fullmatch(values[0]):
        raise _bad_key("send one key of 1 to 255 visible ASCII characters (a UUID is fine)")
    if token is None and len(values[0]) < ANONYMOUS_MIN_LENGTH:
        raise _bad_key(f"without an access token, send a random key of at least "
                       f"{ANONYMOUS_MIN_LENGTH} characters (a UUID)")
    key = values[0].decode("ascii")
    return Slot(slot_name(caller, scope["method"], scope["path"], key), values[0], token)


def _bad_key(message: str) -> ValidationFailed:
    return ValidationFailed(f"{HEADER}: {message}", errors=[
        {"field": HEADER, "code": "idempotency-key", "message": message}])


def fingerprint(scope: Scope, body: bytes) -> str:
    """A hash of what the request asks: method, path, query, content type and body."""
    digest = hashlib.sha256()
    content_type = b"".join(_header(scope, b"content-type")[:1])
    for part in (scope["method"].encode(), scope["path"].encode("utf-8", "surrogatepass"),
                 scope.get("query_string", b""), content_type, body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


class Liveness:
    """This gateway's heartbeat in `SUARA_GATEWAYS`, and a look at another gateway's. The
    instance id is random per process start; the entry says nothing but that it runs."""

    def __init__(self, kv: KeyValue) -> None:
        self.kv, self.instance = kv, uuid.uuid4().hex
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Beat once now (before any request names this instance), then every 5 s."""
        await self.kv.put(self.instance, b"1")
        self._task = asyncio.create_task(self._beat(), name="gateway-heartbeat")

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                await self.kv.put(self.instance, b"1")
            except NATS_ERRORS as exc:  # NATS away: the next beat tries again
                log.warning("gateway heartbeat not written (%s)", type(exc).__name__)

    async def stop(self) -> None:
        """Stop beating and say so: this gateway's running entries are free at once."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        with contextlib.suppress(*NATS_ERRORS):
            await self.kv.delete(self.instance)

    async def gone(self, instance: str) -> bool:
        """Whether that gateway stopped beating (False when NATS cannot tell)."""
        try:
            entry = await self.kv.get(instance)
        except KeyNotFoundError:
            return True
        except NATS_ERRORS:
            return False
        return not entry.value  # a deleted entry reads empty


async def liveness_bucket(nc: Client, replicas: int = 1) -> KeyValue:
    """The gateways' heartbeats: kept in memory, each entry gone 15 s after its last beat."""
    js = nc.jetstream()
    try:
        return await js.key_value(GATEWAYS_BUCKET)
    except BucketNotFoundError:
        return await js.create_key_value(KeyValueConfig(
            bucket=GATEWAYS_BUCKET, description="gateway heartbeats", history=1,
            ttl=HEARTBEAT_TTL, storage=StorageType.MEMORY, replicas=replicas))


class IdempotencyStore:
    """The bucket, and the secrets that seal what it keeps."""

    def __init__(self, kv: KeyValue, secret: str, previous: Sequence[str] = (),
                 max_value: int = 1024 * 1024, abandon_after: float = ABANDONED_AFTER,
                 clock: Callable[[], float] = time.time,
                 liveness: Liveness | None = None) -> None:
        Sealer(secret, previous)  # refuse an unusable secret at start, not per request
        self.kv, self._secret, self._previous = kv, secret, tuple(previous)
        self.max_value, self.abandon_after, self._clock = max_value, abandon_after, clock
        self.liveness = liveness

    def replay_base(self, slot: Slot, request: str) -> bytes:
        """The secret from which the request's service calls derive their replay keys: the
        same for a retry of the same request, unguessable without the gateway's secret."""
        message = b"\n".join([b"rpc-replay", slot.name.encode(), request.encode(), slot.key])
        return hmac.new(self._secret.encode(), message, hashlib.sha256).digest()

    def _sealer(self, slot: Slot) -> Sealer:
        return Sealer(self._secret, self._previous, info=_INFO + slot.key)

    def _running(self) -> bytes:
        """A running entry: when it started and, with a heartbeat, which gateway runs it."""
        owner = f":{self.liveness.instance}" if self.liveness else ""
        return _RUNNING + f"{int(self._clock())}{owner}".encode()

    async def _abandoned(self, value: bytes) -> bool:
        started, _, owner = value[1:].decode("ascii", "replace").partition(":")
        try:
            if self._clock() - int(started) > self.abandon_after:
                return True
        except ValueError:
            return True
        return bool(owner) and self.liveness is not None and await self.liveness.gone(owner)

    async def begin(self, slot: Slot, request: str) -> Claimed | Stored:
        """Claim the key for this request, or the stored answer to it; Conflict while another
        request holds it, ValidationFailed when it was used for another request."""
        for _ in range(3):
            try:
                return Claimed(await self.kv.create(slot.name, self._running()))
            except (KeyWrongLastSequenceError, KeyNotFoundError):
                pass
            try:
                entry = await self.kv.get(slot.name)
            except KeyNotFoundError:
                continue  # released meanwhile
            value = entry.value or b""
            if value[:1] == _DONE:
                return self._stored(slot, request, value[1:])
            if not await self._abandoned(value):
                break
            try:
                return Claimed(await self.kv.update(slot.name, self._running(),
                                                    last=entry.revision))
            except KeyWrongLastSequenceError:
                continue  # another retry took it over first
        raise replay.in_flight()

    def _stored(self, slot: Slot, request: str, sealed: bytes) -> Stored:
        try:
            plain = self._sealer(slot).open(sealed, slot.name.encode())
        except SealError:
            raise Conflict("The answer kept for this Idempotency-Key can no longer be read; send "
                           "a new key.", reason="idempotency-unreadable") from None
        meta, _, body = plain.partition(b"\n")
        info = json.loads(meta)
        if info["request"] != request:
            raise ValidationFailed(REUSED, errors=[
                {"field": HEADER, "code": "idempotency-key-reused", "message": REUSED}])
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in info["headers"]]
        return Stored(status=info["status"], headers=headers, body=body)

    async def finish(self, slot: Slot, claimed: Claimed, request: str, response: Stored) -> None:
        """Keep a success for replays; release the key after a failure."""
        if response.status >= 400:
            await self.release(slot, claimed)
            return
        meta = json.dumps({"request": request, "status": response.status, "headers": [
            [k.decode("latin-1"), v.decode("latin-1")] for k, v in response.headers]})
        value = _DONE + self._sealer(slot).seal(meta.encode() + b"\n" + response.body,
                                                slot.name.encode())
        if len(value) > self.max_value:
            log.warning("idempotency: a response too large to keep; its key is released")
            await self.release(slot, claimed)
            return
        try:
            await self.kv.update(slot.name, value, last=claimed.revision)
        except NATS_ERRORS as exc:
            log.warning("idempotency: could not keep a response (%s); its key frees itself "
                        "after %.0f s", type(exc).__name__, self.abandon_after)

    async def release(self, slot: Slot, claimed: Claimed) -> None:
        """Let a retry with this key run again."""
        try:
            await self.kv.delete(slot.name, last=claimed.revision)
        except NATS_ERRORS as exc:
            log.warning("idempotency: could not release a key (%s); it frees itself after "
                        "%.0f s", type(exc).__name__, self.abandon_after)


async def bucket(nc: Client, replicas: int = 1) -> KeyValue:
    """The bucket, created on first use by whichever gateway gets there first. File storage:
    deduplication must survive a NATS restart, and what it keeps is sealed."""
    js = nc.jetstream()
    try:
        return await js.key_value(BUCKET)
    except BucketNotFoundError:
        config = KeyValueConfig(bucket=BUCKET, description="Idempotency-Key state (sealed)",
                                history=1, ttl=TTL_SECONDS, storage=StorageType.FILE,
                                replicas=replicas)
        return await js.create_key_value(config)


async def open_store(nc: Client, settings: GatewaySettings) -> IdempotencyStore:
    """The gateway's store, with its heartbeat beating (`store.liveness.stop()` at shutdown).
    A request makes a few service calls in a row at most, so one running much longer than the
    RPC timeout has lost its gateway."""
    liveness = Liveness(await liveness_bucket(nc, settings.nats_replicas))
    await liveness.start()
    return IdempotencyStore(
        await bucket(nc, settings.nats_replicas), settings.idempotency_key.get_secret_value(),
        [key.get_secret_value() for key in settings.idempotency_previous_keys],
        max_value=nc.max_payload - 4096,
        abandon_after=max(ABANDONED_AFTER, 4 * settings.rpc_timeout), liveness=liveness)


async def _read_body(receive: Receive) -> bytes | None:
    """The whole body (None if the client went away), refusing more than `MAX_BODY`."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise _too_large()
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _too_large() -> TooLarge:
    return TooLarge(f"A request may carry at most {MAX_BODY // (1024 * 1024)} MB.")


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the app the buffered body, then the client's own messages."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _response_of(messages: list[Message]) -> Stored:
    start = next((m for m in messages if m["type"] == "http.response.start"), None)
    if start is None:
        return Stored(status=500, headers=[], body=b"")
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() in _KEPT_HEADERS]
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return Stored(status=start["status"], headers=headers, body=body)


async def _replay(stored: Stored, send: Send) -> None:
    headers = [*stored.headers, (b"content-length", str(len(stored.body)).encode()),
               (b"idempotent-replayed", b"true")]
    await send({"type": "http.response.start", "status": stored.status, "headers": headers})
    await send({"type": "http.response.body", "body": stored.body})


class IdempotencyMiddleware:
    """Pure ASGI middleware for POSTs under /api/v1 that carry an Idempotency-Key (see the
    module docstring). It sits inside the anonymity filter and the edge middleware, so it never
    sees identifying headers and its answers get the security headers and the access log."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._posts: list[tuple[re.Pattern[str], bool]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        values = _header(scope, b"idempotency-key") if _applies(scope) else []
        if not values or self._takes_key_itself(scope) in (None, True):
            await self.app(scope, receive, send)
            return
        try:
            slot = slot_of(scope, values)
            length = b"".join(_header(scope, b"content-length")[:1])
            if length.isdigit() and int(length) > MAX_BODY:
                raise _too_large()
            body = await _read_body(receive)
        except SuaraError as exc:
            await problems.problem_response(exc)(scope, receive, send)
            return
        if body is not None:
            await self._dedupe(scope, receive, send, slot, body)

    async def _dedupe(self, scope: Scope, receive: Receive, send: Send, slot: Slot,
                      body: bytes) -> None:
        store: IdempotencyStore = scope["app"].state.idempotency
        request = fingerprint(scope, body)
        try:
            outcome: Claimed | Stored | SuaraError = await store.begin(slot, request)
        except SuaraError as exc:
            outcome = exc
        except NATS_ERRORS:
            outcome = Unavailable("Idempotency-Key cannot be checked right now, so nothing was "
                                  "done; try again shortly.", retry_after=5)
        if isinstance(outcome, Claimed):
            await self._run(scope, receive, send, store, slot, outcome, request, body)
            return
        if slot.token is not None and not isinstance(outcome, Unavailable):
            try:  # only the token's own holder may hear about its keys
                await scope["app"].state.validator.validate(slot.token)
            except SuaraError as exc:
                outcome = exc
        if isinstance(outcome, Stored):
            await _replay(outcome, send)
        else:
            await problems.problem_response(outcome)(scope, receive, send)

    async def _run(self, scope: Scope, receive: Receive, send: Send, store: IdempotencyStore,
                   slot: Slot, claimed: Claimed, request: str, body: bytes) -> None:
        # The response is kept before the client gets it: a gateway that dies in between
        # leaves a replayable answer, never a key stuck in flight for work that was done.
        messages: list[Message] = []

        async def capture(message: Message) -> None:
            messages.append(message)

        try:
            with replay.calling(store.replay_base(slot, request)):
                await self.app(scope, _replaying(body, receive), capture)
        except Exception:
            await store.release(slot, claimed)
            raise
        await store.finish(slot, claimed, request, _response_of(messages))
        for message in messages:
            await send(message)

    def _takes_key_itself(self, scope: Scope) -> bool | None:
        """Whether the POST's route reads Idempotency-Key itself; None when no route matches
        (a 404 does nothing, so there is nothing to deduplicate)."""
        if self._posts is None:
            # FastAPI's own description of the routes, before `openapi_doc` documents the
            # header on every POST: only there does a parameter mean the route reads it
            raw = get_openapi(title="routes", version="0", routes=scope["app"].routes)
            self._posts = _post_routes(raw)
        return next((own for pattern, own in self._posts if pattern.match(scope["path"])), None)


def _post_routes(schema: dict[str, Any]) -> list[tuple[re.Pattern[str], bool]]:
    """Every POST of the routes' OpenAPI description, in route order: its path pattern, and
    whether it takes Idempotency-Key as a parameter of its own."""
    routes = []
    for path, item in schema.get("paths", {}).items():
        if (operation := item.get("post")) is not None:
            own = any(p.get("in") == "header" and str(p.get("name")).lower() == HEADER.lower()
                      for p in operation.get("parameters", []))
            routes.append((compile_path(path)[0], own))
    return routes


def _applies(scope: Scope) -> bool:
    return (scope["type"] == "http" and scope["method"] == "POST"
            and scope["path"].startswith("/api/v1/"))
