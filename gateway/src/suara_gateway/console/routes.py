"""The staff console's shell under /console: sign-in through the issuer (authorization code flow
with PKCE, state and nonce), the callback that opens a short server-side session, sign-out
everywhere, the language switch, and a start page that says who is signed in.

Later console pages add routes here (or in modules beside it) with `ConsoleSessionDep` or
`require_console_role(...)` from `session.py`, and templates extending `base.html`.
"""

from __future__ import annotations

import logging
import secrets
from typing import Annotated
from urllib.parse import quote, urlsplit

import httpx
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import QueryParams

from suara_contracts.referrals import DirectoryQuery, OrganisationList
from suara_contracts.subjects import Rpc as S
from suara_gateway import problems
from suara_gateway.console import cases, cookies, i18n, mediator
from suara_gateway.console.i18n import N_, STAFF_BY_CODE
from suara_gateway.console.oidc import (
    IssuerUnavailable,
    LoginRequest,
    SignInRefused,
    same,
)
from suara_gateway.console.render import message, render
from suara_gateway.console.session import (
    HOME,
    LOGIN_MAX_AGE,
    Console,
    ConsoleInterrupt,
    ConsoleSessionDep,
    console_of,
    entry_of,
    record_fields,
    safe_next,
    unavailable,
)
from suara_gateway.console.store import NATS_ERRORS, SessionRecord
from suara_gateway.deps import actor_of
from suara_gateway.i18n import Language
from suara_gateway.settings import GatewaySettings
from suara_kit.auth import Principal
from suara_kit.errors import SuaraError, Unavailable

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

ROLE_LABELS = {
    "case-handler": N_("Case handler"), "mediator": N_("Mediator"),
    "worker-committee": N_("Worker committee"), "employer-liaison": N_("Employer liaison"),
    "admin": N_("Administrator"), "consent-override": N_("May record consent overrides"),
    "cso-partner": N_("Partner system"),
}
SIGN_IN_AGAIN = ("/console/sign-in", N_("Sign in again"))

i18n.CATALOGS.load_all()  # a broken catalog fails at start-up, not on a staff member's page


def browser_language(request: Request) -> Language:
    """The staff language the browser asks for (before anyone is signed in)."""
    return i18n.negotiate(request.headers.get("accept-language"))


@router.get("/console")
async def home(request: Request, session: ConsoleSessionDep) -> HTMLResponse:
    """Who is signed in, for which organisation, with which roles."""
    console = console_of(request)
    roles = [ROLE_LABELS.get(role, role) for role in sorted(session.principal.roles)]
    return render(request, "home.html", session.language, session=session, roles=roles,
                  idle_minutes=f"{console.settings.console_idle_minutes:g}",
                  lifetime_hours=f"{console.settings.console_lifetime_hours:g}")


@router.get("/console/")
async def home_slash() -> RedirectResponse:
    """The start page has no trailing slash."""
    return RedirectResponse(HOME, status_code=308)


@router.get("/console/sign-in")
async def sign_in(request: Request,
                  next_path: Annotated[str | None, Query(alias="next")] = None) -> Response:
    """Send the browser to the issuer with a fresh state, nonce and PKCE challenge, which a
    cookie (sealed, ten minutes) carries until the callback."""
    console, target = console_of(request), safe_next(next_path)
    if request.url.netloc != urlsplit(console.base_url).netloc:
        # the cookies belong to the address the issuer sends the browser back to
        return RedirectResponse(f"{console.base_url}/console/sign-in?next={quote(target)}",
                                status_code=303)
    login = LoginRequest.new(target, console.clock())
    try:
        url = await console.provider.authorization_url(login, console.redirect_uri)
    except IssuerUnavailable:
        return unavailable(request, browser_language(request)).response
    response = RedirectResponse(url, status_code=303)
    console.set_cookie(response, console.login_cookie, console.seal_login(login), lax=True,
                       max_age=LOGIN_MAX_AGE)
    return response


@router.get("/console/callback")
async def callback(request: Request) -> Response:
    """The issuer's answer: check it, trade the code, open a session."""
    console = console_of(request)
    login = console.open_login(request.cookies.get(console.login_cookie))
    try:
        response = await _open_session(request, console, login, request.query_params)
    except ConsoleInterrupt as interrupt:
        response = interrupt.response
    console.clear_cookie(response, console.login_cookie, lax=True)  # spent, whatever happened
    return response


async def _open_session(request: Request, console: Console, login: LoginRequest | None,
                        params: QueryParams) -> Response:
    language = browser_language(request)
    if login is None or not same(params.get("state"), login.state):
        raise _refused(request, language, "state", expired=True)
    if params.get("iss") not in (None, console.settings.oidc_issuer):  # RFC 9207
        raise _refused(request, language, "iss")
    if params.get("error") or not params.get("code"):
        raise _refused(request, language, str(params.get("error") or "no-code")[:40])
    record = await _signed_in(request, console, login, params["code"], language)
    try:
        if old := request.cookies.get(console.session_cookie):
            await console.sessions().delete(old)  # a new sign-in never keeps an old id
        session_id = await console.sessions().create(record)
    except NATS_ERRORS:
        raise unavailable(request, language) from None
    log.info("console: signed in")
    page = render(request, "continue.html", console.language(record), next=login.next)
    console.set_cookie(page, console.session_cookie, session_id)
    return page


