"""Benchmark: anonymous submissions through gateway → intake → JetStream → case-management, on
real processes started the way `make run` does, on SQLite and on PostgreSQL in the same run.
Prints figures; asserts nothing about speed (Linux: CPU and memory come from /proc).

    .venv/bin/python bench/submissions.py [--count 2000] [--clients 64] [--backends sqlite,postgres]
                                          [--postgres DSN]

For each backend it prints: accepted submissions per second, p50/p95/p99 latency, errors, the
lag from a submission's acceptance until its case is open (p50/p95/max), and the CPU (% of one
core) and peak memory of each process during the run. Then the same clients against a trivial
FastAPI endpoint served by the same uvicorn set-up, and the ratio: how far the system is from
what this machine's Python web stack does with no work at all.

The load comes from a minimal HTTP/1.1 keep-alive client (one connection per client): httpx
would spend more CPU than the gateway on this 2-core machine and measure itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from suara_kit.natsserver import free_port, wait_for_port
from suara_kit.stack import Stack

DSN = os.environ.get("SUARA_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
DBS = {"intake": "intake", "case-management": "cases", "mediation-scheduling": "mediation",
       "notification": "notification"}
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


# databases
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


class CaseWatcher:
    """Polls case-management's table in a thread and notes when each reference first shows."""

    LOOKBACK = 30.0  # seconds of cases read at each look

    def __init__(self, stack: Stack, every: float = 0.1) -> None:
        url = stack.database_urls.get("case-management") or (
            f"sqlite:///{stack.var_dir / 'db' / 'case-management.sqlite'}")
        self.url, self.every = url, every
        self.seen: dict[str, float] = {}
        self._conn: Any = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _connect(self) -> Any:
        if "sqlite" in self.url:
            return sqlite3.connect(self.url.split("///", 1)[1], timeout=30,
                                   check_same_thread=False, isolation_level=None)
        import psycopg

        return psycopg.connect(self.url.replace("postgresql+asyncpg", "postgresql"),
                               autocommit=True)

    def _references(self) -> list[str]:
        """References of the cases opened since the last look (one connection throughout:
        a new PostgreSQL connection per look would cost the server a process each time)."""
        if self._conn is None:
            self._conn = self._connect()
        # case ids are UUIDv7, led by their creation time in ms: read only the last few
        # seconds' rows (a case made earlier may commit a little later, so not "after the
        # last id seen")
        since = int((time.time() - self.LOOKBACK) * 1000) << 80
        bound: Any = f"{since:032x}" if "sqlite" in self.url else uuid.UUID(int=since)
        mark = "?" if "sqlite" in self.url else "%s"
        rows = self._conn.execute(f'SELECT reference FROM "case" WHERE id > {mark}',
                                  (bound,)).fetchall()
        return [row[0] for row in rows if row[0] not in self.seen]

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                now = time.perf_counter()
                for reference in self._references():
                    self.seen.setdefault(reference, now)
                self._stop.wait(self.every)
        finally:
            if self._conn is not None:
                self._conn.close()

    def start(self) -> CaseWatcher:
        for reference in self._references():  # cases from before the run do not count
            self.seen[reference] = 0.0
        self._thread.start()
        return self

    def wait_for(self, references: list[str], timeout: float) -> None:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline and not all(r in self.seen for r in references):
            time.sleep(self.every)
        self._stop.set()
        self._thread.join()


# processes
def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _rss_mib(pid: int) -> float:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 2**20


def _servers() -> dict[int, float]:
    """CPU seconds of every PostgreSQL and nats-server process on the machine, by pid."""
    found = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                comm = Path(entry.path, "comm").read_text().strip()
                if comm in ("postgres", "nats-server"):
                    found[int(entry.name)] = _cpu_seconds(int(entry.name))
            except OSError:
                continue
    return found


def _machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all cores, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


