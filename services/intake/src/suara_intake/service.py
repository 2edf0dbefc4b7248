"""Intake's rules: accept an anonymous report, issue its receipt, answer the reporter."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeVar
from uuid import UUID

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_contracts.events import ReporterFollowUp, SubmissionReceived, SurveyAnswered
from suara_contracts.rpc import (
    SURVEY_QUESTIONS,
    Answer,
    Channel,
    ClaimReceipt,
    EditRemedy,
    FollowUp,
    FormSpec,
    OnBehalfReport,
    ReissueClaim,
    RemedyEdited,
    ReportStatus,
    StatusQuery,
    SubmitReport,
    SurveyAnswers,
)
from suara_intake import content, forms, receipts, repository
from suara_intake import routes as remedy_data
from suara_intake.attachments import Vault, seal_files, seal_tokens
from suara_intake.formstore import COMMITTEE, FormStore
from suara_intake.models import RemedyEditRow, Submission
from suara_kit.clock import today, utcnow
from suara_kit.errors import Conflict, Forbidden, NotFound, TooManyAttempts, ValidationFailed
from suara_kit.ids import uuid7

T = TypeVar("T")

WRONG_RECEIPT = "That reference and receipt do not match. Check both and try again."
WRONG_CLAIM = ("That reference and claim code do not match, or the code was already used. "
               "Check both, or ask the organisation that filed your report for a new code.")
CLAIM_EXPIRED = ("This claim code has expired. Ask the organisation that filed your report "
                 "for a new one.")
FILER_ROLES = {"assisted": "case-handler", "partner": "cso-partner"}


@dataclass(frozen=True)
class ReceiptPolicy:
    key: bytes
    max_failures: int
    lockout: timedelta


@dataclass(frozen=True)
class Filed:
    """Answers checked against the form version they were given on."""

    version: int
    spec: FormSpec
    answers: dict[str, Answer]


async def check(session: AsyncSession, store: FormStore, report: SubmitReport,
                organisations: list[str]) -> Filed:
    """The answers as they will be stored, or a 422 naming every problem, organisation too."""
    errors = [] if report.organisation in organisations else [
        {"field": "organisation", "code": "not-an-organisation",
         "message": "this organisation does not take reports here"}]
    version, spec = await store.approved(session, report.form_version)
    try:
        answers = forms.validate(spec, report.answers)
    except ValidationFailed as exc:
        errors += exc.extra.get("errors", [])
    if errors:
        raise ValidationFailed(f"{errors[0]['field']}: {errors[0]['message']}", errors=errors)
    return Filed(version, spec, answers)


async def submit(session: AsyncSession, store: FormStore, report: SubmitReport,
                 organisations: list[str], policy: ReceiptPolicy, vault: Vault | None = None
                 ) -> tuple[Submission, str, SubmissionReceived]:
    """Store a report and the files it names; return it, its receipt (shown once) and the
    event to publish. The caller discards the used uploads once the transaction commits."""
    filed = await check(session, store, report, organisations)
    receipt = receipts.new_receipt()
    sub, event = await _store(session, report.organisation, report.language, filed, "web",
                              vault)
    sub.receipt_hash = receipts.receipt_hash(policy.key, sub.receipt_salt, receipt)
    return sub, receipt, event


async def submit_on_behalf(session: AsyncSession, store: FormStore, report: OnBehalfReport,
                           organisations: list[str], policy: ReceiptPolicy,
                           claim_within: timedelta, vault: Vault | None = None
                           ) -> tuple[Submission, str, SubmissionReceived]:
    """Store a report filed by staff or a partner; return it, its one-time claim code and the
    event. The filer never learns a receipt: the worker claims one with the code."""
    organisation = _filer_organisation(report)
    if organisation not in organisations:
        raise Forbidden(f"Your organisation '{organisation}' does not take reports here.")
    version, spec = await store.approved(session, report.form_version)
    filed = Filed(version, spec, forms.validate(spec, report.answers))
    code = receipts.new_claim_code()
    sub, event = await _store(session, organisation, report.language, filed, report.channel,
                              vault)
    sub.claim_hash = receipts.claim_hash(policy.key, sub.receipt_salt, code)
    sub.claim_by = today() + claim_within
    sub.filed_by = report.actor.subject
    return sub, code, event


def _filer_organisation(report: OnBehalfReport) -> str:
    role = FILER_ROLES[report.channel]
    if role not in report.actor.roles:
        raise Forbidden(f"Filing a report through the {report.channel} channel needs the "
                        f"'{role}' role.")
    if not report.actor.organisation:
        raise Forbidden("Your account belongs to no organisation; ask an administrator.")
    return report.actor.organisation


async def _store(session: AsyncSession, organisation: str, language: str, filed: Filed,
                 channel: Channel, vault: Vault | None) -> tuple[Submission, SubmissionReceived]:
    answers, submission_id = filed.answers, uuid7()
    key = await content.new_key(session, submission_id)  # committed with the submission
    if forms.file_tokens(filed.spec, answers):
        if vault is None:
            raise ValidationFailed("Files cannot be attached here.")
        answers = await seal_files(session, vault, key, filed.spec, answers)
    # no lookup first (a round trip per report, 15 % of intake's CPU under load): a reference
    # already taken (one in a trillion) fails the commit, and `with_fresh_reference` runs the
    # whole transaction again with a new one. Nothing is flushed here: the rows go out at
    # commit, with those of the reports filed at the same moment (`ServiceApp.in_group`)
    reference = receipts.new_reference()
    reasons = forms.risk_reasons(filed.spec, answers)
    sub = Submission(
        id=submission_id, reference=reference, organisation=organisation,
        form_version=str(filed.version), language=language,
        risk="high" if reasons else "normal", risk_reasons=reasons, received_on=today(),
        status_changed_on=today(), receipt_salt=receipts.new_salt(), channel=channel)
    await content.set_answers(session, sub, answers, key)
    event = SubmissionReceived(
        submission_id=sub.id, reference=reference, organisation=sub.organisation,
        form_version=sub.form_version, language=sub.language, risk=sub.risk,  # type: ignore[arg-type]
        risk_reasons=reasons, received_on=sub.received_on, answers=answers, channel=channel,
        identifying=forms.identifying(filed.spec, answers))
    return sub, event


REFERENCE_ATTEMPTS = 3


def reference_taken(error: IntegrityError) -> bool:
    """Whether a flush failed because a new report drew a reference already in use (the
    unique constraint on `submission.reference`, on PostgreSQL and SQLite alike)."""
    return "reference" in str(error.orig)


async def with_fresh_reference(file: Callable[[], Awaitable[T]]) -> T:
    """Run `file` (a whole transaction that stores a report) again, up to three times, when
    the reference it drew was taken; any other failure is the caller's."""
    for attempt in range(1, REFERENCE_ATTEMPTS + 1):
        try:
            return await file()
        except IntegrityError as error:
            if attempt == REFERENCE_ATTEMPTS or not reference_taken(error):
                raise
    raise AssertionError("unreachable")


