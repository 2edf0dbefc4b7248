"""Every way a bearer token can be wrong is refused at the gateway; keys rotate at the issuer.

The cases, and where each is tested over HTTP (`suara_kit`'s own tests cover the validator):
expired, wrong or missing audience, wrong issuer, no `sub`, an ID token, `alg: none`, an unknown
kid, a signature by another key under a known kid, malformed tokens: test_auth_http.py. Not yet
valid (`nbf`), HS256 signed with the issuer's public key, an algorithm outside the allow-list,
no `exp`, no kid, a key offered in the header (`jwk`, `jku`), key rotation, and each partner
client carrying exactly its organisation: here. A partner client whose token carries no
organisation: tests/integration/test_partner_gateway.py (it is refused by the services).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey
from starlette.types import Receive, Scope, Send

from suara_devissuer.app import create_app as create_issuer
from suara_devissuer.realm import load_realm
from suara_devissuer.settings import DevIssuerSettings, find_realm_file
from suara_gateway.app import create_app
from suara_gateway.deps import actor_of
from suara_gateway.settings import GatewaySettings
from suara_kit.auth import TokenValidator

Sign = Callable[..., str]
Claims = Callable[..., dict[str, Any]]
JWKS_URL = "https://id.suara.test/realms/suara/protocol/openid-connect/certs"
PROBE = "/api/v1/webhook-event-types"  # a partner route that needs no service


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def by_hand(header: dict[str, Any], claims: dict[str, Any], signer: Callable[[bytes], bytes]
            ) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64(signer(signing_input.encode()))}"


async def refused(client: httpx.AsyncClient, token: str) -> str:
    reply = await client.get("/api/v1/cases", headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 401, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.headers["www-authenticate"] == 'Bearer realm="suara"'
    return str(reply.json()["detail"])


async def test_a_token_not_yet_valid_is_401(client: httpx.AsyncClient, sign: Sign) -> None:
    assert "nbf" in await refused(client, sign(nbf=int(time.time()) + 3600))


async def test_a_token_without_exp_is_401(client: httpx.AsyncClient, sign: Sign) -> None:
    assert "exp" in await refused(client, sign(exp=None))


async def test_hs256_signed_with_the_public_key_is_401(
        client: httpx.AsyncClient, signing_key: RSAKey, make_claims: Claims,
        jwks_requests: list[str]) -> None:
    secret = signing_key.as_pem(private=False)
    token = by_hand({"alg": "HS256", "typ": "JWT", "kid": signing_key.kid}, make_claims(),
                    lambda data: hmac.new(secret, data, hashlib.sha256).digest())
    assert "not allowed" in await refused(client, token)
    assert jwks_requests == []


async def test_an_algorithm_outside_the_allow_list_is_401(
        client: httpx.AsyncClient, signing_key: RSAKey, make_claims: Claims) -> None:
    key = RSAKey.import_key({**signing_key.as_dict(private=True), "alg": "RS512"})
    token = jwt.encode({"alg": "RS512", "kid": key.kid}, make_claims(), key,
                       algorithms=["RS512"])
    assert "not allowed" in await refused(client, token)


async def test_a_token_without_kid_is_401(client: httpx.AsyncClient, signing_key: RSAKey,
                                          make_claims: Claims) -> None:
    token = jwt.encode({"alg": "RS256"}, make_claims(), signing_key, algorithms=["RS256"])
    assert "kid" in await refused(client, token)


async def test_a_key_offered_in_the_header_is_not_trusted(
        client: httpx.AsyncClient, make_claims: Claims, new_key: Callable[[str], RSAKey],
        jwks_requests: list[str]) -> None:
    attacker = ECKey.generate_key("P-256", parameters={"kid": "attacker-jwk"})
    embedded = {"alg": "ES256", "kid": "attacker-jwk", "jwk": attacker.as_dict(private=False)}
    token = jwt.encode(embedded, make_claims(), attacker, algorithms=["ES256"])
    assert "unknown key" in await refused(client, token)
    elsewhere = {"alg": "RS256", "kid": "attacker", "jku": "https://evil.example/jwks"}
    token = jwt.encode(elsewhere, make_claims(), new_key("attacker"), algorithms=["RS256"])
    assert "unknown key" in await refused(client, token)
    assert set(jwks_requests) == {JWKS_URL}


# issuer key rotation and partner identity, with the development issuer ------------------------
ISSUER_BASE = "http://issuer.test"
ISSUER = f"{ISSUER_BASE}/realms/suara"
TOKEN_PATH = "/realms/suara/protocol/openid-connect/token"


class RotatingIssuer:
    """The development issuer, restarted on another key file when `rotate` is called; counts
    JWKS fetches."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.generation, self.jwks_fetches = folder, 0, 0
        self.app = self._start()

    def _start(self) -> FastAPI:
        return create_issuer(DevIssuerSettings(
            env="development", base_url=ISSUER_BASE, realm_file=find_realm_file(),
            key_file=self.folder / f"signing-{self.generation}.pem"))

    def rotate(self) -> None:
        self.generation += 1
        self.app = self._start()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].endswith("/certs"):
            self.jwks_fetches += 1
        await self.app(scope, receive, send)

    async def token(self, client: str) -> dict[str, str]:
        """A client-credentials token from the issuer as it is now."""
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self),
                                     base_url=ISSUER_BASE) as http:
            reply = await http.post(TOKEN_PATH, data={"grant_type": "client_credentials"},
                                    auth=(client, f"dev-secret-{client}"))
        assert reply.status_code == 200, reply.text
        return {"Authorization": f"Bearer {reply.json()['access_token']}"}


