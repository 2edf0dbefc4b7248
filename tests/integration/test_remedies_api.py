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
