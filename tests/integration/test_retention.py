"""At the end of retention a closed case is shredded: case-management deletes its data key and
tells the other services, which delete theirs. The report then cannot be read anywhere: not by
its handler, not on the worker's status page, not in any service's database or its dumps."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import text

from suara_cases import handlers as case_handlers
from suara_contracts.subjects import EVENTS_STREAM
from suara_kit.clock import today
from suara_kit.outbox import SEALED
from suara_kit.testing import eventually

PROBLEM = "application/problem+json"
SECRET = "Majikan Puan Lim menahan paspor saya di Ipoh"  # must not outlive retention
PHONE = "+60 12 999 0000"
REPLY = "Balasan rahasia: gaji tiga bulan belum dibayar"
HANDLER_SAYS = "Kami sudah menghubungi kantor tenaga kerja tentang Puan Lim"


def photo() -> bytes:
    image = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 10, 10)).save(image, "JPEG")
    return image.getvalue()


async def dump(system: Any, service: str) -> bytes:
    """Every row of every table of one service's database, as a backup would hold them: the
    outbox too, whose events carry content while in flight (sealed with the events key)."""
    db = system.services[service].db
    async with db.transaction() as session:
        tables = await session.run_sync(lambda s: s.get_bind().dialect.get_table_names(
            s.connection()))
        rows = []
        for table in tables:
            if table == "alembic_version":
                continue
            result = await session.exec(text(f'SELECT * FROM "{table}"'))  # type: ignore[call-overload]
            rows.extend(tuple(r) for r in result.all())
    return repr(rows).encode()


async def test_a_shredded_report_is_unreadable_everywhere(
        system: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    http = system.http
    handler = await system.auth("handler.tenaganita")
    uploaded = await http.post("/api/v1/uploads", files={"file": ("p.jpg", photo(), "image/jpeg")})
    assert uploaded.status_code == 201, uploaded.text
    filed = await http.post("/api/v1/reports", json={"organisation": "tenaganita", "answers": {
        "categories": ["document-retention"], "country": "MY", "origin": "ID",
        "what_happened": SECRET, "contact": PHONE, "evidence": [uploaded.json()["token"]]}})
    assert filed.status_code == 201, filed.text
    receipt = {"reference": filed.json()["reference"], "receipt": filed.json()["receipt"]}

    async def opened() -> str | None:
        items = (await http.get("/api/v1/cases", headers=handler)).json()["items"]
        return next((c["case_id"] for c in items if c["reference"] == receipt["reference"]),
                    None)

    case_id = str(await eventually(opened))
    base = f"/api/v1/cases/{case_id}"
    replied = await http.post("/api/v1/reports/follow-up", json={**receipt, "text": REPLY})
    assert replied.status_code == 201, replied.text
    coded = await http.put(f"{base}/coding", headers=handler, json={
        "issues": ["document-retention"], "origin": "ID", "destination": "MY",
        "respondent": "A household in Ipoh", "respondent_kind": "employer"})
    assert coded.status_code == 200, coded.text
    for to in ("acknowledged", "in-assessment", "in-resolution", "resolved", "closed"):
        moved = await http.post(f"{base}/transitions", headers=handler,
                                json={"to": to, "message": f"{HANDLER_SAYS} ({to})"})
        assert moved.status_code == 200, moved.text

    async def replied_on_case() -> bool:
        detail = (await http.get(base, headers=handler)).json()
        return any(m["body"] == REPLY for m in detail.get("messages", []))

    assert await eventually(replied_on_case)
    detail = (await http.get(base, headers=handler)).json()
    assert detail["answers"]["what_happened"] == SECRET
    assert detail["sealed_identity"] == ["contact"]

    async def inbox_has_everything() -> bool:
        seen = (await http.post("/api/v1/reports/lookup", json=receipt)).json()
        return sum(HANDLER_SAYS in m["body"] for m in seen["messages"]) == 5
    assert await eventually(inbox_has_everything)

    # before: nothing readable at rest in any service, though every one holds the report
    for service in ("intake", "case-management", "notification"):
        stored = await dump(system, service)
        for words in (SECRET, PHONE, REPLY, HANDLER_SAYS):
            assert words.encode() not in stored, (service, words)

    # and the event stream holds every event sealed, the handler's words and the report too
    js = system.services["intake"].nc.jetstream()
    info = await js.stream_info(EVENTS_STREAM)
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        event = await js.get_msg(EVENTS_STREAM, seq=seq)
        assert event.data.startswith(SEALED.encode()), event.subject
        for words in (SECRET, PHONE, REPLY, HANDLER_SAYS):
            assert words.encode() not in event.data

    # the retention period ends; case-management's hourly job runs
    days = system.services["case-management"].settings.retention_for("tenaganita")
    monkeypatch.setattr(case_handlers, "today", lambda: today() + timedelta(days=days))
    cases = system.services["case-management"]
    await next(job for name, _, job in cases._periodic if name == "cases-retention")()

    gone = await http.get(base, headers=handler)
    assert gone.status_code == 410, gone.text
    assert gone.headers["content-type"] == PROBLEM
    assert "deleted" in gone.json()["detail"]
    listed = (await http.get("/api/v1/cases", headers=handler)).json()["items"]
    assert next(c for c in listed if c["case_id"] == case_id)["shredded_on"] == (
        today() + timedelta(days=days)).isoformat()

    async def status_says_deleted() -> dict[str, Any] | None:
        seen = (await http.post("/api/v1/reports/lookup", json=receipt)).json()
        return seen if seen.get("content_deleted_on") and all(
            m["deleted"] for m in seen["messages"]) else None

    seen = await eventually(status_says_deleted)
    assert seen["status"] == "closed"
    for words in (SECRET, PHONE, REPLY, HANDLER_SAYS):
        assert words not in str(seen)
    page = await http.post("/follow-up", data=receipt)
    assert page.status_code == 200
    assert 'id="content-deleted"' in page.text
    assert SECRET not in page.text
    late = await http.post("/api/v1/reports/follow-up", json={**receipt, "text": "hello?"})
    assert late.status_code == 410, late.text
    assert late.headers["content-type"] == PROBLEM

    # no service holds a key for it any more (this system holds this one report only)
    for service in ("intake", "case-management", "notification"):
        async with system.services[service].db.transaction() as session:
            keys = (await session.exec(text("SELECT owner_id FROM data_key"))).all()  # type: ignore[call-overload]
        assert keys == [], service

    # the figures keep counting it: coding and what was chosen are not content
    stats = await http.get("/api/v1/statistics", headers=handler)
    assert stats.status_code == 200, stats.text
