"""The slot-proposal engine, checked against a minute-by-minute oracle of each local rule."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from suara_mediation.slots import (
    Availability,
    DateOverride,
    Hours,
    Kind,
    NoSlots,
    PartyConstraints,
    Request,
    Resource,
    Slot,
    WeeklyHours,
    ballot,
    outside_hours,
    propose,
    tally,
)

ZONES = ["Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore", "Asia/Kuala_Lumpur", "Asia/Bangkok",
         "Asia/Jakarta", "Asia/Manila", "Asia/Phnom_Penh", "Asia/Yangon", "Europe/London",
         "America/New_York"]
SWITCHES = {  # the date the clock changes → the zone that changes it
    "new-york-spring": (date(2026, 3, 8), "America/New_York"),
    "new-york-fall": (date(2026, 11, 1), "America/New_York"),
    "london-spring": (date(2026, 3, 29), "Europe/London"),
    "london-fall": (date(2026, 10, 25), "Europe/London"),
}
MINUTE, DAY = timedelta(minutes=1), timedelta(days=1)
ALWAYS = WeeklyHours.on(range(1, 8), (time(0), time(0)))
NEW_YORK = ZoneInfo("America/New_York")


def resource(id: str, kind: Kind, zone: str, weekly: WeeklyHours = ALWAYS,
             languages: Iterable[str] = (), **availability: Any) -> Resource:
    return Resource(id=id, kind=kind, languages=frozenset(languages),
                    availability=Availability(timezone=zone, weekly=weekly, **availability))


def party(name: str, zone: str, **rules: Any) -> PartyConstraints:
    """A party whose role is its name (worker, employer, observer…)."""
    return PartyConstraints(party=name, role=name, timezone=zone, **rules)  # type: ignore[arg-type]


def request(parties: Iterable[PartyConstraints], resources: Iterable[Resource], now: datetime,
            **options: Any) -> Request:
    options = {"duration": timedelta(hours=1), "mode": "video", **options}
    return Request(now=now, parties=tuple(parties), resources=tuple(resources), **options)


def slots_of(result: list[Slot] | NoSlots) -> list[Slot]:
    assert not isinstance(result, NoSlots), result.reasons
    return result


def starts(result: list[Slot] | NoSlots) -> list[datetime]:
    return sorted(slot.start for slot in slots_of(result))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def in_new_york(year: int, month: int, day: int, hour: int = 0, minute: int = 0,
                fold: int = 0) -> datetime:
    """A New York wall time as UTC; `fold=1` picks the second of a repeated reading."""
    return datetime(year, month, day, hour, minute, tzinfo=NEW_YORK, fold=fold).astimezone(UTC)


# the oracle: each rule read off the local clock, one minute at a time


def reads_within(instant: datetime, zone: str, spans_on: Callable[[date], Iterable[Hours]]) -> bool:
    """Whether the local reading of `instant` lies in a span of its date or of the day before."""
    reading = instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    for day in (reading.date() - DAY, reading.date()):
        for start, end in spans_on(day):
            opens = datetime.combine(day, start)
            if opens <= reading < datetime.combine(day + DAY if end <= start else day, end):
                return True
    return False


def resource_open(res: Resource, instant: datetime) -> bool:
    av = res.availability
    overrides = {o.day: o.hours for o in av.overrides}
    return reads_within(instant, av.timezone,
                        lambda day: overrides.get(day, av.weekly.days.get(day.isoweekday(), ())))


def party_accepts(p: PartyConstraints, instant: datetime) -> bool:
    local = instant.astimezone(ZoneInfo(p.timezone))
    if (local.isoweekday() in p.rest_days) != p.rest_days_only or local.date() in p.unavailable_dates:
        return False
    return (reads_within(instant, p.timezone, lambda day: [(p.earliest, p.latest or time(0))])
            and not reads_within(instant, p.timezone, lambda day: p.quiet_hours))


def resource_free(res: Resource, req: Request, start: datetime) -> bool:
    """`res` can take a session at `start`: notice, horizon, buffers, then its hours minute by minute."""
    av, end = res.availability, start + req.duration
    gap = av.buffer_before + av.buffer_after
    if start < req.now + av.minimum_notice or (
            av.horizon_days and end > req.now + timedelta(days=av.horizon_days)):
        return False
    if any(start < busy_end + gap and busy_start - gap < end for busy_start, busy_end in av.busy):
        return False
    return all(resource_open(res, start + k * MINUTE) for k in range(req.duration // MINUTE))


def parties_accept(req: Request, start: datetime) -> bool:
    return all(party_accepts(p, start + k * MINUTE)
               for p in req.parties for k in range(req.duration // MINUTE))


def assert_valid(req: Request, slot: Slot) -> None:
    """Every rule of the request holds for `slot`, checked independently of the engine."""
    by_id = {r.id: r for r in req.resources}
    assert slot.end - slot.start == req.duration
    assert slot.start.utcoffset() == timedelta(0)
    assert req.now <= slot.start
    assert slot.end <= req.now + timedelta(days=req.horizon_days)
    assert by_id[slot.mediator].kind == "mediator"
    assert set(slot.interpreters) == req.languages
    assert all(lang in by_id[i].languages for lang, i in slot.interpreters.items())
    venue = {"in-person": "room", "video": "video-link"}.get(req.mode)
    assert (by_id[slot.venue].kind if slot.venue else None) == venue
    chosen = {slot.mediator, *slot.interpreters.values(), *([slot.venue] if slot.venue else [])}
    assert all(resource_free(by_id[i], req, slot.start) for i in chosen)
    assert parties_accept(req, slot.start)
    for p in req.parties:
        zone = ZoneInfo(p.timezone)
        shown = slot.local[p.party]
        assert datetime.fromisoformat(shown.start) == slot.start
        assert datetime.fromisoformat(shown.end) == slot.end
        assert shown.start == slot.start.astimezone(zone).isoformat(timespec="minutes")
        wall = datetime.fromisoformat(shown.start).replace(tzinfo=None)
        assert wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall


def brute_force(req: Request, anchor: str) -> set[datetime]:
    """Every start on the anchor's local step grid that the oracle accepts."""
    first = req.now.replace(second=0, microsecond=0) + (MINUTE if req.now.second else timedelta(0))
    last = req.now + timedelta(days=req.horizon_days) - req.duration
    found, zone = set(), ZoneInfo(anchor)
    groups = [[r for r in req.resources if r.kind == "mediator"]]
    groups += [[r for r in req.resources if r.kind == kind]
               for kind in [{"in-person": "room", "video": "video-link"}.get(req.mode)] if kind]
    groups += [[r for r in req.resources if lang in r.languages] for lang in req.languages]
    start = first
    while start <= last:
        local = start.astimezone(zone)
        on_grid = (local.hour * 60 + local.minute) % req.step_minutes == 0
        if on_grid and parties_accept(req, start) and all(
                any(resource_free(r, req, start) for r in group) for group in groups):
            found.add(start)
        start += MINUTE
    return found


