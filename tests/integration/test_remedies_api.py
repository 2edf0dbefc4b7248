"""Remedy routes over HTTP: public, by corridor and issue, each with its source."""

from __future__ import annotations

from typing import Any


async def test_routes_for_an_indonesian_worker_in_hong_kong(system: Any) -> None:
    reply = await system.http.get("/api/v1/remedies", params=[
        ("destination", "HK"), ("origin", "ID"), ("issue", "unpaid-wages"),
        ("issue", "retaliation")])
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["destination"], body["origin"]) == ("HK", "ID")
    found = body["routes"]
    assert found[0]["country"] == "HK"
    assert any(r["country"] == "ID" for r in found)
    assert all(r["source"].startswith("https://") for r in found)


async def test_an_unknown_country_is_a_problem(system: Any) -> None:
    reply = await system.http.get("/api/v1/remedies", params={"destination": "XX"})
    assert reply.status_code == 422
    assert reply.headers["content-type"] == "application/problem+json"
    lower = await system.http.get("/api/v1/remedies", params={"destination": "hk"})
    assert lower.status_code == 422


async def test_receipt_page_lists_where_else_to_get_help(system: Any) -> None:
    page = await system.http.post("/id/report", data={
        "organisation": "apmm", "categories": ["unpaid-wages"], "country": "HK",
        "what_happened": "Gaji saya tidak dibayar."})
    assert page.status_code == 201, page.text
    assert "Tempat lain untuk mendapat bantuan" in page.text
    assert "Labour Tribunal" in page.text
    assert 'href="https://' in page.text
    other = await system.http.post("/report", data={
        "organisation": "apmm", "categories": ["abuse"], "country": "other",
        "what_happened": "Somewhere else."})
    assert other.status_code == 201
    assert "Where else you can get help" not in other.text


async def test_status_page_lists_where_else_to_get_help(system: Any) -> None:
    filed = (await system.http.post("/api/v1/reports", json={
        "organisation": "tenaganita",
        "answers": {"categories": ["unpaid-wages"], "country": "MY",
                    "what_happened": "Tiada gaji."}})).json()
    secret = {"reference": filed["reference"], "receipt": filed["receipt"]}
    lookup = await system.http.post("/api/v1/reports/lookup", json=secret)
    assert lookup.json()["country"] == "MY"
    assert lookup.json()["categories"] == ["unpaid-wages"]
    page = await system.http.post("/ms/follow-up", data=secret)
    assert page.status_code == 200, page.text
    assert "Tempat lain untuk mendapatkan bantuan" in page.text
    assert "Labour Department" in page.text or "Jabatan Tenaga Kerja" in page.text


async def test_the_worker_committee_corrects_adds_and_withdraws_routes(system: Any) -> None:
    committee = await system.auth("committee")
    original = (await system.http.get("/api/v1/remedies/hk-labour-tribunal")).json()
    corrected = {**original, "contact": "Tel. 2625 0020 (corrected)", "note": None,
                 "checked_on": "2026-11-20"}
    change = {"route": corrected, "reason": "Number checked with the tribunal on 2026-11-20"}
    reply = await system.http.put("/api/v1/remedies/hk-labour-tribunal", json=change,
                                  headers=committee)
    assert reply.status_code == 200, reply.text
    assert reply.json()["route"]["contact"] == "Tel. 2625 0020 (corrected)"
    assert reply.json()["reason"] == "Number checked with the tribunal on 2026-11-20"
    assert reply.json()["edited_by"]  # the committee member's account id
    listed = (await system.http.get("/api/v1/remedies", params={"destination": "HK"})).json()
    tribunal = next(r for r in listed["routes"] if r["id"] == "hk-labour-tribunal")
    assert tribunal["contact"] == "Tel. 2625 0020 (corrected)"

    new = {**original, "id": "hk-new-hotline", "name": "A new hotline", "kind": "cso-hotline"}
    added = await system.http.put("/api/v1/remedies/hk-new-hotline", json={
        "route": new, "reason": "Opened in November"}, headers=committee)
    assert added.status_code == 200, added.text
    gone = await system.http.post("/api/v1/remedies/hk-new-hotline/withdraw",
                                  json={"reason": "Closed again"}, headers=committee)
    assert gone.status_code == 200
    assert gone.json()["route"] is None
    after = (await system.http.get("/api/v1/remedies", params={"destination": "HK"})).json()
    assert "hk-new-hotline" not in {r["id"] for r in after["routes"]}
    assert (await system.http.get("/api/v1/remedies/hk-new-hotline")).status_code == 404


async def test_route_edits_are_checked_and_only_for_the_committee(system: Any) -> None:
    original = (await system.http.get("/api/v1/remedies/hk-labour-tribunal")).json()
    change = {"route": {**original, "source": "http://insecure.example"}, "reason": "test"}
    handler = await system.auth("handler.tenaganita")
    forbidden = await system.http.put("/api/v1/remedies/hk-labour-tribunal", json=change,
                                      headers=handler)
    assert forbidden.status_code == 403
    assert (await system.http.put("/api/v1/remedies/hk-labour-tribunal",
                                  json=change)).status_code == 401
    committee = await system.auth("committee")
    bad = await system.http.put("/api/v1/remedies/hk-labour-tribunal", json=change,
                                headers=committee)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "route.source"
    mismatch = await system.http.put("/api/v1/remedies/other-id", json={
        "route": original, "reason": "wrong address"}, headers=committee)
    assert mismatch.status_code == 422
    assert "route.id" in mismatch.json()["detail"]
    unknown = await system.http.post("/api/v1/remedies/no-such-route/withdraw",
                                     json={"reason": "gone"}, headers=committee)
    assert unknown.status_code == 404
