"""A development-only OIDC issuer that mints Keycloak-shaped access tokens from a realm export."""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import os
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from joserfc import jwt
from joserfc.jwk import RSAKey

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
GRANT_TYPES = ("client_credentials", "password")
BASE_SCOPES = ("profile", "email")
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


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


def _apply_mappers(claims: dict[str, Any], client: Client, user: User) -> None:
    audiences: list[str] = []
    for mapper in client.mappers:
        if not mapper.flag("access.token.claim"):
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


class DevIssuer:
    """The realm, signing key and issuer URL behind the HTTP endpoints."""

    def __init__(self, realm: Realm, key: RSAKey, base_url: str) -> None:
        self.realm, self.key = realm, key
        self.issuer = f"{base_url.rstrip('/')}/realms/{realm.name}"

    def require_realm(self, name: str) -> None:
        """Refuse any realm but the loaded one."""
        if name != self.realm.name:
            raise OAuthError(404, "not_found", f"realm {name!r} does not exist")

    def discovery(self) -> dict[str, Any]:
        """The OpenID Provider metadata."""
        endpoints = f"{self.issuer}/protocol/openid-connect"
        return {
            "issuer": self.issuer,
            "token_endpoint": f"{endpoints}/token",
            "jwks_uri": f"{endpoints}/certs",
            "grant_types_supported": list(GRANT_TYPES),
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "id_token_signing_alg_values_supported": [ALGORITHM],
            "subject_types_supported": ["public"],
            "scopes_supported": ["openid", *BASE_SCOPES],
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "azp", "preferred_username",
                                 "realm_access", "groups", "email", "name"],
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
        if grant_type == "client_credentials":
            user = service_account_user(self.realm, client)
        else:
            user = password_user(self.realm, client, form)
        scope = granted_scope(form.get("scope"))
        claims = access_token_claims(
            self.realm, client, user, issuer=self.issuer, now=int(time.time()), scope=scope
        )
        header = {"alg": ALGORITHM, "kid": self.key.kid, "typ": "JWT"}
        log.info("issued %s token to client %s for subject %s", grant_type, client.client_id,
                 user.id)
        return {
            "access_token": jwt.encode(header, claims, self.key, algorithms=[ALGORITHM]),
            "token_type": "Bearer",
            "expires_in": self.realm.access_token_lifespan,
            "scope": scope,
        }


def _refuse_outside_development(settings: DevIssuerSettings) -> None:
    if settings.env != "development":
        raise RuntimeError(
            "the development OIDC issuer refuses to start: "
            f"SUARA_ENV is {settings.env!r}, not 'development'"
        )


def create_app(settings: DevIssuerSettings | None = None) -> FastAPI:
    """Build the development issuer's ASGI app; refuses unless SUARA_ENV is development."""
    settings = settings or DevIssuerSettings()
    _refuse_outside_development(settings)
    realm = load_realm(settings.realm_file)
    check_realm(realm)
    issuer = DevIssuer(realm, load_signing_key(settings.key_file), settings.base_url)
    app = FastAPI(title="Suara development OIDC issuer", docs_url=None, redoc_url=None,
                  openapi_url=None)
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
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        body = issuer.token(request.headers.get("authorization"), form)
        return JSONResponse(body, headers=NO_STORE)

    return app
