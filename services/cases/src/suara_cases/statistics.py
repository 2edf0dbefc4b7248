"""Aggregate statistics for the worker committee and the public transparency page (invariant 7):
counts by issue and by corridor, time to acknowledge and to resolve (median, 90th percentile)
and deadline compliance, over the cases received in whole months.

What is counted
- A case counts under its coded issues, or under the reporter's `categories` answer while it is
  not coded yet (a case with several issues counts once under each); its corridor is the coded
  origin→destination, or the reporter's `origin`→`country` answers. A value missing is
  `unknown`; anything that is not a short code is `other`, so no free text is ever shown.
- A receiving organisation's copy of a referral is left out (the grievance counts once, where
  the reporter filed it).
- Time to acknowledge: `acknowledged_on` - `received_on`, over acknowledged cases.
- Time to resolve: there is no decision date on a case, so this uses `closed_on` - `received_on`
  over cases closed after a decision (resolved or not upheld; withdrawn cases are left out).
  Closing comes on or after the decision, so the figure never flatters an organisation.
- Acknowledged on time: acknowledged within the organisation's `DeadlinePolicy`, over the
  acknowledged cases and those still waiting past their deadline.
- Feedback on time: decided (closed, as above) within the policy's feedback days of
  acknowledgement, over the decided cases and those still open past that deadline.
- Medians of an even number of cases are the mean of the middle two; the 90th percentile is the
  nearest rank (the smallest value that 9 in 10 cases do not exceed).

Whole months only: a period runs from the first day of its first month to the last day of its
last month, and never past the last complete month, so a new report moves no figure on the day
it arrives and no date finer than a month can be read off the figures.

Suppression (k = `MIN_GROUP`)
1. A group (an issue, a corridor, or the totals) with fewer than k cases is hidden: its count and
   every figure are null and it is marked `suppressed`. Any figure measured over fewer than k
   cases (say 3 acknowledged cases in a group of 12) is hidden the same way.
2. Hidden groups could be recovered by subtracting the shown groups from the total. So in each
   dimension, while any group is hidden, the next-smallest shown groups are hidden too until the
   hidden groups together hold at least k - 1 cases more than there are hidden groups. Then the
   remainder (total minus shown groups) is consistent with any hidden group having anywhere
   from 1 to k cases: a single hidden group is never left alone (15 - 7 - 6 = 2 would give it
   away), nor are hidden groups whose remainder pins each of them down (two groups with a
   remainder of 2 are one case each).
3. When hiding every group of a dimension still is not enough (a few cases spread over many
   groups), the totals are hidden too, and every group of both dimensions with them: the sizes
   of the other dimension's groups could otherwise pin the hidden total down.
4. Hidden groups are marked alike, whether too small or hidden to protect another, and are
   listed after the shown ones in alphabetical order, never by size.
Not covered: comparing the figures of two overlapping periods (say January to March, and January
to February) reveals their difference, which may be a small group. Periods are whole months and
never include the current one, which limits this to month-sized differences.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_cases import audit, repository
from suara_cases.deadlines import is_referral_copy
from suara_cases.models import Case
from suara_cases.settings import DeadlinePolicy
from suara_cases.states import OPEN_STATES, CaseStatus
from suara_contracts.rpc import Actor
from suara_contracts.statistics import (
    Compliance,
    Duration,
    GroupFigures,
    Statistics,
    StatisticsQuery,
)
from suara_contracts.subjects import Rpc
from suara_kit.clock import today
from suara_kit.errors import Forbidden, ValidationFailed
from suara_kit.service import ServiceApp

MIN_GROUP = 5
COMMITTEE, HANDLER = "worker-committee", "case-handler"
UNKNOWN, OTHER, ALL = "unknown", "other", "all"
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
Policies = Callable[[str], DeadlinePolicy]


@dataclass(frozen=True)
class Scope:
    """Whose cases, received in which whole months."""

    organisation: str | None
    first: date | None  # the first day of the first month; None: from the start
    last: date  # the last day of the last month

    @property
    def label_from(self) -> str | None:
        return f"{self.first:%Y-%m}" if self.first else None

    @property
    def label_to(self) -> str:
        return f"{self.last:%Y-%m}"


def month_start(text: str, field: str = "period") -> date:
    """'2026-03' → 2026-03-01; a 422 naming `field` for a month no calendar has (0000-01)."""
    year, month = text.split("-")
    try:
        return date(int(year), int(month), 1)
    except ValueError:
        raise ValidationFailed(f"{field}: {text} is not a month of the calendar") from None


def month_end(first: date) -> date:
    """The last day of the month that `first` is in (9999-12 too)."""
    return first.replace(day=calendar.monthrange(first.year, first.month)[1])


def visible_organisation(actor: Actor | None, asked: str | None) -> str | None:
    """Whose figures the caller may see: the public every organisation together, the worker
    committee any organisation, a case handler only their own."""
    if actor is None:
        if asked:
            raise Forbidden("The public figures cover every organisation together.")
        return None
    if COMMITTEE in actor.roles:
        return asked
    if HANDLER in actor.roles and actor.organisation:
        if asked not in (None, actor.organisation):
            raise Forbidden("A case handler sees their own organisation's figures only.")
        return actor.organisation
    raise Forbidden("Statistics are for the worker committee and case handlers; everyone can "
                    "read the public figures.")


def scope_for(query: StatisticsQuery, on: date) -> Scope:
    """The organisation and whole months a query covers, ending with the last complete month
    before `on` at the latest."""
    organisation = visible_organisation(query.actor, query.organisation)
    last = on.replace(day=1) - timedelta(days=1)
    if query.period_to:
        last = min(last, month_end(month_start(query.period_to, "period_to")))
    first = month_start(query.period_from, "period_from") if query.period_from else None
    if first and first > last:
        raise ValidationFailed(f"period_from: figures cover complete months only; the latest "
                               f"is {last:%Y-%m}")
    return Scope(organisation, first, last)


def in_scope(case: Case, scope: Scope) -> bool:
    """Whether a case counts: the reporter's own case, of the organisation, in the months."""
    if is_referral_copy(case):
        return False
    if scope.organisation and case.organisation != scope.organisation:
        return False
    return (scope.first is None or case.received_on >= scope.first) and (
        case.received_on <= scope.last)


