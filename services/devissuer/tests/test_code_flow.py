"""The development issuer's authorization code flow with PKCE, login page and logout, driven
in-process as a browser and the console's back end would drive Keycloak."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from suara_devissuer.app import create_app
from suara_devissuer.flow import CODE_LIFESPAN
from suara_devissuer.realm import check_realm, load_realm, parse_realm
from suara_devissuer.settings import DevIssuerSettings, find_realm_file
from suara_kit.auth import TokenValidator
from suara_kit.errors import InvalidToken

BASE_URL = "http://devissuer.test"
ISSUER = f"{BASE_URL}/realms/suara"
AUTH_PATH = "/realms/suara/protocol/openid-connect/auth"
TOKEN_PATH = "/realms/suara/protocol/openid-connect/token"
LOGOUT_PATH = "/realms/suara/protocol/openid-connect/logout"
CONSOLE = "suara-console"
CALLBACK = "http://127.0.0.1:8000/console/callback"
SIGNED_OUT = "http://127.0.0.1:8000/console/signed-out"
PASSWORD = "suara-dev"


class Clock:
    """A clock the test moves by hand (from now: validators check tokens on the real one)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(clock: Clock) -> FastAPI:
    settings = DevIssuerSettings(env="development", base_url=BASE_URL,
                                 realm_file=find_realm_file(), key_file=None)
    return create_app(settings, clock=clock)


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A browser: keeps the issuer's cookies, follows nothing by itself."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url=BASE_URL) as client:
        yield client


