"""The team is alerted: a missed deadline and a cluster of cases against one respondent reach
the organisation's case handlers at GET /api/v1/alerts (case-management's events, through
notification), and a handler takes an alert on once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from suara_cases import handlers as case_handlers
from suara_kit.clock import today
from suara_kit.testing import eventually

STORY = "No salary since August; the agent keeps my passport in Klang."
ANSWERS = {"categories": ["unpaid-wages"], "country": "MY", "what_happened": STORY}
RESPONDENT = "Alert Plantation Sdn Bhd"


async def new_case(system: Any, handler: dict[str, str]) -> str:
    filed = await system.http.post("/api/v1/reports", json={"organisation": "tenaganita",
                                                            "answers": ANSWERS})
    assert filed.status_code == 201, filed.text
    reference = filed.json()["reference"]

    async def opened() -> str | None:
        items = (await system.http.get("/api/v1/cases", headers=handler)).json()["items"]
        return next((c["case_id"] for c in items if c["reference"] == reference), None)

    return str(await eventually(opened))


async def alerts_of(system: Any, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    reply = await system.http.get("/api/v1/alerts", headers=headers, params=params)
    assert reply.status_code == 200, reply.text
    assert STORY not in reply.text
    return list(reply.json()["items"])


async def test_a_missed_acknowledgement_alerts_the_team_and_one_handler_takes_it_on(
        system: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    ani = await system.auth("handler.tenaganita")
    supervisor = await system.auth("supervisor.tenaganita")
    other_org = await system.auth("handler.map")
    unassigned = await new_case(system, ani)
    assigned = await new_case(system, ani)
    taken = await system.http.post(f"/api/v1/cases/{assigned}/assign", json={}, headers=ani)
    assert taken.status_code == 200, taken.text
    ani_id = taken.json()["assigned_to"]
    assert await alerts_of(system, ani) == []

    monkeypatch.setattr(case_handlers, "today", lambda: today() + timedelta(days=8))
    cases = system.services["case-management"]
    scan = next(job for name, _, job in cases._periodic if name == "cases-deadline-scan")
    await scan()
    await scan()  # a second scan raises nothing new

    async def raised() -> list[dict[str, Any]] | None:
        items = await alerts_of(system, ani)
        return items if len(items) == 2 else None

    items = await eventually(raised)
    assert isinstance(items, list)
    by_case = {a["case_ids"][0]: a for a in items}
    assert set(by_case) == {unassigned, assigned}
    for alert in items:
        assert alert["kind"] == "deadline-acknowledge"
        assert alert["organisation"] == "tenaganita"
        assert alert["due_on"] == (today() + timedelta(days=7)).isoformat()
        assert alert["acknowledged_by"] is None
        assert alert["raised_on"] == today().isoformat()
    assert by_case[unassigned]["assigned_to"] is None
    assert "whole team" in by_case[unassigned]["text"]
    assert by_case[assigned]["assigned_to"] == ani_id
    assert f"acknowledge case {assigned}" in by_case[assigned]["text"]
    assert await alerts_of(system, other_org) == []  # another organisation's team

    alert_id = by_case[unassigned]["alert_id"]
    path = f"/api/v1/alerts/{alert_id}/acknowledge"
    assert (await system.http.post(path, headers=other_org)).status_code == 404
    on_it = await system.http.post(path, headers=ani)
    assert on_it.status_code == 200, on_it.text
    assert on_it.json()["acknowledged_by"] == ani_id
    assert on_it.json()["acknowledged_on"] == today().isoformat()
    again = await system.http.post(path, headers=supervisor)
    assert again.status_code == 409, again.text
    assert again.headers["content-type"] == "application/problem+json"
    assert ani_id in again.json()["detail"]
    assert again.json()["acknowledged_by"] == ani_id

    listed = await alerts_of(system, supervisor)
    assert [a["alert_id"] for a in listed][-1] == alert_id  # taken on: after the open ones
    still_open = await alerts_of(system, ani, open_only="true")
    assert [a["case_ids"] for a in still_open] == [[assigned]]
    mediator = await system.auth("mediator.tenaganita")
    assert (await system.http.get("/api/v1/alerts", headers=mediator)).status_code == 403
    assert (await system.http.get("/api/v1/alerts")).status_code == 401


async def test_a_third_case_against_one_respondent_raises_one_cluster_alert(
        system: Any) -> None:
    ani = await system.auth("handler.tenaganita")
    coding = {"issues": ["unpaid-wages"], "origin": "ID", "destination": "MY",
              "respondent": RESPONDENT, "respondent_kind": "employer"}
    case_ids = [await new_case(system, ani) for _ in range(3)]
    for n, case_id in enumerate(case_ids):
        coded = await system.http.put(f"/api/v1/cases/{case_id}/coding", headers=ani,
                                      json=coding)
        assert coded.status_code == 200, coded.text
        if n < 2:
            assert await alerts_of(system, ani) == []
    recoded = await system.http.put(f"/api/v1/cases/{case_ids[0]}/coding", headers=ani,
                                    json=coding)  # coded again: no second alert
    assert recoded.status_code == 200, recoded.text

    async def raised() -> list[dict[str, Any]] | None:
        items = await alerts_of(system, ani)
        return items or None

    items = await eventually(raised)
    assert isinstance(items, list)
    assert len(items) == 1
    alert = items[0]
    assert alert["kind"] == "cluster"
    assert sorted(alert["case_ids"]) == sorted(case_ids)
    assert (alert["respondent"], alert["window_days"], alert["due_on"]) == (RESPONDENT, 90, None)
    assert alert["assigned_to"] is None
    assert alert["text"].startswith(f"3 cases against {RESPONDENT} within 90 days")
    assert await alerts_of(system, await system.auth("handler.map")) == []
    taken = await system.http.post(f"/api/v1/alerts/{alert['alert_id']}/acknowledge",
                                   headers=ani)
    assert taken.status_code == 200, taken.text
    assert await alerts_of(system, ani, open_only="true") == []