def _code(value: Any) -> str:
    if value in (None, "", []):
        return UNKNOWN
    return value if isinstance(value, str) and CODE.match(value) else OTHER


def issues_of(case: Case) -> list[str]:
    """The coded issues, else what the reporter chose; `unknown` when neither says."""
    raw = case.coded_issues or case.reported.get("categories") or []
    found = [_code(i) for i in ([raw] if isinstance(raw, str) else raw)]
    return list(dict.fromkeys(found)) or [UNKNOWN]


def corridor_of(case: Case) -> str:
    """`origin→destination`, coded or as the reporter answered."""
    if case.corridor_origin and case.corridor_destination:
        origin, destination = case.corridor_origin, case.corridor_destination
    else:
        origin, destination = case.reported.get("origin"), case.reported.get("country")
    return f"{_code(origin)}→{_code(destination)}"


@dataclass(frozen=True)
class Measured:
    """What one case contributes to the figures (None: not measured, or not due yet)."""

    acknowledge_days: int | None
    resolve_days: int | None
    acknowledged_on_time: bool | None
    feedback_on_time: bool | None


def decided(case: Case) -> bool:
    """Closed after a decision (resolved or not upheld), not after a withdrawal."""
    return (case.status == CaseStatus.CLOSED and case.decided_by is not None
            and case.closed_on is not None)


def measure(case: Case, policy: DeadlinePolicy, on: date) -> Measured:
    """The case's durations and whether it met its deadlines, as of `on`."""
    acknowledged, received = case.acknowledged_on, case.received_on
    acknowledge_by = received + timedelta(days=policy.acknowledge_within_days)
    acknowledged_on_time: bool | None = None
    if acknowledged:
        acknowledged_on_time = acknowledged <= acknowledge_by
    elif case.status == CaseStatus.RECEIVED and on > acknowledge_by:
        acknowledged_on_time = False  # still waiting, and late already
    closed = case.closed_on if decided(case) else None
    feedback_on_time: bool | None = None
    if acknowledged:
        feedback_by = acknowledged + timedelta(days=policy.feedback_within_days)
        if closed:
            feedback_on_time = closed <= feedback_by
        elif case.status in OPEN_STATES and not case.appeal_against and on > feedback_by:
            feedback_on_time = False  # no decision yet, and late already (an appeal had one)
    return Measured(
        acknowledge_days=(acknowledged - received).days if acknowledged else None,
        resolve_days=(closed - received).days if closed else None,
        acknowledged_on_time=acknowledged_on_time, feedback_on_time=feedback_on_time)


def median(values: list[int]) -> float:
    ordered, middle = sorted(values), len(values) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2


def p90(values: list[int]) -> float:
    """Nearest rank: the smallest value that at least 90% of the values do not exceed."""
    return float(sorted(values)[math.ceil(0.9 * len(values)) - 1])


def duration(values: list[int], k: int) -> Duration:
    if len(values) < k:
        return Duration(based_on=None, suppressed=True)
    return Duration(based_on=len(values), median_days=median(values), p90_days=p90(values))


