"""Who is using the console: the session behind the cookie, as a dependency for every console
page.

    @router.get("/console/cases")
    async def queue(session: Annotated[ConsoleSession,
                                       Depends(require_console_role("case-handler"))]): ...

* No session (or one past its idle timeout or absolute lifetime): a redirect to sign-in, which
  comes back to the page asked for.
* A missing role: a 403 page.
* Every POST, PUT, PATCH or DELETE is checked against cross-site forgery before the page runs:
  the request must come from the console's own origin (Sec-Fetch-Site, Origin) and carry the
  session's synchroniser token in the form field `csrf_token` (templates: `{{ csrf_field }}`).
  A wrong one is a 403 page.
* Every five minutes (the access token's life) the session is refreshed at the issuer: a staff
  member disabled, signed out or stripped of a role at Keycloak loses the console within that.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, NoReturn
from urllib.parse import quote

import httpx
from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup, escape
from nats.aio.client import Client

from suara_contracts.rpc import Actor
from suara_gateway.console import cookies
from suara_gateway.console.i18n import ENGLISH, N_, STAFF_BY_CODE
from suara_gateway.console.oidc import (
    IssuerUnavailable,
    LoginRequest,
    Provider,
    SignInRefused,
    same,
)
from suara_gateway.console.render import message
from suara_gateway.console.store import NATS_ERRORS, SessionRecord, SessionStore, bucket
from suara_gateway.deps import actor_of
from suara_gateway.i18n import Language
from suara_gateway.settings import GatewaySettings, secure_origin
from suara_kit.auth import Principal, TokenValidator
from suara_kit.errors import SuaraError, Unavailable
from suara_kit.sealing import Sealer, SealError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
LOGIN_MAX_AGE = 600  # seconds from "sign in" to the callback
REFRESH_MARGIN = 30  # refresh this long before the access token expires
TOUCH_EVERY = 30  # write "last seen" at most this often (idle timeout precision)
_LOGIN_INFO = b"suara-gateway-console-login-v1"
HOME = "/console"


class ConsoleInterrupt(Exception):
    """A console dependency's early answer: a redirect to sign-in or an error page."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


@dataclass(frozen=True)
class ConsoleSession:
    """The signed-in staff member as console pages see them."""

    principal: Principal
    actor: Actor
    name: str
    organisation_name: str | None
    csrf_token: str
    language: Language

    @property
    def organisation(self) -> str | None:
        """The staff member's organisation (slug), if any."""
        return self.principal.organisation

    @property
    def csrf_field(self) -> Markup:
        """The hidden form field every console form carries."""
        return Markup('<input type="hidden" name="{}" value="{}">').format(
            CSRF_FIELD, escape(self.csrf_token))


@dataclass
class Console:
    """The console's settings, issuer and session store (opened in the gateway's lifespan)."""

    settings: GatewaySettings
    http: httpx.AsyncClient
    owns_http: bool
    clock: Callable[[], float] = time.time
    store: SessionStore | None = None
    provider: Provider = field(init=False)

    def __post_init__(self) -> None:
        self.provider = Provider(
            issuer=self.settings.oidc_issuer, client_id=self.settings.console_client_id,
            discovery_url=self.settings.oidc_discovery_url,
            jwks_url=self.settings.oidc_jwks_url, http=self.http, clock=self.clock)
        secret = self.settings.console_session_key.get_secret_value()
        self._login_sealer = Sealer(secret, info=_LOGIN_INFO)
        self.secure = secure_origin(self.settings.console_base_url)
        self.session_cookie = cookies.name(cookies.SESSION, self.secure)
        self.login_cookie = cookies.name(cookies.LOGIN, self.secure)

    @property
    def base_url(self) -> str:
        """The gateway's public origin."""
        return self.settings.console_base_url

    @property
    def redirect_uri(self) -> str:
        """The callback registered at the issuer."""
        return self.base_url + "/console/callback"

    @property
    def idle(self) -> float:
        """Seconds without a request that end a session."""
        return self.settings.console_idle_minutes * 60

    @property
    def lifetime(self) -> float:
        """Seconds after sign-in that end a session."""
        return self.settings.console_lifetime_hours * 3600

    async def start(self, nc: Client) -> None:
        """Open the session bucket (creating it on first use)."""
        kv = await bucket(nc, self.lifetime, self.settings.nats_replicas)
        self.store = SessionStore(kv, self.settings.console_session_key.get_secret_value(),
                                  self.lifetime, self.clock)

    async def aclose(self) -> None:
        """Close the HTTP client if the console made it."""
        if self.owns_http:
            await self.http.aclose()

    def sessions(self) -> SessionStore:
        """The store (after `start`)."""
        if self.store is None:
            raise RuntimeError("the console's session store is not open yet")
        return self.store

    def set_cookie(self, response: Response, name: str, value: str, *, lax: bool = False,
                   max_age: int | None = None) -> None:
        """Set one of the console's cookies: HttpOnly, Path=/, Secure on a secure origin;
        SameSite=Strict, but Lax for the sign-in's own cookie, which must come back with
        the issuer's redirect from another site."""
        response.set_cookie(name, value, max_age=max_age, path="/", secure=self.secure,
                            httponly=True, samesite="lax" if lax else "strict")

    def clear_cookie(self, response: Response, name: str, *, lax: bool = False) -> None:
        """Remove one of the console's cookies from the browser."""
        response.delete_cookie(name, path="/", secure=self.secure, httponly=True,
                               samesite="lax" if lax else "strict")

    def seal_login(self, login: LoginRequest) -> str:
        """A sign-in's secrets, sealed for the browser to carry to the callback."""
        plain = json.dumps([login.state, login.nonce, login.verifier, login.next,
                            login.started]).encode()
        sealed = self._login_sealer.seal(plain, b"console-login")
        return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode("ascii")

    def open_login(self, value: str | None) -> LoginRequest | None:
        """The sign-in the browser carried back; None if absent, altered or too old."""
        if not value:
            return None
        try:
            sealed = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            plain = self._login_sealer.open(sealed, b"console-login")
            state, nonce, verifier, next_path, started = json.loads(plain)
        except (SealError, ValueError, binascii.Error):
            return None
        if self.clock() - started > LOGIN_MAX_AGE:
            return None
        return LoginRequest(state, nonce, verifier, next_path, started)

    def language(self, record: SessionRecord) -> Language:
        """The language the staff member chose."""
        return STAFF_BY_CODE.get(record.language, ENGLISH)


