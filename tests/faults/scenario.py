"""What every fault scenario does once its faults are planned: run the burst with them, wait
until everything accepted has settled, report the figures, and check what must hold."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .burst import Attempt, Burst, Ledger, assert_unavailable_answers, settle
from .conftest import RPC_TIMEOUT


@dataclass
class Outcome:
    """A burst's grievances once settled: accepted with a key, accepted without, and the
    ledger of every service's database."""

    accepted: list[str]
    keyless: list[str]
    ledger: Ledger


def run_and_settle(burst: Burst, faults: Callable[[Burst], Awaitable[None]],
                   urls: dict[str, str], figures: Callable[[str], None],
                   describe: Callable[[], str]) -> Outcome:
    """Run `burst` with `faults`, settle, print `describe()` with the burst's figures."""
    started = time.monotonic()
    asyncio.run(burst.run(faults))
    burst_seconds = time.monotonic() - started
    accepted, keyless = burst.accepted_references(True), burst.accepted_references(False)
    ledger = settle(urls, accepted + keyless)
    figures(f"burst {burst_seconds:.1f} s, settled {time.monotonic() - started:.1f} s; "
            f"{describe()}; {burst.summary()}")
    keyless_doubts(ledger, keyless, burst, figures)
    return Outcome(accepted, keyless, ledger)


def keyless_doubts(ledger: Ledger, keyless: list[str], burst: Burst,
                   figures: Callable[[str], None]) -> None:
    """Key-less clients cannot be deduplicated: a report intake committed before the client
    lost its answer has no receipt anywhere. Count them; they can only come from answers that
    did not tell the client what happened (a connection cut mid-request, a 503 at the
    gateway's RPC timeout, or a 503 saying the database went away while it committed)."""
    orphans = ledger.keyless_orphans(keyless)
    unclear = [a for a in burst.attempts if not a.keyed and (
        (a.status is None and a.error != "ConnectError")
        or (a.status == 503 and a.elapsed >= 0.8 * RPC_TIMEOUT)
        or a.reason == "outcome-unknown")]
    figures(f"key-less clients: {len(keyless)} accepted, {len(orphans)} reports without a "
            f"receipt, {len(unclear)} answers that left the client in doubt")
    assert len(orphans) <= len(unclear), (orphans, unclear)


def assert_kept_through_outage(outcome: Outcome, burst: Burst, probed: list[Attempt],
                               total: int, bound: float) -> None:
    """Everything accepted settled once; single requests sent while a dependency was away were
    all refused with a 503 and left nothing behind; no answer took longer than `bound`."""
    assert len(outcome.accepted) + len(outcome.keyless) == total
    assert outcome.ledger.problems(outcome.accepted, outcome.keyless) == []
    assert {a.status for a in probed} == {503}, probed  # nothing accepted while it was away…
    assert outcome.ledger.probed == 0  # …and nothing kept either
    assert_unavailable_answers(burst.attempts + probed, bound)
