"""The public API under /api/v1: reporters (anonymous), case handlers and mediators (tokens)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request, Response, UploadFile, status

from suara_contracts.rpc import (
    COUNTRY_OR_OTHER,
    ISSUE_CODE,
    MAX_VERSION,
    AcknowledgeCase,
    ApproveForm,
    AssignCase,
    CaseDetail,
    CaseHistory,
    CaseHistoryQuery,
    CaseList,
    CaseListQuery,
    CaseMessageView,
    CaseQuery,
    CaseSummary,
    ClaimReceipt,
    ClaimTicket,
    CodeCase,
    ConflictList,
    ConflictsQuery,
    ConflictView,
    DeclareConflict,
    DraftForm,
    EditRemedy,
    FollowUp,
    FollowUpSent,
    FormDefinition,
    FormQuery,
    FormVersion,
    FormVersionList,
    FormVersionQuery,
    FormVersionsQuery,
    Health,
    HealthQuery,
    Inbox,
    InboxQuery,
    MessageReporter,
    OnBehalfReport,
    ProposeSession,
    ReissueClaim,
    RemedyEdited,
    RemedyQuery,
    RemedyRoute,
    RemedyRouteQuery,
    RemedyRoutes,
    ReportStatus,
    Satisfaction,
    SatisfactionQuery,
    SessionView,
    StatusQuery,
    SubmitReceipt,
    SubmitReport,
    SurveyAnswers,
    SurveyThanks,
    TransitionCase,
)
from suara_contracts.subjects import HEALTH_SUBJECTS
from suara_contracts.subjects import Rpc as S
from suara_gateway import attach
from suara_gateway.api_referrals import command
from suara_gateway.deps import (
    AnyStaffDep,
    CommitteeDep,
    HandlerDep,
    MediatorDep,
    OptionalActorDep,
    PartnerDep,
    Rpc,
    RpcDep,
    StaffOrPartnerDep,
)
from suara_gateway.schemas import (
    Acknowledgement,
    Assignment,
    Coding,
    ConflictDeclaration,
    FormApproval,
    FormDraftBody,
    Public,
    Readiness,
    RemedyChange,
    RemedyWithdrawal,
    ReporterView,
    ReportForWorker,
    ReportLookup,
    SessionProposal,
    Transition,
    UploadReceipt,
    problem_responses,
)
from suara_gateway.uploads import Refused
from suara_kit import staging
from suara_kit.errors import SuaraError, ValidationFailed

router = APIRouter(prefix="/api/v1", responses=problem_responses(422, 503))
STAFF = problem_responses(401, 403, 404)


@router.get("/form", tags=["reporter"], responses=problem_responses(404))
async def get_form(rpc: RpcDep, language: str = "en",
                   version: Annotated[int | None, Query(ge=1, le=MAX_VERSION)] = None) -> FormDefinition:
    """The intake form in one language: the current version, or an earlier approved one (to
    read a report filed on it). Send `form_version` with the answers."""
    return await rpc(S.INTAKE_FORM, FormQuery(language=language, version=version),
                     FormDefinition)


@router.get("/forms", tags=["worker committee"], responses=problem_responses(401))
async def list_form_versions(actor: OptionalActorDep, rpc: RpcDep) -> FormVersionList:
    """Every approved form version, with who approved it after which consultation (public, for
    transparency); the worker committee also sees drafts."""
    return await rpc(S.INTAKE_FORM_VERSIONS, FormVersionsQuery(actor=actor), FormVersionList)


@router.get("/forms/{version}", tags=["worker committee"],
            responses=problem_responses(401, 404))
async def get_form_version(version: Annotated[int, Path(ge=1, le=MAX_VERSION)], actor: OptionalActorDep,
                           rpc: RpcDep) -> FormVersion:
    """One form version with its questions in every language."""
    return await rpc(S.INTAKE_FORM_VERSION, FormVersionQuery(actor=actor, version=version),
                     FormVersion)


@router.post("/forms", status_code=status.HTTP_201_CREATED, tags=["worker committee"],
             responses=problem_responses(401, 403, 409))
async def draft_form(body: FormDraftBody, actor: CommitteeDep, rpc: RpcDep) -> FormVersion:
    """Draft a new form version. Workers see it only once approved."""
    return await rpc(S.INTAKE_FORM_DRAFT, DraftForm(actor=actor, **body.model_dump()),
                     FormVersion)


@router.put("/forms/{version}", tags=["worker committee"],
            responses=problem_responses(401, 403, 404, 409))
async def rework_form(version: Annotated[int, Path(ge=1, le=MAX_VERSION)], body: FormDraftBody,
                      actor: CommitteeDep, rpc: RpcDep) -> FormVersion:
    """Replace the questions of a draft (an approved version never changes)."""
    command = DraftForm(actor=actor, version=version, **body.model_dump())
    return await rpc(S.INTAKE_FORM_DRAFT, command, FormVersion)


@router.post("/forms/{version}/approve", tags=["worker committee"],
             responses=problem_responses(401, 403, 404, 409))
async def approve_form(version: Annotated[int, Path(ge=1, le=MAX_VERSION)], body: FormApproval,
                       actor: CommitteeDep, rpc: RpcDep) -> FormVersion:
    """Approve a draft after consulting workers: every text must be in all nine languages.
    New reports use it at once; reports filed on earlier versions keep theirs."""
    command = ApproveForm(actor=actor, version=version, consultation_ref=body.consultation_ref)
    return await rpc(S.INTAKE_FORM_APPROVE, command, FormVersion)


@router.get("/remedies", tags=["reporter"])
async def get_remedies(
        rpc: RpcDep, destination: Annotated[str, Query(pattern=r"^[A-Z]{2}$")],
        origin: Annotated[str | None, Query(pattern=r"^[A-Z]{2}$")] = None,
        issue: Annotated[list[str] | None, Query(max_length=20)] = None,
        language: str = "en") -> RemedyRoutes:
    """Where a worker can take a grievance: the destination's labour department and tribunals,
    their own country's offices there, and civil-society hotlines, each with its source."""
    query = command(RemedyQuery, destination=destination, origin=origin, issues=issue or [],
                    language=language)
    return await rpc(S.INTAKE_REMEDIES, query, RemedyRoutes)


