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
def start_stack(tmp_path: Path, database_url: Callable[[str], str]
                ) -> Iterator[Callable[..., Stack]]:
    """Start nats-server from the wheel, the dev issuer, four services and the gateway as child
    processes, each service on its own fresh database (SQLite under var/, or PostgreSQL)."""
    started: list[Stack] = []

    def start(extra_env: dict[str, str] | None = None) -> Stack:
        urls = {name: database_url(db) for name, db in STACK_DB_NAMES.items()}
        running = Stack(var_dir=tmp_path / "var", database_urls=urls, extra_env=extra_env or {})
        started.append(running)
        return running.start()

    try:
        yield start
    finally:
        for running in started:
            running.stop()


@pytest.fixture
def stack(start_stack: Callable[..., Stack]) -> Stack:
    """The whole system, as `make run` starts it."""
    return start_stack()


def token(stack: Stack, username: str) -> dict[str, str]:
    """A bearer header for a seeded user, from the issuer over HTTP (as the README does)."""
    reply = httpx.post(f"{stack.issuer_url}/protocol/openid-connect/token", data={
        "grant_type": "password", "client_id": "suara-cli", "username": username,
        "password": "suara-dev"}, timeout=10)
    assert reply.status_code == 200, reply.text
    return {"Authorization": f"Bearer {reply.json()['access_token']}"}
