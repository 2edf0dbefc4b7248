"""The whole system on one machine, as `make run` starts it and the end-to-end tests drive it:
a nats-server from the wheel, the development OIDC issuer, the four services and the gateway."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from suara_kit.natsserver import NatsServer, free_port, wait_for_port

SERVICES = {  # name → (module, environment prefix)
    "intake": ("suara_intake", "SUARA_INTAKE_"),
    "case-management": ("suara_cases", "SUARA_CASES_"),
    "mediation-scheduling": ("suara_mediation", "SUARA_MEDIATION_"),
    "notification": ("suara_notification", "SUARA_NOTIFICATION_"),
}
REALM = "suara"


def port_or_free(preferred: int) -> int:
    """`preferred` if nothing listens there, else any free port."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
        except OSError:
            return free_port()
    return preferred


def service_of(process: str) -> str:
    """The service a process name belongs to: "intake" for "intake" and "intake.2"."""
    name = process.split(".", 1)[0]
    if name not in SERVICES:
        raise KeyError(f"{process} is not a process of one of {', '.join(SERVICES)}")
    return name


@dataclass
class Stack:
    """Child processes of one Suara deployment, with their state under `var_dir`.

    `replicas` processes run each service (named "intake", "intake.2", …): they share the
    service's database and its durable consumers, and NATS spreads requests (queue group "q")
    and events (one durable pull consumer, fetched by each) between them."""

    var_dir: Path
    gateway_port: int = 0
    issuer_port: int = 0
    nats_url: str | None = None
    database_urls: dict[str, str] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)
    replicas: int = 1
    gateways: int = 1  # gateway processes ("gateway", "gateway.2", …), each on a port of its own
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    nats: NatsServer | None = None
    gateway_ports: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.var_dir = self.var_dir.resolve()
        self.gateway_port = self.gateway_port or free_port()
        self.issuer_port = self.issuer_port or free_port()
        if self.replicas < 1 or self.gateways < 1:
            raise ValueError("replicas, gateways: at least 1")
        self.gateway_ports = [self.gateway_port] + [free_port() for _ in range(self.gateways - 1)]
        (self.var_dir / "log").mkdir(parents=True, exist_ok=True)

    @property
    def gateway_url(self) -> str:
        """The first gateway's URL."""
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def gateway_urls(self) -> list[str]:
        """Every gateway's URL, the first first."""
        return [f"http://127.0.0.1:{port}" for port in self.gateway_ports]

    def gateway_names(self) -> list[str]:
        return ["gateway"] + [f"gateway.{i}" for i in range(2, self.gateways + 1)]

    @property
    def issuer_url(self) -> str:
        return f"http://127.0.0.1:{self.issuer_port}/realms/{REALM}"

    def env(self) -> dict[str, str]:
        """The environment every child gets."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SUARA_")}
        env.update({
            "SUARA_ENV": os.environ.get("SUARA_ENV", "development"),
            "SUARA_NATS_URL": self.nats_url or "",
            "SUARA_VAR_DIR": str(self.var_dir),
            "SUARA_GATEWAY_PORT": str(self.gateway_port),
            "SUARA_GATEWAY_OIDC_ISSUER": self.issuer_url,
            "SUARA_DEVISSUER_BASE_URL": f"http://127.0.0.1:{self.issuer_port}",
            "SUARA_DEVISSUER_KEY_FILE": str(self.var_dir / "devissuer" / "signing-key.pem"),
            # the console's callback on whatever port the gateway got (the realm lists :8000)
            "SUARA_DEVISSUER_REDIRECT_URIS": json.dumps(
                {"suara-console": [f"{self.gateway_url}/console/callback"]}),
            "SUARA_DEVISSUER_POST_LOGOUT_REDIRECT_URIS": json.dumps(
                {"suara-console": [f"{self.gateway_url}/console/signed-out"]}),
            "PYTHONUNBUFFERED": "1",
        })
        for name, url in self.database_urls.items():
            env[SERVICES[name][1] + "DATABASE_URL"] = url
        env.update(self.extra_env)
        return env

    def processes(self, service: str) -> list[str]:
        """The names of a service's processes: "intake", then "intake.2" and so on."""
        return [service] + [f"{service}.{i}" for i in range(2, self.replicas + 1)]

    def _spawn(self, name: str, module: str, *args: str,
               env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        with (self.var_dir / "log" / f"{name}.log").open("ab") as log:
            proc = subprocess.Popen([sys.executable, "-m", module, *args],
                                    env=self.env() | (env or {}),
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = proc
        return proc

    def start(self, timeout: float = 90) -> Stack:
        """Start everything and wait until the gateway reports every service ready."""
        if not self.nats_url:
            self.nats = NatsServer(self.var_dir / "nats")
            self.start_nats()
            self.nats_url = self.nats.url
        (self.var_dir / "devissuer").mkdir(parents=True, exist_ok=True)
        issuer = self._spawn("devissuer", "suara_devissuer", "--host", "127.0.0.1",
                             "--port", str(self.issuer_port))
        wait_for_port(self.issuer_port, timeout=30, proc=issuer)
        for service in SERVICES:  # one process each first: it migrates the database
            self.start_service(service)
        for name in self.gateway_names():
            self.start_gateway(name)
        self.wait_ready(timeout)
        if self.replicas > 1:  # the others once it is at the newest revision (no race on DDL)
            for service in SERVICES:
                for name in self.processes(service)[1:]:
                    self.start_service(name)
            self.wait_processes(timeout)
        return self

    def wait_processes(self, timeout: float = 90) -> None:
        """Block until each running process of every service answers NATS micro's
        `$SRV.PING.<service>` (each process of a service answers for itself)."""
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            expected = {s: sum(n in self.procs for n in self.processes(s)) for s in SERVICES}
            answered = asyncio.run(_pings(self.nats_url or "", list(SERVICES)))
            if all(answered[s] >= n for s, n in expected.items()):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"processes answering after {timeout} s: {answered}, "
                                   f"expected {expected}")
            time.sleep(0.3)

    def start_service(self, name: str) -> None:
        """(Re)start one process of the four services ("case-management", or a replica such
        as "case-management.2")."""
        if name in self.procs and self.procs[name].poll() is None:
            raise RuntimeError(f"{name} is running")
        self._spawn(name, SERVICES[service_of(name)][0])

    def start_gateway(self, name: str = "gateway") -> None:
        """(Re)start a gateway ("gateway", or "gateway.2" and so on) and wait until it
        listens."""
        if name in self.procs and self.procs[name].poll() is None:
            raise RuntimeError(f"{name} is running")
        port = self.gateway_ports[self.gateway_names().index(name)]
        gateway = self._spawn(name, "suara_gateway", env={"SUARA_GATEWAY_PORT": str(port)})
        wait_for_port(port, timeout=30, proc=gateway)

    def stop_nats(self, kill: bool = False) -> None:
        """Stop the stack's own nats-server (SIGTERM, or SIGKILL with `kill`), keeping its
        JetStream store for `start_nats`."""
        if self.nats is None:
            raise RuntimeError("this stack uses a nats-server it did not start")
        if kill:
            self.nats.kill()
        else:
            self.nats.stop()

    def start_nats(self) -> None:
        """Start the stack's nats-server (again after `stop_nats`: on the same port, with the
        same JetStream store)."""
        if self.nats is None:
            raise RuntimeError("this stack uses a nats-server it did not start")
        with (self.var_dir / "log" / "nats-server.log").open("ab") as log:
            self.nats.log = log  # the child keeps its own copy of the descriptor
            self.nats.start()
        self.nats.log = None

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal one child (kill -9 by default) and reap it."""
        proc = self.procs.pop(name)
        proc.send_signal(sig)
        proc.wait(30)

    def wait_ready(self, timeout: float = 90) -> None:
        """Block until GET /readyz answers 200."""
        deadline, last = time.monotonic() + timeout, "no answer"
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                reply = httpx.get(self.gateway_url + "/readyz", timeout=5)
                if reply.status_code == 200:
                    return
                last = reply.text
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            time.sleep(0.3)
        raise TimeoutError(f"Suara not ready after {timeout} s: {last}")

    def _check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                log = (self.var_dir / "log" / f"{name}.log").read_text(errors="replace")
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{log[-3000:]}")

    def stop(self) -> None:
        """Stop every child: SIGTERM, then SIGKILL after 10 s."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()
        if self.nats:
            self.nats.stop()


async def _pings(nats_url: str, services: list[str], wait: float = 0.5) -> dict[str, int]:
    """How many processes of each service answer `$SRV.PING.<service>` within `wait`."""
    import nats

    nc = await nats.connect(nats_url, connect_timeout=5)
    try:
        counts = {}
        for service in services:
            inbox = nc.new_inbox()
            sub = await nc.subscribe(inbox)
            await nc.publish(f"$SRV.PING.{service.replace('-', '_')}", b"", reply=inbox)
            ids = set()
            deadline = time.monotonic() + wait
            while (left := deadline - time.monotonic()) > 0:
                try:
                    msg = await sub.next_msg(timeout=left)
                except nats.errors.TimeoutError:
                    break
                ids.add(json.loads(msg.data).get("id"))
            await sub.unsubscribe()
            counts[service] = len(ids)
        return counts
    finally:
        await nc.close()


def _accounts() -> list[tuple[str, str]]:
    realm = Path(__file__).resolve()
    for parent in realm.parents:
        candidate = parent / "deploy" / "keycloak" / "realm-suara.json"
        if candidate.exists():
            data = json.loads(candidate.read_text())
            return [(u["username"], ", ".join(u.get("realmRoles", [])) or "no role")
                    for u in data.get("users", []) if not u.get("serviceAccountClientId")]
    return []


MANAGED = frozenset({"SUARA_VAR_DIR", "SUARA_GATEWAY_PORT", "SUARA_NATS_URL",
                     "SUARA_GATEWAY_OIDC_ISSUER", "SUARA_DEVISSUER_BASE_URL",
                     "SUARA_DEVISSUER_KEY_FILE", "SUARA_DEVISSUER_REDIRECT_URIS",
                     "SUARA_DEVISSUER_POST_LOGOUT_REDIRECT_URIS"})


def passed_through(environ: Mapping[str, str]) -> dict[str, str]:
    """The caller's own SUARA_* settings (e.g. `SUARA_NOTIFICATION_SMTP_URL=… make run`),
    except those the stack sets itself; tests build a Stack without them."""
    return {k: v for k, v in environ.items() if k.startswith("SUARA_") and k not in MANAGED}


def main() -> None:
    """`make run`: start everything, print where it is, stop everything on Ctrl-C."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--var-dir", type=Path, default=Path(os.environ.get("SUARA_VAR_DIR", "var")))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SUARA_GATEWAY_PORT", 8000)))
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting for every child process (repeatable)")
    parser.add_argument("--replicas", type=int, default=1,
                        help="processes per service (they share its database and consumers)")
    args = parser.parse_args()
    stack = Stack(var_dir=args.var_dir, gateway_port=port_or_free(args.port),
                  issuer_port=port_or_free(8180), nats_url=os.environ.get("SUARA_NATS_URL"),
                  replicas=args.replicas,
                  extra_env=passed_through(os.environ) | {
                      k: v for k, _, v in (item.partition("=") for item in args.env)})
    try:
        stack.start()
        print(f"\nSuara is running.\n  Worker form:  {stack.gateway_url}/\n"
              f"  Console:      {stack.gateway_url}/console  (staff)\n"
              f"  API docs:     {stack.gateway_url}/api/v1/docs\n"
              f"  Readiness:    {stack.gateway_url}/readyz\n"
              f"  OIDC issuer:  {stack.issuer_url}\n  NATS:         {stack.nats_url}\n"
              f"  Logs:         {stack.var_dir / 'log'}\n\nDevelopment accounts (password "
              "'suara-dev'; the console signs them in, client 'suara-cli' gives curl tokens):")
        for username, roles in _accounts():
            print(f"  {username:22} {roles}")
        print("\nPress Ctrl-C to stop.", flush=True)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    except KeyboardInterrupt:
        pass
    finally:
        print("Stopping Suara…", flush=True)
        stack.stop()


if __name__ == "__main__":
    main()
