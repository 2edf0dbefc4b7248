"""What the mediation suites share: a case reported to Tenaganita just now, once
mediation-scheduling knows of it (it learns of cases from case-management's events)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from suara_kit.testing import eventually
from suara_mediation.models import KnownCase

REPORT = {"organisation": "tenaganita", "answers": {
    "categories": ["unpaid-wages"], "country": "MY",
    "what_happened": "My employer in Petaling Jaya has kept my wages since June."}}


async def open_case(system: Any) -> str:
    """Report to Tenaganita; the case's id once mediation knows of the case."""
    handler = await system.auth("handler.tenaganita")
    reply = await system.http.post("/api/v1/reports", json=REPORT)
    assert reply.status_code == 201, reply.text
    reference = reply.json()["reference"]

    async def case_id() -> str | None:
        items = (await system.http.get("/api/v1/cases", headers=handler)).json()["items"]
        return next((c["case_id"] for c in items if c["reference"] == reference), None)

    found = str(await eventually(case_id))
    mediation = system.services["mediation-scheduling"]

    async def known() -> bool:
        async with mediation.transaction() as session:
            return await session.get(KnownCase, UUID(found)) is not None

    await eventually(known)
    return found
