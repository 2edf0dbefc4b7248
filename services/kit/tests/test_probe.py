"""The container probe: NATS connections found in the namespace's TCP table, the health
request over a real nats-server, HTTP checks, and the command line."""

from __future__ import annotations

import http.server
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from suara_contracts.rpc import Health
from suara_contracts.subjects import Rpc
from suara_kit import probe

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


async def test_ready_asks_the_service_over_nats(nc: Client, nats_url: str) -> None:
    async def answer(msg: Msg) -> None:
        await msg.respond(Health(service="intake", database="ok").model_dump_json().encode())

    sub = await nc.subscribe(Rpc.INTAKE_HEALTH, queue="q", cb=answer)
    await nc.flush()
    try:
        said = await probe.check_health(nats_url, "intake", timeout=2)
    finally:
        await sub.unsubscribe()
    assert said == "intake answers, database ok"


async def test_ready_fails_when_no_replica_answers(nats_url: str) -> None:
    with pytest.raises(probe.ProbeFailed, match="No service answers"):
        await probe.check_health(nats_url, "notification", timeout=1)


async def test_ready_fails_when_nats_is_unreachable() -> None:
    with pytest.raises(probe.ProbeFailed, match="cannot reach NATS"):
        await probe.check_health("nats://127.0.0.1:1", "cases", timeout=1)


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