async def _unlocked(session: AsyncSession, reference: str) -> Submission:
    """The submission for a reference, unless it is locked out after too many wrong secrets.

    Limits are per reference, never per address: workers share one dormitory network.
    """
    sub = await repository.by_reference(session, receipts.normalise_reference(reference))
    if sub is None:
        raise NotFound(WRONG_RECEIPT)
    now = utcnow()
    if sub.locked_until and sub.locked_until > now:
        minutes = max(1, math.ceil((sub.locked_until - now).total_seconds() / 60))
        raise TooManyAttempts(f"Too many wrong attempts for this reference. Wait {minutes} "
                              "minutes, then try again.", retry_after=minutes * 60)
    return sub


def _count_failure(sub: Submission, policy: ReceiptPolicy) -> None:
    sub.failed_attempts += 1
    if sub.failed_attempts >= policy.max_failures:
        sub.failed_attempts, sub.locked_until = 0, utcnow() + policy.lockout


async def check_receipt(session: AsyncSession, query: StatusQuery,
                        policy: ReceiptPolicy) -> Submission | None:
    """The submission if reference and receipt match; counts failures per reference.

    Returns None on a wrong receipt so the caller commits the failure count before refusing.
    """
    sub = await _unlocked(session, query.reference)
    if sub.receipt_hash and receipts.receipt_matches(policy.key, sub.receipt_salt,
                                                     query.receipt, sub.receipt_hash):
        sub.failed_attempts, sub.locked_until = 0, None
        return sub
    _count_failure(sub, policy)
    return None


