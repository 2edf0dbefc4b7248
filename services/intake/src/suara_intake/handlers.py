"""Intake's NATS endpoints and event consumers."""

from __future__ import annotations

from contextlib import suppress
from datetime import timedelta
from pathlib import Path
from uuid import UUID

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_contracts.events import CaseOpened, CaseShredded, CaseStatusChanged
from suara_contracts.rpc import (
    Answer,
    AnswersChecked,
    ApproveForm,
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
    OnBehalfReport,
    ReissueClaim,
    RemedyEdited,
    RemedyQuery,
    RemedyRoute,
    RemedyRouteQuery,
    RemedyRoutes,
    ReportStatus,
    StatusQuery,
    SubmitReceipt,
    SubmitReport,
    SurveyAnswers,
    SurveyThanks,
)
from suara_contracts.subjects import Evt, Rpc
from suara_intake import content, forms, service
from suara_intake import routes as remedy_routes
from suara_intake.attachments import NatsStagedFiles, Vault
from suara_intake.formstore import FormStore
from suara_intake.models import DataKeys, Inbox, Outbox, Replay
from suara_intake.settings import IntakeSettings
from suara_kit.datakeys import use_keys
from suara_kit.errors import Conflict, NotFound
from suara_kit.sealing import Sealer
from suara_kit.service import PARALLEL, ServiceApp

MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: IntakeSettings | None = None) -> ServiceApp:
    """The intake service, wired."""
    settings = settings or IntakeSettings()
    app = ServiceApp("intake", settings, migrations=MIGRATIONS, outbox=Outbox, inbox=Inbox,
                     replays=Replay, rpc_prefix=Rpc.INTAKE)
    use_keys(app.db, settings, DataKeys)
    store = FormStore()
    files = NatsStagedFiles(lambda: app.nc)
    vault = Vault(files, Sealer(settings.attachment_key.get_secret_value(),
                                [k.get_secret_value() for k in settings.attachment_previous_keys]))

    async def discard(tokens: list[str]) -> None:
        """Uploads a committed report or follow-up used: gone from staging (they would expire
        anyway, so a failure here loses nothing)."""
        for token in tokens:
            with suppress(Exception):
                await files.discard(token)

    async def used_uploads(session: AsyncSession, version: str,
                           answers: dict[str, Answer]) -> list[str]:
        _, spec = await store.approved(session, int(version))  # cached: no query
        return [token for _, token in forms.file_tokens(spec, answers)]
    policy = service.ReceiptPolicy(key=settings.receipt_key.get_secret_value().encode(),
                                   max_failures=settings.receipt_max_failures,
                                   lockout=timedelta(minutes=settings.receipt_lockout_minutes))

    async def submit(report: SubmitReport) -> SubmitReceipt:
        async def stage(session: AsyncSession) -> tuple[SubmitReceipt, list[str]]:
            sub, receipt, event = await service.submit(session, store, report,
                                                       settings.organisations, policy, vault)
            app.emit(session, Evt.SUBMISSION_RECEIVED, event)
            used = await used_uploads(session, sub.form_version, report.answers)
            reply = SubmitReceipt(reference=sub.reference, receipt=receipt, status=sub.status)
            app.keep_reply(session, reply)  # a retry after a crash gets it: one report only
            return reply, used

        async def file() -> tuple[SubmitReceipt, list[str]]:
            # reports arriving together commit together (one INSERT per table, one COMMIT)
            return await app.in_group(stage)

        reply, used = await service.with_fresh_reference(file)
        await discard(used)
        return reply

    async def check(report: SubmitReport) -> AnswersChecked:
        async with app.db.transaction() as session:
            await service.check(session, store, report, settings.organisations)
        return AnswersChecked()

    async def submit_on_behalf(report: OnBehalfReport) -> ClaimTicket:
        async def file() -> tuple[ClaimTicket, list[str]]:
            async with app.transaction() as session:
                sub, code, event = await service.submit_on_behalf(
                    session, store, report, settings.organisations, policy,
                    timedelta(days=settings.claim_within_days), vault)
                app.emit(session, Evt.SUBMISSION_RECEIVED, event)
                used = await used_uploads(session, sub.form_version, report.answers)
                ticket = ClaimTicket(reference=sub.reference, claim_code=code,
                                     claim_by=sub.claim_by, status=sub.status)
                app.keep_reply(session, ticket)
            return ticket, used

        ticket, used = await service.with_fresh_reference(file)
        await discard(used)
        return ticket

    async def reissue_claim(command: ReissueClaim) -> ClaimTicket:
        async with app.transaction() as session:
            sub, code = await service.reissue_claim(
                session, command, policy, timedelta(days=settings.claim_within_days))
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
            view = await service.status_of(session, sub) if sub else None
        if view is None:
            raise NotFound(service.WRONG_RECEIPT)
        return view

    async def follow_up(query: FollowUp) -> FollowUpSent:
        async with app.transaction() as session:
            event = await service.follow_up(session, query, policy, vault)
            if event is not None:
                app.emit(session, Evt.REPORTER_FOLLOW_UP, event)
        if event is None:
            raise NotFound(service.WRONG_RECEIPT)
        await discard(query.files)
        return FollowUpSent(follow_up_id=event.follow_up_id, kind=event.kind,
                            sent_on=event.sent_on, attachments=len(event.attachment_ids))

    async def survey(answers: SurveyAnswers) -> SurveyThanks:
        async with app.transaction() as session:
            event = await service.survey(session, answers, policy)
            if event is not None:
                app.emit(session, Evt.SURVEY_ANSWERED, event)
        if event is None:
            raise NotFound(service.WRONG_RECEIPT)
        return SurveyThanks()

    async def form(query: FormQuery) -> FormDefinition:
        async with app.db.transaction() as session:
            version, spec = await store.approved(session, query.version)
        return forms.render(spec, version, query.language, settings.organisations)

    async def form_versions(query: FormVersionsQuery) -> FormVersionList:
        async with app.db.transaction() as session:
            return FormVersionList(items=await store.listing(session, query.actor))

    async def form_version(query: FormVersionQuery) -> FormVersion:
        async with app.db.transaction() as session:
            return await store.one(session, query.version, query.actor)

    async def form_draft(command: DraftForm) -> FormVersion:
        try:
            async with app.db.transaction() as session:
                return await store.draft(session, command.actor, command.spec, command.note,
                                         command.version)
        except IntegrityError:
            raise Conflict("Another draft was saved at the same moment; try again.") from None

    async def form_approve(command: ApproveForm) -> FormVersion:
        async with app.db.transaction() as session:
            return await store.approve(session, command.actor, command.version,
                                       command.consultation_ref)

    async def remedies(query: RemedyQuery) -> RemedyRoutes:
        async with app.db.transaction() as session:
            in_force = await service.remedy_routes(session)
        found = remedy_routes.matching(query.destination, query.origin, query.issues, in_force)
        return RemedyRoutes(destination=query.destination, origin=query.origin,
                            routes=[remedy_routes.localized(r, query.language) for r in found])

    async def remedy(query: RemedyRouteQuery) -> RemedyRoute:
        async with app.db.transaction() as session:
            in_force = await service.remedy_routes(session)
        found = next((r for r in in_force if r.id == query.route_id), None)
        if found is None:
            raise NotFound(f"There is no remedy route {query.route_id}.")
        return RemedyRoute(**found.model_dump())

    async def remedy_edit(command: EditRemedy) -> RemedyEdited:
        async with app.db.transaction() as session:
            return await service.edit_remedy(session, command)

    async def on_case_opened(session: AsyncSession, _: UUID, event: CaseOpened) -> None:
        await service.case_opened(session, event.submission_id, event.case_id)

    async def on_status(session: AsyncSession, _: UUID, event: CaseStatusChanged) -> None:
        await service.case_status_changed(session, event.submission_id, event.to_status)

    async def on_case_shredded(session: AsyncSession, _: UUID, event: CaseShredded) -> None:
        await service.case_shredded(session, event.submission_id, event.shredded_on)

    app.rpc(Rpc.INTAKE_SUBMIT, SubmitReport, submit, reply_in_transaction=True)
    app.rpc(Rpc.INTAKE_CHECK, SubmitReport, check)
    app.rpc(Rpc.INTAKE_STATUS, StatusQuery, status)
    app.rpc(Rpc.INTAKE_SUBMIT_ON_BEHALF, OnBehalfReport, submit_on_behalf,
            reply_in_transaction=True)
    app.rpc(Rpc.INTAKE_CLAIM, ClaimReceipt, claim)
    app.rpc(Rpc.INTAKE_REISSUE_CLAIM, ReissueClaim, reissue_claim)
    app.rpc(Rpc.INTAKE_FOLLOW_UP, FollowUp, follow_up)
    app.rpc(Rpc.INTAKE_SURVEY, SurveyAnswers, survey)
    app.rpc(Rpc.INTAKE_FORM, FormQuery, form)
    app.rpc(Rpc.INTAKE_FORM_VERSIONS, FormVersionsQuery, form_versions)
    app.rpc(Rpc.INTAKE_FORM_VERSION, FormVersionQuery, form_version)
    app.rpc(Rpc.INTAKE_FORM_DRAFT, DraftForm, form_draft)
    app.rpc(Rpc.INTAKE_FORM_APPROVE, ApproveForm, form_approve)
    app.on_start(lambda: store.ensure_default(app.db))
    app.on_start(lambda: content.seal_legacy(app.db, vault.sealer))
    app.rpc(Rpc.INTAKE_REMEDIES, RemedyQuery, remedies)
    app.rpc(Rpc.INTAKE_REMEDY, RemedyRouteQuery, remedy)
    app.rpc(Rpc.INTAKE_REMEDY_EDIT, EditRemedy, remedy_edit)
    app.on_event(Evt.CASE_OPENED, CaseOpened, "intake-case-opened", on_case_opened,
                 parallel=PARALLEL, batch=True)
    app.on_event(Evt.CASE_STATUS_CHANGED, CaseStatusChanged, "intake-case-status", on_status)
    app.on_event(Evt.CASE_SHREDDED, CaseShredded, "intake-case-shredded", on_case_shredded)
    return app
