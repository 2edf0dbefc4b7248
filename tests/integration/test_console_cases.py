"""The staff console's pages for case handlers against the real services (in-process, on a real
nats-server), through a gateway with the console and the development issuer's sign-in: the
queue's order, deadlines, filters and pages; a case's redactions, conversation, assignment,
lifecycle-gated status changes, coding before close, referral with consent, history and reads;
refusals shown on the page with the input kept; another organisation and forged forms refused.

A `Browser` plays Chromium: a cookie jar per site, redirects followed, Origin and
Sec-Fetch-Site on its form posts; forms are read from the pages as a browser would send them."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from html import unescape
from typing import Any

import httpx
import pytest

from suara_gateway.console import cases as console_cases
from suara_kit.clock import today
from suara_kit.testing import eventually

from . import console_browser
from .console_browser import GATEWAY, PAGE_LIMIT

HANA = "5d738d9e-9332-50bd-a3f7-a4fb691db9c7"  # handler.tenaganita in the realm file
SITI = "23cae8c6-19ab-5702-ba87-c91ad30eea2e"  # supervisor.tenaganita
CONTACT = "WhatsApp +60 12 345 6789 Siti"


class Browser(console_browser.Browser):
    async def sign_in(self, username: str, start: str = "/console/cases") -> httpx.Response:
        return await super().sign_in(username, start)

    async def submit(self, page: httpx.Response, action: str, fields: dict[str, Any],
                     follow: bool = True) -> httpx.Response:
        """Send a form of `page` as a browser would: its hidden fields, and these."""
        _, hidden = form_of(page.text, action)
        return await self.post(action, {**hidden, **fields}, follow=follow)


def form_of(html: str, action: str | None = None) -> tuple[str, dict[str, str]]:
    """A form's action and hidden fields (the first form, or the first posting to `action`)."""
    for found, body in re.findall(r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>',
                                  html, re.S):
        if action is None or unescape(found) == action:
            hidden = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', body)
            return unescape(found), {k: unescape(v) for k, v in hidden}
    raise AssertionError(f"no form posting to {action}")


def rows(page: httpx.Response) -> list[tuple[str, str]]:
    """The queue's rows: (reference, risk), top to bottom."""
    return re.findall(r'<tr data-reference="([^"]+)" data-risk="([^"]+)"', page.text)


def radios(html: str, name: str) -> list[str]:
    return re.findall(rf'<input type="radio" name="{name}" value="([^"]+)"', html)


def notice(page: httpx.Response) -> str:
    found = re.search(r'<p class="notice" role="status" id="notice">([^<]*)</p>', page.text)
    return found[1] if found else ""


@pytest.fixture
async def console(system: Any, nats_url: str) -> AsyncIterator[Callable[[], Browser]]:
    """A gateway with the console on the system's nats-server, signing in at a development
    issuer that knows its callback; `console()` opens a fresh browser."""
    async with console_browser.console_gateway(nats_url, Browser) as (open_browser, _):
        yield open_browser


async def report(system: Any, answers: dict[str, Any]) -> tuple[str, str, dict[str, str]]:
    """File a report for Tenaganita; (case id, reference, receipt body) once its case is open."""
    filed = await system.http.post("/api/v1/reports", json={"organisation": "tenaganita",
                                                            "answers": answers})
    assert filed.status_code == 201, filed.text
    reference = filed.json()["reference"]
    headers = await system.auth("handler.tenaganita")

    async def opened() -> str | None:
        listed = await system.http.get("/api/v1/cases?limit=200", headers=headers)
        return next((c["case_id"] for c in listed.json()["items"]
                     if c["reference"] == reference), None)

    case_id = str(await eventually(opened))
    return case_id, reference, {"reference": reference, "receipt": filed.json()["receipt"]}


WAGES = {"categories": ["unpaid-wages"], "country": "MY", "origin": "ID",
         "what_happened": "No salary for three months."}
PASSPORT = {"categories": ["document-retention"], "country": "MY", "origin": "PH",
            "what_happened": "My employer keeps my passport.", "contact": CONTACT}
FEES = {"categories": ["recruitment-fees"], "country": "SG", "origin": "ID",
        "what_happened": "The agency took four months of my wages."}