async def claim(session: AsyncSession, query: ClaimReceipt, policy: ReceiptPolicy
                ) -> tuple[Submission, str] | None:
    """Turn a valid, unused, unexpired claim code into a fresh receipt (the code dies).

    Returns None on a wrong code so the caller commits the failure count before refusing.
    """
    sub = await _unlocked(session, query.reference)
    if not sub.claim_hash or not receipts.claim_matches(policy.key, sub.receipt_salt,
                                                        query.claim_code, sub.claim_hash):
        _count_failure(sub, policy)
        return None
    if sub.claim_by is None or sub.claim_by < today():
        raise Conflict(CLAIM_EXPIRED)
    receipt = receipts.new_receipt()
    sub.receipt_hash = receipts.receipt_hash(policy.key, sub.receipt_salt, receipt)
    sub.claim_hash, sub.claim_by, sub.failed_attempts, sub.locked_until = None, None, 0, None
    return sub, receipt


async def follow_up(session: AsyncSession, query: FollowUp, policy: ReceiptPolicy,
                    vault: Vault | None) -> ReporterFollowUp | None:
    """The reporter's reply or added information, as the event for their case; None on a
    wrong receipt (the caller commits the failure count, then refuses)."""
    sub = await check_receipt(session, StatusQuery(reference=query.reference,
                                                   receipt=query.receipt), policy)
    if sub is None:
        return None
    if sub.shredded_on is not None:  # its case, messages and answers are gone everywhere
        raise content.deleted(sub.shredded_on)
    attachment_ids: list[UUID] = []
    if query.files and query.kind != "check-in":
        if vault is None:
            raise ValidationFailed("Files cannot be attached here.")
        attachment_ids = await seal_tokens(session, vault, await content.key_for(session, sub),
                                           "files", "follow-up", query.files)
    if query.kind == "check-in":  # the answer to a question of the case handler's service
        return ReporterFollowUp(follow_up_id=uuid7(), submission_id=sub.id, kind="check-in",
                                text=query.answer or "", sent_on=today(),
                                answers_message=query.answers_message, answer=query.answer)
    return ReporterFollowUp(follow_up_id=uuid7(), submission_id=sub.id, kind=query.kind,
                            text=query.text.strip(), attachment_ids=attachment_ids,
                            sent_on=today())


ALREADY_CLAIMED = ("The worker has already claimed their own receipt for this report; only they "
                   "can follow it now. If they lost it, they can file a new report.")


async def reissue_claim(session: AsyncSession, command: ReissueClaim, policy: ReceiptPolicy,
                        claim_within: timedelta) -> tuple[Submission, str]:
    """A fresh claim code for an unclaimed report filed by the actor's organisation; the old
    code stops working."""
    if not {"case-handler", "cso-partner"} & set(command.actor.roles):
        raise Forbidden("Replacing a claim code needs the 'case-handler' or 'cso-partner' role.")
    sub = await repository.by_reference(session, receipts.normalise_reference(command.reference))
    if sub is None or sub.channel == "web" or sub.organisation != command.actor.organisation:
        raise NotFound("No report with this reference was filed by your organisation.")
    # who met the worker, not anyone who can read a reference in the triage list
    if sub.filed_by != command.actor.subject:
        raise Forbidden("Only the person or system that filed this report can replace its "
                        "claim code.")
    if sub.receipt_hash is not None:
        raise Conflict(ALREADY_CLAIMED)
    code = receipts.new_claim_code()
    sub.claim_hash = receipts.claim_hash(policy.key, sub.receipt_salt, code)
    sub.claim_by, sub.failed_attempts, sub.locked_until = today() + claim_within, 0, None
    return sub, code


