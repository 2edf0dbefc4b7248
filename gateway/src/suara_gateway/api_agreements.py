"""Mediated agreements, under /api/v1: typed obligations with due dates, the worker's
acknowledgement of the outside options they keep, signing, and compliance checks (a missed
obligation reopens the case)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from suara_contracts.agreements import (
    AcknowledgeOptions,
    AcknowledgeOptionsBody,
    AgreementDraft,
    AgreementList,
    AgreementQuery,
    AgreementView,
    CaseAgreementsQuery,
    ComplianceBody,
    DraftAgreement,
    RecordCompliance,
    SignAgreement,
)
from suara_contracts.subjects import Rpc as S
from suara_gateway.deps import MediatorDep, RpcDep
from suara_gateway.schemas import Public, problem_responses

router = APIRouter(prefix="/api/v1", tags=["mediator"], responses=problem_responses(422, 503))
STAFF = problem_responses(401, 403, 404)
WRITES = {**STAFF, **problem_responses(409)}


@router.post("/cases/{case_id}/agreements", status_code=201, responses=WRITES)
async def draft_agreement(case_id: UUID, body: Public[AgreementDraft], actor: MediatorDep,
                          rpc: RpcDep) -> AgreementView:
    """Draft the agreement the parties reached: typed obligations with due dates. A term that
    waives a right or pays below the stated entitlement needs `flag_reason`."""
    command = DraftAgreement(actor=actor, case_id=case_id, **body.model_dump())
    return await rpc(S.MEDIATION_AGREEMENT_DRAFT, command, AgreementView)


@router.get("/cases/{case_id}/agreements", responses=STAFF)
async def case_agreements(case_id: UUID, actor: MediatorDep, rpc: RpcDep) -> AgreementList:
    """A case's agreements with their obligations and compliance."""
    query = CaseAgreementsQuery(actor=actor, case_id=case_id)
    return await rpc(S.MEDIATION_AGREEMENTS_OF_CASE, query, AgreementList)


@router.get("/agreements/{agreement_id}", responses=STAFF)
async def get_agreement(agreement_id: UUID, actor: MediatorDep, rpc: RpcDep) -> AgreementView:
    """One agreement, with the outside-options text to show the worker in their language."""
    query = AgreementQuery(actor=actor, agreement_id=agreement_id)
    return await rpc(S.MEDIATION_AGREEMENT_GET, query, AgreementView)


@router.post("/agreements/{agreement_id}/outside-options", responses=WRITES)
async def acknowledge_outside_options(agreement_id: UUID, body: Public[AcknowledgeOptionsBody],
                                      actor: MediatorDep, rpc: RpcDep) -> AgreementView:
    """Record that the worker read, in their language, the outside options they keep
    (labour department, tribunal, court), naming the version of the text they saw."""
    command = AcknowledgeOptions(actor=actor, agreement_id=agreement_id, **body.model_dump())
    return await rpc(S.MEDIATION_AGREEMENT_ACKNOWLEDGE, command, AgreementView)


@router.post("/agreements/{agreement_id}/sign", responses=WRITES)
async def sign_agreement(agreement_id: UUID, actor: MediatorDep, rpc: RpcDep) -> AgreementView:
    """Sign a draft; refused (409) until the worker acknowledged their outside options."""
    command = SignAgreement(actor=actor, agreement_id=agreement_id)
    return await rpc(S.MEDIATION_AGREEMENT_SIGN, command, AgreementView)


@router.post("/agreements/{agreement_id}/obligations/{obligation_id}/compliance",
             responses=WRITES)
async def record_compliance(agreement_id: UUID, obligation_id: UUID, body: Public[ComplianceBody],
                            actor: MediatorDep, rpc: RpcDep) -> AgreementView:
    """Record an obligation met or missed; a missed one reopens the case."""
    command = RecordCompliance(actor=actor, agreement_id=agreement_id,
                               obligation_id=obligation_id, **body.model_dump())
    return await rpc(S.MEDIATION_AGREEMENT_COMPLIANCE, command, AgreementView)