def check_page(page: httpx.Response) -> None:
    """What every console page keeps: small, strict, no script, labelled, landmarks."""
    html = page.text
    assert len(page.content) < PAGE_LIMIT
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "<script" not in html
    assert "style=" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert html.count("<h1>") == 1
    assert '<main id="main" tabindex="-1">' in html
    labelled = set(re.findall(r'<label for="([^"]+)"', html))
    wrapped = re.findall(r"<label><input[^>]*>", html)  # checkboxes and radios in their label
    for tag, ident in re.findall(r'<(input|select|textarea)(?![^>]*type="hidden")[^>]*'
                                 r'\bid="([^"]+)"', html):
        assert ident in labelled or any(f'id="{ident}"' in w for w in wrapped), (tag, ident)
    for ident in re.findall(r'aria-describedby="([^"]+)"', html):
        for part in ident.split():
            assert f'id="{part}"' in html, part
    assert "<th scope=" in html or "<table" not in html


# ------------------------------------------------------------------------------------------
async def test_the_queue_puts_high_risk_first_with_deadlines_filters_and_pages(
        system: Any, console: Callable[[], Browser], monkeypatch: pytest.MonkeyPatch) -> None:
    _, wages, _ = await report(system, WAGES)
    _, passport, _ = await report(system, PASSPORT)
    _, fees, _ = await report(system, FEES)
    browser = console()
    queue = await browser.sign_in("handler.tenaganita")
    assert str(queue.url) == f"{GATEWAY}/console/cases"
    check_page(queue)
    assert rows(queue)[0] == (passport, "high")  # high risk first, though filed second
    assert {r for r, _ in rows(queue)} == {wages, passport, fees}
    assert "documents kept by someone else" in queue.text
    assert "7 days left" in queue.text
    assert "Passport or documents kept by someone else" in queue.text  # the issue, by name
    assert "Philippines → Malaysia" in queue.text

    async def shown(query: str) -> set[str]:
        page = await browser.get(f"/console/cases?{query}")
        assert page.status_code == 200, page.text
        return {r for r, _ in rows(page)}

    assert await shown("issue=unpaid-wages") == {wages}
    assert await shown("origin=ID") == {wages, fees}
    assert await shown("destination=SG") == {fees}
    assert await shown("risk=high") == {passport}
    assert await shown("status=received") == {wages, passport, fees}
    assert await shown("status=closed") == set()
    assert await shown("assignee=unassigned") == {wages, passport, fees}
    assert await shown("assignee=mine") == set()
    filtered = await browser.get("/console/cases?issue=unpaid-wages&status=received")
    assert '<option value="unpaid-wages" selected>' in filtered.text  # the GET form keeps them
    assert 'value="received" id="filters-status" checked' in filtered.text
    assert "No cases match these filters." in (await browser.get(
        "/console/cases?status=closed")).text
    bad = await browser.get("/console/cases?origin=Indonesia")
    assert bad.status_code == 422  # a refused filter is a message on the page, not a 500
    check_page(bad)
    assert 'href="#filters-origin"' in bad.text
    assert re.search(r'<select id="filters-origin" name="origin"[^>]*aria-invalid="true"',
                     bad.text)

    whole = [r for r, _ in rows(queue)]
    monkeypatch.setattr(console_cases, "PAGE_SIZE", 2)
    first = await browser.get("/console/cases?status=received")
    assert len(rows(first)) == 2
    next_link = re.search(r'<a href="([^"]+)" id="next-page"', first.text)
    assert next_link is not None
    assert "status=received" in unescape(next_link[1])  # the filters go with the page
    second = await browser.get(unescape(next_link[1]))
    assert 'id="next-page"' not in second.text
    assert 'id="first-page"' in second.text
    assert [r for r, _ in rows(first) + rows(second)] == whole

    later = today() + timedelta(days=10)
    monkeypatch.setattr(console_cases, "today", lambda: later)  # ten days on, unacknowledged
    late = await browser.get("/console/cases")
    assert late.text.count('<span class="block overdue"><strong>Overdue:</strong>') == 2
    assert "overdue by 3 days" in late.text


