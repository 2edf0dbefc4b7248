"""Issue 7: `Idempotency-Key` on POSTs through the gateway. A retry is answered from the store
(nothing runs twice), the same key with another request is a 422, a duplicate still in flight a
409; a failure frees the key; keys are per caller; the kept answer is sealed in NATS."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections import Counter
from typing import Any

import nats
import nats.errors
import pytest
from nats.js.kv import KeyValue

from suara_contracts.subjects import Rpc as S
from suara_gateway import idempotency
from suara_gateway.attach import MAX_BODY
from suara_gateway.deps import Rpc
from suara_kit.errors import Unavailable
from suara_kit.testing import eventually

REPORTS = "/api/v1/reports"
PARTNER_REPORTS = "/api/v1/partner/reports"
ANSWERS = {"categories": ["unpaid-wages", "document-retention"], "country": "MY",
           "what_happened": "No salary for three months; my employer keeps my passport."}
REPORT = {"organisation": "tenaganita", "language": "en", "answers": ANSWERS}


@pytest.fixture
def db_backend() -> str:
    """SQLite only: the middleware works in the gateway, whatever the services' databases."""
    return "sqlite"


class Calls:
    """What the gateway asks services, per subject; a subject can be held until released,
    or made to fail."""

    def __init__(self) -> None:
        self.count: Counter[str] = Counter()
        self.held: set[str] = set()
        self.entered, self.release = asyncio.Event(), asyncio.Event()
        self.failures: dict[str, list[Exception]] = {}
        self.lost: Counter[str] = Counter()  # replies to drop after the service answered


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Calls:
    seen, forward = Calls(), Rpc.__call__

    async def call(self: Rpc, subject: str, request: Any, reply: Any) -> Any:
        seen.count[subject] += 1
        if subject in seen.held:
            seen.entered.set()
            await seen.release.wait()
        if seen.failures.get(subject):
            raise seen.failures[subject].pop(0)
        answer = await forward(self, subject, request, reply)
        if seen.lost[subject]:  # as when the gateway's wait ran out just before the reply
            seen.lost[subject] -= 1
            raise Unavailable(f"{subject} did not answer within 10 s.", retry_after=5)
        return answer

    monkeypatch.setattr(Rpc, "__call__", call)
    return seen


