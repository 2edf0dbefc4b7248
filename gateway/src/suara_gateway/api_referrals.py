"""Referrals and transfers between member organisations, under /api/v1: the directory, the
reporter's consent, and the referral lifecycle (pending → accepted / rejected → done; revoked)."""

from __future__ import annotations

from typing import Annotated, Literal, TypeVar
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from suara_contracts.referrals import (
    CaseReferrals,
    CaseReferralsQuery,
    ConsentRequest,
    ConsentView,
    CreateReferral,
    DirectoryQuery,
    Move,
    MoveReferral,
    OrganisationList,
    RecordConsent,
    ReferralList,
    ReferralListQuery,
    ReferralQuery,
    ReferralRequest,
    ReferralStatus,
    ReferralView,
    WithdrawConsent,
)
from suara_contracts.rpc import Actor
from suara_contracts.subjects import Rpc as S
from suara_gateway.deps import HandlerDep, Rpc, RpcDep, actor_of, get_principal
from suara_gateway.schemas import Public, problem_responses
from suara_kit.auth import Principal
from suara_kit.messaging import validation_problem

router = APIRouter(prefix="/api/v1", tags=["referrals"], responses=problem_responses(422, 503))
STAFF = problem_responses(401, 403, 404)
MOVES = {**STAFF, **problem_responses(409)}
C = TypeVar("C", bound=BaseModel)


async def any_staff(principal: Annotated[Principal, Depends(get_principal)]) -> Actor:
    """Anyone with a valid token: the directory is not case data."""
    return actor_of(principal)


StaffDep = Annotated[Actor, Depends(any_staff)]


def command(model: type[C], **fields: object) -> C:
    """Build a service command; a rule that spans fields is a 422, like any other input."""
    try:
        return model(**fields)
    except ValidationError as exc:
        raise validation_problem(exc) from None


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Rejection(_Body):
    reason: str = Field(default="", max_length=4000, description="shown to the sender")


class Completion(_Body):
    outcome: str = Field(min_length=1, max_length=4000, description=(
        "what came of it: shown on the sender's case"),
        examples=["Wages of 3 months recovered through the labour office on 2026-12-10."])


class Revocation(_Body):
    reason: str = Field(default="", max_length=4000, description="shown to the receiver")


@router.get("/organisations", responses=problem_responses(401))
async def list_organisations(
        actor: StaffDep, rpc: RpcDep,
        country: Annotated[str | None, Query(pattern=r"^[A-Z]{2}$")] = None,
        language: Annotated[str | None, Query(max_length=16)] = None,
        expertise: Annotated[str | None, Query(max_length=40)] = None) -> OrganisationList:
    """The member organisations of the referral network: countries, languages, expertise (the
    form's issue categories), capacity and how they take referrals. Entries marked `example`
    are invented partners."""
    query = DirectoryQuery(actor=actor, country=country, language=language, expertise=expertise)
    return await rpc(S.CASES_REFERRAL_DIRECTORY, query, OrganisationList)


class ConsentWithdrawal(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=3, max_length=2000, examples=[
        "The worker said by phone on 2026-11-24 that they no longer agree"])


@router.post("/cases/{case_id}/consents/{consent_id}/withdraw", responses=MOVES)
async def withdraw_consent(case_id: UUID, consent_id: UUID, body: ConsentWithdrawal,
                           actor: HandlerDep, rpc: RpcDep) -> ConsentView:
    """The reporter took their consent back: no new referral may rely on it, and the open
    referrals that did are revoked (the receivers lose what was shared; a transfer comes
    back)."""
    command = WithdrawConsent(actor=actor, case_id=case_id, consent_id=consent_id,
                              reason=body.reason)
    return await rpc(S.CASES_REFERRAL_CONSENT_WITHDRAW, command, ConsentView)


@router.post("/cases/{case_id}/consents", status_code=201, responses=STAFF)
async def record_consent(case_id: UUID, body: Public[ConsentRequest], actor: HandlerDep,
                         rpc: RpcDep) -> ConsentView:
    """Record the reporter's consent to share their case: with which organisation (or `any`),
    how much (a share profile), for a referral, a transfer or both, and how and when they said
    yes."""
    consent = command(RecordConsent, actor=actor, case_id=case_id, **body.model_dump())
    return await rpc(S.CASES_REFERRAL_CONSENT, consent, ConsentView)


