"""A development-only OIDC issuer that mints Keycloak-shaped tokens from a realm export: client
credentials and password grants, and the authorization code flow with PKCE (a login page for the
realm's users, single-use codes, ID tokens, refresh tokens and RP-initiated logout)."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import logging
import os
import secrets
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from suara_devissuer import pages
from suara_devissuer.flow import (
    CHALLENGE_METHODS,
    AuthorizationCode,
    AuthorizationRequest,
    FlowState,
    LoginSession,
    RefreshGrant,
    pkce_matches,
    pkce_value_ok,
)
from suara_devissuer.realm import (
    AUDIENCE_MAPPER,
    GROUP_MAPPER,
    Client,
    Realm,
    User,
    check_realm,
    load_realm,
)
from suara_devissuer.settings import DevIssuerSettings

log = logging.getLogger("suara_devissuer")

ALGORITHM = "RS256"
GRANT_TYPES = ("client_credentials", "password", "authorization_code", "refresh_token")
BASE_SCOPES = ("profile", "email")
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
SSO_COOKIE = "suara_devissuer_sso"  # the browser's login session (Keycloak: KEYCLOAK_SESSION)
REQUEST_COOKIE = "suara_devissuer_request"  # the request the login form answers
STYLESHEET = "/resources/login.css"
BAD_CREDENTIALS = "Invalid username or password."


class OAuthError(Exception):
    """An OAuth 2.0 error response (RFC 6749 section 5.2)."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description

    def response(self) -> JSONResponse:
        """The JSON error response."""
        headers = dict(NO_STORE)
        if self.error == "invalid_client":
            headers["WWW-Authenticate"] = 'Basic realm="suara"'
        body = {"error": self.error, "error_description": self.description}
        return JSONResponse(body, status_code=self.status, headers=headers)


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def load_signing_key(key_file: Path | None) -> RSAKey:
    """Load the RSA signing key from key_file, or create it (and persist it if a path is given)."""
    if key_file is not None and key_file.exists():
        pem = key_file.read_bytes()
    else:
        pem = RSAKey.generate_key(2048).as_pem(private=True)
        if key_file is not None:
            _write_private(key_file, pem)
    kid = RSAKey.import_key(pem).thumbprint()
    return RSAKey.import_key(pem, parameters={"kid": kid, "use": "sig", "alg": ALGORITHM})


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise OAuthError(401, "invalid_client", "malformed Basic credentials") from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise OAuthError(401, "invalid_client", "malformed Basic credentials")
    return unquote_plus(client_id), unquote_plus(secret)


def _same_secret(given: str | None, expected: str | None) -> bool:
    if given is None or expected is None:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def authenticate_client(realm: Realm, authorization: str | None, form: dict[str, str]) -> Client:
    """Identify the client by client_secret_basic, client_secret_post or (public) client_id."""
    basic = _basic_credentials(authorization)
    if basic and "client_secret" in form:
        raise OAuthError(400, "invalid_request", "use one client authentication method, not two")
    if basic and form.get("client_id", basic[0]) != basic[0]:
        raise OAuthError(400, "invalid_request", "client_id does not match the Basic credentials")
    client_id, secret = basic or (form.get("client_id"), form.get("client_secret"))
    if not client_id:
        raise OAuthError(401, "invalid_client", "missing client_id")
    client = realm.client(client_id)
    if client is None or not client.enabled:
        raise OAuthError(401, "invalid_client", "invalid client or invalid client credentials")
    if client.bearer_only:
        raise OAuthError(401, "invalid_client", "bearer-only clients cannot obtain tokens")
    if client.confidential and not (
        client.authenticator == "client-secret" and _same_secret(secret, client.secret)
    ):
        raise OAuthError(401, "invalid_client", "invalid client or invalid client credentials")
    return client


def service_account_user(realm: Realm, client: Client) -> User:
    """The user a client_credentials grant acts as."""
    if not client.confidential or not client.service_accounts:
        raise OAuthError(400, "unauthorized_client", "client not enabled for service accounts")
    user = realm.service_account(client.client_id)
    if user is None or not user.enabled:
        raise OAuthError(400, "unauthorized_client", "client has no service-account user")
    return user


