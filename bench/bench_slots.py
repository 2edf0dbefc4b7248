"""Benchmark: mediation slot proposals for 5 parties in 5 zones over 14 days, among 50 mediators,
20 interpreters and 4 video links with realistic calendars (weekly hours, a few date overrides,
bookings and holds at about 40% load; seeded). Prints figures; asserts nothing about speed.

    .venv/bin/python bench/bench_slots.py [--runs 50] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

from suara_mediation.slots import (
    Availability,
    DateOverride,
    Hours,
    Kind,
    NoSlots,
    PartyConstraints,
    Request,
    Resource,
    WeeklyHours,
    propose,
)

OFFICE_ZONES = ["Asia/Hong_Kong", "Asia/Kuala_Lumpur", "Asia/Singapore", "Asia/Manila",
                "Asia/Jakarta", "Asia/Bangkok", "Asia/Taipei"]
LANGUAGES = ["tl", "id", "my", "km", "th", "vi", "zh-yue", "ms", "ne", "si"]
COMMON = ["tl"] * 4 + ["id"] * 4 + ["zh-yue"] * 3 + LANGUAGES  # Hong Kong's domestic workforce
ALWAYS = {d: ((clock(0), clock(0)),) for d in range(1, 8)}
EVENINGS = {d: ((clock(8), clock(22)),) for d in range(1, 8)}
SHIFTS: list[dict[int, tuple[Hours, ...]]] = [
    {d: ((clock(9), clock(12, 30)), (clock(13, 30), clock(17, 30))) for d in range(1, 6)},
    {**{d: ((clock(9), clock(12, 30)), (clock(13, 30), clock(17, 30))) for d in range(1, 6)},
     6: ((clock(9), clock(13)),)},
    {d: ((clock(12), clock(20)),) for d in (2, 3, 4, 5, 6)},
    {d: ((clock(8), clock(20)),) for d in range(1, 7)},
    {d: ((clock(10), clock(14)), (clock(18), clock(22))) for d in range(1, 8)},
]


def parties() -> tuple[PartyConstraints, ...]:
    """A domestic worker, her representative, the employer and agent, and a CSO observer."""
    return (
        PartyConstraints(party="worker", role="worker", timezone="Asia/Hong_Kong",
                         rest_days=frozenset({7}), quiet_hours=((clock(22), clock(7)),)),
        PartyConstraints(party="representative", role="representative", timezone="Asia/Manila",
                         earliest=clock(8), latest=clock(21)),
        PartyConstraints(party="employer", role="employer", timezone="Asia/Singapore",
                         earliest=clock(9), latest=clock(19)),
        PartyConstraints(party="agency", role="employer", timezone="Asia/Jakarta",
                         earliest=clock(8), latest=clock(18), rest_days=frozenset({7})),
        PartyConstraints(party="observer", role="observer", timezone="Europe/London",
                         earliest=clock(7), latest=clock(22)),
    )


def bookings(rng: random.Random, zone: str, weekly: dict[int, tuple[Hours, ...]],
             start: date, days: int, load: float = 0.4) -> tuple[tuple[datetime, datetime], ...]:
    """Sessions of 1 to 2 hours on the local working hours, about `load` of them, plus holds."""
    tz, busy = ZoneInfo(zone), []
    for n in range(days):
        day = start + timedelta(days=n)
        for begin, end in weekly.get(day.isoweekday(), ()):
            opens = datetime.combine(day, begin, tz)
            length = (datetime.combine(day, end, tz) - opens) // timedelta(minutes=30)
            booked = 0
            while booked < load * length * 30:
                minutes = rng.choice((60, 90, 120))
                at = opens + timedelta(minutes=30 * rng.randrange(max(1, length - minutes // 30 + 1)))
                busy.append((at.astimezone(UTC), (at + timedelta(minutes=minutes)).astimezone(UTC)))
                booked += minutes
    return tuple(busy)


def overrides(rng: random.Random, start: date) -> tuple[DateOverride, ...]:
    """A day off and a short day somewhere in the next fortnight."""
    off, short = rng.sample(range(14), 2)
    return (DateOverride(start + timedelta(days=off)),
            DateOverride(start + timedelta(days=short), ((clock(10), clock(15)),)))


def resource(rng: random.Random, id: str, kind: Kind, start: date,
             languages: frozenset[str] = frozenset()) -> Resource:
    """A person with an office shift and a calendar about 40% booked."""
    zone, weekly = rng.choice(OFFICE_ZONES), rng.choice(SHIFTS)
    availability = Availability(
        timezone=zone, weekly=WeeklyHours(weekly), overrides=overrides(rng, start),
        buffer_before=timedelta(minutes=15), buffer_after=timedelta(minutes=15),
        minimum_notice=timedelta(hours=24), horizon_days=60,
        busy=bookings(rng, zone, weekly, start - timedelta(days=1), 17))
    return Resource(id=id, kind=kind, languages=languages, availability=availability)


def video_link(rng: random.Random, id: str, start: date) -> Resource:
    """A video room open round the clock, about 40% booked between 08:00 and 22:00 Hong Kong time."""
    busy = bookings(rng, "Asia/Hong_Kong", EVENINGS, start - timedelta(days=1), 17)
    return Resource(id=id, kind="video-link", availability=Availability(
        timezone="Asia/Hong_Kong", weekly=WeeklyHours(ALWAYS), busy=busy))


def languages(rng: random.Random) -> frozenset[str]:
    """One common language and up to two others."""
    return frozenset({rng.choice(COMMON), *rng.sample(LANGUAGES, rng.randint(0, 2))})


def scenario(rng: random.Random, now: datetime) -> Request:
    start = now.date()
    mediators = [resource(rng, f"mediator-{n:02}", "mediator", start) for n in range(50)]
    interpreters = [resource(rng, f"interpreter-{n:02}", "interpreter", start, languages(rng))
                    for n in range(20)]
    links = [video_link(rng, f"link-{n}", start) for n in range(4)]
    return Request(duration=timedelta(minutes=90), now=now, parties=parties(),
                   resources=(*mediators, *interpreters, *links), languages=frozenset({"tl", "zh-yue"}),
                   mode="video", count=5, step_minutes=15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    first = datetime(2026, 1, 5, 3, 17, tzinfo=UTC)
    requests = [scenario(rng, first + timedelta(days=7 * n, hours=rng.randrange(24)))
                for n in range(args.runs)]
    busy = statistics.mean(sum(len(r.availability.busy) for r in q.resources) for q in requests)
    timings, found = [], []
    for request in requests:
        began = time.perf_counter()
        result = propose(request)
        timings.append((time.perf_counter() - began) * 1000)
        found.append(0 if isinstance(result, NoSlots) else len(result))
    timings.sort()
    print(f"slot proposal: {args.runs} requests, 5 parties, 14 days, 50 mediators, 20 interpreters, "
          f"4 video links ({busy:.0f} bookings and holds in all), 90-minute sessions, 15-minute grid")
    p90 = timings[int(0.9 * (len(timings) - 1))]
    print(f"  median {statistics.median(timings):.1f} ms   p90 {p90:.1f} ms   min {timings[0]:.1f} ms"
          f"   max {timings[-1]:.1f} ms   (target: median under 50 ms)")
    print(f"  slots found per request: min {min(found)}, mean {statistics.mean(found):.1f}")


if __name__ == "__main__":
    main()
