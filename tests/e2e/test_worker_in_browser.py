"""A worker on a 360 px phone with JavaScript off: chooses Bahasa Indonesia, files a report with
a photo, keeps the receipt, later opens the inbox with it, reads a handler's reply and answers
it (real processes, headless Chromium from Debian; `.ci/run` installs it)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import httpx
import pytest

from suara_kit.stack import Stack

from .browser import ARTIFACTS, CHROMIUM, FLAGS, needs_chromium

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.e2e
REPLY = "Terima kasih. Kami sudah menerima laporan Anda dan akan menulis di sini."


@needs_chromium
def test_worker_files_in_indonesian_and_reads_the_reply(stack: Stack) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        phone = browser.new_context(java_script_enabled=False,
                                    viewport={"width": 360, "height": 740})
        page = phone.new_page()
        page.goto(stack.gateway_url + "/")
        page.click("a[hreflang=id]")
        page.wait_for_load_state("load")  # the form's stylesheet hides conditional questions
        assert page.locator("html").get_attribute("lang") == "id"
        page.select_option("#organisation", "tenaganita")
        assert not page.is_visible("#q-owed")  # asked only about wages or fees (CSS, no script)
        page.check("input[name=categories][value=unpaid-wages]")
        assert page.is_visible("#q-owed")
        page.fill("#owed", "4500")
        page.select_option("#owed__currency", "MYR")
        page.fill("#what_happened", "Majikan tidak membayar gaji saya selama tiga bulan.")
        page.check("input[name=country][value=MY]")
        page.set_input_files("#evidence", files=[{
            "name": "IMG_20261101_Siti_Rahayu.jpg", "mimeType": "image/jpeg",
            "buffer": photo_with_gps()}])
        page.click("button[type=submit]")
        assert "Gaji tidak dibayar atau kurang dibayar" in page.inner_text("#review-categories")
        assert "4.500" in page.inner_text("#review-owed")
        assert "KB" in page.inner_text("#review-evidence")
        assert "Siti" not in page.content()  # the photo's own name is never shown or kept
        page.click("button[formaction='/id/edit']")  # change an answer, then review again
        assert page.locator("#what_happened").input_value().startswith("Majikan")
        assert page.is_checked("input[type=checkbox][name=evidence]")  # the photo is kept
        page.check("input[name=safe_now][value=no]")
        page.click("button[type=submit]")
        assert page.inner_text("#review-safe_now").strip() == "Tidak"
        assert "KB" in page.inner_text("#review-evidence")
        page.click("button[type=submit]:not([formaction])")  # send
        reference = page.inner_text("#reference").strip()
        receipt = page.inner_text("#receipt").strip()
        assert reference.startswith("SU-")
        assert phone.cookies() == []

        acknowledge(stack, reference)

        deadline = time.monotonic() + 30
        while True:  # reply and status travel as two events, to two services
            reload_status(page, stack, reference, receipt)
            status = page.locator("#status").get_attribute("data-status")
            shown = REPLY in page.inner_text("main") and status == "acknowledged"
            if shown or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert page.locator("#status").get_attribute("data-status") == "acknowledged"
        assert REPLY in page.inner_text("main")

        page.click("form[action='/id/reply'] button")  # the worker answers from the inbox
        page.fill("#text", WORKER_REPLY)
        page.click("button[type=submit]:not(.secondary)")
        assert page.is_visible("#notice")
        deadline = time.monotonic() + 30
        while not page.locator(".msg.mine").count():  # it reaches the inbox as an event
            assert time.monotonic() < deadline, "the worker's reply never reached the inbox"
            time.sleep(0.3)
            reload_status(page, stack, reference, receipt)
        assert WORKER_REPLY in page.inner_text(".msg.mine")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "worker-id-inbox-360.png"), full_page=True)
        assert phone.cookies() == []
        browser.close()

    detail = handler_view(stack, reference)
    assert len(detail["answers"]["evidence"]) == 1  # the photo, stored as an attachment id
    assert detail["answers"]["owed"] == "4500 MYR"
    assert any(m["from_reporter"] and m["body"] == WORKER_REPLY for m in detail["messages"])


WORKER_REPLY = "Terima kasih. Saya masih bekerja di rumah yang sama."


def photo_with_gps() -> bytes:
    """A phone photo that says where and when it was taken, and with which phone."""
    from io import BytesIO

    from PIL import Image

    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "SpyPhone", "Model X"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (3.0, 8.0, 24.0), "E", (101.0, 41.0, 10.0)
    out = BytesIO()
    Image.new("RGB", (800, 600), (180, 120, 60)).save(out, "JPEG", exif=exif)
    return out.getvalue()


def _handler_api(stack: Stack) -> httpx.Client:
    token = httpx.post(f"{stack.issuer_url}/protocol/openid-connect/token", data={
        "grant_type": "password", "client_id": "suara-cli",
        "username": "handler.tenaganita", "password": "suara-dev"}).json()["access_token"]
    return httpx.Client(base_url=stack.gateway_url, timeout=15,
                        headers={"Authorization": f"Bearer {token}"})


def handler_view(stack: Stack, reference: str) -> dict:
    """The case as its handler reads it, once the worker's reply has reached it."""
    with _handler_api(stack) as api:
        case = next(c for c in api.get("/api/v1/cases").json()["items"]
                    if c["reference"] == reference)
        deadline = time.monotonic() + 30
        while True:
            detail: dict = api.get(f"/api/v1/cases/{case['case_id']}").json()
            if any(m["from_reporter"] for m in detail["messages"]):
                return detail
            assert time.monotonic() < deadline, "the worker's reply never reached the case"
            time.sleep(0.2)


def reload_status(page: Page, stack: Stack, reference: str, receipt: str) -> None:
    """Open the status page again with reference and receipt, as the worker would."""
    page.goto(stack.gateway_url + "/id/follow-up")
    page.fill("#reference", reference)
    page.fill("#receipt", receipt)
    page.click("button[type=submit]")


def acknowledge(stack: Stack, reference: str) -> None:
    """A Tenaganita handler acknowledges the case with a reply, over the API."""
    with _handler_api(stack) as api:
        deadline = time.monotonic() + 30
        while True:
            cases = api.get("/api/v1/cases").json()["items"]
            case = next((c for c in cases if c["reference"] == reference), None)
            if case or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert case, "case never opened"
        ack = api.post(f"/api/v1/cases/{case['case_id']}/acknowledge", json={"message": REPLY})
        assert ack.status_code == 200, ack.text