class Usage:
    """CPU time and peak resident memory of processes, sampled in a thread; and the CPU of the
    database and NATS servers and of the whole machine over the same time."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.peak = {name: _rss_mib(pid) for name, pid in pids.items()}
        self._start = {name: _cpu_seconds(pid) for name, pid in pids.items()}
        self._servers, self._machine = _servers(), _machine_busy()
        self._began = time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            for name, pid in self.pids.items():
                self.peak[name] = max(self.peak[name], _rss_mib(pid))

    def stop(self) -> dict[str, tuple[float, float]]:
        """name → (% of one core over the run, peak MiB)."""
        self._stop.set()
        self._thread.join()
        elapsed = self.elapsed = time.perf_counter() - self._began
        used = {name: ((_cpu_seconds(pid) - self._start[name]) / elapsed * 100,
                       self.peak[name]) for name, pid in self.pids.items()}
        servers = sum(cpu - self._servers.get(pid, 0.0) for pid, cpu in _servers().items())
        busy, total = _machine_busy()
        share = (busy - self._machine[0]) / max(1, total - self._machine[1])
        used["PostgreSQL + NATS servers"] = (servers / elapsed * 100, float("nan"))
        used["whole machine"] = (share * (os.cpu_count() or 1) * 100, float("nan"))
        return used


# the load
@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)
    accepted: list[tuple[str, float]] = field(default_factory=list)  # (reference, when)
    errors: dict[str, int] = field(default_factory=dict)
    elapsed: float = 0.0


async def _post(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str,
                path: str, body: bytes) -> tuple[int, bytes]:
    writer.write(b"POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (path.encode(), host.encode(), len(body), body))
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def load(port: int, path: str, count: int, clients: int,
               body: Callable[[int], bytes]) -> Outcome:
    """`count` POSTs from `clients` keep-alive connections, as fast as answers come."""
    outcome, queue = Outcome(), iter(range(count))
    host = f"127.0.0.1:{port}"

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            for i in queue:
                started = time.perf_counter()
                status, answer = await _post(reader, writer, host, path, body(i))
                done = time.perf_counter()
                outcome.latencies.append(done - started)
                if status in (200, 201):
                    reference = json.loads(answer).get("reference") if answer else None
                    if reference:
                        outcome.accepted.append((reference, done))
                else:
                    outcome.errors[str(status)] = outcome.errors.get(str(status), 0) + 1
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    outcome.elapsed = time.perf_counter() - began
    return outcome


def report_body(i: int) -> bytes:
    return json.dumps({"organisation": "map-foundation", "answers": {
        "categories": ["unpaid-wages"], "country": "TH",
        "what_happened": f"benchmark report {i}: no wages for three months"}}).encode()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


# runs
def run_system(backend: str, count: int, clients: int, dsn: str) -> float:
    """One backend: start, warm up, load, wait for every case; print; accepted per second."""
    with tempfile.TemporaryDirectory() as tmp:
        urls = postgres_urls(dsn) if backend == "postgres" else {}
        stack = Stack(var_dir=Path(tmp) / "var", database_urls=urls).start()
        try:
            asyncio.run(load(stack.gateway_port, "/api/v1/reports", 100, 16, report_body))
            watcher = CaseWatcher(stack).start()
            usage = Usage({name: proc.pid for name, proc in stack.procs.items()
                           if name != "devissuer"})
            outcome = asyncio.run(load(stack.gateway_port, "/api/v1/reports", count, clients,
                                       report_body))
            watcher.wait_for([ref for ref, _ in outcome.accepted], timeout=600)
            used = usage.stop()
        finally:
            stack.stop()
            if urls:
                drop_databases(dsn, urls)
    lags = [watcher.seen[ref] - at for ref, at in outcome.accepted if ref in watcher.seen]
    missing = len(outcome.accepted) - len(lags)
    rate = len(outcome.accepted) / outcome.elapsed
    lat = outcome.latencies
    print(f"\n{backend}: {count} submissions from {clients} clients")
    print(f"  accepted           {rate:8.1f} /s   errors {sum(outcome.errors.values())} "
          f"{outcome.errors or ''}")
    print(f"  latency p50/95/99  {pct(lat, .5) * 1e3:6.1f} / {pct(lat, .95) * 1e3:6.1f} / "
          f"{pct(lat, .99) * 1e3:6.1f} ms")
    print(f"  lag to case open   p50 {pct(lags, .5) * 1e3:6.0f} ms, p95 {pct(lags, .95) * 1e3:6.0f}"
          f" ms, max {max(lags, default=0) * 1e3:6.0f} ms"
          + (f"; {missing} cases not seen" if missing else ""))
    per_grievance = {name: cpu / 100 * usage.elapsed / count * 1e3
                     for name, (cpu, _) in used.items()}
    for name, (cpu, rss) in used.items():
        memory = f"   peak {rss:6.0f} MiB" if rss == rss else ""
        print(f"  {name:26s} CPU {cpu:5.0f} %  {per_grievance[name]:5.1f} ms/grievance{memory}")
    spent = sum(ms for name, ms in per_grievance.items() if name != "whole machine")
    print(f"  CPU per grievance, Suara's processes and servers: {spent:.1f} ms "
          f"(the machine's {os.cpu_count()} cores give {1e3 * (os.cpu_count() or 1) / spent:.0f}"
          " grievances/s at most, before the load generator's share)")
    return rate


TRIVIAL = textwrap.dedent("""
    import sys, uvicorn
    from fastapi import FastAPI
    app = FastAPI()

    @app.post("/echo", status_code=201)
    async def echo(body: dict) -> dict:
        return {"reference": "SU-TRIV-IAL0"}

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
                access_log=False)
