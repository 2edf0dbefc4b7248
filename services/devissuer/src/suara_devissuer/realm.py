"""A Keycloak realm export, read into typed, immutable objects."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

AUDIENCE_MAPPER = "oidc-audience-mapper"
GROUP_MAPPER = "oidc-group-membership-mapper"
PKCE_ATTRIBUTE = "pkce.code.challenge.method"
POST_LOGOUT_ATTRIBUTE = "post.logout.redirect.uris"
SAME_AS_REDIRECT_URIS = "+"  # Keycloak: the post-logout URIs are the redirect URIs


@dataclass(frozen=True)
class Role:
    """A realm role."""

    name: str
    description: str = ""


@dataclass(frozen=True)
class Group:
    """A group with its full path, e.g. /organisations/tenaganita."""

    name: str
    path: str
    attributes: MappingProxyType[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )


@dataclass(frozen=True)
class ProtocolMapper:
    """A client's protocol mapper: its type (e.g. oidc-audience-mapper) and string config."""

    name: str
    mapper: str
    config: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def flag(self, key: str) -> bool:
        """Whether a boolean config entry is "true"."""
        return self.config.get(key, "false").lower() == "true"


@dataclass(frozen=True)
class Client:
    """An OIDC client and the flows it may use."""

    client_id: str
    name: str = ""
    enabled: bool = True
    public: bool = False
    bearer_only: bool = False
    secret: str | None = field(default=None, repr=False)
    authenticator: str = "client-secret"
    service_accounts: bool = False
    direct_access_grants: bool = False
    standard_flow: bool = False
    redirect_uris: tuple[str, ...] = ()
    post_logout_redirect_uris: tuple[str, ...] = ()
    pkce_method: str | None = None  # required code challenge method, e.g. S256
    mappers: tuple[ProtocolMapper, ...] = ()

    @property
    def confidential(self) -> bool:
        """Whether the client must authenticate with a secret."""
        return not self.public and not self.bearer_only


@dataclass(frozen=True)
class User:
    """A user; service-account users name the client they belong to."""

    id: str
    username: str
    enabled: bool = True
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    password: str | None = field(default=None, repr=False)
    password_temporary: bool = False
    realm_roles: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    service_account_client_id: str | None = None


@dataclass(frozen=True)
class Realm:
    """The parts of a realm export the development issuer needs."""

    name: str
    access_token_lifespan: int
    roles: MappingProxyType[str, Role]
    groups: MappingProxyType[str, Group]
    clients: MappingProxyType[str, Client]
    users: MappingProxyType[str, User]
    display_name: str = ""
    sso_session_idle: int = 1800
    sso_session_max: int = 36000

    def client(self, client_id: str) -> Client | None:
        """The client with this client id, if any."""
        return self.clients.get(client_id)

    def user(self, username: str) -> User | None:
        """The user with this username (case-insensitive, as Keycloak stores them lowercased)."""
        return self.users.get(username.lower())

    def service_account(self, client_id: str) -> User | None:
        """The service-account user of a client, if any."""
        return next(
            (u for u in self.users.values() if u.service_account_client_id == client_id), None
        )


def _attributes(raw: object) -> MappingProxyType[str, tuple[str, ...]]:
    items = raw.items() if isinstance(raw, dict) else ()
    return MappingProxyType({
        str(k): tuple(str(x) for x in (v if isinstance(v, list) else [v])) for k, v in items
    })


def parse_groups(raw: list[dict[str, Any]], parent: str = "") -> list[Group]:
    """Flatten a nested group tree into groups with full paths."""
    groups: list[Group] = []
    for entry in raw:
        path = entry.get("path") or f"{parent}/{entry['name']}"
        groups.append(Group(entry["name"], path, _attributes(entry.get("attributes"))))
        groups.extend(parse_groups(entry.get("subGroups") or [], path))
    return groups


def parse_mapper(raw: dict[str, Any]) -> ProtocolMapper:
    """Read one protocol mapper."""
    config = {str(k): str(v) for k, v in (raw.get("config") or {}).items()}
    return ProtocolMapper(raw.get("name", ""), raw["protocolMapper"], MappingProxyType(config))