def password_user(realm: Realm, client: Client, form: dict[str, str]) -> User:
    """The user a password grant authenticates, checked against the realm's credential."""
    if not client.direct_access_grants:
        raise OAuthError(400, "unauthorized_client", "client not allowed for direct access grants")
    username, password = form.get("username"), form.get("password")
    if not username or password is None:
        raise OAuthError(400, "invalid_request", "missing username or password")
    return check_credentials(realm, username, password)


def check_credentials(realm: Realm, username: str, password: str) -> User:
    """The realm's user with this password, or an invalid_grant saying why not."""
    user = realm.user(username)
    if user is None or user.service_account_client_id is not None:
        raise OAuthError(400, "invalid_grant", "invalid user credentials")
    if not _same_secret(password, user.password):
        raise OAuthError(400, "invalid_grant", "invalid user credentials")
    if not user.enabled:
        raise OAuthError(400, "invalid_grant", "account disabled")
    if user.password_temporary:
        raise OAuthError(400, "invalid_grant", "account is not fully set up")
    return user


def granted_scope(requested: str | None) -> str:
    """The scope Keycloak's default client scopes would grant."""
    scopes = list(BASE_SCOPES)
    if requested and "openid" in requested.split():
        scopes.insert(0, "openid")
    return " ".join(scopes)


def _apply_mappers(claims: dict[str, Any], client: Client, user: User,
                   token: str = "access") -> None:
    audiences: list[str] = [claims["aud"]] if "aud" in claims else []
    for mapper in client.mappers:
        if not mapper.flag(f"{token}.token.claim"):
            continue
        if mapper.mapper == AUDIENCE_MAPPER:
            audience = mapper.config.get("included.client.audience") or mapper.config.get(
                "included.custom.audience"
            )
            if audience and audience not in audiences:
                audiences.append(audience)
        elif mapper.mapper == GROUP_MAPPER:
            full = mapper.flag("full.path")
            claims[mapper.config.get("claim.name", "groups")] = [
                group if full else group.rsplit("/", 1)[-1] for group in user.groups
            ]
    if audiences:
        claims["aud"] = audiences[0] if len(audiences) == 1 else audiences


def _profile_claims(user: User) -> dict[str, Any]:
    names = [n for n in (user.first_name, user.last_name) if n]
    profile: dict[str, Any] = {"given_name": user.first_name, "family_name": user.last_name}
    profile["name"] = " ".join(names) or None
    if user.email:
        profile |= {"email": user.email, "email_verified": True}
    return {k: v for k, v in profile.items() if v is not None}


def access_token_claims(
    realm: Realm, client: Client, user: User, *, issuer: str, now: int, scope: str
) -> dict[str, Any]:
    """The claims of a Keycloak-shaped access token for this client and user."""
    claims: dict[str, Any] = {
        "exp": now + realm.access_token_lifespan,
        "iat": now,
        "jti": str(uuid.uuid4()),
        "iss": issuer,
        "sub": user.id,
        "typ": "Bearer",
        "azp": client.client_id,
        "scope": scope,
        "realm_access": {"roles": list(user.realm_roles)},
        "preferred_username": user.username,
    }
    if user.service_account_client_id is not None:
        claims["client_id"] = client.client_id
    else:
        claims |= _profile_claims(user)
    _apply_mappers(claims, client, user)
    return claims


