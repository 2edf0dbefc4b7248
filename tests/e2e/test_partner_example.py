"""examples/partner_client.py against the real processes: a partner-tenaganita token from the
issuer, a webhook to a receiver on this machine, a grievance filed, its case.opened webhook
verified with the example's functions, a referral by a handler heard of, and the example's
main() run as a partner would run it."""

from __future__ import annotations

import base64
import importlib.util
import json
import queue
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from suara_kit.stack import Stack

from .conftest import token

pytestmark = pytest.mark.e2e

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "partner_client.py"
CLIENT, SECRET = "partner-tenaganita", "dev-secret-partner-tenaganita"
WORDS = "The agency in Klang kept my passport and two months of wages."
ANSWERS = {"categories": ["document-retention", "unpaid-wages"], "country": "MY",
           "what_happened": WORDS}
Delivery = tuple[dict[str, str], bytes]


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("partner_client", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Capture(ThreadingHTTPServer):
    """A receiver that keeps every request's headers and raw body and answers 204."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Keep)
        self.deliveries: queue.Queue[Delivery] = queue.Queue()
        self.url = f"http://127.0.0.1:{self.server_address[1]}/hooks/suara"

    def next(self, event_type: str, timeout: float = 20) -> Delivery:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            headers, body = self.deliveries.get(timeout=left)
            if json.loads(body)["type"] == event_type:
                return headers, body
        raise AssertionError(f"no {event_type} webhook within {timeout} s")


class _Keep(BaseHTTPRequestHandler):
    server: Capture

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.server.deliveries.put((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def db_backend() -> str:
    """SQLite only: the example exercises the API, not the database (the journey and crash
    tests run the real processes on PostgreSQL); a second stack would cost a minute."""
    return "sqlite"


@pytest.fixture
def capture() -> Iterator[Capture]:
    server = Capture()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def loopback_stack(start_stack: Callable[..., Stack]) -> Stack:
    """The stack with webhooks allowed to reach this machine (for the tests only)."""
    return start_stack(extra_env={"SUARA_NOTIFICATION_WEBHOOK_ALLOW_NETWORKS": '["127.0.0.0/8"]'})


def claims(access_token: str) -> dict[str, Any]:
    payload = access_token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def test_the_partner_example_against_the_real_stack(
        loopback_stack: Stack, capture: Capture, capsys: pytest.CaptureFixture[str]) -> None:
    example, stack = load_example(), loopback_stack
    partner_token = example.get_token(stack.issuer_url, CLIENT, SECRET)
    carried = claims(partner_token)
    assert (carried["aud"], carried["groups"], carried["azp"]) == (
        "suara-api", ["/organisations/tenaganita"], CLIENT)
    assert "cso-partner" in carried["realm_access"]["roles"]

    with example.api_client(stack.gateway_url, partner_token) as api:
        hook = example.subscribe_webhook(api, capture.url, ["case.opened", "referral.changed"])
        ticket = example.file_grievance(api, ANSWERS)
        assert set(ticket) == {"reference", "claim_code", "claim_by", "status"}
        headers, case_id = check_case_opened(example, capture, hook["secret"],
                                             ticket["reference"])
        check_deliveries(api, hook["webhook_id"], headers["webhook-id"])
        check_claim_and_retry(stack, api, ticket)
        check_referral(example, stack, api, capture, hook["secret"], case_id)

    assert example.main(["--gateway", stack.gateway_url, "--issuer", stack.issuer_url]) == 0
    out = capsys.readouterr().out
    assert "claim code" in out
    assert '"type": "case.opened"' in out


def check_case_opened(example: ModuleType, capture: Capture, secret: str,
                      reference: str) -> tuple[dict[str, str], str]:
    """The webhook verifies with the library and by hand, and says nothing of the report."""
    headers, body = capture.next("case.opened")
    payload = example.verify_webhook(secret, headers, body)
    assert payload == example.verify_webhook_by_hand([secret], headers, body)
    assert payload["data"]["reference"] == reference
    assert b"passport" not in body
    assert b"Klang" not in body
    stale = datetime.now(UTC) - timedelta(minutes=6)
    old = {**headers, "webhook-timestamp": str(int(stale.timestamp())),
           "webhook-signature": Webhook(secret).sign(headers["webhook-id"], stale, body.decode())}
    tampered = body.replace(b"case.opened", b"case.closed")
    for verify in (example.verify_webhook,
                   lambda s, h, b: example.verify_webhook_by_hand([s], h, b)):
        for bad_headers, bad_body in ((headers, tampered), (old, body)):
            with pytest.raises(WebhookVerificationError):
                verify(secret, bad_headers, bad_body)
    return headers, str(payload["data"]["case_id"])


def check_deliveries(api: httpx.Client, webhook_id: str, header_id: str) -> None:
    """Each delivery is listed with its attempts, under the id its `webhook-id` header names."""
    deadline = time.monotonic() + 10
    while True:  # the receiver has answered; notification records it a moment later
        listed = api.get(f"/webhooks/{webhook_id}/deliveries", params={"limit": 1}).json()
        [message] = listed["items"]
        if message["state"] == "sent" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert (message["event_type"], message["state"]) == ("case.opened", "sent")
    assert message["attempts"][0]["http_status"] == 204
    assert listed["next_cursor"] is None
    assert header_id == f"msg_{message['message_id']}"


def check_claim_and_retry(stack: Stack, api: httpx.Client, ticket: dict[str, Any]) -> None:
    """The worker turns the code into a receipt; a retried POST with its key files once."""
    claimed = httpx.post(f"{stack.gateway_url}/api/v1/reports/claim", timeout=15, json={
        "reference": ticket["reference"], "claim_code": ticket["claim_code"]})
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["receipt"]
    key = {"Idempotency-Key": "example-retry-0001"}
    first = api.post("/partner/reports", json={"answers": ANSWERS}, headers=key)
    again = api.post("/partner/reports", json={"answers": ANSWERS}, headers=key)
    assert first.status_code == again.status_code == 201, again.text
    assert first.json()["reference"] == again.json()["reference"]


def check_referral(example: ModuleType, stack: Stack, api: httpx.Client, capture: Capture,
                   secret: str, case_id: str) -> None:
    """Partners find organisations but may not refer; a handler does, and the partner hears."""
    directory = {o["id"] for o in example.find_organisations(api, country="TH")}
    assert "map-foundation" in directory
    with pytest.raises(example.Problem) as refused:
        example.refer_case(api, case_id, "map-foundation", "worker agreed by phone today")
    assert refused.value.status == 403
    handler = token(stack, "handler.tenaganita")["Authorization"].removeprefix("Bearer ")
    with example.api_client(stack.gateway_url, handler) as as_handler:
        referral = example.refer_case(as_handler, case_id, "map-foundation",
                                      "worker agreed by phone today", note="moving to Mae Sot")
    assert referral["status"] == "pending"
    headers, body = capture.next("referral.changed")
    changed = example.verify_webhook(secret, headers, body)["data"]
    assert (changed["referral_id"], changed["to_status"], changed["case_id"]) == (
        referral["referral_id"], "pending", case_id)