@router.get("/remedies/{route_id}", tags=["reporter"], responses=problem_responses(404))
async def get_remedy(route_id: Annotated[str, Path(max_length=80)], rpc: RpcDep) -> RemedyRoute:
    """One remedy route as it stands, with the committee's corrections."""
    return await rpc(S.INTAKE_REMEDY, RemedyRouteQuery(route_id=route_id), RemedyRoute)


@router.put("/remedies/{route_id}", tags=["worker committee"],
            responses=problem_responses(401, 403))
async def put_remedy(route_id: Annotated[str, Path(max_length=80)], body: RemedyChange,
                     actor: CommitteeDep, rpc: RpcDep) -> RemedyEdited:
    """Correct a remedy route or add a new one: name the official source (https) and the
    day it was checked. Workers see it at once; the data files stay the starting point."""
    command = EditRemedy(actor=actor, route_id=route_id, route=body.route, reason=body.reason)
    return await rpc(S.INTAKE_REMEDY_EDIT, command, RemedyEdited)


@router.post("/remedies/{route_id}/withdraw", tags=["worker committee"],
             responses=problem_responses(401, 403, 404))
async def withdraw_remedy(route_id: Annotated[str, Path(max_length=80)], body: RemedyWithdrawal,
                          actor: CommitteeDep, rpc: RpcDep) -> RemedyEdited:
    """Stop showing a route that no longer exists or no longer helps workers."""
    command = EditRemedy(actor=actor, route_id=route_id, route=None, reason=body.reason)
    return await rpc(S.INTAKE_REMEDY_EDIT, command, RemedyEdited)


@router.post("/uploads", status_code=status.HTTP_201_CREATED, tags=["reporter"],
             responses=problem_responses(413))
async def upload_file(request: Request, file: UploadFile) -> UploadReceipt:
    """Attach a photo (JPEG, PNG, WebP, GIF) or a PDF, up to 10 MB. The type is judged from
    the content; photos are re-encoded without their hidden place and time (EXIF, GPS), PDFs
    lose their author and other metadata. Put the returned token in the answer to the form's
    file question (a list of tokens) within six hours."""
    attach.refuse_oversized(request)
    try:
        staged = await attach.stage_upload(attach.store_of(request), file)
    except Refused as exc:
        raise ValidationFailed(f"file: {exc.message}", errors=[
            {"field": "file", "code": exc.code, "message": exc.message}]) from None
    return UploadReceipt(token=staged.token, media_type=staged.media_type, size=staged.size,
                         expires_in_seconds=staging.TTL_SECONDS)


