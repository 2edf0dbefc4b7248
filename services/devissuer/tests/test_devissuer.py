"""Tests for the development OIDC issuer, exercised in-process through ASGITransport."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from suara_devissuer.__main__ import main
from suara_devissuer.app import create_app
from suara_devissuer.realm import check_realm, load_realm, parse_realm
from suara_devissuer.settings import DevIssuerSettings, find_realm_file
from suara_kit.auth import TokenValidator
from suara_kit.errors import InvalidToken

BASE_URL = "http://devissuer.test"
ISSUER = f"{BASE_URL}/realms/suara"
TOKEN_PATH = "/realms/suara/protocol/openid-connect/token"
MAP_SECRET = "dev-secret-partner-map-foundation"
PASSWORD = "suara-dev"


def settings(**overrides: Any) -> DevIssuerSettings:
    """Test settings: development env, the repo's realm, an in-memory key; env vars ignored."""
    values: dict[str, Any] = {"env": "development", "base_url": BASE_URL,
                              "realm_file": find_realm_file(), "key_file": None}
    return DevIssuerSettings(**(values | overrides))


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app(settings())


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


@pytest.fixture
async def validator(http: httpx.AsyncClient) -> AsyncIterator[TokenValidator]:
    v = TokenValidator(issuer=ISSUER, audience="suara-api", http=http)
    yield v
    await v.aclose()