# the zone matrix


def matrix_request(worker_zone: str, mediator_zone: str, switch: str) -> Request:
    switch_day, switch_zone = SWITCHES[switch]
    now = datetime.combine(switch_day - 3 * DAY, time(0, 7), UTC)
    sessions = [datetime.combine(switch_day + n * DAY, time(h), ZoneInfo(mediator_zone)).astimezone(UTC)
                for n, h in ((-2, 10), (0, 9), (1, 14), (4, 11))]
    mediator = resource("mediator-1", "mediator", mediator_zone,
                        WeeklyHours.on(range(1, 7), (time(7), time(13)), (time(14), time(22))),
                        overrides=(DateOverride(switch_day + DAY, ((time(15), time(18)),)),),
                        buffer_before=timedelta(minutes=15), buffer_after=timedelta(minutes=15),
                        minimum_notice=timedelta(hours=20),
                        busy=tuple((s, s + timedelta(minutes=90)) for s in sessions))
    return request(
        [party("worker", worker_zone, rest_days=frozenset({7}), quiet_hours=((time(22), time(7)),),
               unavailable_dates=frozenset({switch_day + 2 * DAY})),
         party("employer", switch_zone, earliest=time(7), latest=time(23)),
         party("observer", "Asia/Kuala_Lumpur", quiet_hours=((time(23, 30), time(6)),))],
        [mediator,
         resource("interpreter-my", "interpreter", "Asia/Yangon",
                  WeeklyHours.on(range(1, 8), (time(5), time(23, 30))), languages=["my"],
                  busy=((sessions[1], sessions[1] + 3 * DAY),)),
         resource("interpreter-my-2", "interpreter", "Asia/Bangkok", languages=["my", "th"]),
         resource("link", "video-link", "UTC")],
        now, languages=frozenset({"my"}), count=6, step_minutes=15)


