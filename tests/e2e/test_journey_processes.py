"""Step 5 of the walking skeleton over HTTP, against real processes."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from suara_kit.stack import Stack

from .conftest import token

pytestmark = pytest.mark.e2e


def wait_for(check: Callable[[], Any], timeout: float = 30) -> Any:
    """Poll until `check` returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.2)
    raise AssertionError(f"not reached within {timeout} s")


def test_journey_over_http(stack: Stack) -> None:
    with httpx.Client(base_url=stack.gateway_url, timeout=15) as api:
        walk(stack, api)


def walk(stack: Stack, api: httpx.Client) -> None:
    """The journey, step by step."""
    assert api.get("/healthz").json() == {"status": "ok"}
    ready = api.get("/readyz").json()
    assert ready["status"] == "ready"
    assert set(ready["services"].values()) == {"ok"}
    assert api.get("/api/v1/openapi.json").json()["info"]["title"] == "Suara API"

    form = api.post("/report", data={"organisation": "tenaganita", "categories": ["retaliation"],
                                     "what_happened": "I was sent home after I complained.",
                                     "country": "MY"})
    assert form.status_code == 201
    assert "cannot show the receipt again" in form.text

    submitted = api.post("/api/v1/reports", json={
        "organisation": "tenaganita",
        "answers": {"categories": ["unpaid-wages"], "what_happened": "No salary since July.",
                    "country": "MY"}})
    assert submitted.status_code == 201, submitted.text
    reference, receipt = submitted.json()["reference"], submitted.json()["receipt"]

    handler = token(stack, "handler.tenaganita")

    def listed() -> dict[str, Any] | None:
        items = api.get("/api/v1/cases", headers=handler).json()["items"]
        return next((c for c in items if c["reference"] == reference), None)

    case = wait_for(listed)
    assert case["status"] == "received"
    ack = api.post(f"/api/v1/cases/{case['case_id']}/acknowledge", headers=handler,
                   json={"message": "Thank you. We will contact your employer's agency."})
    assert ack.status_code == 200, ack.text

    def reporter_view() -> dict[str, Any] | None:
        body = api.post("/api/v1/reports/lookup",
                        json={"reference": reference, "receipt": receipt}).json()
        return body if body["status"] == "acknowledged" and body["messages"] else None

    view = wait_for(reporter_view)
    assert view["messages"][0]["body"] == "Thank you. We will contact your employer's agency."
    page = api.post("/follow-up", data={"reference": reference.lower(), "receipt": receipt})
    assert page.status_code == 200
    assert "acknowledged" in page.text

    mediator = token(stack, "mediator.tenaganita")
    starts = datetime.now(UTC) + timedelta(days=5)

    def propose() -> httpx.Response | None:
        # mediation learns of the case from case-management's event: a 404 until it has
        reply = api.post(f"/api/v1/cases/{case['case_id']}/sessions", headers=mediator, json={
            "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=2)).isoformat(),
            "timezone": "Asia/Kuala_Lumpur"})
        return None if reply.status_code == 404 else reply

    proposed = wait_for(propose)
    assert proposed.status_code == 201, proposed.text
    assert wait_for(lambda: api.get(f"/api/v1/cases/{case['case_id']}",
                                    headers=handler).json()["sessions"])
