"""Kill -9 case-management during a burst of 200 submissions: every accepted grievance still
ends with exactly one case."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from suara_kit.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
BURST = 200


async def burst(base_url: str, stack: Stack) -> list[str]:
    """Submit BURST reports, 20 at a time; kill -9 case-management a quarter of the way in."""
    accepted: list[str] = []
    limit = asyncio.Semaphore(20)

    async def one(client: httpx.AsyncClient, i: int) -> None:
        async with limit:
            if i == BURST // 4:
                stack.kill("case-management")
            reply = await client.post("/api/v1/reports", json={
                "organisation": "tenaganita",
                "answers": {"categories": ["unpaid-wages"], "country": "TH",
                            "what_happened": f"burst report {i}"}})
            assert reply.status_code == 201, reply.text
            accepted.append(reply.json()["reference"])

    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        await asyncio.gather(*(one(client, i) for i in range(BURST)))
    return accepted


def cases_by_reference(stack: Stack) -> Counter[str]:
    """References of every case in case-management's own database."""
    url = stack.database_urls["case-management"]
    if url.startswith("sqlite"):
        with sqlite3.connect(Path(url.split("///", 1)[1])) as conn:
            rows = conn.execute("SELECT reference FROM \"case\"").fetchall()
    else:
        import psycopg

        with psycopg.connect(url.replace("postgresql+asyncpg", "postgresql")) as conn:
            rows = conn.execute('SELECT reference FROM "case"').fetchall()
    return Counter(r[0] for r in rows)


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)  # PostgreSQL: tests/faults
def test_kill_minus_nine_loses_and_duplicates_nothing(stack: Stack) -> None:
    accepted = asyncio.run(burst(stack.gateway_url, stack))
    assert len(accepted) == BURST == len(set(accepted))
    stack.start_service("case-management")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        cases = cases_by_reference(stack)
        if sum(cases.values()) >= BURST:
            break
        time.sleep(0.5)
    time.sleep(2)  # let any duplicate delivery land before counting
    cases = cases_by_reference(stack)
    assert set(cases) == set(accepted)
    assert all(n == 1 for n in cases.values()), [r for r, n in cases.items() if n > 1]
