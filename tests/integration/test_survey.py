"""The reporter rates the process once after a decision; the scores are counted per
organisation and quarter, shown only from five answers, and never linked to a case."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import select

from suara_cases.models import SurveyTally
from suara_kit.testing import eventually

ANSWERS = {"categories": ["no-rest-day"], "country": "SG",
           "what_happened": "No day off since March."}


async def decided(system: Any, handler: dict[str, str]) -> dict[str, str]:
    filed = (await system.http.post("/api/v1/reports", json={"organisation": "tenaganita",
                                                             "answers": ANSWERS})).json()
    receipt = {"reference": filed["reference"], "receipt": filed["receipt"]}

    async def opened() -> str | None:
        items = (await system.http.get("/api/v1/cases", headers=handler)).json()["items"]
        return next((c["case_id"] for c in items if c["reference"] == filed["reference"]),
                    None)

    case_id = await eventually(opened)
    for to in ("acknowledged", "in-assessment", "in-resolution", "resolved"):
        moved = await system.http.post(f"/api/v1/cases/{case_id}/transitions", headers=handler,
                                       json={"to": to, "message": "update"})
        assert moved.status_code == 200, moved.text

    async def mirrored() -> bool:
        view = await system.http.post("/api/v1/reports/lookup", json=receipt)
        return view.json()["status"] == "resolved"

    assert await eventually(mirrored)
    return receipt


async def test_five_ratings_make_a_visible_average_and_nothing_links_them(
        system: Any) -> None:
    handler = await system.auth("handler.tenaganita")
    early = (await system.http.post("/api/v1/reports", json={
        "organisation": "tenaganita", "answers": ANSWERS})).json()
    not_yet = await system.http.post("/api/v1/reports/survey", json={
        "reference": early["reference"], "receipt": early["receipt"], "fair": 5,
        "respectful": 5, "recommend": 5})
    assert not_yet.status_code == 409  # no decision yet

    receipts = [await decided(system, handler) for _ in range(5)]
    first = await system.http.post("/follow-up", data=receipts[0])
    assert 'action="/survey"' in first.text
    page = await system.http.post("/survey", data={**receipts[0], "fair": "4",
                                                   "respectful": "5", "recommend": "3"})
    assert page.status_code == 200, page.text
    assert 'id="notice"' in page.text
    assert 'action="/survey"' not in page.text
    twice = await system.http.post("/api/v1/reports/survey", json={
        **receipts[0], "fair": 1, "respectful": 1, "recommend": 1})
    assert twice.status_code == 409  # once per report

    committee = await system.auth("committee")

    async def rows() -> list[dict[str, Any]]:
        return (await system.http.get("/api/v1/satisfaction", headers=committee)).json()["items"]

    assert await eventually(lambda: _suppressed(rows))  # one answer: counted, not shown
    for receipt in receipts[1:]:
        sent = await system.http.post("/api/v1/reports/survey", json={
            **receipt, "fair": 4, "respectful": 5, "recommend": 5})
        assert sent.status_code == 201, sent.text

    async def shown() -> dict[str, Any] | None:
        found = [r for r in await rows() if not r["suppressed"]]
        return found[0] if found and found[0]["responses"] == 5 else None

    row = await eventually(shown)
    assert row["organisation"] == "tenaganita"  # type: ignore[index]
    assert row["averages"] == {"fair": 4.0, "respectful": 5.0, "recommend": 4.6}  # type: ignore[index]
    async with system.services["case-management"].db.transaction() as session:
        tallies = (await session.exec(select(SurveyTally))).all()
    stored = json.dumps([t.model_dump() for t in tallies], default=str)
    for receipt in receipts:  # nothing in the tallies points back to a report
        assert receipt["reference"] not in stored
    no_role = await system.auth("norole.tenaganita")
    assert (await system.http.get("/api/v1/satisfaction", headers=no_role)).status_code == 403


async def _suppressed(rows: Any) -> bool:
    found = await rows()
    return bool(found) and found[0]["suppressed"] and found[0]["responses"] is None
