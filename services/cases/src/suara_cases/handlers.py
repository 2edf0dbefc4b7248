"""Case-management's NATS endpoints and event consumers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from uuid import UUID

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_cases import (
    audit,
    checkins,
    content,
    deadlines,
    escalations,
    history,
    identity,
    liaison,
    referrals,
    satisfaction,
    service,
    session_notices,
    statistics,
    work,
)
from suara_cases.models import Inbox, Outbox, Replay
from suara_cases.settings import CasesSettings
from suara_contracts.events import (
    ObligationMissed,
    ReporterFollowUp,
    SessionProposed,
    SubmissionReceived,
    SurveyAnswered,
)
from suara_contracts.rpc import (
    AcknowledgeCase,
    AssignCase,
    CaseDetail,
    CaseHistory,
    CaseHistoryQuery,
    CaseList,
    CaseListQuery,
    CaseMessageView,
    CaseQuery,
    CaseSummary,
    CodeCase,
    ConflictList,
    ConflictsQuery,
    ConflictView,
    DeclareConflict,
    MessageReporter,
    Satisfaction,
    SatisfactionQuery,
    TransitionCase,
)
from suara_contracts.subjects import Evt, Rpc
from suara_kit.clock import today
from suara_kit.errors import Conflict
from suara_kit.service import PARALLEL, ServiceApp

MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: CasesSettings | None = None) -> ServiceApp:
    """The case-management service, wired."""
    settings = settings or CasesSettings()
    app = ServiceApp("case-management", settings, migrations=MIGRATIONS, outbox=Outbox,
                     inbox=Inbox, replays=Replay, rpc_prefix=Rpc.CASES)

    policy = settings.deadlines_for
    content.use_keys(app.db, settings)
    app.on_start(lambda: content.seal_legacy(app.db))

    async def list_cases(query: CaseListQuery) -> CaseList:
        async with app.transaction() as session:
            return await service.list_cases(session, query, policy)

    async def get_case(query: CaseQuery) -> CaseDetail:
        async with app.transaction() as session:
            return await service.get_case(session, query.actor, query.case_id, policy)

    async def case_history(query: CaseHistoryQuery) -> CaseHistory:
        async with app.transaction() as session:
            return await history.of_case(session, query.actor, query.case_id)

    def emit_outcome(session: AsyncSession, outcome: work.Outcome) -> None:
        if outcome.changed:
            app.emit(session, Evt.CASE_STATUS_CHANGED, outcome.changed)
        if outcome.message:
            app.emit(session, Evt.REPORTER_MESSAGE, outcome.message)
        if outcome.cluster:
            app.emit(session, Evt.CLUSTER_DETECTED, outcome.cluster)

    async def transition(command: TransitionCase) -> CaseDetail:
        async with app.transaction() as session:
            outcome = await work.transition(session, command.actor, command)
            emit_outcome(session, outcome)
            return await service.detail(session, outcome.case, policy)

    async def assign(command: AssignCase) -> CaseSummary:
        async with app.transaction() as session:
            outcome = await work.assign(session, command.actor, command)
            view = service.summary(outcome.case, [], policy)
        if outcome.refused:  # refused after the audit entry is committed
            raise Conflict(outcome.refused)
        return view

    async def code(command: CodeCase) -> CaseDetail:
        async with app.transaction() as session:
            outcome = await work.code(session, command.actor, command, settings.cluster_size,
                                      settings.cluster_window_days)
            emit_outcome(session, outcome)
            return await service.detail(session, outcome.case, policy)

    async def message(command: MessageReporter) -> CaseMessageView:
        async with app.transaction() as session:
            note, outgoing = await work.send_message(session, command.actor, command.case_id,
                                                     command.body)
            app.emit(session, Evt.REPORTER_MESSAGE, outgoing)
            return service.message_view(note, command.body)

    async def declare_conflict(command: DeclareConflict) -> ConflictView:
        async with app.transaction() as session:
            return await work.declare_conflict(session, command.actor, command)

    async def conflicts(query: ConflictsQuery) -> ConflictList:
        async with app.transaction() as session:
            return ConflictList(items=await work.conflicts_of(session, query.actor))

    async def scan_deadlines() -> None:
        """Alert every newly missed deadline once (each replica scans; the alert table keeps
        a breach from being raised twice)."""
        try:
            async with app.transaction() as session:
                for breach in await deadlines.scan(session, today(), policy):
                    app.emit(session, Evt.DEADLINE_BREACHED, breach)
        except IntegrityError:
            pass  # another replica raised these alerts at the same moment

    async def shred_expired() -> None:
        """Shred every closed case whose retention ended (each replica runs this; a case is
        locked while it is shredded, and a shredded case is not due again)."""
        try:
            async with app.transaction() as session:
                for case in await content.due_for_shredding(session, today(),
                                                            settings.retention_for):
                    for shredded in await content.shred(session, case, today()):
                        app.emit(session, Evt.CASE_SHREDDED, shredded)
        except IntegrityError:
            pass  # another replica shredded these at the same moment; the next run is clean

    async def acknowledge(command: AcknowledgeCase) -> CaseSummary:
        async with app.transaction() as session:
            case, changed, message = await work.acknowledge(
                session, command.actor, command.case_id, command.message)
            app.emit(session, Evt.CASE_STATUS_CHANGED, changed)
            app.emit(session, Evt.REPORTER_MESSAGE, message)
            sessions = await service.repository.sessions_of(session, [case.id])
            return service.summary(case, sessions.get(case.id, []))

    async def on_submission(session: AsyncSession, _: UUID, event: SubmissionReceived) -> None:
        within = timedelta(days=policy(event.organisation).acknowledge_within_days)
        opened = await service.open_case(session, event, within)
        if opened:
            app.emit(session, Evt.CASE_OPENED, opened)

    async def on_session(session: AsyncSession, _: UUID, event: SessionProposed) -> None:
        await service.record_session(session, event)

    async def on_follow_up(session: AsyncSession, _: UUID, event: ReporterFollowUp) -> None:
        await service.reporter_followed_up(session, event)
        if event.kind == "check-in":
            reopened = await checkins.answered(session, event, today())
            if reopened:
                app.emit(session, Evt.CASE_STATUS_CHANGED, reopened)

    async def on_obligation_missed(session: AsyncSession, _: UUID,
                                   event: ObligationMissed) -> None:
        reopened = await escalations.obligation_missed(session, event)
        if reopened:
            app.emit(session, Evt.CASE_STATUS_CHANGED, reopened)

    async def on_survey(session: AsyncSession, _: UUID, event: SurveyAnswered) -> None:
        await satisfaction.count(session, event)

    async def satisfaction_report(query: SatisfactionQuery) -> Satisfaction:
        async with app.db.transaction() as session:
            return Satisfaction(items=await satisfaction.report(session, query.actor))

    async def send_check_ins() -> None:
        """Ask closed cases' reporters whether anyone punished them (each replica runs this;
        a check-in is sent once: the row is updated in the same transaction)."""
        async with app.transaction() as session:
            for question in await checkins.due_now(session, today()):
                app.emit(session, Evt.REPORTER_MESSAGE, question)

    app.rpc(Rpc.CASES_LIST, CaseListQuery, list_cases)
    app.rpc(Rpc.CASES_GET, CaseQuery, get_case)
    app.rpc(Rpc.CASES_HISTORY, CaseHistoryQuery, case_history)
    app.rpc(Rpc.CASES_ACKNOWLEDGE, AcknowledgeCase, acknowledge)
    app.rpc(Rpc.CASES_TRANSITION, TransitionCase, transition)
    app.rpc(Rpc.CASES_ASSIGN, AssignCase, assign)
    app.rpc(Rpc.CASES_CODE, CodeCase, code)
    app.rpc(Rpc.CASES_MESSAGE, MessageReporter, message)
    app.rpc(Rpc.CASES_DECLARE_CONFLICT, DeclareConflict, declare_conflict)
    app.rpc(Rpc.CASES_CONFLICTS, ConflictsQuery, conflicts)
    app.every(settings.deadline_scan_seconds, "cases-deadline-scan", scan_deadlines)
    app.every(settings.deadline_scan_seconds, "cases-check-ins", send_check_ins)
    app.every(settings.retention_scan_seconds, "cases-retention", shred_expired)

    async def chain_audit() -> None:
        await audit.LOG.chain_pending(app.db)

    app.every(1.0, "cases-audit-chain", chain_audit)  # entries are tamper-evident within ~1 s
    app.rpc(Rpc.CASES_SATISFACTION, SatisfactionQuery, satisfaction_report)
    app.on_event(Evt.SURVEY_ANSWERED, SurveyAnswered, "cases-survey-answered", on_survey)
    app.on_event(Evt.OBLIGATION_MISSED, ObligationMissed, "cases-obligation-missed",
                 on_obligation_missed)
    app.on_event(Evt.SUBMISSION_RECEIVED, SubmissionReceived, "cases-submission-received",
                 on_submission, parallel=PARALLEL, batch=True)
    app.on_event(Evt.SESSION_PROPOSED, SessionProposed, "cases-session-proposed", on_session)
    app.on_event(Evt.REPORTER_FOLLOW_UP, ReporterFollowUp, "cases-reporter-follow-up",
                 on_follow_up)
    # -- referrals between organisations: rules in referrals.py ---------------------------
    for subject, body, handler in referrals.endpoints(app, referrals.load_directory()):
        app.rpc(subject, body, handler)
    # -- end of referrals -------------------------------------------------------------------
    # -- opening a sealed identity: rules in identity.py -------------------------------------
    for subject, body, handler in identity.endpoints(app):
        app.rpc(subject, body, handler)
    # -- end of identity ----------------------------------------------------------------------
    # -- the employer liaison's redacted case summaries: rules in liaison.py ----------------
    for subject, body, handler in liaison.endpoints(app):
        app.rpc(subject, body, handler)
    # -- end of liaison -----------------------------------------------------------------------
    # -- statistics for the worker committee and the public page: rules in statistics.py ---
    for subject, body, handler in statistics.endpoints(app, policy):
        app.rpc(subject, body, handler)
    # -- end of statistics ------------------------------------------------------------------
    # -- booked, moved and cancelled mediation sessions, told to the worker's inbox: rules in
    # session_notices.py ---------------------------------------------------------------------
    for subject, model, durable, handler in session_notices.consumers(app):
        app.on_event(subject, model, durable, handler)
    # -- end of session notices --------------------------------------------------------------
    return app
