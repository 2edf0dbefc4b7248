"""Bearer tokens at the gateway: every refusal is a problem+json 401 or 403, never a 500."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from joserfc.jwk import RSAKey

from suara_gateway.edge import CSP

Sign = Callable[..., str]
ISSUER = "https://id.suara.test/realms/suara"

PROBLEM = "application/problem+json"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def assert_problem(reply: httpx.Response, status: int) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == PROBLEM
    assert reply.headers["content-security-policy"] == CSP
    assert "set-cookie" not in reply.headers
    body = dict(reply.json())
    assert body["status"] == status
    assert body["type"].startswith("https://suara.example/problems/")
    return body


def assert_401(reply: httpx.Response) -> dict[str, Any]:
    body = assert_problem(reply, 401)
    assert reply.headers["www-authenticate"] == 'Bearer realm="suara"'
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_no_token_is_401_with_www_authenticate(client: httpx.AsyncClient) -> None:
    body = assert_401(await client.get("/api/v1/cases"))
    assert body["type"].endswith("/unauthorized")
    assert "Bearer" in body["detail"]


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "token abc"])
async def test_not_a_bearer_token_is_401(client: httpx.AsyncClient, header: str) -> None:
    assert_401(await client.get("/api/v1/cases", headers={"Authorization": header}))


@pytest.mark.parametrize(("overrides", "detail"), [
    ({"exp": int(time.time()) - 3600}, "expired"),
    ({"aud": "account"}, "aud"),
    ({"aud": None}, "aud"),
    ({"iss": "https://evil.test/realms/suara"}, "iss"),
    ({"iss": ISSUER + "/"}, "iss"),
    ({"sub": None}, "sub"),
    ({"typ": "ID"}, "not an access token"),
])
async def test_invalid_claims_are_401(client: httpx.AsyncClient, sign: Sign,
                                      overrides: dict[str, Any], detail: str) -> None:
    body = assert_401(await client.get("/api/v1/cases", headers=bearer(sign(**overrides))))
    assert body["type"].endswith("/invalid-token")
    assert detail in body["detail"]


async def test_alg_none_is_401(client: httpx.AsyncClient, jwks_requests: list[str],
                              make_claims: Callable[..., dict[str, Any]]) -> None:
    header = b64(json.dumps({"alg": "none", "typ": "JWT", "kid": "gw-key-1"}).encode())
    token = f"{header}.{b64(json.dumps(make_claims()).encode())}."
    body = assert_401(await client.get("/api/v1/cases", headers=bearer(token)))
    assert "not allowed" in body["detail"]
    assert jwks_requests == []


async def test_unknown_kid_is_401(client: httpx.AsyncClient, sign: Sign,
                                  new_key: Callable[[str], RSAKey]) -> None:
    token = sign(key=new_key("stranger"))
    body = assert_401(await client.get("/api/v1/cases", headers=bearer(token)))
    assert "unknown key" in body["detail"]


async def test_known_kid_with_another_keys_signature_is_401(
        client: httpx.AsyncClient, sign: Sign, new_key: Callable[[str], RSAKey]) -> None:
    impostor = new_key("gw-key-1")
    body = assert_401(await client.get("/api/v1/cases", headers=bearer(sign(key=impostor))))
    assert "signature" in body["detail"]


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "x" * 20_000])
async def test_malformed_token_is_401(client: httpx.AsyncClient, token: str) -> None:
    assert_401(await client.get("/api/v1/cases", headers=bearer(token)))


async def test_valid_token_without_the_role_is_403(client: httpx.AsyncClient, sign: Sign) -> None:
    token = sign(realm_access={"roles": ["mediator", "offline_access"]})
    reply = await client.get("/api/v1/cases", headers=bearer(token))
    body = assert_problem(reply, 403)
    assert "case-handler" in body["detail"]
    assert "www-authenticate" not in reply.headers


async def test_mediator_route_refuses_a_case_handler(client: httpx.AsyncClient, sign: Sign) -> None:
    reply = await client.post("/api/v1/cases/0190a0b0-0000-7000-8000-000000000000/sessions",
                              headers=bearer(sign()), json={
                                  "starts_at": "2026-12-06T10:00:00+08:00",
                                  "ends_at": "2026-12-06T11:00:00+08:00",
                                  "timezone": "Asia/Hong_Kong"})
    assert "mediator" in assert_problem(reply, 403)["detail"]


async def test_handler_with_no_service_running_is_503(client: httpx.AsyncClient,
                                                      sign: Sign) -> None:
    reply = await client.get("/api/v1/cases", headers=bearer(sign()))
    body = assert_problem(reply, 503)
    assert body["type"].endswith("/unavailable")
    assert "suara.rpc.cases.v1" in body["detail"]


async def test_acknowledge_with_no_service_running_is_503(client: httpx.AsyncClient,
                                                          sign: Sign) -> None:
    reply = await client.post("/api/v1/cases/0190a0b0-0000-7000-8000-000000000000/acknowledge",
                              headers=bearer(sign()), json={"message": "We have your report."})
    assert_problem(reply, 503)


async def test_bad_case_id_is_422_for_an_authorised_handler(client: httpx.AsyncClient,
                                                             sign: Sign) -> None:
    reply = await client.post("/api/v1/cases/not-a-uuid/acknowledge", headers=bearer(sign()),
                              json={"message": "hello"})
    body = assert_problem(reply, 422)
    assert body["errors"][0]["field"] == "case_id"
    assert "not-a-uuid" not in reply.text
