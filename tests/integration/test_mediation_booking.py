"""Issue 5: a mediator of Tenaganita sets up resources, starts a mediation for a case that was
just reported, holds and confirms a slot with an Idempotency-Key, records a party's answer,
reschedules and cancels, over the gateway and a real nats-server."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from suara_contracts.alerts import AlertView
from suara_contracts.subjects import Evt
from suara_gateway.api_alerts import wording
from suara_mediation.models import Outbox

from .mediation_case import open_case

KL = ZoneInfo("Asia/Kuala_Lumpur")
WEEKDAYS = [{"weekday": d, "start": "08:00", "end": "18:00"} for d in range(1, 8)]


def ok(reply: Any, status: int) -> Any:
    assert reply.status_code == status, reply.text
    return reply.json()


async def test_mediation_from_resources_to_cancellation(system: Any) -> None:
    http = system.http
    mediator = await system.auth("mediator.tenaganita")
    case_id = await open_case(system)

    resource = {"kind": "mediator", "name": "Mediator Aisyah", "timezone": "Asia/Kuala_Lumpur",
                "weekly_hours": WEEKDAYS, "languages": ["ms", "en"], "buffer_after_minutes": 15}
    aisyah = ok(await http.post("/api/v1/mediation/resources", headers=mediator, json=resource),
                201)["resource_id"]
    bad = await http.post("/api/v1/mediation/resources", headers=mediator,
                          json={**resource, "timezone": "Mars/Base"})
    assert ok(bad, 422)["errors"][0]["field"] == "timezone"
    zoom = ok(await http.post("/api/v1/mediation/resources", headers=mediator, json={
        "kind": "video-link", "name": "Zoom room 1", "timezone": "Asia/Kuala_Lumpur",
        "weekly_hours": [{"weekday": d, "start": "07:00", "end": "22:00"}
                         for d in range(1, 8)]}), 201)["resource_id"]
    listed = ok(await http.get("/api/v1/mediation/resources", headers=mediator), 200)
    assert {r["name"] for r in listed["items"]} == {"Mediator Aisyah", "Zoom room 1"}

    mediation = ok(await http.post(f"/api/v1/cases/{case_id}/mediations", headers=mediator,
                                   json={"mode": "video", "parties": [
                                       {"role": "worker", "alias": "Worker A",
                                        "timezone": "Asia/Kuala_Lumpur", "rest_days": [7],
                                        "quiet_hours": {"start": "21:00", "end": "07:00"}},
                                       {"role": "employer", "alias": "Employer HR",
                                        "timezone": "Asia/Kuala_Lumpur"}]}), 201)
    mediation_id = mediation["mediation_id"]
    worker = mediation["parties"][0]["party_id"]

    # the engine's best slots: within Aisyah's hours, never the worker's Sunday or quiet hours
    proposed = ok(await http.post(f"/api/v1/mediations/{mediation_id}/proposals",
                                  headers=mediator, json={"duration_minutes": 60}), 200)
    assert proposed["slots"], proposed
    for option in proposed["slots"]:
        local = datetime.fromisoformat(option["starts_at"]).astimezone(KL)
        assert local.isoweekday() != 7  # the worker's rest day
        assert local.hour >= 8  # Aisyah's hours: 08:00 to 18:00
        assert local + timedelta(hours=1) <= local.replace(hour=18, minute=0)
        assert sorted(option["resource_ids"]) == sorted([aisyah, zoom])
        assert {t["alias"] for t in option["local"]} == {"Worker A", "Employer HR"}
    ballot = ok(await http.post(f"/api/v1/mediations/{mediation_id}/proposals",
                                headers=mediator, json={"duration_minutes": 60, "count": 3,
                                                        "vote": True}), 200)
    assert len(ballot["slots"]) == 6  # a wider list for the parties to vote on
    day = datetime.now(KL) + timedelta(days=3)
    while day.isoweekday() > 5:  # not the worker's Sunday, nor the day before it
        day += timedelta(days=1)
    start = day.replace(hour=10, minute=0, second=0, microsecond=0)
    slot = {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat(),
            "resources": [aisyah, zoom]}
    holds = f"/api/v1/mediations/{mediation_id}/holds"
    key = {"Idempotency-Key": "hold-3f1c"}
    held = await http.post(holds, headers={**mediator, **key}, json=slot)
    hold = ok(held, 201)
    assert hold["status"] == "held"
    again = await http.post(holds, headers={**mediator, **key}, json=slot)
    assert ok(again, 201)["booking_id"] == hold["booking_id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    reused = await http.post(holds, headers={**mediator, **key},
                             json={**slot, "resources": [aisyah]})
    assert "Idempotency-Key reuse" in ok(reused, 422)["detail"]
    assert ok(await http.post(holds, headers=mediator, json=slot), 422)
    clash = await http.post(f"/api/v1/mediations/{mediation_id}/bookings",
                            headers={**mediator, "Idempotency-Key": "book-1"}, json=slot)
    assert "Mediator Aisyah is already held" in ok(clash, 409)["detail"]

    booking = f"/api/v1/bookings/{hold['booking_id']}"
    confirmed = ok(await http.post(f"{booking}/confirm",
                                   headers={**mediator, "Idempotency-Key": "confirm-1"}), 200)
    assert confirmed["status"] == "booked"
    answered = ok(await http.post(f"{booking}/responses", headers=mediator,
                                  json={"party_id": worker, "response": "accepted"}), 200)
    assert answered["attendance"][0]["response"] == "accepted"
    later = start + timedelta(days=1)
    moved = ok(await http.post(f"{booking}/reschedule",
                               headers={**mediator, "Idempotency-Key": "move-1"},
                               json={"starts_at": later.isoformat(),
                                     "ends_at": (later + timedelta(hours=1)).isoformat()}), 200)
    assert (moved["sequence"], moved["attendance"][0]["response"]) == (1, "pending")
    employer = mediation["parties"][1]["party_id"]
    invite = await http.get(f"{booking}/invites/{worker}", headers=mediator)
    assert invite.status_code == 200, invite.text
    assert invite.headers["content-type"].startswith("text/calendar")
    calendar = invite.text.replace("\r\n ", "")  # unfold
    assert "METHOD:REQUEST" in calendar
    assert "SEQUENCE:1" in calendar
    assert "TZID=Asia/Kuala_Lumpur" in calendar
    assert "Worker A" in calendar
    assert "Employer HR" not in calendar  # the worker's copy names nobody else
    uid = next(line for line in calendar.splitlines() if line.startswith("UID:"))
    theirs = (await http.get(f"{booking}/invites/{employer}", headers=mediator)).text
    assert uid in theirs
    assert "Worker A" in theirs  # the worker only by alias
    unknown = await http.get(f"{booking}/invites/{mediation_id}", headers=mediator)
    assert unknown.status_code == 404
    cancelled = ok(await http.post(f"{booking}/cancel", headers=mediator,
                                   json={"reason": "settled"}), 200)
    assert (cancelled["status"], cancelled["sequence"]) == ("cancelled", 2)
    withdrawn = (await http.get(f"{booking}/invites/{worker}", headers=mediator)).text
    assert "METHOD:CANCEL" in withdrawn
    assert "STATUS:CANCELLED" in withdrawn
    assert uid in withdrawn.replace("\r\n ", "")
    own = await http.get(f"{booking}/invite", headers=mediator)
    assert own.status_code == 200
    assert "Employer HR" in own.text.replace("\r\n ", "")  # the mediator's copy names all

    detail = ok(await http.get(f"/api/v1/mediations/{mediation_id}", headers=mediator), 200)
    assert [b["status"] for b in detail["bookings"]] == ["cancelled"]
    handler = await system.auth("handler.tenaganita")
    assert (await http.get(f"/api/v1/mediations/{mediation_id}", headers=handler)).status_code \
        == 403
    other = await system.auth("handler.map")
    assert (await http.get("/api/v1/mediation/resources", headers=other)).status_code == 403

    async with system.services["mediation-scheduling"].transaction() as session:
        subjects = [r.subject for r in await session.exec(
            select(Outbox).order_by(col(Outbox.created_at)))]
    assert subjects == [Evt.SESSION_BOOKED, Evt.PARTY_RESPONDED, Evt.SESSION_RESCHEDULED,
                        Evt.SESSION_CANCELLED]


def test_session_alerts_are_worded_for_the_team() -> None:
    alert = AlertView(alert_id=uuid4(), organisation="tenaganita", kind="session-no-show",
                      case_ids=[uuid4()], due_on=date(2026, 12, 4),
                      party="employer: Employer HR", raised_on=date(2026, 12, 4))
    text = wording(alert)
    assert text.startswith("employer: Employer HR did not come to the mediation session of "
                           "2026-12-04 on case ")
    declined = wording(alert.model_copy(update={"kind": "session-declined"}))
    assert "Employer HR declined the mediation session" in declined
