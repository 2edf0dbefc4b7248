"""The gateway built by `create_app`, its lifespan entered on the test's nats-server, with a token
validator fed by an in-test JWKS."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from joserfc import jwt
from joserfc.jwk import RSAKey

from suara_gateway.app import create_app
from suara_gateway.settings import GatewaySettings
from suara_kit.auth import TokenValidator

ISSUER = "https://id.suara.test/realms/suara"
JWKS_URL = f"{ISSUER}/protocol/openid-connect/certs"
AUDIENCE = "suara-api"

Sign = Callable[..., str]


def rsa_key(kid: str) -> RSAKey:
    """A fresh RS256 signing key with the given kid."""
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


@pytest.fixture(scope="session")
def signing_key() -> RSAKey:
    return rsa_key("gw-key-1")


@pytest.fixture
def jwks_requests() -> list[str]:
    return []


@pytest.fixture
async def validator(signing_key: RSAKey, jwks_requests: list[str]
                    ) -> AsyncIterator[TokenValidator]:
    def handle(request: httpx.Request) -> httpx.Response:
        jwks_requests.append(str(request.url))
        if str(request.url) == JWKS_URL:
            return httpx.Response(200, json={"keys": [signing_key.as_dict(private=False)]})
        return httpx.Response(404)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handle))
    v = TokenValidator(issuer=ISSUER, audience=AUDIENCE, jwks_url=JWKS_URL, http=http)
    yield v
    await http.aclose()


def claims(**overrides: Any) -> dict[str, Any]:
    """Keycloak-shaped access-token claims for a Tenaganita case handler, valid now."""
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": ISSUER, "sub": "staff-7", "aud": [AUDIENCE, "account"], "azp": "suara-console",
        "typ": "Bearer", "iat": now, "exp": now + 300,
        "realm_access": {"roles": ["case-handler"]}, "groups": ["/organisations/tenaganita"],
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


@pytest.fixture
def sign(signing_key: RSAKey) -> Sign:
    """A bearer token: `sign(**claim_overrides)`, optionally `key=` another key."""

    def make(key: RSAKey | None = None, **overrides: Any) -> str:
        key = key or signing_key
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims(**overrides), key,
                          algorithms=["RS256"])

    return make


@pytest.fixture
def gateway(nats_url: str, validator: TokenValidator) -> FastAPI:
    """The real gateway app, not yet started."""
    settings = GatewaySettings(nats_url=nats_url, oidc_issuer=ISSUER, oidc_audience=AUDIENCE,
                               rpc_timeout=2)
    return create_app(settings, validator)


@pytest.fixture
async def client(gateway: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the gateway with its lifespan entered."""
    async with gateway.router.lifespan_context(gateway):
        transport = httpx.ASGITransport(app=gateway, client=("203.0.113.7", 41000))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            yield http


@pytest.fixture
def make_claims() -> Callable[..., dict[str, Any]]:
    """`claims(**overrides)`, for tests that assemble tokens by hand."""
    return claims


@pytest.fixture
def new_key() -> Callable[[str], RSAKey]:
    """`rsa_key(kid)`: a key the issuer does not publish."""
    return rsa_key
