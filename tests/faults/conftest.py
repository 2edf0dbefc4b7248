"""Fault fixtures: the real processes as `make run` starts them (tests/e2e does the same), each
service on a fresh database of its own (SQLite, or PostgreSQL when reachable, dropped after),
optionally behind a TCP proxy that a test can cut, and with N processes per service."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from suara_kit.faultproxy import FaultProxy
from suara_kit.stack import Stack

STACK_DB_NAMES = {"intake": "intake", "case-management": "cases",
                  "mediation-scheduling": "mediation", "notification": "notification"}
RPC_TIMEOUT = 5.0  # the gateway's SUARA_GATEWAY_RPC_TIMEOUT in these tests
NEVER_HANGS = RPC_TIMEOUT + 2.0  # every answer comes within this (s): a correctness bound
_FIGURES: list[str] = []  # what the fault tests measured, shown at the end of the run


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Note a measurement (durations, answers seen); the run's summary lists them."""
    return lambda text: _FIGURES.append(f"{request.node.name}: {text}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _FIGURES:
        terminalreporter.write_sep("-", "fault figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)


@dataclass
class Running:
    """A started stack, the databases as the test reads them (never through the proxy), and
    the proxy the services reach PostgreSQL through (if asked for)."""

    stack: Stack
    urls: dict[str, str]
    proxy: FaultProxy | None = None
    log: list[str] = field(default_factory=list)

    def restart(self, name: str) -> None:
        """Start a killed process again and wait until the gateway says everything is ready."""
        if name == "gateway":
            self.stack.start_gateway()
        else:
            self.stack.start_service(name)
        self.stack.wait_ready(60)

    def tail(self, name: str, lines: int = 40) -> str:
        path = self.stack.var_dir / "log" / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _through(proxy: FaultProxy, url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.replace(f"{parts.hostname}:{parts.port or 5432}",
                                  f"127.0.0.1:{proxy.port}")
    if netloc == parts.netloc:
        raise AssertionError(f"cannot route {parts.hostname}:{parts.port} through the proxy")
    return parts._replace(netloc=netloc).geturl()


@pytest.fixture
def start_faulty(tmp_path: Path, database_url: Callable[[str], str], db_backend: str
                 ) -> Iterator[Callable[..., Running]]:
    """A factory: start the whole system (`replicas` processes per service, `gateways`
    gateways; with `proxied`,
    the services reach PostgreSQL through a `FaultProxy`); everything stops after the test."""
    started: list[Running] = []

    def start(replicas: int = 1, proxied: bool = False,
              extra_env: dict[str, str] | None = None, gateways: int = 1) -> Running:
        urls = {name: database_url(db) for name, db in STACK_DB_NAMES.items()}
        proxy = None
        service_urls = dict(urls)
        if proxied:
            assert db_backend == "postgresql", "the database proxy stands before PostgreSQL"
            upstream = urlsplit(next(iter(urls.values())))
            proxy = FaultProxy((upstream.hostname or "127.0.0.1", upstream.port or 5432)).start()
            service_urls = {name: _through(proxy, url) for name, url in urls.items()}
        env = {"SUARA_GATEWAY_RPC_TIMEOUT": str(RPC_TIMEOUT)} | (extra_env or {})
        stack = Stack(var_dir=tmp_path / "var", database_urls=service_urls, extra_env=env,
                      replicas=replicas, gateways=gateways)
        running = Running(stack, urls, proxy)
        started.append(running)
        stack.start()
        return running

    try:
        yield start
    finally:
        for running in started:
            running.stack.stop()
            if running.proxy is not None:
                running.proxy.close()