def compliance(flags: list[bool], k: int) -> Compliance:
    if len(flags) < k:
        return Compliance(based_on=None, suppressed=True)
    return Compliance(based_on=len(flags), percent=round(100 * sum(flags) / len(flags)))


def figures(key: str, measured: list[Measured], k: int) -> GroupFigures:
    """One row of figures, each hidden when based on fewer than k cases."""
    return GroupFigures(
        key=key, cases=len(measured),
        time_to_acknowledge=duration([m.acknowledge_days for m in measured
                                      if m.acknowledge_days is not None], k),
        time_to_resolve=duration([m.resolve_days for m in measured
                                  if m.resolve_days is not None], k),
        acknowledged_on_time=compliance([m.acknowledged_on_time for m in measured
                                         if m.acknowledged_on_time is not None], k),
        feedback_on_time=compliance([m.feedback_on_time for m in measured
                                     if m.feedback_on_time is not None], k))


def hidden(key: str) -> GroupFigures:
    """A suppressed row: the key only."""
    return GroupFigures(key=key, cases=None, suppressed=True,
                        time_to_acknowledge=Duration(based_on=None, suppressed=True),
                        time_to_resolve=Duration(based_on=None, suppressed=True),
                        acknowledged_on_time=Compliance(based_on=None, suppressed=True),
                        feedback_on_time=Compliance(based_on=None, suppressed=True))


def _slack(sizes: dict[str, int], hide: set[str]) -> int:
    return sum(sizes[g] - 1 for g in hide)


def to_hide(sizes: dict[str, int], k: int) -> tuple[set[str], bool]:
    """The groups of one dimension to hide (rules 1 and 2), and whether the total may still be
    shown beside them (rule 3)."""
    hide = {g for g, n in sizes.items() if n < k}
    shown = sorted((n, g) for g, n in sizes.items() if g not in hide)
    while hide and _slack(sizes, hide) < k - 1 and shown:
        hide.add(shown.pop(0)[1])
    return hide, not hide or _slack(sizes, hide) >= k - 1


def dimension(groups: dict[str, list[Measured]], k: int) -> tuple[list[GroupFigures], bool]:
    """A dimension's rows, shown ones largest first, hidden ones after in key order; and
    whether the total may be shown."""
    hide, total_safe = to_hide({g: len(m) for g, m in groups.items()}, k)
    shown = sorted((g for g in groups if g not in hide), key=lambda g: (-len(groups[g]), g))
    return ([figures(g, groups[g], k) for g in shown] + [hidden(g) for g in sorted(hide)],
            total_safe)


def compute(cases: Iterable[Case], scope: Scope, policy: Policies, on: date,
            k: int = MIN_GROUP) -> Statistics:
    """The figures for the cases in scope, suppressed as the module docstring says."""
    measured: list[Measured] = []
    by_issue: dict[str, list[Measured]] = {}
    by_corridor: dict[str, list[Measured]] = {}
    for case in cases:
        if not in_scope(case, scope):
            continue
        m = measure(case, policy(case.organisation), on)
        measured.append(m)
        for issue in issues_of(case):
            by_issue.setdefault(issue, []).append(m)
        by_corridor.setdefault(corridor_of(case), []).append(m)
    issue_rows, issues_safe = dimension(by_issue, k)
    corridor_rows, corridors_safe = dimension(by_corridor, k)
    totals = figures(ALL, measured, k)
    if len(measured) < k or not (issues_safe and corridors_safe):  # rules 1 and 3
        totals = hidden(ALL)
        issue_rows = [hidden(g) for g in sorted(by_issue)]
        corridor_rows = [hidden(g) for g in sorted(by_corridor)]
    return Statistics(min_group=k, organisation=scope.organisation,
                      period_from=scope.label_from, period_to=scope.label_to, totals=totals,
                      by_issue=issue_rows, by_corridor=corridor_rows)


async def report(session: AsyncSession, query: StatisticsQuery, policy: Policies,
                 on: date) -> Statistics:
    """The figures a query may see; a staff member's look is audited (the public's is not:
    it reads no case)."""
    scope = scope_for(query, on)
    cases = await repository.received_between(session, scope.organisation, scope.first,
                                               scope.last)
    if query.actor is not None:
        await audit.record(session, query.actor.subject, "statistics", None)
    return compute(cases, scope, policy, on)


Handler = Callable[[Any], Awaitable[BaseModel]]


def endpoints(app: ServiceApp, policy: Policies) -> list[tuple[str, type[BaseModel], Handler]]:
    """The statistics subject with its handler."""

    async def statistics(query: StatisticsQuery) -> Statistics:
        async with app.transaction() as session:
            return await report(session, query, policy, today())

    return [(Rpc.CASES_STATISTICS, StatisticsQuery, statistics)]