async def test_a_case_shows_its_answers_with_redactions_and_the_handler_replies(
        system: Any, console: Callable[[], Browser], monkeypatch: pytest.MonkeyPatch) -> None:
    case_id, reference, receipt = await report(system, PASSPORT)
    browser = console()
    await browser.sign_in("handler.tenaganita")
    queue = await browser.get("/console/cases")
    assert f'href="/console/cases/{case_id}">{reference}</a>' in queue.text
    page = await browser.get(f"/console/cases/{case_id}")
    assert page.status_code == 200
    check_page(page)
    assert f"<h1>Case {reference}</h1>" in page.text
    assert "My employer keeps my passport." in page.text
    assert "If you want us to contact you, how?" in page.text  # the question is there...
    assert '<td class="redacted"><strong>Sealed</strong>' in page.text  # ...sealed, visibly
    assert CONTACT not in page.text
    assert "+60 12" not in page.text

    empty = await browser.submit(page, f"/console/cases/{case_id}/reply", {"body": "  "})
    assert empty.status_code == 422
    assert 'id="reply-body" name="body"' in empty.text
    assert 'aria-invalid="true"' in empty.text
    assert 'href="#reply-body"' in empty.text

    answer = "We have your report. Are you safe where you are now?"
    sent = await browser.submit(page, f"/console/cases/{case_id}/reply", {"body": answer},
                                follow=False)
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/console/cases/{case_id}?done=replied#conversation"
    after = await browser.get(sent.headers["location"])
    assert notice(after) == "Your message is in the reporter's inbox."
    assert answer in after.text

    async def in_inbox() -> bool:
        view = (await system.http.post("/api/v1/reports/lookup", json=receipt)).json()
        return any(m["body"] == answer for m in view["messages"])

    assert await eventually(in_inbox)
    assert "Wrote to the reporter" in after.text  # the timeline
    later = "Please also tell us the name of the agency if you know it."
    await browser.submit(after, f"/console/cases/{case_id}/reply", {"body": later})
    monkeypatch.setattr(console_cases, "MESSAGES_SHOWN", 1)  # the conversation in pages
    newest = await browser.get(f"/console/cases/{case_id}")
    assert later in newest.text
    assert answer not in newest.text
    assert 'id="newer-messages"' not in newest.text
    older = re.search(r'<a href="([^"]+)" id="older-messages"', newest.text)
    assert older is not None
    earlier = await browser.get(unescape(older[1]))
    assert answer in earlier.text
    assert later not in earlier.text
    assert 'id="newer-messages"' in earlier.text
    reads = after.text.split('id="reads"', 1)[1]
    assert "<td>You</td><td>Read the case</td>" in reads  # who read it


async def test_taking_and_handing_on_a_case(system: Any, console: Callable[[], Browser]) -> None:
    case_id, _, _ = await report(system, WAGES)
    hana, siti = console(), console()
    await hana.sign_in("handler.tenaganita")
    await siti.sign_in("supervisor.tenaganita")
    page = await hana.get(f"/console/cases/{case_id}")
    assert "No one has this case yet" in page.text
    taken = await hana.submit(page, f"/console/cases/{case_id}/assign", {"handler": ""})
    assert notice(taken) == "You took the case."
    assert '<dd id="case-assignee">You</dd>' in taken.text
    assert {r for r, _ in rows(await hana.get("/console/cases?assignee=mine"))} != set()

    refused = await siti.get(f"/console/cases/{case_id}")  # only Hana reads it now
    assert refused.status_code == 403
    assert "You cannot open this case" in refused.text
    assert "No salary for three months." not in refused.text

    handed = await hana.submit(taken, f"/console/cases/{case_id}/assign", {"handler": SITI})
    assert str(handed.url).startswith(f"{GATEWAY}/console/cases?")  # no longer hers to read
    assert notice(handed) == "The case is handed to your colleague."
    assert (await hana.get(f"/console/cases/{case_id}")).status_code == 403
    mine = await siti.get(f"/console/cases/{case_id}")
    assert mine.status_code == 200
    assert "You have this case" in mine.text


