"""The anonymity filter (invariant 1): before any route, log line or span sees a request, drop
everything that could identify a reporter's device or network. The one exception: under
/console (staff only, never a reporter's page) the console's own session cookies pass."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from suara_gateway.console import cookies

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
    survives into the application (but the console's cookies under /console). Applied to every
    route, intake routes included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = dict(scope)
            scope["client"] = None
            headers = [(k, v) for k, v in scope["headers"] if not _identifying(k)]
            if cookies.under_console(scope.get("path", "")):
                kept = cookies.console_cookie_header(
                    [v for k, v in scope["headers"] if k == b"cookie"])
                headers += [(b"cookie", kept)] if kept else []
            scope["headers"] = headers
        await self.app(scope, receive, send)
