"""Benchmark: grievances per second through gateway → intake → JetStream → case-management,
on real processes started the way `make run` does. Prints figures; asserts nothing about speed.

    .venv/bin/python bench/submissions.py [--count 1000] [--concurrency 32] [--postgres DSN]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from suara_kit.stack import Stack

DBS = {"intake": "intake", "case-management": "cases", "mediation-scheduling": "mediation",
       "notification": "notification"}


def postgres_urls(dsn: str) -> dict[str, str]:
    """A fresh PostgreSQL database per service."""
    import psycopg

    urls, base = {}, dsn.rsplit("/", 1)[0]
    with psycopg.connect(dsn, autocommit=True) as conn:
        for service, short in DBS.items():
            name = f"suara_bench_{uuid.uuid4().hex[:8]}_{short}"
            conn.execute(f'CREATE DATABASE "{name}"')
            urls[service] = f"{base.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"
    return urls


def drop_databases(dsn: str, urls: dict[str, str]) -> None:
    """Remove the databases `postgres_urls` created."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        for url in urls.values():
            conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def cases_opened(stack: Stack) -> int:
    """Rows in case-management's case table."""
    url = stack.database_urls.get("case-management") or (
        f"sqlite:///{stack.var_dir / 'db' / 'case-management.sqlite'}")
    if "sqlite" in url:
        with sqlite3.connect(url.split("///", 1)[1]) as conn:
            return int(conn.execute('SELECT count(*) FROM "case"').fetchone()[0])
    import psycopg

    with psycopg.connect(url.replace("postgresql+asyncpg", "postgresql")) as conn:
        return int(conn.execute('SELECT count(*) FROM "case"').fetchone()[0])


async def submit_all(url: str, count: int, concurrency: int) -> list[float]:
    """Latencies (s) of `count` submissions sent `concurrency` at a time."""
    latencies: list[float] = []
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency)

    async def one(client: httpx.AsyncClient, i: int) -> None:
        async with gate:
            started = time.perf_counter()
            reply = await client.post("/api/v1/reports", json={
                "organisation": "map-foundation",
                "answers": {"categories": ["unpaid-wages"], "country": "TH",
                            "what_happened": f"benchmark report {i}"}})
            reply.raise_for_status()
            latencies.append(time.perf_counter() - started)

    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        await asyncio.gather(*(one(client, i) for i in range(count)))
    return latencies


def main() -> None:
    """Run once and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--postgres", metavar="DSN", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        urls = postgres_urls(args.postgres) if args.postgres else {}
        stack = Stack(var_dir=Path(tmp) / "var", database_urls=urls).start()
        try:
            started = time.perf_counter()
            latencies = asyncio.run(submit_all(stack.gateway_url, args.count, args.concurrency))
            accepted = time.perf_counter() - started
            while cases_opened(stack) < args.count:
                time.sleep(0.05)
            settled = time.perf_counter() - started
        finally:
            stack.stop()
            if args.postgres:
                drop_databases(args.postgres, urls)
    latencies.sort()
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(f"{args.count} submissions, concurrency {args.concurrency}, {backend}")
    print(f"  accepted by intake : {args.count / accepted:8.1f} /s")
    print(f"  cases opened (e2e) : {args.count / settled:8.1f} /s")
    print(f"  latency p50 / p99  : {statistics.median(latencies) * 1000:6.1f} / "
          f"{latencies[int(len(latencies) * 0.99) - 1] * 1000:6.1f} ms")


if __name__ == "__main__":
    main()
