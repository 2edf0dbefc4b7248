"""A mediated agreement through the gateway: flagged terms need a reason, the worker's outside
options come first, and an obligation left unkept reopens the case for its handler."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from suara_kit.clock import today
from suara_kit.testing import eventually
from suara_mediation import agreements as mediation_agreements

PROBLEM = "application/problem+json"


async def closed_case(system: Any, handler: dict[str, str]) -> str:
    filed = await system.http.post("/api/v1/reports", json={"organisation": "tenaganita",
                                                            "answers": {
        "categories": ["unpaid-wages"], "country": "TH", "origin": "MM",
        "what_happened": "No wages for three months."}})
    assert filed.status_code == 201, filed.text

    async def opened() -> str | None:
        items = (await system.http.get("/api/v1/cases", headers=handler)).json()["items"]
        return next((c["case_id"] for c in items if c["reference"] ==
                     filed.json()["reference"]), None)

    case_id = str(await eventually(opened))
    base = f"/api/v1/cases/{case_id}"
    coded = await system.http.put(f"{base}/coding", headers=handler, json={
        "issues": ["unpaid-wages"], "origin": "MM", "destination": "TH",
        "respondent": "A factory in Mae Sot", "respondent_kind": "employer"})
    assert coded.status_code == 200, coded.text
    for to in ("acknowledged", "in-assessment", "in-mediation", "resolved", "closed"):
        moved = await system.http.post(f"{base}/transitions", headers=handler,
                                       json={"to": to, "message": f"Now {to}."})
        assert moved.status_code == 200, moved.text
    return case_id


async def test_an_unkept_agreement_reopens_the_case(
        system: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    handler = await system.auth("handler.tenaganita")
    mediator = await system.auth("mediator.tenaganita")
    case_id = await closed_case(system, handler)
    due = (today() + timedelta(days=10)).isoformat()
    wages = {"kind": "payment", "description": "Three months of wages, by bank transfer",
             "due_on": due, "amount": "9000.00", "currency": "THB", "entitlement": "12000.00"}
    url = f"/api/v1/cases/{case_id}/agreements"

    async def drafted_without_reason() -> Any:
        reply = await system.http.post(url, headers=mediator, json={
            "obligations": [wages], "worker_language": "my"})
        return reply if reply.status_code != 404 else None  # mediation learns of the case

    refused = await eventually(drafted_without_reason)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == PROBLEM
    assert "pays less than the stated entitlement" in refused.json()["detail"]

    wages["flag_reason"] = "She chose 9,000 now over a tribunal claim that could take a year."
    made = await system.http.post(url, headers=mediator, json={
        "obligations": [wages], "worker_language": "my"})
    assert made.status_code == 201, made.text
    agreement = made.json()
    assert agreement["obligations"][0]["flags"] == ["below-entitlement"]
    options = agreement["outside_options"]
    assert options["language"] == "my"
    assert options["needs_native_review"] is True

    base = f"/api/v1/agreements/{agreement['agreement_id']}"
    too_soon = await system.http.post(f"{base}/sign", headers=mediator)
    assert too_soon.status_code == 409, too_soon.text
    assert "outside options" in too_soon.json()["detail"]
    acknowledged = await system.http.post(f"{base}/outside-options", headers=mediator, json={
        "language": "my", "text_version": options["version"]})
    assert acknowledged.status_code == 200, acknowledged.text
    signed = await system.http.post(f"{base}/sign", headers=mediator)
    assert signed.status_code == 200, signed.text
    assert signed.json()["status"] == "signed"
    other = await system.auth("handler.map")
    assert (await system.http.get(base, headers=other)).status_code == 403

    # the due date passes unpaid; the daily job marks it missed and case-management reopens
    monkeypatch.setattr(mediation_agreements, "today", lambda: today() + timedelta(days=11))
    service = system.services["mediation-scheduling"]
    await next(job for name, _, job in service._periodic if name == "mediation-obligations")()

    async def reopened() -> dict[str, Any] | None:
        detail = (await system.http.get(f"/api/v1/cases/{case_id}", headers=handler)).json()
        return detail if detail["status"] == "in-assessment" else None

    detail = await eventually(reopened)
    assert detail["closed_on"] is None
    assert any("did not happen" in m["body"] for m in detail["messages"])
    after = (await system.http.get(base, headers=mediator)).json()
    assert after["obligations"][0]["status"] == "missed"
