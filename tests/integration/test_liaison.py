"""The employer liaison's redacted case summary over the gateway and a real nats-server (issue
"Case management", safeguard: an employer liaison sees only a redacted summary, never identity
or fields the form marks identifying). A handler shares a case with the `liaison` account and
writes the summary; the liaison reads it under a random alias with the coding and the
mediation sessions; nothing the reporter wrote, no message, no reference and no case id ever
reaches a liaison response; other liaisons, revoked shares and other roles get nothing; every
read is audited; after retention the coded fields and sessions remain and the summary is gone."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlmodel import col, select

from suara_cases import content
from suara_cases.models import AuditEntry, Case
from suara_contracts.liaison import ALIAS
from suara_kit.clock import today
from suara_kit.testing import eventually

REALM = Path(__file__).resolve().parents[2] / "deploy" / "keycloak" / "realm-suara.json"
LIAISON_ID = next(u["id"] for u in json.loads(REALM.read_text(encoding="utf-8"))["users"]
                  if u["username"] == "liaison")  # the `sub` of the liaison's tokens
STORY = "Liaison marker: the supervisor Encik Rahman locked our passports in his office."
CONTACT = "Signal +60 13 555 0199 liaison-marker"
MESSAGE = "Liaison marker message: we will call the labour office on Monday."
REPORT = {
    "organisation": "tenaganita",
    "language": "en",
    "answers": {"categories": ["unpaid-wages"], "what_happened": STORY, "country": "MY",
                "origin": "MM", "contact": CONTACT},
}
CODING = {"issues": ["unpaid-wages"], "origin": "MM", "destination": "MY",
          "respondent": "Maju Plantation Sdn Bhd", "respondent_kind": "employer"}
SUMMARY = "Wages unpaid for three months at the packing line; the workers ask for payment."


def problem(reply: Any, status: int) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    return dict(reply.json())


def never_shows_the_reporter(reply: Any, reference: str, case_id: str) -> None:
    """Nothing the reporter wrote or that points back to them is in a liaison's response."""
    for marker in (STORY, CONTACT, MESSAGE, reference, case_id, "contact", "what_happened",
                   "answers", "messages", "assigned_to", "risk"):
        assert marker not in reply.text, f"{marker!r} reached the liaison: {reply.text}"


async def open_case(system: Any, handler: dict[str, str]) -> tuple[str, str]:
    """Submit a report to Tenaganita and wait for its case: (case id, reference)."""
    submitted = await system.http.post("/api/v1/reports", json=REPORT)
    assert submitted.status_code == 201, submitted.text
    reference = submitted.json()["reference"]

    async def case_id() -> str | None:
        items = (await system.http.get("/api/v1/cases", headers=handler)).json()["items"]
        return next((c["case_id"] for c in items if c["reference"] == reference), None)

    return str(await eventually(case_id)), reference


