"""Intake's NATS endpoints and event consumers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from suara_contracts.events import CaseOpened, CaseStatusChanged
from suara_contracts.rpc import (
    AnswersChecked,
    ClaimReceipt,
    ClaimTicket,
    FormDefinition,
    FormQuery,
    OnBehalfReport,
    RemedyQuery,
    RemedyRoute,
    RemedyRoutes,
    ReportStatus,
    StatusQuery,
    SubmitReceipt,
    SubmitReport,
)
from suara_contracts.subjects import Evt, Rpc
from suara_intake import forms, service
from suara_intake import routes as remedy_routes
from suara_intake.models import Inbox, Outbox
from suara_intake.settings import IntakeSettings
from suara_kit.errors import NotFound
from suara_kit.service import ServiceApp

MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: IntakeSettings | None = None) -> ServiceApp:
    """The intake service, wired."""
    settings = settings or IntakeSettings()
    app = ServiceApp("intake", settings, migrations=MIGRATIONS, outbox=Outbox, inbox=Inbox,
                     rpc_prefix=Rpc.INTAKE)
    policy = service.ReceiptPolicy(key=settings.receipt_key.get_secret_value().encode(),
                                   max_failures=settings.receipt_max_failures,
                                   lockout=timedelta(minutes=settings.receipt_lockout_minutes))

    async def submit(report: SubmitReport) -> SubmitReceipt:
        async with app.transaction() as session:
            sub, receipt, event = await service.submit(session, report, settings.organisations,
                                                       policy)
            app.emit(session, Evt.SUBMISSION_RECEIVED, event)
        return SubmitReceipt(reference=sub.reference, receipt=receipt, status=sub.status)

    async def check(report: SubmitReport) -> AnswersChecked:
        service.check(report, settings.organisations)
        return AnswersChecked()

    async def submit_on_behalf(report: OnBehalfReport) -> ClaimTicket:
        async with app.transaction() as session:
            sub, code, event = await service.submit_on_behalf(
                session, report, settings.organisations, policy,
                timedelta(days=settings.claim_within_days))
            app.emit(session, Evt.SUBMISSION_RECEIVED, event)
        return ClaimTicket(reference=sub.reference, claim_code=code, claim_by=sub.claim_by,
                           status=sub.status)

    async def claim(query: ClaimReceipt) -> SubmitReceipt:
        async with app.transaction() as session:
            claimed = await service.claim(session, query, policy)
        if claimed is None:
            raise NotFound(service.WRONG_CLAIM)
        sub, receipt = claimed
        return SubmitReceipt(reference=sub.reference, receipt=receipt, status=sub.status)

    async def status(query: StatusQuery) -> ReportStatus:
        async with app.transaction() as session:
            sub = await service.check_receipt(session, query, policy)
            view = service.status_of(sub) if sub else None
        if view is None:
            raise NotFound(service.WRONG_RECEIPT)
        return view

    async def form(query: FormQuery) -> FormDefinition:
        return forms.definition(query.language, settings.organisations)

    async def remedies(query: RemedyQuery) -> RemedyRoutes:
        found = remedy_routes.matching(query.destination, query.origin, query.issues)
        return RemedyRoutes(destination=query.destination, origin=query.origin,
                            routes=[RemedyRoute(**r.model_dump()) for r in found])

    async def on_case_opened(session: AsyncSession, _: UUID, event: CaseOpened) -> None:
        await service.case_opened(session, event.submission_id, event.case_id)

    async def on_status(session: AsyncSession, _: UUID, event: CaseStatusChanged) -> None:
        await service.case_status_changed(session, event.submission_id, event.to_status)

    app.rpc(Rpc.INTAKE_SUBMIT, SubmitReport, submit)
    app.rpc(Rpc.INTAKE_CHECK, SubmitReport, check)
    app.rpc(Rpc.INTAKE_STATUS, StatusQuery, status)
    app.rpc(Rpc.INTAKE_SUBMIT_ON_BEHALF, OnBehalfReport, submit_on_behalf)
    app.rpc(Rpc.INTAKE_CLAIM, ClaimReceipt, claim)
    app.rpc(Rpc.INTAKE_FORM, FormQuery, form)
    app.rpc(Rpc.INTAKE_REMEDIES, RemedyQuery, remedies)
    app.on_event(Evt.CASE_OPENED, CaseOpened, "intake-case-opened", on_case_opened)
    app.on_event(Evt.CASE_STATUS_CHANGED, CaseStatusChanged, "intake-case-status", on_status)
    return app
