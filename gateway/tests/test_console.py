"""The staff console's sign-in, sessions, CSRF checks, timeouts and sign-out, against the real
development issuer (in-process) and the real gateway on the test's nats-server. A `Browser`
plays Chromium: one cookie jar per site, the headers a browser sends with a form."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable
from html import unescape
from typing import Annotated
from urllib.parse import parse_qs, urlsplit

import httpx
import nats
import pytest
from fastapi import Depends, FastAPI
from fastapi.responses import PlainTextResponse
from nats.aio.client import Client
from nats.js.errors import NotFoundError

from suara_devissuer.app import create_app as create_issuer
from suara_devissuer.settings import DevIssuerSettings, find_realm_file
from suara_gateway.app import create_app
from suara_gateway.console import cookies
from suara_gateway.console.session import (
    Console,
    ConsoleSession,
    require_console_role,
    safe_next,
)
from suara_gateway.console.store import BUCKET
from suara_gateway.settings import GatewaySettings
from suara_kit.auth import TokenValidator

ISSUER_BASE = "http://issuer.test"
ISSUER = f"{ISSUER_BASE}/realms/suara"
GATEWAY = "https://gateway.test"
SESSION_COOKIE = "__Host-suara-console"
LOGIN_COOKIE = "__Host-suara-console-login"
PASSWORD = "suara-dev"
PAGE_LIMIT = 150 * 1024


class Clock:
    """The clock of the gateway, the issuer and the token checks, moved by hand."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def issuer(clock: Clock) -> FastAPI:
    """The development issuer on the test's clock, told about the test gateway's callback."""
    return create_issuer(DevIssuerSettings(
        env="development", base_url=ISSUER_BASE, realm_file=find_realm_file(), key_file=None,
        redirect_uris={"suara-console": [f"{GATEWAY}/console/callback"]},
        post_logout_redirect_uris={"suara-console": [f"{GATEWAY}/console/signed-out"]}),
        clock=clock)


@pytest.fixture
async def back_channel(issuer: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """How the gateway reaches the issuer."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=issuer)) as http:
        yield http


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[Client]:
    """A connection to the test's nats-server, with no console sessions left by others."""
    conn = await nats.connect(nats_url)
    try:
        await conn.jetstream().delete_key_value(BUCKET)
    except NotFoundError:
        pass
    yield conn
    await conn.close()


def gateway_settings(nats_url: str, **overrides: object) -> GatewaySettings:
    values: dict[str, object] = {
        "nats_url": nats_url, "oidc_issuer": ISSUER, "rpc_timeout": 1,
        "public_url": GATEWAY, "console_session_key": "a-test-secret-for-console-sessions"}
    return GatewaySettings(**(values | overrides))


@pytest.fixture
async def gateway(nc: Client, nats_url: str, back_channel: httpx.AsyncClient,
                  clock: Clock) -> AsyncIterator[FastAPI]:
    """The gateway with its lifespan entered, a role-guarded page added as later pages will."""
    settings = gateway_settings(nats_url)
    validator = TokenValidator(issuer=ISSUER, audience="suara-api", http=back_channel,
                               clock=clock)
    app = create_app(settings, validator, back_channel)
    app.state.console = Console(settings, back_channel, owns_http=False, clock=clock)

    @app.get("/console/test-handlers-only")
    async def handlers_only(session: Annotated[ConsoleSession, Depends(
            require_console_role("case-handler"))]) -> PlainTextResponse:
        return PlainTextResponse(f"queue of {session.organisation}")

    async with app.router.lifespan_context(app):
        yield app


class Browser:
    """A browser between the gateway and the issuer: a cookie jar per site, redirects
    followed, Sec-Fetch-Site and Origin on its form posts."""

    def __init__(self, gateway: FastAPI, issuer: FastAPI) -> None:
        self.gateway = httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway),
                                         base_url=GATEWAY)
        self.issuer = httpx.AsyncClient(transport=httpx.ASGITransport(app=issuer),
                                        base_url=ISSUER_BASE)
        self.history: list[httpx.Response] = []

    async def move_to(self, gateway: FastAPI) -> None:
        """Reach another gateway replica from now on (the load balancer moved us)."""
        moved = httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway), base_url=GATEWAY,
                                  cookies=self.gateway.cookies)
        await self.gateway.aclose()
        self.gateway = moved

    def _site(self, url: str) -> httpx.AsyncClient:
        return self.issuer if url.startswith(ISSUER_BASE) else self.gateway

    async def get(self, url: str, follow: bool = True) -> httpx.Response:
        """GET, following redirects across the two sites."""
        response = await self._site(url).get(url)
        return await self._follow(response) if follow else response

    async def post(self, url: str, data: dict[str, str], follow: bool = True,
                   headers: dict[str, str] | None = None) -> httpx.Response:
        """A form post from a page of the same site."""
        origin = ISSUER_BASE if url.startswith(ISSUER_BASE) else GATEWAY
        sent = {"Origin": origin, "Sec-Fetch-Site": "same-origin"} | (headers or {})
        response = await self._site(url).post(url, data=data, headers=sent)
        return await self._follow(response) if follow else response

    async def _follow(self, response: httpx.Response) -> httpx.Response:
        self.history.append(response)
        for _ in range(10):
            if response.status_code not in (302, 303, 307, 308):
                return response
            location = str(response.url.join(response.headers["location"]))
            response = await self._site(location).get(location)
            self.history.append(response)
        raise AssertionError("too many redirects")

    async def aclose(self) -> None:
        await self.gateway.aclose()
        await self.issuer.aclose()