@pytest.mark.parametrize("switch", list(SWITCHES))
@pytest.mark.parametrize("mediator_zone", ["Asia/Kuala_Lumpur", "America/New_York", "Europe/London"])
@pytest.mark.parametrize("worker_zone", ZONES)
def test_every_slot_keeps_every_rule_in_every_zone(worker_zone: str, mediator_zone: str,
                                                   switch: str) -> None:
    req = matrix_request(worker_zone, mediator_zone, switch)
    slots = slots_of(propose(req))
    assert len(slots) == req.count
    for slot in slots:
        assert_valid(req, slot)
        worker_local = slot.start.astimezone(ZoneInfo(worker_zone))
        assert worker_local.isoweekday() != 7  # never on the worker's rest day, in the worker's zone
    assert len({slot.start.astimezone(ZoneInfo(worker_zone)).date() for slot in slots}) == len(slots)
    assert any(slot.start.date() > SWITCHES[switch][0] for slot in slots)  # the horizon crosses it


@pytest.mark.parametrize("switch", list(SWITCHES))
def test_the_feasible_starts_are_exactly_the_oracles(switch: str) -> None:
    switch_day, zone = SWITCHES[switch]
    tricky = WeeklyHours.on(range(1, 8), (time(0, 30), time(2, 30)), (time(1, 30), time(3)),
                            (time(8), time(9)), (time(22, 45), time(1, 15)))
    req = request(
        [party("worker", zone, quiet_hours=((time(0, 30), time(1, 15)), (time(23, 15), time(0, 15)))),
         party("employer", "Asia/Manila", rest_days=frozenset({3}))],
        [resource("m", "mediator", zone, tricky, buffer_after=timedelta(minutes=30),
                  busy=((in_new_york(2026, 3, 9, 8), in_new_york(2026, 3, 9, 8, 20)),)),
         resource("i", "interpreter", "Asia/Taipei", languages=["tl"]),
         resource("link", "video-link", zone, tricky)],
        datetime.combine(switch_day - DAY, time(3, 4, 5), UTC), languages=frozenset({"tl"}),
        duration=timedelta(minutes=30), horizon_days=4)
    # Proposals never overlap, so with the session as long as the grid step every start is offered.
    offered, expected = ballot(req, 10_000), brute_force(req, zone)
    assert expected, "the scenario should leave some starts open"
    assert set(starts(offered)) == expected
    for slot in slots_of(offered):
        assert_valid(req, slot)
    # On a finer grid the proposals are a subset of the oracle's starts.
    fine = replace(req, step_minutes=15)
    assert set(starts(ballot(fine, 10_000))) <= brute_force(fine, zone)


# daylight saving, case by case


def test_hours_that_start_in_the_spring_gap_start_when_the_clock_jumps() -> None:
    mediator = resource("m", "mediator", "America/New_York",
                        WeeklyHours.on([7], (time(2, 30), time(4))))
    req = request([party("worker", "America/New_York")], [mediator, resource("v", "video-link", "UTC")],
                  utc(2026, 3, 7), step_minutes=15, horizon_days=3)
    [slot] = slots_of(propose(req))
    assert slot.start == in_new_york(2026, 3, 8, 3) == utc(2026, 3, 8, 7)
    assert slot.local["worker"].start == "2026-03-08T03:00-04:00"
    assert slot.local["worker"].end == "2026-03-08T04:00-04:00"


