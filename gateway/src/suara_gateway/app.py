"""The gateway: the only process that listens on the network."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from fastapi.telemetry import TelemetryConfig

from suara_gateway import (
    api,
    api_agreements,
    api_alerts,
    api_identity,
    api_liaison,
    api_mediation,
    api_notes,
    api_notifications,
    api_referrals,
    api_statistics,
    api_webhooks,
    openapi_doc,
    pages,
    problems,
)
from suara_gateway.anonymity import AnonymityMiddleware
from suara_gateway.console import routes as console
from suara_gateway.deps import Rpc
from suara_gateway.edge import EdgeMiddleware, cors_options
from suara_gateway.idempotency import IdempotencyMiddleware, open_store
from suara_gateway.limits import BodyLimitMiddleware, RateLimiter, share
from suara_gateway.settings import GatewaySettings
from suara_kit import staging, telemetry
from suara_kit.auth import TokenValidator
from suara_kit.messaging import connect

DESCRIPTION = """Suara lets a migrant worker report a grievance without giving a name, and lets
civil-society organisations handle it as a case. Reporters need no account: they keep a
reference and a secret receipt. Staff and partner systems use OAuth2 bearer tokens."""


NO_NATIVE_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}
"""FastAPI's own telemetry is off: once a tracer provider is installed, it opens a SERVER span
with the concrete path, the query string and the server's address (a report's reference, a
console filter) and records metrics per request. The gateway's SERVER span is EdgeMiddleware's,
which names the route template only. (It also asked the environment for the tracer provider
on every request: a fifth of the gateway's CPU under load.)"""


def create_app(settings: GatewaySettings | None = None,
               validator: TokenValidator | None = None,
               issuer_http: httpx.AsyncClient | None = None) -> FastAPI:
    """Build the gateway; NATS is connected in the lifespan. `issuer_http` is how the staff
    console reaches the OIDC issuer (tests pass one that reaches an in-process issuer)."""
    settings = settings or GatewaySettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        telemetry.setup_tracing("gateway", settings.otlp_endpoint)
        # nothing waits for NATS in a buffer: while it is away a request is a 503 at once,
        # never one sent on (and run) after its caller was told it failed
        nc = await connect(settings.nats_url, "gateway", buffer_while_away=False)
        app.state.rpc = Rpc(nc, settings.rpc_timeout)
        app.state.staging = await staging.bucket(nc.jetstream())
        app.state.idempotency = await open_store(nc, settings)
        await app.state.console.start(nc)
        rates = share(app.state.rate_limiter, nc, settings)  # None: this replica limits alone
        app.state.validator = validator or TokenValidator(
            issuer=settings.oidc_issuer, audience=settings.oidc_audience,
            jwks_url=settings.oidc_jwks_url)
        try:
            yield
        finally:
            if rates is not None:
                await rates.stop()
            if app.state.idempotency.liveness is not None:
                await app.state.idempotency.liveness.stop()
            await nc.close()
            await app.state.console.aclose()
            if validator is None:
                await app.state.validator.aclose()
            telemetry.shutdown_tracing()

    app = FastAPI(title="Suara API", version="1.0.0", description=DESCRIPTION,
                  openapi_url="/api/v1/openapi.json", docs_url="/api/v1/docs", redoc_url=None,
                  lifespan=lifespan, telemetry=NO_NATIVE_TELEMETRY)
    problems.install(app)
    console.install(app, settings, issuer_http)  # its pages answer typed errors under /console
    openapi_doc.install(app)
    app.include_router(api.router)
    app.include_router(api_referrals.router)
    app.include_router(api_identity.router)
    app.include_router(api_liaison.router)
    app.include_router(api_mediation.router)
    app.include_router(api_alerts.router)
    app.include_router(api_agreements.router)
    app.include_router(api_notes.router)
    app.include_router(api_webhooks.router)
    app.include_router(api_notifications.router)
    app.include_router(api.health_router)
    app.include_router(api_statistics.router)  # before pages: /{code}/transparency
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.add_middleware(IdempotencyMiddleware)  # inside the edge: its answers get headers, log
    app.state.rate_limiter = RateLimiter(settings.rate_per_minute, settings.rate_burst)
    app.add_middleware(BodyLimitMiddleware, max_body=settings.max_body_bytes)  # outside idempotency
    if settings.cors_origins:  # closed unless configured
        app.add_middleware(CORSMiddleware, **cors_options(settings.cors_origins))
    app.add_middleware(EdgeMiddleware)
    app.add_middleware(AnonymityMiddleware)  # outermost: nothing below sees identifying data
    return app
