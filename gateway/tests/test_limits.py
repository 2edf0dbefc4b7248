"""Issue 7's limits at the gateway: a rate per caller with a token (never per address), a body
size limit on every route, and CORS closed unless origins are configured."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from suara_gateway import attach, limits
from suara_gateway.app import create_app
from suara_gateway.edge import CSP
from suara_gateway.limits import RateLimiter
from suara_gateway.settings import GatewaySettings
from suara_kit.auth import TokenValidator

ISSUER = "https://id.suara.test/realms/suara"
PROBLEM = "application/problem+json"
PROBE = "/api/v1/webhook-event-types"  # a partner route that needs no service
ORIGIN = "https://console.suara.test"
Sign = Callable[..., str]


@asynccontextmanager
async def gateway(nats_url: str, validator: TokenValidator,
                  **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A started gateway with these settings, and a client for it."""
    settings = GatewaySettings(nats_url=nats_url, oidc_issuer=ISSUER, rpc_timeout=2,
                               **overrides)
    app = create_app(settings, validator)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            yield http


@pytest.fixture
async def limited(nats_url: str, validator: TokenValidator) -> AsyncIterator[httpx.AsyncClient]:
    """A gateway allowing 3 requests at once, then one a second; bodies up to 16 KiB."""
    async with gateway(nats_url, validator, rate_per_minute=60, rate_burst=3,
                       max_body_bytes=16 * 1024) as http:
        yield http


def partner(sign: Sign, client: str, **overrides: Any) -> dict[str, str]:
    token = sign(sub=f"service-account-{client}", azp=client, client_id=client,
                 realm_access={"roles": ["cso-partner"]}, **overrides)
    return {"Authorization": f"Bearer {token}"}


def problem(reply: httpx.Response, status: int) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == PROBLEM
    assert reply.headers["content-security-policy"] == CSP
    return dict(reply.json())


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# rate ----------------------------------------------------------------------------------------
def test_a_bucket_allows_the_burst_then_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(per_minute=60, burst=3, clock=clock)
    assert [limiter.take("a") for _ in range(3)] == [0, 0, 0]
    assert limiter.take("a") == pytest.approx(1.0)
    clock.now += 0.25
    assert limiter.take("a") == pytest.approx(0.75)
    clock.now += 0.75
    assert limiter.take("a") == 0
    assert limiter.take("b") == 0  # a bucket of its own
    clock.now += 3600
    assert [limiter.take("a") for _ in range(4)][-1] > 0  # never more than the burst


def test_full_buckets_are_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_CALLERS", 3)
    clock = Clock()
    limiter = RateLimiter(per_minute=60, burst=2, clock=clock)
    for caller in ("a", "b", "c"):
        limiter.take(caller)
    clock.now += 5
    limiter.take("d")
    assert set(limiter._buckets) == {"d"}


async def test_a_client_over_its_rate_gets_429_with_retry_after(
        limited: httpx.AsyncClient, sign: Sign) -> None:
    map_foundation = partner(sign, "partner-map-foundation")
    assert [(await limited.get(PROBE, headers=map_foundation)).status_code
            for _ in range(3)] == [200] * 3
    refused = await limited.get(PROBE, headers=map_foundation)
    body = problem(refused, 429)
    assert body["type"].endswith("/rate-limited")
    assert refused.headers["retry-after"] == "1"
    # a new token of the same client shares the bucket; another client has its own
    again = partner(sign, "partner-map-foundation", jti="another-token")
    assert (await limited.get(PROBE, headers=again)).status_code == 429
    tenaganita = partner(sign, "partner-tenaganita")
    assert (await limited.get(PROBE, headers=tenaganita)).status_code == 200


async def test_forged_tokens_do_not_empty_a_clients_bucket(
        limited: httpx.AsyncClient, sign: Sign, new_key: Callable[[str], Any]) -> None:
    forged = partner(sign, "partner-tenaganita", key=new_key("gw-key-1"))
    for _ in range(5):
        problem(await limited.get(PROBE, headers=forged), 401)
    real = partner(sign, "partner-tenaganita")
    assert [(await limited.get(PROBE, headers=real)).status_code
            for _ in range(3)] == [200] * 3


async def test_reporters_are_never_rate_limited(limited: httpx.AsyncClient) -> None:
    """No token, no address: receipt checks are limited per reference inside intake."""
    lookup = {"reference": "SR-AAAA-BBBB", "receipt": "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GG"}
    statuses = {(await limited.post("/api/v1/reports/lookup", json=lookup)).status_code
                for _ in range(8)}
    assert statuses == {503}  # no intake in this test; never a 429