@pytest.fixture
async def browsers(gateway: FastAPI, issuer: FastAPI) -> AsyncIterator[Callable[[], Browser]]:
    made: list[Browser] = []

    def make() -> Browser:
        made.append(Browser(gateway, issuer))
        return made[-1]

    yield make
    for browser in made:
        await browser.aclose()


def form_of(page: httpx.Response, action: str | None = None) -> tuple[str, dict[str, str]]:
    """A form's action and hidden fields (the first form, or the one posting to `action`)."""
    forms = re.findall(r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', page.text,
                       re.S)
    for found, body in forms:
        if action is None or unescape(found) == action:
            hidden = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', body)
            return unescape(found), {k: unescape(v) for k, v in hidden}
    raise AssertionError(f"no form for {action} in {page.text[:500]}")


async def sign_in(browser: Browser, username: str = "handler.tenaganita",
                  start: str = "/console") -> httpx.Response:
    """Open a console page, sign in on the issuer's page, follow the continue link."""
    login_page = await browser.get(start)
    assert login_page.url.host == "issuer.test", login_page.text
    action, hidden = form_of(login_page)
    continued = await browser.post(str(login_page.url.join(action)),
                                   {**hidden, "username": username, "password": PASSWORD})
    assert continued.status_code == 200, continued.text
    target = re.search(r'<meta http-equiv="refresh" content="0; url=([^"]+)">', continued.text)
    assert target is not None, continued.text
    return await browser.get(unescape(target[1]))


def query_of(response: httpx.Response) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(str(response.url)).query).items()}


async def test_a_handler_signs_in_and_sees_who_and_for_which_organisation(
        browsers: Callable[[], Browser]) -> None:
    browser = browsers()
    home = await sign_in(browser)
    assert home.status_code == 200
    assert str(home.url) == f"{GATEWAY}/console"
    assert '<dd id="name">Hana Handler</dd>' in home.text
    assert '<dd id="username">handler.tenaganita</dd>' in home.text
    assert '<dd id="organisation">tenaganita</dd>' in home.text  # no directory in this test
    assert '<dd id="roles">Case handler</dd>' in home.text
    assert "after 15 minutes without activity, and 8 hours after" in home.text

    auth = next(r for r in browser.history if r.url.path.endswith("/openid-connect/auth"))
    params = query_of(auth)
    assert params["code_challenge_method"] == "S256"
    assert params["prompt"] == "login"
    assert params["redirect_uri"] == f"{GATEWAY}/console/callback"
    assert len(params["state"]) >= 43
    assert len(params["nonce"]) >= 43

    started = next(r for r in browser.history if r.url.path == "/console/sign-in")
    login_cookie = started.headers["set-cookie"]
    assert login_cookie.startswith(f"{LOGIN_COOKIE}=")
    for attribute in ("HttpOnly", "Max-Age=600", "Path=/", "SameSite=lax", "Secure"):
        assert attribute in login_cookie
    callback = next(r for r in browser.history if r.url.path == "/console/callback")
    session_cookie = next(v for v in callback.headers.get_list("set-cookie")
                          if v.startswith(f"{SESSION_COOKIE}="))
    for attribute in ("HttpOnly", "Path=/", "SameSite=strict", "Secure"):
        assert attribute in session_cookie
    assert "Max-Age" not in session_cookie  # gone when the browser closes
    assert f'{LOGIN_COOKIE}=""' in callback.headers["set-cookie"]  # the sign-in is spent


