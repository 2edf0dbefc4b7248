"""The console as an OIDC client of Keycloak (or the development issuer): the authorization
code flow with PKCE (S256), state and nonce; the code exchange and refreshes over the back
channel (httpx: a few calls per staff sign-in, not the hot path); ID tokens checked by the
kit's TokenValidator, as access tokens are."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from suara_kit.auth import TokenValidator

log = logging.getLogger(__name__)

METADATA_TTL = 3600.0
TIMEOUT = 10.0
AUTH_TIME_LEEWAY = 60  # seconds of clock difference tolerated between gateway and issuer


class IssuerUnavailable(Exception):
    """The issuer could not be reached, or answered something unreadable."""


class SignInRefused(Exception):
    """The issuer (or a check of what it sent) refused the sign-in; `reason` is a code safe
    to log (never a token, a name or a subject)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Metadata:
    """The endpoints the console uses, from the issuer's discovery document."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None


@dataclass(frozen=True)
class LoginRequest:
    """One sign-in's secrets, kept (sealed) in the browser until the callback."""

    state: str
    nonce: str
    verifier: str
    next: str
    started: float

    @classmethod
    def new(cls, next_path: str, now: float) -> LoginRequest:
        """Fresh state, nonce and PKCE verifier (each 256 random bits)."""
        return cls(secrets.token_urlsafe(32), secrets.token_urlsafe(32),
                   secrets.token_urlsafe(48), next_path, now)

    @property
    def challenge(self) -> str:
        """The verifier's S256 challenge."""
        digest = hashlib.sha256(self.verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def same(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a value from the browser with the one expected."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


class Provider:
    """The issuer as the console's back end talks to it."""

    def __init__(self, *, issuer: str, client_id: str, discovery_url: str | None,
                 jwks_url: str | None, http: httpx.AsyncClient,
                 clock: Callable[[], float] = time.time) -> None:
        self.issuer, self.client_id, self.http, self.clock = issuer, client_id, http, clock
        self._discovery_url = discovery_url or issuer.rstrip("/") + "/.well-known/openid-configuration"
        self._jwks_url = jwks_url
        self._metadata: Metadata | None = None
        self._fetched = 0.0
        self._ids: TokenValidator | None = None

    async def metadata(self) -> Metadata:
        """The issuer's endpoints, read at most once an hour (and again after a failure)."""
        if self._metadata is not None and self.clock() - self._fetched < METADATA_TTL:
            return self._metadata
        doc = await self._json("GET", self._discovery_url)
        if doc.get("issuer") != self.issuer:
            raise IssuerUnavailable("the discovery document names another issuer")
        try:
            self._metadata = Metadata(
                issuer=self.issuer, authorization_endpoint=str(doc["authorization_endpoint"]),
                token_endpoint=str(doc["token_endpoint"]),
                jwks_uri=self._jwks_url or str(doc["jwks_uri"]),
                end_session_endpoint=doc.get("end_session_endpoint"))
        except KeyError as exc:
            raise IssuerUnavailable(f"the discovery document lacks {exc}") from None
        self._fetched = self.clock()
        return self._metadata

    async def authorization_url(self, login: LoginRequest, redirect_uri: str) -> str:
        """Where the browser goes to sign in. prompt=login: the console always asks for the
        password, so neither a session left at the issuer on a shared computer nor one on
        another device (after "sign out everywhere") lets anyone in without it."""
        endpoint = (await self.metadata()).authorization_endpoint
        query = urlencode({
            "response_type": "code", "client_id": self.client_id, "redirect_uri": redirect_uri,
            "scope": "openid", "state": login.state, "nonce": login.nonce,
            "code_challenge": login.challenge, "code_challenge_method": "S256",
            "prompt": "login"})
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"

    async def exchange(self, code: str, login: LoginRequest, redirect_uri: str) -> dict[str, Any]:
        """Trade the code (and the PKCE verifier) for tokens."""
        return await self._token({"grant_type": "authorization_code", "code": code,
                                  "redirect_uri": redirect_uri,
                                  "code_verifier": login.verifier})

    async def refresh(self, refresh_token: str) -> dict[str, Any]:
        """New tokens for a session the issuer still holds (SignInRefused when it ended)."""
        return await self._token({"grant_type": "refresh_token",
                                  "refresh_token": refresh_token})

    async def id_claims(self, id_token: str, login: LoginRequest) -> dict[str, Any]:
        """An ID token's claims after the validator's checks (signature, iss, aud = this
        client, exp, typ ID) and the flow's own: the nonce of this sign-in, and a password
        entered after it began (prompt=login was honoured)."""
        if self._ids is None:
            self._ids = TokenValidator(issuer=self.issuer, audience=self.client_id,
                                       jwks_url=(await self.metadata()).jwks_uri,
                                       http=self.http, token_type="ID", clock=self.clock)
        claims = await self._ids.verified_claims(id_token)
        if claims.get("azp", self.client_id) != self.client_id:
            raise SignInRefused("id-token-azp")
        if not same(claims.get("nonce") if isinstance(claims.get("nonce"), str) else None,
                    login.nonce):
            raise SignInRefused("nonce")
        auth_time = claims.get("auth_time")
        if not isinstance(auth_time, int | float) or auth_time < login.started - AUTH_TIME_LEEWAY:
            raise SignInRefused("auth-time")
        return claims

    async def end_session_url(self, id_token: str, post_logout: str) -> str | None:
        """Where the browser goes to end its session at the issuer, if it says."""
        try:
            endpoint = (await self.metadata()).end_session_endpoint
        except IssuerUnavailable:
            return None
        if not endpoint:
            return None
        query = urlencode({"id_token_hint": id_token, "post_logout_redirect_uri": post_logout,
                           "client_id": self.client_id})
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"

    async def _token(self, form: dict[str, str]) -> dict[str, Any]:
        endpoint = (await self.metadata()).token_endpoint
        body = await self._json("POST", endpoint, data={**form, "client_id": self.client_id},
                                refusals=True)
        if not isinstance(body.get("access_token"), str):
            raise SignInRefused("no-access-token")
        return body

    async def _json(self, method: str, url: str, data: dict[str, str] | None = None,
                    refusals: bool = False) -> dict[str, Any]:
        try:
            reply = await self.http.request(method, url, data=data, timeout=TIMEOUT,
                                            headers={"Accept": "application/json"})
            body = reply.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("console: the issuer could not be reached (%s)", type(exc).__name__)
            raise IssuerUnavailable(type(exc).__name__) from None
        if refusals and reply.status_code in (400, 401) and isinstance(body, dict):
            raise SignInRefused(str(body.get("error", "refused"))[:40])
        if reply.status_code != 200 or not isinstance(body, dict):
            log.warning("console: the issuer answered %d", reply.status_code)
            raise IssuerUnavailable(f"status {reply.status_code}")
        return body
