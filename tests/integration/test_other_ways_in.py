"""Assisted intake by CSO staff and partner-API intake: the filer gets a one-time claim code,
the worker turns it into a receipt only they know."""

from __future__ import annotations

from typing import Any

from suara_kit.testing import eventually

ANSWERS = {"categories": ["recruitment-fees"], "country": "TH",
           "what_happened": "The agency took six months of wages for fees."}


async def partner_token(system: Any) -> dict[str, str]:
    """A client-credentials token for MAP Foundation's partner system."""
    reply = await system.issuer.post(
        "/realms/suara/protocol/openid-connect/token", data={"grant_type": "client_credentials"},
        auth=("partner-map-foundation", "dev-secret-partner-map-foundation"))
    assert reply.status_code == 200, reply.text
    return {"Authorization": f"Bearer {reply.json()['access_token']}"}


async def test_partner_files_the_worker_claims_a_receipt(system: Any) -> None:
    filed = await system.http.post("/api/v1/partner/reports", json={"answers": ANSWERS},
                                   headers=await partner_token(system))
    assert filed.status_code == 201, filed.text
    ticket = filed.json()
    assert set(ticket) == {"reference", "claim_code", "claim_by", "status"}

    claimed = await system.http.post("/api/v1/reports/claim", json={
        "reference": ticket["reference"], "claim_code": ticket["claim_code"]})
    assert claimed.status_code == 200, claimed.text
    receipt = claimed.json()["receipt"]
    again = await system.http.post("/api/v1/reports/claim", json={
        "reference": ticket["reference"], "claim_code": ticket["claim_code"]})
    assert again.status_code == 404
    assert "already used" in again.json()["detail"]

    view = await system.http.post("/api/v1/reports/lookup",
                                  json={"reference": ticket["reference"], "receipt": receipt})
    assert view.status_code == 200

    handler = await system.auth("handler.map")

    async def case_opened() -> bool:
        cases = (await system.http.get("/api/v1/cases", headers=handler)).json()["items"]
        return any(c["reference"] == ticket["reference"] for c in cases)

    assert await eventually(case_opened)


async def test_assisted_intake_is_for_case_handlers_of_an_organisation(system: Any) -> None:
    handler = await system.auth("handler.tenaganita")
    filed = await system.http.post("/api/v1/assisted/reports", headers=handler,
                                   json={"language": "id", "answers": ANSWERS})
    assert filed.status_code == 201, filed.text
    mediator = await system.auth("mediator.tenaganita")
    refused = await system.http.post("/api/v1/assisted/reports", headers=mediator,
                                     json={"answers": ANSWERS})
    assert refused.status_code == 403
    as_partner = await system.http.post("/api/v1/partner/reports", headers=handler,
                                        json={"answers": ANSWERS})
    assert as_partner.status_code == 403
    invalid = await system.http.post("/api/v1/assisted/reports", headers=handler,
                                     json={"answers": {"categories": ["nope"]}})
    assert invalid.status_code == 422
    assert invalid.headers["content-type"] == "application/problem+json"


async def test_staff_replace_a_lost_claim_code_until_the_worker_claims(system: Any) -> None:
    handler = await system.auth("handler.tenaganita")
    filed = await system.http.post("/api/v1/assisted/reports", json={"answers": ANSWERS},
                                   headers=handler)
    ticket = filed.json()
    path = f"/api/v1/assisted/reports/{ticket['reference']}/claim-code"
    other = await system.auth("handler.map")
    assert (await system.http.post(path, headers=other)).status_code == 404  # not theirs
    assert (await system.http.post(path)).status_code == 401
    fresh = await system.http.post(path, headers=handler)
    assert fresh.status_code == 200, fresh.text
    new_code = fresh.json()["claim_code"]
    assert new_code != ticket["claim_code"]
    old = await system.http.post("/api/v1/reports/claim", json={
        "reference": ticket["reference"], "claim_code": ticket["claim_code"]})
    assert old.status_code == 404  # the lost code no longer works
    claimed = await system.http.post("/api/v1/reports/claim", json={
        "reference": ticket["reference"], "claim_code": new_code})
    assert claimed.status_code == 200, claimed.text
    too_late = await system.http.post(path, headers=handler)
    assert too_late.status_code == 409
    assert "already claimed" in too_late.json()["detail"]
    web = (await system.http.post("/api/v1/reports", json={
        "organisation": "tenaganita", "answers": ANSWERS})).json()
    not_filed = await system.http.post(f"/api/v1/assisted/reports/{web['reference']}/claim-code",
                                       headers=handler)
    assert not_filed.status_code == 404  # a worker's own web report has no claim code
