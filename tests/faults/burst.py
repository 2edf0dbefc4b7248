"""A burst of grievances from clients that behave like a careful partner's: each grievance
has its own Idempotency-Key, kept across retries, and a 503, 409 or 429 (or a connection cut
mid-request) is retried after the Retry-After the gateway asked for. A smaller group of
clients sends no key, as a worker's own phone might; what happens to them is counted apart
(they report to another organisation, so their rows can be told apart without reading any
sealed content).

Afterwards `Ledger` checks every service's own database, by reference: every grievance the
gateway answered 201 for has exactly one report in intake and one case in case-management,
intake and mediation-scheduling learnt of that case, and notification planned exactly one
case-opened message per grievance for each registered staff member."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from suara_kit.stack import Stack

KEYED_ORG = "tenaganita"  # clients that send Idempotency-Key
KEYLESS_ORG = "map-foundation"  # clients that do not
PROBE_ORG = "apmm"  # single requests a fault script sends while a dependency is away
RETRIED = {409, 429, 500, 502, 503, 504}
# staff whose notification preferences are saved before the burst: (account, organisation)
STAFF = (("handler.tenaganita", KEYED_ORG), ("supervisor.tenaganita", KEYED_ORG),
         ("handler.map", KEYLESS_ORG))


@dataclass
class Attempt:
    """One HTTP request of one grievance."""

    grievance: int
    keyed: bool
    started: float  # monotonic, seconds
    elapsed: float
    status: int | None  # None: no HTTP answer (connection refused or cut)
    error: str = ""
    retry_after: str | None = None
    replayed: bool = False
    gateway: str = ""  # the gateway asked
    reason: str | None = None  # a problem's reason, e.g. "outcome-unknown"


@dataclass
class Outcome:
    """One grievance: what the client was finally told."""

    grievance: int
    keyed: bool
    reference: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    key: str | None = None  # its Idempotency-Key (None: sent without one)


class Burst:
    """`total` grievances sent by `concurrency` clients, released in waves (`release`), so a
    fault script can time its fault while requests are in flight."""

    def __init__(self, base_url: str | list[str], total: int, concurrency: int = 16,
                 keyless_every: int = 10, give_up_after: float = 180.0,
                 max_wait: float = 5.0) -> None:
        # several gateways: grievance i goes to gateway i mod n first, and each retry to the next
        self.gateways = [base_url] if isinstance(base_url, str) else list(base_url)
        self.base_url, self.total, self.concurrency = self.gateways[0], total, concurrency
        self.keyless_every, self.give_up_after, self.max_wait = keyless_every, give_up_after, max_wait
        self.outcomes = [Outcome(i, keyed=(keyless_every == 0 or i % keyless_every != 0))
                         for i in range(total)]
        self.probes: list[Attempt] = []
        self._queue: asyncio.Queue[int | None] = asyncio.Queue()
        self._released = 0
        self._accepted = 0
        self._accepted_changed = asyncio.Condition()

    # the fault script's side
    def release(self, count: int | None = None) -> None:
        """Let `count` more grievances go (all that are left by default)."""
        end = self.total if count is None else min(self.total, self._released + count)
        for i in range(self._released, end):
            self._queue.put_nowait(i)
        self._released = end

    @property
    def accepted(self) -> int:
        return self._accepted

    async def wait_accepted(self, count: int, timeout: float = 60) -> None:
        """Until at least `count` grievances got their 201."""
        async with self._accepted_changed:
            await asyncio.wait_for(
                self._accepted_changed.wait_for(lambda: self._accepted >= count), timeout)

    async def probe(self, count: int) -> list[Attempt]:
        """Send `count` reports at once, each once and without a key, for PROBE_ORG (so
        whatever they leave behind can be found); what each was answered."""
        body = {"organisation": PROBE_ORG, "answers": {
            "categories": ["unpaid-wages"], "country": "MY", "what_happened": "A probe."}}

        async def one(http: httpx.AsyncClient) -> Attempt:
            started = time.monotonic()
            try:
                reply = await http.post("/api/v1/reports", json=body)
            except httpx.TransportError as exc:
                return Attempt(-1, False, started, time.monotonic() - started, None,
                               type(exc).__name__)
            return Attempt(-1, False, started, time.monotonic() - started, reply.status_code,
                           retry_after=reply.headers.get("retry-after"))

        async with httpx.AsyncClient(base_url=self.base_url, timeout=60) as http:
            sent = list(await asyncio.gather(*(one(http) for _ in range(count))))
        self.probes += sent
        return sent

    # the clients
    async def run(self, faults: Callable[[Burst], Awaitable[None]]) -> None:
        """Run the clients and the fault script together; return when every grievance is
        settled (accepted, or given up after `give_up_after` seconds of trying)."""
        limits = httpx.Limits(max_connections=self.concurrency * len(self.gateways))
        async with httpx.AsyncClient(timeout=60, limits=limits) as http:
            clients = [asyncio.create_task(self._client(http)) for _ in range(self.concurrency)]
            try:
                await faults(self)
                self.release()
                for _ in clients:
                    self._queue.put_nowait(None)
                await asyncio.gather(*clients)
            finally:
                for task in clients:
                    task.cancel()

    async def _client(self, http: httpx.AsyncClient) -> None:
        while (i := await self._queue.get()) is not None:
            await self._file(http, self.outcomes[i])

    @staticmethod
    def body(outcome: Outcome) -> dict[str, Any]:
        """What the grievance sends (the same at every attempt)."""
        org = KEYED_ORG if outcome.keyed else KEYLESS_ORG
        return {"organisation": org, "answers": {
            "categories": ["unpaid-wages"], "country": "MY",
            "what_happened": f"Fault burst grievance {outcome.grievance}: no salary for months."}}

    async def _file(self, http: httpx.AsyncClient, outcome: Outcome) -> None:
        body = self.body(outcome)
        outcome.key = str(uuid.uuid4()) if outcome.keyed else None
        headers = {"Idempotency-Key": outcome.key} if outcome.key else {}
        first = time.monotonic()
        while time.monotonic() - first < self.give_up_after:
            started = time.monotonic()
            gateway = self.gateways[(outcome.grievance + len(outcome.attempts))
                                    % len(self.gateways)]
            try:
                reply = await http.post(f"{gateway}/api/v1/reports", json=body, headers=headers)
            except httpx.TransportError as exc:  # the gateway went away, or was not there
                outcome.attempts.append(Attempt(outcome.grievance, outcome.keyed, started,
                                                time.monotonic() - started, None,
                                                type(exc).__name__))
                await asyncio.sleep(0.5)
                continue
            attempt = Attempt(outcome.grievance, outcome.keyed, started,
                              time.monotonic() - started, reply.status_code,
                              retry_after=reply.headers.get("retry-after"),
                              replayed=reply.headers.get("idempotent-replayed") == "true",
                              gateway=gateway, reason=_reason(reply))
            outcome.attempts.append(attempt)
            if reply.status_code == 201:
                outcome.reference = reply.json()["reference"]
                async with self._accepted_changed:
                    self._accepted += 1
                    self._accepted_changed.notify_all()
                return
            if reply.status_code not in RETRIED:
                raise AssertionError(f"grievance {outcome.grievance}: unexpected "
                                     f"{reply.status_code} {reply.text[:300]}")
            await asyncio.sleep(min(float(attempt.retry_after or 1), self.max_wait))

    # what the clients saw
    @property
    def attempts(self) -> list[Attempt]:
        return [a for o in self.outcomes for a in o.attempts]

    def accepted_references(self, keyed: bool | None = None) -> list[str]:
        return [o.reference for o in self.outcomes
                if o.reference and (keyed is None or o.keyed == keyed)]

    def summary(self) -> dict[str, Any]:
        statuses = Counter(str(a.status or a.error) for a in self.attempts)
        slowest = max((a.elapsed for a in self.attempts if a.status != 201), default=0.0)
        return {"grievances": self.total, "accepted": len(self.accepted_references()),
                "attempts": len(self.attempts), "answers": dict(statuses),
                "replayed": sum(a.replayed for a in self.attempts),
                "slowest_non_201_s": round(slowest, 2),
                "slow": [(a.status or a.error, round(a.elapsed, 1), a.keyed)
                         for a in sorted(self.attempts, key=lambda a: -a.elapsed)[:5]],
                "slowest_s": round(max((a.elapsed for a in self.attempts), default=0.0), 2)}


def _reason(reply: httpx.Response) -> str | None:
    if reply.status_code < 400 or "json" not in reply.headers.get("content-type", ""):
        return None
    try:
        reason = reply.json().get("reason")
    except ValueError:
        return None
    return str(reason) if reason else None


def in_window(attempts: Iterable[Attempt], start: float, end: float) -> list[Attempt]:
    """Requests sent between `start` and `end` (monotonic)."""
    return [a for a in attempts if start <= a.started <= end]


def assert_unavailable_answers(attempts: Iterable[Attempt], bound: float) -> None:
    """Every answer that was not a 201 was a 503 or 409 with a Retry-After, or a refused
    connection, and came within `bound` seconds (the gateway never hangs)."""
    for a in attempts:
        if a.status == 201:
            continue
        if a.status is not None:
            assert a.status in (409, 503), a
            assert a.retry_after, a
            assert float(a.retry_after) > 0, a
        assert a.elapsed <= bound, f"an answer took {a.elapsed:.1f} s (> {bound} s): {a}"


# --- the databases, read directly ------------------------------------------------------------


def rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows of a query on a service's own database (SQLite file or PostgreSQL)."""
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        with contextlib.closing(sqlite3.connect(path, timeout=30)) as conn:
            return conn.execute(sql).fetchall()
    import psycopg

    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    with psycopg.connect(dsn, connect_timeout=10) as conn:
        return conn.execute(sql).fetchall()


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


