"""Statistics: medians and 90th percentiles on known data, deadline compliance against each
organisation's policy, suppression of small groups (and of the groups that would give them away
by subtraction), whole-month periods and who may see which organisation."""

from __future__ import annotations

import random
import re
from collections.abc import AsyncIterator, Callable
from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import select

from suara_cases import content, statistics
from suara_cases.handlers import MIGRATIONS
from suara_cases.models import AuditEntry, Case
from suara_cases.settings import CasesSettings, DeadlinePolicy
from suara_cases.statistics import Scope, compute, scope_for, to_hide
from suara_contracts.rpc import Actor
from suara_contracts.statistics import GroupFigures, Statistics, StatisticsQuery
from suara_kit.db import Database
from suara_kit.errors import Forbidden, ValidationFailed
from suara_kit.ids import uuid7
from suara_kit.testing import migrated

ON = date(2026, 11, 24)  # "today": October 2026 is the last complete month
OCTOBER = Scope(None, date(2026, 10, 1), date(2026, 10, 31))
COMMITTEE = Actor(subject="c-1", roles=["worker-committee"])
HANDLER = Actor(subject="h-1", roles=["case-handler"], organisation="tenaganita")
NOBODY = Actor(subject="n-1", roles=[], organisation="tenaganita")


def default(_: str) -> DeadlinePolicy:
    return DeadlinePolicy()


def case(received: date = date(2026, 10, 5), *, organisation: str = "tenaganita",
         categories: Any = ("unpaid-wages",), origin: str | None = "ID",
         country: str | None = "MY", acknowledged: int | None = None,
         closed: int | None = None, status: str | None = None, **fields: Any) -> Case:
    """A case received on `received`, acknowledged and closed (after a decision) that many days
    later."""
    answers: dict[str, Any] = {"what_happened": "x"}
    if categories is not None:
        answers["categories"] = list(categories) if isinstance(categories, tuple) else categories
    answers |= {k: v for k, v in (("origin", origin), ("country", country)) if v}
    found = status or ("closed" if closed is not None else
                       "acknowledged" if acknowledged is not None else "received")
    values: dict[str, Any] = {
        "id": uuid7(), "submission_id": uuid7(), "reference": "SU-AAAA-BBBB",
        "organisation": organisation, "status": found, "risk": "normal", "risk_reasons": [],
        "language": "en", "reported": answers, "received_on": received,
        "acknowledge_by": received + timedelta(days=7),
        "acknowledged_on": None if acknowledged is None else received + timedelta(acknowledged),
        "closed_on": None if closed is None else received + timedelta(closed),
        "decided_by": None if closed is None else "h-1"}
    return Case(**(values | fields))


def figures_of(result: Statistics, dimension: str, key: str) -> GroupFigures:
    rows = result.by_issue if dimension == "issue" else result.by_corridor
    return next(row for row in rows if row.key == key)


# medians and percentiles
@pytest.mark.parametrize(("values", "median", "p90"), [
    (list(range(1, 11)), 5.5, 9.0),
    ([2, 4, 4, 5, 7, 9, 30], 5.0, 30.0),
    ([3, 3, 3, 3, 3], 3.0, 3.0),
    ([10, 1, 7, 2, 8, 3], 5.0, 10.0),
])
def test_median_and_90th_percentile(values: list[int], median: float, p90: float) -> None:
    assert statistics.median(values) == median
    assert statistics.p90(values) == p90


def test_days_to_acknowledge_and_to_resolve_on_known_data() -> None:
    cases = [case(acknowledged=d, closed=r) for d, r in
             [(1, 20), (2, 30), (2, 40), (3, 50), (4, 60), (6, 70), (9, 80), (12, 100)]]
    cases += [case(acknowledged=5), case(acknowledged=5)]  # acknowledged, not decided yet
    result = compute(cases, OCTOBER, default, ON)
    totals = result.totals
    assert (totals.cases, totals.suppressed) == (10, False)
    ack = totals.time_to_acknowledge
    assert (ack.based_on, ack.median_days, ack.p90_days) == (10, 4.5, 9.0)
    resolve = totals.time_to_resolve
    assert (resolve.based_on, resolve.median_days, resolve.p90_days) == (8, 55.0, 100.0)
    assert (totals.acknowledged_on_time.based_on, totals.acknowledged_on_time.percent) == (10, 80)


