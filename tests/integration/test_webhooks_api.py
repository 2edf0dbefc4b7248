"""Partner webhooks through the gateway, in one story (the running system is costly to start):
a partner system (client credentials) subscribes an endpoint, and a new case reaches it as a
thin, signed POST that the independent `standardwebhooks` verifier accepts; the partner lists,
changes, replays, rotates and deletes; another organisation never sees it; staff without the
role are refused; bad input is a problem+json."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from suara_kit.testing import eventually
from suara_notification import netguard

STORY = "Webhook story: the agent keeps my passport and two months of wages."
PROBLEM = "application/problem+json"


@pytest.fixture
def notification_overrides() -> dict[str, Any]:
    """A receiver on this machine may be reached; the delivery loop polls quickly."""
    return {"webhook_allow_networks": ["127.0.0.0/8"], "delivery_poll_seconds": 0.1}


@pytest.fixture(autouse=True)
def dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Partner host names resolve without a DNS server (notification runs in this process)."""
    async def lookup(host: str, _: int) -> list[str]:
        table = {"hooks.partner.example": ["93.184.215.14"], "intranet.example": ["10.0.0.8"]}
        if host not in table:
            raise netguard.Unresolved(f"{host} does not resolve.")
        return table[host]

    monkeypatch.setattr(netguard, "_addresses", lookup)


class Receiver:
    """A partner's endpoint on 127.0.0.1: keeps each request's headers and body, answers 200."""

    def __init__(self) -> None:
        self.got: list[tuple[dict[str, str], str]] = []
        self.url = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip()
                   for k, _, v in (line.partition(":") for line in head[1:] if ":" in line)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.got.append((headers, body.decode()))
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        await writer.drain()
        writer.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    server = await asyncio.start_server(found.handle, "127.0.0.1", 0)
    found.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hooks/suara"
    async with server:
        yield found


async def partner(system: Any, client: str) -> dict[str, str]:
    """A partner system's token (OAuth2 client credentials)."""
    reply = await system.issuer.post("/realms/suara/protocol/openid-connect/token",
                                     data={"grant_type": "client_credentials"},
                                     auth=(client, f"dev-secret-{client}"))
    assert reply.status_code == 200, reply.text
    return {"Authorization": f"Bearer {reply.json()['access_token']}"}


def problem(reply: Any, status: int, says: str = "") -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = reply.json()
    assert body["status"] == status
    assert says in body["detail"], body
    return body


async def receives_a_new_case(system: Any, receiver: Receiver, mine: dict[str, str],
                              theirs: dict[str, str]) -> tuple[str, str, str]:
    """Subscribe to case.opened, file a report: the endpoint gets it, thin and signed; the
    same endpoint subscribed by another organisation gets nothing."""
    http = system.http
    made = await http.post("/api/v1/webhooks", headers=mine, json={
        "url": receiver.url, "description": "case system", "event_types": ["case.opened"]})
    assert made.status_code == 201, made.text
    hook = made.json()
    assert hook["secret"].startswith("whsec_")
    assert (hook["organisation"], hook["enabled"], hook["created_by"]) == (
        "tenaganita", True, "partner-tenaganita")
    other = await http.post("/api/v1/webhooks", headers=theirs, json={
        "url": receiver.url, "event_types": ["case.opened"]})
    assert other.status_code == 201, other.text

    filed = await http.post("/api/v1/reports", json={"organisation": "tenaganita", "answers": {
        "categories": ["unpaid-wages"], "country": "MY", "what_happened": STORY}})
    assert filed.status_code == 201, filed.text
    await eventually(lambda: receiver.got, timeout=15)
    [(headers, body)] = receiver.got
    sent = json.loads(body)
    assert Webhook(hook["secret"]).verify(body, headers) == sent
    assert sent["type"] == "case.opened"
    assert sent["data"] == {"case_id": sent["data"]["case_id"],
                            "reference": filed.json()["reference"]}  # thin: ids only
    assert STORY not in body
    assert headers["user-agent"] == "Suara-Webhooks/1"

    async def delivered() -> list[dict[str, Any]] | None:
        reply = await http.get(f"/api/v1/webhooks/{hook['webhook_id']}/deliveries",
                               headers=mine)
        items = reply.json()["items"]
        return items if items and items[0]["state"] == "sent" else None

    [delivery] = await eventually(delivered, timeout=10)  # type: ignore[misc]
    assert delivery["message_id"] == headers["webhook-id"].removeprefix("msg_")
    assert (delivery["event_type"], delivery["body"]) == ("case.opened", body)
    assert [(a["status"], a["http_status"]) for a in delivery["attempts"]] == [("sent", 200)]
    assert len(receiver.got) == 1
    return hook["webhook_id"], hook["secret"], other.json()["webhook_id"]


