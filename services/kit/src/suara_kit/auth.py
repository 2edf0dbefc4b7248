"""Access-token validation for OIDC (Keycloak) bearer tokens, with a cached, async JWKS."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import JWKRegistry, Key, KeySet

from suara_kit.errors import InvalidToken, Unavailable

log = logging.getLogger(__name__)

ORGANISATION_PREFIX = "/organisations/"
MAX_TOKEN_LENGTH = 16_384
SAFE_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256",
                             "ES384", "ES512", "EdDSA", "Ed25519"})
ASYMMETRIC_KEY_TYPES = frozenset({"RSA", "EC", "OKP"})


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, as read from a validated access token."""

    subject: str
    username: str | None = None
    client_id: str | None = None
    roles: frozenset[str] = frozenset()
    organisations: tuple[str, ...] = ()

    @property
    def organisation(self) -> str | None:
        """The caller's first organisation slug, if any."""
        return self.organisations[0] if self.organisations else None

    def has_role(self, role: str) -> bool:
        """Whether the caller holds this realm role."""
        return role in self.roles

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> Principal:
        """Build a principal from already validated Keycloak access-token claims."""
        client_id = claims.get("azp") or claims.get("client_id") or claims.get("clientId")
        username = claims.get("preferred_username")
        return cls(
            subject=str(claims["sub"]),
            username=username if isinstance(username, str) else None,
            client_id=client_id if isinstance(client_id, str) else None,
            roles=frozenset(_realm_roles(claims)),
            organisations=_organisations(claims.get("groups")),
        )


def _realm_roles(claims: Mapping[str, Any]) -> list[str]:
    realm_access = claims.get("realm_access")
    roles = realm_access.get("roles") if isinstance(realm_access, dict) else None
    if not isinstance(roles, list):
        return []
    return [role for role in roles if isinstance(role, str)]


def _organisations(groups: object) -> tuple[str, ...]:
    if not isinstance(groups, list):
        return ()
    slugs: list[str] = []
    for group in groups:
        if not isinstance(group, str) or not group.startswith(ORGANISATION_PREFIX):
            continue
        slug = group[len(ORGANISATION_PREFIX):].split("/", 1)[0]
        if slug and slug not in slugs:
            slugs.append(slug)
    return tuple(slugs)