@pytest.fixture
async def backend(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The client application's server: no cookies of the browser's."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url=BASE_URL) as client:
        yield client


def pkce() -> tuple[str, str]:
    """A fresh code verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class Started:
    """An authorization request as the client made it."""

    verifier: str
    state: str
    nonce: str
    response: httpx.Response


async def start(browser: httpx.AsyncClient, **overrides: str | None) -> Started:
    """GET the authorization endpoint as the console does."""
    verifier, challenge = pkce()
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    params: dict[str, str | None] = {
        "response_type": "code", "client_id": CONSOLE, "redirect_uri": CALLBACK,
        "scope": "openid", "state": state, "nonce": nonce, "code_challenge": challenge,
        "code_challenge_method": "S256"}
    params.update(overrides)
    query = {k: v for k, v in params.items() if v is not None}
    return Started(verifier, state, nonce, await browser.get(AUTH_PATH, params=query))


def form_of(page: httpx.Response) -> tuple[str, dict[str, str]]:
    """The action and hidden fields of a page's form."""
    action = unescape(re.search(r'<form method="post" action="([^"]+)"', page.text)[1])
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    return action, {k: unescape(v) for k, v in hidden.items()}


async def sign_in(browser: httpx.AsyncClient, page: httpx.Response, username: str,
                  password: str = PASSWORD) -> httpx.Response:
    """Fill in and send the login page's form."""
    action, hidden = form_of(page)
    return await browser.post(action, data={**hidden, "username": username,
                                            "password": password})


def redirected(response: httpx.Response) -> tuple[str, dict[str, str]]:
    """Where a redirect leads: the URL without query, and the query."""
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    base = f"{location.scheme}://{location.netloc}{location.path}"
    return base, {k: v[0] for k, v in parse_qs(location.query).items()}


async def code_for(browser: httpx.AsyncClient, username: str = "handler.tenaganita",
                   **overrides: str | None) -> tuple[Started, str]:
    """An authorization request answered by a login (prompt=login, as the console asks):
    the request and its code."""
    overrides.setdefault("prompt", "login")
    started = await start(browser, **overrides)
    target, query = redirected(await sign_in(browser, started.response, username))
    assert target == CALLBACK
    assert query["state"] == started.state
    return started, query["code"]


async def redeem(backend: httpx.AsyncClient, code: str, verifier: str | None,
                 redirect_uri: str = CALLBACK) -> httpx.Response:
    """The console's back end exchanging a code."""
    form = {"grant_type": "authorization_code", "client_id": CONSOLE, "code": code,
            "redirect_uri": redirect_uri}
    if verifier is not None:
        form["code_verifier"] = verifier
    return await backend.post(TOKEN_PATH, data=form)


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_the_realm_registers_the_console_for_the_code_flow_only() -> None:
    realm = load_realm(find_realm_file())
    console, cli = realm.client(CONSOLE), realm.client("suara-cli")
    assert console is not None
    assert cli is not None
    assert console.public
    assert console.standard_flow
    assert not console.direct_access_grants
    assert console.pkce_method == "S256"
    assert CALLBACK in console.redirect_uris
    assert all("*" not in uri and uri.endswith("/console/callback")
               for uri in console.redirect_uris)
    assert SIGNED_OUT in console.post_logout_redirect_uris
    assert {m.mapper for m in console.mappers} == {"oidc-audience-mapper",
                                                   "oidc-group-membership-mapper"}
    assert cli.direct_access_grants
    assert not cli.standard_flow


async def test_a_handler_signs_in_and_the_tokens_are_keycloaks(
        browser: httpx.AsyncClient, backend: httpx.AsyncClient) -> None:
    started = await start(browser)
    page = started.response
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "form-action 'self' http://127.0.0.1:8000" in csp
    assert '<label for="username">' in page.text
    assert '<label for="password">' in page.text
    assert "<script" not in page.text
    assert "http" not in page.text.replace(BASE_URL, "")  # nothing loaded from elsewhere

    wrong = await sign_in(browser, page, "handler.tenaganita", "wrong")
    assert wrong.status_code == 401
    assert 'role="alert">Invalid username or password.</p>' in wrong.text
    assert 'value="handler.tenaganita"' in wrong.text  # the username is kept, never a password

    target, query = redirected(await sign_in(browser, wrong, "handler.tenaganita"))
    assert target == CALLBACK
    assert query["state"] == started.state
    assert query["iss"] == ISSUER
    reply = await redeem(backend, query["code"], started.verifier)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert reply.headers["cache-control"] == "no-store"
    assert body["token_type"] == "Bearer"
    assert body["scope"].split()[0] == "openid"

    access = TokenValidator(issuer=ISSUER, audience="suara-api", http=backend)
    principal = await access.validate(body["access_token"])
    assert principal.roles == frozenset({"case-handler"})
    assert principal.organisation == "tenaganita"
    assert principal.client_id == CONSOLE
    ids = TokenValidator(issuer=ISSUER, audience=CONSOLE, http=backend, token_type="ID")
    id_claims = await ids.verified_claims(body["id_token"])
    assert id_claims["nonce"] == started.nonce
    assert id_claims["sub"] == principal.subject
    assert id_claims["name"] == "Hana Handler"
    assert id_claims["preferred_username"] == "handler.tenaganita"
    assert id_claims["groups"] == ["/organisations/tenaganita"]
    assert id_claims["sid"] == body["session_state"] == claims_of(body["access_token"])["sid"]
    assert "realm_access" not in id_claims
    with pytest.raises(InvalidToken, match="'aud'"):
        await access.validate(body["id_token"])  # an ID token is never a bearer token

    again = await backend.post(TOKEN_PATH, data={
        "grant_type": "refresh_token", "client_id": CONSOLE,
        "refresh_token": body["refresh_token"]})
    assert again.status_code == 200, again.text
    assert (await access.validate(again.json()["access_token"])).subject == principal.subject
    assert "nonce" not in claims_of(again.json()["id_token"])


async def test_a_wrong_code_verifier_is_refused_and_spends_the_code(
        browser: httpx.AsyncClient, backend: httpx.AsyncClient) -> None:
    started, code = await code_for(browser)
    other_verifier, _ = pkce()
    refused = await redeem(backend, code, other_verifier)
    assert refused.status_code == 400
    assert refused.json() == {"error": "invalid_grant",
                              "error_description": "PKCE verification failed"}
    late = await redeem(backend, code, started.verifier)
    assert late.json()["error"] == "invalid_grant"


async def test_a_missing_code_verifier_is_refused(
        browser: httpx.AsyncClient, backend: httpx.AsyncClient) -> None:
    _, code = await code_for(browser)
    refused = await redeem(backend, code, None)
    assert refused.json()["error_description"] == "PKCE code verifier not specified"


@pytest.mark.parametrize(("overrides", "description"), [
    ({"code_challenge": None, "code_challenge_method": None},
     "Missing parameter: code_challenge"),
    ({"code_challenge_method": "plain"},
     "Invalid parameter: code challenge method is not matching the configured one"),
    ({"code_challenge": "short"}, "Invalid parameter: code_challenge"),
])
async def test_the_console_must_send_an_s256_challenge(
        browser: httpx.AsyncClient, overrides: dict[str, str | None], description: str) -> None:
    started = await start(browser, **overrides)
    target, query = redirected(started.response)
    assert target == CALLBACK
    assert query == {"error": "invalid_request", "error_description": description,
                     "state": started.state, "iss": ISSUER}


async def test_a_code_is_single_use_and_its_replay_revokes_what_it_gave(
        browser: httpx.AsyncClient, backend: httpx.AsyncClient) -> None:
    started, code = await code_for(browser)
    first = await redeem(backend, code, started.verifier)
    assert first.status_code == 200
    replay = await redeem(backend, code, started.verifier)
    assert replay.status_code == 400
    assert replay.json() == {"error": "invalid_grant", "error_description": "Code not valid"}
    refresh = await backend.post(TOKEN_PATH, data={
        "grant_type": "refresh_token", "client_id": CONSOLE,
        "refresh_token": first.json()["refresh_token"]})
    assert refresh.json()["error"] == "invalid_grant"


async def test_a_code_expires_after_a_minute(browser: httpx.AsyncClient,
                                             backend: httpx.AsyncClient, clock: Clock) -> None:
    started, code = await code_for(browser)
    clock.now += CODE_LIFESPAN + 1
    late = await redeem(backend, code, started.verifier)
    assert late.json() == {"error": "invalid_grant", "error_description": "Code not valid"}
    started, code = await code_for(browser)
    clock.now += CODE_LIFESPAN - 5
    assert (await redeem(backend, code, started.verifier)).status_code == 200


@pytest.mark.parametrize("redirect_uri", [
    "http://127.0.0.1:8000/console/callback/extra", "http://127.0.0.1:8000/console/callbac",
    "http://127.0.0.1:8000/console/callback?next=x", "https://evil.example/console/callback",
    "http://127.0.0.1:8000/", None])
async def test_an_unregistered_redirect_uri_is_an_error_page_never_a_redirect(
        browser: httpx.AsyncClient, redirect_uri: str | None) -> None:
    started = await start(browser, redirect_uri=redirect_uri)
    assert started.response.status_code == 400
    assert "location" not in started.response.headers
    assert "Invalid parameter: redirect_uri" in started.response.text


async def test_the_code_is_bound_to_its_redirect_uri_and_client(
        browser: httpx.AsyncClient, backend: httpx.AsyncClient) -> None:
    started, code = await code_for(browser)
    other = await redeem(backend, code, started.verifier,
                         redirect_uri="http://localhost:8000/console/callback")
    assert other.json() == {"error": "invalid_grant",
                            "error_description": "Incorrect redirect_uri"}
    started, code = await code_for(browser)
    stolen = await backend.post(TOKEN_PATH, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
        "code_verifier": started.verifier}, auth=("partner-tenaganita",
                                                  "dev-secret-partner-tenaganita"))
    assert stolen.json()["error"] in ("invalid_grant", "unauthorized_client")


