"""Every error leaves the gateway as problem+json, and every response carries the security
headers and no cookie."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Response

from suara_gateway.edge import CSP, SECURITY_HEADERS

PROBLEM = "application/problem+json"
SECRET = "Majikan saya Ibu Lestari di Jalan Mawar 7"


def assert_safe_headers(reply: httpx.Response) -> None:
    assert reply.headers["content-security-policy"] == CSP
    for name, value in SECURITY_HEADERS:
        assert reply.headers[name.decode()] == value.decode()
    assert "set-cookie" not in reply.headers


def assert_problem(reply: httpx.Response, status: int) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == PROBLEM
    assert_safe_headers(reply)
    body = dict(reply.json())
    assert body["status"] == status
    assert {"type", "title", "detail"} <= set(body)
    return body


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/healthz", 200),
    ("GET", "/static/suara.css", 200),
    ("GET", "/follow-up", 200),
    ("GET", "/api/v1/openapi.json", 200),
    ("GET", "/api/v1/cases", 401),
    ("GET", "/no/such/page", 404),
    ("DELETE", "/api/v1/reports", 405),
    ("GET", "/api/v1/form", 503),
    ("GET", "/", 503),
])
async def test_every_response_has_the_security_headers(client: httpx.AsyncClient, method: str,
                                                       path: str, status: int) -> None:
    reply = await client.request(method, path, headers={"Cookie": "tracker=1"})
    assert reply.status_code == status, reply.text
    assert_safe_headers(reply)
    if status >= 400:
        assert reply.headers["content-type"] == PROBLEM


async def test_set_cookie_from_a_route_is_dropped(gateway: FastAPI) -> None:
    @gateway.get("/api/v1/test-cookie")
    async def cookie(response: Response) -> dict[str, str]:
        response.set_cookie("session", "abc")
        return {"ok": "yes"}

    async with gateway.router.lifespan_context(gateway):
        transport = httpx.ASGITransport(app=gateway)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as http:
            reply = await http.get("/api/v1/test-cookie")
    assert reply.json() == {"ok": "yes"}
    assert_safe_headers(reply)


async def test_unknown_route_is_a_problem(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/api/v1/nothing-here"), 404)
    assert body["type"].endswith("/404")


async def test_unexpected_exception_is_a_500_problem_without_details(
        gateway: FastAPI, caplog: pytest.LogCaptureFixture) -> None:
    @gateway.get("/api/v1/test-crash")
    async def crash() -> None:
        raise RuntimeError(SECRET)

    async with gateway.router.lifespan_context(gateway):
        # raise_app_exceptions stays on: nothing may reach the server to log with a traceback
        transport = httpx.ASGITransport(app=gateway)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as http:
            with caplog.at_level(logging.INFO):
                reply = await http.get("/api/v1/test-crash")
    body = assert_problem(reply, 500)
    assert SECRET not in reply.text
    assert body["type"].endswith("/internal")
    assert SECRET not in caplog.text
    assert "unhandled RuntimeError" in caplog.text
    assert "GET /api/v1/test-crash 500" in caplog.text


async def test_request_validation_is_422_without_echo(client: httpx.AsyncClient) -> None:
    reply = await client.post("/api/v1/reports", json={
        "organisation": "Not A Slug!", "answers": {"what_happened": SECRET}, "extra": SECRET})
    body = assert_problem(reply, 422)
    assert body["type"].endswith("/validation")
    assert {e["field"] for e in body["errors"]} >= {"organisation", "extra"}
    assert SECRET not in reply.text
    assert "Not A Slug!" not in reply.text


async def test_lookup_with_bad_body_does_not_echo_the_receipt(client: httpx.AsyncClient) -> None:
    receipt = "ABCD-EFGH-JKMN-PQRS-TVWX-YZ"
    reply = await client.post("/api/v1/reports/lookup",
                              json={"reference": "x" * 40, "receipt": receipt})
    body = assert_problem(reply, 422)
    assert body["errors"][0]["field"] == "reference"
    assert receipt not in reply.text
    assert "x" * 40 not in reply.text


async def test_malformed_json_is_422(client: httpx.AsyncClient) -> None:
    reply = await client.post("/api/v1/reports", content=b'{"answers": {"what_happened": "' +
                              SECRET.encode(), headers={"Content-Type": "application/json"})
    assert_problem(reply, 422)
    assert SECRET not in reply.text


async def test_submission_with_no_intake_running_is_503(client: httpx.AsyncClient) -> None:
    reply = await client.post("/api/v1/reports", json={
        "organisation": "tenaganita", "answers": {"what_happened": "unpaid"}})
    body = assert_problem(reply, 503)
    assert "suara.rpc.intake.v1" in body["detail"]


async def test_readyz_names_each_missing_service(client: httpx.AsyncClient) -> None:
    reply = await client.get("/readyz")
    assert reply.status_code == 503
    assert_safe_headers(reply)
    body = reply.json()
    assert body["status"] == "not ready"
    assert set(body["services"]) == {"intake", "case-management", "mediation-scheduling",
                                     "notification"}
    assert all(v == "unavailable: Unavailable" for v in body["services"].values())


async def test_access_log_has_no_address_or_agent(client: httpx.AsyncClient,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="suara.gateway.access"):
        reply = await client.get("/healthz?ref=SU-K7M2-9QXD", headers={
            "User-Agent": "Mozilla/5.0 (Linux; Android 10; SM-A105F)",
            "X-Forwarded-For": "198.51.100.23"})
    assert reply.status_code == 200
    access = [r.getMessage() for r in caplog.records if r.name == "suara.gateway.access"]
    assert access
    assert access[-1].startswith("GET /healthz 200 ")
    text = caplog.text
    for leak in ("203.0.113.7", "198.51.100.23", "SM-A105F", "SU-K7M2-9QXD"):
        assert leak not in text
