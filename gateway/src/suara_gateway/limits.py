"""What one caller may ask of the gateway: requests per minute, and bytes per request.

**Rate.** Every request with a valid bearer token is counted in a token bucket of its caller:
`SUARA_GATEWAY_RATE_PER_MINUTE` refill a bucket of `SUARA_GATEWAY_RATE_BURST`; an empty bucket
is a 429 with Retry-After. The caller is the token's client and subject (`azp`, `sub`): a
partner system's client-credentials token always has the subject of that client's one service
account, so each partner client has a bucket of its own; a person has one whatever app they use.
The key comes from the *validated* principal (`charge` runs in `deps.get_principal`, after the
signature check), so a forged token can neither dodge the limit nor empty someone else's bucket.
Buckets live in this process: with N gateway replicas a caller gets up to N times the rate.

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

import math
import time
from collections.abc import Callable

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from suara_gateway import attach, problems
from suara_kit.auth import Principal
from suara_kit.errors import SuaraError

MAX_CALLERS = 10_000  # buckets kept before the full ones are dropped


class RateLimited(SuaraError):
    status, slug, title = 429, "rate-limited", "Too many requests"


class RateLimiter:
    """Token buckets by caller, in this process's memory (asyncio: no lock needed)."""

    def __init__(self, per_minute: int, burst: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_second, self.burst, self._clock = per_minute / 60, float(burst), clock
        self._buckets: dict[str, tuple[float, float]] = {}  # caller → (tokens, when)

    def take(self, caller: str) -> float:
        """Take one token: 0 when the caller may go on, else the seconds until it may."""
        now = self._clock()
        tokens, then = self._buckets.get(caller, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.per_second)
        if tokens >= 1:
            self._buckets[caller] = (tokens - 1, now)
            if len(self._buckets) > MAX_CALLERS:
                self._forget_full(now)
            return 0.0
        self._buckets[caller] = (tokens, now)
        return (1 - tokens) / self.per_second

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled: a new bucket starts full anyway."""
        self._buckets = {caller: (tokens, then) for caller, (tokens, then) in self._buckets.items()
                         if tokens + (now - then) * self.per_second < self.burst}


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