async def test_a_client_without_the_standard_flow_cannot_start_it(clock: Clock) -> None:
    settings = DevIssuerSettings(env="development", base_url=BASE_URL,
                                 realm_file=find_realm_file(), key_file=None,
                                 redirect_uris={"suara-cli": [CALLBACK]})
    app = create_app(settings, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url=BASE_URL) as browser:
        started = await start(browser, client_id="suara-cli")
    _, query = redirected(started.response)
    assert query["error"] == "unauthorized_client"


async def test_the_console_client_has_no_password_grant(backend: httpx.AsyncClient) -> None:
    reply = await backend.post(TOKEN_PATH, data={
        "grant_type": "password", "client_id": CONSOLE, "username": "handler.tenaganita",
        "password": PASSWORD})
    assert reply.status_code == 400
    assert reply.json()["error"] == "unauthorized_client"


async def test_a_login_session_signs_in_again_without_a_password_unless_asked(
        browser: httpx.AsyncClient, backend: httpx.AsyncClient) -> None:
    await code_for(browser)
    started = await start(browser)
    target, query = redirected(started.response)  # no login page this time
    assert target == CALLBACK
    tokens = (await redeem(backend, query["code"], started.verifier)).json()
    assert claims_of(tokens["id_token"])["acr"] == "0"
    forced = await start(browser, prompt="login")
    assert forced.response.status_code == 200
    assert 'name="password"' in forced.response.text
    _, query = redirected(await sign_in(browser, forced.response, "handler.tenaganita"))
    tokens = (await redeem(backend, query["code"], forced.verifier)).json()
    assert claims_of(tokens["id_token"])["acr"] == "1"


