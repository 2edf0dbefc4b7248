"""Scale out: two processes of every service, sharing each service's database and durable
consumers. NATS spreads the requests between them (micro endpoints in queue group "q") and
JetStream the events (both fetch from one durable pull consumer); nothing is done twice.

What each process did is read from `$SRV.STATS.<service>`, which every process of a NATS micro
service answers for itself: requests per endpoint, and (on the health endpoint's `data`) how
many events each of its consumers handled. Counts only: nothing identifies a grievance."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import nats
import pytest

from suara_contracts.subjects import Rpc
from suara_kit.stack import SERVICES

from .burst import Burst, register_staff, settle
from .conftest import Running

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.faults]

TOTAL, CONCURRENCY, REPLICAS = 200, 16, 2


async def service_stats(nats_url: str, service: str, expect: int) -> list[dict[str, Any]]:
    """Every process's answer to `$SRV.STATS.<service>` (one request, many replies)."""
    nc = await nats.connect(nats_url)
    try:
        inbox = nc.new_inbox()
        sub = await nc.subscribe(inbox)
        await nc.publish(f"$SRV.STATS.{service.replace('-', '_')}", b"", reply=inbox)
        replies = []
        deadline = time.monotonic() + 3
        while len(replies) < expect and time.monotonic() < deadline:
            try:
                msg = await sub.next_msg(timeout=max(0.05, deadline - time.monotonic()))
            except nats.errors.TimeoutError:
                break
            replies.append(json.loads(msg.data))
        await sub.unsubscribe()
        return replies
    finally:
        await nc.close()


def requests_to(stats: dict[str, Any], subject: str) -> int:
    return sum(e["num_requests"] for e in stats["endpoints"] if e["subject"] == subject)


def consumed(stats: dict[str, Any]) -> dict[str, int]:
    health = next(e for e in stats["endpoints"] if e["subject"].endswith(".health"))
    return dict((health.get("data") or {}).get("consumed", {}))


@pytest.mark.parametrize("db_backend", [pytest.param("postgresql", marks=pytest.mark.postgres)],
                         indirect=True)
def test_two_processes_of_every_service_share_the_work(
        start_faulty: Callable[..., Running], figures: Callable[[str], None]) -> None:
    running = start_faulty(replicas=REPLICAS)
    stack = running.stack
    assert sorted(n for n in stack.procs if n not in ("devissuer", "gateway")) == sorted(
        name for service in SERVICES for name in stack.processes(service))
    register_staff(stack)
    burst = Burst(stack.gateway_url, TOTAL, CONCURRENCY, keyless_every=0)

    async def no_faults(_: Burst) -> None:
        return None

    started = time.monotonic()
    asyncio.run(burst.run(no_faults))
    accepted = burst.accepted_references()
    ledger = settle(running.urls, accepted)
    seconds = time.monotonic() - started
    assert stack.nats_url is not None
    stats = {service: asyncio.run(service_stats(stack.nats_url, service, REPLICAS))
             for service in SERVICES}
    submits = [requests_to(s, Rpc.INTAKE_SUBMIT) for s in stats["intake"]]
    opened = [consumed(s).get("cases-submission-received", 0) for s in stats["case-management"]]
    figures(f"{TOTAL} grievances accepted and settled in {seconds:.1f} s, "
            f"{burst.summary()['answers']}")
    for service, replies in stats.items():
        figures(f"  {service}: " + "; ".join(
            f"process …{s['id'][-6:]}: {sum(e['num_requests'] for e in s['endpoints'])} "
            f"requests, events {consumed(s)}" for s in replies))

    assert len(accepted) == TOTAL
    assert ledger.problems(accepted, []) == []
    for service, replies in stats.items():
        assert len({s["id"] for s in replies}) == REPLICAS, f"{service}: {len(replies)} answered"
    # requests: both intake processes took submissions, and together exactly the ones sent
    assert len(submits) == REPLICAS
    assert all(n > 0 for n in submits), f"intake submissions per process: {submits}"
    assert sum(submits) == len(burst.attempts) == TOTAL
    # events: both case-management processes opened cases, together one per grievance
    assert all(n > 0 for n in opened), f"submissions consumed per process: {opened}"
    assert sum(opened) == TOTAL, opened
