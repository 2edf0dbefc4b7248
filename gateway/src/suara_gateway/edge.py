"""Edge middleware: security headers, a privacy-safe access log and the request span; and the
cross-origin policy (closed unless origins are configured)."""

from __future__ import annotations

import logging
import time
from typing import Any

from opentelemetry.trace import SpanKind
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from suara_gateway import problems
from suara_gateway.console import cookies
from suara_kit import telemetry

access_log = logging.getLogger("suara.gateway.access")

CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "base-uri 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
    (b"cache-control", b"no-store"),
]

CORS_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
CORS_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key"]
CORS_EXPOSED = ["Retry-After", "Idempotent-Replayed"]


def cors_options(origins: list[str]) -> dict[str, Any]:
    """Options for Starlette's CORSMiddleware: these origins only, bearer tokens (never
    cookies, so no credentials), and what the API's requests and answers carry."""
    return {"allow_origins": origins, "allow_credentials": False, "allow_methods": CORS_METHODS,
            "allow_headers": CORS_HEADERS, "expose_headers": CORS_EXPOSED, "max_age": 600}


class EdgeMiddleware:
    """Adds security headers, drops any Set-Cookie (but the console's own, under /console),
    logs method, route, status and duration (never an address, agent, query string or body)
    and opens the SERVER span."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status, responded = time.perf_counter(), 500, False
        console = cookies.under_console(scope["path"])

        async def send_wrapper(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                status, responded = message["status"], True
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"set-cookie"
                           or (console and cookies.is_console_set_cookie(v))]
                present = {k for k, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        tracer = telemetry.tracer()
        with tracer.start_as_current_span(f"{scope['method']}", kind=SpanKind.SERVER) as span:
            try:
                await self.app(scope, receive, send_wrapper)
            except Exception as exc:
                # Starlette answers unexpected errors outside this middleware (no security
                # headers) and re-raises them for the server to log with a traceback, whose
                # message may quote a worker's words. Answer here; log the type only.
                if responded:
                    problems.log.error("unhandled %s after the response began",
                                       type(exc).__name__)
                else:
                    await problems.unexpected_response(exc)(scope, receive, send_wrapper)
            finally:
                route = getattr(scope.get("route"), "path", "unmatched")
                span.update_name(f"{scope['method']} {route}")
                span.set_attribute("http.route", route)
                span.set_attribute("http.response.status_code", status)
                access_log.info("%s %s %d %.1fms", scope["method"], route, status,
                                (time.perf_counter() - started) * 1000)
