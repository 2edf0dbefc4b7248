"""Issue 5: a mediator books a session for a reported case; the worker reads it in their
receipt-protected inbox, in Indonesian and in Kuala Lumpur time, with nobody named, and the
handler sees the session on the case; a cancellation reaches both as well."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlmodel import select

from suara_kit.testing import eventually
from suara_mediation.models import KnownCase

KL = ZoneInfo("Asia/Kuala_Lumpur")
REPORT = {"organisation": "tenaganita", "answers": {
    "categories": ["unpaid-wages"], "country": "MY",
    "what_happened": "My employer in Petaling Jaya has kept my wages since June."}}
WEEKDAYS = [{"weekday": d, "start": "08:00", "end": "18:00"} for d in range(1, 8)]
EMPLOYER = "Tuan Besar"


def ok(reply: Any, status: int) -> Any:
    assert reply.status_code == status, reply.text
    return reply.json()


async def test_a_booked_session_reaches_the_workers_inbox_in_their_time(system: Any) -> None:
    http = system.http
    handler = await system.auth("handler.tenaganita")
    mediator = await system.auth("mediator.tenaganita")
    filed = ok(await http.post("/api/v1/reports", json=REPORT), 201)
    receipt = {"reference": filed["reference"], "receipt": filed["receipt"]}

    async def case_id() -> str | None:
        items = ok(await http.get("/api/v1/cases", headers=handler), 200)["items"]
        return next((c["case_id"] for c in items if c["reference"] == filed["reference"]), None)

    case = str(await eventually(case_id))

    async def known() -> bool:
        async with system.services["mediation-scheduling"].transaction() as session:
            return any(str(k.case_id) == case for k in await session.exec(select(KnownCase)))

    await eventually(known)
    aisyah = ok(await http.post("/api/v1/mediation/resources", headers=mediator, json={
        "kind": "mediator", "name": "Mediator Aisyah", "timezone": "Asia/Kuala_Lumpur",
        "weekly_hours": WEEKDAYS, "languages": ["ms", "id"]}), 201)["resource_id"]
    mediation = ok(await http.post(f"/api/v1/cases/{case}/mediations", headers=mediator, json={
        "mode": "in-person", "parties": [
            {"role": "worker", "alias": "Worker A", "timezone": "Asia/Kuala_Lumpur",
             "language": "id"},
            {"role": "employer", "alias": EMPLOYER, "timezone": "Asia/Kuala_Lumpur",
             "language": "ms"}]}), 201)
    start = (datetime.now(KL) + timedelta(days=3)).replace(hour=10, minute=0, second=0,
                                                           microsecond=0)
    booked = ok(await http.post(
        f"/api/v1/mediations/{mediation['mediation_id']}/bookings",
        headers={**mediator, "Idempotency-Key": "book-notice-1"},
        json={"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat(),
              "resources": [aisyah]}), 201)
    assert booked["status"] == "booked"

    async def told(words: str) -> list[dict[str, Any]] | None:
        view = ok(await http.post("/api/v1/reports/lookup", json=receipt), 200)
        found = [m for m in view["messages"] if words in m["body"]]
        return found or None

    [message] = await eventually(lambda: told("Sesi mediasi untuk kasus Anda telah dijadwalkan"))
    day = format_date(start, "full", locale="id")  # e.g. "Kamis, 03 Desember 2026"
    assert f"Waktu: {day}, pukul 10.00–11.00 (waktu Kuala Lumpur)." in message["body"]
    assert "Bentuk: tatap muka." in message["body"]
    assert "Pihak pemberi kerja juga akan hadir." in message["body"]
    assert "membalas melalui halaman ini" in message["body"]
    assert EMPLOYER not in message["body"]
    assert "Worker A" not in message["body"]
    assert "Aisyah" not in message["body"]
    assert message["from_reporter"] is False

    detail = ok(await http.get(f"/api/v1/cases/{case}", headers=handler), 200)
    assert [(s["session_id"], s["mode"], s["cancelled"]) for s in detail["sessions"]] == [
        (booked["booking_id"], "in-person", False)]
    assert [m["author"] for m in detail["messages"] if m["kind"] == "to-reporter"] == ["system"]

    ok(await http.post(f"/api/v1/bookings/{booked['booking_id']}/cancel", headers=mediator,
                       json={"reason": "settled"}), 200)
    [cancelled] = await eventually(lambda: told("telah dibatalkan"))
    assert "Mediator akan mengusulkan waktu lain." in cancelled["body"]
    assert "settled" not in cancelled["body"]

    async def marked() -> bool:
        view = ok(await http.get(f"/api/v1/cases/{case}", headers=handler), 200)
        return [s["cancelled"] for s in view["sessions"]] == [True]

    assert await eventually(marked)
    view = ok(await http.post("/api/v1/reports/lookup", json=receipt), 200)
    assert sum("Sesi mediasi" in m["body"] for m in view["messages"]) == 2  # once each