# deadline compliance
def test_acknowledgement_is_judged_by_each_organisations_policy() -> None:
    strict = {"tenaganita": DeadlinePolicy(acknowledge_within_days=3)}

    def policy(organisation: str) -> DeadlinePolicy:
        return strict.get(organisation, DeadlinePolicy())

    cases = [case(organisation=o, acknowledged=5) for o in ("tenaganita",) * 5 + ("apmm",) * 5]
    result = compute(cases, OCTOBER, policy, ON)
    assert result.totals.acknowledged_on_time.percent == 50
    alone = compute(cases, Scope("tenaganita", OCTOBER.first, OCTOBER.last), policy, ON)
    assert alone.totals.acknowledged_on_time.percent == 0


def test_waiting_cases_count_as_late_only_once_their_deadline_passed() -> None:
    late = [case(date(2026, 10, 1)) for _ in range(3)]  # due 8 October, still not acknowledged
    not_yet = [case(date(2026, 10, 31)) for _ in range(2)]  # due 7 November
    on_time = [case(date(2026, 10, 1), acknowledged=2) for _ in range(3)]
    result = compute(late + not_yet + on_time, OCTOBER, default, date(2026, 11, 3))
    assert (result.totals.acknowledged_on_time.based_on,
            result.totals.acknowledged_on_time.percent) == (6, 50)


def test_feedback_within_three_months_of_acknowledgement() -> None:
    received = date(2026, 6, 1)
    in_time = [case(received, acknowledged=2, closed=80) for _ in range(3)]  # 78 days after
    too_late = [case(received, acknowledged=2, closed=120)]
    open_and_late = [case(received, acknowledged=2, status="in-assessment")]
    withdrawn = [case(received, acknowledged=2, status="closed", closed_on=received)]
    appealed = [case(received, acknowledged=2, status="in-assessment", appeal_against="h-1")]
    scope = Scope(None, date(2026, 6, 1), date(2026, 6, 30))
    result = compute(in_time + too_late + open_and_late + withdrawn + appealed, scope, default,
                     ON)
    assert (result.totals.feedback_on_time.based_on, result.totals.feedback_on_time.percent) == (
        5, 60)
    assert result.totals.time_to_resolve.suppressed  # only 4 decided cases


# suppression
def test_a_group_under_five_and_a_figure_under_five_are_null_and_marked() -> None:
    cases = [case(categories=["abuse"], acknowledged=1) for _ in range(6)]
    cases += [case(categories=["abuse"]) for _ in range(6)]
    cases += [case(categories=["unsafe"], origin="KH") for _ in range(4)]
    cases += [case(categories=["no-rest-day"], origin="PH", acknowledged=3) for _ in range(7)]
    result = compute(cases, OCTOBER, default, date(2026, 10, 6))
    unsafe = figures_of(result, "issue", "unsafe")
    assert (unsafe.cases, unsafe.suppressed) == (None, True)
    assert unsafe.time_to_acknowledge.suppressed
    assert unsafe.time_to_acknowledge.based_on is None
    assert unsafe.acknowledged_on_time.percent is None
    abuse = figures_of(result, "issue", "abuse")
    assert (abuse.cases, abuse.suppressed) == (12, False)
    assert abuse.time_to_acknowledge.median_days == 1.0
    assert abuse.time_to_resolve.suppressed  # nothing decided: based on 0 cases
    assert abuse.acknowledged_on_time.percent == 100  # the 6 waiting ones are not due yet


def test_totals_under_five_are_suppressed_and_so_is_everything_else() -> None:
    result = compute([case(acknowledged=1) for _ in range(4)], OCTOBER, default, ON)
    assert (result.totals.cases, result.totals.suppressed) == (None, True)
    assert all(row.suppressed for row in result.by_issue + result.by_corridor)
    assert compute([], OCTOBER, default, ON).totals.suppressed


@pytest.mark.parametrize(("sizes", "hidden"), [
    ({"a": 20, "b": 9, "c": 3}, {"b", "c"}),  # c alone could be subtracted: b goes too
    ({"a": 20, "b": 1, "c": 1, "d": 8}, {"b", "c", "d"}),  # a remainder of 2 gives two ones
    ({"a": 20, "b": 4, "c": 4}, {"b", "c"}),  # 8 in two hidden groups: each could be 1 to 7
    ({"a": 20, "b": 6}, set()),
    ({"a": 5, "b": 5, "c": 2}, {"a", "c"}),  # ties: the key decides, not the order given
])
def test_subtracting_shown_groups_from_the_total_never_recovers_a_hidden_one(
        sizes: dict[str, int], hidden: set[str]) -> None:
    found, total_safe = to_hide(sizes, 5)
    assert found == hidden
    assert total_safe


