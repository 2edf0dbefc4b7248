"""What the browser tests share: Debian's Chromium (`.ci/run` installs it), its flags, where
screenshots go, and signing in to the console through the development issuer's page."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "artifacts"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium: install it with `apt-get install -y chromium` "
    "(.ci/run does) to run the browser test")


def sign_in(page: Any, url: str, username: str, password: str = "suara-dev") -> None:
    """Open a console page, sign in on the issuer's page, land back on it (through the
    callback's continue page)."""
    page.goto(url)
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(url)
