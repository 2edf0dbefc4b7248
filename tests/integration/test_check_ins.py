"""After closure the reporter is asked whether anyone punished them for complaining; a yes in
their inbox (no JavaScript) reopens the case at high risk for the handler."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from suara_cases import handlers as case_handlers
from suara_kit.clock import today
from suara_kit.testing import eventually

ANSWERS = {"categories": ["unpaid-wages"], "country": "HK",
           "what_happened": "Wages withheld for two months."}


async def closed_case(system: Any, handler: dict[str, str]) -> tuple[str, dict[str, str]]:
    filed = (await system.http.post("/api/v1/reports", json={"organisation": "tenaganita",
                                                             "answers": ANSWERS})).json()
    receipt = {"reference": filed["reference"], "receipt": filed["receipt"]}

    async def opened() -> str | None:
        items = (await system.http.get("/api/v1/cases", headers=handler)).json()["items"]
        return next((c["case_id"] for c in items if c["reference"] == filed["reference"]),
                    None)

    case_id = str(await eventually(opened))
    base = f"/api/v1/cases/{case_id}"
    await system.http.put(f"{base}/coding", headers=handler, json={
        "issues": ["unpaid-wages"], "origin": "PH", "destination": "HK",
        "respondent": "A household", "respondent_kind": "employer"})
    for to in ("acknowledged", "in-assessment", "in-resolution", "resolved", "closed"):
        moved = await system.http.post(f"{base}/transitions", headers=handler,
                                       json={"to": to, "message": f"Now {to}."})
        assert moved.status_code == 200, moved.text
    return case_id, receipt


async def test_a_yes_at_the_first_check_in_reopens_the_case(
        system: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    handler = await system.auth("handler.tenaganita")
    case_id, receipt = await closed_case(system, handler)
    monkeypatch.setattr(case_handlers, "today", lambda: today() + timedelta(days=31))
    cases = system.services["case-management"]
    await next(job for name, _, job in cases._periodic if name == "cases-check-ins")()

    async def asked() -> str | None:
        page = await system.http.post("/follow-up", data=receipt)
        return page.text if 'action="/check-in"' in page.text else None

    page = str(await eventually(asked))
    assert "has anyone punished you for complaining" in page
    question = re.search(r'name="question" value="([^"]+)"', page)
    assert question
    answered = await system.http.post("/check-in", data={
        **receipt, "question": question.group(1), "answer": "yes"})
    assert answered.status_code == 200, answered.text
    assert 'id="notice"' in answered.text
    assert 'action="/check-in"' not in answered.text  # no second click on the same question

    async def reopened() -> dict[str, Any] | None:
        detail = (await system.http.get(f"/api/v1/cases/{case_id}", headers=handler)).json()
        return detail if detail["status"] == "in-assessment" else None

    detail = await eventually(reopened)
    assert detail["risk"] == "high"  # type: ignore[index]
    assert "retaliation-after-closure" in detail["risk_reasons"]  # type: ignore[index]

    async def answer_kept() -> bool:
        view = (await system.http.post("/api/v1/reports/lookup", json=receipt)).json()
        kinds = {m["kind"]: m for m in view["messages"]}
        return kinds.get("check-in-question", {}).get("answered") is True and (
            kinds.get("check-in-answer", {}).get("body") == "yes")

    assert await eventually(answer_kept)
    again = await system.http.post("/check-in", data={
        **receipt, "question": question.group(1), "answer": "no"})
    assert again.status_code == 200  # accepted, but the first answer stands
    view = (await system.http.post("/api/v1/reports/lookup", json=receipt)).json()
    assert [m["body"] for m in view["messages"] if m["kind"] == "check-in-answer"] == ["yes"]


async def test_a_check_in_answer_needs_the_receipt(system: Any) -> None:
    page = await system.http.post("/check-in", data={
        "reference": "SU-AAAA-BBBB", "receipt": "x" * 20, "question": "not-a-uuid",
        "answer": "yes"})
    assert page.status_code == 422
    wrong = await system.http.post("/api/v1/reports/follow-up", json={
        "reference": "SU-AAAA-BBBB", "receipt": "x" * 20, "kind": "check-in",
        "answers_message": "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0", "answer": "yes"})
    assert wrong.status_code == 404
