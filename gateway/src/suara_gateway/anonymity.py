"""The anonymity filter (invariant 1): before any route, log line or span sees a request, drop
everything that could identify a reporter's device or network."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

DROPPED_HEADERS = frozenset({
    b"user-agent", b"referer", b"cookie", b"forwarded", b"via", b"x-real-ip",  # all dropped
    b"x-client-ip", b"true-client-ip", b"cf-connecting-ip", b"fastly-client-ip",
    b"x-cluster-client-ip",
    b"baggage", b"sec-ch-ua", b"sec-ch-ua-mobile", b"sec-ch-ua-platform", b"dnt",
})


def _identifying(name: bytes) -> bool:
    return name in DROPPED_HEADERS or name.startswith((b"x-forwarded-", b"sec-ch-ua-"))


class AnonymityMiddleware:
    """Pure ASGI middleware: no client address, agent, referrer, cookie or forwarding header
    survives into the application. Applied to every route, intake routes included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = dict(scope)
            scope["client"] = None
            scope["headers"] = [(k, v) for k, v in scope["headers"] if not _identifying(k)]
        await self.app(scope, receive, send)
