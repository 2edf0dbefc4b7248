"""Restart nats-server during a burst of grievances, keeping its JetStream store (stopped, then
started again on the same port and store directory): the services and the gateway reconnect by
themselves; while NATS is away the gateway answers 503 with Retry-After at once and keeps
nothing; afterwards every accepted grievance has exactly one report, one case and its
notifications."""

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
DOWN = 6.0  # seconds NATS stays away


def test_nats_restart_keeps_everything_accepted(start_faulty: Callable[..., Running],
                                                figures: Callable[[str], None]) -> None:
    running = start_faulty()
    stack = running.stack
    register_staff(stack)
    burst = Burst(stack.gateway_url, TOTAL, CONCURRENCY)
    probed: list[Attempt] = []
    timings: dict[str, float] = {}

    async def faults(burst: Burst) -> None:
        burst.release(2 * LEAD)
        await burst.wait_accepted(LEAD, timeout=120)
        stopping = time.monotonic()
        await asyncio.to_thread(stack.stop_nats)
        down = time.monotonic()
        timings["stop"] = down - stopping
        burst.release(LEAD)  # grievances sent while NATS is away
        await asyncio.sleep(1)
        probed.extend(await burst.probe(PROBES))  # and single requests, sent once
        await asyncio.sleep(max(0.0, DOWN - (time.monotonic() - down)))
        await asyncio.to_thread(stack.start_nats)
        timings["down"] = time.monotonic() - down
        up = time.monotonic()
        await asyncio.to_thread(stack.wait_ready, 60)
        timings["ready"] = time.monotonic() - up

    outcome = run_and_settle(burst, faults, running.urls, figures, lambda: (
        f"nats-server stopped in {timings['stop']:.2f} s, away {timings['down']:.1f} s, "
        f"all ready {timings['ready']:.1f} s after its start; probes while away: "
        f"{[(a.status, round(a.elapsed, 2)) for a in probed]}"))
    assert_kept_through_outage(outcome, burst, probed, TOTAL, NEVER_HANGS)