async def test_console_pages_are_small_strict_and_accessible(
        browsers: Callable[[], Browser]) -> None:
    browser = browsers()
    home = await sign_in(browser)
    signed_out = await browser.gateway.get("/console/signed-out")
    css = await browser.gateway.get("/static/console.css")
    for page in (home, signed_out):
        assert len(page.content) + len(css.content) < PAGE_LIMIT
        csp = page.headers["content-security-policy"]
        assert "default-src 'none'" in csp
        assert "script-src" not in csp  # none at all: default-src 'none'
        assert f"form-action 'self' {ISSUER_BASE}" in csp
        assert page.headers["referrer-policy"] == "same-origin"
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["x-frame-options"] == "DENY"
        html = page.text
        assert '<html lang="en" dir="ltr">' in html
        assert '<a class="skip" href="#main">' in html
        assert '<main id="main" tabindex="-1">' in html
        assert "<script" not in html
        assert "style=" not in html
        assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing from elsewhere
    assert '<label for="language">' in home.text
    assert '<nav class="who" aria-label="Your account">' in home.text


async def test_sessions_in_nats_are_named_by_keyed_hashes_and_sealed(
        browsers: Callable[[], Browser], nc: Client) -> None:
    browser = browsers()
    await sign_in(browser)
    session_id = browser.gateway.cookies[SESSION_COOKIE]
    kv = await nc.jetstream().key_value(BUCKET)
    keys = await kv.keys()
    assert len(keys) == 2
    assert all(re.fullmatch(r"(session|subject)\.[0-9a-f]{64}", key) for key in keys)
    assert all(session_id not in key for key in keys)
    for key in keys:
        value = (await kv.get(key)).value or b""
        for secret in (b"handler.tenaganita", b"Hana", b"tenaganita", session_id.encode()):
            assert secret not in value


async def test_a_callback_with_another_state_opens_no_session(
        browsers: Callable[[], Browser], gateway: FastAPI) -> None:
    browser = browsers()
    login_page = await browser.get("/console")
    action, hidden = form_of(login_page)
    to_callback = await browser.post(str(login_page.url.join(action)),
                                     {**hidden, "username": "handler.tenaganita",
                                      "password": PASSWORD}, follow=False)
    forged = to_callback.headers["location"].replace("state=", "state=x")
    refused = await browser.get(forged)
    assert refused.status_code == 400
    assert "Your sign-in expired" in refused.text
    assert SESSION_COOKIE not in browser.gateway.cookies
    again = await browser.get(to_callback.headers["location"])  # the real one, too late:
    assert again.status_code == 400  # the sign-in cookie went with the first attempt


async def test_a_replayed_callback_opens_no_second_session(
        browsers: Callable[[], Browser]) -> None:
    browser = browsers()
    login_page = await browser.get("/console")
    action, hidden = form_of(login_page)
    to_callback = await browser.post(str(login_page.url.join(action)),
                                     {**hidden, "username": "handler.tenaganita",
                                      "password": PASSWORD}, follow=False)
    callback_url = to_callback.headers["location"]
    login_cookie = browser.gateway.cookies[LOGIN_COOKIE]
    assert (await browser.get(callback_url, follow=False)).status_code == 200
    thief = browsers()  # someone who copied both the URL and the sign-in cookie
    thief.gateway.cookies.set(LOGIN_COOKIE, login_cookie, domain="gateway.test")
    replay = await thief.get(callback_url, follow=False)
    assert replay.status_code == 400
    assert "Sign-in did not work" in replay.text
    assert SESSION_COOKIE not in thief.gateway.cookies