def id_token_claims(realm: Realm, client: Client, session: LoginSession, *, issuer: str,
                    now: int, nonce: str | None, access_token: str, fresh_login: bool
                    ) -> dict[str, Any]:
    """The claims of a Keycloak-shaped ID token: for the client, naming the login session."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    claims: dict[str, Any] = {
        "exp": now + realm.access_token_lifespan, "iat": now, "auth_time": session.auth_time,
        "jti": str(uuid.uuid4()), "iss": issuer, "aud": client.client_id,
        "sub": session.user.id, "typ": "ID", "azp": client.client_id, "sid": session.id,
        "at_hash": base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii"),
        "acr": "1" if fresh_login else "0",
        "preferred_username": session.user.username,
    }
    if nonce is not None:
        claims["nonce"] = nonce
    claims |= _profile_claims(session.user)
    _apply_mappers(claims, client, session.user, token="id")
    return claims


def with_extra_uris(realm: Realm, redirect: Mapping[str, list[str]],
                    post_logout: Mapping[str, list[str]]) -> Realm:
    """The realm with more exact redirect and post-logout URIs for some clients (settings)."""
    clients = dict(realm.clients)
    for client_id in set(redirect) | set(post_logout):
        client = clients.get(client_id)
        if client is None:
            raise ValueError(f"extra redirect URIs for unknown client {client_id!r}")
        clients[client_id] = dataclasses.replace(
            client,
            redirect_uris=(*client.redirect_uris, *redirect.get(client_id, ())),
            post_logout_redirect_uris=(*client.post_logout_redirect_uris,
                                       *post_logout.get(client_id, ())))
    return dataclasses.replace(realm, clients=type(realm.clients)(clients))


def _with_query(url: str, params: Mapping[str, str | None]) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{url}{'&' if '?' in url else '?'}{query}" if query else url


def _browser_redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=302, headers=NO_STORE)


class DevIssuer:
    """The realm, signing key and issuer URL behind the HTTP endpoints."""

    def __init__(self, realm: Realm, key: RSAKey, base_url: str,
                 clock: Callable[[], float] = time.time) -> None:
        self.realm, self.key, self.clock = realm, key, clock
        self.issuer = f"{base_url.rstrip('/')}/realms/{realm.name}"
        self.flow = FlowState(realm.sso_session_idle, realm.sso_session_max, clock)
        self.secure_cookies = base_url.startswith("https://")
        self._confirm_key = secrets.token_bytes(32)

    def require_realm(self, name: str) -> None:
        """Refuse any realm but the loaded one."""
        if name != self.realm.name:
            raise OAuthError(404, "not_found", f"realm {name!r} does not exist")

    def discovery(self) -> dict[str, Any]:
        """The OpenID Provider metadata."""
        endpoints = f"{self.issuer}/protocol/openid-connect"
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{endpoints}/auth",
            "token_endpoint": f"{endpoints}/token",
            "end_session_endpoint": f"{endpoints}/logout",
            "jwks_uri": f"{endpoints}/certs",
            "grant_types_supported": list(GRANT_TYPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "code_challenge_methods_supported": list(CHALLENGE_METHODS),
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "id_token_signing_alg_values_supported": [ALGORITHM],
            "subject_types_supported": ["public"],
            "scopes_supported": ["openid", *BASE_SCOPES],
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "azp", "nonce",
                                 "sid", "preferred_username", "realm_access", "groups", "email",
                                 "name", "given_name", "family_name"],
            "authorization_response_iss_parameter_supported": True,
            "frontchannel_logout_supported": False,
            "backchannel_logout_supported": False,
        }

    def jwks(self) -> dict[str, Any]:
        """The public key set."""
        return {"keys": [self.key.as_dict(private=False)]}

    def token(self, authorization: str | None, form: dict[str, str]) -> dict[str, Any]:
        """Run the token endpoint: check the grant and client, then mint an access token."""
        grant_type = form.get("grant_type")
        if not grant_type:
            raise OAuthError(400, "invalid_request", "missing form parameter: grant_type")
        if grant_type not in GRANT_TYPES:
            description = f"unsupported grant type {grant_type!r}"
            raise OAuthError(400, "unsupported_grant_type", description)
        client = authenticate_client(self.realm, authorization, form)
        if grant_type == "authorization_code":
            return self._code_grant(client, form)
        if grant_type == "refresh_token":
            return self._refresh_grant(client, form)
        if grant_type == "client_credentials":
            user = service_account_user(self.realm, client)
        else:
            user = password_user(self.realm, client, form)
        scope = granted_scope(form.get("scope"))
        claims = access_token_claims(
            self.realm, client, user, issuer=self.issuer, now=int(self.clock()), scope=scope
        )
        log.info("issued %s token to client %s for subject %s", grant_type, client.client_id,
                 user.id)
        return {
            "access_token": self._sign(claims),
            "token_type": "Bearer",
            "expires_in": self.realm.access_token_lifespan,
            "scope": scope,
        }

    def _sign(self, claims: dict[str, Any]) -> str:
        header = {"alg": ALGORITHM, "kid": self.key.kid, "typ": "JWT"}
        return jwt.encode(header, claims, self.key, algorithms=[ALGORITHM])

    # -- the authorization code flow -------------------------------------------------------

    def authorize(self, params: Mapping[str, str], sso: str | None) -> Response:
        """The authorization endpoint: check the request, then send a code back at once (a
        live login session, unless prompt=login) or show the login page."""
        client = self.realm.client(params.get("client_id") or "")
        if client is None or not client.enabled:
            return self._error_page("Client not found.")
        redirect_uri = params.get("redirect_uri") or ""
        if redirect_uri not in client.redirect_uris:  # exact: never a prefix or a pattern
            return self._error_page("Invalid parameter: redirect_uri")
        state = params.get("state")
        try:
            request = self._authorization_request(client, redirect_uri, params)
        except OAuthError as exc:
            return _browser_redirect(_with_query(redirect_uri, {
                "error": exc.error, "error_description": exc.description, "state": state,
                "iss": self.issuer}))
        prompt = set((params.get("prompt") or "").split())
        session = self.flow.session(sso)
        if session is not None and "login" not in prompt:
            return self._send_code(request, session, fresh_login=False)
        if "none" in prompt:
            return _browser_redirect(_with_query(redirect_uri, {
                "error": "login_required", "error_description": "the user is not signed in",
                "state": state, "iss": self.issuer}))
        self.flow.pending(request)
        response = self._login_page(request)
        self._set_cookie(response, REQUEST_COOKIE, request.id)
        return response

    def _authorization_request(self, client: Client, redirect_uri: str,
                               params: Mapping[str, str]) -> AuthorizationRequest:
        if params.get("response_type") != "code":
            raise OAuthError(400, "unsupported_response_type",
                             "only response_type=code is supported")
        if not client.standard_flow or client.bearer_only:
            raise OAuthError(400, "unauthorized_client", "client not allowed for the standard flow")
        challenge = params.get("code_challenge") or None
        method = params.get("code_challenge_method") or None
        if client.pkce_method and not challenge:
            raise OAuthError(400, "invalid_request", "Missing parameter: code_challenge")
        if challenge is not None:
            method = method or "plain"
            if method not in CHALLENGE_METHODS or (client.pkce_method or method) != method:
                raise OAuthError(400, "invalid_request", "Invalid parameter: code challenge "
                                 "method is not matching the configured one")
            if not pkce_value_ok(challenge):
                raise OAuthError(400, "invalid_request", "Invalid parameter: code_challenge")
        return AuthorizationRequest(
            id=secrets.token_urlsafe(24), client=client, redirect_uri=redirect_uri,
            state=params.get("state"), nonce=params.get("nonce"),
            scope=granted_scope(params.get("scope")), code_challenge=challenge,
            code_challenge_method=method if challenge else None, created=self.clock())

    def login(self, form: Mapping[str, str], request_cookie: str | None,
              sso: str | None) -> Response:
        """The login form's answer: with the right password, a login session and a code."""
        request_id = form.get("request") or ""
        request = self.flow.requests.get(request_id)
        if request is None or not _same_secret(request_cookie, request_id):
            return self._error_page("This sign-in page has expired. Go back to the application "
                                    "and sign in again.")
        username = (form.get("username") or "").strip()
        try:
            user = check_credentials(self.realm, username, form.get("password") or "")
        except OAuthError as exc:
            text = BAD_CREDENTIALS if exc.description == "invalid user credentials" else (
                "This account is disabled or not set up: ask your administrator.")
            return self._login_page(request, username=username, error=text)
        del self.flow.requests[request.id]
        if sso:
            self.flow.end_session(sso)  # a new login replaces the browser's old one
        session = self.flow.start_session(user)
        log.info("login session started for subject %s", user.id)
        response = self._send_code(request, session, fresh_login=True)
        self._set_cookie(response, SSO_COOKIE, session.id)
        response.delete_cookie(REQUEST_COOKIE, path=self._cookie_path())
        return response

    def _send_code(self, request: AuthorizationRequest, session: LoginSession,
                   fresh_login: bool) -> RedirectResponse:
        code = self.flow.issue_code(request, session, fresh_login)
        return _browser_redirect(_with_query(request.redirect_uri, {
            "state": request.state, "session_state": session.id, "iss": self.issuer,
            "code": code}))

    def _code_grant(self, client: Client, form: Mapping[str, str]) -> dict[str, Any]:
        if not client.standard_flow:
            raise OAuthError(400, "unauthorized_client", "client not allowed for the standard flow")
        if not form.get("code"):
            raise OAuthError(400, "invalid_request", "Missing parameter: code")
        grant = self.flow.redeem(form["code"])  # spent from here on, whatever follows
        if grant is None or grant.request.client.client_id != client.client_id:
            raise OAuthError(400, "invalid_grant", "Code not valid")
        request = grant.request
        if form.get("redirect_uri") != request.redirect_uri:
            raise OAuthError(400, "invalid_grant", "Incorrect redirect_uri")
        verifier = form.get("code_verifier")
        if request.code_challenge is not None:
            if not verifier:
                raise OAuthError(400, "invalid_grant", "PKCE code verifier not specified")
            if not pkce_matches(request.code_challenge, request.code_challenge_method or "plain",
                                verifier):
                raise OAuthError(400, "invalid_grant", "PKCE verification failed")
        elif verifier:
            raise OAuthError(400, "invalid_grant", "PKCE code verifier specified but the "
                             "authorization request had no code challenge")
        session = self.flow.session(grant.session_id)
        if session is None:
            raise OAuthError(400, "invalid_grant", "Session not active")
        return self._session_tokens(client, session, request.scope, nonce=request.nonce,
                                    code=grant)

    def _refresh_grant(self, client: Client, form: Mapping[str, str]) -> dict[str, Any]:
        token = form.get("refresh_token")
        if not token:
            raise OAuthError(400, "invalid_request", "Missing parameter: refresh_token")
        found = self.flow.refresh_grant(token)
        if found is None:
            raise OAuthError(400, "invalid_grant", "Session not active")
        grant, session = found
        if grant.client_id != client.client_id:
            raise OAuthError(400, "invalid_grant", "Invalid refresh token. Token client and "
                             "authorized client don't match")
        user = self.realm.user(session.user.username)
        if user is None or not user.enabled:
            self.flow.end_session(session.id)
            raise OAuthError(400, "invalid_grant", "User disabled")
        return self._session_tokens(client, session, grant.scope, nonce=None)

    def _session_tokens(self, client: Client, session: LoginSession, scope: str, *,
                        nonce: str | None, code: AuthorizationCode | None = None
                        ) -> dict[str, Any]:
        now = int(self.clock())
        claims = access_token_claims(self.realm, client, session.user, issuer=self.issuer,
                                     now=now, scope=scope)
        claims["sid"] = session.id
        access_token = self._sign(claims)
        body: dict[str, Any] = {
            "access_token": access_token, "expires_in": self.realm.access_token_lifespan,
            "refresh_expires_in": self.flow.refresh_lifespan(session),
            "refresh_token": self.flow.issue_refresh(
                RefreshGrant(client.client_id, session.id, scope), code),
            "token_type": "Bearer", "not-before-policy": 0, "session_state": session.id,
            "scope": scope,
        }
        if "openid" in scope.split():
            body["id_token"] = self._sign(id_token_claims(
                self.realm, client, session, issuer=self.issuer, now=now, nonce=nonce,
                access_token=access_token, fresh_login=bool(code and code.fresh_login)))
        log.info("issued session tokens to client %s for subject %s", client.client_id,
                 session.user.id)
        return body

    # -- logout ----------------------------------------------------------------------------

    def logout(self, params: Mapping[str, str], sso: str | None, confirmed: bool) -> Response:
        """RP-initiated logout: end the login session the ID token names (and the browser's),
        then go back to a registered post-logout URI. Without an ID token the user is asked
        first, so a link from anywhere cannot sign them out."""
        hint, target = params.get("id_token_hint"), params.get("post_logout_redirect_uri")
        try:
            client, sid = self._logout_client(hint, params.get("client_id"))
        except OAuthError as exc:
            return self._error_page(exc.description)
        if target and client is None:
            return self._error_page("Either the parameter client_id or id_token_hint is "
                                    "required when post_logout_redirect_uri is used.")
        if target and client is not None and target not in client.post_logout_redirect_uris:
            return self._error_page("Invalid redirect uri")
        if hint is None and not (confirmed and _same_secret(params.get("confirm"),
                                                            self._confirmation(sso))):
            keep = {k: v for k, v in params.items()
                    if k in ("post_logout_redirect_uri", "client_id", "state")}
            return pages.logout_confirmation(
                action=self._path("protocol/openid-connect/logout"),
                confirm=self._confirmation(sso), stylesheet=STYLESHEET, keep=keep,
                form_targets=(target,) if target else ())
        for session_id in {sid, sso} - {None}:
            self.flow.end_session(str(session_id))
        log.info("login session ended")
        response: Response
        if target:
            response = _browser_redirect(_with_query(target, {"state": params.get("state")}))
        else:
            response = pages.message_page("Signed out", "You are signed out.", status=200,
                                          stylesheet=STYLESHEET)
        response.delete_cookie(SSO_COOKIE, path=self._cookie_path())
        return response

    def _logout_client(self, hint: str | None, client_id: str | None
                       ) -> tuple[Client | None, str | None]:
        client = self.realm.client(client_id) if client_id else None
        if client_id and client is None:
            raise OAuthError(400, "invalid_request", "Client not found.")
        if hint is None:
            return client, None
        claims = self._own_id_token(hint)
        hinted = self.realm.client(str(claims.get("azp") or claims.get("aud")))
        if hinted is None:
            raise OAuthError(400, "invalid_request", "Invalid parameter: id_token_hint")
        if client is not None and client.client_id != hinted.client_id:
            raise OAuthError(400, "invalid_request", "Parameter client_id different than the "
                             "client in the id_token_hint")
        sid = claims.get("sid")
        return hinted, sid if isinstance(sid, str) else None

    def _own_id_token(self, token: str) -> dict[str, Any]:
        """An ID token this issuer signed (expired ones too, as Keycloak accepts them)."""
        try:
            claims = jwt.decode(token, self.key, algorithms=[ALGORITHM]).claims
        except (JoseError, ValueError) as exc:
            raise OAuthError(400, "invalid_request", "Invalid parameter: id_token_hint") from exc
        if claims.get("iss") != self.issuer or claims.get("typ") != "ID":
            raise OAuthError(400, "invalid_request", "Invalid parameter: id_token_hint")
        return claims

    def _confirmation(self, sso: str | None) -> str:
        return hmac.new(self._confirm_key, (sso or "").encode(), hashlib.sha256).hexdigest()

    # -- pages and cookies -----------------------------------------------------------------

    def _path(self, rest: str) -> str:
        return f"/realms/{self.realm.name}/{rest}"

    def _cookie_path(self) -> str:
        return f"/realms/{self.realm.name}/"

    def _set_cookie(self, response: Response, name: str, value: str) -> None:
        # Lax: the cookie must come along when the application sends the browser here from
        # another site; HttpOnly; Secure when the issuer is served over HTTPS
        response.set_cookie(name, value, path=self._cookie_path(), httponly=True,
                            samesite="lax", secure=self.secure_cookies)

    def _login_page(self, request: AuthorizationRequest, username: str = "",
                    error: str | None = None) -> Response:
        return pages.login_page(
            realm=self.realm.display_name, client=request.client.name,
            action=self._path("login-actions/authenticate"), request_id=request.id,
            username=username, error=error, stylesheet=STYLESHEET,
            redirect_uri=request.redirect_uri)

    def _error_page(self, text: str) -> Response:
        return pages.message_page("We are sorry…", text, status=400, stylesheet=STYLESHEET)


