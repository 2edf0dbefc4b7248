"""SMS through a fake Twilio-compatible provider on 127.0.0.1 (a real HTTP server answering
from a script): the request is right, and each kind of answer becomes the right outcome."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qs
from uuid import uuid4

import pytest
from pydantic import SecretStr

from suara_notification.channels import Outgoing
from suara_notification.email import SmtpProvider
from suara_notification.providers import close, providers
from suara_notification.settings import NotificationSettings
from suara_notification.sms import HttpSmsProvider, retry_after

ACCOUNT, TOKEN, NUMBER = "AC0123", "s3cret", "+6591234567"


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, list[str]]


@dataclass
class FakeProvider:
    """Answers the next scripted (status, body, headers, delay), else 201 with a sid."""

    url: str = ""
    script: list[tuple[int, dict[str, object], dict[str, str], float]] = field(
        default_factory=list)
    requests: list[Request] = field(default_factory=list)
    handlers: set[asyncio.Task[None]] = field(default_factory=set)

    def answer(self, status: int, body: dict[str, object] | None = None,
               headers: dict[str, str] | None = None, delay: float = 0.0) -> None:
        self.script.append((status, body or {}, headers or {}, delay))

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.handlers.add(task)
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            method, path, _ = head[0].split(" ", 2)
            headers = {name.strip().lower(): value.strip()
                       for name, _, value in (line.partition(":") for line in head[1:] if line)}
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append(Request(method, path, headers, parse_qs(body.decode())))
            status, payload, extra, delay = (self.script.pop(0) if self.script
                                             else (201, {"sid": "SM0001"}, {}, 0.0))
            await asyncio.sleep(delay)
            data = json.dumps(payload).encode()
            lines = [f"HTTP/1.1 {status} X", "content-type: application/json",
                     f"content-length: {len(data)}", "connection: close",
                     *[f"{k}: {v}" for k, v in extra.items()]]
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + data)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def fake() -> AsyncIterator[FakeProvider]:
    found = FakeProvider()
    server = await asyncio.start_server(found.handle, "127.0.0.1", 0)
    found.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    async with server:
        yield found
        server.close()
        for task in found.handlers:  # a handler still sleeping for the timeout test
            task.cancel()
        await asyncio.gather(*found.handlers, return_exceptions=True)


@pytest.fixture
async def sms(fake: FakeProvider) -> AsyncIterator[HttpSmsProvider]:
    provider = HttpSmsProvider(fake.url, ACCOUNT, TOKEN, "Suara", timeout=0.5)
    yield provider
    await provider.aclose()


def message(body: str = "Suara: New case SUA-1234 https://console.example/c") -> Outgoing:
    return Outgoing(message_id=uuid4(), channel="sms", address=NUMBER, body=body)


async def test_the_request_is_a_twilio_messages_call(sms: HttpSmsProvider,
                                                     fake: FakeProvider) -> None:
    outcome = await sms.send(message())

    assert (outcome.status, outcome.detail, outcome.http_status) == ("sent", "SM0001", 201)
    (request,) = fake.requests
    assert request.method == "POST"
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.form == {"To": [NUMBER], "From": ["Suara"],
                            "Body": ["Suara: New case SUA-1234 https://console.example/c"]}
    expected = base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {expected}"


async def test_a_bad_number_is_refused(sms: HttpSmsProvider, fake: FakeProvider) -> None:
    fake.answer(400, {"code": 21211, "status": 400,
                      "message": f"The 'To' number {NUMBER} is not a valid phone number."})
    outcome = await sms.send(message())
    assert (outcome.status, outcome.http_status) == ("refused", 400)
    assert "21211" in outcome.detail
    assert NUMBER not in outcome.detail
    assert "valid" not in outcome.detail


async def test_wrong_credentials_are_refused_so_the_fallback_is_tried(
        sms: HttpSmsProvider, fake: FakeProvider) -> None:
    fake.answer(401, {"code": 20003, "message": "Authenticate"})
    outcome = await sms.send(message())
    assert (outcome.status, outcome.http_status) == ("refused", 401)


@pytest.mark.parametrize(("status", "header", "seconds"), [
    (503, "30", 30.0), (429, "2", 2.0), (500, None, None)])
async def test_overload_fails_for_now_with_the_wait_asked(
        sms: HttpSmsProvider, fake: FakeProvider, status: int, header: str | None,
        seconds: float | None) -> None:
    fake.answer(status, headers={"Retry-After": header} if header else {})
    outcome = await sms.send(message())
    assert (outcome.status, outcome.http_status, outcome.retry_after) == (
        "failed", status, seconds)


async def test_a_silent_provider_fails_for_now(sms: HttpSmsProvider, fake: FakeProvider) -> None:
    fake.answer(201, {"sid": "SM-late"}, delay=5.0)
    outcome = await sms.send(message())
    assert (outcome.status, outcome.detail) == ("failed", "timeout")


async def test_nothing_listening_fails_for_now() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    provider = HttpSmsProvider(f"http://127.0.0.1:{port}", ACCOUNT, TOKEN, "Suara")
    outcome = await provider.send(message())
    await provider.aclose()
    assert outcome.status == "failed"


def test_retry_after_reads_seconds_and_dates() -> None:
    now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert retry_after("120", now) == 120.0
    assert retry_after("Tue, 01 Dec 2026 10:01:30 GMT", now) == 90.0
    assert retry_after("Tue, 01 Dec 2026 09:00:00 GMT", now) == 0.0
    assert retry_after("soon", now) is None
    assert retry_after(None, now) is None


async def test_providers_follow_the_settings() -> None:
    settings = NotificationSettings(
        smtp_url=SecretStr("smtp://mail.example.org:587"),
        smtp_fallback_url=SecretStr("smtps://u:p@backup.example.org"),
        sms_url="https://sms.example.org", sms_account=ACCOUNT, sms_token=SecretStr(TOKEN),
        sms_fallback_url="https://sms2.example.org")
    found = providers(settings)
    assert set(found) == {"email", "sms"}
    assert [p.name for p in found["email"]] == ["smtp", "smtp-fallback"]
    assert [p.name for p in found["sms"]] == ["sms-http", "sms-http-fallback"]
    assert isinstance(found["email"][1], SmtpProvider)
    assert found["email"][1].use_tls
    assert isinstance(found["sms"][0], HttpSmsProvider)
    await close(found)

    nothing = providers(NotificationSettings())
    assert nothing == {"email": [], "sms": []}
    await close(nothing)