async def test_a_callback_without_the_sign_in_cookie_is_refused(
        browsers: Callable[[], Browser]) -> None:
    browser = browsers()
    reply = await browser.get("/console/callback?code=abc&state=def")
    assert reply.status_code == 400
    assert "Sign in again" in reply.text


async def test_no_session_redirects_to_sign_in_and_back(browsers: Callable[[], Browser]) -> None:
    browser = browsers()
    first = await browser.get("/console/test-handlers-only?x=1", follow=False)
    assert first.status_code == 303
    assert first.headers["location"] == "/console/sign-in?next=/console/test-handlers-only%3Fx%3D1"
    page = await sign_in(browser, start="/console/test-handlers-only?x=1")
    assert page.text == "queue of tenaganita"


async def test_a_missing_role_is_a_403_page(browsers: Callable[[], Browser]) -> None:
    browser = browsers()
    await sign_in(browser, "mediator.tenaganita")
    refused = await browser.get("/console/test-handlers-only")
    assert refused.status_code == 403
    assert "Not for your account" in refused.text
    assert '<span id="signed-in-as">Meena Mediator</span>' in refused.text


@pytest.mark.parametrize(("data", "headers"), [
    ({}, {}),
    ({"csrf_token": "guessed"}, {}),
    (None, {"Sec-Fetch-Site": "cross-site"}),
    (None, {"Sec-Fetch-Site": "same-site"}),
    (None, {"Origin": "https://evil.example", "Sec-Fetch-Site": ""}),
    (None, {"Origin": "null"}),
], ids=["no-token", "wrong-token", "cross-site", "same-site", "other-origin", "null-origin"])
async def test_a_form_without_the_sessions_token_or_from_elsewhere_is_a_403(
        browsers: Callable[[], Browser], data: dict[str, str] | None,
        headers: dict[str, str]) -> None:
    browser = browsers()
    home = await sign_in(browser)
    _, hidden = form_of(home, "/console/sign-out")
    sent = {k: v for k, v in headers.items() if v}
    if "Sec-Fetch-Site" in headers and not headers["Sec-Fetch-Site"]:
        sent["Sec-Fetch-Site"] = "same-origin"
        sent["Origin"] = headers["Origin"]
    refused = await browser.post("/console/sign-out", hidden if data is None else data,
                                 headers=sent, follow=False)
    assert refused.status_code == 403
    assert "This form was not accepted" in refused.text
    assert (await browser.get("/console")).status_code == 200  # still signed in


async def test_a_session_ends_after_the_idle_timeout(
        browsers: Callable[[], Browser], clock: Clock, nc: Client) -> None:
    browser = browsers()
    await sign_in(browser)
    for _ in range(3):  # activity keeps it alive past the timeout
        clock.now += 10 * 60
        assert (await browser.get("/console")).status_code == 200
    clock.now += 15 * 60 + 1
    expired = await browser.get("/console", follow=False)
    assert expired.status_code == 303
    assert expired.headers["location"] == "/console/sign-in?next=/console"
    assert f'{SESSION_COOKIE}=""' in expired.headers["set-cookie"]
    kv = await nc.jetstream().key_value(BUCKET)
    assert not [k for k in await kv.keys() if k.startswith("session.")]


async def test_a_session_ends_after_its_lifetime_however_busy(
        browsers: Callable[[], Browser], clock: Clock) -> None:
    browser = browsers()
    await sign_in(browser)
    for _ in range(47):  # 7 h 50 min of work, a request every ten minutes
        clock.now += 10 * 60
        assert (await browser.get("/console", follow=False)).status_code == 200
    clock.now += 11 * 60
    assert (await browser.get("/console", follow=False)).status_code == 303


