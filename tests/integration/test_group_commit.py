"""Reports filed at the same moment share intake's transactions (group commit), and each
still gets its own receipt, a retry its own first answer, and exactly one case."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from suara_kit.testing import eventually

REPORTS = "/api/v1/reports"


def report(i: int) -> dict[str, Any]:
    return {"organisation": "tenaganita", "language": "en", "answers": {
        "categories": ["unpaid-wages"], "country": "MY",
        "what_happened": f"Report {i}: no salary for three months."}}


async def test_reports_filed_together_commit_together_and_each_keeps_its_own(
        system: Any) -> None:
    intake = system.services["intake"]
    before = (intake.grouped.groups, intake.grouped.members)
    keys = [{"Idempotency-Key": str(uuid.uuid4())} if i % 2 else {} for i in range(24)]
    bad = {"organisation": "tenaganita", "language": "en", "answers": {"country": "MY"}}
    answers = await asyncio.gather(
        *(system.http.post(REPORTS, json=report(i), headers=keys[i]) for i in range(24)),
        system.http.post(REPORTS, json=bad))
    *filed, refused = answers
    assert [a.status_code for a in filed] == [201] * 24, [a.text for a in filed]
    assert refused.status_code == 422  # refused alone: the others are filed all the same
    receipts = [a.json() for a in filed]
    assert len({r["reference"] for r in receipts}) == len({r["receipt"] for r in receipts}) == 24

    groups = intake.grouped.groups - before[0]
    members = intake.grouped.members - before[1]
    assert members == 24
    assert groups < 24, "reports arriving together should share transactions"

    for i in (1, 3):  # a retry gets its own first answer, not a neighbour's
        again = await system.http.post(REPORTS, json=report(i), headers=keys[i])
        assert again.status_code == 201
        assert again.json() == receipts[i]
        assert again.headers["idempotent-replayed"] == "true"

    handler = await system.auth("handler.tenaganita")
    wanted = {r["reference"] for r in receipts}

    async def cases() -> list[str] | None:
        answer = await system.http.get("/api/v1/cases", params={"limit": 100},
                                       headers=handler)
        found = [c["reference"] for c in answer.json()["items"]]
        return found if wanted <= set(found) else None

    found = await eventually(cases, timeout=30)
    assert sorted(found) == sorted(wanted)  # one case each, none twice
