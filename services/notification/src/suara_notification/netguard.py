"""Partner webhooks must not become a way into our own network (server-side request forgery):
a URL may only lead to public addresses, unless an address is inside a network the operator
allowed (`SUARA_NOTIFICATION_WEBHOOK_ALLOW_NETWORKS`, e.g. a receiver on the same machine in
development).

`check_url` refuses what the URL alone gives away (scheme, credentials, port, `localhost`, a
private address written as the host); `resolve` also looks the name up and refuses when any
address it resolves to is not public. The sender then connects to one of those checked
addresses itself, so a second lookup (DNS rebinding) cannot send it elsewhere.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import SplitResult, urlsplit

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class Refused(ValueError):
    """The URL may not be called; the message says why, in English."""


class Unresolved(OSError):
    """The host name does not resolve (now): may work later."""


def networks(allow: Iterable[str]) -> list[Network]:
    """The allowed networks from their CIDR strings."""
    return [ipaddress.ip_network(cidr.strip(), strict=False) for cidr in allow]


def _unwrapped(address: IP) -> IP:
    """The IPv4 address an IPv4-mapped (`::ffff:a.b.c.d`) or NAT64 (`64:ff9b::a.b.c.d`)
    address stands for; any other address itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def _global(address: IP) -> bool:
    return address.is_global and not (address.is_multicast or address.is_reserved
                                      or address.is_private)


def public(address: IP) -> bool:
    """Whether an address is on the public internet: not private, loopback, link-local,
    multicast, reserved, unspecified or shared (CGNAT), however it is written (IPv4-mapped,
    NAT64, 6to4)."""
    inner = _unwrapped(address)
    if isinstance(inner, ipaddress.IPv6Address) and inner.sixtofour is not None \
            and not _global(inner.sixtofour):
        return False
    return _global(inner)


def inside(address: IP, allow: list[Network]) -> bool:
    """Whether the address is inside one of the allowed networks."""
    inner = _unwrapped(address)
    return any(a in net for a in {address, inner} for net in allow if a.version == net.version)


def _literal(host: str) -> IP | None:
    """The address a host is written as: dotted, IPv6, or the old forms (`127.1`,
    `2130706433`, `0x7f.0.0.1`) that the resolver accepts too."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _parts(url: str) -> tuple[SplitResult, str, int]:
    if any(c.isspace() or ord(c) < 32 or c == "\\" for c in url):
        raise Refused("The URL contains spaces, control characters or backslashes.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused("The URL is not valid: check the host and port.") from None
    if parts.scheme not in ("https", "http"):
        raise Refused("Only https URLs are allowed.")
    if parts.username is not None or parts.password is not None:
        raise Refused("The URL may not contain a user name or password.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise Refused("The URL has no host.")
    if port == 0:
        raise Refused("Port 0 is not allowed.")
    return parts, host, port or (443 if parts.scheme == "https" else 80)


def _check_address(address: IP, host: str, allow: list[Network], scheme: str) -> None:
    if inside(address, allow):
        return
    if not public(address):
        what = host if _literal(host) is not None else f"{host} resolves to {address}, which"
        raise Refused(f"{what} is a private, loopback, link-local or otherwise non-public "
                      "address; webhooks only go to the public internet.")
    if scheme == "http":
        raise Refused("Only https URLs are allowed (http only inside an allowed network).")


def check_url(url: str, allow_networks: Iterable[str]) -> None:
    """Refuse a URL that cannot be safe whatever its name resolves to; `resolve` checks the
    addresses."""
    allow = networks(allow_networks)
    parts, host, _ = _parts(url)
    if host in LOCAL_NAMES or host.endswith(".localhost"):
        raise Refused(f"{host} is this machine; webhooks only go to the public internet.")
    address = _literal(host)
    if address is not None:
        _check_address(address, host, allow, parts.scheme)
    elif parts.scheme == "http" and not allow:
        raise Refused("Only https URLs are allowed.")


async def _addresses(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise Unresolved(f"{host} does not resolve.") from None
    return list(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in found))


async def resolve(url: str, allow_networks: Iterable[str]) -> list[str]:
    """The addresses the URL's host resolves to, each checked; `Refused` when any one of
    them is not public and not allowed, `Unresolved` when the name does not resolve."""
    allow_list = list(allow_networks)
    check_url(url, allow_list)
    allow = networks(allow_list)
    parts, host, port = _parts(url)
    literal = _literal(host)
    found = [str(literal)] if literal is not None else await _addresses(host, port)
    if not found:
        raise Unresolved(f"{host} does not resolve.")
    for text in found:
        _check_address(ipaddress.ip_address(text), host, allow, parts.scheme)
    return found