def new_key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def told(answer: Any, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def partner(system: Any, client: str) -> dict[str, str]:
    """A client-credentials token of a partner system."""
    reply = await system.issuer.post("/realms/suara/protocol/openid-connect/token",
                                     data={"grant_type": "client_credentials"},
                                     auth=(client, f"dev-secret-{client}"))
    assert reply.status_code == 200, reply.text
    return {"Authorization": f"Bearer {reply.json()['access_token']}"}


async def raw_entry(nats_url: str, name: str) -> bytes | None:
    """The bucket's entry as NATS holds it."""
    nc = await nats.connect(nats_url)
    try:
        kv = await nc.jetstream().key_value(idempotency.BUCKET)
        try:
            return (await kv.get(name)).value
        except nats.js.errors.KeyNotFoundError:
            return None
    finally:
        await nc.close()


async def test_a_retried_report_is_filed_once_and_its_receipt_stays_sealed(
        system: Any, calls: Calls, nats_url: str) -> None:
    key = new_key()
    first = await system.http.post(REPORTS, json=REPORT, headers=key)
    receipt = told(first, 201)
    assert "idempotent-replayed" not in first.headers
    again = await system.http.post(REPORTS, json=REPORT, headers=key)
    assert told(again, 201) == receipt
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"] == "application/json"
    assert again.headers["x-content-type-options"] == "nosniff"  # still through the edge
    assert calls.count[S.INTAKE_SUBMIT] == 1

    changed = {**REPORT, "answers": {**ANSWERS, "what_happened": "Something else."}}
    other = await system.http.post(REPORTS, json=changed, headers=key)
    assert other.headers["content-type"] == "application/problem+json"
    assert told(other, 422)["errors"][0]["field"] == "Idempotency-Key"
    assert "used with a different request" in other.json()["detail"]
    assert calls.count[S.INTAKE_SUBMIT] == 1

    name = idempotency.slot_name(idempotency.ANONYMOUS, "POST", REPORTS, key["Idempotency-Key"])
    raw = await raw_entry(nats_url, name)
    assert raw is not None
    for clear in (receipt["receipt"], receipt["reference"], "passport"):
        assert clear.encode() not in raw
        assert base64.b64encode(clear.encode())[:12] not in raw

    # the handler sees one case for it: a later report's case comes after, and no twin
    handler = await system.auth("handler.tenaganita")
    later = told(await system.http.post(REPORTS, json=changed), 201)["reference"]

    async def references() -> list[str] | None:
        items = told(await system.http.get("/api/v1/cases", headers=handler), 200)["items"]
        found = [case["reference"] for case in items]
        return found if later in found and receipt["reference"] in found else None

    assert sorted(await eventually(references)) == sorted([receipt["reference"], later])


async def test_a_duplicate_in_flight_is_409_until_the_first_is_done(
        system: Any, calls: Calls) -> None:
    key = new_key()
    calls.held.add(S.INTAKE_SUBMIT)
    first = asyncio.create_task(system.http.post(REPORTS, json=REPORT, headers=key))
    await asyncio.wait_for(calls.entered.wait(), 10)
    twin = await system.http.post(REPORTS, json=REPORT, headers=key)
    assert "still being processed" in told(twin, 409)["detail"]
    assert twin.headers["retry-after"] == "1"
    assert twin.headers["content-type"] == "application/problem+json"
    calls.release.set()
    receipt = told(await first, 201)
    replay = await system.http.post(REPORTS, json=REPORT, headers=key)
    assert told(replay, 201) == receipt
    assert replay.headers["idempotent-replayed"] == "true"
    assert calls.count[S.INTAKE_SUBMIT] == 1


async def test_a_retry_after_the_gateway_gave_up_on_a_slow_service_files_once(
        system: Any, calls: Calls) -> None:
    # The service filed the report, but the gateway's wait ran out first: the client got a 503
    # and retries. The gateway kept nothing, but the service kept its reply under the replay
    # key the call carried: the retry gets that same receipt, and there is one case.
    key = new_key()
    calls.lost[S.INTAKE_SUBMIT] = 1
    timed_out = await system.http.post(REPORTS, json=REPORT, headers=key)
    assert told(timed_out, 503)
    assert timed_out.headers["retry-after"] == "5"
    retried = await system.http.post(REPORTS, json=REPORT, headers=key)
    receipt = told(retried, 201)
    assert "idempotent-replayed" not in retried.headers  # the gateway ran it; intake did not
    assert calls.count[S.INTAKE_SUBMIT] == 2
    assert told(await system.http.post(REPORTS, json=REPORT, headers=key), 201) == receipt

    handler = await system.auth("handler.tenaganita")

    async def cases() -> list[str] | None:
        items = told(await system.http.get("/api/v1/cases", headers=handler), 200)["items"]
        return [case["reference"] for case in items] or None

    assert await eventually(cases) == [receipt["reference"]]
    await asyncio.sleep(0.5)  # a twin case would have been opened by now
    assert await cases() == [receipt["reference"]]
    # the same request without the key files anew: the replay key comes only from it
    assert told(await system.http.post(REPORTS, json=REPORT), 201)["reference"] != \
        receipt["reference"]


async def test_a_failure_frees_the_key_for_a_retry(system: Any, calls: Calls) -> None:
    key = new_key()
    calls.failures[S.INTAKE_SUBMIT] = [Unavailable("intake is down"), RuntimeError("crash")]
    assert told(await system.http.post(REPORTS, json=REPORT, headers=key), 503)
    assert told(await system.http.post(REPORTS, json=REPORT, headers=key), 500)
    done = await system.http.post(REPORTS, json=REPORT, headers=key)
    assert told(done, 201)["receipt"]
    assert "idempotent-replayed" not in done.headers
    assert calls.count[S.INTAKE_SUBMIT] == 3
    # a 4xx did nothing and is not kept: the same key then takes a corrected request
    key = new_key()
    wrong = {**REPORT, "answers": {"categories": ["unpaid-wages"]}}
    assert told(await system.http.post(REPORTS, json=wrong, headers=key), 422)
    assert told(await system.http.post(REPORTS, json=REPORT, headers=key), 201)


async def test_keys_belong_to_their_caller(system: Any, calls: Calls) -> None:
    key = new_key()
    body = {"answers": {**ANSWERS, "country": "TH"}}
    map_foundation = await partner(system, "partner-map-foundation")
    tenaganita = await partner(system, "partner-tenaganita")
    filed = told(await system.http.post(PARTNER_REPORTS, json=body,
                                        headers={**map_foundation, **key}), 201)
    theirs = await system.http.post(PARTNER_REPORTS, json=body, headers={**tenaganita, **key})
    assert told(theirs, 201)["reference"] != filed["reference"]
    assert "idempotent-replayed" not in theirs.headers
    # the same client with a fresh token is the same caller
    fresh = await partner(system, "partner-map-foundation")
    replay = await system.http.post(PARTNER_REPORTS, json=body, headers={**fresh, **key})
    assert told(replay, 201) == filed
    assert replay.headers["idempotent-replayed"] == "true"
    # the client's claims under a forged signature hear nothing of the client's keys
    header, claims, _ = fresh["Authorization"].removeprefix("Bearer ").split(".")
    forged = {"Authorization": f"Bearer {header}.{claims}.{base64.urlsafe_b64encode(b'x' * 256)}"}
    refused = await system.http.post(PARTNER_REPORTS, json=body, headers={**forged, **key})
    assert refused.status_code == 401
    assert filed["claim_code"] not in refused.text
    assert calls.count[S.INTAKE_SUBMIT_ON_BEHALF] == 2
    # anonymous callers and a handler with the same key do not meet either
    anonymous = told(await system.http.post(REPORTS, json=REPORT, headers=key), 201)
    handler = await system.auth("handler.tenaganita")
    staff = told(await system.http.post(REPORTS, json=REPORT, headers={**handler, **key}), 201)
    assert anonymous["reference"] != staff["reference"]
    assert calls.count[S.INTAKE_SUBMIT] == 2


async def test_bad_keys_gets_and_an_unreachable_store(
        system: Any, calls: Calls, nats_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for bad in ("k" * 256, "has a space in it 1234", "tab\there-0123456789",
                b"control\x01-0123456789", ("\u00e9" * 20).encode(), "short"):
        refused = await system.http.post(REPORTS, json=REPORT,
                                         headers={"Idempotency-Key": bad})
        assert told(refused, 422)["errors"][0]["field"] == "Idempotency-Key", bad
    twice = [("Idempotency-Key", str(uuid.uuid4())), ("Idempotency-Key", str(uuid.uuid4()))]
    assert told(await system.http.post(REPORTS, json=REPORT, headers=twice), 422)
    huge = await system.http.post(REPORTS, content=b"{}", headers={
        **new_key(), "content-type": "application/json", "content-length": str(MAX_BODY + 1)})
    assert told(huge, 413)
    assert calls.count[S.INTAKE_SUBMIT] == 0
    # with a token, a short key is the caller's own business
    short = {"Idempotency-Key": "1"}
    map_foundation = await partner(system, "partner-map-foundation")
    assert told(await system.http.post(PARTNER_REPORTS, json={"answers": ANSWERS},
                                       headers={**map_foundation, **short}), 201)

    key = new_key()
    for _ in range(2):
        form = await system.http.get("/api/v1/form", headers=key)
        assert form.status_code == 200, form.text
        assert "idempotent-replayed" not in form.headers
    name = idempotency.slot_name(idempotency.ANONYMOUS, "GET", "/api/v1/form",
                                 key["Idempotency-Key"])
    assert await raw_entry(nats_url, name) is None

    async def unreachable(*_: Any, **__: Any) -> int:
        raise nats.errors.TimeoutError

    monkeypatch.setattr(KeyValue, "create", unreachable)
    closed = await system.http.post(REPORTS, json=REPORT, headers=new_key())
    assert told(closed, 503)
    assert closed.headers["retry-after"] == "5"
    assert calls.count[S.INTAKE_SUBMIT] == 0
    assert told(await system.http.post(REPORTS, json=REPORT), 201)  # no key: as before
