"""Opening a case's sealed identity, under /api/v1: the answers the form marks identifying
are kept apart from the case; reading them needs a request naming the reporter's consent, a
second handler's approval, and is audited at every step."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from suara_contracts.identity import (
    CaseIdentityQuery,
    DecideIdentity,
    IdentityDecisionBody,
    IdentityRequestBody,
    IdentityRequestList,
    IdentityRequestView,
    IdentityView,
    PendingIdentityQuery,
    RequestIdentity,
)
from suara_contracts.subjects import Rpc as S
from suara_gateway.deps import HandlerDep, RpcDep
from suara_gateway.schemas import Public, problem_responses

router = APIRouter(prefix="/api/v1", tags=["identity"], responses=problem_responses(422, 503))
STAFF = problem_responses(401, 403, 404, 410)
WRITES = {**STAFF, **problem_responses(409)}


@router.post("/cases/{case_id}/identity-requests", status_code=201, responses=WRITES)
async def request_identity(case_id: UUID, body: Public[IdentityRequestBody], actor: HandlerDep,
                           rpc: RpcDep) -> IdentityRequestView:
    """Ask to open the reporter's identity on a case you work on: say why, and how the
    reporter consented (their own message on the case, or how and when staff heard it).
    Another handler of your organisation must approve before you can read it."""
    command = RequestIdentity(actor=actor, case_id=case_id, **body.model_dump())
    return await rpc(S.CASES_IDENTITY_REQUEST, command, IdentityRequestView)


@router.get("/cases/{case_id}/identity-requests", responses=STAFF)
async def case_identity_requests(case_id: UUID, actor: HandlerDep,
                                 rpc: RpcDep) -> IdentityRequestList:
    """The identity requests made on a case, newest first."""
    query = CaseIdentityQuery(actor=actor, case_id=case_id)
    return await rpc(S.CASES_IDENTITY_REQUESTS, query, IdentityRequestList)


@router.get("/identity-requests", responses=STAFF)
async def pending_identity_requests(actor: HandlerDep, rpc: RpcDep) -> IdentityRequestList:
    """Your organisation's identity requests waiting for a second person (no case content)."""
    return await rpc(S.CASES_IDENTITY_PENDING, PendingIdentityQuery(actor=actor),
                     IdentityRequestList)


@router.post("/identity-requests/{request_id}/decision", responses=WRITES)
async def decide_identity_request(request_id: UUID, body: Public[IdentityDecisionBody],
                                  actor: HandlerDep, rpc: RpcDep) -> IdentityRequestView:
    """Approve or refuse another handler's identity request (never your own)."""
    command = DecideIdentity(actor=actor, request_id=request_id, **body.model_dump())
    return await rpc(S.CASES_IDENTITY_DECIDE, command, IdentityRequestView)


@router.get("/cases/{case_id}/identity", responses=WRITES)
async def open_identity(case_id: UUID, actor: HandlerDep, rpc: RpcDep) -> IdentityView:
    """The reporter's identifying answers, for the handler whose request was approved, for a
    week after approval (409 without one). Every read, and every refused read, is audited."""
    query = CaseIdentityQuery(actor=actor, case_id=case_id)
    return await rpc(S.CASES_IDENTITY_OPEN, query, IdentityView)
