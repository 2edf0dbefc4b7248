"""Intake's rules: accept an anonymous report, issue its receipt, answer the reporter."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from suara_contracts.events import SubmissionReceived
from suara_contracts.rpc import ReportStatus, StatusQuery, SubmitReport
from suara_intake import forms, receipts, repository
from suara_intake.models import Submission
from suara_kit.clock import today, utcnow
from suara_kit.errors import NotFound, TooManyAttempts, ValidationFailed
from suara_kit.ids import uuid7

WRONG_RECEIPT = "That reference and receipt do not match. Check both and try again."


@dataclass(frozen=True)
class ReceiptPolicy:
    key: bytes
    max_failures: int
    lockout: timedelta


async def submit(session: AsyncSession, report: SubmitReport, organisations: list[str],
                 policy: ReceiptPolicy) -> tuple[Submission, str, SubmissionReceived]:
    """Store a report; return it, its receipt (shown once) and the event to publish."""
    if report.organisation not in organisations:
        raise ValidationFailed(f"organisation: '{report.organisation}' does not take reports here",
                               errors=[{"field": "organisation", "message": "unknown"}])
    answers = forms.validate(report.answers)
    reference = receipts.new_reference()
    while await repository.reference_taken(session, reference):
        reference = receipts.new_reference()
    receipt, salt = receipts.new_receipt(), receipts.new_salt()
    reasons = forms.risk_reasons(answers)
    sub = Submission(
        id=uuid7(), reference=reference, organisation=report.organisation,
        form_version=forms.VERSION, language=report.language, answers=answers,
        risk="high" if reasons else "normal", risk_reasons=reasons, received_on=today(),
        status_changed_on=today(), receipt_salt=salt,
        receipt_hash=receipts.receipt_hash(policy.key, salt, receipt),
    )
    session.add(sub)
    await session.flush()
    event = SubmissionReceived(
        submission_id=sub.id, reference=reference, organisation=sub.organisation,
        form_version=sub.form_version, language=sub.language, risk=sub.risk,  # type: ignore[arg-type]
        risk_reasons=reasons, received_on=sub.received_on, answers=answers)
    return sub, receipt, event


async def check_receipt(session: AsyncSession, query: StatusQuery,
                        policy: ReceiptPolicy) -> Submission | None:
    """The submission if reference and receipt match; counts failures per reference.

    Returns None on a wrong receipt so the caller commits the failure count before refusing.
    Limits are per reference, never per address: workers share one dormitory network.
    """
    sub = await repository.by_reference(session, receipts.normalise_reference(query.reference))
    if sub is None:
        raise NotFound(WRONG_RECEIPT)
    now = utcnow()
    if sub.locked_until and sub.locked_until > now:
        minutes = max(1, math.ceil((sub.locked_until - now).total_seconds() / 60))
        raise TooManyAttempts(f"Too many wrong receipts for this reference. Wait {minutes} "
                              "minutes, then try again.", retry_after=minutes * 60)
    if receipts.receipt_matches(policy.key, sub.receipt_salt, query.receipt, sub.receipt_hash):
        sub.failed_attempts, sub.locked_until = 0, None
        return sub
    sub.failed_attempts += 1
    if sub.failed_attempts >= policy.max_failures:
        sub.failed_attempts, sub.locked_until = 0, now + policy.lockout
    return None


def status_of(sub: Submission) -> ReportStatus:
    """What the reporter sees."""
    return ReportStatus(reference=sub.reference, submission_id=sub.id, status=sub.status,
                        received_on=sub.received_on)


async def case_opened(session: AsyncSession, submission_id: UUID, case_id: UUID) -> None:
    """Remember which case a submission became."""
    sub = await repository.by_id(session, submission_id)
    if sub is not None:
        sub.case_id = case_id


async def case_status_changed(session: AsyncSession, submission_id: UUID, status: str) -> None:
    """Mirror the case's status for the reporter's status page."""
    sub = await repository.by_id(session, submission_id)
    if sub is not None:
        sub.status, sub.status_changed_on = status, today()