def _refuse_outside_development(settings: DevIssuerSettings) -> None:
    if settings.env != "development":
        raise RuntimeError(
            "the development OIDC issuer refuses to start: "
            f"SUARA_ENV is {settings.env!r}, not 'development'"
        )


def create_app(settings: DevIssuerSettings | None = None,
               clock: Callable[[], float] = time.time) -> FastAPI:
    """Build the development issuer's ASGI app; refuses unless SUARA_ENV is development."""
    settings = settings or DevIssuerSettings()
    _refuse_outside_development(settings)
    realm = with_extra_uris(load_realm(settings.realm_file), settings.redirect_uris,
                            settings.post_logout_redirect_uris)
    check_realm(realm)
    issuer = DevIssuer(realm, load_signing_key(settings.key_file), settings.base_url, clock)
    app = FastAPI(title="Suara development OIDC issuer", docs_url=None, redoc_url=None,
                  openapi_url=None,  # FastAPI's own spans would record paths and queries
                  telemetry={"tracing": False, "metrics": False, "logs": False})
    app.state.issuer = issuer

    @app.exception_handler(OAuthError)
    async def oauth_error(_: Request, exc: OAuthError) -> JSONResponse:
        return exc.response()

    @app.get("/realms/{realm_name}/.well-known/openid-configuration")
    async def discovery(realm_name: str) -> dict[str, Any]:
        issuer.require_realm(realm_name)
        return issuer.discovery()

    @app.get("/realms/{realm_name}/protocol/openid-connect/certs")
    async def certs(realm_name: str) -> dict[str, Any]:
        issuer.require_realm(realm_name)
        return issuer.jwks()

    @app.post("/realms/{realm_name}/protocol/openid-connect/token")
    async def token(realm_name: str, request: Request) -> JSONResponse:
        issuer.require_realm(realm_name)
        form = await _form(request)
        body = issuer.token(request.headers.get("authorization"), form)
        return JSONResponse(body, headers=NO_STORE)

    @app.get("/realms/{realm_name}/protocol/openid-connect/auth")
    async def authorize(realm_name: str, request: Request) -> Response:
        issuer.require_realm(realm_name)
        return issuer.authorize(request.query_params, request.cookies.get(SSO_COOKIE))

    @app.post("/realms/{realm_name}/login-actions/authenticate")
    async def authenticate(realm_name: str, request: Request) -> Response:
        issuer.require_realm(realm_name)
        return issuer.login(await _form(request), request.cookies.get(REQUEST_COOKIE),
                            request.cookies.get(SSO_COOKIE))

    @app.get("/realms/{realm_name}/protocol/openid-connect/logout")
    async def logout(realm_name: str, request: Request) -> Response:
        issuer.require_realm(realm_name)
        return issuer.logout(request.query_params, request.cookies.get(SSO_COOKIE), False)

    @app.post("/realms/{realm_name}/protocol/openid-connect/logout")
    async def logout_form(realm_name: str, request: Request) -> Response:
        issuer.require_realm(realm_name)
        return issuer.logout(await _form(request), request.cookies.get(SSO_COOKIE), True)

    @app.get(STYLESHEET)
    async def stylesheet() -> Response:
        return Response(pages.STYLESHEET, media_type="text/css",
                        headers={"Cache-Control": "max-age=3600"})

    return app


async def _form(request: Request) -> dict[str, str]:
    return {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