async def test_status_changes_are_those_the_lifecycle_allows(
        system: Any, console: Callable[[], Browser]) -> None:
    case_id, _, receipt = await report(system, WAGES)
    browser = console()
    await browser.sign_in("handler.tenaganita")
    page = await browser.get(f"/console/cases/{case_id}")
    assert radios(page.text, "to") == ["acknowledged", "withdrawn"]  # from case-management
    assert 'id="close-case"' not in page.text

    typed = "We will call the employer tomorrow."
    wrong = await browser.submit(page, f"/console/cases/{case_id}/status",
                                 {"to": "resolved", "reason": typed})
    assert wrong.status_code == 409
    assert "the case's current state does not allow it" in wrong.text
    assert "cannot become &#39;resolved&#39;" in wrong.text  # the service's own words
    assert f">{typed}</textarea>" in wrong.text  # what was typed is kept

    silent = await browser.submit(page, f"/console/cases/{case_id}/status",
                                  {"to": "acknowledged", "reason": "", "message": ""})
    assert silent.status_code == 422
    assert re.search(r'<textarea id="status-message"[^>]*aria-describedby="status-message-hint '
                     r'status-message-error" aria-invalid="true"', silent.text)
    assert 'value="acknowledged" id="status-to" required checked' in silent.text

    moved = await browser.submit(page, f"/console/cases/{case_id}/status",
                                 {"to": "acknowledged", "message": "We have your report."})
    assert notice(moved) == "The status is changed."
    assert '<dd id="case-status" data-status="acknowledged">' in moved.text
    assert radios(moved.text, "to") == ["in-assessment", "withdrawn"]

    async def reporter_sees_it() -> bool:
        view = (await system.http.post("/api/v1/reports/lookup", json=receipt)).json()
        return view["status"] == "acknowledged"

    assert await eventually(reporter_sees_it)


async def test_closing_demands_the_coding(system: Any, console: Callable[[], Browser]) -> None:
    case_id, _, _ = await report(system, WAGES)
    headers = await system.auth("handler.tenaganita")
    for body in ({"to": "acknowledged", "message": "We have it."}, {"to": "in-assessment"},
                 {"to": "not-upheld", "message": "We could not confirm it."}):
        moved = await system.http.post(f"/api/v1/cases/{case_id}/transitions", json=body,
                                       headers=headers)
        assert moved.status_code == 200, moved.text
    browser = console()
    await browser.sign_in("handler.tenaganita")
    page = await browser.get(f"/console/cases/{case_id}")
    assert radios(page.text, "to") == []  # from not-upheld only closing is allowed
    assert 'id="close-case"' in page.text
    assert 'value="unpaid-wages" id="coding-issues" checked' in page.text  # as reported

    action = f"/console/cases/{case_id}/coding"
    half = {"issues": "unpaid-wages", "origin": "ID", "destination": "MY", "respondent": "",
            "respondent_kind": "employer", "then": "close"}
    refused = await browser.submit(page, action, half)
    assert refused.status_code == 422
    assert re.search(r'id="coding-respondent-error"', refused.text)
    assert 'value="employer" selected' in refused.text  # the other answers are kept
    assert '<dd id="case-status" data-status="not-upheld">' in refused.text

    closed = await browser.submit(page, action, half | {"respondent": "Maju Jaya Sdn Bhd"})
    assert notice(closed) == "The case is coded and closed."
    assert '<dd id="case-status" data-status="closed">' in closed.text
    assert 'value="Maju Jaya Sdn Bhd"' in closed.text
    assert "Coded the case" in closed.text
    assert "Status changed to Closed" in closed.text


async def test_a_referral_needs_the_reporters_consent(
        system: Any, console: Callable[[], Browser]) -> None:
    case_id, _, _ = await report(system, PASSPORT)
    browser = console()
    await browser.sign_in("handler.tenaganita")
    page = await browser.get(f"/console/cases/{case_id}")
    assert 'id="no-consent"' in page.text
    assert 'id="referral-form"' not in page.text  # the page offers no referral without it

    _, hidden = form_of(page.text, f"/console/cases/{case_id}/reply")  # a valid CSRF token
    forged = await browser.post(f"/console/cases/{case_id}/referrals", {
        **hidden, "to_organisation": "map-foundation", "type": "referral",
        "share_profile": "minimal", "note": "Worker moved to Chiang Mai."})
    assert forged.status_code == 409  # and case-management refuses one sent anyway
    assert "has not consented" in forged.text
    assert ">Worker moved to Chiang Mai.</textarea>" not in forged.text  # no form to refill
    headers = await system.auth("handler.tenaganita")
    listed = await system.http.get(f"/api/v1/cases/{case_id}/referrals", headers=headers)
    assert listed.json()["referrals"] == []

    too_short = await browser.submit(page, f"/console/cases/{case_id}/consents", {
        "to_organisation": "map-foundation", "share_profile": "minimal", "types": "referral",
        "obtained": "ok"})
    assert too_short.status_code == 422
    assert 'href="#consent-obtained"' in too_short.text
    assert '<option value="map-foundation" selected>' in too_short.text

    consented = await browser.submit(page, f"/console/cases/{case_id}/consents", {
        "to_organisation": "map-foundation", "share_profile": "minimal", "types": "referral",
        "obtained": "Said yes by phone today"})
    assert notice(consented) == "The reporter's consent is recorded."
    assert 'id="no-consent"' not in consented.text
    targets = re.search(r'<select id="referral-to_organisation".*?</select>', consented.text,
                        re.S)
    assert targets is not None
    assert re.findall(r'<option value="([^"]+)"', targets[0]) == ["map-foundation"]

    too_much = await browser.submit(consented, f"/console/cases/{case_id}/referrals", {
        "to_organisation": "map-foundation", "type": "referral", "share_profile": "full",
        "note": "Please help."})
    assert too_much.status_code == 409  # more than the reporter agreed to share
    assert ">Please help.</textarea>" in too_much.text

    referred = await browser.submit(consented, f"/console/cases/{case_id}/referrals", {
        "to_organisation": "map-foundation", "type": "referral", "share_profile": "minimal",
        "note": "Please help."})
    assert notice(referred).startswith("The referral is sent")
    table = referred.text.split('id="referrals"', 1)[1]
    assert "MAP Foundation" in table
    assert "Waiting for an answer" in table
    assert "Referred the case" in referred.text


