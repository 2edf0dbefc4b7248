"""A case handler signs in to the staff console in headless Chromium (JavaScript off) through the
development issuer's login page, sees their name and organisation, and signs out (real
processes, as `make run` starts them).

The issuer is reached as http://localhost:<port> while the gateway is http://127.0.0.1:<port>:
two sites, as Keycloak and the console are in production. So this also shows that Chromium
keeps the console's `__Host-`, Secure, SameSite=Strict cookie over plain HTTP on a loopback
address, and sends it after a sign-in that started on another site (the continue page)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from suara_kit.stack import Stack

from .browser import ARTIFACTS, CHROMIUM, FLAGS, needs_chromium
from .conftest import STACK_DB_NAMES

pytestmark = pytest.mark.e2e
SESSION_COOKIE = "__Host-suara-console"


@pytest.fixture
def cross_site_stack(tmp_path: Path, database_url: Callable[[str], str]) -> Iterator[Stack]:
    """The system with its issuer named by `localhost`, the gateway by 127.0.0.1."""
    stack = Stack(var_dir=tmp_path / "var",
                  database_urls={name: database_url(db) for name, db in STACK_DB_NAMES.items()})
    issuer = f"http://localhost:{stack.issuer_port}"
    stack.extra_env = {"SUARA_DEVISSUER_BASE_URL": issuer,
                       "SUARA_GATEWAY_OIDC_ISSUER": f"{issuer}/realms/suara"}
    try:
        yield stack.start()
    finally:
        stack.stop()


@needs_chromium
def test_a_case_handler_signs_in_sees_who_and_where_and_signs_out(
        cross_site_stack: Stack) -> None:
    from playwright.sync_api import sync_playwright

    stack, console = cross_site_stack, f"{cross_site_stack.gateway_url}/console"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        desk = browser.new_context(java_script_enabled=False,
                                   viewport={"width": 1024, "height": 720}, locale="en-GB")
        page = desk.new_page()
        page.goto(console)
        assert page.url.startswith(f"http://localhost:{stack.issuer_port}/realms/suara/")
        page.fill("#username", "handler.tenaganita")
        page.fill("#password", "not-the-password")
        page.click("button[type=submit]")
        assert page.inner_text("#error") == "Invalid username or password."
        page.screenshot(path=str(ARTIFACTS / "console-sign-in-error.png"), full_page=True)
        page.fill("#password", "suara-dev")
        page.click("button[type=submit]")
        page.wait_for_url(console)  # through the callback's continue page

        assert page.locator("html").get_attribute("lang") == "en"
        assert page.inner_text("#name") == "Hana Handler"
        assert page.inner_text("#username") == "handler.tenaganita"
        assert page.inner_text("#organisation") == "Tenaganita (Malaysia)"
        assert page.inner_text("#roles") == "Case handler"
        assert page.inner_text("#signed-in-as") == "Hana Handler"
        session = [c for c in desk.cookies() if c["name"] == SESSION_COOKIE]
        assert len(session) == 1
        assert session[0]["secure"]
        assert session[0]["httpOnly"]
        assert session[0]["sameSite"] == "Strict"
        assert session[0]["domain"] == "127.0.0.1"
        page.keyboard.press("Tab")  # the first stop is the skip link, and it shows
        assert page.locator("a.skip:focus").is_visible()
        page.screenshot(path=str(ARTIFACTS / "console-home.png"), full_page=True)

        page.click("#sign-out")
        page.wait_for_url(f"{console}/signed-out")
        assert page.inner_text("h1") == "You are signed out"
        assert not [c for c in desk.cookies() if c["name"] == SESSION_COOKIE]
        page.screenshot(path=str(ARTIFACTS / "console-signed-out.png"), full_page=True)

        page.goto(console)  # signing in again takes the password (prompt=login)
        assert page.locator("#password").is_visible()
        browser.close()

    gateway_log = (stack.var_dir / "log" / "gateway.log").read_text()
    for identifying in ("handler.tenaganita", "Hana", "suara-dev"):
        assert identifying not in gateway_log