async def test_a_partner_subscribes_receives_and_manages_its_webhooks(
        system: Any, receiver: Receiver) -> None:
    http = system.http
    mine = await partner(system, "partner-tenaganita")
    theirs = await partner(system, "partner-map-foundation")
    types = await http.get("/api/v1/webhook-event-types", headers=mine)
    assert types.status_code == 200, types.text
    assert {"case.opened", "referral.changed"} <= {t["type"] for t in types.json()["items"]}

    webhook_id, secret, their_id = await receives_a_new_case(system, receiver, mine, theirs)
    path = f"/api/v1/webhooks/{webhook_id}"

    listed = await http.get("/api/v1/webhooks", headers=mine)
    assert [w["webhook_id"] for w in listed.json()["items"]] == [webhook_id]
    assert secret not in listed.text  # shown once only
    assert "secret" not in (await http.get(path, headers=mine)).json()

    # paused, a replay is refused; resumed, the message goes again with its original id
    paused = await http.patch(path, headers=mine, json={"enabled": False})
    assert (paused.status_code, paused.json()["enabled"]) == (200, False)
    problem(await http.post(f"{path}/replay", headers=mine,
                            json={"since": "2026-01-01T00:00:00Z"}), 409, "enable it first")
    assert (await http.patch(path, headers=mine, json={"enabled": True})).json()["enabled"]
    replayed = await http.post(f"{path}/replay", headers=mine,
                               json={"since": "2026-01-01T00:00:00Z"})
    assert (replayed.status_code, replayed.json()) == (202, {"replayed": 1})
    await eventually(lambda: len(receiver.got) == 2, timeout=10)
    (first, body), (again, body_again) = receiver.got
    assert again["webhook-id"] == first["webhook-id"]
    assert body_again == body
    Webhook(secret).verify(body_again, again)

    changed = await http.patch(path, headers=mine, json={
        "url": "https://hooks.partner.example/v2?token=abc",
        "event_types": ["session.booked", "case.opened"]})
    assert changed.status_code == 200, changed.text
    view = changed.json()
    assert (view["url"], view["event_types"], view["enabled"], view["description"]) == (
        "https://hooks.partner.example/v2?token=abc", ["session.booked", "case.opened"],
        True, "case system")  # left out: unchanged

    rotated = await http.post(f"{path}/secret", headers=mine)
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["secret"].startswith("whsec_")
    assert rotated.json()["secret"] != secret
    assert rotated.json()["previous_valid_until"] is not None

    # another organisation's partner: nothing to see, nothing to touch
    assert [w["webhook_id"] for w in (await http.get("/api/v1/webhooks", headers=theirs))
            .json()["items"]] == [their_id]
    for method, sub in (("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/secret"),
                        ("GET", "/deliveries")):
        reply = await http.request(method, f"{path}{sub}", headers=theirs,
                                   json={} if method == "PATCH" else None)
        problem(reply, 404, "No such webhook")
    # staff without the partner or admin role; an admin of no organisation; no token
    problem(await http.get("/api/v1/webhooks", headers=await system.auth("handler.tenaganita")),
            403, "role")
    problem(await http.get("/api/v1/webhooks", headers=await system.auth("admin")), 403,
            "no organisation")
    problem(await http.get("/api/v1/webhooks"), 401)

    # bad input: the gateway's schema, then notification's rules; problem+json either way
    bad: list[tuple[dict[str, Any], str]] = [
        ({"url": "https://intranet.example/x", "event_types": ["case.opened"]}, "10.0.0.8"),
        ({"url": "https://169.254.169.254/", "event_types": ["case.opened"]}, "non-public"),
        ({"url": "http://hooks.partner.example/", "event_types": ["case.opened"]}, "https"),
        ({"url": "https://hooks.partner.example/", "event_types": ["case.reopened"]},
         "unknown event type case.reopened"),
        ({"url": "https://hooks.partner.example/", "event_types": ["Case Opened"]},
         "event_types"),
        ({"url": "https://hooks.partner.example/", "event_types": []}, "event_types"),
        ({"event_types": ["case.opened"]}, "url"),
        ({"url": "https://hooks.partner.example/", "event_types": ["case.opened"],
          "secret": "whsec_mine"}, "secret"),
    ]
    for body, says in bad:
        problem(await http.post("/api/v1/webhooks", headers=mine, json=body), 422, says)
    problem(await http.get("/api/v1/webhooks/not-a-uuid", headers=mine), 422)
    problem(await http.post(f"{path}/replay", headers=mine, json={}), 422,
            "message_id or since")

    deleted = await http.delete(path, headers=mine)
    assert (deleted.status_code, deleted.content) == (204, b"")
    problem(await http.get(path, headers=mine), 404)
    assert (await http.get("/api/v1/webhooks", headers=mine)).json()["items"] == []
