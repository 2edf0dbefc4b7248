"""`python -m suara_kit.probe`: health checks run inside a container (Docker HEALTHCHECK,
compose healthchecks, Kubernetes exec probes).

The services open no port (they connect out to NATS and to their database), so nothing can
probe them over HTTP or TCP from outside; and the images have no shell, curl or wget. So:

    python -m suara_kit.probe live  <service>   liveness
    python -m suara_kit.probe ready <service>   readiness
    python -m suara_kit.probe live  gateway     the gateway holds its NATS connection
    python -m suara_kit.probe http  <url>       an HTTP 2xx (the gateway's /healthz, /readyz)

`<service>` is intake, cases, mediation or notification (or the long names case-management,
mediation-scheduling). Exit status 0 means healthy, 1 not; one line on stdout says why (it
never prints the NATS URL, which may carry credentials).

`live`: this container's network namespace holds an established TCP connection to a NATS port
named in SUARA_NATS_URL. A service connects to NATS only after its migrations ran, and the NATS
server closes the connection of a client that stops answering its pings (`ping_interval` times
`ping_max` in the server's config; the deployment's NATS config makes that about a minute), so
a process that died or hangs fails it. It is this replica's own connection that is looked for
(the table is the container's: `/proc/net/tcp` and `tcp6`).

`ready`: `live`, and this very replica answers over NATS and reached its database in the last
20 s. A running service writes its NATS micro instance id to a file (SUARA_INSTANCE_FILE, by
default `suara-<service>.instance` in the temporary directory, the container's own); the probe
asks `$SRV.STATS.<service>.<id>`, which only that process answers, and reads from its reply
when the process last reached its database (it checks every 5 s). A request to the service's
health endpoint would go to any one replica (queue group "q") and say nothing of this one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_NATS_PORT = 4222
ESTABLISHED = "01"  # the state column of /proc/net/tcp
TCP_TABLES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))


class ProbeFailed(Exception):
    """The check failed; the message says why, and carries no URL or secret."""


def nats_servers(url: str) -> list[str]:
    """The servers of a NATS URL: one URL, or several separated by commas."""
    return [part.strip() for part in url.split(",") if part.strip()]


def nats_ports(url: str) -> set[int]:
    """The TCP ports a connection to `url` can have at its far end."""
    ports = set()
    for server in nats_servers(url):
        parsed = urlsplit(server if "://" in server else f"nats://{server}")
        ports.add(parsed.port or DEFAULT_NATS_PORT)
    return ports


def established_to(ports: set[int], tables: Iterable[Path] | None = None) -> int:
    """How many established TCP connections in this network namespace have their far end on
    one of `ports` (the client side of a NATS connection: the server side has it near)."""
    found, readable = 0, False
    for table in TCP_TABLES if tables is None else tables:
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        readable = True
        for line in lines:
            fields = line.split()
            if len(fields) < 4 or fields[3] != ESTABLISHED:
                continue
            try:
                port = int(fields[2].rsplit(":", 1)[1], 16)
            except (IndexError, ValueError):
                continue
            if port in ports:
                found += 1
    if not readable:
        raise ProbeFailed("cannot read /proc/net/tcp: the live check needs Linux")
    return found


def check_live(nats_url: str, tables: Iterable[Path] | None = None) -> str:
    """Pass when this container holds a NATS connection; the reason otherwise."""
    ports = nats_ports(nats_url)
    if established_to(ports, tables) == 0:
        listed = ", ".join(str(port) for port in sorted(ports))
        raise ProbeFailed(f"no established connection to NATS (port {listed})")
    return "connected to NATS"


READY_WITHIN = 20.0  # seconds since the replica last reached its database


def read_instance(path: Path) -> tuple[str, str]:
    """The (micro service name, instance id) a running service wrote to `path`."""
    try:
        written = json.loads(path.read_text())
        return str(written["service"]), str(written["id"])
    except FileNotFoundError:
        raise ProbeFailed(f"this replica has not started yet (no {path.name})") from None
    except (OSError, ValueError, KeyError, TypeError):
        raise ProbeFailed(f"cannot read {path.name}") from None


async def check_instance(nats_url: str, instance: Path, timeout: float) -> str:
    """Ask this replica itself (`$SRV.STATS.<service>.<id>`) when it last reached its
    database."""
    import nats
    from nats.errors import Error as NatsError

    name, instance_id = read_instance(instance)

    async def quiet(_: Exception) -> None:
        return None

    try:
        nc = await asyncio.wait_for(
            nats.connect(nats_servers(nats_url), name="suara-probe", allow_reconnect=False,
                         connect_timeout=timeout, error_cb=quiet), timeout)
    except (TimeoutError, OSError, NatsError) as exc:
        raise ProbeFailed(f"cannot reach NATS: {type(exc).__name__}") from None
    try:
        reply = await nc.request(f"$SRV.STATS.{name}.{instance_id}", b"", timeout=timeout)
        stats = json.loads(reply.data)
    except (NatsError, TimeoutError):
        raise ProbeFailed(f"this replica of {name} does not answer over NATS") from None
    except ValueError:
        raise ProbeFailed(f"this replica of {name} answered something unreadable") from None
    finally:
        await nc.close()
    ages = [endpoint["data"]["database_reached_seconds_ago"]
            for endpoint in stats.get("endpoints", [])
            if isinstance(endpoint.get("data"), dict)
            and "database_reached_seconds_ago" in endpoint["data"]]
    if not ages:
        raise ProbeFailed(f"this replica of {name} does not say when it reached its database")
    if ages[0] > READY_WITHIN:
        raise ProbeFailed(f"this replica of {name} last reached its database {ages[0]:.0f} s "
                          "ago")
    return f"this replica of {name} answers, database reached {ages[0]:.0f} s ago"


def check_http(url: str, timeout: float) -> str:
    """GET `url`; pass on a 2xx."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise ProbeFailed("the http check takes an http:// or https:// URL")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        raise ProbeFailed(f"HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise ProbeFailed(f"no answer: {type(exc).__name__}") from None
    if not 200 <= status < 300:
        raise ProbeFailed(f"HTTP {status}")
    return f"HTTP {status}"