def console_of(request: Request) -> Console:
    """The console's state."""
    return request.app.state.console  # type: ignore[no-any-return]


def safe_next(value: str | None) -> str:
    """A place inside the console to come back to after sign-in (never another site)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return HOME
    path = value.split("?", 1)[0]
    return value if cookies.under_console(path) and "/../" not in path + "/" else HOME


def sign_in_redirect(request: Request, clear_session: bool = False) -> RedirectResponse:
    """Send the browser to sign in, and back here afterwards (GET pages only)."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = safe_next(here) if request.method == "GET" else HOME
    response = RedirectResponse(f"/console/sign-in?next={quote(target, safe='/')}",
                                status_code=303)
    if clear_session:
        console = console_of(request)
        console.clear_cookie(response, console.session_cookie)
    return response


def unavailable(request: Request, language: Language) -> ConsoleInterrupt:
    """The page for an issuer or NATS that cannot be reached."""
    page = message(request, language, status=503, title=N_("The console is not available"),
                   text=N_("Suara cannot reach a service it needs. Nothing you sent was lost. "
                           "Try again in a minute."), link=(HOME, N_("Try again")))
    page.headers["Retry-After"] = "30"
    return ConsoleInterrupt(page)


def forged(request: Request, language: Language) -> ConsoleInterrupt:
    """The page for a form that fails the cross-site check."""
    return ConsoleInterrupt(message(
        request, language, status=403, title=N_("This form was not accepted"),
        text=N_("It did not come from this console page, or it is older than your session. "
                "Nothing was changed. Go back, reload the page and send it again."),
        link=(HOME, N_("Go to the console's start page"))))


def from_console_origin(request: Request, origin: str) -> bool:
    """Whether the browser says the request comes from the console's own origin. Browsers
    send Sec-Fetch-Site (and Origin on a POST); a client that sends neither is judged by the
    synchroniser token alone."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site != "same-origin":
        return False
    sent = request.headers.get("origin")
    return sent is None or sent == origin


async def check_form(request: Request, record: SessionRecord, language: Language) -> None:
    """Refuse a state-changing request that did not come from a console page of this
    session (403 page)."""
    if not from_console_origin(request, console_of(request).base_url):
        raise forged(request, language)
    token = (await request.form()).get(CSRF_FIELD)
    if not isinstance(token, str) or not same(token, record.csrf_token):
        raise forged(request, language)


async def refreshed(request: Request, record: SessionRecord) -> SessionRecord:
    """The record with fresh tokens from the issuer, roles and organisation re-read; the
    issuer's refusal ends the session (SignInRefused)."""
    if record.refresh_token is None:
        raise SignInRefused("no-refresh-token")
    tokens = await console_of(request).provider.refresh(record.refresh_token)
    validator: TokenValidator = request.app.state.validator
    claims = await validator.verified_claims(tokens["access_token"])
    principal = Principal.from_claims(claims)
    if principal.subject != record.subject:
        raise SignInRefused("subject-changed")
    return record.touched(
        record.last_seen, roles=tuple(sorted(principal.roles)),
        organisations=principal.organisations, access_expires=float(claims["exp"]),
        refresh_token=tokens.get("refresh_token") or record.refresh_token,
        id_token=tokens.get("id_token") or record.id_token)