async def test_the_liaison_reads_a_redacted_summary_and_nothing_more(system: Any) -> None:
    http = system.http
    handler = await system.auth("handler.tenaganita")
    liaison = await system.auth("liaison")
    mediator = await system.auth("mediator.tenaganita")
    case_id, reference = await open_case(system, handler)
    base = f"/api/v1/cases/{case_id}"
    assert (await http.put(f"{base}/coding", headers=handler, json=CODING)).status_code == 200
    assert (await http.post(f"{base}/messages", headers=handler,
                            json={"message": MESSAGE})).status_code == 201
    starts = (datetime.now(UTC) + timedelta(days=9)).replace(microsecond=0)

    async def proposed() -> bool:  # mediation learns of the case from an event
        reply = await http.post(f"{base}/sessions", headers=mediator, json={
            "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=2)).isoformat(),
            "timezone": "Asia/Kuala_Lumpur", "mode": "video"})
        return reply.status_code == 201

    await eventually(proposed)

    async def case_has_session() -> bool:
        return (await http.get(base, headers=handler)).json()["sessions"] != []

    await eventually(case_has_session)

    shared = await http.post(f"{base}/liaison-shares", headers=handler,
                             json={"liaison": LIAISON_ID, "summary": SUMMARY})
    assert shared.status_code == 201, shared.text
    share = shared.json()
    assert re.match(ALIAS, share["alias"]), share
    assert (share["liaison"], share["summary"], share["case_id"]) == (LIAISON_ID, SUMMARY, case_id)
    assert (share["shared_on"], share["revoked_on"]) == (today().isoformat(), None)
    alias = share["alias"]

    listed = await http.get("/api/v1/liaison/cases", headers=liaison)
    assert listed.status_code == 200, listed.text
    assert [c["alias"] for c in listed.json()["items"]] == [alias]
    seen = await http.get(f"/api/v1/liaison/cases/{alias}", headers=liaison)
    assert seen.status_code == 200, seen.text
    body = seen.json()
    assert body == listed.json()["items"][0]
    assert {k: body[k] for k in ("organisation", "status", "coded_issues", "corridor_origin",
                                 "corridor_destination", "respondent", "respondent_kind",
                                 "summary", "content_deleted_on")} == {
        "organisation": "tenaganita", "status": "received", "coded_issues": ["unpaid-wages"],
        "corridor_origin": "MM", "corridor_destination": "MY",
        "respondent": "Maju Plantation Sdn Bhd", "respondent_kind": "employer",
        "summary": SUMMARY, "content_deleted_on": None}
    assert re.fullmatch(r"[0-9]{4}-[0-9]{2}", body["received_month"]), body
    assert [(s["timezone"], s["mode"]) for s in body["sessions"]] == [
        ("Asia/Kuala_Lumpur", "video")]
    assert datetime.fromisoformat(body["sessions"][0]["starts_at"]) == starts
    for reply in (listed, seen):
        never_shows_the_reporter(reply, reference, case_id)

    # every read is in the audit log, under the liaison's account and the case
    async with system.services["case-management"].transaction() as session:
        entries = list(await session.exec(select(AuditEntry).where(
            col(AuditEntry.action).startswith("liaison")).order_by(col(AuditEntry.seq))))
    assert [(e.action, str(e.case_id)) for e in entries if e.actor == LIAISON_ID] == [
        ("liaison-list", case_id), ("liaison-read", case_id)]
    assert ("liaison-share", case_id) in [(e.action, str(e.case_id)) for e in entries]

    # after retention: the coding and the sessions remain, the summary went with the key
    async with system.services["case-management"].transaction() as session:
        case = await session.get(Case, UUID(case_id))
        assert case is not None
        await content.shred(session, case, today())
    after = await http.get(f"/api/v1/liaison/cases/{alias}", headers=liaison)
    assert after.status_code == 200, after.text
    kept = after.json()
    assert (kept["summary"], kept["content_deleted_on"]) == (None, today().isoformat())
    assert (kept["coded_issues"], kept["respondent"], len(kept["sessions"])) == (
        ["unpaid-wages"], "Maju Plantation Sdn Bhd", 1)
    never_shows_the_reporter(after, reference, case_id)
    gone = await http.post(f"{base}/liaison-shares", headers=handler,
                           json={"liaison": "another-liaison", "summary": SUMMARY})
    assert "retention" in problem(gone, 410)["detail"]