""")


def run_trivial(count: int, clients: int) -> float:
    """The same load against a FastAPI endpoint that does nothing; accepted per second."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", TRIVIAL, str(port)])
    try:
        wait_for_port(port, timeout=30, proc=proc)
        asyncio.run(load(port, "/echo", 200, 16, report_body))
        usage = Usage({"trivial": proc.pid})
        outcome = asyncio.run(load(port, "/echo", count, clients, report_body))
        cpu, _ = usage.stop()["trivial"]
    finally:
        proc.terminate()
        proc.wait(10)
    rate = len(outcome.accepted) / outcome.elapsed
    lat = outcome.latencies
    print(f"\ntrivial FastAPI endpoint: {rate:8.1f} /s, p50/99 {pct(lat, .5) * 1e3:.1f} / "
          f"{pct(lat, .99) * 1e3:.1f} ms, CPU {cpu:.0f} %")
    return rate


FLOOR_GATEWAY = textwrap.dedent("""
    import contextlib, sys, nats, uvicorn
    from fastapi import FastAPI, Request
    from fastapi.responses import Response
    state = {}

    @contextlib.asynccontextmanager
    async def connected(_):
        state["nc"] = await nats.connect(sys.argv[2])
        yield
        await state["nc"].close()

    app = FastAPI(lifespan=connected)

    @app.post("/echo", status_code=201)
    async def echo(request: Request) -> Response:
        reply = await state["nc"].request("floor.submit", await request.body(), timeout=10)
        return Response(reply.data, status_code=201, media_type="application/json")

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
                access_log=False)
""")

FLOOR_SERVICE = textwrap.dedent("""
    import asyncio, json, sys, nats

    async def main() -> None:
        nc = await nats.connect(sys.argv[1])
        js = nc.jetstream()
        await js.add_stream(name="FLOOR", subjects=["floor.events.>"])

        async def submit(msg) -> None:
            json.loads(msg.data)
            await js.publish("floor.events.received", msg.data)
            await msg.respond(b'{"reference": "SU-FLOO-R000"}')

        await nc.subscribe("floor.submit", queue="floor", cb=submit)
        print("ready", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())
""")