class Clock:
    """Real time, moved on by hand."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def issuer(tmp_path: Path) -> RotatingIssuer:
    return RotatingIssuer(tmp_path)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def behind_issuer(nats_url: str, issuer: RotatingIssuer, clock: Clock
                        ) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway, trusting the rotating issuer (keys refetched at most every 30 s)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=issuer),
                                 base_url=ISSUER_BASE) as to_issuer:
        validator = TokenValidator(issuer=ISSUER, audience="suara-api", http=to_issuer,
                                   clock=clock)
        app = create_app(GatewaySettings(nats_url=nats_url, oidc_issuer=ISSUER), validator)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport,
                                         base_url="http://gateway.test") as http:
                yield http


async def test_rotation_at_the_issuer_trusts_the_new_key_and_drops_the_old(
        behind_issuer: httpx.AsyncClient, issuer: RotatingIssuer, clock: Clock,
        new_key: Callable[[str], RSAKey], make_claims: Claims) -> None:
    http = behind_issuer
    old = await issuer.token("partner-tenaganita")
    assert (await http.get(PROBE, headers=old)).status_code == 200
    assert issuer.jwks_fetches == 1

    issuer.rotate()  # restarted on another key: the old one is no longer published
    new = await issuer.token("partner-tenaganita")
    # within 30 s of the last fetch an unknown kid does not reach the issuer again
    early = await http.get(PROBE, headers=new)
    assert (early.status_code, issuer.jwks_fetches) == (401, 1)
    assert "unknown key" in early.json()["detail"]

    clock.offset += 31
    assert (await http.get(PROBE, headers=new)).status_code == 200
    assert issuer.jwks_fetches == 2
    gone = await http.get(PROBE, headers=old)  # unexpired, but its key was withdrawn
    assert gone.status_code == 401
    assert "unknown key" in gone.json()["detail"]

    stranger = new_key("stranger")
    for n in range(10):  # a burst of unknown kids: refetching stays rate-limited
        token = jwt.encode({"alg": "RS256", "kid": f"stranger-{n}"},
                           make_claims(iss=ISSUER, realm_access={"roles": ["cso-partner"]}),
                           stranger, algorithms=["RS256"])
        reply = await http.get(PROBE, headers={"Authorization": f"Bearer {token}"})
        assert reply.status_code == 401
    assert issuer.jwks_fetches == 2
    assert (await http.get(PROBE, headers=new)).status_code == 200


async def test_each_partner_client_carries_exactly_its_organisation(
        issuer: RotatingIssuer) -> None:
    realm = load_realm(find_realm_file())
    partners = {user.service_account_client_id: user for user in realm.users.values()
                if user.service_account_client_id and "cso-partner" in user.realm_roles}
    assert set(partners) == {"partner-map-foundation", "partner-tenaganita"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=issuer),
                                 base_url=ISSUER_BASE) as to_issuer:
        validator = TokenValidator(issuer=ISSUER, audience="suara-api", http=to_issuer)
        for client in partners:
            token = (await issuer.token(client))["Authorization"].removeprefix("Bearer ")
            actor = actor_of(await validator.validate(token))
            assert actor.client_id == client
            assert actor.roles == ["cso-partner"]
            assert actor.organisation == client.removeprefix("partner-")
            groups = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "==="))["groups"]
            assert groups == [f"/organisations/{actor.organisation}"]
