"""A report whose content retention deleted: the status page says so in the worker's language,
with the date, shows each message as deleted, offers no way to write to it, and a reply,
upload or check-in answer that arrives anyway gets that explanation (410), never a 500.

Intake and notification are replaced by a fake answering as they do after shredding."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import httpx
import pytest
from babel.dates import format_date
from fastapi import FastAPI
from pydantic import BaseModel

from suara_contracts.rpc import Inbox, InboxMessage, ReportStatus
from suara_contracts.subjects import Rpc as S
from suara_gateway import i18n
from suara_kit.errors import Gone

DELETED_ON = date(2031, 5, 1)
SUBMISSION = UUID("01900000-0000-7000-8000-000000000001")
REFERENCE, RECEIPT = "SU-AAAA-BBBB", "CCCC-DDDD-EEEE-FFFF-GGGG-HHHH-JJ"
SECRETS = {"reference": REFERENCE, "receipt": RECEIPT}
INTAKE_SAYS = ("What you told us in this report was deleted on 2031-05-01, at the end of the "
               "time we keep reports (our retention policy); nobody can read it any more.")
DELETED = "This message was deleted under the retention policy."
WAS_DELETED = ("What you told us was deleted on %(date)s, as our retention policy says: we keep "
               "a report only for a set time after it is closed, then delete it. Nobody can read "
               "it any more. Your reference and receipt still show the status.")
CANNOT_ADD = ("What you told us in this report was deleted at the end of the time we keep "
              "reports, so nothing more can be added to it. To tell us something new, send a "
              "new report.")


class ShreddedServices:
    """Intake and notification after `CaseShredded`: status and dates, nothing else."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def __call__(self, subject: str, request: BaseModel, reply: type[Any]) -> Any:
        self.asked.append(subject)
        if subject == S.INTAKE_STATUS:
            return ReportStatus(reference=REFERENCE, submission_id=SUBMISSION, status="closed",
                                received_on=date(2029, 2, 3), form_version=1, surveyed=True,
                                content_deleted_on=DELETED_ON)
        if subject == S.NOTIFICATION_INBOX:
            day = date(2029, 3, 1)
            return Inbox(messages=[
                InboxMessage(message_id=SUBMISSION, body="", sent_on=day, deleted=True),
                InboxMessage(message_id=SUBMISSION, body="", sent_on=day, from_reporter=True,
                             sender="you", deleted=True),
                InboxMessage(message_id=SUBMISSION, body="", sent_on=day, deleted=True,
                             kind="check-in-question"),
                InboxMessage(message_id=SUBMISSION, body="", sent_on=day, deleted=True,
                             kind="check-in-answer", from_reporter=True)])
        if subject == S.INTAKE_FOLLOW_UP:
            raise Gone(INTAKE_SAYS, deleted_on=DELETED_ON.isoformat())
        raise AssertionError(f"the page should not need {subject} for a deleted report")


@pytest.fixture
async def services(gateway: FastAPI, client: httpx.AsyncClient) -> ShreddedServices:
    fake = ShreddedServices()
    gateway.state.rpc = fake  # set by the lifespan the client entered
    return fake


def text_of(code: str, msgid: str) -> str:
    return i18n.translations(i18n.BY_CODE[code]).gettext(msgid)


@pytest.mark.parametrize("code", ["en", "id", "my", "zh-Hant"])
async def test_the_status_page_says_the_content_was_deleted_and_when(
        client: httpx.AsyncClient, services: ShreddedServices, code: str) -> None:
    language = i18n.BY_CODE[code]
    prefix = "" if code == "en" else f"/{code}"
    page = await client.post(f"{prefix}/follow-up", data=SECRETS)
    assert page.status_code == 200, page.text
    html = page.text
    when = format_date(DELETED_ON, "long", locale=language.locale)
    notice = text_of(code, WAS_DELETED) % {"date": when}
    assert notice in html.replace("&#39;", "'")
    if code != "en":
        assert text_of(code, DELETED) != DELETED  # really translated
    assert html.count(text_of(code, DELETED)) == 4  # every message, check-ins too
    assert "<summary>" not in html  # no "What you told us"
    for action in ("/reply", "/add-information", "/upload", "/check-in"):
        assert f'action="{prefix}{action}"' not in html
    assert f'href="{prefix}/"' in html  # a new report instead
    assert S.INTAKE_FORM not in services.asked


async def test_the_api_lookup_carries_the_deletion(client: httpx.AsyncClient,
                                                   services: ShreddedServices) -> None:
    reply = await client.post("/api/v1/reports/lookup", json=SECRETS)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["content_deleted_on"] == "2031-05-01"
    assert body["answers"] == {}
    assert [m["deleted"] for m in body["messages"]] == [True] * 4


@pytest.mark.parametrize(("path", "form"), [
    ("/reply", {"text": "hello", "send": "1"}),
    ("/add-information", {"text": "more", "send": "1"}),
    ("/upload", {"text": "a photo", "send": "1"}),
    ("/check-in", {"answer": "yes", "question": str(SUBMISSION)}),
])
async def test_writing_to_a_deleted_report_explains_instead_of_failing(
        client: httpx.AsyncClient, services: ShreddedServices, path: str,
        form: dict[str, str]) -> None:
    page = await client.post(f"/th{path}", data={**SECRETS, **form})
    assert page.status_code == 410, page.text
    assert "text/html" in page.headers["content-type"]
    assert text_of("th", CANNOT_ADD) in page.text
    assert text_of("th", CANNOT_ADD) != CANNOT_ADD
    assert 'id="content-deleted"' in page.text  # on the status page, which says when
    assert S.INTAKE_FOLLOW_UP in services.asked


async def test_the_api_follow_up_is_a_410_problem(client: httpx.AsyncClient,
                                                  services: ShreddedServices) -> None:
    reply = await client.post("/api/v1/reports/follow-up",
                              json={**SECRETS, "kind": "reply", "text": "hello"})
    assert reply.status_code == 410, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    body = reply.json()
    assert (body["status"], body["detail"]) == (410, INTAKE_SAYS)
    assert body["deleted_on"] == "2031-05-01"