async def test_prompt_none_without_a_login_session_is_login_required(
        browser: httpx.AsyncClient) -> None:
    started = await start(browser, prompt="none")
    _, query = redirected(started.response)
    assert query["error"] == "login_required"


async def test_a_login_form_posted_without_the_browsers_cookie_is_refused(
        browser: httpx.AsyncClient, app: FastAPI) -> None:
    started = await start(browser)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url=BASE_URL) as other_browser:  # a login CSRF attempt
        reply = await sign_in(other_browser, started.response, "handler.tenaganita")
    assert reply.status_code == 400
    assert "This sign-in page has expired" in reply.text


async def test_logout_ends_the_login_session_and_returns_to_the_console(
        browser: httpx.AsyncClient, backend: httpx.AsyncClient) -> None:
    started, code = await code_for(browser)
    tokens = (await redeem(backend, code, started.verifier)).json()
    reply = await browser.get(LOGOUT_PATH, params={
        "id_token_hint": tokens["id_token"], "post_logout_redirect_uri": SIGNED_OUT,
        "state": "s1"})
    assert redirected(reply) == (SIGNED_OUT, {"state": "s1"})
    assert 'suara_devissuer_sso=""' in reply.headers["set-cookie"]
    refused = await backend.post(TOKEN_PATH, data={
        "grant_type": "refresh_token", "client_id": CONSOLE,
        "refresh_token": tokens["refresh_token"]})
    assert refused.json() == {"error": "invalid_grant", "error_description": "Session not active"}
    again = await start(browser)
    assert again.response.status_code == 200  # the password is asked for again
    assert 'name="password"' in again.response.text


@pytest.mark.parametrize("target", ["https://evil.example/", "http://127.0.0.1:8000/console"])
async def test_logout_refuses_an_unregistered_post_logout_uri(
        browser: httpx.AsyncClient, backend: httpx.AsyncClient, target: str) -> None:
    started, code = await code_for(browser)
    tokens = (await redeem(backend, code, started.verifier)).json()
    reply = await browser.get(LOGOUT_PATH, params={
        "id_token_hint": tokens["id_token"], "post_logout_redirect_uri": target})
    assert reply.status_code == 400
    assert "location" not in reply.headers
    assert (await start(browser)).response.status_code == 302  # still signed in


async def test_logout_needs_a_client_to_redirect(browser: httpx.AsyncClient) -> None:
    reply = await browser.get(LOGOUT_PATH, params={"post_logout_redirect_uri": SIGNED_OUT})
    assert reply.status_code == 400
    assert "id_token_hint is required" in reply.text


async def test_logout_without_an_id_token_asks_first(browser: httpx.AsyncClient) -> None:
    await code_for(browser)
    question = await browser.get(LOGOUT_PATH, params={
        "client_id": CONSOLE, "post_logout_redirect_uri": SIGNED_OUT})
    assert question.status_code == 200
    assert (await start(browser)).response.status_code == 302  # a link alone signs no one out
    action, hidden = form_of(question)
    forged = await browser.post(action, data={**hidden, "confirm": "guess"})
    assert forged.status_code == 200  # asked again
    assert (await start(browser)).response.status_code == 302
    done = await browser.post(action, data=hidden)
    assert redirected(done)[0] == SIGNED_OUT
    assert (await start(browser)).response.status_code == 200


def test_a_pattern_among_redirect_uris_is_refused() -> None:
    data = {"realm": "x", "clients": [{"clientId": "c", "redirectUris": ["http://a/*"]}]}
    with pytest.raises(ValueError, match="client c: redirect URI 'http://a/\\*' is a pattern"):
        check_realm(parse_realm(data))


async def test_extra_redirect_uris_come_from_settings(clock: Clock) -> None:
    settings = DevIssuerSettings(
        env="development", base_url=BASE_URL, realm_file=find_realm_file(), key_file=None,
        redirect_uris={CONSOLE: ["http://127.0.0.1:41234/console/callback"]})
    app = create_app(settings, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url=BASE_URL) as browser:
        started = await start(browser, redirect_uri="http://127.0.0.1:41234/console/callback")
        assert started.response.status_code == 200
    with pytest.raises(ValueError, match="unknown client 'nobody'"):
        create_app(settings.model_copy(update={"redirect_uris": {"nobody": ["http://x/"]}}))