@router.post("/reports", status_code=status.HTTP_201_CREATED, tags=["reporter"],
             responses=problem_responses(404))
async def submit_report(report: Public[SubmitReport], rpc: RpcDep) -> SubmitReceipt:
    """Submit a grievance anonymously. Keep the receipt: it is shown once and cannot be
    recovered."""
    return await rpc(S.INTAKE_SUBMIT, report, SubmitReceipt)


@router.post("/reports/claim", tags=["reporter"], responses=problem_responses(404, 409, 429))
async def claim_receipt(body: Public[ClaimReceipt], rpc: RpcDep) -> SubmitReceipt:
    """Turn the one-time claim code that staff or a partner handed you into your own receipt.
    The code then stops working; keep the receipt: it is shown once."""
    return await rpc(S.INTAKE_CLAIM, body, SubmitReceipt)


@router.post("/assisted/reports", status_code=status.HTTP_201_CREATED, tags=["case handler"],
             responses=problem_responses(401, 403, 404))
async def file_assisted_report(body: ReportForWorker, actor: HandlerDep,
                               rpc: RpcDep) -> ClaimTicket:
    """File a report for a worker met in person or by phone. Hand the worker the reference and
    the claim code; they claim their own receipt, which you never see."""
    report = command(OnBehalfReport, actor=actor, channel="assisted", **body.model_dump())
    return await rpc(S.INTAKE_SUBMIT_ON_BEHALF, report, ClaimTicket)


@router.post("/partner/reports", status_code=status.HTTP_201_CREATED, tags=["partner"],
             responses=problem_responses(401, 403, 404))
async def file_partner_report(body: ReportForWorker, actor: PartnerDep,
                              rpc: RpcDep) -> ClaimTicket:
    """A partner system (OAuth2 client credentials) files a report its hotline collected, for
    its own organisation; the worker claims a receipt with the returned code."""
    report = command(OnBehalfReport, actor=actor, channel="partner", **body.model_dump())
    return await rpc(S.INTAKE_SUBMIT_ON_BEHALF, report, ClaimTicket)


@router.post("/assisted/reports/{reference}/claim-code", tags=["case handler", "partner"],
             responses=problem_responses(401, 403, 404, 409))
async def reissue_claim_code(reference: Annotated[str, Path(max_length=32)],
                             actor: StaffOrPartnerDep, rpc: RpcDep) -> ClaimTicket:
    """The worker lost the claim code, or it expired: a new one for a report your organisation
    filed, while the worker has not claimed their receipt yet. The old code stops working."""
    return await rpc(S.INTAKE_REISSUE_CLAIM, ReissueClaim(actor=actor, reference=reference),
                     ClaimTicket)


async def reporter_view(rpc: Rpc, reference: str, receipt: str) -> ReporterView:
    """Status and inbox for a reference and receipt (intake checks the receipt first)."""
    found = await rpc(S.INTAKE_STATUS, StatusQuery(reference=reference, receipt=receipt),
                      ReportStatus)
    inbox = await rpc(S.NOTIFICATION_INBOX, InboxQuery(submission_id=found.submission_id), Inbox)
    return ReporterView(reference=found.reference, status=found.status,
                        received_on=found.received_on, country=found.country,
                        origin=found.origin, categories=found.categories,
                        form_version=found.form_version, answers=found.answers,
                        surveyed=found.surveyed, content_deleted_on=found.content_deleted_on,
                        messages=inbox.messages)


@router.post("/reports/lookup", tags=["reporter"], responses=problem_responses(404, 429))
async def lookup_report(body: ReportLookup, rpc: RpcDep) -> ReporterView:
    """A reporter's follow-up: the status of their report and messages from the handler."""
    return await reporter_view(rpc, body.reference, body.receipt)


@router.post("/reports/follow-up", status_code=status.HTTP_201_CREATED, tags=["reporter"],
             responses=problem_responses(404, 410, 429))
async def follow_up_report(body: Public[FollowUp], rpc: RpcDep) -> FollowUpSent:
    """Reply to your case handler (kind `reply`) or add to your report (kind `information`):
    text, files from POST /api/v1/uploads, or both. Your reference and receipt prove it is
    you; wrong receipts count towards the same limit as lookups. A report whose content was
    deleted at the end of its retention period takes nothing more (410)."""
    return await rpc(S.INTAKE_FOLLOW_UP, body, FollowUpSent)


