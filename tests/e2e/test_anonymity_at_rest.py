"""A submission sent with distinctive X-Forwarded-For, User-Agent and Referer values leaves
none of them in any database file, log or the JetStream store; and what the worker wrote is
nowhere in clear either (sealed with data keys at rest, with the events key in flight)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from suara_kit.stack import Stack

from .conftest import token
from .otlp_sink import OtlpSink

pytestmark = pytest.mark.e2e

CANARIES = {
    "X-Forwarded-For": "203.0.113.77, 198.51.100.23",
    "User-Agent": "CanaryPhone/7.1 (suara-ua-canary-5f2e)",
    "Referer": "https://canary-referrer.example/suara-ref-canary-9d1c",
    "X-Real-IP": "192.0.2.201",
    "Forwarded": "for=192.0.2.202;proto=https",
}
NARRATIVE = "narrative-3b7f: my agency took my passport"  # sealed: found nowhere in clear


def files_containing(root: Path, needle: bytes) -> list[Path]:
    """Every file under root whose bytes contain needle."""
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_identifying_headers_are_never_kept(start_stack: Callable[..., Stack]) -> None:
    with OtlpSink() as traces:
        stack = start_stack({"SUARA_OTLP_ENDPOINT": traces.endpoint})
        with httpx.Client(base_url=stack.gateway_url, timeout=15, headers=CANARIES) as api:
            reference = submit_and_follow(stack, api)
        stack.stop()  # flush every store, log and span exporter before reading them
    scan(stack.var_dir.parent, reference)  # var/ and, on SQLite, the database files
    exported = traces.received
    assert b"POST /api/v1/reports" in exported, "no spans were exported: the check sees nothing"
    assert b"process suara.evt.intake.submission.received.v1" in exported
    for needle in [NARRATIVE, *spread(CANARIES)]:
        assert needle.encode() not in exported, f"{needle!r} left the system in a span"


def spread(headers: dict[str, str]) -> list[str]:
    """Each header value and its parts long enough to be distinctive."""
    parts: set[str] = set()
    for value in headers.values():
        parts |= {value, *value.replace(",", " ").replace(";", " ").split()}
    return [p for p in parts if len(p) >= 6]


def submit_and_follow(stack: Stack, api: httpx.Client) -> str:
    """Report, follow up and let a case open, all with the canary headers; the reference."""
    reply = api.post("/api/v1/reports", json={
        "organisation": "tenaganita",
        "answers": {"categories": ["document-retention"], "what_happened": NARRATIVE,
                    "country": "HK"}})
    assert reply.status_code == 201, reply.text
    form = api.post("/report", data={"organisation": "apmm", "categories": ["abuse"],
                                     "what_happened": NARRATIVE, "country": "HK"})
    assert form.status_code == 201
    lookup = api.post("/api/v1/reports/lookup", json={"reference": reply.json()["reference"],
                                                      "receipt": reply.json()["receipt"]})
    assert lookup.status_code == 200
    handler = token(stack, "handler.tenaganita")
    deadline = time.monotonic() + 30
    while not api.get("/api/v1/cases", headers=handler).json()["items"]:
        assert time.monotonic() < deadline, "case never opened"
        time.sleep(0.2)
    return str(reply.json()["reference"])


def scan(var: Path, reference: str) -> None:
    """No canary and no narrative anywhere under `var`, while positive controls (kept in clear
    on purpose) are found in the SQLite databases, if any, and the JetStream store."""
    if any(var.rglob("*.sqlite")):
        databases = [p for p in files_containing(var, reference.encode()) if ".sqlite" in p.name]
        assert databases, "scan reads no database: the report's reference was not found"
    stream = [p for p in files_containing(var, b"suara.evt.intake.submission.received.v1")
              if "jetstream" in str(p)]
    assert stream, "scan reads no JetStream store: the event's subject was not found"
    assert any(p.suffix == ".log" for p in var.rglob("*")), "no log files were scanned"
    found = files_containing(var, NARRATIVE.encode())
    assert not found, f"what the worker wrote is kept in clear in {found}"
    for needle in spread(CANARIES):
        found = files_containing(var, needle.encode())
        assert not found, f"header value {needle!r} kept in {found}"