def test_hours_wholly_inside_the_spring_gap_never_occur() -> None:
    mediator = resource("m", "mediator", "America/New_York", WeeklyHours.on([7], (time(2), time(3))))
    req = request([party("worker", "Asia/Manila")], [mediator, resource("v", "video-link", "UTC")],
                  utc(2026, 3, 7), duration=timedelta(minutes=15), horizon_days=3)
    result = propose(req)
    assert isinstance(result, NoSlots)
    assert [r.code for r in result.reasons] == ["resource-unavailable"]


def test_a_session_across_the_spring_switch_lasts_its_real_duration() -> None:
    mediator = resource("m", "mediator", "America/New_York",
                        overrides=(DateOverride(date(2026, 3, 8), ((time(1), time(5)),)),),
                        weekly=WeeklyHours())
    req = request([party("worker", "America/New_York")], [mediator, resource("v", "video-link", "UTC")],
                  utc(2026, 3, 7), duration=timedelta(hours=2))
    times = [(s.local["worker"].start, s.local["worker"].end) for s in slots_of(ballot(req, 10))]
    # 01:00 to 04:00 that night is two real hours, and 01:00 to 05:00 only three: one slot fits
    assert times == [("2026-03-08T01:00-05:00", "2026-03-08T04:00-04:00")]


def test_the_repeated_fall_back_hour_counts_twice() -> None:
    mediator = resource("m", "mediator", "America/New_York", WeeklyHours.on([7], (time(1), time(2))))
    req = request([party("worker", "America/New_York")], [mediator, resource("v", "video-link", "UTC")],
                  utc(2026, 10, 30), duration=timedelta(hours=2))
    [slot] = slots_of(propose(req))
    assert (slot.start, slot.end) == (utc(2026, 11, 1, 5), utc(2026, 11, 1, 7))
    assert slot.local["worker"].start == "2026-11-01T01:00-04:00"
    assert slot.local["worker"].end == "2026-11-01T02:00-05:00"


def test_a_window_opening_inside_the_repeated_hour_skips_the_early_readings() -> None:
    mediator = resource("m", "mediator", "America/New_York", WeeklyHours.on([7], (time(1, 30), time(3))))
    req = request([party("worker", "America/New_York")], [mediator, resource("v", "video-link", "UTC")],
                  utc(2026, 10, 30), duration=timedelta(minutes=30), horizon_days=3)
    assert starts(ballot(req, 10)) == [
        in_new_york(2026, 11, 1, 1, 30), in_new_york(2026, 11, 1, 1, 30, fold=1),
        in_new_york(2026, 11, 1, 2), in_new_york(2026, 11, 1, 2, 30)]


def test_a_window_closing_inside_the_repeated_hour_skips_the_late_readings() -> None:
    mediator = resource("m", "mediator", "America/New_York", WeeklyHours.on([7], (time(0), time(1, 30))))
    req = request([party("worker", "America/New_York")], [mediator, resource("v", "video-link", "UTC")],
                  utc(2026, 10, 30), duration=timedelta(minutes=30), horizon_days=3)
    assert starts(ballot(req, 10)) == [
        in_new_york(2026, 11, 1, 0), in_new_york(2026, 11, 1, 0, 30), in_new_york(2026, 11, 1, 1),
        in_new_york(2026, 11, 1, 1, fold=1)]


def test_quiet_hours_in_the_repeated_hour_cover_both_passes() -> None:
    req = request([party("worker", "America/New_York", quiet_hours=((time(1), time(2)),))],
                  [resource("m", "mediator", "UTC", WeeklyHours.on([7], (time(4), time(8)))),
                   resource("v", "video-link", "UTC")],
                  utc(2026, 10, 30), duration=timedelta(minutes=30), horizon_days=3)
    assert starts(ballot(req, 10)) == [utc(2026, 11, 1, 4), utc(2026, 11, 1, 4, 30),
                                       utc(2026, 11, 1, 7), utc(2026, 11, 1, 7, 30)]


