"""A case handler's day over HTTP: take a case, move it, code it, write to the reporter, close
it; conflicts of interest; the deadline scan raising its event on NATS."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import nats
import pytest
from nats.aio.msg import Msg

from suara_cases import handlers as case_handlers
from suara_contracts.subjects import Evt
from suara_kit.clock import today
from suara_kit.outbox import open_payload
from suara_kit.testing import eventually

ANSWERS = {"categories": ["unpaid-wages"], "country": "MY",
           "what_happened": "No salary since August."}


async def new_case(system: Any, headers: dict[str, str]) -> tuple[str, dict[str, str]]:
    filed = await system.http.post("/api/v1/reports", json={"organisation": "tenaganita",
                                                            "answers": ANSWERS})
    reference = filed.json()["reference"]
    receipt = {"reference": reference, "receipt": filed.json()["receipt"]}

    async def opened() -> str | None:
        items = (await system.http.get("/api/v1/cases", headers=headers)).json()["items"]
        return next((c["case_id"] for c in items if c["reference"] == reference), None)

    return str(await eventually(opened)), receipt


async def test_a_handler_works_a_case_from_intake_to_closure(system: Any) -> None:
    ani = await system.auth("handler.tenaganita")
    case_id, receipt = await new_case(system, ani)
    base = f"/api/v1/cases/{case_id}"
    taken = await system.http.post(f"{base}/assign", json={}, headers=ani)
    assert taken.status_code == 200, taken.text
    assert taken.json()["assigned_to"]
    assert taken.json()["due"]["acknowledge"] == (today() + timedelta(days=7)).isoformat()

    wrong = await system.http.post(f"{base}/transitions", json={"to": "resolved"}, headers=ani)
    assert wrong.status_code == 409
    assert wrong.headers["content-type"] == "application/problem+json"
    assert "Allowed from 'received'" in wrong.json()["detail"]

    for body in ({"to": "acknowledged", "message": "We have your report."},
                 {"to": "in-assessment"}, {"to": "in-resolution", "reason": "Employer called"},
                 {"to": "resolved", "message": "Your wages were paid."}):
        moved = await system.http.post(f"{base}/transitions", json=body, headers=ani)
        assert moved.status_code == 200, moved.text
    early = await system.http.post(f"{base}/transitions", json={"to": "closed"}, headers=ani)
    assert early.status_code == 409
    assert early.json()["missing"] == ["issues", "corridor", "respondent"]
    coded = await system.http.put(f"{base}/coding", headers=ani, json={
        "issues": ["unpaid-wages"], "origin": "ID", "destination": "MY",
        "respondent": "Maju Jaya Sdn Bhd", "respondent_kind": "employer"})
    assert coded.status_code == 200, coded.text
    assert coded.json()["respondent"] == "Maju Jaya Sdn Bhd"
    note = await system.http.post(f"{base}/messages", json={"message": "Closing next week."},
                                  headers=ani)
    assert note.status_code == 201, note.text
    closed = await system.http.post(f"{base}/transitions", json={"to": "closed"}, headers=ani)
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"

    async def reporter_sees_it() -> bool:
        view = (await system.http.post("/api/v1/reports/lookup", json=receipt)).json()
        bodies = [m["body"] for m in view["messages"]]
        return view["status"] == "closed" and "Your wages were paid." in bodies and (
            "Closing next week." in bodies)

    assert await eventually(reporter_sees_it)

    # the queue's filters and pages, through the gateway
    async def listed(query: str) -> list[str]:
        reply = await system.http.get(f"/api/v1/cases?{query}", headers=ani)
        assert reply.status_code == 200, reply.text
        return [c["case_id"] for c in reply.json()["items"]]

    assert await listed("status=closed&assigned_to=me") == [case_id]
    assert case_id not in await listed("status=received&status=acknowledged")
    assert case_id not in await listed("assigned_to=nobody")
    assert case_id in await listed("issue=unpaid-wages&origin=ID&destination=MY")
    assert case_id not in await listed("issue=abuse")
    assert (await system.http.get(base, headers=ani)).status_code == 200
    history = await system.http.get(f"{base}/history", headers=ani)
    assert history.status_code == 200, history.text
    assert [e["action"] for e in history.json()["events"]][:3] == ["open", "assign",
                                                                   "status:acknowledged"]
    assert [(e["action"], e["count"]) for e in history.json()["reads"]] == [("read", 1)]
    bad = await system.http.get("/api/v1/cases?cursor=not-a-cursor", headers=ani)
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    assert "cursor" in bad.json()["detail"]


async def test_conflicts_of_interest_keep_a_handler_off_a_case(system: Any) -> None:
    ani = await system.auth("handler.tenaganita")
    declared = await system.http.post("/api/v1/me/conflicts", json={"respondent": "PT Sinar"},
                                      headers=ani)
    assert declared.status_code == 201, declared.text
    mine = await system.http.get("/api/v1/me/conflicts", headers=ani)
    assert [c["respondent"] for c in mine.json()["items"]] == ["PT Sinar"]
    case_id, _ = await new_case(system, ani)
    await system.http.put(f"/api/v1/cases/{case_id}/coding", headers=ani, json={
        "issues": ["recruitment-fees"], "origin": "ID", "destination": "MY",
        "respondent": "Sinar", "respondent_kind": "agency"})
    refused = await system.http.post(f"/api/v1/cases/{case_id}/assign", json={}, headers=ani)
    assert refused.status_code == 409
    assert "conflict of interest" in refused.json()["detail"]
    no_role = await system.auth("norole.tenaganita")
    assert (await system.http.get("/api/v1/me/conflicts", headers=no_role)).status_code == 403


async def test_the_deadline_scan_raises_a_breach_event(
        system: Any, nats_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ani = await system.auth("handler.tenaganita")
    case_id, _ = await new_case(system, ani)
    nc = await nats.connect(nats_url)
    seen: list[dict[str, Any]] = []

    async def keep(msg: Msg) -> None:
        sealer = system.services["case-management"].events_sealer  # events are sealed
        seen.append(json.loads(open_payload(msg.data, sealer, msg.subject)))

    sub = await nc.subscribe(Evt.DEADLINE_BREACHED, cb=keep)
    try:
        monkeypatch.setattr(case_handlers, "today", lambda: today() + timedelta(days=14))
        cases = system.services["case-management"]
        job = next(j for n, _, j in cases._periodic if n == "cases-deadline-scan")
        await job()  # what the service runs every SUARA_CASES_DEADLINE_SCAN_SECONDS

        def breached() -> list[dict[str, Any]]:
            return [e for e in seen if e["data"]["case_id"] == case_id]

        events = await eventually(breached)
        assert events[0]["data"]["kind"] == "acknowledge"  # type: ignore[index]
        assert events[0]["data"]["organisation"] == "tenaganita"  # type: ignore[index]
        await job()  # a second scan raises nothing new
        assert len(breached()) == 1
    finally:
        await sub.unsubscribe()
        await nc.close()