async def test_only_the_named_liaison_finds_the_case_while_it_is_shared(system: Any) -> None:
    http = system.http
    handler = await system.auth("handler.tenaganita")
    liaison = await system.auth("liaison")
    case_id, reference = await open_case(system, handler)
    base = f"/api/v1/cases/{case_id}/liaison-shares"

    # shared with someone else: the liaison gets the same 404 as for an alias never made
    elsewhere = await http.post(base, headers=handler,
                                json={"liaison": "another-liaison-account", "summary": SUMMARY})
    assert elsewhere.status_code == 201, elsewhere.text
    for alias in (elsewhere.json()["alias"], "LS-0000-0000"):
        refused = problem(await http.get(f"/api/v1/liaison/cases/{alias}", headers=liaison), 404)
        assert refused["detail"] == "No case shared with you has this alias."
        assert "another-liaison-account" not in json.dumps(refused)
    assert (await http.get("/api/v1/liaison/cases", headers=liaison)).json()["items"] == []

    mine = await http.post(base, headers=handler, json={"liaison": LIAISON_ID,
                                                        "summary": SUMMARY})
    assert mine.status_code == 201, mine.text
    alias, share_id = mine.json()["alias"], mine.json()["share_id"]
    assert (await http.get(f"/api/v1/liaison/cases/{alias}", headers=liaison)).status_code == 200

    # other roles: no token 401, any other role 403 (whatever the alias: nothing is revealed)
    assert problem(await http.get(f"/api/v1/liaison/cases/{alias}"), 401)
    for who in ("handler.tenaganita", "admin", "committee", "mediator.tenaganita"):
        headers = await system.auth(who)
        for path in (f"/api/v1/liaison/cases/{alias}", "/api/v1/liaison/cases"):
            assert "employer-liaison" in problem(await http.get(path, headers=headers),
                                                 403)["detail"]
    # and the liaison cannot reach the case or its shares by any case route
    for path in (f"/api/v1/cases/{case_id}", base):
        problem(await http.get(path, headers=liaison), 403)

    # a second active share with the same liaison is a 409; revoked, the alias is a 404
    again = problem(await http.post(base, headers=handler,
                                    json={"liaison": LIAISON_ID, "summary": "Other words."}),
                    409)
    assert "already shared with that liaison" in again["detail"]
    assert again["share_id"] == share_id
    listed = await http.get(base, headers=handler)
    assert [s["alias"] for s in listed.json()["items"]] == [alias, elsewhere.json()["alias"]]
    revoked = await http.post(f"{base}/{share_id}/revoke", headers=handler)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_on"] == today().isoformat()
    problem(await http.post(f"{base}/{share_id}/revoke", headers=handler), 409)
    problem(await http.get(f"/api/v1/liaison/cases/{alias}", headers=liaison), 404)
    assert (await http.get("/api/v1/liaison/cases", headers=liaison)).json()["items"] == []
    problem(await http.post(f"{base}/0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0/revoke",
                            headers=handler), 404)

    # another organisation's handler does not find the case at all
    mapf = await system.auth("handler.map")
    problem(await http.post(base, headers=mapf, json={"liaison": LIAISON_ID,
                                                      "summary": SUMMARY}), 404)
    problem(await http.get(base, headers=mapf), 404)

    # refused lookups are audited too
    async with system.services["case-management"].transaction() as session:
        refusals = list(await session.exec(select(AuditEntry).where(
            AuditEntry.actor == LIAISON_ID, AuditEntry.action == "liaison-read-refused")))
    assert len(refusals) == 3
    assert reference not in json.dumps([r.model_dump(mode="json") for r in refusals])


async def test_a_share_is_validated(system: Any) -> None:
    http = system.http
    handler = await system.auth("handler.tenaganita")
    case_id, reference = await open_case(system, handler)
    base = f"/api/v1/cases/{case_id}/liaison-shares"
    cases = [
        ({"liaison": LIAISON_ID}, "summary"),
        ({"liaison": LIAISON_ID, "summary": "   "}, "write the summary"),
        ({"liaison": LIAISON_ID, "summary": "x" * 2001}, "2000"),
        ({"summary": SUMMARY}, "liaison"),
        ({"liaison": "two words", "summary": SUMMARY}, "liaison"),
        ({"liaison": LIAISON_ID, "summary": SUMMARY, "answers": {"contact": "x"}}, "answers"),
        ({"liaison": LIAISON_ID, "summary": f"Case {reference} is about wages."}, "reference"),
    ]
    for body, says in cases:
        refused = problem(await http.post(base, headers=handler, json=body), 422)
        assert says in refused["detail"], (body, refused)
        assert not {STORY, CONTACT} & set(json.dumps(refused).split('"')), refused
    own = problem(await http.post(base, headers=handler, json={
        "liaison": _subject_of(handler), "summary": SUMMARY}), 422)
    assert "your own account" in own["detail"]
    assert (await http.get(base, headers=handler)).json()["items"] == []


def _subject_of(headers: dict[str, str]) -> str:
    """The `sub` of a bearer token (unverified: the test's own token)."""
    payload = headers["Authorization"].split()[1].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["sub"])
