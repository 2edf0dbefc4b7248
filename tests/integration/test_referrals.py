"""A case referred from Tenaganita (MY) to MAP Foundation (TH) over the gateway and a real
nats-server: consent checked by the server, the override, share profiles, acceptance into the
receiver's own case, the outcome flowing back, revocation, and the directory."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from suara_cases.models import Outbox
from suara_contracts.subjects import Evt
from suara_kit.testing import eventually

CONTACT = "WhatsApp +60 12 345 6789"
REPORT = {
    "organisation": "tenaganita",
    "language": "en",
    "answers": {
        "categories": ["unpaid-wages"],
        "what_happened": "The farm in Tak has not paid me since August.",
        "country": "MY",
        "origin": "MM",
        "contact": CONTACT,
    },
}
CONSENT = {"to_organisation": "map-foundation", "share_profile": "standard",
           "obtained": "worker said yes in person on 2026-11-20"}
REFERRAL = {"to_organisation": "map-foundation", "type": "referral",
            "share_profile": "standard", "note": "Worker is moving to Mae Sot next week."}


async def open_case(system: Any, handler: dict[str, str]) -> str:
    """Submit a report to Tenaganita and wait for its case."""
    submitted = await system.http.post("/api/v1/reports", json=REPORT)
    assert submitted.status_code == 201, submitted.text
    reference = submitted.json()["reference"]

    async def case_id() -> str | None:
        items = (await system.http.get("/api/v1/cases", headers=handler)).json()["items"]
        return next((c["case_id"] for c in items if c["reference"] == reference), None)

    return str(await eventually(case_id))


def problem(reply: Any, status: int) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    return dict(reply.json())


async def test_referral_from_consent_to_outcome(system: Any) -> None:
    tenaganita = await system.auth("handler.tenaganita")
    mapf = await system.auth("handler.map")
    case_id = await open_case(system, tenaganita)
    http = system.http

    no_consent = await http.post(f"/api/v1/cases/{case_id}/referrals", headers=tenaganita,
                                 json=REFERRAL)
    assert "has not consented" in problem(no_consent, 409)["detail"]
    not_allowed = await http.post(f"/api/v1/cases/{case_id}/referrals", headers=tenaganita,
                                  json={**REFERRAL, "override_reason": "It is urgent, trust me"})
    assert "consent-override" in problem(not_allowed, 409)["detail"]

    recorded = await http.post(f"/api/v1/cases/{case_id}/consents", headers=tenaganita,
                               json=CONSENT)
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["source"] == "staff-recorded"
    created = await http.post(f"/api/v1/cases/{case_id}/referrals", headers=tenaganita,
                              json=REFERRAL)
    assert created.status_code == 201, created.text
    referral = created.json()
    assert (referral["status"], referral["consent"], referral["direction"]) == (
        "pending", "recorded", "outgoing")
    rid = referral["referral_id"]

    incoming = await http.get("/api/v1/referrals", params={"direction": "incoming"},
                              headers=mapf)
    assert [r["referral_id"] for r in incoming.json()["items"]] == [rid]
    seen = await http.get(f"/api/v1/referrals/{rid}", headers=mapf)
    assert seen.status_code == 200, seen.text
    shared = seen.json()["shared"]
    assert shared["answers"] == {k: v for k, v in REPORT["answers"].items() if k != "contact"}
    assert CONTACT not in seen.text
    assert seen.json()["case_id"] is None
    assert seen.json()["note"] == "Worker is moving to Mae Sot next week."
    assert (await http.get(f"/api/v1/cases/{case_id}", headers=mapf)).status_code == 404

    own = await http.post(f"/api/v1/referrals/{rid}/accept", headers=tenaganita)
    assert "Only map-foundation's case handlers" in problem(own, 403)["detail"]

    accepted = await http.post(f"/api/v1/referrals/{rid}/accept", headers=mapf)
    assert accepted.status_code == 200, accepted.text
    linked = accepted.json()["linked_case_id"]
    again = await http.post(f"/api/v1/referrals/{rid}/accept", headers=mapf)
    assert "'accepted' cannot become 'accepted'" in problem(again, 409)["detail"]
    their_case = await http.get(f"/api/v1/cases/{linked}", headers=mapf)
    assert their_case.status_code == 200, their_case.text
    assert their_case.json()["organisation"] == "map-foundation"
    assert "contact" not in their_case.json()["answers"]
    assert CONTACT not in their_case.text
    assert any(c["case_id"] == linked for c in
               (await http.get("/api/v1/cases", headers=mapf)).json()["items"])

    empty = await http.post(f"/api/v1/referrals/{rid}/complete", headers=mapf,
                            json={"outcome": "   "})
    problem(empty, 422)
    done = await http.post(f"/api/v1/referrals/{rid}/complete", headers=mapf,
                           json={"outcome": "Back wages paid after the labour office hearing."})
    assert done.status_code == 200, done.text
    revoke_late = await http.post(f"/api/v1/referrals/{rid}/revoke", headers=tenaganita)
    problem(revoke_late, 409)

    on_case = await http.get(f"/api/v1/cases/{case_id}/referrals", headers=tenaganita)
    assert on_case.status_code == 200, on_case.text
    [back] = on_case.json()["referrals"]
    assert (back["status"], back["outcome"]) == (
        "done", "Back wages paid after the labour office hearing.")
    assert [c["to_organisation"] for c in on_case.json()["consents"]] == ["map-foundation"]

    outbox = system.services["case-management"].db

    async def published() -> list[str]:
        async with outbox.transaction() as session:
            rows = (await session.exec(select(Outbox).where(
                col(Outbox.published_at).is_not(None)))).all()
        return [r.subject for r in rows if ".referral." in r.subject]

    await eventually(lambda: _count(published, 3))
    assert set(await published()) == {Evt.REFERRAL_CREATED, Evt.REFERRAL_ACCEPTED,
                                      Evt.REFERRAL_COMPLETED}


async def _count(check: Any, n: int) -> bool:
    return len(await check()) >= n


async def test_supervisor_overrides_with_a_reason_and_the_sender_revokes(system: Any) -> None:
    tenaganita = await system.auth("handler.tenaganita")
    supervisor = await system.auth("supervisor.tenaganita")
    mapf = await system.auth("handler.map")
    case_id = await open_case(system, tenaganita)
    http = system.http

    no_reason = await http.post(f"/api/v1/cases/{case_id}/referrals", headers=supervisor,
                                json=REFERRAL)
    problem(no_reason, 409)
    reason = "Worker is locked in at the farm; MAP's outreach team can reach Tak today."
    overridden = await http.post(f"/api/v1/cases/{case_id}/referrals", headers=supervisor,
                                 json={**REFERRAL, "share_profile": "minimal",
                                       "override_reason": reason})
    assert overridden.status_code == 201, overridden.text
    body = overridden.json()
    assert (body["consent"], body["override_reason"]) == ("overridden", reason)
    rid = body["referral_id"]

    theirs = await http.get(f"/api/v1/referrals/{rid}", headers=mapf)
    assert theirs.json()["override_reason"] is None
    assert set(theirs.json()["shared"]["answers"]) == {"categories", "country", "origin"}

    not_theirs = await http.post(f"/api/v1/referrals/{rid}/revoke", headers=mapf)
    problem(not_theirs, 403)
    revoked = await http.post(f"/api/v1/referrals/{rid}/revoke", headers=tenaganita,
                              json={"reason": "The worker reached the shelter on their own."})
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
    hidden = await http.get(f"/api/v1/referrals/{rid}", headers=mapf)
    assert hidden.json()["shared"] is None
    too_late = await http.post(f"/api/v1/referrals/{rid}/accept", headers=mapf)
    assert "'revoked' cannot become 'accepted'" in problem(too_late, 409)["detail"]

    transfer = await http.post(f"/api/v1/cases/{case_id}/referrals", headers=supervisor,
                               json={**REFERRAL, "type": "transfer", "override_reason": reason})
    assert "share profile is 'full'" in problem(transfer, 422)["detail"]


async def test_directory_is_for_any_staff_token(system: Any) -> None:
    anonymous = await system.http.get("/api/v1/organisations")
    problem(anonymous, 401)
    for user in ("handler.map", "committee", "mediator.tenaganita"):
        listed = await system.http.get("/api/v1/organisations",
                                       headers=await system.auth(user))
        assert listed.status_code == 200, listed.text
        ids = {o["id"] for o in listed.json()["items"]}
        assert {"tenaganita", "map-foundation", "serve-the-people", "apmm"} <= ids
    in_thailand = await system.http.get("/api/v1/organisations", params={"country": "TH"},
                                        headers=await system.auth("handler.map"))
    [mapf] = in_thailand.json()["items"]
    assert (mapf["id"], mapf["example"], mapf["contact"]["route"]) == (
        "map-foundation", False, "suara")
    bad = await system.http.get("/api/v1/organisations", params={"country": "Thailand"},
                                headers=await system.auth("handler.map"))
    problem(bad, 422)


async def test_withdrawn_consent_revokes_the_referral_that_relied_on_it(system: Any) -> None:
    tenaganita = await system.auth("handler.tenaganita")
    case_id = await _withdrawal_case(system, tenaganita)
    consent = await system.http.post(f"/api/v1/cases/{case_id}/consents", headers=tenaganita,
                                     json={"to_organisation": "map-foundation",
                                           "share_profile": "standard",
                                           "obtained": "The worker agreed in person."})
    assert consent.status_code == 201, consent.text
    referral = await system.http.post(f"/api/v1/cases/{case_id}/referrals", headers=tenaganita,
                                      json={"to_organisation": "map-foundation",
                                            "share_profile": "standard"})
    assert referral.status_code == 201, referral.text
    referral_id = referral.json()["referral_id"]
    mapf = await system.auth("handler.map")
    accepted = await system.http.post(f"/api/v1/referrals/{referral_id}/accept", headers=mapf)
    assert accepted.status_code == 200, accepted.text

    path = f"/api/v1/cases/{case_id}/consents/{consent.json()['consent_id']}/withdraw"
    withdrawn = await system.http.post(path, headers=tenaganita,
                                       json={"reason": "The worker phoned to withdraw."})
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["withdrawn_on"]
    seen = await system.http.get(f"/api/v1/referrals/{referral_id}", headers=mapf)
    assert seen.json()["status"] == "revoked"
    assert not seen.json().get("shared")  # the receiver lost what was shared
    again = await system.http.post(path, headers=tenaganita, json={"reason": "twice"})
    assert again.status_code == 409
    new = await system.http.post(f"/api/v1/cases/{case_id}/referrals", headers=tenaganita,
                                 json={"to_organisation": "map-foundation",
                                       "share_profile": "standard"})
    assert new.status_code == 409  # the withdrawn consent covers nothing any more
    other = await system.http.post(path, headers=mapf, json={"reason": "not theirs"})
    assert other.status_code == 404


async def _withdrawal_case(system: Any, headers: dict[str, str]) -> str:
    filed = (await system.http.post("/api/v1/reports", json={
        "organisation": "tenaganita", "answers": {
            "categories": ["recruitment-fees"], "country": "TH",
            "what_happened": "Fees taken from my wages."}})).json()

    async def opened() -> str | None:
        items = (await system.http.get("/api/v1/cases", headers=headers)).json()["items"]
        return next((c["case_id"] for c in items if c["reference"] == filed["reference"]),
                    None)

    return str(await eventually(opened))