def session_of(record: SessionRecord, language: Language) -> ConsoleSession:
    """The page's view of a stored session."""
    principal = Principal(subject=record.subject, username=record.username,
                          client_id=record.client_id, roles=frozenset(record.roles),
                          organisations=record.organisations)
    return ConsoleSession(principal=principal, actor=actor_of(principal),
                          name=record.name or record.username or "",
                          organisation_name=record.organisation_name,
                          csrf_token=record.csrf_token, language=language)


@dataclass(frozen=True)
class Entry:
    """The stored session behind a request (for sign-out and the language switch)."""

    session_id: str
    record: SessionRecord
    revision: int


async def console_session(request: Request) -> ConsoleSession:
    """The signed-in staff member, or a redirect to sign in (see the module docstring)."""
    console = console_of(request)
    session_id = request.cookies.get(console.session_cookie)
    try:
        loaded = await console.sessions().load(session_id) if session_id else None
    except NATS_ERRORS:
        raise unavailable(request, ENGLISH) from None
    if session_id is None or loaded is None:
        raise ConsoleInterrupt(sign_in_redirect(request, clear_session=session_id is not None))
    record, revision = loaded
    now, language = console.clock(), console.language(record)
    if now - record.last_seen > console.idle or now - record.created > console.lifetime:
        await _end(request, session_id)
    if request.method not in SAFE_METHODS:
        await check_form(request, record, language)
    entry = await _keep_alive(request, Entry(session_id, record, revision), now, language)
    request.state.console_entry = entry
    return session_of(entry.record, language)


async def _keep_alive(request: Request, entry: Entry, now: float, language: Language
                      ) -> Entry:
    """Refresh the tokens when due, note the request's time when due, and notice a sign-out
    that happened meanwhile on another replica."""
    store = console_of(request).sessions()
    record = entry.record
    try:
        if now >= record.access_expires - REFRESH_MARGIN:
            record = await refreshed(request, record)
        if record is entry.record and now - record.last_seen < TOUCH_EVERY:
            return entry
        record = record.touched(now)
        revision = await store.save(entry.session_id, record, entry.revision)
        if revision is not None:
            return Entry(entry.session_id, record, revision)
        # changed meanwhile: by another request (carry on with its version) or a sign-out
        loaded = await store.load(entry.session_id)
    except (IssuerUnavailable, Unavailable, *NATS_ERRORS):
        raise unavailable(request, language) from None
    except (SignInRefused, SuaraError):  # the issuer ended it, or sent a token that fails
        await _end(request, entry.session_id)
    if loaded is None:
        raise ConsoleInterrupt(sign_in_redirect(request, clear_session=True))
    return Entry(entry.session_id, *loaded)


async def _end(request: Request, session_id: str) -> NoReturn:
    """End a session that timed out or that the issuer no longer holds, and go sign in."""
    try:
        await console_of(request).sessions().delete(session_id)
    except NATS_ERRORS:
        pass  # the bucket's time to live removes it
    raise ConsoleInterrupt(sign_in_redirect(request, clear_session=True))


ConsoleSessionDep = Annotated[ConsoleSession, Depends(console_session)]


def require_console_role(*roles: str) -> Callable[..., Awaitable[ConsoleSession]]:
    """A dependency admitting staff with one of `roles` (a 403 page for others)."""

    async def dependency(request: Request, session: ConsoleSessionDep) -> ConsoleSession:
        if not set(roles) & session.principal.roles:
            raise ConsoleInterrupt(message(
                request, session.language, status=403, title=N_("Not for your account"),
                text=N_("This page needs a role your account does not have. If your work needs "
                        "it, ask your organisation's Suara administrator."),
                link=(HOME, N_("Go to the console's start page")), session=session))
        return session

    return dependency


def entry_of(request: Request) -> Entry:
    """The stored session `console_session` found for this request."""
    entry: Entry = request.state.console_entry
    return entry


def record_fields(principal: Principal, claims: dict[str, Any]) -> dict[str, Any]:
    """What a new session keeps from the validated access token and ID token."""
    name = claims.get("name") if isinstance(claims.get("name"), str) else None
    return {"subject": principal.subject, "username": principal.username, "name": name,
            "client_id": principal.client_id, "roles": tuple(sorted(principal.roles)),
            "organisations": principal.organisations}
