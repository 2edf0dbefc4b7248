"""Which body each request-reply subject takes and which it answers with. Data only."""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel

from suara_contracts.rpc import (
    AcknowledgeCase,
    AnswersChecked,
    ApproveForm,
    CaseDetail,
    CaseList,
    CaseListQuery,
    CaseQuery,
    CaseSummary,
    ClaimReceipt,
    ClaimTicket,
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
    OnBehalfReport,
    ProposeSession,
    RemedyEdited,
    RemedyQuery,
    RemedyRoute,
    RemedyRouteQuery,
    RemedyRoutes,
    ReportStatus,
    SessionView,
    StatusQuery,
    SubmitReceipt,
    SubmitReport,
)
from suara_contracts.subjects import Rpc

RPC_TYPES: Final[dict[str, tuple[type[BaseModel], type[BaseModel]]]] = {
    Rpc.INTAKE_FORM: (FormQuery, FormDefinition),
    Rpc.INTAKE_FORM_VERSIONS: (FormVersionsQuery, FormVersionList),
    Rpc.INTAKE_FORM_VERSION: (FormVersionQuery, FormVersion),
    Rpc.INTAKE_FORM_DRAFT: (DraftForm, FormVersion),
    Rpc.INTAKE_FORM_APPROVE: (ApproveForm, FormVersion),
    Rpc.INTAKE_SUBMIT: (SubmitReport, SubmitReceipt),
    Rpc.INTAKE_CHECK: (SubmitReport, AnswersChecked),
    Rpc.INTAKE_STATUS: (StatusQuery, ReportStatus),
    Rpc.INTAKE_SUBMIT_ON_BEHALF: (OnBehalfReport, ClaimTicket),
    Rpc.INTAKE_CLAIM: (ClaimReceipt, SubmitReceipt),
    Rpc.INTAKE_FOLLOW_UP: (FollowUp, FollowUpSent),
    Rpc.INTAKE_REMEDIES: (RemedyQuery, RemedyRoutes),
    Rpc.INTAKE_REMEDY: (RemedyRouteQuery, RemedyRoute),
    Rpc.INTAKE_REMEDY_EDIT: (EditRemedy, RemedyEdited),
    Rpc.INTAKE_HEALTH: (HealthQuery, Health),
    Rpc.CASES_LIST: (CaseListQuery, CaseList),
    Rpc.CASES_GET: (CaseQuery, CaseDetail),
    Rpc.CASES_ACKNOWLEDGE: (AcknowledgeCase, CaseSummary),
    Rpc.CASES_HEALTH: (HealthQuery, Health),
    Rpc.MEDIATION_PROPOSE: (ProposeSession, SessionView),
    Rpc.MEDIATION_HEALTH: (HealthQuery, Health),
    Rpc.NOTIFICATION_INBOX: (InboxQuery, Inbox),
    Rpc.NOTIFICATION_HEALTH: (HealthQuery, Health),
}
