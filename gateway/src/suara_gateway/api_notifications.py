"""Notification preferences under /api/v1: a staff member's own (where and when they hear of
their work), and a reporter's nudge contact (a content-free "you have an update" by SMS or
email, proven by their reference and receipt, never shown to anyone)."""

from __future__ import annotations

from datetime import time
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import Field

from suara_contracts.mediation import LocalTimeOfDay
from suara_contracts.notifications import (
    ReporterContactQuery,
    ReporterContactView,
    ReporterLanguage,
    SetReporterContact,
    SetStaffPreferences,
    StaffPreferences,
    StaffPreferencesQuery,
    StaffPreferencesView,
)
from suara_contracts.rpc import Actor, ReportStatus, StatusQuery
from suara_contracts.subjects import Rpc as S
from suara_gateway.deps import Rpc, RpcDep, require_any_role
from suara_gateway.schemas import Public, ReportLookup, problem_responses

router = APIRouter(prefix="/api/v1", tags=["notifications"],
                   responses=problem_responses(422, 503))
STAFF = problem_responses(401, 403)
REPORTER = problem_responses(404, 410, 429)
StaffDep = Annotated[Actor, Depends(require_any_role(
    "case-handler", "mediator", "worker-committee", "admin", "cso-partner"))]


@router.get("/me/notifications", responses=STAFF)
async def my_notifications(actor: StaffDep, rpc: RpcDep) -> StaffPreferencesView:
    """How you hear of your work. `registered: false`: nothing is sent to you yet; save your
    preferences (PUT) to start."""
    return await rpc(S.NOTIFICATION_STAFF_GET, StaffPreferencesQuery(actor=actor),
                     StaffPreferencesView)


@router.put("/me/notifications", responses=STAFF)
async def set_my_notifications(body: Public[StaffPreferences], actor: StaffDep,
                               rpc: RpcDep) -> StaffPreferencesView:
    """Save where (email; SMS for urgent messages), in which language and time zone, and when
    (quiet hours, a daily digest) you hear of your work, and which topics you do not want.
    Messages name cases by reference and link to the console; they never carry what a
    reporter said."""
    return await rpc(S.NOTIFICATION_STAFF_SET, SetStaffPreferences(actor=actor, preferences=body),
                     StaffPreferencesView)


@router.delete("/me/notifications", responses=STAFF)
async def forget_my_notifications(actor: StaffDep, rpc: RpcDep) -> StaffPreferencesView:
    """Stop every message to you and delete your address (the console still shows alerts)."""
    return await rpc(S.NOTIFICATION_STAFF_FORGET, StaffPreferencesQuery(actor=actor),
                     StaffPreferencesView)


class ContactRequest(ReportLookup):
    """Where to send your nudges. A nudge says only that there is something new, never what,
    and never names Suara's partners or your report. Only this service can read the address;
    it is deleted with your report."""

    channel: Literal["sms", "email"]
    address: str = Field(min_length=3, max_length=320, examples=["+62 812 3456 7890"])
    language: ReporterLanguage = "en"
    timezone: str = Field(default="UTC", max_length=64, examples=["Asia/Hong_Kong"])
    quiet_from: LocalTimeOfDay | None = Field(default=time(21, 0), description=(
        "no nudge from this local time in `timezone`…"))
    quiet_until: LocalTimeOfDay | None = Field(default=time(7, 0), description=(
        "…until this one"))


async def _submission(rpc: Rpc, reference: str, receipt: str) -> ReportStatus:
    # the receipt check counts towards the reference's attempt limit, as a lookup does
    return await rpc(S.INTAKE_STATUS, StatusQuery(reference=reference, receipt=receipt),
                     ReportStatus)


@router.post("/reports/contact", tags=["reporter"], responses=REPORTER)
async def set_contact(body: ContactRequest, rpc: RpcDep) -> ReporterContactView:
    """Ask for a nudge by SMS or email when your case handler writes to you or a mediation
    session is near. You read the message itself on your status page."""
    found = await _submission(rpc, body.reference, body.receipt)
    command = SetReporterContact(submission_id=found.submission_id, channel=body.channel,
                                 address=body.address, language=body.language,
                                 timezone=body.timezone, quiet_from=body.quiet_from,
                                 quiet_until=body.quiet_until)
    return await rpc(S.NOTIFICATION_CONTACT_SET, command, ReporterContactView)


@router.post("/reports/contact/lookup", tags=["reporter"], responses=REPORTER)
async def get_contact(body: ReportLookup, rpc: RpcDep) -> ReporterContactView:
    """Whether your nudges go somewhere (the address masked)."""
    found = await _submission(rpc, body.reference, body.receipt)
    return await rpc(S.NOTIFICATION_CONTACT_GET,
                     ReporterContactQuery(submission_id=found.submission_id),
                     ReporterContactView)


@router.post("/reports/contact/remove", tags=["reporter"], responses=REPORTER)
async def remove_contact(body: ReportLookup, rpc: RpcDep) -> ReporterContactView:
    """Stop the nudges and delete the address; nothing waiting is sent."""
    found = await _submission(rpc, body.reference, body.receipt)
    return await rpc(S.NOTIFICATION_CONTACT_REMOVE,
                     ReporterContactQuery(submission_id=found.submission_id),
                     ReporterContactView)
