"""The container probe: NATS connections found in the namespace's TCP table, the health
request over a real nats-server, HTTP checks, and the command line."""

from __future__ import annotations

import http.server
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from nats.aio.client import Client

from suara_intake.handlers import MIGRATIONS
from suara_intake.models import Inbox, Outbox, Replay
from suara_intake.settings import IntakeSettings
from suara_kit import probe
from suara_kit.service import ServiceApp, instance_file

HEADER = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
          "timeout inode")
LINUX = pytest.mark.skipif(not Path("/proc/net/tcp").exists(),
                           reason="NOT TESTED: no /proc/net/tcp here (the live check is Linux's)")


def table(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "tcp"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def row(local_port: int, remote_port: int, state: str) -> str:
    return (f"   0: 0100007F:{local_port:04X} 0100007F:{remote_port:04X} {state} "
            "00000000:00000000 00:00000000 00000000  1000        0 12345 1 0 20 4 30 10 -1")


def test_nats_ports_of_one_or_several_servers() -> None:
    assert probe.nats_ports("nats://nats:4222") == {4222}
    assert probe.nats_ports("nats://user:secret@nats-0.nats:4222,nats://nats-1.nats:5222") == {
        4222, 5222}
    assert probe.nats_ports("tls://nats") == {4222}
    assert probe.nats_ports("nats-2:6222") == {6222}


def test_only_established_client_side_connections_count(tmp_path: Path) -> None:
    tcp = table(tmp_path,
                row(40000, 4222, "01"),   # ours: established, far end on 4222
                row(40001, 4222, "06"),   # TIME_WAIT: a probe's earlier connection
                row(4222, 40002, "01"),   # a server's side: 4222 is near
                row(40003, 5432, "01"))   # the database
    assert probe.established_to({4222}, [tcp]) == 1
    assert probe.established_to({5432, 4222}, [tcp]) == 2
    assert probe.established_to({6222}, [tcp]) == 0


def test_live_fails_without_a_connection_and_says_which_port(tmp_path: Path) -> None:
    tcp = table(tmp_path, row(40003, 5432, "01"))
    with pytest.raises(probe.ProbeFailed, match="no established connection to NATS \\(port 4222\\)"):
        probe.check_live("nats://nats:4222", [tcp])
    assert probe.check_live("nats://nats:5432", [tcp]) == "connected to NATS"


def test_live_refuses_to_guess_without_a_tcp_table(tmp_path: Path) -> None:
    with pytest.raises(probe.ProbeFailed, match="needs Linux"):
        probe.check_live("nats://nats:4222", [tmp_path / "missing"])


@LINUX
async def test_live_sees_a_real_connection(nc: Client, nats_url: str) -> None:
    assert probe.check_live(nats_url) == "connected to NATS"
    with pytest.raises(probe.ProbeFailed):
        probe.check_live("nats://127.0.0.1:1")  # nothing is connected to port 1


@pytest.fixture
async def replicas(nats_url: str, tmp_path: Path) -> AsyncIterator[list[ServiceApp]]:
    """Two running processes' worth of one service (each its own instance file)."""
    apps = []
    for n in (1, 2):
        settings = IntakeSettings(database_url=f"sqlite+aiosqlite:///{tmp_path}/intake.sqlite",
                                  nats_url=nats_url, var_dir=tmp_path, env="test",
                                  instance_file=tmp_path / f"replica-{n}.instance")
        apps.append(ServiceApp("intake", settings, migrations=MIGRATIONS, outbox=Outbox,
                               inbox=Inbox, replays=Replay, rpc_prefix="suara.rpc.intake.v1"))
    for app in apps:
        await app.start()
    yield apps
    for app in apps:
        await app.stop()


async def test_ready_asks_this_replica_when_it_last_reached_its_database(
        replicas: list[ServiceApp], nats_url: str) -> None:
    first, second = replicas
    said = await probe.check_instance(nats_url, first.instance_file(), timeout=2)
    assert said == "this replica of intake answers, database reached 0 s ago"
    # the first replica lost its database a minute ago; the second did not: the probe of
    # each tells its own (the service's health endpoint would be answered by either)
    first._database_reached -= 60
    with pytest.raises(probe.ProbeFailed, match="last reached its database 60 s ago"):
        await probe.check_instance(nats_url, first.instance_file(), timeout=2)
    assert "reached 0 s ago" in await probe.check_instance(nats_url, second.instance_file(),
                                                           timeout=2)


async def test_the_database_check_notes_when_it_was_reached(replicas: list[ServiceApp]) -> None:
    first, _ = replicas
    first._database_reached -= 60
    await first._check_database()
    assert time.monotonic() - first._database_reached < 5


async def test_ready_fails_for_a_replica_that_stopped(replicas: list[ServiceApp],
                                                     nats_url: str, tmp_path: Path) -> None:
    first, _ = replicas
    written = first.instance_file().read_text()
    await first.stop()
    assert not first.instance_file().exists()  # a stopped service takes its file away
    with pytest.raises(probe.ProbeFailed, match="has not started yet"):
        await probe.check_instance(nats_url, first.instance_file(), timeout=1)
    # and were the file left behind (kill -9), nobody answers for that instance
    left = tmp_path / "left.instance"
    left.write_text(written)
    with pytest.raises(probe.ProbeFailed, match="does not answer over NATS"):
        await probe.check_instance(nats_url, left, timeout=1)


async def test_ready_fails_when_nats_is_unreachable(tmp_path: Path) -> None:
    instance = tmp_path / "intake.instance"
    instance.write_text('{"service": "intake", "id": "abc"}')
    with pytest.raises(probe.ProbeFailed, match="cannot reach NATS"):
        await probe.check_instance("nats://127.0.0.1:1", instance, timeout=1)


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 503)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        return None