async def status_of(session: AsyncSession, sub: Submission) -> ReportStatus:
    """What the reporter sees; once retention deleted the answers, only status and dates,
    and the day they were deleted."""
    answers = {} if sub.shredded_on else await content.answers_of(session, sub)
    country, categories = answers.get("country"), answers.get("categories", [])
    origin = answers.get("origin")
    return ReportStatus(reference=sub.reference, submission_id=sub.id, status=sub.status,
                        received_on=sub.received_on,
                        country=country if isinstance(country, str) else None,
                        origin=origin if isinstance(origin, str) and len(origin) == 2 else None,
                        categories=categories if isinstance(categories, list) else [],
                        form_version=int(sub.form_version) if sub.form_version.isdigit()
                        else None, answers=answers, surveyed=sub.surveyed,
                        content_deleted_on=sub.shredded_on)


async def case_opened(session: AsyncSession, submission_id: UUID, case_id: UUID) -> None:
    """Remember which case a submission became."""
    sub = await repository.by_id(session, submission_id)
    if sub is not None:
        sub.case_id = case_id


async def case_shredded(session: AsyncSession, submission_id: UUID, on: date) -> bool:
    """Retention ended the submission's case: delete its data key, so its answers and files
    can no longer be read (here, in a backup or anywhere else). Harmless when repeated."""
    return await content.shred(session, submission_id, on)


async def case_status_changed(session: AsyncSession, submission_id: UUID, status: str) -> None:
    """Mirror the case's status for the reporter's status page."""
    sub = await repository.by_id(session, submission_id)
    if sub is not None:
        sub.status, sub.status_changed_on = status, today()


async def remedy_routes(session: AsyncSession) -> list[remedy_data.Route]:
    """Every remedy route in force: the data files with the committee's edits applied."""
    edits = {row.route_id: remedy_data.Route.model_validate(row.route) if row.route else None
             for row in await repository.remedy_edits(session)}
    return remedy_data.effective(edits)


async def edit_remedy(session: AsyncSession, command: EditRemedy) -> RemedyEdited:
    """Correct, add or withdraw a remedy route (worker committee only)."""
    if COMMITTEE not in command.actor.roles:
        raise Forbidden(f"Editing remedy routes needs the '{COMMITTEE}' role.")
    route = None
    if command.route is not None:
        route = remedy_data.checked(command.route_id, command.route)
    elif command.route_id not in {r.id for r in await remedy_routes(session)}:
        raise NotFound(f"There is no remedy route {command.route_id}.")
    row = await session.get(RemedyEditRow, command.route_id)
    if row is None:
        row = RemedyEditRow(route_id=command.route_id, edited_by="", edited_on=today(),
                            reason="")
        session.add(row)
    row.route = route.model_dump(mode="json") if route else None
    row.edited_by, row.edited_on = command.actor.subject, today()
    row.reason = command.reason.strip()
    await session.flush()
    return RemedyEdited(route_id=row.route_id, route=route, edited_by=row.edited_by,
                        edited_on=row.edited_on, reason=row.reason)


DECIDED = {"resolved", "not-upheld", "withdrawn", "closed"}


async def survey(session: AsyncSession, answers: SurveyAnswers, policy: ReceiptPolicy
                 ) -> SurveyAnswered | None:
    """Count a reporter's rating of a decided case, once; the event names only the
    organisation and the quarter. None on a wrong receipt (counted, as for lookups)."""
    sub = await check_receipt(session, StatusQuery(reference=answers.reference,
                                                   receipt=answers.receipt), policy)
    if sub is None:
        return None
    if sub.status not in DECIDED:
        raise Conflict("You can rate the process once a decision is reached on your report.")
    if sub.surveyed:
        raise Conflict("You have rated the process already. Thank you.")
    sub.surveyed = True
    day = today()
    return SurveyAnswered(organisation=sub.organisation,
                          quarter=f"{day.year}-Q{(day.month - 1) // 3 + 1}",
                          scores={q: getattr(answers, q) for q in SURVEY_QUESTIONS})