def claims_of(token: str) -> dict[str, Any]:
    """The unverified payload of a compact JWT (the validator checks it separately)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def header_of(token: str) -> dict[str, Any]:
    """The unverified header of a compact JWT."""
    header = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))


async def password_grant(http: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    """POST a password grant through the public command-line client."""
    form = {"grant_type": "password", "client_id": "suara-cli", "username": username,
            "password": password}
    return await http.post(TOKEN_PATH, data=form)


def test_refuses_to_start_in_production() -> None:
    with pytest.raises(RuntimeError, match="refuses to start: SUARA_ENV is 'production'"):
        create_app(DevIssuerSettings(env="production", base_url=BASE_URL))


def test_refuses_to_start_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUARA_ENV", "staging")
    with pytest.raises(RuntimeError, match="'staging'"):
        create_app(DevIssuerSettings())


def test_main_exits_with_message_in_production(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SUARA_ENV", "production")
    assert main(["--host", "127.0.0.1", "--port", "0"]) == 2
    assert "refuses to start" in capsys.readouterr().err


def test_settings_find_the_repo_realm_file() -> None:
    realm_file = find_realm_file()
    assert realm_file.is_file()
    assert realm_file.parts[-3:] == ("deploy", "keycloak", "realm-suara.json")


def test_realm_export_is_consistent() -> None:
    realm = load_realm(find_realm_file())
    check_realm(realm)
    assert realm.access_token_lifespan == 300
    assert set(realm.roles) == {"case-handler", "mediator", "cso-partner", "worker-committee",
                                "employer-liaison", "admin", "consent-override"}
    assert realm.groups["/organisations/map-foundation"].attributes["country"] == ("TH",)
    api, norole = realm.client("suara-api"), realm.user("norole.tenaganita")
    assert api is not None
    assert api.bearer_only
    assert norole is not None
    assert norole.realm_roles == ()


def test_inconsistent_realm_is_rejected() -> None:
    data = {"realm": "x", "users": [{"id": "1", "username": "a", "realmRoles": ["ghost"]}]}
    with pytest.raises(ValueError, match="unknown role 'ghost'"):
        check_realm(parse_realm(data))


async def test_discovery_document(http: httpx.AsyncClient) -> None:
    response = await http.get("/realms/suara/.well-known/openid-configuration")
    assert response.status_code == 200
    doc = response.json()
    assert doc["issuer"] == ISSUER
    assert doc["jwks_uri"] == f"{ISSUER}/protocol/openid-connect/certs"
    assert doc["token_endpoint"] == f"{ISSUER}/protocol/openid-connect/token"
    assert set(doc["grant_types_supported"]) == {"client_credentials", "password",
                                                 "authorization_code", "refresh_token"}
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert doc["authorization_endpoint"] == f"{ISSUER}/protocol/openid-connect/auth"
    assert doc["end_session_endpoint"] == f"{ISSUER}/protocol/openid-connect/logout"
    assert doc["response_types_supported"] == ["code"]
    assert "S256" in doc["code_challenge_methods_supported"]


async def test_jwks_publishes_only_the_public_key(http: httpx.AsyncClient) -> None:
    keys = (await http.get("/realms/suara/protocol/openid-connect/certs")).json()["keys"]
    assert len(keys) == 1
    assert {keys[0]["kty"], keys[0]["alg"], keys[0]["use"]} == {"RSA", "RS256", "sig"}
    assert keys[0]["kid"]
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(keys[0])


async def test_unknown_realm_is_404(http: httpx.AsyncClient) -> None:
    response = await http.get("/realms/master/.well-known/openid-configuration")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


@pytest.mark.parametrize("method", ["basic", "post"])
async def test_client_credentials_token_is_accepted(
    http: httpx.AsyncClient, validator: TokenValidator, method: str
) -> None:
    if method == "basic":
        response = await http.post(TOKEN_PATH, data={"grant_type": "client_credentials"},
                                   auth=("partner-map-foundation", MAP_SECRET))
    else:
        response = await http.post(TOKEN_PATH, data={
            "grant_type": "client_credentials", "client_id": "partner-map-foundation",
            "client_secret": MAP_SECRET})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert response.headers["cache-control"] == "no-store"
    principal = await validator.validate(body["access_token"])
    assert principal.has_role("cso-partner")
    assert principal.organisation == "map-foundation"
    assert principal.client_id == "partner-map-foundation"
    assert principal.username == "service-account-partner-map-foundation"
    claims = claims_of(body["access_token"])
    assert claims["client_id"] == "partner-map-foundation"
    assert claims["groups"] == ["/organisations/map-foundation"]


async def test_service_account_subject_is_its_user_id(http: httpx.AsyncClient) -> None:
    response = await http.post(TOKEN_PATH, data={"grant_type": "client_credentials"},
                               auth=("partner-tenaganita", "dev-secret-partner-tenaganita"))
    user = load_realm(find_realm_file()).service_account("partner-tenaganita")
    assert user is not None
    assert claims_of(response.json()["access_token"])["sub"] == user.id


async def test_password_grant_token_is_accepted(
    http: httpx.AsyncClient, validator: TokenValidator
) -> None:
    response = await password_grant(http, "handler.tenaganita", PASSWORD)
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    principal = await validator.validate(token)
    assert principal.roles == frozenset({"case-handler"})
    assert principal.organisation == "tenaganita"
    assert principal.username == "handler.tenaganita"
    assert principal.client_id == "suara-cli"
    claims = claims_of(token)
    aud = claims["aud"]
    assert "suara-api" in (aud if isinstance(aud, list) else [aud])
    assert claims["iss"] == ISSUER
    assert claims["typ"] == "Bearer"
    assert claims["exp"] - claims["iat"] == 300
    assert claims["jti"]
    assert "client_id" not in claims
    assert header_of(token)["alg"] == "RS256"
    assert header_of(token)["typ"] == "JWT"


async def test_user_without_role_still_gets_a_token(
    http: httpx.AsyncClient, validator: TokenValidator
) -> None:
    response = await password_grant(http, "norole.tenaganita", PASSWORD)
    principal = await validator.validate(response.json()["access_token"])
    assert principal.roles == frozenset()
    assert principal.organisation == "tenaganita"


async def test_token_from_another_issuer_url_is_refused(http: httpx.AsyncClient) -> None:
    token = (await password_grant(http, "admin", PASSWORD)).json()["access_token"]
    other = TokenValidator(issuer=ISSUER, audience="suara-api",
                           jwks_url=f"{ISSUER}/protocol/openid-connect/certs", http=http)
    assert (await other.validate(token)).has_role("admin")
    wrong_issuer = TokenValidator(issuer="http://localhost:8180/realms/suara",
                                  audience="suara-api",
                                  jwks_url=f"{ISSUER}/protocol/openid-connect/certs", http=http)
    with pytest.raises(InvalidToken, match="iss"):
        await wrong_issuer.validate(token)


@pytest.mark.parametrize(
    ("auth", "form"),
    [
        (("partner-map-foundation", "wrong"), {}),
        (None, {"client_id": "partner-map-foundation", "client_secret": "wrong"}),
        (None, {"client_id": "partner-map-foundation"}),
        (None, {"client_id": "nobody", "client_secret": MAP_SECRET}),
        (("partner-tenaganita", MAP_SECRET), {}),
        (None, {"client_id": "suara-api"}),
    ],
)
async def test_bad_client_credentials_are_invalid_client(
    http: httpx.AsyncClient, auth: tuple[str, str] | None, form: dict[str, str]
) -> None:
    response = await http.post(TOKEN_PATH, data={"grant_type": "client_credentials", **form},
                               auth=auth)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert MAP_SECRET not in response.text


@pytest.mark.parametrize(
    ("username", "password"),
    [("handler.tenaganita", "wrong"), ("ghost", PASSWORD), ("service-account-partner-tenaganita",
                                                            PASSWORD)],
)
async def test_wrong_password_is_invalid_grant(
    http: httpx.AsyncClient, username: str, password: str
) -> None:
    response = await password_grant(http, username, password)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant",
                               "error_description": "invalid user credentials"}


async def test_public_client_cannot_use_client_credentials(http: httpx.AsyncClient) -> None:
    response = await http.post(TOKEN_PATH, data={"grant_type": "client_credentials",
                                                 "client_id": "suara-console"})
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"


async def test_partner_cannot_use_password_grant(http: httpx.AsyncClient) -> None:
    response = await http.post(
        TOKEN_PATH, auth=("partner-map-foundation", MAP_SECRET),
        data={"grant_type": "password", "username": "handler.map", "password": PASSWORD})
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"


@pytest.mark.parametrize(
    "grant_type", ["implicit", "urn:ietf:params:oauth:grant-type:device_code"]
)
async def test_unsupported_grant_type(http: httpx.AsyncClient, grant_type: str) -> None:
    response = await http.post(TOKEN_PATH, data={"grant_type": grant_type,
                                                 "client_id": "suara-console"})
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


async def test_missing_grant_type_is_invalid_request(http: httpx.AsyncClient) -> None:
    response = await http.post(TOKEN_PATH, data={"client_id": "suara-console"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_token_endpoint_on_unknown_realm_is_404(http: httpx.AsyncClient) -> None:
    response = await http.post("/realms/other/protocol/openid-connect/token",
                               data={"grant_type": "client_credentials"})
    assert response.status_code == 404


async def jwks_kid(app: FastAPI) -> str:
    """The kid an app publishes."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        keys = (await client.get("/realms/suara/protocol/openid-connect/certs")).json()["keys"]
    return keys[0]["kid"]


async def test_persisted_key_survives_restart(tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / "devissuer.pem"
    first = create_app(settings(key_file=key_file))
    assert key_file.is_file()
    assert key_file.stat().st_mode & 0o077 == 0
    second = create_app(settings(key_file=key_file))
    assert await jwks_kid(first) == await jwks_kid(second)
    assert await jwks_kid(create_app(settings())) != await jwks_kid(first)


async def test_token_from_before_restart_stays_valid(tmp_path: Path) -> None:
    key_file = tmp_path / "devissuer.pem"
    transport = httpx.ASGITransport(app=create_app(settings(key_file=key_file)))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        token = (await password_grant(client, "mediator.tenaganita", PASSWORD)).json()
    transport = httpx.ASGITransport(app=create_app(settings(key_file=key_file)))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        validator = TokenValidator(issuer=ISSUER, audience="suara-api", http=client)
        principal = await validator.validate(token["access_token"])
    assert principal.has_role("mediator")