FLOOR_CONSUMER = textwrap.dedent("""
    import asyncio, json, sys, nats

    async def main() -> None:
        nc = await nats.connect(sys.argv[1])
        js = nc.jetstream()
        for _ in range(100):
            try:
                sub = await js.pull_subscribe("floor.events.>", durable="floor-cases",
                                              stream="FLOOR")
                break
            except Exception:
                await asyncio.sleep(0.1)
        print("ready", flush=True)
        while True:
            try:
                msgs = await sub.fetch(50, timeout=1)
            except asyncio.TimeoutError:
                continue
            for msg in msgs:
                json.loads(msg.data)
                await msg.ack()

    asyncio.run(main())
""")


def run_floor(count: int, clients: int) -> float:
    """The shape with no work in it: HTTP into a FastAPI gateway, a NATS request to a service
    that publishes to a JetStream stream (awaiting its acknowledgement) and answers, and a
    pull consumer that acknowledges each event; no database, no validation, no sealing. What
    this machine allows the fixed architecture before a line of Suara runs; accepted/s."""
    from suara_kit.natsserver import NatsServer

    with tempfile.TemporaryDirectory() as tmp:
        server = NatsServer(Path(tmp) / "js").start()
        port, procs = free_port(), {}
        try:
            procs["service"] = subprocess.Popen([sys.executable, "-c", FLOOR_SERVICE,
                                                 server.url], stdout=subprocess.PIPE)
            assert procs["service"].stdout is not None
            procs["service"].stdout.readline()
            procs["consumer"] = subprocess.Popen([sys.executable, "-c", FLOOR_CONSUMER,
                                                  server.url], stdout=subprocess.PIPE)
            assert procs["consumer"].stdout is not None
            procs["consumer"].stdout.readline()
            procs["gateway"] = subprocess.Popen([sys.executable, "-c", FLOOR_GATEWAY,
                                                 str(port), server.url])
            wait_for_port(port, timeout=30, proc=procs["gateway"])
            asyncio.run(load(port, "/echo", 200, 16, report_body))
            usage = Usage({name: proc.pid for name, proc in procs.items()})
            outcome = asyncio.run(load(port, "/echo", count, clients, report_body))
            used = usage.stop()
        finally:
            for proc in procs.values():
                proc.terminate()
                proc.wait(10)
            server.stop()
    rate = len(outcome.accepted) / outcome.elapsed
    lat = outcome.latencies
    print(f"\nthe shape with no work (gateway → NATS request → service → JetStream → consumer):"
          f"\n  accepted           {rate:8.1f} /s   errors {sum(outcome.errors.values())}"
          f"\n  latency p50/95/99  {pct(lat, .5) * 1e3:6.1f} / {pct(lat, .95) * 1e3:6.1f} / "
          f"{pct(lat, .99) * 1e3:6.1f} ms")
    for name, (cpu, _) in used.items():
        print(f"  {name:26s} CPU {cpu:5.0f} %  "
              f"{cpu / 100 * usage.elapsed / count * 1e3:5.2f} ms/request")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--postgres", metavar="DSN", default=DSN)
    args = parser.parse_args()
    # a SIGTERM (a timeout, a CI cancel) stops the stack and drops the databases like ^C does;
    # its processes run in sessions of their own and would otherwise outlive the benchmark
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    print(f"{os.cpu_count()} cores; load average before: {os.getloadavg()[0]:.2f}")
    rates = {backend: run_system(backend, args.count, args.clients, args.postgres)
             for backend in args.backends.split(",") if backend}
    floor = run_floor(args.count * 2, args.clients)
    trivial = run_trivial(args.count * 2, args.clients)
    for backend, rate in rates.items():
        print(f"ratio {backend} / trivial endpoint: {rate / trivial:.3f}, "
              f"/ the shape with no work: {rate / floor:.3f}")


if __name__ == "__main__":
    main()