async def _signed_in(request: Request, console: Console, login: LoginRequest, code: str,
                     language: Language) -> SessionRecord:
    """The new session's record, from tokens the issuer gave and the validators accepted."""
    try:
        tokens = await console.provider.exchange(code, login, console.redirect_uri)
        claims = await request.app.state.validator.verified_claims(tokens["access_token"])
        if not isinstance(tokens.get("id_token"), str):
            raise SignInRefused("no-id-token")
        id_claims = await console.provider.id_claims(tokens["id_token"], login)
        if id_claims.get("sub") != claims.get("sub"):
            raise SignInRefused("subject-mismatch")
    except SignInRefused as exc:
        raise _refused(request, language, exc.reason) from None
    except (IssuerUnavailable, Unavailable):
        raise unavailable(request, language) from None
    except SuaraError:  # a token the validator refused
        raise _refused(request, language, "invalid-token") from None
    principal, now = Principal.from_claims(claims), console.clock()
    chosen = id_claims.get("locale")
    return SessionRecord(
        **record_fields(principal, id_claims),
        organisation_name=await organisation_name(request, principal),
        csrf_token=secrets.token_urlsafe(32),
        language=chosen if chosen in STAFF_BY_CODE else language.code,
        id_token=tokens["id_token"], refresh_token=tokens.get("refresh_token"),
        access_expires=float(claims["exp"]), created=now, last_seen=now)


def _refused(request: Request, language: Language, reason: str,
             expired: bool = False) -> ConsoleInterrupt:
    log.info("console: sign-in refused (%s)", reason)  # a code, never a token or a name
    if expired:
        title, text = N_("Your sign-in expired"), N_(
            "Signing in took too long, or was started in another window. Please sign in again.")
    elif reason == "access_denied":
        title, text = N_("Sign-in was cancelled"), N_("You are not signed in.")
    else:
        title, text = N_("Sign-in did not work"), N_(
            "Suara could not confirm who you are. Please sign in again; if this happens again, "
            "tell your organisation's Suara administrator.")
    return ConsoleInterrupt(message(request, language, status=400, title=title, text=text,
                                    link=SIGN_IN_AGAIN))


async def organisation_name(request: Request, principal: Principal) -> str | None:
    """The organisation's name from case-management's directory (None when it does not
    answer: the page then shows the organisation's short name)."""
    if principal.organisation is None:
        return None
    try:
        found = await request.app.state.rpc(
            S.CASES_REFERRAL_DIRECTORY, DirectoryQuery(actor=actor_of(principal)),
            OrganisationList)
    except (SuaraError, *NATS_ERRORS):
        return None
    return next((o.name for o in found.items if o.id == principal.organisation), None)


@router.post("/console/sign-out")
async def sign_out(request: Request, session: ConsoleSessionDep) -> Response:
    """End every console session of this staff member, on every device, then the issuer's
    session in this browser (RP-initiated logout)."""
    console, entry = console_of(request), entry_of(request)
    try:
        await console.sessions().end_everywhere(session.principal.subject)
        await console.sessions().delete(entry.session_id)
    except NATS_ERRORS:
        return unavailable(request, session.language).response
    log.info("console: signed out everywhere")
    signed_out = console.base_url + "/console/signed-out"
    target = await console.provider.end_session_url(entry.record.id_token, signed_out)
    response = RedirectResponse(target or "/console/signed-out", status_code=303)
    console.clear_cookie(response, console.session_cookie)
    return response


@router.get("/console/signed-out")
async def signed_out(request: Request) -> HTMLResponse:
    """Where the issuer sends the browser after signing out."""
    return message(request, browser_language(request), status=200,
                   title=N_("You are signed out"),
                   text=N_("You are signed out of the Suara console on every device. If other "
                           "people use this computer, close the browser too."),
                   link=SIGN_IN_AGAIN)


@router.post("/console/language")
async def choose_language(request: Request, session: ConsoleSessionDep) -> Response:
    """Keep the staff member's choice of language in their session."""
    form = await request.form()
    code, back = form.get("language"), safe_next(str(form.get("next") or HOME))
    console, entry = console_of(request), entry_of(request)
    if isinstance(code, str) and code in STAFF_BY_CODE and code != entry.record.language:
        try:
            await console.sessions().save(
                entry.session_id, entry.record.touched(console.clock(), language=code),
                entry.revision)
        except NATS_ERRORS:
            return unavailable(request, session.language).response
    return RedirectResponse(back, status_code=303)


async def _interrupted(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ConsoleInterrupt)
    return exc.response


async def _error(request: Request, exc: Exception) -> Response:
    """A typed error: an HTML page under /console, problem+json everywhere else."""
    assert isinstance(exc, SuaraError)
    if not cookies.under_console(request.url.path):
        return problems.problem_response(exc)
    language = browser_language(request)
    if exc.status == 503:
        return unavailable(request, language).response
    return message(request, language, status=exc.status, title=N_("Something went wrong"),
                   text=N_("The console could not do this. Nothing was changed. Go back and "
                           "try again."), link=(HOME, N_("Go to the console's start page")))


def install(app: FastAPI, settings: GatewaySettings,
            issuer_http: httpx.AsyncClient | None = None) -> None:
    """Add the console to the gateway (after `problems.install`: its typed errors become pages
    under /console). The lifespan opens its session store: `app.state.console.start(nc)`."""
    http = issuer_http or httpx.AsyncClient(timeout=10.0, follow_redirects=False)
    app.state.console = Console(settings, http, owns_http=issuer_http is None)
    app.add_exception_handler(ConsoleInterrupt, _interrupted)
    app.add_exception_handler(SuaraError, _error)
    app.include_router(router)
    app.include_router(cases.router)  # the case handlers' pages
    app.include_router(mediator.router)  # the mediators' pages
