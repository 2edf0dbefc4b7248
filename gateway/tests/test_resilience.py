"""When a service is down the gateway answers 503 with Retry-After within a bounded time: at once
when nobody listens (NATS no-responders), after the RPC timeout when a service never replies."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import nats
import pytest
from fastapi import FastAPI

from suara_gateway.app import create_app
from suara_gateway.edge import CSP
from suara_gateway.settings import GatewaySettings
from suara_kit.auth import TokenValidator

ISSUER = "https://id.suara.test/realms/suara"
Sign = Callable[..., str]


@asynccontextmanager
async def started(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            yield http


def app_with(nats_url: str, validator: TokenValidator, rpc_timeout: float) -> FastAPI:
    return create_app(GatewaySettings(nats_url=nats_url, oidc_issuer=ISSUER,
                                      rpc_timeout=rpc_timeout), validator)


def unavailable(reply: httpx.Response) -> dict[str, Any]:
    assert reply.status_code == 503, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.headers["content-security-policy"] == CSP
    assert int(reply.headers["retry-after"]) > 0
    return dict(reply.json())


async def timed(request: Any) -> tuple[httpx.Response, float]:
    began = time.perf_counter()
    reply = await request
    return reply, time.perf_counter() - began


async def test_no_service_listening_is_an_immediate_503(nats_url: str, validator: TokenValidator,
                                                        sign: Sign) -> None:
    async with started(app_with(nats_url, validator, rpc_timeout=5)) as http:
        staff, waited = await timed(http.get("/api/v1/cases",
                                             headers={"Authorization": f"Bearer {sign()}"}))
        assert "suara.rpc.cases.v1" in unavailable(staff)["detail"]
        assert waited < 1, "no-responders must not wait for the timeout"
        reporter, waited = await timed(http.post("/api/v1/reports/lookup", json={
            "reference": "SR-AAAA-BBBB", "receipt": "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GG"}))
        unavailable(reporter)
        assert waited < 1
        page = await http.get("/")  # the worker's form page, too
        assert page.status_code == 503
        assert int(page.headers["retry-after"]) > 0


async def test_a_service_that_never_replies_is_a_503_after_the_timeout(
        nats_url: str, validator: TokenValidator, sign: Sign) -> None:
    silent = await nats.connect(nats_url)

    async def ignore(_: Any) -> None:
        return None

    await silent.subscribe("suara.rpc.>", cb=ignore)
    await silent.flush()
    try:
        async with started(app_with(nats_url, validator, rpc_timeout=0.5)) as http:
            reply, waited = await timed(http.get("/api/v1/cases",
                                                 headers={"Authorization": f"Bearer {sign()}"}))
            assert "did not answer within 0.5 s" in unavailable(reply)["detail"]
            assert 0.45 <= waited < 2
    finally:
        await silent.close()


async def test_a_lost_nats_connection_is_a_503(nats_url: str, validator: TokenValidator,
                                               sign: Sign) -> None:
    app = app_with(nats_url, validator, rpc_timeout=5)
    async with started(app) as http:
        await app.state.rpc.nc.close()
        reply, waited = await timed(http.get("/api/v1/cases",
                                             headers={"Authorization": f"Bearer {sign()}"}))
        assert "cannot be reached" in unavailable(reply)["detail"]
        assert waited < 1


async def test_an_issuer_that_never_answered_is_a_503(nats_url: str, sign: Sign) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(down)) as issuer:
        validator = TokenValidator(issuer=ISSUER, audience="suara-api", http=issuer)
        async with started(app_with(nats_url, validator, rpc_timeout=5)) as http:
            reply = await http.get("/api/v1/cases", headers={"Authorization": f"Bearer {sign()}"})
            assert "key set unavailable" in unavailable(reply)["detail"]


@pytest.mark.parametrize("path", ["/api/v1/form", "/api/v1/public/statistics"])
async def test_public_reads_are_503_with_retry_after(client: httpx.AsyncClient, path: str) -> None:
    unavailable(await client.get(path))