@router.get("/cases/{case_id}/referrals", responses=STAFF)
async def case_referrals(case_id: UUID, actor: HandlerDep, rpc: RpcDep) -> CaseReferrals:
    """A case's consents and the referrals made from it, with each receiver's outcome."""
    query = CaseReferralsQuery(actor=actor, case_id=case_id)
    return await rpc(S.CASES_REFERRAL_OF_CASE, query, CaseReferrals)


@router.post("/cases/{case_id}/referrals", status_code=201, responses=MOVES)
async def create_referral(case_id: UUID, body: Public[ReferralRequest], actor: HandlerDep,
                          rpc: RpcDep) -> ReferralView:
    """Refer a case (share what the profile allows) or transfer it (hand it over on
    acceptance). Without the reporter's recorded consent this is a 409, unless you hold the
    consent-override role and give `override_reason` (audited)."""
    referral = command(CreateReferral, actor=actor, case_id=case_id, **body.model_dump())
    return await rpc(S.CASES_REFERRAL_CREATE, referral, ReferralView)


@router.get("/referrals", responses=STAFF)
async def list_referrals(actor: HandlerDep, rpc: RpcDep,
                         direction: Literal["incoming", "outgoing"] | None = None,
                         status: ReferralStatus | None = None,
                         limit: Annotated[int, Query(ge=1, le=200)] = 50,
                         cursor: Annotated[str | None, Query(max_length=512, description=(
                             "the previous page's next_cursor"))] = None) -> ReferralList:
    """Referrals to (incoming) and from (outgoing) your organisation, newest first, without
    case content, one page at a time (`next_cursor` until the last page)."""
    query = ReferralListQuery(actor=actor, direction=direction, status=status, limit=limit,
                              cursor=cursor)
    return await rpc(S.CASES_REFERRAL_LIST, query, ReferralList)


@router.get("/referrals/{referral_id}", responses=STAFF)
async def get_referral(referral_id: UUID, actor: HandlerDep, rpc: RpcDep) -> ReferralView:
    """One referral; the receiving organisation sees only what the share profile allows (the
    read is audited)."""
    return await rpc(S.CASES_REFERRAL_GET, ReferralQuery(actor=actor, referral_id=referral_id),
                     ReferralView)


async def _move(rpc: Rpc, actor: Actor, referral_id: UUID, to: Move, text: str) -> ReferralView:
    move = command(MoveReferral, actor=actor, referral_id=referral_id, to=to, text=text)
    return await rpc(S.CASES_REFERRAL_MOVE, move, ReferralView)


@router.post("/referrals/{referral_id}/accept", responses=MOVES)
async def accept_referral(referral_id: UUID, actor: HandlerDep, rpc: RpcDep) -> ReferralView:
    """Accept a referral to your organisation: you get your own linked case with the shared
    fields (a transfer hands you the case itself)."""
    return await _move(rpc, actor, referral_id, "accepted", "")


@router.post("/referrals/{referral_id}/reject", responses=MOVES)
async def reject_referral(referral_id: UUID, actor: HandlerDep, rpc: RpcDep,
                          body: Rejection | None = None) -> ReferralView:
    """Decline a pending referral to your organisation."""
    return await _move(rpc, actor, referral_id, "rejected", body.reason if body else "")


@router.post("/referrals/{referral_id}/complete", responses=MOVES)
async def complete_referral(referral_id: UUID, body: Completion, actor: HandlerDep,
                            rpc: RpcDep) -> ReferralView:
    """Finish an accepted referral with its outcome, which the sender sees on their case."""
    return await _move(rpc, actor, referral_id, "done", body.outcome)


@router.post("/referrals/{referral_id}/revoke", responses=MOVES)
async def revoke_referral(referral_id: UUID, actor: HandlerDep, rpc: RpcDep,
                          body: Revocation | None = None) -> ReferralView:
    """Withdraw your organisation's referral while it is pending or accepted; after acceptance
    the receiver's case loses the shared fields (a transfer comes back to you)."""
    return await _move(rpc, actor, referral_id, "revoked", body.reason if body else "")