def test_an_explicit_slot_is_checked_against_published_hours_across_the_switch() -> None:
    av = Availability(timezone="America/New_York", weekly=WeeklyHours.on([7], (time(1), time(4))),
                      overrides=(DateOverride(date(2026, 3, 15)),))
    assert outside_hours(av, in_new_york(2026, 3, 8, 1), in_new_york(2026, 3, 8, 4)) is None
    assert outside_hours(av, utc(2026, 11, 1, 5), utc(2026, 11, 1, 9)) is None  # four real hours
    assert outside_hours(av, in_new_york(2026, 3, 8, 3, 30), in_new_york(2026, 3, 8, 4, 30)) == (
        "2026-03-08 03:30 to 2026-03-08 04:30 (America/New_York) is outside the published hours")
    assert outside_hours(av, in_new_york(2026, 3, 15, 1), in_new_york(2026, 3, 15, 2)) is not None


# buffers, notice, horizon


def test_buffers_keep_both_sides_of_a_booking_free() -> None:
    booked = (utc(2026, 6, 2, 10), utc(2026, 6, 2, 11))
    mediator = resource("m", "mediator", "UTC", WeeklyHours.on([2], (time(9), time(13))),
                        buffer_before=timedelta(minutes=15), buffer_after=timedelta(minutes=15),
                        busy=(booked,))
    req = request([party("worker", "UTC")], [mediator, resource("v", "video-link", "UTC")],
                  utc(2026, 6, 1), duration=timedelta(minutes=30), horizon_days=2)
    assert starts(ballot(req, 20)) == [utc(2026, 6, 2, 9), utc(2026, 6, 2, 11, 30),
                                       utc(2026, 6, 2, 12), utc(2026, 6, 2, 12, 30)]


def test_minimum_notice_and_both_horizons_hold() -> None:
    now = utc(2026, 6, 1, 9, 10)
    req = request([party("worker", "Asia/Jakarta")],
                  [resource("m", "mediator", "Asia/Jakarta", minimum_notice=timedelta(hours=48)),
                   resource("v", "video-link", "UTC", horizon_days=5)],
                  now, count=50, horizon_days=14)
    found = slots_of(propose(req))
    assert min(s.start for s in found) >= now + timedelta(hours=48)
    assert max(s.end for s in found) <= now + timedelta(days=5)
    assert all(s.start.minute in (0, 30) for s in found)


def test_resources_are_taken_in_the_order_given_and_times_do_not_depend_on_it() -> None:
    req = matrix_request("Asia/Hong_Kong", "Asia/Kuala_Lumpur", "london-spring")
    extra = resource("mediator-0", "mediator", "Asia/Kuala_Lumpur")
    first = slots_of(propose(replace(req, resources=(extra, *req.resources))))
    last = slots_of(propose(replace(req, resources=(*req.resources, extra))))
    assert {s.mediator for s in first} == {"mediator-0"}
    assert "mediator-1" in {s.mediator for s in last}
    assert [s.start for s in first] == [s.start for s in last]


# ranking


def test_ranking_is_deterministic_and_spreads_across_days() -> None:
    req = matrix_request("Asia/Manila", "Asia/Kuala_Lumpur", "new-york-spring")
    once, again = propose(req), propose(req)
    assert once == again
    days = [s.start.astimezone(ZoneInfo("Asia/Manila")).date() for s in slots_of(once)]
    assert days == sorted(set(days))


def test_a_day_offers_its_most_comfortable_time_away_from_quiet_hours() -> None:
    req = request([party("worker", "Asia/Hong_Kong", earliest=time(9), latest=time(21)),
                   party("employer", "Asia/Hong_Kong", quiet_hours=((time(20), time(11)),))],
                  [resource("m", "mediator", "UTC"), resource("v", "video-link", "UTC")],
                  utc(2026, 6, 1, 16), count=2)
    first, second = slots_of(propose(req))
    assert first.local["worker"].start == "2026-06-02T12:00+08:00"  # an hour clear of 11:00
    assert first.discomfort == 0
    assert second.start - first.start == timedelta(days=1)


