"""The browser side of the issuer, as Keycloak runs it: login sessions (Keycloak's user
sessions, named by a cookie), authorization requests waiting for a login, single-use
authorization codes bound to a PKCE challenge, and refresh tokens tied to the login session.

Everything lives in this process's memory: the issuer is for development only, and a restart
signs everybody out, as a Keycloak without a database would.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from suara_devissuer.realm import Client, User

CODE_LIFESPAN = 60  # seconds, Keycloak's default "Client login timeout"
LOGIN_LIFESPAN = 1800  # an authorization request waits this long for its login
MAX_PENDING = 10_000  # so a loop of requests cannot exhaust the process
CHALLENGE_METHODS = ("plain", "S256")
_PKCE_VALUE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")  # RFC 7636 section 4.1


def pkce_value_ok(value: str) -> bool:
    """Whether a code verifier or challenge has RFC 7636's alphabet and length."""
    return bool(_PKCE_VALUE.fullmatch(value))


def s256(verifier: str) -> str:
    """The S256 code challenge of a verifier."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def pkce_matches(challenge: str, method: str, verifier: str) -> bool:
    """Whether `verifier` answers the challenge (in constant time)."""
    if not pkce_value_ok(verifier):
        return False
    expected = s256(verifier) if method == "S256" else verifier
    return hmac.compare_digest(expected.encode(), challenge.encode())


@dataclass
class LoginSession:
    """A browser's login at the issuer: later authorization requests from it need no password
    (unless they ask with prompt=login); it ends at logout, when idle, or at its maximum."""

    id: str
    user: User
    auth_time: int
    started: float
    last_seen: float


@dataclass(frozen=True)
class AuthorizationRequest:
    """An authorization request, checked, waiting for its user to sign in."""

    id: str
    client: Client
    redirect_uri: str
    state: str | None
    nonce: str | None
    scope: str
    code_challenge: str | None
    code_challenge_method: str | None
    created: float


@dataclass
class AuthorizationCode:
    """What a code stands for, until it is redeemed once or expires."""

    request: AuthorizationRequest
    session_id: str
    expires: float
    fresh_login: bool
    used: bool = False
    refresh_tokens: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RefreshGrant:
    """What a refresh token stands for: the client, and the login session it lives with."""

    client_id: str
    session_id: str
    scope: str


class FlowState:
    """The issuer's login sessions, pending requests, codes and refresh tokens."""

    def __init__(self, idle: int, maximum: int, clock: Callable[[], float]) -> None:
        self.idle, self.maximum, self.clock = idle, maximum, clock
        self.sessions: dict[str, LoginSession] = {}
        self.requests: dict[str, AuthorizationRequest] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.refresh: dict[str, RefreshGrant] = {}

    def _prune(self) -> None:
        now = self.clock()
        for sid in [s for s, v in self.sessions.items() if not self._alive(v, now)]:
            self.end_session(sid)
        self.requests = {k: v for k, v in self.requests.items()
                         if now - v.created < LOGIN_LIFESPAN}
        # a used code is kept until it expires, so that its replay is recognised
        self.codes = {k: v for k, v in self.codes.items() if v.expires > now}

    def _alive(self, session: LoginSession, now: float) -> bool:
        return now - session.last_seen < self.idle and now - session.started < self.maximum

    def pending(self, request: AuthorizationRequest) -> None:
        """Keep a request until its user signs in."""
        self._prune()
        if len(self.requests) >= MAX_PENDING:
            self.requests.pop(next(iter(self.requests)))
        self.requests[request.id] = request

    def session(self, sid: str | None) -> LoginSession | None:
        """The live login session with this id, touched; None if it ended."""
        self._prune()
        session = self.sessions.get(sid or "")
        if session is not None:
            session.last_seen = self.clock()
        return session

    def start_session(self, user: User) -> LoginSession:
        """A new login session for a user who has just given their password."""
        now = self.clock()
        session = LoginSession(secrets.token_urlsafe(32), user, int(now), now, now)
        self.sessions[session.id] = session
        return session

    def end_session(self, sid: str) -> None:
        """End a login session and every refresh token that lives with it."""
        self.sessions.pop(sid, None)
        self.refresh = {k: v for k, v in self.refresh.items() if v.session_id != sid}

    def issue_code(self, request: AuthorizationRequest, session: LoginSession,
                   fresh_login: bool) -> str:
        """A single-use code for this request, valid for CODE_LIFESPAN seconds."""
        code = secrets.token_urlsafe(32)
        self.codes[code] = AuthorizationCode(request, session.id,
                                             self.clock() + CODE_LIFESPAN, fresh_login)
        return code

    def redeem(self, code: str) -> AuthorizationCode | None:
        """The code's grant, once; None for an unknown or expired code. A second redemption
        also revokes the refresh tokens of the first (RFC 6749 section 4.1.2): somebody
        else holds the code."""
        self._prune()
        grant = self.codes.get(code)
        if grant is None:
            return None
        if grant.used:
            for token in grant.refresh_tokens:
                self.refresh.pop(token, None)
            return None
        grant.used = True
        return grant

    def issue_refresh(self, grant: RefreshGrant, code: AuthorizationCode | None = None) -> str:
        """A refresh token for this grant (remembered with the code it came from)."""
        token = secrets.token_urlsafe(48)
        self.refresh[token] = grant
        if code is not None:
            code.refresh_tokens.append(token)
        return token

    def refresh_grant(self, token: str) -> tuple[RefreshGrant, LoginSession] | None:
        """A refresh token's grant and its live login session; None once either ended."""
        grant = self.refresh.get(token)
        session = self.session(grant.session_id) if grant else None
        if grant is None or session is None:
            return None
        return grant, session

    def refresh_lifespan(self, session: LoginSession) -> int:
        """Seconds a refresh token has left: the session's idle or maximum, the sooner."""
        now = self.clock()
        return max(0, int(min(self.idle, session.started + self.maximum - now)))
