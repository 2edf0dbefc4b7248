"""Case-management's NATS endpoints and event consumers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from suara_cases import service
from suara_cases.models import Inbox, Outbox
from suara_cases.settings import CasesSettings
from suara_contracts.events import ReporterFollowUp, SessionProposed, SubmissionReceived
from suara_contracts.rpc import (
    AcknowledgeCase,
    CaseDetail,
    CaseList,
    CaseListQuery,
    CaseQuery,
    CaseSummary,
)
from suara_contracts.subjects import Evt, Rpc
from suara_kit.service import ServiceApp

MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: CasesSettings | None = None) -> ServiceApp:
    """The case-management service, wired."""
    settings = settings or CasesSettings()
    app = ServiceApp("case-management", settings, migrations=MIGRATIONS, outbox=Outbox,
                     inbox=Inbox, rpc_prefix=Rpc.CASES)
    within = timedelta(days=settings.acknowledge_within_days)

    async def list_cases(query: CaseListQuery) -> CaseList:
        async with app.transaction() as session:
            return CaseList(items=await service.list_cases(session, query.actor))

    async def get_case(query: CaseQuery) -> CaseDetail:
        async with app.transaction() as session:
            return await service.get_case(session, query.actor, query.case_id)

    async def acknowledge(command: AcknowledgeCase) -> CaseSummary:
        async with app.transaction() as session:
            case, changed, message = await service.acknowledge(
                session, command.actor, command.case_id, command.message)
            app.emit(session, Evt.CASE_STATUS_CHANGED, changed)
            app.emit(session, Evt.REPORTER_MESSAGE, message)
            sessions = await service.repository.sessions_of(session, [case.id])
            return service.summary(case, sessions.get(case.id, []))

    async def on_submission(session: AsyncSession, _: UUID, event: SubmissionReceived) -> None:
        opened = await service.open_case(session, event, within)
        if opened:
            app.emit(session, Evt.CASE_OPENED, opened)

    async def on_session(session: AsyncSession, _: UUID, event: SessionProposed) -> None:
        await service.record_session(session, event)

    async def on_follow_up(session: AsyncSession, _: UUID, event: ReporterFollowUp) -> None:
        await service.reporter_followed_up(session, event)

    app.rpc(Rpc.CASES_LIST, CaseListQuery, list_cases)
    app.rpc(Rpc.CASES_GET, CaseQuery, get_case)
    app.rpc(Rpc.CASES_ACKNOWLEDGE, AcknowledgeCase, acknowledge)
    app.on_event(Evt.SUBMISSION_RECEIVED, SubmissionReceived, "cases-submission-received",
                 on_submission)
    app.on_event(Evt.SESSION_PROPOSED, SessionProposed, "cases-session-proposed", on_session)
    app.on_event(Evt.REPORTER_FOLLOW_UP, ReporterFollowUp, "cases-reporter-follow-up",
                 on_follow_up)
    return app