# size ----------------------------------------------------------------------------------------
class Body:
    """A request body sent in 4 KiB chunks, counting what the server pulled."""

    def __init__(self, size: int) -> None:
        self.size, self.pulled = size, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunk = b"[" + b" " * 4094 + b"]"
        for _ in range(self.size // len(chunk)):
            self.pulled += 1
            yield chunk


@pytest.mark.parametrize("idempotency", [{}, {"Idempotency-Key": "k" * 20}])
async def test_a_declared_large_body_is_refused_unread(limited: httpx.AsyncClient,
                                                      idempotency: dict[str, str]) -> None:
    body = Body(64 * 1024)
    reply = await limited.post("/api/v1/reports", content=body, headers={
        "content-type": "application/json", "content-length": str(body.size), **idempotency})
    assert problem(reply, 413)["type"].endswith("/too-large")
    assert "16 KiB" in reply.json()["detail"]
    assert body.pulled == 0


async def test_a_chunked_body_is_cut_off_at_the_limit(limited: httpx.AsyncClient) -> None:
    body = Body(1024 * 1024)
    reply = await limited.post("/api/v1/reports", content=body,
                               headers={"content-type": "application/json"})
    problem(reply, 413)
    assert 4 <= body.pulled <= 6  # 16 KiB and a little, of 256 chunks


@pytest.mark.parametrize("path", ["/api/v1/reports", "/api/v1/reports/lookup"])
async def test_a_body_within_the_limit_goes_through(limited: httpx.AsyncClient,
                                                    path: str) -> None:
    answers = {"what_happened": "x" * (15 * 1024)}
    reply = await limited.post(path, json={"organisation": "tenaganita", "answers": answers})
    assert reply.status_code in (422, 503), reply.text


async def test_uploads_keep_their_own_larger_limit(limited: httpx.AsyncClient) -> None:
    files = {"file": ("notes.txt", b"plain text, not a photo " * 4096, "text/plain")}
    reply = await limited.post("/api/v1/uploads", files=files)  # 96 KiB
    assert problem(reply, 422)["errors"][0]["field"] == "file"  # judged, not cut off
    body = Body(attach.MAX_BODY + 4096)
    reply = await limited.post("/api/v1/uploads", content=body, headers={
        "content-type": "multipart/form-data; boundary=x", "content-length": str(body.size)})
    assert "files of up to" in problem(reply, 413)["detail"]
    assert body.pulled == 0


# cross-origin --------------------------------------------------------------------------------
PREFLIGHT = {"Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization, content-type, idempotency-key"}


async def test_cross_origin_is_closed_by_default(client: httpx.AsyncClient) -> None:
    preflight = await client.options("/api/v1/partner/reports",
                                     headers={"Origin": ORIGIN, **PREFLIGHT})
    assert preflight.status_code == 405
    assert not any(h.startswith("access-control-") for h in preflight.headers)
    plain = await client.get("/healthz", headers={"Origin": ORIGIN})
    assert "access-control-allow-origin" not in plain.headers


async def test_configured_origins_may_call_the_api(nats_url: str,
                                                   validator: TokenValidator) -> None:
    async with gateway(nats_url, validator, cors_origins=[ORIGIN]) as http:
        preflight = await http.options("/api/v1/partner/reports",
                                       headers={"Origin": ORIGIN, **PREFLIGHT})
        assert preflight.status_code == 200, preflight.text
        assert preflight.headers["access-control-allow-origin"] == ORIGIN
        assert "POST" in preflight.headers["access-control-allow-methods"]
        allowed = preflight.headers["access-control-allow-headers"].lower()
        assert {"authorization", "content-type", "idempotency-key"} <= {
            h.strip() for h in allowed.split(",")}
        assert "access-control-allow-credentials" not in preflight.headers
        assert preflight.headers["content-security-policy"] == CSP
        plain = await http.get("/healthz", headers={"Origin": ORIGIN})
        assert plain.headers["access-control-allow-origin"] == ORIGIN
        assert "retry-after" in plain.headers["access-control-expose-headers"].lower()

        stranger = {"Origin": "https://evil.example", **PREFLIGHT}
        refused = await http.options("/api/v1/partner/reports", headers=stranger)
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers
        plain = await http.get("/healthz", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in plain.headers


@pytest.mark.parametrize("origin", ["*", "https://console.suara.test/", "console.suara.test",
                                    "https://*.suara.test"])
def test_cors_origins_must_be_exact(origin: str) -> None:
    with pytest.raises(ValidationError, match="not an origin"):
        GatewaySettings(cors_origins=[origin])
