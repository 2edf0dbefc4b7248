"""What the console's integration suites share: a gateway with the console on the system's
nats-server that signs in at a development issuer, and a `Browser` between the two (a cookie
jar per site, redirects followed, Origin and Sec-Fetch-Site on its form posts)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from html import unescape
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI

from suara_devissuer.app import create_app as create_issuer
from suara_devissuer.settings import DevIssuerSettings, find_realm_file
from suara_gateway.app import create_app
from suara_gateway.settings import GatewaySettings
from suara_kit.auth import TokenValidator

ISSUER_BASE = "http://console-issuer.test"
ISSUER = f"{ISSUER_BASE}/realms/suara"
GATEWAY = "https://gateway.test"
PASSWORD = "suara-dev"
PAGE_LIMIT = 150 * 1024
B = TypeVar("B", bound="Browser")
LOGIN_FORM = r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>'


def hidden_fields(html: str) -> tuple[str, dict[str, str]]:
    """The first form's action and hidden fields (the issuer's login page)."""
    found = re.search(LOGIN_FORM, html, re.S)
    assert found is not None, "no form"
    hidden = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', found[2])
    return unescape(found[1]), {k: unescape(v) for k, v in hidden}


class Browser:
    """A browser between the gateway and the issuer. With `keep_under`, every page it ends up
    on below that path is kept in `pages` (for checks over all of them)."""

    def __init__(self, gateway: FastAPI, issuer: FastAPI, keep_under: str | None = None) -> None:
        self.gateway = httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway),
                                         base_url=GATEWAY)
        self.issuer = httpx.AsyncClient(transport=httpx.ASGITransport(app=issuer),
                                        base_url=ISSUER_BASE)
        self.keep_under = keep_under
        self.pages: list[httpx.Response] = []

    def _site(self, url: str) -> httpx.AsyncClient:
        return self.issuer if url.startswith(ISSUER_BASE) else self.gateway

    async def get(self, url: str) -> httpx.Response:
        return await self._follow(await self._site(url).get(url))

    async def post(self, url: str, data: dict[str, Any], follow: bool = True,
                   headers: dict[str, str] | None = None) -> httpx.Response:
        origin = ISSUER_BASE if url.startswith(ISSUER_BASE) else GATEWAY
        sent = {"Origin": origin, "Sec-Fetch-Site": "same-origin"} | (headers or {})
        response = await self._site(url).post(url, data=data, headers=sent)
        return await self._follow(response) if follow else response

    async def _follow(self, response: httpx.Response) -> httpx.Response:
        for _ in range(10):
            if response.status_code not in (302, 303, 307, 308):
                if self.keep_under and response.url.path.startswith(self.keep_under):
                    self.pages.append(response)
                return response
            location = str(response.url.join(response.headers["location"]))
            response = await self._site(location).get(location)
        raise AssertionError("too many redirects")

    async def sign_in(self, username: str, start: str = "/console") -> httpx.Response:
        """Open `start`, sign in on the issuer's page and follow the continue page back."""
        login = await self.get(start)
        action, hidden = hidden_fields(login.text)
        continued = await self.post(str(login.url.join(action)),
                                    {**hidden, "username": username, "password": PASSWORD})
        target = re.search(r'http-equiv="refresh" content="0; url=([^"]+)"', continued.text)
        assert target is not None, continued.text
        return await self.get(unescape(target[1]))

    async def aclose(self) -> None:
        await self.gateway.aclose()
        await self.issuer.aclose()


@asynccontextmanager
async def console_gateway(nats_url: str, browser: type[B], keep_under: str | None = None
                          ) -> AsyncIterator[tuple[Callable[[], B], list[B]]]:
    """The gateway with the console and its issuer, running; yields a function that opens a
    fresh browser, and the browsers opened (all closed at the end)."""
    issuer = create_issuer(DevIssuerSettings(
        env="development", base_url=ISSUER_BASE, realm_file=find_realm_file(), key_file=None,
        redirect_uris={"suara-console": [f"{GATEWAY}/console/callback"]},
        post_logout_redirect_uris={"suara-console": [f"{GATEWAY}/console/signed-out"]}))
    back_channel = httpx.AsyncClient(transport=httpx.ASGITransport(app=issuer))
    settings = GatewaySettings(nats_url=nats_url, oidc_issuer=ISSUER, public_url=GATEWAY,
                               console_session_key="a-test-secret-for-console-sessions")
    validator = TokenValidator(issuer=ISSUER, audience="suara-api", http=back_channel)
    gateway = create_app(settings, validator, back_channel)
    browsers: list[B] = []

    def open_browser() -> B:
        browsers.append(browser(gateway, issuer, keep_under))
        return browsers[-1]

    try:
        async with gateway.router.lifespan_context(gateway):
            yield open_browser, browsers
    finally:
        for browser in browsers:
            await browser.aclose()
        await back_channel.aclose()
