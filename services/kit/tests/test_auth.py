"""Tests for suara_kit.auth: token validation against an in-process JWKS."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from suara_kit.auth import Principal, TokenValidator
from suara_kit.errors import InvalidToken, Unavailable

ISSUER = "https://id.suara.test/realms/suara"
JWKS_URL = f"{ISSUER}/protocol/openid-connect/certs"
DISCOVERY_URL = f"{ISSUER}/.well-known/openid-configuration"
AUDIENCE = "suara-api"
T0 = 1_750_000_000.0


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeIssuer:
    """Serves discovery and a mutable JWKS, counting requests per path."""

    def __init__(self, *keys: RSAKey) -> None:
        self.keys = list(keys)
        self.requests: Counter[str] = Counter()
        self.outage: str | None = None

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests[request.url.path] += 1
        if self.outage == "network":
            raise httpx.ConnectError("connection refused", request=request)
        if self.outage == "status":
            return httpx.Response(503, text="down")
        if str(request.url) == DISCOVERY_URL:
            return httpx.Response(200, json={"issuer": ISSUER, "jwks_uri": JWKS_URL})
        if str(request.url) == JWKS_URL:
            return httpx.Response(200, json={"keys": [k.as_dict(private=False) for k in self.keys]})
        return httpx.Response(404)

    @property
    def jwks_fetches(self) -> int:
        return self.requests[httpx.URL(JWKS_URL).path]

    @property
    def total(self) -> int:
        return sum(self.requests.values())


def rsa_key(kid: str) -> RSAKey:
    """A fresh RS256 signing key with the given kid."""
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


@pytest.fixture(scope="module")
def key1() -> RSAKey:
    return rsa_key("key-1")


@pytest.fixture(scope="module")
def key2() -> RSAKey:
    return rsa_key("key-2")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def issuer(key1: RSAKey) -> FakeIssuer:
    return FakeIssuer(key1)


@pytest.fixture
async def validator(issuer: FakeIssuer, clock: Clock) -> AsyncIterator[TokenValidator]:
    http = httpx.AsyncClient(transport=httpx.MockTransport(issuer.handle))
    v = TokenValidator(issuer=ISSUER, audience=AUDIENCE, http=http, clock=clock)
    yield v
    await v.aclose()
    await http.aclose()


def claims(clock: Clock, **overrides: Any) -> dict[str, Any]:
    """Keycloak-shaped access-token claims, valid at the clock's time."""
    base: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "3f0c6f57-7d1b-4bd5-b0f4-0d2f1d6f0a01",
        "aud": ["suara-api", "account"],
        "azp": "suara-console",
        "typ": "Bearer",
        "iat": int(clock()),
        "exp": int(clock()) + 300,
        "preferred_username": "handler.tenaganita",
        "realm_access": {"roles": ["case-handler", "offline_access"]},
        "groups": ["/organisations/tenaganita", "/staff"],
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(key: RSAKey, payload: dict[str, Any], alg: str = "RS256") -> str:
    """Sign claims with the key, naming its kid in the header."""
    return jwt.encode({"alg": alg, "kid": key.kid}, payload, key, algorithms=[alg])


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_built(
    header: dict[str, Any], payload: dict[str, Any], signer: Callable[[bytes], bytes]
) -> str:
    """A compact JWS assembled by hand, bypassing any library checks."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    return f"{signing_input}.{b64(signer(signing_input.encode()))}"


async def test_valid_token_gives_principal(
    validator: TokenValidator, key1: RSAKey, clock: Clock, issuer: FakeIssuer
) -> None:
    principal = await validator.validate(sign(key1, claims(clock)))
    assert principal == Principal(
        subject="3f0c6f57-7d1b-4bd5-b0f4-0d2f1d6f0a01",
        username="handler.tenaganita",
        client_id="suara-console",
        roles=frozenset({"case-handler", "offline_access"}),
        organisations=("tenaganita",),
    )
    assert principal.organisation == "tenaganita"
    assert principal.has_role("case-handler")
    assert not principal.has_role("admin")
    assert issuer.requests[httpx.URL(DISCOVERY_URL).path] == 1
    assert issuer.jwks_fetches == 1


async def test_keys_are_cached_between_tokens(
    validator: TokenValidator, key1: RSAKey, clock: Clock, issuer: FakeIssuer
) -> None:
    for _ in range(3):
        await validator.validate(sign(key1, claims(clock)))
    assert issuer.total == 2


async def test_audience_may_be_a_single_string(
    validator: TokenValidator, key1: RSAKey, clock: Clock
) -> None:
    principal = await validator.validate(sign(key1, claims(clock, aud="suara-api")))
    assert principal.subject


async def test_expired_token_is_refused(
    validator: TokenValidator, key1: RSAKey, clock: Clock
) -> None:
    token = sign(key1, claims(clock, exp=int(clock()) - 31))
    with pytest.raises(InvalidToken, match="expired") as info:
        await validator.validate(token)
    assert info.value.status == 401


async def test_expiry_within_leeway_is_accepted(
    validator: TokenValidator, key1: RSAKey, clock: Clock
) -> None:
    principal = await validator.validate(sign(key1, claims(clock, exp=int(clock()) - 10)))
    assert principal.username == "handler.tenaganita"


async def test_missing_exp_is_refused(
    validator: TokenValidator, key1: RSAKey, clock: Clock
) -> None:
    with pytest.raises(InvalidToken, match="exp"):
        await validator.validate(sign(key1, claims(clock, exp=None)))


async def test_not_before_in_future_is_refused(
    validator: TokenValidator, key1: RSAKey, clock: Clock
) -> None:
    with pytest.raises(InvalidToken, match="nbf"):
        await validator.validate(sign(key1, claims(clock, nbf=int(clock()) + 120)))


@pytest.mark.parametrize("aud", ["account", ["account", "suara-web"]])
async def test_wrong_audience_is_refused(
    validator: TokenValidator, key1: RSAKey, clock: Clock, aud: str | list[str]
) -> None:
    with pytest.raises(InvalidToken, match="aud"):
        await validator.validate(sign(key1, claims(clock, aud=aud)))


async def test_missing_audience_is_refused(
    validator: TokenValidator, key1: RSAKey, clock: Clock
) -> None:
    with pytest.raises(InvalidToken, match="aud"):
        await validator.validate(sign(key1, claims(clock, aud=None)))


@pytest.mark.parametrize("iss", [ISSUER + "/", "https://evil.test/realms/suara", "suara"])
async def test_wrong_issuer_is_refused(
    validator: TokenValidator, key1: RSAKey, clock: Clock, iss: str
) -> None:
    with pytest.raises(InvalidToken, match="iss"):
        await validator.validate(sign(key1, claims(clock, iss=iss)))


async def test_id_token_is_not_an_access_token(
    validator: TokenValidator, key1: RSAKey, clock: Clock
) -> None:
    with pytest.raises(InvalidToken, match="not an access token"):
        await validator.validate(sign(key1, claims(clock, typ="ID")))


async def test_an_id_token_validator_reads_id_tokens_and_refuses_access_tokens(
    issuer: FakeIssuer, key1: RSAKey, clock: Clock
) -> None:
    http = httpx.AsyncClient(transport=httpx.MockTransport(issuer.handle))
    ids = TokenValidator(issuer=ISSUER, audience="suara-console", http=http, clock=clock,
                         token_type="ID")
    id_token = sign(key1, claims(clock, typ="ID", aud="suara-console", nonce="n-1"))
    verified = await ids.verified_claims(id_token)
    assert verified["nonce"] == "n-1"
    with pytest.raises(InvalidToken, match="not of type 'ID'"):
        await ids.verified_claims(sign(key1, claims(clock, aud="suara-console")))
    with pytest.raises(InvalidToken, match="aud"):
        await ids.verified_claims(sign(key1, claims(clock, typ="ID")))
    await http.aclose()


async def test_alg_none_is_refused_before_any_key_lookup(
    validator: TokenValidator, key1: RSAKey, clock: Clock, issuer: FakeIssuer
) -> None:
    token = hand_built({"alg": "none", "typ": "JWT", "kid": key1.kid}, claims(clock), lambda _: b"")
    with pytest.raises(InvalidToken, match="not allowed"):
        await validator.validate(token)
    assert issuer.total == 0


async def test_hs256_signed_with_public_key_is_refused(
    validator: TokenValidator, key1: RSAKey, clock: Clock, issuer: FakeIssuer
) -> None:
    secret = key1.as_pem(private=False)
    token = hand_built(
        {"alg": "HS256", "typ": "JWT", "kid": key1.kid},
        claims(clock),
        lambda data: hmac.new(secret, data, hashlib.sha256).digest(),
    )
    with pytest.raises(InvalidToken, match="not allowed"):
        await validator.validate(token)
    assert issuer.total == 0


def test_unsafe_algorithm_allow_list_is_rejected() -> None:
    with pytest.raises(ValueError, match="unsafe"):
        TokenValidator(issuer=ISSUER, audience=AUDIENCE, algorithms=("RS256", "HS256"))


async def test_tampered_payload_has_bad_signature(
    validator: TokenValidator, key1: RSAKey, clock: Clock
) -> None:
    header, _, signature = sign(key1, claims(clock)).split(".")
    forged = b64(json.dumps(claims(clock, realm_access={"roles": ["admin"]})).encode())
    with pytest.raises(InvalidToken, match="signature"):
        await validator.validate(f"{header}.{forged}.{signature}")


async def test_token_signed_by_other_key_with_known_kid_is_refused(
    validator: TokenValidator, key2: RSAKey, clock: Clock
) -> None:
    impostor = RSAKey.import_key(key2.as_dict(private=True) | {"kid": "key-1"})
    with pytest.raises(InvalidToken, match="signature"):
        await validator.validate(sign(impostor, claims(clock)))


@pytest.mark.parametrize("token", ["", "abc", "a.b", "a.b.c.d", "!!!.e30.x", "bnVsbA.e30.x"])
async def test_malformed_token_is_refused(validator: TokenValidator, token: str) -> None:
    with pytest.raises(InvalidToken, match="malformed"):
        await validator.validate(token)


async def test_missing_kid_is_refused(
    validator: TokenValidator, key1: RSAKey, clock: Clock
) -> None:
    token = jwt.encode({"alg": "RS256"}, claims(clock), key1, algorithms=["RS256"])
    with pytest.raises(InvalidToken, match="kid"):
        await validator.validate(token)


async def test_unknown_kid_refreshes_at_most_once_per_interval(
    validator: TokenValidator, key1: RSAKey, clock: Clock, issuer: FakeIssuer
) -> None:
    await validator.validate(sign(key1, claims(clock)))
    assert issuer.jwks_fetches == 1
    clock.advance(31)
    with pytest.raises(InvalidToken, match="unknown key"):
        await validator.validate(sign(rsa_key("ghost-1"), claims(clock)))
    assert issuer.jwks_fetches == 2
    clock.advance(5)
    with pytest.raises(InvalidToken, match="unknown key"):
        await validator.validate(sign(rsa_key("ghost-2"), claims(clock)))
    assert issuer.jwks_fetches == 2


async def test_unknown_kid_right_after_fetch_does_not_refetch(
    validator: TokenValidator, key1: RSAKey, clock: Clock, issuer: FakeIssuer
) -> None:
    with pytest.raises(InvalidToken, match="unknown key"):
        await validator.validate(sign(rsa_key("ghost"), claims(clock)))
    assert issuer.jwks_fetches == 1


async def test_key_rotation_is_picked_up_on_unknown_kid(
    validator: TokenValidator, key1: RSAKey, key2: RSAKey, clock: Clock, issuer: FakeIssuer
) -> None:
    await validator.validate(sign(key1, claims(clock)))
    issuer.keys.append(key2)
    clock.advance(31)
    principal = await validator.validate(sign(key2, claims(clock)))
    assert principal.username == "handler.tenaganita"
    assert issuer.jwks_fetches == 2
    await validator.validate(sign(key1, claims(clock)))
    assert issuer.jwks_fetches == 2


@pytest.mark.parametrize("outage", ["status", "network"])
async def test_outage_keeps_last_good_keys(
    validator: TokenValidator, key1: RSAKey, clock: Clock, issuer: FakeIssuer, outage: str
) -> None:
    token = sign(key1, claims(clock, exp=int(clock()) + 7200))
    await validator.validate(token)
    issuer.outage = outage
    clock.advance(601)
    assert (await validator.validate(token)).organisation == "tenaganita"
    assert issuer.jwks_fetches == 2
    clock.advance(5)
    await validator.validate(token)
    assert issuer.jwks_fetches == 2, "a failed refresh is retried only after refresh_interval"
    issuer.outage = None
    clock.advance(30)
    await validator.validate(token)
    assert issuer.jwks_fetches == 3


async def test_no_keys_ever_is_unavailable(
    validator: TokenValidator, key1: RSAKey, clock: Clock, issuer: FakeIssuer
) -> None:
    issuer.outage = "network"
    with pytest.raises(Unavailable, match="key set unavailable") as info:
        await validator.validate(sign(key1, claims(clock)))
    assert info.value.status == 503
    issuer.outage = None
    assert (await validator.validate(sign(key1, claims(clock)))).subject


async def test_empty_key_set_does_not_replace_good_keys(
    validator: TokenValidator, key1: RSAKey, clock: Clock, issuer: FakeIssuer
) -> None:
    token = sign(key1, claims(clock, exp=int(clock()) + 7200))
    await validator.validate(token)
    issuer.keys = []
    clock.advance(601)
    assert (await validator.validate(token)).subject
    assert issuer.jwks_fetches == 2


async def test_explicit_jwks_url_skips_discovery(
    key1: RSAKey, clock: Clock, issuer: FakeIssuer
) -> None:
    http = httpx.AsyncClient(transport=httpx.MockTransport(issuer.handle))
    validator = TokenValidator(
        issuer=ISSUER, audience=AUDIENCE, jwks_url=JWKS_URL, http=http, clock=clock
    )
    await validator.validate(sign(key1, claims(clock)))
    assert issuer.total == issuer.jwks_fetches == 1
    await validator.aclose()
    assert not http.is_closed
    await http.aclose()


async def test_aclose_closes_own_client() -> None:
    validator = TokenValidator(issuer=ISSUER, audience=AUDIENCE)
    await validator.aclose()
    assert validator._http.is_closed


def test_principal_reads_service_account_claims() -> None:
    principal = Principal.from_claims({
        "sub": "svc",
        "client_id": "partner-map-foundation",
        "realm_access": {"roles": ["cso-partner", 7]},
        "groups": ["/organisations/map-foundation/chiang-mai", "/organisations/map-foundation",
                   "tenaganita", "/organisations/"],
    })
    assert principal.client_id == "partner-map-foundation"
    assert principal.roles == frozenset({"cso-partner"})
    assert principal.organisations == ("map-foundation",)
    assert principal.username is None


def test_principal_without_groups_has_no_organisation() -> None:
    principal = Principal.from_claims({"sub": "u", "realm_access": "oops", "groups": None})
    assert principal.organisation is None
    assert principal.roles == frozenset()
