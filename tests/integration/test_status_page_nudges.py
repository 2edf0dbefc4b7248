"""A worker asks for content-free nudges on their status page, in Indonesian, and stops them:
reference and receipt travel in the form only, every post checks the receipt, and a refused
number is explained in the worker's language, next to the field."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlmodel import select

from suara_notification.models import ReporterContact

REPORT = {"organisation": "tenaganita", "language": "id",
          "answers": {"categories": ["unpaid-wages"], "country": "MY",
                      "what_happened": "Majikan tidak membayar gaji saya."}}
SAVED = "Selesai. Kami akan mengirim pesan kepada Anda saat ada kabar baru."
STOPPED = "Dihentikan. Kami tidak akan mengirim pesan lagi"
NO_COUNTRY_CODE = "Tulis nomor dengan kode negara, misalnya +62 812 3456 7890."
NOT_FOUND = "Kami tidak menemukan laporan dengan nomor referensi dan tanda terima ini."


async def filed(system: Any) -> dict[str, str]:
    reply = await system.http.post("/api/v1/reports", json=REPORT)
    assert reply.status_code == 201, reply.text
    return {"reference": reply.json()["reference"], "receipt": reply.json()["receipt"]}


async def contact(system: Any, secrets: dict[str, str]) -> dict[str, Any]:
    reply = await system.http.post("/api/v1/reports/contact/lookup", json=secrets)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def assert_receipt_stays_in_the_body(page: httpx.Response, receipt: str) -> None:
    assert receipt not in str(page.url)
    assert not page.history
    assert "location" not in page.headers
    for address in re.findall(r'(?:action|href)="([^"]*)"', page.text):
        assert receipt not in address, address


async def test_a_worker_asks_for_nudges_and_stops_them(system: Any) -> None:
    secrets = await filed(system)
    pages = []

    pages.append(refused := await system.http.post("/id/nudges", data={
        **secrets, "channel": "sms", "sms": "0812 3456 7890", "quiet": "1"}))
    assert refused.status_code == 422, refused.text
    assert f'<p class="error" id="sms-error">{NO_COUNTRY_CODE}</p>' in refused.text
    assert 'value="0812 3456 7890" aria-invalid="true"' in refused.text  # kept, to correct
    assert "Give the phone number" not in refused.text  # the service's English stays out
    assert (await contact(system, secrets))["channel"] is None

    pages.append(saved := await system.http.post("/id/nudges", data={
        **secrets, "channel": "sms", "sms": "+62 812 3456 7890", "quiet": "1"}))
    assert saved.status_code == 200, saved.text
    assert SAVED in saved.text
    stored = await contact(system, secrets)
    assert (stored["channel"], stored["quiet_from"], stored["quiet_until"]) == (
        "sms", "21:00:00", "07:00:00")
    assert stored["masked"].endswith("90")
    assert "3456" not in stored["masked"]
    assert f"Pesan dikirim ke {stored['masked']} (SMS)." in saved.text
    assert 'action="/id/nudges"' not in saved.text  # no form while a contact is set
    async with system.services["notification"].transaction() as session:
        [row] = (await session.exec(select(ReporterContact))).all()
    assert (row.language, row.timezone) == ("id", "Asia/Kuala_Lumpur")  # from the page, the report

    pages.append(stopped := await system.http.post("/id/nudges/stop", data=secrets))
    assert stopped.status_code == 200, stopped.text
    assert STOPPED in stopped.text
    assert 'action="/id/nudges#nudges"' in stopped.text  # the form again
    assert (await contact(system, secrets))["channel"] is None
    for page in pages:
        assert_receipt_stays_in_the_body(page, secrets["receipt"])


async def test_a_wrong_receipt_changes_nothing(system: Any) -> None:
    secrets = await filed(system)
    saved = await system.http.post("/id/nudges", data={
        **secrets, "channel": "email", "email": "ani@example.org"})
    assert saved.status_code == 200, saved.text
    before = await contact(system, secrets)
    assert (before["channel"], before["quiet_from"]) == ("email", None)  # night left unticked

    wrong = {**secrets, "receipt": "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GG"}
    for path, form in (("/id/nudges/stop", {}),
                       ("/id/nudges", {"channel": "sms", "sms": "+60123456789"})):
        page = await system.http.post(path, data={**wrong, **form})
        assert page.status_code == 404, page.text
        assert NOT_FOUND in page.text
        assert_receipt_stays_in_the_body(page, secrets["receipt"])
        assert await contact(system, secrets) == before