async def test_another_organisation_cannot_open_or_change_the_case(
        system: Any, console: Callable[[], Browser]) -> None:
    case_id, reference, _ = await report(system, PASSPORT)
    mali = console()
    queue = await mali.sign_in("handler.map")
    assert reference not in queue.text
    page = await mali.get(f"/console/cases/{case_id}")
    assert page.status_code == 404
    check_page(page)
    assert "No such case" in page.text
    for leak in (reference, "My employer keeps my passport.", CONTACT):
        assert leak not in page.text
    _, hidden = form_of(queue.text, "/console/sign-out")  # the session's CSRF token
    posted = await mali.post(f"/console/cases/{case_id}/reply",
                             {**hidden, "body": "Hello from another organisation"})
    assert posted.status_code == 404
    assert (await mali.get("/console/cases/not-a-case")).status_code == 404
    mediator = console()
    assert (await mediator.sign_in("mediator.tenaganita")).status_code == 403  # no role

    headers = await system.auth("handler.tenaganita")
    detail = (await system.http.get(f"/api/v1/cases/{case_id}", headers=headers)).json()
    assert detail["messages"] == []


async def test_forms_without_the_sessions_token_change_nothing(
        system: Any, console: Callable[[], Browser]) -> None:
    case_id, _, _ = await report(system, WAGES)
    browser = console()
    await browser.sign_in("handler.tenaganita")
    page = await browser.get(f"/console/cases/{case_id}")
    action = f"/console/cases/{case_id}/reply"
    no_token = await browser.post(action, {"body": "forged"})
    assert no_token.status_code == 403
    assert "This form was not accepted" in no_token.text
    _, hidden = form_of(page.text, action)
    cross_site = await browser.post(action, {**hidden, "body": "forged"},
                                    headers={"Sec-Fetch-Site": "cross-site",
                                             "Origin": "https://evil.example"})
    assert cross_site.status_code == 403
    taken = await browser.post(f"/console/cases/{case_id}/assign", {"handler": ""})
    assert taken.status_code == 403
    headers = await system.auth("handler.tenaganita")
    detail = (await system.http.get(f"/api/v1/cases/{case_id}", headers=headers)).json()
    assert detail["messages"] == []
    assert detail["assigned_to"] is None


@pytest.mark.parametrize(("code", "expected"), [
    ("id", ("Kasus organisasi Anda", "Risiko tinggi dulu")),
    ("fil", ("Mga kaso ng inyong organisasyon", "Inuuna ang mataas na panganib"))])
async def test_the_pages_speak_the_staff_languages(
        system: Any, console: Callable[[], Browser], code: str,
        expected: tuple[str, str]) -> None:
    case_id, _, _ = await report(system, PASSPORT)
    browser = console()
    queue = await browser.sign_in("handler.tenaganita")
    chosen = await browser.submit(queue, "/console/language",
                                  {"language": code, "next": "/console/cases"})
    assert f'<html lang="{code}"' in chosen.text
    for text in expected:
        assert text in chosen.text
    page = await browser.get(f"/console/cases/{case_id}")
    check_page(page)
    assert f'<html lang="{code}"' in page.text
    assert "What the reporter said" not in page.text
