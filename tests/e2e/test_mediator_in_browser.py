"""A mediator in headless Chromium with JavaScript off (real processes, as `make run` starts
them): signs in, sets their availability (two ranges on Monday, a time zone, a day off), finds
the proposed times for a mediation in their time and each party's, books the first, sees it in
their week on a phone-sized screen, and records the agreement the parties reached. Screenshots
of each page go to var/artifacts/."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from suara_kit.stack import Stack

from .browser import ARTIFACTS, CHROMIUM, FLAGS, needs_chromium, sign_in
from .conftest import token

pytestmark = pytest.mark.e2e
KL = ZoneInfo("Asia/Kuala_Lumpur")
PROMISE = "Pay the three months of wages owed, by bank transfer"


def mediation_for_a_new_case(stack: Stack) -> dict[str, Any]:
    """A report to Tenaganita, its case, and a video mediation with the worker (resting on
    Sundays) and the employer side, set up over the API as a mediator would."""
    filed = httpx.post(f"{stack.gateway_url}/api/v1/reports", timeout=10, json={
        "organisation": "tenaganita", "answers": {
            "categories": ["unpaid-wages"], "country": "MY", "origin": "ID",
            "what_happened": "No salary since August."}})
    assert filed.status_code == 201, filed.text
    mediator = token(stack, "mediator.tenaganita")
    video = httpx.post(f"{stack.gateway_url}/api/v1/mediation/resources", headers=mediator,
                       timeout=10, json={
                           "kind": "video-link", "name": "Zoom room 1",
                           "timezone": "Asia/Kuala_Lumpur", "weekly_hours": [
                               {"weekday": d, "start": "07:00", "end": "22:00"}
                               for d in range(1, 8)]})
    assert video.status_code == 201, video.text
    handler = token(stack, "handler.tenaganita")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # events travel: intake, cases, then mediation
        cases = httpx.get(f"{stack.gateway_url}/api/v1/cases", headers=handler, timeout=10)
        found = [c["case_id"] for c in cases.json()["items"]
                 if c["reference"] == filed.json()["reference"]]
        if found:
            started = httpx.post(
                f"{stack.gateway_url}/api/v1/cases/{found[0]}/mediations", headers=mediator,
                timeout=10, json={"mode": "video", "parties": [
                    {"role": "worker", "alias": "Worker A", "timezone": "Asia/Kuala_Lumpur",
                     "rest_days": [7], "quiet_hours": {"start": "21:00", "end": "07:00"},
                     "language": "id"},
                    {"role": "employer", "alias": "Employer HR",
                     "timezone": "Asia/Singapore"}]})
            if started.status_code == 201:
                return dict(started.json())
        time.sleep(0.3)
    raise AssertionError("no mediation could be started")


@needs_chromium
def test_a_mediator_sets_availability_books_from_a_proposal_and_records_an_agreement(
        stack: Stack) -> None:
    from playwright.sync_api import sync_playwright

    mediation = mediation_for_a_new_case(stack)
    console = f"{stack.gateway_url}/console/mediation"
    day_off = date.today() + timedelta(days=1)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        desk = browser.new_context(java_script_enabled=False,
                                   viewport={"width": 1024, "height": 720}, locale="en-GB")
        page = desk.new_page()
        sign_in(page, f"{console}/availability", "mediator.tenaganita")
        assert page.inner_text("h1") == "Your availability"
        page.select_option("#timezone", "Asia/Kuala_Lumpur")
        for day in range(1, 7):  # Monday to Saturday; Monday with a lunch break
            page.fill(f"#w{day}-0-start", "09:00")
            page.fill(f"#w{day}-0-end", "12:00" if day == 1 else "17:00")
        page.fill("#w1-1-start", "13:00")
        page.fill("#w1-1-end", "17:00")
        page.fill("#o0-date", day_off.isoformat())
        page.check("#o0-off")
        page.screenshot(path=str(ARTIFACTS / "console-mediator-availability-form.png"),
                        full_page=True)
        page.click("#save-availability")
        page.wait_for_url(f"{console}/availability?done=availability")
        assert page.inner_text("#notice") == "Your availability is saved."
        assert page.input_value("#w1-1-start") == "13:00"
        assert page.input_value("#o0-date") == day_off.isoformat()
        page.keyboard.press("Tab")  # the skip link first, and it shows
        assert page.locator("a.skip:focus").is_visible()
        page.screenshot(path=str(ARTIFACTS / "console-mediator-availability.png"),
                        full_page=True)

        page.click("#nav-mediations")
        page.click(f"a[href='/console/mediation/mediations/{mediation['mediation_id']}']")
        assert "Worker A (Worker)" in page.inner_text("#parties")
        page.screenshot(path=str(ARTIFACTS / "console-mediator-mediation.png"),
                        full_page=True)
        page.select_option("#duration_minutes", "60")
        page.click("#find-slots")
        first = page.locator("#slot-1")
        assert "Employer HR" in first.inner_text()
        assert "Asia/Singapore" in first.inner_text()
        page.screenshot(path=str(ARTIFACTS / "console-mediator-proposals.png"), full_page=True)
        first.locator("#book-1").click()
        assert page.inner_text("#notice") == "The session is booked."
        assert page.inner_text("#status") == "Booked"
        when = page.inner_text("#when")
        page.screenshot(path=str(ARTIFACTS / "console-mediator-session.png"), full_page=True)
        booking_id = page.url.split("/bookings/")[1].split("?")[0]

        phone = browser.new_context(java_script_enabled=False,
                                    viewport={"width": 360, "height": 740}, locale="en-GB",
                                    storage_state=desk.storage_state())
        small = phone.new_page()
        booked = httpx.get(f"{stack.gateway_url}/api/v1/bookings/{booking_id}",
                           headers=token(stack, "mediator.tenaganita"), timeout=10).json()
        starts = datetime.fromisoformat(booked["starts_at"]).astimezone(KL)
        small.goto(f"{console}?week={starts.date()}")
        day = small.locator(f"#day-{starts.date()}")
        assert f"{starts:%H:%M}" in day.inner_text()
        assert "Worker A" in day.inner_text()
        assert f"{starts:%H:%M}" in when
        box = small.locator("ol.days").bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= 360  # the week fits a phone, no sideways scrolling
        small.screenshot(path=str(ARTIFACTS / "console-mediator-week-phone.png"),
                         full_page=True)
        phone.close()

        page.click("#to-mediation")
        page.click("#to-agreements")
        page.select_option("#worker_language", "id")
        page.select_option("#ob0-kind", "payment")
        page.fill("#ob0-description", PROMISE)
        page.fill("#ob0-amount", "9000")
        page.fill("#ob0-currency", "MYR")
        page.screenshot(path=str(ARTIFACTS / "console-mediator-agreement-form.png"),
                        full_page=True)
        page.click("#record-agreement")
        assert page.inner_text("#notice").startswith("The agreement is drafted.")
        assert PROMISE in page.inner_text("#obligations")
        assert page.locator("#options-text").get_attribute("lang") == "id"
        page.click("#acknowledge")
        page.click("#sign")
        assert page.inner_text("#notice") == "The agreement is signed."
        assert page.inner_text("#agreement-status").startswith("Signed")
        page.screenshot(path=str(ARTIFACTS / "console-mediator-agreement.png"), full_page=True)
        browser.close()

    gateway_log = (stack.var_dir / "log" / "gateway.log").read_text()
    for identifying in ("mediator.tenaganita", "Meena", PROMISE, "Worker A"):
        assert identifying not in gateway_log