def test_the_hidden_remainder_always_leaves_each_hidden_group_between_1_and_k() -> None:
    chance = random.Random(4)
    for _ in range(2000):
        sizes = {f"g{i}": chance.choice([1, 1, 2, 3, 4, 5, 6, 9, 30])
                 for i in range(chance.randint(1, 7))}
        hide, total_safe = to_hide(sizes, 5)
        assert {g for g, n in sizes.items() if n < 5} <= hide
        if hide and total_safe:
            remainder = sum(sizes[g] for g in hide)  # what subtraction gives away
            assert len(hide) >= 2
            assert remainder - (len(hide) - 1) >= 5  # any one of them could be 1, ..., 5
        if not total_safe:
            assert hide == set(sizes)


def test_shown_groups_come_largest_first_and_hidden_ones_in_key_order() -> None:
    cases = [case(origin="ID") for _ in range(20)] + [case(origin="PH") for _ in range(9)]
    cases += [case(origin="VN") for _ in range(3)] + [case(origin="KH") for _ in range(1)]
    cases += [case(origin="MM") for _ in range(7)]
    result = compute(cases, OCTOBER, default, ON)
    assert [(row.key, row.cases) for row in result.by_corridor] == [
        ("ID→MY", 20), ("PH→MY", 9), ("KH→MY", None), ("MM→MY", None), ("VN→MY", None)]
    assert result.totals.cases == 40
    shown = sum(row.cases or 0 for row in result.by_corridor)
    assert result.totals.cases - shown == 11  # KH, MM and VN: none of them can be told apart


def test_when_hiding_every_group_is_not_enough_the_totals_go_too() -> None:
    cases = [case(origin="ID") for _ in range(2)] + [case(origin="PH") for _ in range(2)]
    cases += [case(origin="KH")]
    result = compute(cases, OCTOBER, default, ON)  # 5 reports, all about unpaid wages
    assert result.totals.suppressed
    assert [row.suppressed for row in result.by_corridor] == [True, True, True]
    assert figures_of(result, "issue", "unpaid-wages").suppressed  # it would say "5 in total"


# what is counted
def test_coded_values_win_over_the_reporters_answers() -> None:
    coded = [case(categories=["other"], origin=None, coded_issues=["recruitment-fees", "abuse"],
                  corridor_origin="KH", corridor_destination="TH") for _ in range(5)]
    answered = [case(categories="no-rest-day", origin=None, country="SG") for _ in range(5)]
    odd = [case(categories=["Maju Jaya paid nothing"], origin="", country=None)
           for _ in range(5)]
    result = compute(coded + answered + odd, OCTOBER, default, ON)
    assert {row.key: row.cases for row in result.by_issue} == {
        "recruitment-fees": 5, "abuse": 5, "no-rest-day": 5, "other": 5}
    assert {row.key: row.cases for row in result.by_corridor} == {
        "KH→TH": 5, "unknown→SG": 5, "unknown→unknown": 5}


def test_a_referral_copy_is_not_counted_twice() -> None:
    cases = [case() for _ in range(5)] + [case(reference="RF-AAAA-BBBB") for _ in range(3)]
    assert compute(cases, OCTOBER, default, ON).totals.cases == 5


def test_no_case_reference_respondent_or_day_appears() -> None:
    cases = [case(acknowledged=2, closed=30, respondent="Maju Jaya Sdn Bhd",
                  reference="SU-K7M2-9QXD", coded_issues=["unpaid-wages"],
                  corridor_origin="ID", corridor_destination="MY") for _ in range(6)]
    text = compute(cases, OCTOBER, default, ON).model_dump_json()
    assert not re.search(r"\d{4}-\d{2}-\d{2}", text)
    for secret in ("Maju", "SU-K7M2", *(str(c.id) for c in cases)):
        assert secret not in text


