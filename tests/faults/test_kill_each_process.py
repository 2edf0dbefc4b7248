"""kill -9 each process in turn during a burst of grievances (the gateway, intake,
case-management, mediation-scheduling, notification), restarting each before the next: every
grievance the gateway accepted has exactly one report, one case and its notifications, and no
client that sent an Idempotency-Key ends up with a report it holds no receipt for."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from .burst import Burst, assert_unavailable_answers, register_staff
from .conftest import NEVER_HANGS, Running
from .scenario import run_and_settle

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.faults]

# On PostgreSQL, the deployment's database; kill -9 on SQLite, `make run`'s default, is
# tests/e2e/test_crash_recovery.py (case-management during a burst). The gateway goes first:
# requests it was running when it died keep their Idempotency-Key "in flight" until its
# heartbeat expires (15 s; `idempotency.Liveness`), their retries get 409 until then, and the
# other kills happen meanwhile.
ORDER = ("gateway", "intake", "case-management", "mediation-scheduling", "notification")
TOTAL, WAVE, LEAD, CONCURRENCY = 200, 30, 8, 16
DOWN = 1.0  # seconds a killed process stays dead before it is started again


@pytest.mark.parametrize("db_backend", [pytest.param("postgresql", marks=pytest.mark.postgres)],
                         indirect=True)
def test_kill_minus_nine_each_process_in_turn(start_faulty: Callable[..., Running],
                                              figures: Callable[[str], None]) -> None:
    running = start_faulty()
    stack = running.stack
    register_staff(stack)
    burst = Burst(stack.gateway_url, TOTAL, CONCURRENCY)
    outages: list[tuple[str, float]] = []

    async def faults(burst: Burst) -> None:
        for target in ORDER:
            # a wave of new grievances; kill when some of it is through and the rest in flight
            goal = burst.accepted + LEAD
            burst.release(WAVE)
            await burst.wait_accepted(goal, timeout=120)
            killed = time.monotonic()
            await asyncio.to_thread(stack.kill, target)
            await asyncio.sleep(DOWN)
            await asyncio.to_thread(running.restart, target)
            outages.append((target, round(time.monotonic() - killed, 1)))

    outcome = run_and_settle(burst, faults, running.urls, figures,
                             lambda: f"down until ready again (s): {outages}")

    assert len(outcome.accepted) + len(outcome.keyless) == TOTAL, \
        f"given up: {burst.summary()}"
    assert outcome.ledger.problems(outcome.accepted, outcome.keyless) == []
    assert_unavailable_answers(burst.attempts, NEVER_HANGS)
