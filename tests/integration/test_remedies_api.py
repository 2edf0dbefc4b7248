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
