"""Invariant 1: nothing that identifies a reporter's device or network reaches the app."""

from __future__ import annotations

import json
from typing import Any

import httpx
from fastapi import FastAPI, Request
from starlette.types import Message, Receive, Scope, Send

from suara_gateway.anonymity import AnonymityMiddleware

IDENTIFYING = {
    "User-Agent": "Mozilla/5.0 (Linux; Android 10; SM-A105F)",
    "Referer": "https://facebook.example/groups/dormitory-12",
    "Cookie": "session=abc; _ga=GA1.2.3",
    "X-Forwarded-For": "198.51.100.23, 10.0.0.1",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "suara.example",
    "X-Forwarded-Port": "443",
    "Forwarded": "for=198.51.100.23;proto=https",
    "X-Real-IP": "198.51.100.23",
    "Via": "1.1 dorm-proxy",
    "True-Client-IP": "198.51.100.23",
    "CF-Connecting-IP": "198.51.100.23",
    "Sec-CH-UA": '"Chromium";v="120"',
    "Sec-CH-UA-Platform": '"Android"',
    "Sec-CH-UA-Model": '"SM-A105F"',
    "Baggage": "user.id=42",
    "DNT": "1",
}
KEPT = {
    "Authorization": "Bearer abc",
    "Content-Type": "application/json",
    "Accept-Language": "id-ID",
    "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
}


async def echo_scope(scope: Scope, receive: Receive, send: Send) -> None:
    """A tiny ASGI app that answers with the client and headers it was given."""
    body = json.dumps({
        "client": scope.get("client"),
        "headers": [[k.decode(), v.decode()] for k, v in scope["headers"]],
    }).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


async def seen_by_app(app: Any, headers: dict[str, str]) -> dict[str, Any]:
    transport = httpx.ASGITransport(app=app, client=("198.51.100.23", 51234))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        reply = await http.post("/api/v1/reports", headers=headers, content=b"{}")
    assert reply.status_code == 200
    return dict(reply.json())


async def test_echo_app_sees_everything_without_the_filter() -> None:
    seen = await seen_by_app(echo_scope, IDENTIFYING)
    assert seen["client"] == ["198.51.100.23", 51234]
    assert "user-agent" in {k for k, _ in seen["headers"]}


async def test_identifying_data_is_removed() -> None:
    seen = await seen_by_app(AnonymityMiddleware(echo_scope), IDENTIFYING | KEPT)
    assert seen["client"] is None
    names = {k for k, _ in seen["headers"]}
    assert not names & {h.lower() for h in IDENTIFYING}
    distinctive = [v for v in IDENTIFYING.values() if len(v) > 8]
    for value in distinctive:
        assert all(value not in v for _, v in seen["headers"])
    assert "198.51.100.23" not in json.dumps(seen)


async def test_harmless_headers_are_kept() -> None:
    seen = await seen_by_app(AnonymityMiddleware(echo_scope), IDENTIFYING | KEPT)
    kept = dict(seen["headers"])
    for name, value in KEPT.items():
        assert kept[name.lower()] == value
    assert kept["host"] == "gateway.test"


async def test_caller_scope_is_not_mutated() -> None:
    scope: dict[str, Any] = {"type": "http", "client": ("198.51.100.23", 1),
                             "headers": [(b"user-agent", b"x"), (b"accept", b"*/*")]}
    seen: list[Scope] = []

    async def app(inner: Scope, receive: Receive, send: Send) -> None:
        seen.append(inner)

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(_: Message) -> None:
        return None

    await AnonymityMiddleware(app)(scope, receive, send)
    assert seen[0]["client"] is None
    assert seen[0]["headers"] == [(b"accept", b"*/*")]
    assert scope["headers"] == [(b"user-agent", b"x"), (b"accept", b"*/*")]


async def test_websocket_scope_is_filtered() -> None:
    seen: list[Scope] = []

    async def app(inner: Scope, receive: Receive, send: Send) -> None:
        seen.append(inner)

    async def receive() -> Message:
        return {"type": "websocket.disconnect"}

    async def send(_: Message) -> None:
        return None

    scope = {"type": "websocket", "client": ("198.51.100.23", 1),
             "headers": [(b"x-forwarded-for", b"198.51.100.23"), (b"cookie", b"a=b")]}
    await AnonymityMiddleware(app)(scope, receive, send)
    assert (seen[0]["client"], seen[0]["headers"]) == (None, [])


async def test_the_real_gateway_filters_before_its_routes(gateway: FastAPI) -> None:
    seen: dict[str, Any] = {}

    @gateway.post("/api/v1/test-echo")
    async def echo(request: Request) -> dict[str, str]:
        seen["client"] = request.client
        seen["headers"] = dict(request.headers)
        return {}

    async with gateway.router.lifespan_context(gateway):
        transport = httpx.ASGITransport(app=gateway, client=("198.51.100.23", 51234))
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as http:
            reply = await http.post("/api/v1/test-echo", headers=IDENTIFYING | KEPT)
    assert reply.status_code == 200
    assert seen["client"] is None
    assert not set(seen["headers"]) & {h.lower() for h in IDENTIFYING}
    assert seen["headers"]["authorization"] == "Bearer abc"


async def test_only_the_consoles_own_cookies_reach_the_console_and_nothing_else() -> None:
    sent = "_ga=GA1.2.3; __Host-suara-console=s1; __Host-suara-console-login=l1; sid=x"
    transport = httpx.ASGITransport(app=AnonymityMiddleware(echo_scope))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        console = (await http.get("/console/cases", headers={"Cookie": sent})).json()
        report = (await http.post("/api/v1/reports", headers={"Cookie": sent})).json()
        worker = (await http.get("/console-like/", headers={"Cookie": sent})).json()
    assert [v for k, v in console["headers"] if k == "cookie"] == [
        "__Host-suara-console=s1; __Host-suara-console-login=l1"]
    assert [k for k, _ in report["headers"] if k == "cookie"] == []
    assert [k for k, _ in worker["headers"] if k == "cookie"] == []
