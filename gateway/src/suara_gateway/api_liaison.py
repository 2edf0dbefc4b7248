"""The employer liaison's redacted case summaries, under /api/v1: a case handler shares a case
with a named liaison and writes the summary the employer side may read; the liaison reads it
under a random alias, with the case's coding and mediation sessions, and nothing else."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path

from suara_contracts.liaison import (
    LIAISON_ROLE,
    LiaisonCase,
    LiaisonCaseList,
    LiaisonCaseQuery,
    LiaisonCasesQuery,
    LiaisonShareList,
    LiaisonShareRequest,
    LiaisonSharesQuery,
    LiaisonShareView,
    RevokeLiaisonShare,
    ShareWithLiaison,
)
from suara_contracts.rpc import Actor
from suara_contracts.subjects import Rpc as S
from suara_gateway.deps import HandlerDep, RpcDep, require_role
from suara_gateway.schemas import Public, problem_responses

router = APIRouter(prefix="/api/v1", tags=["employer liaison"],
                   responses=problem_responses(422, 503))
STAFF = problem_responses(401, 403, 404)
WRITES = {**STAFF, **problem_responses(409, 410)}
LiaisonDep = Annotated[Actor, Depends(require_role(LIAISON_ROLE))]


# the case handler's side
@router.post("/cases/{case_id}/liaison-shares", status_code=201, responses=WRITES)
async def share_with_liaison(case_id: UUID, body: Public[LiaisonShareRequest], actor: HandlerDep,
                             rpc: RpcDep) -> LiaisonShareView:
    """Let an employer liaison see this case, redacted, under a new random alias: the
    organisation, status, coding, the month it arrived, the mediation sessions and the summary
    you write here. Never the answers, messages, reference or case id. One active share per
    liaison and case (a second is a 409; revoke the first to write a new summary). Audited."""
    command = ShareWithLiaison(actor=actor, case_id=case_id, **body.model_dump())
    return await rpc(S.CASES_LIAISON_SHARE, command, LiaisonShareView)


@router.get("/cases/{case_id}/liaison-shares", responses=STAFF)
async def liaison_shares(case_id: UUID, actor: HandlerDep, rpc: RpcDep) -> LiaisonShareList:
    """The case's shares with employer liaisons, revoked ones too, newest first."""
    query = LiaisonSharesQuery(actor=actor, case_id=case_id)
    return await rpc(S.CASES_LIAISON_SHARES, query, LiaisonShareList)


@router.post("/cases/{case_id}/liaison-shares/{share_id}/revoke", responses=WRITES)
async def revoke_liaison_share(case_id: UUID, share_id: UUID, actor: HandlerDep,
                               rpc: RpcDep) -> LiaisonShareView:
    """Take a share back: the liaison no longer finds the case under its alias. Audited."""
    command = RevokeLiaisonShare(actor=actor, case_id=case_id, share_id=share_id)
    return await rpc(S.CASES_LIAISON_REVOKE, command, LiaisonShareView)


# the employer liaison's side
@router.get("/liaison/cases", responses=problem_responses(401, 403))
async def liaison_cases(actor: LiaisonDep, rpc: RpcDep) -> LiaisonCaseList:
    """The cases shared with you (employer liaison), redacted; each read is audited."""
    return await rpc(S.CASES_LIAISON_LIST, LiaisonCasesQuery(actor=actor), LiaisonCaseList)


@router.get("/liaison/cases/{alias}", responses=STAFF)
async def liaison_case(alias: Annotated[str, Path(min_length=1, max_length=32)],
                       actor: LiaisonDep, rpc: RpcDep) -> LiaisonCase:
    """One case shared with you, by its alias, redacted. An alias that is not shared with
    you, or no longer, is a 404. The read is audited."""
    return await rpc(S.CASES_LIAISON_GET, LiaisonCaseQuery(actor=actor, alias=alias),
                     LiaisonCase)
