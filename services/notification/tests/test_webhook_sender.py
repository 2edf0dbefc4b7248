"""The webhook sender against a real HTTP receiver on 127.0.0.1: a signed POST the independent
`standardwebhooks` verifier accepts, sent to the checked address under the endpoint's own name;
410, 5xx with Retry-After, redirects (never followed) and timeouts as outcomes; loopback refused
unless allowed."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
import uvicorn
from standardwebhooks.webhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from suara_kit.ids import uuid7
from suara_notification import netguard
from suara_notification.channels import Outgoing
from suara_notification.signing import new_secret
from suara_notification.webhook_sender import WebhookSender, retry_after

LOOPBACK = ["127.0.0.0/8"]
BODY = '{"data":{"case_id":"0199a3c2-7b1e-7c4d-9a8b-1c2d3e4f5a6b"},"timestamp":"2026-11-20T' \
       '10:00:00Z","type":"case.opened"}'


@dataclass
class Site:
    """A partner's receiver: what it was sent, by path; `/slow` waits for `release`."""

    port: int
    seen: list[tuple[str, dict[str, str], str]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def paths(self) -> list[str]:
        return [path for path, _, _ in self.seen]


def app(site: Site) -> Starlette:
    async def hook(request: Request) -> Response:
        path = request.url.path
        site.seen.append((path, dict(request.headers), (await request.body()).decode()))
        if path == "/gone":
            return Response(status_code=410)
        if path == "/busy":
            return Response(status_code=503, headers={"Retry-After": "7"})
        if path == "/moved":
            return Response(status_code=302, headers={"Location": site.url("/target")})
        if path == "/slow":
            await asyncio.wait_for(site.release.wait(), 5)
        return Response(status_code=204 if path == "/empty" else 200, content=b"thanks")

    return Starlette(routes=[Route("/{path:path}", hook, methods=["POST"])])


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    it = Site(port=sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app(it), log_level="warning", lifespan="off",
                                           ws="none", http="h11", access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield it
    finally:
        it.release.set()
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture
async def sender() -> AsyncIterator[WebhookSender]:
    it = WebhookSender(LOOPBACK, timeout=2)
    yield it
    await it.aclose()


def message(url: str, secrets: tuple[str, ...] = ()) -> Outgoing:
    return Outgoing(message_id=uuid7(), channel="webhook", address=url, body=BODY,
                    secrets=secrets or (new_secret(),))


def resolving(table: dict[str, list[str]]) -> Callable[[str, int], Awaitable[list[str]]]:
    async def lookup(host: str, _: int) -> list[str]:
        return table[host]
    return lookup


async def test_a_signed_post_to_the_checked_address_under_the_endpoint_name(
        site: Site, sender: WebhookSender, monkeypatch: pytest.MonkeyPatch) -> None:
    # the name resolves once, to loopback; the request goes there with the name as Host
    monkeypatch.setattr(netguard, "_addresses", resolving({"receiver.test": ["127.0.0.1"]}))
    old, new = new_secret(), new_secret()
    sent = message(site.url("/hooks/suara?token=abc", host="receiver.test"), (new, old))
    outcome = await sender.send(sent)
    assert (outcome.status, outcome.http_status, outcome.retry_after) == ("sent", 200, None)
    [(path, headers, body)] = site.seen
    assert path == "/hooks/suara"
    assert body == BODY
    assert headers["host"] == f"receiver.test:{site.port}"
    assert headers["user-agent"] == "Suara-Webhooks/1"
    assert headers["content-type"] == "application/json"
    assert headers["webhook-id"] == f"msg_{sent.message_id}"
    for secret in (old, new):  # both sign during a rotation
        assert Webhook(secret).verify(body, headers)["type"] == "case.opened"


async def test_an_address_that_refuses_the_connection_is_skipped(
        site: Site, sender: WebhookSender, monkeypatch: pytest.MonkeyPatch) -> None:
    # nothing listens on 127.0.0.2 (the receiver is bound to 127.0.0.1 only)
    monkeypatch.setattr(netguard, "_addresses",
                        resolving({"receiver.test": ["127.0.0.2", "127.0.0.1"]}))
    outcome = await sender.send(message(site.url("/hook", host="receiver.test")))
    assert outcome.status == "sent"
    assert site.paths() == ["/hook"]


async def test_any_2xx_is_sent(site: Site, sender: WebhookSender) -> None:
    outcome = await sender.send(message(site.url("/empty")))
    assert (outcome.status, outcome.http_status) == ("sent", 204)


async def test_410_is_gone(site: Site, sender: WebhookSender) -> None:
    outcome = await sender.send(message(site.url("/gone")))
    assert (outcome.status, outcome.http_status) == ("gone", 410)


async def test_503_with_retry_after_fails_and_says_when(site: Site,
                                                         sender: WebhookSender) -> None:
    outcome = await sender.send(message(site.url("/busy")))
    assert (outcome.status, outcome.http_status, outcome.retry_after) == ("failed", 503, 7)
    assert not outcome.ok


async def test_a_redirect_is_not_followed(site: Site, sender: WebhookSender) -> None:
    outcome = await sender.send(message(site.url("/moved")))
    assert (outcome.status, outcome.http_status) == ("failed", 302)
    assert "redirect not followed" in outcome.detail
    assert site.paths() == ["/moved"]  # the target was never asked


async def test_a_slow_receiver_times_out(site: Site) -> None:
    quick = WebhookSender(LOOPBACK, timeout=0.3)
    try:
        started = asyncio.get_running_loop().time()
        outcome = await quick.send(message(site.url("/slow")))
        took = asyncio.get_running_loop().time() - started
    finally:
        await quick.aclose()
    assert outcome.status == "failed"
    assert "no answer within 0.3 s" in outcome.detail
    assert took < 2


async def test_a_closed_port_fails(sender: WebhookSender) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    outcome = await sender.send(message(f"http://127.0.0.1:{port}/"))
    assert outcome.status == "failed"
    assert "could not connect" in outcome.detail


async def test_loopback_is_refused_unless_allowed(site: Site,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(netguard, "_addresses", resolving({"rebound.test": ["127.0.0.1"]}))
    strict = WebhookSender([], timeout=2)
    try:
        for url in (site.url("/hook"), site.url("/hook", host="rebound.test"),
                    f"https://127.0.0.1:{site.port}/hook"):
            outcome = await strict.send(message(url))
            assert outcome.status == "refused", url
            assert "non-public" in outcome.detail or "https" in outcome.detail
            assert "/hook" not in outcome.detail  # never the path
    finally:
        await strict.aclose()
    assert site.seen == []


async def test_nothing_unsigned_or_unparsable_is_sent(site: Site,
                                                     sender: WebhookSender) -> None:
    unsigned = Outgoing(message_id=uuid7(), channel="webhook", address=site.url("/hook"),
                        body=BODY)
    assert (await sender.send(unsigned)).status == "refused"
    assert (await sender.send(message(site.url("/hook").replace("/hook", ":x/hook")))
            ).status == "refused"
    assert site.seen == []


@pytest.mark.parametrize(("value", "seconds"), [
    ("7", 7.0), (" 120 ", 120.0), ("Fri, 20 Nov 2026 10:00:30 GMT", 30.0),
    ("Fri, 20 Nov 2026 09:00:00 GMT", 0.0), ("soon", None), (None, None), ("", None)])
def test_retry_after_in_seconds_or_as_a_date(value: Any, seconds: float | None) -> None:
    assert retry_after(value, datetime(2026, 11, 20, 10, 0, tzinfo=UTC)) == seconds


async def test_https_goes_to_the_address_with_the_name_for_tls(sender: WebhookSender) -> None:
    # pinned: the connection is to the checked address; SNI and the certificate check use
    # the endpoint's name
    sent = message("https://Hooks.Partner.example:8443/suara?token=abc")
    request = sender._request(sent, "2606:2800:21f:cb07:6820:80da:af6b:8b2c")
    assert str(request.url) == "https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:8443/suara?token=abc"
    assert request.headers["host"] == "hooks.partner.example:8443"
    assert request.extensions["sni_hostname"] == "hooks.partner.example"
    literal = sender._request(message("https://93.184.215.14/suara"), "93.184.215.14")
    assert "sni_hostname" not in literal.extensions
    assert literal.headers["host"] == "93.184.215.14"