# periods and filters
def test_periods_are_whole_months_and_never_the_current_one() -> None:
    everything = scope_for(StatisticsQuery(), ON)
    assert (everything.first, everything.last) == (None, date(2026, 10, 31))
    capped = scope_for(StatisticsQuery(period_from="2026-02", period_to="2027-01"), ON)
    assert (capped.first, capped.last) == (date(2026, 2, 1), date(2026, 10, 31))
    assert (capped.label_from, capped.label_to) == ("2026-02", "2026-10")
    leap = scope_for(StatisticsQuery(period_from="2028-02", period_to="2028-02"),
                     date(2028, 3, 1))
    assert leap.last == date(2028, 2, 29)
    with pytest.raises(ValidationFailed, match="the latest is 2026-10"):
        scope_for(StatisticsQuery(period_from="2026-11"), ON)
    with pytest.raises(ValueError, match="period_from must not be after period_to"):
        StatisticsQuery(period_from="2026-05", period_to="2026-04")
    with pytest.raises(ValueError, match="pattern"):
        StatisticsQuery(period_from="2026-05-03")


def test_cases_outside_the_months_or_in_the_current_month_do_not_count() -> None:
    cases = [case(date(2026, 9, 30)) for _ in range(5)] + [case(date(2026, 10, 1))
                                                          for _ in range(6)]
    cases += [case(date(2026, 11, 2)) for _ in range(7)]
    assert compute(cases, OCTOBER, default, ON).totals.cases == 6
    everything = scope_for(StatisticsQuery(), ON)
    assert compute(cases, everything, default, ON).totals.cases == 11


def test_the_organisation_filter() -> None:
    cases = [case(organisation="tenaganita") for _ in range(6)]
    cases += [case(organisation="apmm") for _ in range(5)]
    assert compute(cases, Scope("apmm", None, OCTOBER.last), default, ON).totals.cases == 5
    assert compute(cases, Scope(None, None, OCTOBER.last), default, ON).totals.cases == 11


@pytest.mark.parametrize(("actor", "asked", "sees"), [
    (None, None, None), (COMMITTEE, None, None), (COMMITTEE, "apmm", "apmm"),
    (HANDLER, None, "tenaganita"), (HANDLER, "tenaganita", "tenaganita")])
def test_who_sees_which_organisation(actor: Actor | None, asked: str | None,
                                     sees: str | None) -> None:
    assert scope_for(StatisticsQuery(actor=actor, organisation=asked), ON).organisation == sees


@pytest.mark.parametrize(("actor", "asked"), [
    (None, "tenaganita"), (HANDLER, "apmm"), (NOBODY, None),
    (Actor(subject="l", roles=["employer-liaison"]), None),
    (Actor(subject="h", roles=["case-handler"]), None)])  # a handler of no organisation
def test_others_are_refused(actor: Actor | None, asked: str | None) -> None:
    with pytest.raises(Forbidden):
        scope_for(StatisticsQuery(actor=actor, organisation=asked), ON)


# on a database built by the migrations (SQLite and PostgreSQL)
@pytest.fixture
async def db(database_url: Callable[[str], str]) -> AsyncIterator[Database]:
    async with migrated(MIGRATIONS, database_url("cases")) as database:
        content.use_keys(database, CasesSettings())
        yield database


async def test_report_reads_the_cases_and_audits_a_staff_look(db: Database) -> None:
    async with db.transaction() as session:
        for c in [case(acknowledged=1) for _ in range(5)] + [
                case(organisation="apmm", acknowledged=3) for _ in range(6)] + [
                case(date(2026, 9, 1)) for _ in range(5)]:
            session.add(c)
    async with db.transaction() as session:
        public = await statistics.report(
            session, StatisticsQuery(period_from="2026-10"), default, ON)
        mine = await statistics.report(session, StatisticsQuery(actor=HANDLER), default, ON)
        theirs = await statistics.report(
            session, StatisticsQuery(actor=COMMITTEE, organisation="apmm",
                                     period_to="2026-10"), default, ON)
    assert (public.organisation, public.totals.cases, public.period_from) == (None, 11, "2026-10")
    assert (mine.organisation, mine.totals.cases, mine.period_from) == ("tenaganita", 10, None)
    assert (theirs.totals.cases, theirs.totals.time_to_acknowledge.median_days) == (6, 3.0)
    async with db.transaction() as session:
        looks = (await session.exec(select(AuditEntry).where(
            AuditEntry.action == "statistics"))).all()
    assert sorted(entry.actor for entry in looks) == ["c-1", "h-1"]  # the public's is not