async def test_sign_out_ends_every_session_of_that_person_and_the_issuers(
        browsers: Callable[[], Browser], back_channel: httpx.AsyncClient,
        issuer: FastAPI) -> None:
    office, phone, colleague = browsers(), browsers(), browsers()
    home = await sign_in(office)
    await sign_in(phone)
    await sign_in(colleague, "supervisor.tenaganita")
    action, hidden = form_of(home, "/console/sign-out")
    out = await office.post(action, hidden, follow=False)
    assert out.status_code == 303
    logout = urlsplit(out.headers["location"])
    assert f"{logout.scheme}://{logout.netloc}{logout.path}" == (
        f"{ISSUER}/protocol/openid-connect/logout")
    params = {k: v[0] for k, v in parse_qs(logout.query).items()}
    assert params["post_logout_redirect_uri"] == f"{GATEWAY}/console/signed-out"
    assert params["client_id"] == "suara-console"
    assert params["id_token_hint"].count(".") == 2
    assert f'{SESSION_COOKIE}=""' in out.headers["set-cookie"]
    done = await office.get(out.headers["location"])
    assert str(done.url) == f"{GATEWAY}/console/signed-out"
    assert "You are signed out" in done.text

    assert (await phone.get("/console", follow=False)).status_code == 303  # the other device
    assert (await colleague.get("/console", follow=False)).status_code == 200  # not hers
    assert issuer.state.issuer.flow.session(office.issuer.cookies.get("suara_devissuer_sso")) is None
    again = await office.get("/console")
    assert again.url.host == "issuer.test"
    assert 'name="password"' in again.text  # signing in again needs the password


async def test_a_session_holds_on_every_gateway_replica(
        browsers: Callable[[], Browser], nats_url: str, back_channel: httpx.AsyncClient,
        clock: Clock) -> None:
    office, phone = browsers(), browsers()
    await sign_in(office)  # both on the first replica
    await sign_in(phone)
    settings = gateway_settings(nats_url)
    second = create_app(settings, TokenValidator(issuer=ISSUER, audience="suara-api",
                                                 http=back_channel, clock=clock), back_channel)
    second.state.console = Console(settings, back_channel, owns_http=False, clock=clock)
    async with second.router.lifespan_context(second):
        await office.move_to(second)
        home = await office.get("/console")
        assert '<dd id="name">Hana Handler</dd>' in home.text
        action, hidden = form_of(home, "/console/sign-out")
        assert (await office.post(action, hidden, follow=False)).status_code == 303
    assert (await phone.get("/console", follow=False)).status_code == 303  # first replica


async def test_the_session_follows_the_issuer_every_few_minutes(
        browsers: Callable[[], Browser], clock: Clock, issuer: FastAPI) -> None:
    browser = browsers()
    await sign_in(browser)
    clock.now += 290  # the five-minute access token is due: refreshed at the issuer
    assert (await browser.get("/console", follow=False)).status_code == 200
    flow = issuer.state.issuer.flow
    for sid in list(flow.sessions):  # an administrator ends the login at Keycloak
        flow.end_session(sid)
    assert (await browser.get("/console", follow=False)).status_code == 200  # token still good
    clock.now += 300
    assert (await browser.get("/console", follow=False)).status_code == 303


async def test_an_unreachable_issuer_is_a_503_page_and_the_session_survives_it(
        browsers: Callable[[], Browser], clock: Clock, gateway: FastAPI) -> None:
    browser = browsers()
    await sign_in(browser)
    provider = gateway.state.console.provider

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    reachable, provider.http = provider.http, httpx.AsyncClient(
        transport=httpx.MockTransport(refuse))
    clock.now += 290  # a refresh is due
    down = await browser.get("/console", follow=False)
    assert down.status_code == 503
    assert down.headers["retry-after"] == "30"
    assert "The console is not available" in down.text
    await provider.http.aclose()
    provider.http = reachable
    assert (await browser.get("/console", follow=False)).status_code == 200