@dataclass
class Ledger:
    """What every service's database holds about the burst's grievances."""

    reports: Counter[str]  # intake: reference → reports
    report_orgs: dict[str, str]
    report_case: dict[str, str | None]  # intake: reference → the case it learnt of
    cases: Counter[str]  # case-management: reference → cases
    case_ids: dict[str, str]
    known_cases: set[str]  # mediation-scheduling: case ids
    case_index: Counter[str]  # notification: reference → index rows
    planned: dict[str, Counter[str]]  # notification: reference → recipient → case-opened rows
    recipients: dict[str, str]  # notification: staff recipient → organisation
    probed: int  # intake: reports left by probes

    @classmethod
    def read(cls, urls: dict[str, str]) -> Ledger:
        intake = rows(urls["intake"], "SELECT reference, organisation, case_id FROM submission "
                                      f"WHERE organisation <> '{PROBE_ORG}'")
        probed = rows(urls["intake"], f"SELECT count(*) FROM submission "
                                      f"WHERE organisation = '{PROBE_ORG}'")
        cases = rows(urls["case-management"], 'SELECT reference, id FROM "case"')
        known = rows(urls["mediation-scheduling"], "SELECT case_id FROM known_case")
        index = rows(urls["notification"], "SELECT reference FROM case_index")
        notes = rows(urls["notification"], "SELECT recipient, params FROM notification "
                                           "WHERE topic = 'case-opened'")
        staff = rows(urls["notification"], "SELECT subject, organisation FROM staff_recipient")
        planned: dict[str, Counter[str]] = defaultdict(Counter)
        for recipient, params in notes:
            planned[_json(params)["reference"]][recipient] += 1
        return cls(
            reports=Counter(r for r, _, _ in intake),
            report_orgs={r: org for r, org, _ in intake},
            report_case={r: _hex(c) for r, _, c in intake},
            cases=Counter(r for r, _ in cases), case_ids={r: _hex(i) for r, i in cases},
            known_cases={_hex(c) for (c,) in known},
            case_index=Counter(r for (r,) in index), planned=dict(planned),
            recipients={f"staff:{s}": org for s, org in staff}, probed=int(probed[0][0]))

    def settled(self, references: Iterable[str]) -> bool:
        """Whether every grievance went all the way: case, intake told, mediation told,
        notification planned (what a check would wait for)."""
        staff = Counter(self.recipients.values())
        for ref in references:
            case = self.case_ids.get(ref)
            org = self.report_orgs.get(ref)
            if case is None or self.report_case.get(ref) != case or case not in self.known_cases:
                return False
            if sum(self.planned.get(ref, Counter()).values()) < staff[org]:
                return False
        return True

    def problems(self, accepted: list[str], keyless_accepted: list[str]) -> list[str]:
        """Everything wrong, in words (empty when nothing is)."""
        found = []
        everyone = set(accepted) | set(keyless_accepted)
        for ref in accepted + keyless_accepted:
            if self.reports[ref] != 1:
                found.append(f"{ref}: {self.reports[ref]} reports in intake")
            if self.cases[ref] != 1:
                found.append(f"{ref}: {self.cases[ref]} cases in case-management")
            case = self.case_ids.get(ref)
            if case is not None and self.report_case.get(ref) != case:
                found.append(f"{ref}: intake knows case {self.report_case.get(ref)}, not {case}")
            if case is not None and case not in self.known_cases:
                found.append(f"{ref}: mediation-scheduling never learnt of case {case}")
            if self.case_index[ref] != 1:
                found.append(f"{ref}: {self.case_index[ref]} case_index rows in notification")
            org = self.report_orgs.get(ref)
            expected = {r for r, o in self.recipients.items() if o == org}
            got = self.planned.get(ref, Counter())
            if set(got) != expected or any(n != 1 for n in got.values()):
                found.append(f"{ref}: case-opened notifications {dict(got)}, expected one each "
                             f"for {sorted(expected)}")
        for ref, n in self.cases.items():
            if ref not in self.reports:
                found.append(f"{ref}: {n} cases without a report in intake")
        orphans = [r for r in self.reports if r not in everyone
                   and self.report_orgs[r] == KEYED_ORG]
        if orphans:
            found.append(f"{len(orphans)} reports from clients with Idempotency-Key that no "
                         f"client got a receipt for: {orphans[:10]}")
        return found

    def keyless_orphans(self, keyless_accepted: list[str]) -> list[str]:
        """Reports of key-less clients that no 201 handed out (a 503 or a cut after intake
        had committed; the worker holds no receipt for them)."""
        return [r for r in self.reports if r not in set(keyless_accepted)
                and self.report_orgs[r] == KEYLESS_ORG]


