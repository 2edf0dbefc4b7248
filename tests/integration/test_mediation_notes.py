"""Issue 5: a mediator of Tenaganita writes joint and caucus notes for a mediation and reads,
per side, what that side may be shown; puts candidate slots to the parties' vote; and, once
case-management shreds the case, finds the notes deleted, over the gateway and a real
nats-server."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlmodel import select

from suara_contracts.events import CaseShredded
from suara_contracts.subjects import Evt
from suara_kit.clock import today
from suara_kit.ids import uuid7
from suara_kit.testing import eventually
from suara_mediation.note_models import MediationNote

from .mediation_case import open_case

WEEKDAYS = [{"weekday": d, "start": "08:00", "end": "18:00"} for d in range(1, 8)]

WORKER_CAUCUS = "Worker fears the supervisor will cut her overtime if she names him."
EMPLOYER_CAUCUS = "HR would pay two months' arrears but not the deductions."
JOINT = "Both sides agreed to meet again on Friday."


def ok(reply: Any, status: int) -> Any:
    assert reply.status_code == status, reply.text
    return reply.json()


async def test_notes_per_side_and_the_parties_vote(system: Any) -> None:
    http = system.http
    mediator = await system.auth("mediator.tenaganita")
    case_id = await open_case(system)
    resource_id = ok(await http.post("/api/v1/mediation/resources", headers=mediator, json={
        "kind": "mediator", "name": "Mediator Aisyah", "timezone": "Asia/Kuala_Lumpur",
        "weekly_hours": WEEKDAYS}), 201)["resource_id"]
    mediation = ok(await http.post(f"/api/v1/cases/{case_id}/mediations", headers=mediator,
                                   json={"mode": "video", "parties": [
                                       {"role": "worker", "alias": "Worker A",
                                        "timezone": "Asia/Kuala_Lumpur"},
                                       {"role": "employer", "alias": "Employer HR",
                                        "timezone": "Asia/Kuala_Lumpur"}]}), 201)
    notes = f"/api/v1/mediations/{mediation['mediation_id']}/notes"
    worker, employer = (p["party_id"] for p in mediation["parties"])

    for body in ({"visibility": "caucus", "party_id": worker, "text": WORKER_CAUCUS},
                 {"visibility": "joint", "text": JOINT},
                 {"visibility": "caucus", "party_id": employer, "text": EMPLOYER_CAUCUS}):
        ok(await http.post(notes, headers=mediator, json=body), 201)
    bad = ok(await http.post(notes, headers=mediator, json={
        "visibility": "joint", "party_id": worker, "text": JOINT}), 422)
    assert bad["errors"][0]["field"] == "party_id"

    everything = ok(await http.get(notes, headers=mediator), 200)["items"]
    assert [n["text"] for n in everything] == [WORKER_CAUCUS, JOINT, EMPLOYER_CAUCUS]
    for_worker = ok(await http.get(notes, headers=mediator, params={"for_party": worker}), 200)
    for_employer = ok(await http.get(notes, headers=mediator, params={"for_party": employer}),
                      200)
    assert [n["text"] for n in for_worker["items"]] == [WORKER_CAUCUS, JOINT]
    assert [n["text"] for n in for_employer["items"]] == [JOINT, EMPLOYER_CAUCUS]

    service = system.services["mediation-scheduling"]
    async with service.transaction() as session:
        sealed = [bytes(n.sealed_text) for n in await session.exec(select(MediationNote))]
    assert len(sealed) == 3
    assert not any(b"overtime" in blob or b"arrears" in blob for blob in sealed)

    candidates = [{"starts_at": f"2030-01-0{d}T10:00:00+08:00",
                   "ends_at": f"2030-01-0{d}T11:00:00+08:00", "resource_ids": [resource_id]}
                  for d in (7, 8)]
    ballot = ok(await http.post(f"/api/v1/mediations/{mediation['mediation_id']}/ballots",
                                headers=mediator, json={"candidates": candidates}), 201)
    votes = f"/api/v1/ballots/{ballot['ballot_id']}/votes"
    ok(await http.post(votes, headers=mediator, json={"party_id": worker, "accepts": [0, 1]}),
       200)
    tally = ok(await http.post(votes, headers=mediator,
                               json={"party_id": employer, "accepts": [1]}), 200)
    assert tally["chosen"] == 1
    assert tally["reason"] is None
    unknown = ok(await http.post(votes, headers=mediator, json={
        "party_id": "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f7", "accepts": [0]}), 422)
    assert unknown["errors"][0]["field"] == "party_id"
    ok(await http.post(f"/api/v1/ballots/{ballot['ballot_id']}/close", headers=mediator), 200)
    ok(await http.post(votes, headers=mediator, json={"party_id": worker, "accepts": []}), 409)

    # case-management shreds the case at the end of its retention: the notes read as deleted
    cases = system.services["case-management"]
    async with cases.transaction() as session:
        cases.emit(session, Evt.CASE_SHREDDED, CaseShredded(
            case_id=UUID(case_id), submission_id=uuid7(), organisation="tenaganita",
            shredded_on=today()))

    async def deleted() -> list[dict[str, Any]] | None:
        items = ok(await http.get(notes, headers=mediator, params={"for_party": worker}),
                   200)["items"]
        return items if all(n["deleted"] for n in items) else None

    assert [n["text"] for n in await eventually(deleted)] == [None, None]
    ok(await http.post(notes, headers=mediator, json={"visibility": "joint", "text": JOINT}),
       410)