def test_when_days_run_out_a_second_round_fills_the_count() -> None:
    req = request([party("worker", "UTC")],
                  [resource("m", "mediator", "UTC", WeeklyHours.on([1], (time(9), time(17)))),
                   resource("v", "video-link", "UTC")],
                  utc(2026, 6, 1, 6), count=4, horizon_days=1)
    found = slots_of(propose(req))
    assert len(found) == 4
    assert all(not (a.start < b.end and b.start < a.end) for a in found for b in found if a is not b)


def test_one_interpreter_for_two_languages_is_preferred() -> None:
    both = resource("both", "interpreter", "UTC", WeeklyHours.on(range(1, 8), (time(14), time(18))),
                    languages=["tl", "id"])
    req = request([party("worker", "UTC")],
                  [resource("m", "mediator", "UTC"),
                   resource("tl", "interpreter", "UTC", languages=["tl"]),
                   resource("id", "interpreter", "UTC", languages=["id"]), both,
                   resource("v", "video-link", "UTC")],
                  utc(2026, 6, 1), languages=frozenset({"tl", "id"}), count=3)
    found = slots_of(propose(req))
    assert all(s.interpreters == {"tl": "both", "id": "both"} and s.resources == 3 for s in found)
    assert all(14 <= s.start.hour < 17 for s in found)


def test_phone_and_in_person_modes_need_no_link_or_a_room() -> None:
    people = [party("worker", "Asia/Bangkok")]
    room = resource("room", "room", "Asia/Bangkok", WeeklyHours.on(range(1, 6), (time(9), time(17))))
    phone = slots_of(propose(request(people, [resource("m", "mediator", "UTC")], utc(2026, 6, 1),
                                     mode="phone")))
    met = slots_of(propose(request(people, [resource("m", "mediator", "UTC"), room], utc(2026, 6, 1),
                                   mode="in-person")))
    assert all(s.venue is None for s in phone)
    assert all(s.venue == "room" and 9 <= s.start.astimezone(ZoneInfo("Asia/Bangkok")).hour < 17
               for s in met)


# why nothing fits


def test_a_missing_interpreter_is_named() -> None:
    req = request([party("worker", "Asia/Yangon")],
                  [resource("m", "mediator", "UTC"),
                   resource("i", "interpreter", "UTC", languages=["tl"]),
                   resource("v", "video-link", "UTC")],
                  utc(2026, 6, 1), languages=frozenset({"my", "tl"}))
    result = propose(req)
    assert isinstance(result, NoSlots)
    assert [(r.code, r.message) for r in result.reasons] == [
        ("missing-resource", "no interpreter for my")]


def test_a_rest_day_only_worker_and_weekday_mediators_never_meet() -> None:
    weekdays = WeeklyHours.on(range(1, 6), (time(9), time(17)))
    req = request([party("worker", "Asia/Hong_Kong", rest_days=frozenset({7}), rest_days_only=True),
                   party("employer", "Asia/Hong_Kong")],
                  [resource("m1", "mediator", "Asia/Hong_Kong", weekdays),
                   resource("m2", "mediator", "Asia/Singapore", weekdays),
                   resource("v", "video-link", "UTC")], utc(2026, 6, 1))
    result = propose(req)
    assert isinstance(result, NoSlots)
    [reason] = result.reasons
    assert reason.code == "party-resource-never-overlap"
    assert reason.message == "the worker's rest day (Sunday) and every mediator's hours never overlap"
    assert (reason.parties, reason.resources) == (("worker",), ("m1", "m2"))


def test_a_rest_day_only_worker_is_offered_only_rest_days() -> None:
    req = request([party("worker", "Asia/Hong_Kong", rest_days=frozenset({7}), rest_days_only=True)],
                  [resource("m", "mediator", "UTC"), resource("v", "video-link", "UTC")],
                  utc(2026, 6, 1), count=4)
    found = slots_of(propose(req))
    assert {s.start.astimezone(ZoneInfo("Asia/Hong_Kong")).isoweekday() for s in found} == {7}
    for slot in found:
        assert_valid(req, slot)