@router.post("/reports/survey", status_code=status.HTTP_201_CREATED, tags=["reporter"],
             responses=problem_responses(404, 409, 429))
async def rate_the_process(body: Public[SurveyAnswers], rpc: RpcDep) -> SurveyThanks:
    """Once a decision is reached, rate the process once (1 to 5). The scores are counted per
    organisation and quarter, never kept with your report."""
    return await rpc(S.INTAKE_SURVEY, body, SurveyThanks)


@router.get("/satisfaction", tags=["worker committee", "case handler"],
            responses=problem_responses(401, 403))
async def satisfaction(actor: AnyStaffDep, rpc: RpcDep) -> Satisfaction:
    """Reporters' ratings per organisation and quarter (yours, for a case handler; every
    organisation's, for the worker committee); fewer than 5 answers are suppressed."""
    return await rpc(S.CASES_SATISFACTION, SatisfactionQuery(actor=actor), Satisfaction)


@router.get("/cases", tags=["case handler"], responses=STAFF)
async def list_cases(
    actor: HandlerDep, rpc: RpcDep,
    status: Annotated[list[str] | None, Query(max_length=10, description=(
        "only cases in these states (repeat the parameter for several)"))] = None,
    risk: Annotated[Literal["normal", "high"] | None, Query()] = None,
    assigned_to: Annotated[str | None, Query(max_length=255, description=(
        "an account id, 'me', or 'nobody' for unassigned cases"))] = None,
    issue: Annotated[str | None, Query(pattern=ISSUE_CODE, description=(
        "an intake category, e.g. unpaid-wages: as coded, else as the reporter chose"))] = None,
    origin: Annotated[str | None, Query(pattern=COUNTRY_OR_OTHER, description=(
        "the worker's country (ISO 3166-1 alpha-2 or 'other'), coded else as reported"))] = None,
    destination: Annotated[str | None, Query(pattern=COUNTRY_OR_OTHER, description=(
        "the country they work in, coded else as reported"))] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=512, description=(
        "the previous page's next_cursor"))] = None,
) -> CaseList:
    """Your organisation's cases, highest risk and nearest deadline first, one page at a time
    (`next_cursor` until the last page)."""
    return await rpc(S.CASES_LIST, CaseListQuery(
        actor=actor, status=status or [], risk=risk, assigned_to=assigned_to, issue=issue,
        origin=origin, destination=destination, limit=limit, cursor=cursor), CaseList)


@router.get("/cases/{case_id}", tags=["case handler"], responses=STAFF)
async def get_case(case_id: UUID, actor: HandlerDep, rpc: RpcDep) -> CaseDetail:
    """One case with the report's answers (the read is audited)."""
    return await rpc(S.CASES_GET, CaseQuery(actor=actor, case_id=case_id), CaseDetail)


@router.get("/cases/{case_id}/history", tags=["case handler"], responses=STAFF)
async def case_history(case_id: UUID, actor: HandlerDep, rpc: RpcDep) -> CaseHistory:
    """What happened to the case and who read it, from its audit log (days, not times)."""
    return await rpc(S.CASES_HISTORY, CaseHistoryQuery(actor=actor, case_id=case_id),
                     CaseHistory)


@router.post("/cases/{case_id}/acknowledge", tags=["case handler"],
             responses={**STAFF, **problem_responses(409)})
async def acknowledge_case(case_id: UUID, body: Acknowledgement, actor: HandlerDep,
                           rpc: RpcDep) -> CaseSummary:
    """Acknowledge a received case and tell the reporter, through their inbox."""
    command = AcknowledgeCase(actor=actor, case_id=case_id, message=body.message)
    return await rpc(S.CASES_ACKNOWLEDGE, command, CaseSummary)


@router.post("/cases/{case_id}/transitions", tags=["case handler"],
             responses={**STAFF, **problem_responses(409)})
