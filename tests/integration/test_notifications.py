"""Issue 6 end to end: a worker files a high-risk report and asks for nudges by SMS; the
handler, the mediator and a partner's system hear of the case, the worker's reply, the
handler's message and a booked session, by email over a real SMTP server (aiosmtpd), by SMS
through a local fake provider, and by signed webhooks. No email, SMS or webhook body ever
carries what the worker said or who they are."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session
from sqlmodel import select
from standardwebhooks.webhooks import Webhook

from suara_kit.testing import eventually
from suara_mediation.models import KnownCase

KL = ZoneInfo("Asia/Kuala_Lumpur")
STORY = "Majikan Puan Rosnah mengunci saya di rumah dan menyimpan paspor saya sejak Jun"
WORKER = "Siti Nurhaliza binti Ahmad"
WORKER_PHONE = "+62 812 7777 3131"
REPLY = "Saya masih di rumah majikan, tolong hubungi pada hari Ahad"
HANDLER_TEXT = "Kami akan menghubungi Dinas Tenaga Kerja tentang paspor Anda"
SECRETS = (STORY, WORKER, "Rosnah", "Dinas Tenaga Kerja", REPLY, HANDLER_TEXT, "Nurhaliza", "7777 3131",
           "81277773131")
WEEKDAYS = [{"weekday": d, "start": "08:00", "end": "18:00"} for d in range(1, 8)]
EMPLOYER = "Tuan Besar"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mailbox:
    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: object, session: Session,
                          envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 accepted"

    def to(self, address: str) -> list[Any]:
        return [message_from_bytes(e.original_content or b"", policy=policy.default)
                for e in self.envelopes if address in e.rcpt_tos]

    def raw(self) -> list[str]:
        return [(e.original_content or b"").decode("utf-8", "replace") for e in self.envelopes]


class Http:
    """A local HTTP server that answers `status` with `body` and keeps each request."""

    def __init__(self, status: int, body: bytes) -> None:
        self.status, self.body, self.url = status, body, ""
        self.requests: list[tuple[str, dict[str, str], str]] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip()
                   for k, _, v in (line.partition(":") for line in head[1:] if ":" in line)}
        body = (await reader.readexactly(int(headers.get("content-length", "0")))).decode()
        self.requests.append((head[0].split(" ")[1], headers, body))
        writer.write(f"HTTP/1.1 {self.status} X\r\ncontent-type: application/json\r\n"
                     f"content-length: {len(self.body)}\r\nconnection: close\r\n\r\n".encode()
                     + self.body)
        await writer.drain()
        writer.close()


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


async def _serve(found: Http) -> AsyncIterator[Http]:
    server = await asyncio.start_server(found.handle, "127.0.0.1", 0)
    found.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    async with server:
        yield found


@pytest.fixture
async def sms() -> AsyncIterator[Http]:
    async for found in _serve(Http(201, b'{"sid": "SM0001", "status": "queued"}')):
        yield found


@pytest.fixture
async def hooks() -> AsyncIterator[Http]:
    async for found in _serve(Http(200, b"")):
        yield found


@pytest.fixture
def notification_overrides(mailbox: tuple[Mailbox, int], sms: Http) -> dict[str, Any]:
    return {"smtp_url": f"smtp://127.0.0.1:{mailbox[1]}", "sms_url": sms.url,
            "sms_account": "AC0001", "sms_token": "sms-token", "delivery_poll_seconds": 0.1,
            "webhook_allow_networks": ["127.0.0.0/8"],
            "console_url": "https://console.suara.example"}


def ok(reply: Any, status: int) -> Any:
    assert reply.status_code == status, reply.text
    return reply.json()


async def partner(system: Any) -> dict[str, str]:
    reply = await system.issuer.post("/realms/suara/protocol/openid-connect/token",
                                     data={"grant_type": "client_credentials"},
                                     auth=("partner-tenaganita", "dev-secret-partner-tenaganita"))
    return {"Authorization": f"Bearer {ok(reply, 200)['access_token']}"}


async def book_a_session(system: Any, case: str, mediator: dict[str, str]) -> str:
    http = system.http

    async def known() -> bool:
        async with system.services["mediation-scheduling"].transaction() as session:
            return any(str(k.case_id) == case for k in await session.exec(select(KnownCase)))

    await eventually(known)
    room = ok(await http.post("/api/v1/mediation/resources", headers=mediator, json={
        "kind": "mediator", "name": "Mediator Aisyah", "timezone": "Asia/Kuala_Lumpur",
        "weekly_hours": WEEKDAYS, "languages": ["ms", "id"]}), 201)["resource_id"]
    mediation = ok(await http.post(f"/api/v1/cases/{case}/mediations", headers=mediator, json={
        "mode": "video", "parties": [
            {"role": "worker", "alias": "Worker A", "timezone": "Asia/Kuala_Lumpur",
             "language": "id"},
            {"role": "employer", "alias": EMPLOYER, "timezone": "Asia/Kuala_Lumpur",
             "language": "ms"}]}), 201)
    start = (datetime.now(KL) + timedelta(days=3)).replace(hour=10, minute=0, second=0,
                                                           microsecond=0)
    booked = ok(await http.post(
        f"/api/v1/mediations/{mediation['mediation_id']}/bookings",
        headers={**mediator, "Idempotency-Key": "notify-book-1"},
        json={"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat(),
              "resources": [room]}), 201)
    return str(booked["booking_id"])


async def test_everyone_hears_of_the_case_and_no_message_carries_what_the_worker_said(
        system: Any, mailbox: tuple[Mailbox, int], sms: Http, hooks: Http) -> None:
    http, box = system.http, mailbox[0]
    handler = await system.auth("handler.tenaganita")
    mediator = await system.auth("mediator.tenaganita")
    ok(await http.put("/api/v1/me/notifications", headers=handler, json={
        "email": "ani@tenaganita.example", "phone": "+60123456789", "sms_urgent": True,
        "timezone": "Asia/Kuala_Lumpur", "language": "id"}), 200)
    me = ok(await http.get("/api/v1/me/notifications", headers=handler), 200)
    assert (me["registered"], me["organisation"]) == (True, "tenaganita")
    ok(await http.put("/api/v1/me/notifications", headers=mediator, json={
        "email": "aisyah@tenaganita.example", "timezone": "Asia/Kuala_Lumpur"}), 200)
    hook = ok(await http.post("/api/v1/webhooks", headers=await partner(system), json={
        "url": f"{hooks.url}/suara", "event_types": ["case.opened", "session.booked"]}), 201)

    filed = ok(await http.post("/api/v1/reports", json={"organisation": "tenaganita", "answers": {
        "categories": ["confinement", "document-retention"], "country": "MY",
        "what_happened": STORY, "contact": f"{WORKER}, {WORKER_PHONE}"}}), 201)
    receipt = {"reference": filed["reference"], "receipt": filed["receipt"]}
    contact = ok(await http.post("/api/v1/reports/contact", json={
        **receipt, "channel": "sms", "address": WORKER_PHONE, "language": "id",
        "timezone": "Asia/Jakarta", "quiet_from": None, "quiet_until": None}), 200)
    assert contact["masked"].endswith("31")
    assert "7777" not in contact["masked"]
    wrong = await http.post("/api/v1/reports/contact/lookup",
                            json={**receipt, "receipt": "not-the-receipt-at-all"})
    assert wrong.status_code in (403, 404), wrong.text

    # the high-risk case: email and, urgent, an SMS to the handler; the partner's webhook
    await eventually(lambda: box.to("ani@tenaganita.example"), timeout=20)
    [opened] = box.to("ani@tenaganita.example")
    assert filed["reference"] in opened["Subject"] or filed["reference"] in opened.get_body(
        ("plain",)).get_content()
    await eventually(lambda: any(parse_qs(b).get("To") == ["+60123456789"]
                                 for _, _, b in sms.requests), timeout=20)
    await eventually(lambda: hooks.requests, timeout=20)
    _path, headers, body = hooks.requests[0]
    assert Webhook(hook["secret"]).verify(body, headers)["type"] == "case.opened"

    items = ok(await http.get("/api/v1/cases", headers=handler), 200)["items"]
    case = next(c["case_id"] for c in items if c["reference"] == filed["reference"])
    ok(await http.post(f"/api/v1/cases/{case}/messages", headers=handler,
                       json={"message": HANDLER_TEXT}), 201)
    ok(await http.post("/api/v1/reports/follow-up",
                       json={**receipt, "kind": "reply", "text": REPLY}), 201)

    # the worker: one neutral nudge, in Indonesian, to the number they gave
    def nudges() -> list[dict[str, list[str]]]:
        return [q for q in (parse_qs(b) for _, _, b in sms.requests)
                if q.get("To") == ["+6281277773131"]]
    await eventually(nudges, timeout=20)
    assert "pesan baru" in nudges()[0]["Body"][0].lower()  # "Ada pesan baru untuk Anda…"
    # the handler hears of the worker's reply, not what it says
    await eventually(lambda: len(box.to("ani@tenaganita.example")) >= 2, timeout=20)

    await book_a_session(system, case, mediator)
    await eventually(lambda: box.to("aisyah@tenaganita.example"), timeout=20)
    [session_mail] = box.to("aisyah@tenaganita.example")
    invites = [p for p in session_mail.iter_attachments()
               if p.get_content_type() == "text/calendar"]
    assert invites
    assert "BEGIN:VCALENDAR" in invites[0].get_content()
    await eventually(lambda: len(hooks.requests) >= 2, timeout=20)
    kinds = [json.loads(b)["type"] for _, _, b in hooks.requests]
    assert sorted(kinds) == ["case.opened", "session.booked"]

    # nothing the worker said, nor who they are, in any email, SMS or webhook body
    sms_bodies = [" ".join(parse_qs(b).get("Body", [])) for _, _, b in sms.requests]
    everything = box.raw() + sms_bodies + [b for _, _, b in hooks.requests]
    for secret in (*SECRETS, filed["receipt"]):
        leaked = [text[:80] for text in everything if secret.lower() in text.lower()]
        assert not leaked, f"{secret!r} leaked into {leaked}"
    # the worker's nudges name nothing at all, not even the reference staff messages carry
    assert all(filed["reference"] not in " ".join(q["Body"]) for q in nudges())