def test_parties_whose_hours_never_overlap_are_named() -> None:
    req = request([party("worker", "Asia/Hong_Kong", earliest=time(9), latest=time(12)),
                   party("employer", "America/New_York", earliest=time(9), latest=time(17)),
                   party("observer", "Asia/Hong_Kong")],
                  [resource("m", "mediator", "UTC"), resource("v", "video-link", "UTC")],
                  utc(2026, 6, 1))
    result = propose(req)
    assert isinstance(result, NoSlots)
    assert [(r.code, r.parties, r.message) for r in result.reasons] == [
        ("parties-never-overlap", ("worker", "employer"),
         "the worker's and the employer's acceptable hours never overlap")]


def test_a_party_with_no_time_at_all_is_named() -> None:
    req = request([party("worker", "Asia/Taipei", rest_days=frozenset(range(1, 8)))],
                  [resource("m", "mediator", "UTC"), resource("v", "video-link", "UTC")],
                  utc(2026, 6, 1))
    result = propose(req)
    assert isinstance(result, NoSlots)
    assert [r.code for r in result.reasons] == ["party-unavailable"]


def test_resources_never_free_together_are_named() -> None:
    req = request([party("worker", "UTC")],
                  [resource("m", "mediator", "UTC", WeeklyHours.on(range(1, 8), (time(8), time(12)))),
                   resource("i", "interpreter", "UTC", WeeklyHours.on(range(1, 8), (time(13), time(17))),
                            languages=["km"]),
                   resource("v", "video-link", "UTC")],
                  utc(2026, 6, 1), languages=frozenset({"km"}))
    result = propose(req)
    assert isinstance(result, NoSlots)
    assert [r.code for r in result.reasons] == ["resources-never-overlap"]
    assert result.reasons[0].message == (
        "no mediator and interpreter for km are free together while every party can attend")


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="IANA"):
        party("worker", "Asia/Atlantis")
    with pytest.raises(ValueError, match="aware"):
        request([], [], datetime(2026, 6, 1))
    with pytest.raises(ValueError, match="step"):
        request([], [], utc(2026, 6, 1), step_minutes=7)
    with pytest.raises(ValueError, match="interprets no language"):
        resource("i", "interpreter", "UTC")


# the parties vote


def voting() -> list[Slot]:
    weekdays = WeeklyHours.on(range(1, 6), (time(9), time(17)))
    req = request([party("worker", "Asia/Phnom_Penh"), party("employer", "Asia/Singapore")],
                  [resource("m", "mediator", "Asia/Phnom_Penh", weekdays),
                   resource("v", "video-link", "UTC")], utc(2026, 6, 1))
    candidates = slots_of(ballot(req, 8))
    assert len(candidates) == 8
    return candidates


def test_the_slot_every_party_accepts_wins() -> None:
    candidates = voting()
    result = tally(candidates, {"worker": {1, 3, 5}, "employer": {candidates[5].id, 3, 0},
                                "observer": {3, 5, 6}})
    assert result.chosen == candidates[3]
    assert [row.index for row in result.ranked[:3]] == [3, 5, 0]
    assert result.ranked[1].missing == frozenset()
    assert result.ranked[2].missing == {"worker", "observer"}
    assert result.reason is None


def test_no_slot_acceptable_to_all_is_reported() -> None:
    candidates = voting()
    result = tally(candidates, {"worker": {0, 1}, "employer": {2, 1}, "observer": {2}})
    assert result.chosen is None
    assert result.ranked[0].index == 1
    assert result.ranked[0].missing == {"observer"}
    assert result.reason == (f"no slot is acceptable to every party; the closest, {candidates[1].id}, "
                             "is not acceptable to observer")


def test_a_party_that_has_not_voted_blocks_agreement() -> None:
    candidates = voting()
    result = tally(candidates, {"worker": {2}}, parties={"worker", "employer"})
    assert result.chosen is None
    assert result.reason == "waiting for votes from employer"
    with pytest.raises(ValueError, match="no candidate"):
        tally(candidates, {"worker": {99}})
    with pytest.raises(ValueError, match="not on this ballot"):
        tally(candidates, {"stranger": {1}}, parties={"worker"})
