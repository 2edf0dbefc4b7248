"""The deadline engine: what each case owes the reporter and when, which deadlines are missed,
and the alerts a periodic scan raises (once per case, kind and due date).

Deadlines are computed from the case and the organisation's policy every time, never stored,
so a stricter policy applies to open cases at once. The scan takes `today` as an argument:
tests move it by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Literal

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_cases.models import Case, DeadlineAlert
from suara_cases.settings import DeadlinePolicy
from suara_cases.states import OPEN_STATES, CaseStatus
from suara_contracts.events import DeadlineBreached

Kind = Literal["acknowledge", "feedback", "update"]
Policies = Callable[[str], DeadlinePolicy]
"""An organisation's deadlines (`CasesSettings.deadlines_for`)."""


def default_policy(_: str) -> DeadlinePolicy:
    """The EU Directive's limits, for callers that configure nothing."""
    return DeadlinePolicy()


REFERRAL_PREFIX = "RF-"


def is_referral_copy(case: Case) -> bool:
    """A receiving organisation's linked case (see `referrals`), not the reporter's own."""
    return case.reference.startswith(REFERRAL_PREFIX)


def due(case: Case, policy: DeadlinePolicy) -> dict[Kind, date]:
    """The deadlines a case still has to meet. A case that came by referral owes the reporter
    nothing directly: the referring organisation keeps their inbox and its deadlines."""
    found: dict[Kind, date] = {}
    if is_referral_copy(case):
        return found
    if case.status == CaseStatus.RECEIVED:
        found["acknowledge"] = case.received_on + timedelta(days=policy.acknowledge_within_days)
    if case.acknowledged_on and case.status in OPEN_STATES:  # not yet decided
        found["feedback"] = case.acknowledged_on + timedelta(days=policy.feedback_within_days)
    if case.status in OPEN_STATES:
        last = case.last_update_on or case.acknowledged_on or case.received_on
        found["update"] = last + timedelta(days=policy.update_every_days)
    return found


def overdue(case: Case, policy: DeadlinePolicy, today: date) -> list[Kind]:
    """The deadlines a case has missed as of `today`."""
    return [kind for kind, day in due(case, policy).items() if day < today]


async def scan(session: AsyncSession, today: date,
               policy: Policies = default_policy) -> list[DeadlineBreached]:
    """Every deadline missed as of `today` that has not been alerted yet; records the alerts
    in the caller's transaction so each is raised once, whichever replica scans."""
    cases = await session.exec(select(Case).where(col(Case.status).in_(list(OPEN_STATES))))
    breaches: list[DeadlineBreached] = []
    for case in cases:
        for kind, day in due(case, policy(case.organisation)).items():
            if day >= today or await session.get(DeadlineAlert, (case.id, kind, day)):
                continue
            session.add(DeadlineAlert(case_id=case.id, kind=kind, due_on=day, alerted_on=today))
            breaches.append(DeadlineBreached(case_id=case.id, organisation=case.organisation,
                                             kind=kind, due_on=day,
                                             assigned_to=case.assigned_to))
    await session.flush()  # a replica scanning at the same moment fails here and emits nothing
    return breaches