def run(argv: list[str] | None = None) -> tuple[int, str]:
    """Run one check; (exit status, the line to print)."""
    parser = argparse.ArgumentParser(prog="python -m suara_kit.probe", description=(
        "Health checks for Suara's containers: live/ready <service>, or http <url>."))
    parser.add_argument("check", choices=["live", "ready", "http"])
    parser.add_argument("target", help="a service (intake, cases, mediation, notification) "
                                       "or, for http, a URL")
    parser.add_argument("--timeout", type=float, default=3.0,
                        help="seconds to wait for an answer (default 3)")
    args = parser.parse_args(argv)
    try:
        if args.check == "http":
            return 0, check_http(args.target, args.timeout)
        known = [*LONG_NAMES, "gateway"] if args.check == "live" else list(LONG_NAMES)
        if args.target not in known:
            parser.error(f"cannot check {args.check} {args.target!r}; one of {', '.join(known)}"
                         + (" (the gateway's readiness: http .../readyz)"
                            if args.target == "gateway" else ""))
        from suara_kit.settings import ProcessSettings

        settings = ProcessSettings()
        said = check_live(settings.nats_url)
        if args.check == "ready":
            said = asyncio.run(check_instance(settings.nats_url, instance_of(args.target),
                                              args.timeout))
        return 0, said
    except ProbeFailed as exc:
        return 1, f"unhealthy: {exc}"


LONG_NAMES = {"intake": "intake", "cases": "case-management",
              "case-management": "case-management", "mediation": "mediation-scheduling",
              "mediation-scheduling": "mediation-scheduling", "notification": "notification"}


def instance_of(service: str) -> Path:
    """The file the running `service` wrote its instance id to (SUARA_INSTANCE_FILE, as the
    service reads it, or its default)."""
    from suara_kit.service import instance_file

    configured = os.environ.get("SUARA_INSTANCE_FILE")
    return Path(configured) if configured else instance_file(LONG_NAMES[service])


def main() -> None:
    status, said = run()
    sys.stdout.write(said + "\n")
    raise SystemExit(status)


if __name__ == "__main__":
    main()