def _hex(value: Any) -> str | None:
    if value is None:
        return None
    return uuid.UUID(str(value)).hex if not isinstance(value, bytes) else uuid.UUID(
        bytes=value).hex


def settle(urls: dict[str, str], references: list[str], timeout: float = 120) -> Ledger:
    """Read the ledger until every accepted grievance went all the way (or `timeout`), then
    once more after a pause, so a late duplicate delivery would be seen too."""
    deadline = time.monotonic() + timeout
    ledger = Ledger.read(urls)
    while not ledger.settled(references) and time.monotonic() < deadline:
        time.sleep(1)
        ledger = Ledger.read(urls)
    time.sleep(3)
    return Ledger.read(urls)


def register_staff(stack: Stack) -> None:
    """Save notification preferences (an email address) for each of STAFF, so a new case
    plans one email to each of them."""
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as http:
        for username, _ in STAFF:
            reply = http.post(f"{stack.issuer_url}/protocol/openid-connect/token", data={
                "grant_type": "password", "client_id": "suara-cli", "username": username,
                "password": "suara-dev"})
            assert reply.status_code == 200, reply.text
            auth = {"Authorization": f"Bearer {reply.json()['access_token']}"}
            saved = http.put("/api/v1/me/notifications", headers=auth, json={
                "email": f"{username.replace('.', '-')}@example.org"})
            assert saved.status_code == 200, saved.text
