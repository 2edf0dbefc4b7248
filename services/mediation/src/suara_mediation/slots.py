"""Slot proposals for mediation sessions: pure functions over availability, no I/O.

Everything is computed on integer UTC minutes. Each local rule (a resource's weekly hours and
date overrides, a party's earliest/latest time, quiet hours, rest days, unavailable dates) is
first turned, in that party's or resource's own zone, into the exact set of UTC instants whose
local wall-clock reading satisfies it; those sets are then intersected.

Daylight saving:
- A reading that never occurs (the spring-forward gap) maps to the transition instant: hours
  starting at 02:30 on a night the clock jumps 02:00→03:00 start at 03:00. Slots are UTC
  instants shown by converting them, so a non-existent local time is never offered.
- A reading that occurs twice (fall-back) is handled exactly: a window holds every instant whose
  reading lies in it, so 00:00 to 03:00 on a fall-back night is four real hours, and a window
  starting at 01:30 leaves out the half hour when the clock reads 01:00 to 01:29 a second time.
- Durations are exact in UTC; the local end string may show the same or a shifted wall time.

Buffers: every booking on a resource, existing or new, occupies it from `buffer_before` before
its start until `buffer_after` after its end, and occupations may not overlap; so between two
sessions there are at least `buffer_after + buffer_before` free minutes. Busy intervals are the
raw bookings and unexpired holds. The session itself lies within working hours; its buffers
need only be free of bookings.

Ranking (deterministic; see `propose`): days in the anchor party's zone, earliest day first,
one slot per day before any day gets a second; within a day the least "discomfort" (minutes by
which a slot comes closer than an hour to the edge of any party's acceptable hours, summed over
parties), then fewer interpreters, then the earliest start.
"""

from __future__ import annotations

import itertools
from bisect import bisect_right
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import reduce
from operator import or_
from typing import Literal, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from suara_contracts.rpc import SessionMode

Kind = Literal["mediator", "interpreter", "room", "video-link"]
Role = Literal["worker", "representative", "employer", "interpreter", "observer"]
Hours = tuple[time, time]
"""Local wall-clock (start, end); an end at or before the start is on the next day."""
Interval = tuple[int, int]
"""Half-open [start, end) in whole UTC minutes since the epoch."""

COMFORT_MINUTES = 60
_EPOCH = datetime(1970, 1, 1)
_EPOCH_UTC = _EPOCH.replace(tzinfo=UTC)
_MINUTE = timedelta(minutes=1)
_DAY = timedelta(days=1)
_END = 2**62
_VENUE: dict[str, Kind] = {"in-person": "room", "video": "video-link"}


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"not an IANA time zone such as Asia/Hong_Kong: {name!r}") from None


def _check_hours(spans: Iterable[Hours]) -> None:
    for start, end in spans:
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError("hours are local wall-clock times: give them without a tzinfo")


def _check_aware(moment: datetime, what: str) -> None:
    if moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")


def _whole_minutes(span: timedelta, what: str) -> int:
    if span < timedelta(0) or span % _MINUTE:
        raise ValueError(f"{what} must be a non-negative whole number of minutes")
    return span // _MINUTE


