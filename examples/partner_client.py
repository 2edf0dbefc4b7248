"""A partner system's side of Suara: get a token, subscribe a webhook, file a grievance your
hotline collected, and receive and verify the `case.opened` webhook. See docs/partners.md.

    pip install httpx standardwebhooks      # both are in Suara's own .venv already
    python examples/partner_client.py       # as partner-tenaganita, against a local Suara

Settings come from arguments or the environment: SUARA_GATEWAY_URL, SUARA_ISSUER_URL,
SUARA_CLIENT_ID, SUARA_CLIENT_SECRET. Webhooks go only to public https URLs: give yours with
--webhook-url, or let this script listen on 127.0.0.1, which a local Suara reaches only when
started with `python -m suara_kit.stack --env SUARA_NOTIFICATION_WEBHOOK_ALLOW_NETWORKS=
'["127.0.0.0/8"]'` (see "Run the example" in docs/partners.md).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import queue
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

Json = dict[str, Any]
RETRIES = 3
TOLERANCE_SECONDS = 5 * 60


class Problem(Exception):
    """An error answer from Suara (application/problem+json)."""

    def __init__(self, reply: httpx.Response) -> None:
        body = reply.json() if "json" in reply.headers.get("content-type", "") else {}
        self.status, self.detail = reply.status_code, body.get("detail", reply.text)
        self.errors: list[Json] = body.get("errors") or []
        super().__init__(f"{reply.request.method} {reply.request.url.path}: "
                         f"{self.status} {self.detail}")


def get_token(issuer: str, client_id: str, client_secret: str) -> str:
    """An access token for your partner client (OAuth2 client credentials; lasts 5 minutes)."""
    reply = httpx.post(f"{issuer.rstrip('/')}/protocol/openid-connect/token",
                       data={"grant_type": "client_credentials"},
                       auth=(client_id, client_secret), timeout=10)
    reply.raise_for_status()
    return str(reply.json()["access_token"])


def api_client(gateway: str, token: str) -> httpx.Client:
    """An HTTP client for /api/v1 that sends the token."""
    return httpx.Client(base_url=f"{gateway.rstrip('/')}/api/v1", timeout=15,
                        headers={"Authorization": f"Bearer {token}"})


def post(api: httpx.Client, path: str, body: Json | None = None) -> Json:
    """POST with an Idempotency-Key, retrying on a lost connection, 429 or 503 with the same
    key, so a retry never files the same thing twice."""
    headers, attempt = {"Idempotency-Key": str(uuid.uuid4())}, 0
    while True:
        attempt += 1
        try:
            reply = api.post(path, json=body, headers=headers)
        except httpx.TransportError:
            if attempt == RETRIES:
                raise
            time.sleep(2**attempt)
            continue
        if reply.status_code in (429, 503) and attempt < RETRIES:
            time.sleep(float(reply.headers.get("Retry-After", 2**attempt)))
            continue
        if reply.is_error:
            raise Problem(reply)
        return dict(reply.json())


def file_grievance(api: httpx.Client, answers: Json, language: str = "en") -> Json:
    """File a report your hotline collected, for your organisation (the token's). Returns the
    reference and a one-time claim code to hand to the worker, never to keep."""
    return post(api, "/partner/reports", {"language": language, "answers": answers})


def new_claim_code(api: httpx.Client, reference: str) -> Json:
    """A new claim code when the worker lost theirs or it expired (until they claim)."""
    return post(api, f"/assisted/reports/{reference}/claim-code")


def find_organisations(api: httpx.Client, country: str | None = None,
                       expertise: str | None = None) -> list[Json]:
    """The referral network's member organisations (any valid token may read it)."""
    params = {k: v for k, v in {"country": country, "expertise": expertise}.items() if v}
    reply = api.get("/organisations", params=params)
    if reply.is_error:
        raise Problem(reply)
    return list(reply.json()["items"])


def refer_case(api: httpx.Client, case_id: str, to_organisation: str, obtained: str,
               share_profile: str = "minimal", note: str = "") -> Json:
    """Record the worker's consent, then refer the case. Needs a *case handler's* token (a
    person of the sending organisation), not a partner client's: partners cannot refer."""
    post(api, f"/cases/{case_id}/consents", {
        "to_organisation": to_organisation, "share_profile": share_profile,
        "obtained": obtained})
    return post(api, f"/cases/{case_id}/referrals", {
        "to_organisation": to_organisation, "type": "referral",
        "share_profile": share_profile, "note": note})


def subscribe_webhook(api: httpx.Client, url: str, event_types: list[str],
                      description: str = "") -> Json:
    """Subscribe an endpoint. The answer's `secret` is shown only this once: store it."""
    return post(api, "/webhooks", {"url": url, "event_types": event_types,
                                   "description": description})


def verify_webhook(secret: str, headers: dict[str, str], body: bytes) -> Json:
    """The payload of a genuine webhook; raises WebhookVerificationError otherwise (a wrong
    signature, or a timestamp more than 5 minutes off)."""
    return dict(Webhook(secret).verify(body, headers))


def verify_webhook_by_hand(secrets: list[str], headers: dict[str, str], body: bytes) -> Json:
    """The same check without the library, as any language would do it."""
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id, timestamp = lower.get("webhook-id", ""), lower.get("webhook-timestamp", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
        raise WebhookVerificationError("webhook-timestamp missing or more than 5 minutes off")
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = [base64.b64encode(hmac.new(base64.b64decode(s.removeprefix("whsec_")), signed,
                                          hashlib.sha256).digest()).decode() for s in secrets]
    given = [sig.split(",", 1)[1] for sig in lower.get("webhook-signature", "").split()
             if sig.startswith("v1,")]
    if not any(hmac.compare_digest(g, e) for g in given for e in expected):
        raise WebhookVerificationError("no matching signature")
    return dict(json.loads(body))


class WebhookReceiver(ThreadingHTTPServer):
    """A tiny local endpoint: verifies each POST, answers 204, queues new payloads (a retry
    or replay has the same webhook-id and is dropped). Set `secret` once you have it."""

    def __init__(self, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.secret: str | None = None
        self.received: queue.Queue[Json] = queue.Queue()
        self.seen: set[str] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/suara"

    def start(self) -> WebhookReceiver:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def wait_for(self, event_type: str, timeout: float = 30, **data: str) -> Json:
        """The next payload of that type whose `data` holds these values."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                payload = self.received.get(timeout=left)
            except queue.Empty:
                break
            if payload["type"] == event_type and data.items() <= payload["data"].items():
                return payload
        raise TimeoutError(f"no {event_type} webhook within {timeout} s")


class _Handler(BaseHTTPRequestHandler):
    server: WebhookReceiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.server.secret is None:
            self.send_response(503)  # not ready: Suara retries
            self.end_headers()
            return
        try:
            payload = verify_webhook(self.server.secret, dict(self.headers), body)
        except (WebhookVerificationError, ValueError):
            self.send_response(400)  # not from Suara: drop it
        else:
            if self.headers["webhook-id"] not in self.server.seen:
                self.server.seen.add(self.headers["webhook-id"])
                self.server.received.put(payload)
            self.send_response(204)  # answer fast; do the work after
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


def say(text: str) -> None:
    sys.stdout.write(text + "\n")


def demo(api: httpx.Client, url: str, receiver: WebhookReceiver | None) -> None:
    """Subscribe a webhook, file a grievance and, listening locally, see its case opened."""
    hook = subscribe_webhook(api, url, ["case.opened", "case.status_changed"], "example")
    say(f"webhook {hook['webhook_id']} → {url}; keep its secret: {hook['secret']}")
    ticket = file_grievance(api, {"categories": ["unpaid-wages"], "country": "MY",
                                  "what_happened": "No salary for three months."})
    say(f"filed {ticket['reference']}: give the worker claim code {ticket['claim_code']} "
        f"(valid until {ticket['claim_by']}) and forget it")
    if receiver is None:
        return
    receiver.secret = hook["secret"]
    try:
        opened = receiver.wait_for("case.opened", reference=ticket["reference"])
        say(f"verified webhook: {json.dumps(opened)}")
    finally:
        api.delete(f"/webhooks/{hook['webhook_id']}")  # nobody will listen here any more


def main(argv: list[str] | None = None) -> int:
    """File a grievance and see its case.opened webhook arrive, verified."""
    env = os.environ.get
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--gateway", default=env("SUARA_GATEWAY_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--issuer", default=env("SUARA_ISSUER_URL",
                                                "http://127.0.0.1:8180/realms/suara"))
    parser.add_argument("--client-id", default=env("SUARA_CLIENT_ID", "partner-tenaganita"))
    parser.add_argument("--client-secret", default=env("SUARA_CLIENT_SECRET",
                                                       "dev-secret-partner-tenaganita"))
    parser.add_argument("--webhook-url", help="your public https endpoint (else listen locally)")
    args = parser.parse_args(argv)

    token = get_token(args.issuer, args.client_id, args.client_secret)
    with api_client(args.gateway, token) as api:
        if args.webhook_url:
            demo(api, args.webhook_url, None)
            return 0
        with WebhookReceiver() as receiver:
            receiver.start()
            try:
                demo(api, receiver.url, receiver)
            finally:
                receiver.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
