"""Scale out: two processes of every service and two gateways, sharing each service's
database and durable consumers. NATS spreads the requests between them (micro endpoints in
queue group "q") and JetStream the events (both fetch from one durable pull consumer); the
gateways share their Idempotency-Key store; nothing is done twice.

What each process did is read from `$SRV.STATS.<service>`, which every process of a NATS micro
service answers for itself: requests per endpoint, and (on the health endpoint's `data`) how
many events each of its consumers handled. Counts only: nothing identifies a grievance."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
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
    running = start_faulty(replicas=REPLICAS, gateways=REPLICAS)
    stack = running.stack
    assert sorted(n for n in stack.procs if n != "devissuer") == sorted(
        [*stack.gateway_names(), *(name for service in SERVICES
                                   for name in stack.processes(service))])
    register_staff(stack)
    burst = Burst(stack.gateway_urls, TOTAL, CONCURRENCY, keyless_every=0)

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
    # gateways: each accepted grievances; a retry with the same key at the other gateway is
    # answered from the shared store, with the same reference, and files nothing
    per_gateway = Counter(a.gateway for a in burst.attempts if a.status == 201)
    assert sorted(per_gateway) == sorted(stack.gateway_urls), per_gateway
    assert all(n > 0 for n in per_gateway.values()), per_gateway
    for outcome in burst.outcomes[:5]:
        accepted_by = next(a.gateway for a in outcome.attempts if a.status == 201)
        other = next(url for url in stack.gateway_urls if url != accepted_by)
        again = httpx.post(f"{other}/api/v1/reports", json=burst.body(outcome),
                           headers={"Idempotency-Key": outcome.key or ""}, timeout=30)
        assert again.status_code == 201, again.text
        assert again.headers.get("idempotent-replayed") == "true"
        assert again.json()["reference"] == outcome.reference
    assert settle(running.urls, accepted).problems(accepted, []) == []
    for service, replies in stats.items():
        assert len({s["id"] for s in replies}) == REPLICAS, f"{service}: {len(replies)} answered"
    # requests: both intake processes took submissions, and together exactly the ones sent
    assert len(submits) == REPLICAS
    assert all(n > 0 for n in submits), f"intake submissions per process: {submits}"
    assert sum(submits) == len(burst.attempts) == TOTAL
    # events: both case-management processes opened cases, together one per grievance
    assert all(n > 0 for n in opened), f"submissions consumed per process: {opened}"
    assert sum(opened) == TOTAL, opened