@pytest.fixture
def http_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_http_check(http_url: str) -> None:
    assert probe.check_http(f"{http_url}/healthz", 2) == "HTTP 200"
    with pytest.raises(probe.ProbeFailed, match="HTTP 503"):
        probe.check_http(f"{http_url}/readyz", 2)
    with pytest.raises(probe.ProbeFailed, match="takes an http"):
        probe.check_http("file:///etc/passwd", 2)


def test_command_line(http_url: str, monkeypatch: pytest.MonkeyPatch,
                      tmp_path: Path) -> None:
    assert probe.run(["http", f"{http_url}/healthz"]) == (0, "HTTP 200")
    assert probe.run(["http", f"{http_url}/readyz"]) == (1, "unhealthy: HTTP 503")
    with pytest.raises(SystemExit):
        probe.run(["ready", "gateway"])  # the gateway's readiness is its /readyz
    with pytest.raises(SystemExit):
        probe.run(["live", "postgres"])
    monkeypatch.setenv("SUARA_NATS_URL", "nats://user:s3cret@127.0.0.1:1")
    monkeypatch.setattr(probe, "TCP_TABLES", (table(tmp_path),))
    for argv in (["ready", "intake"], ["live", "gateway"]):
        status, said = probe.run(argv)
        assert status == 1
        assert "s3cret" not in said
        assert said == "unhealthy: no established connection to NATS (port 1)"


def test_the_module_runs_as_a_command(http_url: str) -> None:
    import subprocess

    done = subprocess.run([sys.executable, "-m", "suara_kit.probe", "http", f"{http_url}/healthz"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout) == (0, "HTTP 200\n")


def test_ready_finds_the_file_the_service_writes(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    monkeypatch.delenv("SUARA_INSTANCE_FILE", raising=False)
    assert probe.instance_of("cases") == instance_file("case-management")
    assert probe.instance_of("mediation") == instance_file("mediation-scheduling")
    assert instance_file("intake").name == "suara-intake.instance"
    monkeypatch.setenv("SUARA_INSTANCE_FILE", str(tmp_path / "mine.instance"))
    assert probe.instance_of("intake") == tmp_path / "mine.instance"
    assert IntakeSettings().instance_file == tmp_path / "mine.instance"  # the service agrees
