"""Request dependencies: the NATS connection and the verified caller."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from nats.aio.client import Client
from pydantic import BaseModel

from suara_contracts.rpc import Actor
from suara_gateway import limits
from suara_kit.auth import Principal, TokenValidator
from suara_kit.errors import Forbidden, Unauthorized
from suara_kit.messaging import call

R = TypeVar("R", bound=BaseModel)


class Rpc:
    """Calls services over NATS request-reply with the configured timeout."""

    def __init__(self, nc: Client, timeout: float) -> None:
        self.nc, self.timeout = nc, timeout

    async def __call__(self, subject: str, request: BaseModel, reply: type[R]) -> R:
        return await call(self.nc, subject, request, reply, timeout=self.timeout)


async def get_rpc(request: Request) -> Rpc:
    """The gateway's RPC client (async: a plain function would cost a worker-thread hop on
    every request)."""
    return request.app.state.rpc  # type: ignore[no-any-return]


bearer = HTTPBearer(auto_error=False, scheme_name="keycloak",
                    description="An access token from Suara's Keycloak realm (audience suara-api).")


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller, from a valid bearer token (401 otherwise), within its rate (429)."""
    if credentials is None or not credentials.credentials.strip():
        raise Unauthorized("Send an access token: 'Authorization: Bearer <token>'.")
    validator: TokenValidator = request.app.state.validator
    principal = await validator.validate(credentials.credentials.strip())
    limits.charge(request, principal)
    return principal


def actor_of(principal: Principal) -> Actor:
    """The verified caller, as services see it."""
    return Actor(subject=principal.subject, roles=sorted(principal.roles),
                 organisation=principal.organisation, client_id=principal.client_id)


async def optional_actor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Actor | None:
    """The caller when a token is sent (a bad token is still a 401), None for the public."""
    if credentials is None:
        return None
    return actor_of(await get_principal(request, credentials))


def require_any_role(*roles: str) -> Callable[..., Awaitable[Actor]]:
    """A dependency that admits callers holding one of `roles` (403 otherwise)."""

    async def dependency(principal: Annotated[Principal, Depends(get_principal)]) -> Actor:
        if not set(roles) & set(principal.roles):
            raise Forbidden(f"This needs one of the roles {', '.join(roles)}, which your "
                            "account does not have.")
        return actor_of(principal)

    return dependency


def require_role(role: str) -> Callable[..., Awaitable[Actor]]:
    """A dependency that admits only callers holding `role` (403 otherwise)."""

    async def dependency(principal: Annotated[Principal, Depends(get_principal)]) -> Actor:
        if role not in principal.roles:
            raise Forbidden(f"This needs the '{role}' role, which your account does not have.")
        return actor_of(principal)

    return dependency


RpcDep = Annotated[Rpc, Depends(get_rpc)]
HandlerDep = Annotated[Actor, Depends(require_role("case-handler"))]
MediatorDep = Annotated[Actor, Depends(require_role("mediator"))]
PartnerDep = Annotated[Actor, Depends(require_role("cso-partner"))]
CommitteeDep = Annotated[Actor, Depends(require_role("worker-committee"))]
OptionalActorDep = Annotated[Actor | None, Depends(optional_actor)]
AnyStaffDep = Annotated[Actor, Depends(require_any_role("case-handler", "worker-committee"))]
StaffOrPartnerDep = Annotated[Actor, Depends(require_any_role("case-handler", "cso-partner"))]
