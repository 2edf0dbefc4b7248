"""A worker on a 360 px phone with JavaScript off: chooses Bahasa Indonesia, files a report,
keeps the receipt, later opens the inbox with it and reads a handler's reply (real processes,
headless Chromium from Debian; `.ci/run` installs it)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx
import pytest

from suara_kit.stack import Stack

pytestmark = pytest.mark.e2e
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "artifacts"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
REPLY = "Terima kasih. Kami sudah menerima laporan Anda dan akan menulis di sini."


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium: install it with "
                    "`apt-get install -y chromium` (.ci/run does) to run the browser test")
def test_worker_files_in_indonesian_and_reads_the_reply(stack: Stack) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        phone = browser.new_context(java_script_enabled=False,
                                    viewport={"width": 360, "height": 740})
        page = phone.new_page()
        page.goto(stack.gateway_url + "/")
        page.click("a[hreflang=id]")
        assert page.locator("html").get_attribute("lang") == "id"
        page.select_option("#organisation", "tenaganita")
        page.check("input[name=categories][value=unpaid-wages]")
        page.fill("#what_happened", "Majikan tidak membayar gaji saya selama tiga bulan.")
        page.check("input[name=country][value=MY]")
        page.click("button[type=submit]")
        assert "Gaji tidak dibayar atau kurang dibayar" in page.inner_text("#review-categories")
        page.click("button[formaction='/id/edit']")  # change an answer, then review again
        assert page.locator("#what_happened").input_value().startswith("Majikan")
        page.check("input[name=safe_now][value=no]")
        page.click("button[type=submit]")
        assert page.inner_text("#review-safe_now").strip() == "Tidak"
        page.click("button[type=submit]:not([formaction])")  # send
        reference = page.inner_text("#reference").strip()
        receipt = page.inner_text("#receipt").strip()
        assert reference.startswith("SU-")
        assert phone.cookies() == []

        acknowledge(stack, reference)

        deadline = time.monotonic() + 30
        while True:  # reply and status travel as two events, to two services
            page.goto(stack.gateway_url + "/id/follow-up")
            page.fill("#reference", reference)
            page.fill("#receipt", receipt)
            page.click("button[type=submit]")
            status = page.locator("#status").get_attribute("data-status")
            shown = REPLY in page.inner_text("main") and status == "acknowledged"
            if shown or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert page.locator("#status").get_attribute("data-status") == "acknowledged"
        assert REPLY in page.inner_text("main")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "worker-id-inbox-360.png"), full_page=True)
        assert phone.cookies() == []
        browser.close()


def acknowledge(stack: Stack, reference: str) -> None:
    """A Tenaganita handler acknowledges the case with a reply, over the API."""
    token = httpx.post(f"{stack.issuer_url}/protocol/openid-connect/token", data={
        "grant_type": "password", "client_id": "suara-console",
        "username": "handler.tenaganita", "password": "suara-dev"}).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=stack.gateway_url, headers=auth, timeout=15) as api:
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