async def test_the_language_is_the_staff_members_choice(browsers: Callable[[], Browser]) -> None:
    browser = browsers()
    home = await sign_in(browser)
    action, hidden = form_of(home, "/console/language")
    chosen = await browser.post(action, {**hidden, "language": "id"})
    assert '<html lang="id" dir="ltr">' in chosen.text
    assert "<h1>Selamat datang, Hana Handler</h1>" in chosen.text
    assert '<dd id="roles">Penangan kasus</dd>' in chosen.text
    assert chosen.headers["content-language"] == "id"
    action, hidden = form_of(chosen, "/console/language")
    filipino = await browser.post(action, {**hidden, "language": "fil"})
    assert "Maligayang pagdating" in filipino.text


async def test_pages_before_sign_in_follow_the_browsers_language(gateway: FastAPI) -> None:
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url=GATEWAY) as http:
        page = await http.get("/console/signed-out",
                              headers={"Accept-Language": "tl-PH, en;q=0.5"})
    assert '<html lang="fil" dir="ltr">' in page.text
    assert "Naka-sign out ka na" in page.text


async def test_sign_in_moves_to_the_public_address_first(gateway: FastAPI) -> None:
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as http:
        reply = await http.get("/console/sign-in?next=/console")
    assert reply.status_code == 303
    assert reply.headers["location"] == f"{GATEWAY}/console/sign-in?next=/console"
    assert "set-cookie" not in reply.headers


@pytest.mark.parametrize(("value", "expected"), [
    ("/console/cases/1?x=2", "/console/cases/1?x=2"), ("/console", "/console"),
    ("//evil.example/console", "/console"), ("https://evil.example/console", "/console"),
    ("/api/v1/cases", "/console"), ("/console/../api", "/console"), ("/\\evil", "/console"),
    (None, "/console"), ("/consolex", "/console")])
def test_sign_in_only_ever_returns_inside_the_console(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected


async def test_only_the_consoles_cookies_are_set_and_only_under_console(
        gateway: FastAPI) -> None:
    @gateway.get("/api/v1/test-cookie")
    @gateway.get("/console/test-cookie")
    async def set_cookies() -> PlainTextResponse:
        response = PlainTextResponse("ok")
        response.set_cookie(SESSION_COOKIE, "planted", secure=True, samesite="strict")
        response.set_cookie("_ga", "tracker")
        return response

    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url=GATEWAY) as http:
        api = await http.get("/api/v1/test-cookie")
        console = await http.get("/console/test-cookie")
    assert api.headers.get_list("set-cookie") == []
    assert [c.split("=")[0] for c in console.headers.get_list("set-cookie")] == [SESSION_COOKIE]


def test_production_needs_a_session_secret_and_a_secure_public_address() -> None:
    production = {"env": "production", "idempotency_key": "x" * 40}
    with pytest.raises(ValueError, match="SUARA_GATEWAY_CONSOLE_SESSION_KEY"):
        GatewaySettings(**production, public_url="https://suara.example.org")
    production["console_session_key"] = "y" * 40
    with pytest.raises(ValueError, match="SUARA_GATEWAY_PUBLIC_URL"):
        GatewaySettings(**production)
    with pytest.raises(ValueError, match="SUARA_GATEWAY_PUBLIC_URL"):
        GatewaySettings(**production, public_url="http://192.0.2.10:8000")
    with pytest.raises(ValueError, match="not an origin"):
        GatewaySettings(public_url="https://suara.example.org/console")
    assert GatewaySettings(**production, public_url="http://127.0.0.1:8000").console_base_url == (
        "http://127.0.0.1:8000")


def test_cookie_names_drop_the_host_prefix_only_where_secure_is_impossible() -> None:
    assert cookies.name(cookies.SESSION, True) == SESSION_COOKIE
    assert cookies.name(cookies.SESSION, False) == "suara-console"
    lan = Console(GatewaySettings(public_url="http://192.0.2.10:8000"), httpx.AsyncClient(),
                  owns_http=True)
    assert (lan.secure, lan.session_cookie) == (False, "suara-console")
    local = Console(GatewaySettings(), httpx.AsyncClient(), owns_http=True)
    assert (local.secure, local.session_cookie) == (True, SESSION_COOKIE)