async def transition_case(case_id: UUID, body: Transition, actor: HandlerDep,
                          rpc: RpcDep) -> CaseDetail:
    """Move the case along its lifecycle: received → acknowledged → in-assessment → referred /
    in-mediation / in-resolution → resolved / not-upheld / withdrawn → closed; an appeal
    reopens a closed case (with a reason) and is decided by someone else. Closing needs the
    case coded. A move the lifecycle does not allow is a 409 naming the allowed ones."""
    command = TransitionCase(actor=actor, case_id=case_id, **body.model_dump())
    return await rpc(S.CASES_TRANSITION, command, CaseDetail)


@router.post("/cases/{case_id}/assign", tags=["case handler"],
             responses={**STAFF, **problem_responses(409)})
async def assign_case(case_id: UUID, body: Assignment, actor: HandlerDep,
                      rpc: RpcDep) -> CaseSummary:
    """Take the case (no handler given) or hand it to a colleague. Refused (409, audited) when
    the handler declared a conflict of interest with the case's respondent."""
    return await rpc(S.CASES_ASSIGN, AssignCase(actor=actor, case_id=case_id,
                                                handler=body.handler), CaseSummary)


@router.put("/cases/{case_id}/coding", tags=["case handler"], responses=STAFF)
async def code_case(case_id: UUID, body: Coding, actor: HandlerDep, rpc: RpcDep) -> CaseDetail:
    """Code issue, corridor and respondent (needed to close). A third case against the same
    respondent within 90 days alerts the organisation."""
    return await rpc(S.CASES_CODE, CodeCase(actor=actor, case_id=case_id, **body.model_dump()),
                     CaseDetail)


@router.post("/cases/{case_id}/messages", status_code=status.HTTP_201_CREATED,
             tags=["case handler"], responses=STAFF)
async def message_reporter(case_id: UUID, body: Acknowledgement, actor: HandlerDep,
                           rpc: RpcDep) -> CaseMessageView:
    """Write to the reporter's receipt-protected inbox (it counts as the update they are owed
    at least every 30 days)."""
    command = MessageReporter(actor=actor, case_id=case_id, body=body.message)
    return await rpc(S.CASES_MESSAGE, command, CaseMessageView)


@router.post("/me/conflicts", status_code=status.HTTP_201_CREATED, tags=["case handler"],
             responses=problem_responses(401, 403))
async def declare_conflict(body: ConflictDeclaration, actor: HandlerDep,
                           rpc: RpcDep) -> ConflictView:
    """Declare a conflict of interest with an employer or agency: you will not be assigned
    cases against it."""
    return await rpc(S.CASES_DECLARE_CONFLICT,
                     DeclareConflict(actor=actor, respondent=body.respondent), ConflictView)


@router.get("/me/conflicts", tags=["case handler"], responses=problem_responses(401, 403))
async def my_conflicts(actor: HandlerDep, rpc: RpcDep) -> ConflictList:
    """The conflicts of interest you declared."""
    return await rpc(S.CASES_CONFLICTS, ConflictsQuery(actor=actor), ConflictList)


@router.post("/cases/{case_id}/sessions", status_code=status.HTTP_201_CREATED, tags=["mediator"],
             responses={**STAFF, **problem_responses(409)})
async def propose_session(case_id: UUID, body: SessionProposal, actor: MediatorDep,
                          rpc: RpcDep) -> SessionView:
    """Propose a mediation session for a case."""
    proposal = command(ProposeSession, actor=actor, case_id=case_id, **body.model_dump())
    return await rpc(S.MEDIATION_PROPOSE, proposal, SessionView)


health_router = APIRouter()


@health_router.get("/healthz", tags=["operations"])
async def healthz() -> dict[str, str]:
    """The gateway process is alive."""
    return {"status": "ok"}


@health_router.get("/readyz", tags=["operations"], responses={503: {"model": Readiness}})
async def readyz(rpc: RpcDep, response: Response) -> Readiness:
    """Every service answers over NATS and reaches its database."""

    async def probe(subject: str) -> str:
        try:
            await asyncio.wait_for(rpc(subject, HealthQuery(), Health), 3)
        except (SuaraError, TimeoutError) as exc:
            return f"unavailable: {type(exc).__name__}"
        return "ok"

    names = list(HEALTH_SUBJECTS)
    results = await asyncio.gather(*(probe(HEALTH_SUBJECTS[n]) for n in names))
    services = dict(zip(names, results, strict=True))
    ready = all(r == "ok" for r in results)
    response.status_code = 200 if ready else 503
    return Readiness(status="ready" if ready else "not ready", services=services)