def _post_logout_uris(attributes: dict[str, Any], redirect_uris: tuple[str, ...]
                      ) -> tuple[str, ...]:
    uris = tuple(u for u in str(attributes.get(POST_LOGOUT_ATTRIBUTE) or "").split("##") if u)
    return redirect_uris if uris == (SAME_AS_REDIRECT_URIS,) else uris


def parse_client(raw: dict[str, Any]) -> Client:
    """Read one client."""
    attributes = raw.get("attributes") or {}
    redirect_uris = tuple(raw.get("redirectUris") or ())
    return Client(
        client_id=raw["clientId"],
        name=raw.get("name") or raw["clientId"],
        enabled=raw.get("enabled", True),
        public=raw.get("publicClient", False),
        bearer_only=raw.get("bearerOnly", False),
        secret=raw.get("secret"),
        authenticator=raw.get("clientAuthenticatorType", "client-secret"),
        service_accounts=raw.get("serviceAccountsEnabled", False),
        direct_access_grants=raw.get("directAccessGrantsEnabled", False),
        standard_flow=raw.get("standardFlowEnabled", True),
        redirect_uris=redirect_uris,
        post_logout_redirect_uris=_post_logout_uris(attributes, redirect_uris),
        pkce_method=attributes.get(PKCE_ATTRIBUTE) or None,
        mappers=tuple(parse_mapper(m) for m in raw.get("protocolMappers") or ()),
    )


def parse_user(raw: dict[str, Any]) -> User:
    """Read one user and its password credential, if any."""
    password = next(
        (c for c in raw.get("credentials") or () if c.get("type") == "password" and "value" in c),
        None,
    )
    return User(
        id=raw["id"],
        username=raw["username"].lower(),
        enabled=raw.get("enabled", True),
        email=raw.get("email"),
        first_name=raw.get("firstName"),
        last_name=raw.get("lastName"),
        password=password["value"] if password else None,
        password_temporary=bool(password and password.get("temporary", False)),
        realm_roles=tuple(raw.get("realmRoles") or ()),
        groups=tuple(raw.get("groups") or ()),
        service_account_client_id=raw.get("serviceAccountClientId"),
    )


def parse_realm(data: dict[str, Any]) -> Realm:
    """Build a realm from a parsed Keycloak realm export."""
    raw_roles = (data.get("roles") or {}).get("realm") or []
    roles = [Role(r["name"], r.get("description", "")) for r in raw_roles]
    groups = parse_groups(data.get("groups") or [])
    clients = [parse_client(c) for c in data.get("clients") or []]
    users = [parse_user(u) for u in data.get("users") or []]
    return Realm(
        name=data["realm"],
        access_token_lifespan=int(data.get("accessTokenLifespan", 300)),
        roles=MappingProxyType({r.name: r for r in roles}),
        groups=MappingProxyType({g.path: g for g in groups}),
        clients=MappingProxyType({c.client_id: c for c in clients}),
        users=MappingProxyType({u.username: u for u in users}),
        display_name=data.get("displayName") or data["realm"],
        sso_session_idle=int(data.get("ssoSessionIdleTimeout", 1800)),
        sso_session_max=int(data.get("ssoSessionMaxLifespan", 36000)),
    )


def load_realm(path: Path) -> Realm:
    """Read a realm export file."""
    return parse_realm(json.loads(path.read_text(encoding="utf-8")))


def check_realm(realm: Realm) -> None:
    """Raise ValueError if users name roles, groups or clients the realm does not define, or
    a client's redirect URIs are patterns."""
    problems: list[str] = []
    for user in realm.users.values():
        problems += [f"user {user.username}: unknown role {r!r}"
                     for r in user.realm_roles if r not in realm.roles]
        problems += [f"user {user.username}: unknown group {g!r}"
                     for g in user.groups if g not in realm.groups]
        client = user.service_account_client_id
        if client is not None and client not in realm.clients:
            problems.append(f"user {user.username}: unknown service-account client {client!r}")
    for c in realm.clients.values():  # compared exactly, here and by OAuth 2.1's rules
        problems += [f"client {c.client_id}: redirect URI {uri!r} is a pattern, not a URI"
                     for uri in (*c.redirect_uris, *c.post_logout_redirect_uris) if "*" in uri]
    if problems:
        raise ValueError("realm export is inconsistent: " + "; ".join(problems))
