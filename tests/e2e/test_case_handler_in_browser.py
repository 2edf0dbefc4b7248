"""A case handler at the end of a long day, in headless Chromium with JavaScript off (real
processes, as `make run` starts them): signs in, finds the high-risk case at the top of the
queue, opens it (the reporter's contact is sealed, and shown as sealed), replies to the
reporter, records the reporter's consent and refers the case to a partner. A handler of another
organisation cannot open the case by its address. Screenshots of each page go to
var/artifacts/."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from suara_kit.stack import Stack

from .browser import ARTIFACTS, CHROMIUM, FLAGS, needs_chromium, sign_in
from .conftest import token

pytestmark = pytest.mark.e2e
CONTACT = "WhatsApp +60 12 555 0199"
STORY = "My employer keeps my passport and locks the door at night."
REPLY = "We have your report. Are you safe tonight? Answer here when you can."


def file_report(stack: Stack, answers: dict[str, Any]) -> dict[str, str]:
    """A worker's report to Tenaganita: its reference and receipt."""
    filed = httpx.post(f"{stack.gateway_url}/api/v1/reports", timeout=10, json={
        "organisation": "tenaganita", "answers": answers})
    assert filed.status_code == 201, filed.text
    return {"reference": filed.json()["reference"], "receipt": filed.json()["receipt"]}


def case_of(stack: Stack, reference: str) -> str:
    """The case opened for a report (events travel asynchronously)."""
    deadline = time.monotonic() + 30
    headers = token(stack, "handler.tenaganita")
    while time.monotonic() < deadline:
        listed = httpx.get(f"{stack.gateway_url}/api/v1/cases", headers=headers, timeout=10)
        found = [c["case_id"] for c in listed.json()["items"] if c["reference"] == reference]
        if found:
            return str(found[0])
        time.sleep(0.3)
    raise AssertionError(f"no case for {reference}")


@needs_chromium
def test_a_handler_replies_to_a_high_risk_case_and_refers_it_with_consent(
        stack: Stack) -> None:
    from playwright.sync_api import sync_playwright

    file_report(stack, {"categories": ["unpaid-wages"], "country": "MY", "origin": "ID",
                        "what_happened": "No salary since August."})
    urgent = file_report(stack, {"categories": ["document-retention", "confinement"],
                                 "country": "MY", "origin": "ID", "what_happened": STORY,
                                 "contact": CONTACT})
    case_id = case_of(stack, urgent["reference"])
    queue_url = f"{stack.gateway_url}/console/cases"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        desk = browser.new_context(java_script_enabled=False,
                                   viewport={"width": 1024, "height": 720}, locale="en-GB")
        page = desk.new_page()
        sign_in(page, queue_url, "handler.tenaganita")
        top = page.locator("#queue tbody tr").first
        assert top.get_attribute("data-reference") == urgent["reference"]
        assert top.get_attribute("data-risk") == "high"
        assert "7 days left" in top.inner_text()
        page.screenshot(path=str(ARTIFACTS / "console-queue.png"), full_page=True)

        top.locator("a").first.click()
        page.wait_for_url(f"{queue_url}/{case_id}")
        assert page.inner_text("h1") == f"Case {urgent['reference']}"
        assert STORY in page.inner_text("#report")
        assert "Sealed" in page.inner_text("#report .redacted")
        assert CONTACT not in page.content()
        page.screenshot(path=str(ARTIFACTS / "console-case.png"), full_page=True)

        page.fill("#reply-body", REPLY)
        page.click("#send-reply")
        page.wait_for_url(f"{queue_url}/{case_id}?done=replied#conversation")
        assert page.inner_text("#notice") == "Your message is in the reporter's inbox."
        assert REPLY in page.inner_text("#conversation")
        page.screenshot(path=str(ARTIFACTS / "console-case-replied.png"), full_page=True)

        assert page.is_visible("#no-consent")
        assert page.locator("#referral-form").count() == 0  # no referral without consent
        page.select_option("#consent-to_organisation", "map-foundation")
        page.check("#consent-share_profile")  # minimal
        page.fill("#consent-obtained", "Said yes in the inbox conversation today")
        page.click("#record-consent")
        assert page.inner_text("#notice") == "The reporter's consent is recorded."
        page.select_option("#referral-to_organisation", "map-foundation")
        page.fill("#referral-note", "Worker may move to Chiang Mai; needs help there.")
        page.click("#refer-case")
        page.wait_for_url(f"{queue_url}/{case_id}?done=referred#referral")
        assert "Waiting for an answer" in page.inner_text("#referrals")
        page.screenshot(path=str(ARTIFACTS / "console-case-referred.png"), full_page=True)

        elsewhere = browser.new_context(java_script_enabled=False,
                                        viewport={"width": 1024, "height": 720})
        other = elsewhere.new_page()
        sign_in(other, queue_url, "handler.map")
        assert urgent["reference"] not in other.inner_text("main")
        reply = other.goto(f"{queue_url}/{case_id}")
        assert reply is not None
        assert reply.status == 404
        assert other.inner_text("h1") == "No such case"
        assert STORY not in other.content()
        other.screenshot(path=str(ARTIFACTS / "console-case-other-organisation.png"),
                         full_page=True)
        browser.close()

    deadline = time.monotonic() + 30
    while True:  # the reply reaches the reporter's inbox as an event
        view = httpx.post(f"{stack.gateway_url}/api/v1/reports/lookup", json=urgent,
                          timeout=10).json()
        if any(m["body"] == REPLY for m in view["messages"]) or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert any(m["body"] == REPLY for m in view["messages"])
    referrals = httpx.get(f"{stack.gateway_url}/api/v1/cases/{case_id}/referrals",
                          headers=token(stack, "handler.tenaganita"), timeout=10).json()
    assert [(r["to_organisation"], r["consent"]) for r in referrals["referrals"]] == [
        ("map-foundation", "recorded")]
    gateway_log = (stack.var_dir / "log" / "gateway.log").read_text()
    for identifying in (CONTACT, STORY, REPLY, urgent["receipt"], "handler.tenaganita"):
        assert identifying not in gateway_log
