"""End-to-end fixtures: the real processes, started the way `make run` starts them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from suara_kit.stack import Stack

STACK_DB_NAMES = {"intake": "intake", "case-management": "cases",
                  "mediation-scheduling": "mediation", "notification": "notification"}


@pytest.fixture
def stack(tmp_path: Path, database_url: Callable[[str], str]) -> Iterator[Stack]:
    """nats-server from the wheel, dev issuer, four services and gateway as child processes,
    each service on its own fresh database (SQLite files under var/, or PostgreSQL)."""
    urls = {name: database_url(db) for name, db in STACK_DB_NAMES.items()}
    running = Stack(var_dir=tmp_path / "var", database_urls=urls)
    try:
        running.start()
        yield running
    finally:
        running.stop()


def token(stack: Stack, username: str) -> dict[str, str]:
    """A bearer header for a seeded user, from the issuer over HTTP (as the README does)."""
    reply = httpx.post(f"{stack.issuer_url}/protocol/openid-connect/token", data={
        "grant_type": "password", "client_id": "suara-console", "username": username,
        "password": "suara-dev"}, timeout=10)
    assert reply.status_code == 200, reply.text
    return {"Authorization": f"Bearer {reply.json()['access_token']}"}