@dataclass(frozen=True, slots=True)
class WeeklyHours:
    """Local working hours per ISO weekday (1 = Monday … 7 = Sunday)."""

    days: Mapping[int, tuple[Hours, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not set(self.days) <= set(range(1, 8)):
            raise ValueError("weekly hours are keyed by ISO weekday, 1 (Monday) to 7 (Sunday)")
        for spans in self.days.values():
            _check_hours(spans)

    @classmethod
    def on(cls, weekdays: Iterable[int], *spans: Hours) -> WeeklyHours:
        """The same `spans` on each of `weekdays`."""
        return cls({day: tuple(spans) for day in weekdays})


@dataclass(frozen=True, slots=True)
class DateOverride:
    """Other hours on one local date; no hours means unavailable that day."""

    day: date
    hours: tuple[Hours, ...] = ()

    def __post_init__(self) -> None:
        _check_hours(self.hours)


@dataclass(frozen=True, slots=True, kw_only=True)
class Availability:
    """When a resource can be booked; `busy` holds bookings and unexpired holds, aware UTC."""

    timezone: str
    weekly: WeeklyHours
    overrides: tuple[DateOverride, ...] = ()
    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(0)
    minimum_notice: timedelta = timedelta(0)
    horizon_days: int | None = None
    busy: tuple[tuple[datetime, datetime], ...] = ()

    def __post_init__(self) -> None:
        _zone(self.timezone)
        for span, what in ((self.buffer_before, "buffer_before"), (self.buffer_after, "buffer_after"),
                           (self.minimum_notice, "minimum_notice")):
            _whole_minutes(span, what)
        if self.horizon_days is not None and self.horizon_days < 1:
            raise ValueError("horizon_days must be at least 1")
        for start, end in self.busy:
            _check_aware(start, "a busy interval")
            _check_aware(end, "a busy interval")
            if end <= start:
                raise ValueError("a busy interval must end after it starts")


@dataclass(frozen=True, slots=True, kw_only=True)
class Resource:
    """A bookable mediator, interpreter (with the languages they interpret), room or video link."""

    id: str
    kind: Kind
    availability: Availability
    languages: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.kind == "interpreter" and not self.languages:
            raise ValueError(f"interpreter {self.id} interprets no language")


@dataclass(frozen=True, slots=True, kw_only=True)
class PartyConstraints:
    """A party's rules, all in its own zone: a slot lies within [earliest, latest) on one of its
    acceptable dates and outside quiet hours. Rest days are avoided, or with `rest_days_only`
    (a live-in worker who can leave only then) required."""

    party: str
    role: Role
    timezone: str
    quiet_hours: tuple[Hours, ...] = ()
    rest_days: frozenset[int] = frozenset()
    rest_days_only: bool = False
    unavailable_dates: frozenset[date] = frozenset()
    earliest: time = time(0)
    latest: time | None = None

    def __post_init__(self) -> None:
        _zone(self.timezone)
        _check_hours([*self.quiet_hours, (self.earliest, self.latest or time(0))])
        if not self.rest_days <= set(range(1, 8)):
            raise ValueError("rest days are ISO weekdays, 1 (Monday) to 7 (Sunday)")
        if self.rest_days_only and not self.rest_days:
            raise ValueError("rest_days_only needs at least one rest day")


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """What to schedule: resources are listed in the caller's order of preference."""

    duration: timedelta
    now: datetime
    parties: tuple[PartyConstraints, ...]
    resources: tuple[Resource, ...]
    languages: frozenset[str] = frozenset()
    mode: SessionMode = "in-person"
    horizon_days: int = 14
    count: int = 5
    step_minutes: int = 30

    def __post_init__(self) -> None:
        _check_aware(self.now, "now")
        if _whole_minutes(self.duration, "duration") == 0:
            raise ValueError("duration must be positive")
        if self.horizon_days < 1 or self.count < 1:
            raise ValueError("horizon_days and count must be at least 1")
        if not 1 <= self.step_minutes <= 1440 or 1440 % self.step_minutes:
            raise ValueError("step_minutes must divide a day, e.g. 15 or 30")
        for ids, what in (([p.party for p in self.parties], "party"),
                          ([r.id for r in self.resources], "resource")):
            if len(set(ids)) != len(ids):
                raise ValueError(f"each {what} must appear once")


@dataclass(frozen=True, slots=True)
class PartyTime:
    """A slot as one party reads it: ISO 8601 local times with their UTC offset."""

    timezone: str
    start: str
    end: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Slot:
    """A proposed session; `discomfort` and `resources` are the ranking's figures."""

    id: str
    start: datetime
    end: datetime
    mediator: str
    interpreters: Mapping[str, str]
    venue: str | None
    local: Mapping[str, PartyTime]
    discomfort: int
    resources: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Reason:
    """Why nothing fits, for a UI to show; `code` is stable, `message` is English."""

    code: Literal["missing-resource", "party-unavailable", "parties-never-overlap",
                  "resource-unavailable", "party-resource-never-overlap",
                  "resources-never-overlap", "no-common-slot"]
    message: str
    parties: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NoSlots:
    """No slot satisfies everyone; the reasons say which constraints clash."""

    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class Tallied:
    """One ballot candidate with the parties that accept it and those that do not."""

    index: int
    slot: Slot
    accepted_by: frozenset[str]
    missing: frozenset[str]


@dataclass(frozen=True, slots=True)
class Tally:
    """Candidates ranked by the vote; `chosen` is set only when every party accepts it."""

    ranked: tuple[Tallied, ...]
    chosen: Slot | None
    reason: str | None


def _merge(items: Iterable[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for a, b in sorted(items):
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        elif a < b:
            out.append((a, b))
    return out


def _intersect(xs: Sequence[Interval], ys: Sequence[Interval]) -> list[Interval]:
    out: list[Interval] = []
    i = j = 0
    while i < len(xs) and j < len(ys):
        a, b = max(xs[i][0], ys[j][0]), min(xs[i][1], ys[j][1])
        if a < b:
            out.append((a, b))
        if xs[i][1] < ys[j][1]:
            i += 1
        else:
            j += 1
    return out


def _subtract(xs: Sequence[Interval], ys: Sequence[Interval]) -> list[Interval]:
    out: list[Interval] = []
    j = 0
    for a, b in xs:
        while j < len(ys) and ys[j][1] <= a:
            j += 1
        k = j
        while k < len(ys) and ys[k][0] < b:
            if ys[k][0] > a:
                out.append((a, ys[k][0]))
            a = max(a, ys[k][1])
            k += 1
        if a < b:
            out.append((a, b))
    return out


def _starts(xs: Iterable[Interval], duration: int) -> list[Interval]:
    """The start minutes s with [s, s + duration) inside one of `xs`."""
    return [(a, b - duration + 1) for a, b in xs if b - a >= duration]


def _containing(xs: Sequence[Interval], minute: int) -> Interval | None:
    i = bisect_right(xs, (minute, _END)) - 1
    return xs[i] if i >= 0 and minute < xs[i][1] else None


def _minutes(moment: datetime) -> int:
    """Whole minutes since the epoch, rounded down, of an aware datetime."""
    return (moment - _EPOCH_UTC) // _MINUTE


def _minutes_up(moment: datetime) -> int:
    return -((_EPOCH_UTC - moment) // _MINUTE)


def _at(minute: int, zone: ZoneInfo | None = None) -> datetime:
    return datetime.fromtimestamp(minute * 60, zone or UTC)


def _transition(zone: ZoneInfo, lo: int, hi: int) -> int:
    """The first minute in (lo, hi] whose UTC offset is already that of `hi`."""
    after = _at(hi, zone).utcoffset()
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if _at(mid, zone).utcoffset() == after else (mid, hi)
    return hi


def _readings(zone: ZoneInfo, wall: datetime) -> tuple[int, int]:
    """The first and last minute whose local reading is `wall`; a reading in a gap never occurs,
    so both are the transition, when the clock jumps past it."""
    first, last = ((wall - (zone.utcoffset(wall.replace(fold=fold)) or timedelta(0)) - _EPOCH)
                   // _MINUTE for fold in (0, 1))
    if first <= last:
        return first, last
    jump = _transition(zone, last, first)
    return jump, jump


def _span(zone: ZoneInfo, start: datetime, end: datetime) -> list[Interval]:
    """The minutes whose local reading r has start <= r < end (naive local datetimes)."""
    a_first, a_last = _readings(zone, start)
    b_first, b_last = _readings(zone, end)
    pieces = [(a_first, b_last)]
    if a_first < a_last:  # the start recurs: drop the repeat that reads earlier than it
        pieces = _subtract(pieces, [(_transition(zone, a_first, a_last), a_last)])
    if b_first < b_last:  # the end recurs: drop the first pass beyond it, before the fall-back
        pieces = _subtract(pieces, [(b_first, _transition(zone, b_first, b_last))])
    return pieces


class _Clock:
    """Local rules turned into UTC minutes, memoised for one proposal (resources share zones)."""

    def __init__(self) -> None:
        self._spans: dict[tuple[str, date, time, time], list[Interval]] = {}

    def span(self, zone: ZoneInfo, day: date, hours: Hours) -> list[Interval]:
        """`hours` read on local `day`; an end at or before the start falls on the next day."""
        key = (zone.key, day, *hours)
        if key not in self._spans:
            start, end = hours
            self._spans[key] = _span(zone, datetime.combine(day, start),
                                     datetime.combine(day + _DAY if end <= start else day, end))
        return self._spans[key]

    def dates(self, zone: ZoneInfo, lo: int, hi: int) -> list[date]:
        """Local dates whose hours can touch [lo, hi), counting spans that run past midnight."""
        first, last = _at(lo, zone).date() - _DAY, _at(hi, zone).date()
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]

    def hours(self, availability: Availability, lo: int, hi: int) -> list[Interval]:
        """A resource's working hours around [lo, hi)."""
        zone, overrides = _zone(availability.timezone), {o.day: o.hours for o in availability.overrides}
        return _merge(piece for day in self.dates(zone, lo, hi)
                      for hours in overrides.get(day, availability.weekly.days.get(day.isoweekday(), ()))
                      for piece in self.span(zone, day, hours))

    def acceptable(self, party: PartyConstraints, lo: int, hi: int) -> list[Interval]:
        """A party's acceptable minutes around [lo, hi), not clipped (its edges matter)."""
        zone = _zone(party.timezone)
        days, window = self.dates(zone, lo, hi), (party.earliest, party.latest or time(0))
        # A closed date is closed whole, even to a window that began the evening before.
        closed = [(day, (time(0), time(0))) for day in days if day in party.unavailable_dates
                  or (day.isoweekday() in party.rest_days) != party.rest_days_only]
        shut = [(day, hours) for day in days for hours in party.quiet_hours] + closed
        return _subtract(_merge(piece for day in days for piece in self.span(zone, day, window)),
                         _merge(piece for day, hours in shut for piece in self.span(zone, day, hours)))


@dataclass(frozen=True, slots=True)
class _Group:
    """Resources of which one must be free: mediators, the venue, interpreters of a language."""

    label: str
    members: tuple[Resource, ...]


class _Candidate(NamedTuple):
    discomfort: int
    interpreters: int
    start: int
    day: date
    cover: tuple[int, ...]


def _who(party: PartyConstraints) -> str:
    return f"the {party.role}" if party.party == party.role else f"{party.party} ({party.role})"


def _day_names(days: Iterable[int]) -> str:
    return ", ".join(date(2024, 1, day).strftime("%A") for day in sorted(days))


def _anchor(parties: Sequence[PartyConstraints]) -> ZoneInfo:
    """The zone whose local days and clock the ranking uses: the worker's or representative's."""
    anchors = [p for p in parties if p.role in ("worker", "representative")] or list(parties)
    return _zone(anchors[0].timezone) if anchors else ZoneInfo("UTC")


def _offset(zone: ZoneInfo, minute: int) -> int:
    """The zone's UTC offset in minutes at `minute`."""
    return (_at(minute, zone).utcoffset() or timedelta(0)) // _MINUTE


class _Plan:
    """One request's sets of feasible start minutes, each computed once, then scanned."""

    def __init__(self, request: Request) -> None:
        self.request, self.clock = request, _Clock()
        self.duration = request.duration // _MINUTE
        self.lo = _minutes_up(request.now)
        self.hi = _minutes(request.now + timedelta(days=request.horizon_days))
        self.acceptable = {p.party: self.clock.acceptable(p, self.lo, self.hi) for p in request.parties}
        everyone = reduce(_intersect, self.acceptable.values(), [(self.lo, self.hi)])
        self.all_parties = _starts(everyone, self.duration)
        self.free = {r.id: self._free_starts(r) for r in request.resources}
        self.languages = sorted(request.languages)
        self.groups = self._groups()
        self.group_starts = [self._union(g.members) for g in self.groups]
        self.feasible = reduce(_intersect, self.group_starts, self.all_parties)
        self.masks = {r.id: self._mask(r) for r in request.resources if r.kind == "interpreter"}
        self.mask_starts = {m: self._union(r for r in request.resources if self.masks.get(r.id) == m)
                            for m in sorted(set(self.masks.values()) - {0})}
        self.anchor = _anchor(request.parties)

    def _free_starts(self, resource: Resource) -> list[Interval]:
        """Starts at which `resource` is free for the whole session, buffers included."""
        av, now = resource.availability, self.request.now
        lo = max(self.lo, _minutes_up(now + av.minimum_notice))
        hi = self.hi
        if av.horizon_days is not None:
            hi = min(hi, _minutes(now + timedelta(days=av.horizon_days)))
        if lo >= hi:
            return []
        gap = (av.buffer_before + av.buffer_after) // _MINUTE
        busy = _merge((_minutes(a) - gap, _minutes_up(b) + gap) for a, b in av.busy)
        hours = _intersect(self.clock.hours(av, lo, hi), [(lo, hi)])
        return _starts(_subtract(hours, busy), self.duration)

    def _union(self, resources: Iterable[Resource]) -> list[Interval]:
        """Starts at which at least one of `resources` is free."""
        return _merge(interval for r in resources for interval in self.free[r.id])

    def _groups(self) -> list[_Group]:
        resources, venue = self.request.resources, _VENUE.get(self.request.mode)
        groups = [_Group("mediator", tuple(r for r in resources if r.kind == "mediator"))]
        self.has_venue = venue is not None
        if venue:
            groups.append(_Group(venue.replace("-", " "),
                                 tuple(r for r in resources if r.kind == venue)))
        return groups + [_Group(f"interpreter for {language}", tuple(
            r for r in resources if r.kind == "interpreter" and language in r.languages))
            for language in self.languages]

    def _mask(self, resource: Resource) -> int:
        return sum(1 << i for i, language in enumerate(self.languages) if language in resource.languages)

    def _cover(self, start: int) -> tuple[int, ...]:
        """The fewest interpreters' language masks, free at `start`, covering every language."""
        full = (1 << len(self.languages)) - 1
        masks = [m for m, starts in self.mask_starts.items() if _containing(starts, start)]
        for size in range(1, len(self.languages) + 1):
            for combo in itertools.combinations(masks, size):
                if reduce(or_, combo) == full:
                    return combo
        return ()

    def _discomfort(self, start: int) -> int:
        """Minutes by which the slot is nearer than COMFORT_MINUTES to a party's edges, summed."""
        end, total = start + self.duration, 0
        for acceptable in self.acceptable.values():
            a, b = _containing(acceptable, start) or (start, end)
            total += max(0, COMFORT_MINUTES - min(start - a, b - end))
        return total

    def candidates(self) -> list[_Candidate]:
        """Every feasible start on the step grid of the anchor party's local clock."""
        step, out = self.request.step_minutes, []
        for lo, hi in self.feasible:
            start = lo + (-(lo + _offset(self.anchor, lo))) % step
            for minute in range(start, hi, step):
                cover = self._cover(minute)
                out.append(_Candidate(self._discomfort(minute), len(cover), minute,
                                      _at(minute, self.anchor).date(), cover))
        return out

    def pick(self, count: int) -> list[Slot]:
        """Round-robin over days, earliest day first; each day offers its best remaining slot."""
        days: dict[date, list[_Candidate]] = {}
        for candidate in sorted(self.candidates()):
            days.setdefault(candidate.day, []).append(candidate)
        chosen: list[_Candidate] = []
        while len(chosen) < count and any(days.values()):
            for day in sorted(days):
                queue = days[day]
                while queue and any(abs(queue[0].start - c.start) < self.duration for c in chosen):
                    queue.pop(0)
                if queue and len(chosen) < count:
                    chosen.append(queue.pop(0))
        return [self._slot(c) for c in chosen]

    def _first_free(self, members: Iterable[Resource], start: int) -> str:
        return next(r.id for r in members if _containing(self.free[r.id], start))

    def _slot(self, candidate: _Candidate) -> Slot:
        start, end = candidate.start, candidate.start + self.duration
        by_mask = {m: self._first_free((r for r in self.request.resources if self.masks.get(r.id) == m),
                                       start) for m in candidate.cover}
        interpreters = {language: next(by_mask[m] for m in candidate.cover if m >> i & 1)
                        for i, language in enumerate(self.languages)}
        venue = self._first_free(self.groups[1].members, start) if self.has_venue else None
        local = {p.party: PartyTime(p.timezone, *(_at(m, _zone(p.timezone)).isoformat(timespec="minutes")
                                                  for m in (start, end)))
                 for p in self.request.parties}
        return Slot(id=f"{_at(start):%Y%m%dT%H%MZ}", start=_at(start), end=_at(end),
                    mediator=self._first_free(self.groups[0].members, start),
                    interpreters=interpreters, venue=venue, local=local,
                    discomfort=candidate.discomfort,
                    resources=1 + len(set(interpreters.values())) + (venue is not None))

    def reasons(self) -> list[Reason]:
        """The first kind of clash found, most basic first."""
        return (self._missing() or self._lonely_parties() or self._party_pairs()
                or self._party_resources() or self._resource_pairs() or [Reason(
                    code="no-common-slot", message=(
                        "each pair of constraints can be met, but never all at once on the "
                        f"{self.request.step_minutes}-minute grid within {self.request.horizon_days} "
                        "days; try a longer horizon or a shorter session"))])

    def _missing(self) -> list[Reason]:
        return [Reason(code="missing-resource", message=f"no {g.label}")
                for g in self.groups if not g.members]

    def _party_starts(self, party: PartyConstraints) -> list[Interval]:
        return _starts(_intersect(self.acceptable[party.party], [(self.lo, self.hi)]), self.duration)

    def _lonely_parties(self) -> list[Reason]:
        days = self.request.horizon_days
        return [Reason(code="party-unavailable", parties=(p.party,), message=(
            f"{_who(p)} has no acceptable {self.duration}-minute period in the next {days} days"))
            for p in self.request.parties if not self._party_starts(p)]

    def _party_pairs(self) -> list[Reason]:
        return [Reason(code="parties-never-overlap", parties=(a.party, b.party),
                       message=f"{_who(a)}'s and {_who(b)}'s acceptable hours never overlap")
                for a, b in itertools.combinations(self.request.parties, 2)
                if not _intersect(self._party_starts(a), self._party_starts(b))]

    def _party_resources(self) -> list[Reason]:
        reasons = []
        for group, starts in zip(self.groups, self.group_starts, strict=True):
            ids = tuple(r.id for r in group.members)
            if not starts:
                reasons.append(Reason(code="resource-unavailable", resources=ids, message=(
                    f"no {group.label} is free for {self.duration} minutes in the next "
                    f"{self.request.horizon_days} days")))
                continue
            reasons += [Reason(code="party-resource-never-overlap", parties=(p.party,), resources=ids,
                               message=f"{self._hours_of(p)} and every {group.label}'s hours "
                                       "never overlap")
                        for p in self.request.parties if not _intersect(starts, self._party_starts(p))]
        return reasons

    def _hours_of(self, party: PartyConstraints) -> str:
        if party.rest_days_only:
            return f"{_who(party)}'s rest day ({_day_names(party.rest_days)})"
        return f"{_who(party)}'s acceptable hours"

    def _resource_pairs(self) -> list[Reason]:
        pairs = itertools.combinations(zip(self.groups, self.group_starts, strict=True), 2)
        return [Reason(code="resources-never-overlap",
                       resources=tuple(r.id for r in (*g1.members, *g2.members)),
                       message=f"no {g1.label} and {g2.label} are free together while every "
                               "party can attend")
                for (g1, s1), (g2, s2) in pairs if not _intersect(_intersect(s1, s2), self.all_parties)]


def propose(request: Request) -> list[Slot] | NoSlots:
    """Up to `request.count` best slots at which every party and each resource needed fit.

    Feasible: one mediator, interpreters covering every language in `request.languages` (one
    interpreter may cover several), a room (in-person) or video link (video), each free with its
    buffers, notice and horizon; every party within its own local rules; starts on the
    `step_minutes` grid of the anchor party's local clock (the worker or representative, else
    the first party). Ranking, deterministic: the anchor's local days earliest first, one slot
    per day, then a second round over the days, and so on (proposals spread across days and do
    not overlap); a day's slot is the one with the least discomfort (see `_Plan._discomfort`),
    then the fewest interpreters, then the earliest. Of equally good resources, the one listed
    first in `request.resources` is chosen.
    """
    plan = _Plan(request)
    return plan.pick(request.count) or NoSlots(tuple(plan.reasons()))


def ballot(request: Request, n: int = 10) -> list[Slot] | NoSlots:
    """A wider list of `n` ranked candidates for the parties to vote on."""
    plan = _Plan(request)
    return plan.pick(n) or NoSlots(tuple(plan.reasons()))


def outside_hours(availability: Availability, start: datetime, end: datetime) -> str | None:
    """Why [start, end) is not wholly within the weekly hours and date overrides, or None.
    Buffers, notice and bookings are not checked here."""
    lo, hi = _minutes(start), _minutes_up(end)
    opening = _containing(_Clock().hours(availability, lo, hi), lo)
    if opening and hi <= opening[1]:
        return None
    zone = _zone(availability.timezone)
    return (f"{_at(lo, zone):%Y-%m-%d %H:%M} to {_at(hi, zone):%Y-%m-%d %H:%M} "
            f"({availability.timezone}) is outside the published hours")


def _index_of(candidates: Sequence[Slot], ref: int | str) -> int:
    ids = [slot.id for slot in candidates]
    if isinstance(ref, str) and ref in ids:
        return ids.index(ref)
    if isinstance(ref, int) and not isinstance(ref, bool) and 0 <= ref < len(candidates):
        return ref
    raise ValueError(f"no candidate {ref!r} on this ballot")


def tally(candidates: Sequence[Slot], votes: Mapping[str, Collection[int | str]],
          parties: Collection[str] | None = None) -> Tally:
    """Rank ballot candidates by the parties' acceptances (each a set of indices or slot ids).

    Slots every party accepts come first, then those missing fewest parties; ties keep the
    ballot's order. `parties` names everyone who must agree (default: whoever voted), so a
    party that has not voted blocks agreement."""
    voters = frozenset(votes if parties is None else parties)
    if unknown := set(votes) - voters:
        raise ValueError(f"votes from parties not on this ballot: {sorted(unknown)}")
    accepted: list[set[str]] = [set() for _ in candidates]
    for party, refs in votes.items():
        for ref in refs:
            accepted[_index_of(candidates, ref)].add(party)
    rows = sorted((Tallied(i, slot, frozenset(accepted[i]), voters - accepted[i])
                   for i, slot in enumerate(candidates)), key=lambda row: (len(row.missing), row.index))
    if rows and not rows[0].missing:
        return Tally(tuple(rows), rows[0].slot, None)
    return Tally(tuple(rows), None, _no_agreement(rows, voters - set(votes)))


def _no_agreement(rows: Sequence[Tallied], silent: frozenset[str] | set[str]) -> str:
    if not rows:
        return "the ballot is empty"
    if silent:
        return f"waiting for votes from {', '.join(sorted(silent))}"
    best = rows[0]
    return (f"no slot is acceptable to every party; the closest, {best.slot.id}, "
            f"is not acceptable to {', '.join(sorted(best.missing))}")
