"""The reporter's side of the conversation: reply, add information and upload from the inbox
(pages and API), and the claim-code page of assisted intake. The case handler sees it all."""

from __future__ import annotations

import re
from io import BytesIO
from typing import Any

from PIL import Image

from suara_kit.testing import eventually

ANSWERS = {"categories": ["abuse"], "country": "SG",
           "what_happened": "My employer shouts at me every night."}


async def filed(system: Any) -> tuple[str, str]:
    reply = await system.http.post("/api/v1/reports",
                                   json={"organisation": "tenaganita", "answers": ANSWERS})
    assert reply.status_code == 201, reply.text
    return reply.json()["reference"], reply.json()["receipt"]


async def case_detail(system: Any, reference: str) -> dict[str, Any]:
    handler = await system.auth("handler.tenaganita")

    async def opened() -> dict[str, Any] | None:
        items = (await system.http.get("/api/v1/cases", headers=handler)).json()["items"]
        return next((c for c in items if c["reference"] == reference), None)

    case = await eventually(opened)
    return (await system.http.get(f"/api/v1/cases/{case['case_id']}",  # type: ignore[index]
                                  headers=handler)).json()


def jpeg() -> bytes:
    out = BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(out, "JPEG")
    return out.getvalue()


async def test_a_reply_over_the_api_reaches_the_case_and_the_inbox(system: Any) -> None:
    reference, receipt = await filed(system)
    upload = await system.http.post("/api/v1/uploads", files={"file": ("x.jpg", jpeg())})
    assert upload.status_code == 201, upload.text
    sent = await system.http.post("/api/v1/reports/follow-up", json={
        "reference": reference, "receipt": receipt, "kind": "information",
        "text": "It happened again yesterday.", "files": [upload.json()["token"]]})
    assert sent.status_code == 201, sent.text
    assert (sent.json()["kind"], sent.json()["attachments"]) == ("information", 1)

    async def in_inbox() -> list[dict[str, Any]]:
        view = await system.http.post("/api/v1/reports/lookup",
                                      json={"reference": reference, "receipt": receipt})
        return [m for m in view.json()["messages"] if m["from_reporter"]]

    mine = await eventually(in_inbox)
    assert mine[0]["body"] == "It happened again yesterday."  # type: ignore[index]
    assert mine[0]["attachments"] == 1  # type: ignore[index]

    async def on_case() -> list[dict[str, Any]]:
        detail = await case_detail(system, reference)
        return [m for m in detail["messages"] if m["from_reporter"]]

    messages = await eventually(on_case)
    assert messages[0]["kind"] == "information"  # type: ignore[index]
    assert len(messages[0]["attachment_ids"]) == 1  # type: ignore[index]


async def test_a_follow_up_needs_the_right_receipt_and_something_to_say(system: Any) -> None:
    reference, receipt = await filed(system)
    wrong = await system.http.post("/api/v1/reports/follow-up", json={
        "reference": reference, "receipt": "ABCD-EFGH-JKLM-NPQR", "text": "hello"})
    assert wrong.status_code == 404
    assert wrong.headers["content-type"] == "application/problem+json"
    empty = await system.http.post("/api/v1/reports/follow-up", json={
        "reference": reference, "receipt": receipt, "text": "  "})
    assert empty.status_code == 422
    assert "write something or attach a file" in empty.text
    expired = await system.http.post("/api/v1/reports/follow-up", json={
        "reference": reference, "receipt": receipt, "files": ["x" * 32]})
    assert expired.status_code == 422
    assert expired.json()["errors"][0]["code"] == "expired"


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no hidden {name}"
    return found.group(1)


async def test_reply_and_upload_pages_without_javascript(system: Any) -> None:
    reference, receipt = await filed(system)
    status = await system.http.post("/follow-up",
                                    data={"reference": reference, "receipt": receipt})
    assert status.status_code == 200
    for action in ("/reply", "/add-information", "/upload"):
        assert f'<form method="post" action="{action}">' in status.text
    assert "My employer shouts at me every night." in status.text  # what you told us

    page = await system.http.post("/reply", data={"reference": reference, "receipt": receipt})
    assert page.status_code == 200
    assert '<textarea id="text" name="text"' in page.text
    assert 'type="file"' not in page.text  # a reply is words; files go by the upload page
    assert hidden(page.text, "receipt") == receipt
    assert "set-cookie" not in page.headers

    sent = await system.http.post("/reply", data={
        "reference": reference, "receipt": receipt, "send": "1", "text": "Please call."})
    assert sent.status_code == 200, sent.text
    assert 'id="notice"' in sent.text

    nothing = await system.http.post("/upload", data={
        "reference": reference, "receipt": receipt, "send": "1"})
    assert nothing.status_code == 422
    assert "Write something or attach a file." in nothing.text
    refused = await system.http.post(
        "/upload", data={"reference": reference, "receipt": receipt, "send": "1"},
        files={"files": ("payslip.jpg", b"<html>not a photo</html>", "image/jpeg")})
    assert refused.status_code == 422
    assert "This kind of file cannot be sent" in refused.text
    photo = await system.http.post(
        "/upload", data={"reference": reference, "receipt": receipt, "send": "1"},
        files={"files": ("payslip.jpg", jpeg(), "image/jpeg")})
    assert photo.status_code == 200, photo.text

    async def both_on_case() -> bool:
        detail = await case_detail(system, reference)
        kinds = [(m["kind"], len(m["attachment_ids"])) for m in detail["messages"]
                 if m["from_reporter"]]
        return sorted(kinds) == [("information", 1), ("reply", 0)]

    assert await eventually(both_on_case)


async def test_a_wrong_receipt_on_the_reply_page_is_said_plainly(system: Any) -> None:
    reference, _ = await filed(system)
    page = await system.http.post("/reply", data={
        "reference": reference, "receipt": "ABCD-EFGH-JKLM-NPQR", "send": "1", "text": "hi"})
    assert page.status_code == 404
    assert "We found no report with this reference and receipt" in page.text
    assert "hi</textarea>" in page.text  # what they wrote is kept


async def test_the_claim_code_page_turns_a_code_into_a_receipt(system: Any) -> None:
    handler = await system.auth("handler.tenaganita")
    ticket = await system.http.post("/api/v1/assisted/reports", json={"answers": ANSWERS},
                                    headers=handler)
    assert ticket.status_code == 201, ticket.text
    form = await system.http.get("/id/claim")
    assert form.status_code == 200
    assert 'action="/id/claim"' in form.text
    wrong = await system.http.post("/id/claim", data={
        "reference": ticket.json()["reference"], "claim_code": "AAAA-BBBB-CC"})
    assert wrong.status_code == 404
    assert 'id="claim-error"' in wrong.text
    page = await system.http.post("/id/claim", data={
        "reference": ticket.json()["reference"], "claim_code": ticket.json()["claim_code"]})
    assert page.status_code == 201, page.text
    receipt = re.sub(r"<[^>]+>", "", re.search(r'id="receipt">(.*?)</p>', page.text).group(1))
    view = await system.http.post("/api/v1/reports/lookup", json={
        "reference": ticket.json()["reference"], "receipt": receipt})
    assert view.status_code == 200, view.text
