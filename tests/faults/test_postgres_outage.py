"""PostgreSQL unreachable for 10 s during a burst of grievances: every service reaches its
database through a TCP proxy that the test cuts (open connections reset, new ones refused) and
then restores. Meanwhile the gateway answers 503 with Retry-After within its bound and keeps
nothing; afterwards every accepted grievance has exactly one report, one case and its
notifications (events that failed meanwhile come back after the consumers' backoff)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from .burst import Attempt, Burst, register_staff
from .conftest import NEVER_HANGS, Running
from .scenario import assert_kept_through_outage, run_and_settle

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.faults]

TOTAL, LEAD, CONCURRENCY, PROBES = 150, 30, 16, 10
OUTAGE = 10.0  # seconds PostgreSQL cannot be reached


@pytest.mark.parametrize("db_backend", [pytest.param("postgresql", marks=pytest.mark.postgres)],
                         indirect=True)
def test_postgres_unreachable_for_ten_seconds(start_faulty: Callable[..., Running],
                                              figures: Callable[[str], None]) -> None:
    running = start_faulty(proxied=True)
    stack, proxy = running.stack, running.proxy
    assert proxy is not None
    register_staff(stack)
    burst = Burst(stack.gateway_url, TOTAL, CONCURRENCY)
    probed: list[Attempt] = []
    timings: dict[str, float] = {}

    async def faults(burst: Burst) -> None:
        burst.release(2 * LEAD)
        await burst.wait_accepted(LEAD, timeout=120)
        await asyncio.to_thread(proxy.cut)
        cut = time.monotonic()
        burst.release(LEAD)  # grievances sent while the database is away
        await asyncio.sleep(1)
        probed.extend(await burst.probe(PROBES))  # and single requests, sent once
        await asyncio.sleep(max(0.0, OUTAGE - (time.monotonic() - cut)))
        await asyncio.to_thread(proxy.restore)
        timings["cut"] = time.monotonic() - cut
        restored = time.monotonic()
        await asyncio.to_thread(stack.wait_ready, 60)
        timings["ready"] = time.monotonic() - restored

    outcome = run_and_settle(burst, faults, running.urls, figures, lambda: (
        f"database away {timings['cut']:.1f} s, all ready {timings['ready']:.1f} s after; "
        f"probes while away: {[(a.status, round(a.elapsed, 2)) for a in probed]}"))
    assert_kept_through_outage(outcome, burst, probed, TOTAL, NEVER_HANGS)