def _b64url_json(segment: str) -> Any:
    padded = segment + "=" * (-len(segment) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


def read_header(token: str) -> dict[str, Any]:
    """Decode a compact JWS header without verifying anything."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken("malformed token")
    parts = token.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        raise InvalidToken("malformed token: expected three dot-separated parts")
    try:
        header = _b64url_json(parts[0])
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise InvalidToken("malformed token: header is not base64url JSON") from exc
    if not isinstance(header, dict):
        raise InvalidToken("malformed token: header is not a JSON object")
    return header


def import_jwks(document: object) -> dict[str, Key]:
    """Turn a JWKS document into signing keys by kid, skipping symmetric and unusable keys."""
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ValueError("JWKS document has no 'keys' list")
    keys: dict[str, Key] = {}
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("kty") not in ASYMMETRIC_KEY_TYPES:
            continue
        if entry.get("use", "sig") != "sig" or not isinstance(entry.get("kid"), str):
            continue
        try:
            keys[entry["kid"]] = JWKRegistry.import_key(entry)
        except (JoseError, ValueError, TypeError):
            log.warning("ignoring an unusable key in the JWKS (kid=%s)", entry["kid"])
    if not keys:
        raise ValueError("JWKS document has no usable signing keys")
    return keys


class TokenValidator:
    """Validates bearer tokens against an OIDC issuer's published keys (with
    `token_type="ID"` and the client's id as `audience`: Keycloak's ID tokens)."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        http: httpx.AsyncClient | None = None,
        algorithms: Collection[str] = ("RS256", "PS256", "ES256"),
        leeway: int = 30,
        cache_ttl: float = 600,
        refresh_interval: float = 30,
        clock: Callable[[], float] = time.time,
        token_type: str = "Bearer",
    ) -> None:
        unsafe = set(algorithms) - SAFE_ALGORITHMS
        if unsafe:
            raise ValueError(f"refusing unsafe token algorithms: {sorted(unsafe)}")
        self.issuer = issuer
        self.audience = audience
        self.algorithms = frozenset(algorithms)
        self.token_type = token_type
        self._jwks_url = jwks_url
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(timeout=5.0, follow_redirects=False)
        self._leeway = leeway
        self._cache_ttl = cache_ttl
        self._refresh_interval = refresh_interval
        self._clock = clock
        self._keys: dict[str, Key] | None = None
        self._fetched_at = 0.0
        self._attempted_at: float | None = None
        self._attempts = 0
        self._lock = asyncio.Lock()

    async def aclose(self) -> None:
        """Close the HTTP client if this validator created it."""
        if self._owns_http:
            await self._http.aclose()

    async def validate(self, token: str) -> Principal:
        """Verify the token's signature and claims, and return its principal."""
        return Principal.from_claims(await self.verified_claims(token))

    async def verified_claims(self, token: str) -> dict[str, Any]:
        """Verify the token's signature and claims (iss, aud, exp, sub, typ), and return them
        all: an OIDC client reads an ID token's nonce and profile from them."""
        header = read_header(token)
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise InvalidToken(f"token algorithm {alg!r} is not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("token header has no key id (kid)")
        key = await self._key_for(kid)
        try:
            decoded = jwt.decode(token, KeySet([key]), algorithms=[alg])
        except BadSignatureError as exc:
            raise InvalidToken("token signature is not valid") from exc
        except JoseError as exc:
            raise InvalidToken(f"malformed token: {exc.error}") from exc
        self._check_claims(decoded.claims)
        return decoded.claims

    def _check_claims(self, claims: dict[str, Any]) -> None:
        registry = jwt.JWTClaimsRegistry(
            now=lambda: int(self._clock()),
            leeway=self._leeway,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.audience},
            exp={"essential": True},
            sub={"essential": True},
        )
        try:
            registry.validate(claims)
        except ExpiredTokenError as exc:
            raise InvalidToken("token has expired") from exc
        except MissingClaimError as exc:
            raise InvalidToken(f"token is missing required claims: {exc.claim}") from exc
        except ClaimError as exc:
            raise InvalidToken(f"token claim {exc.claim!r} is not valid") from exc
        if claims.get("typ", self.token_type) != self.token_type:
            kind = "an access token" if self.token_type == "Bearer" else f"of type {self.token_type!r}"
            raise InvalidToken(f"token is not {kind}")

    async def _key_for(self, kid: str) -> Key:
        if self._keys is None or self._clock() - self._fetched_at >= self._cache_ttl:
            await self._refresh(throttled=self._keys is not None)
        if self._keys is None:
            raise Unavailable("cannot verify tokens: key set unavailable")
        if kid not in self._keys:
            # An unknown kid may be a key rotation, but must not let callers hammer the issuer.
            await self._refresh(throttled=True)
        key = self._keys.get(kid)
        if key is None:
            raise InvalidToken(f"token signed with an unknown key (kid={kid!r})")
        return key

    async def _refresh(self, *, throttled: bool) -> None:
        attempts_seen = self._attempts
        async with self._lock:
            if self._attempts != attempts_seen:
                return  # another caller refreshed while this one waited for the lock
            now = self._clock()
            if throttled and self._attempted_at is not None and (
                now - self._attempted_at < self._refresh_interval
            ):
                return
            self._attempted_at, self._attempts = now, self._attempts + 1
            try:
                keys = import_jwks(await self._get_json(await self._resolve_jwks_url()))
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("JWKS refresh from %s failed: %s", self.issuer, exc)
                return
            self._keys, self._fetched_at = keys, now

    async def _resolve_jwks_url(self) -> str:
        if self._jwks_url is None:
            discovery = await self._get_json(
                self.issuer.rstrip("/") + "/.well-known/openid-configuration"
            )
            if not isinstance(discovery, dict) or discovery.get("issuer") != self.issuer:
                raise ValueError("discovery document does not name the expected issuer")
            jwks_uri = discovery.get("jwks_uri")
            if not isinstance(jwks_uri, str) or not jwks_uri:
                raise ValueError("discovery document has no jwks_uri")
            self._jwks_url = jwks_uri
        return self._jwks_url

    async def _get_json(self, url: str) -> Any:
        response = await self._http.get(url, headers={"Accept": "application/json"})
        if response.status_code != 200:
            raise ValueError(f"GET {url} answered {response.status_code}")
        return response.json()
