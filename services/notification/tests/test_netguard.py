"""The SSRF guard: webhook URLs reach only the public internet, whatever the host is written as
or resolves to, unless the operator allowed a network."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from suara_notification import netguard
from suara_notification.netguard import Refused, Unresolved, check_url, resolve

LOOPBACK = ["127.0.0.0/8", "::1/128"]

REFUSED = [
    ("ftp://hooks.partner.example/", "https"),
    ("file:///etc/passwd", "https"),
    ("http://hooks.partner.example/", "https"),  # http, and no network is allowed
    ("http://8.8.8.8/", "https"),  # http to a public address
    ("https://user:pw@hooks.partner.example/", "user name"),
    ("https://token@hooks.partner.example/", "user name"),
    ("https://hooks.partner.example:0/", "Port 0"),
    ("https://hooks.partner.example:70000/", "not valid"),
    ("https://hooks.partner.example:port/", "not valid"),
    ("https:///path-only", "no host"),
    ("https://hooks.partner.example/a b", "spaces"),
    ("https://hooks.partner.example\\@evil.example/", "backslashes"),
    ("https://localhost/hook", "this machine"),
    ("https://LOCALHOST./hook", "this machine"),
    ("https://api.localhost/hook", "this machine"),
    ("https://127.0.0.1/", "non-public"),
    ("https://127.1/", "non-public"),  # the resolver reads it as 127.0.0.1
    ("https://2130706433/", "non-public"),  # 127.0.0.1 as one number
    ("https://0x7f.0.0.1/", "non-public"),
    ("https://0.0.0.0/", "non-public"),
    ("https://10.1.2.3/", "non-public"),
    ("https://172.16.0.1/", "non-public"),
    ("https://192.168.1.1:8443/", "non-public"),
    ("https://100.64.0.1/", "non-public"),  # shared (carrier-grade NAT)
    ("https://169.254.169.254/latest/meta-data/", "non-public"),  # cloud metadata
    ("https://224.0.0.1/", "non-public"),  # multicast
    ("https://240.0.0.1/", "non-public"),  # reserved
    ("https://255.255.255.255/", "non-public"),
    ("https://192.0.2.10/", "non-public"),  # documentation
    ("https://[::1]/", "non-public"),
    ("https://[::]/", "non-public"),
    ("https://[::ffff:127.0.0.1]/", "non-public"),  # IPv4-mapped loopback
    ("https://[::ffff:10.0.0.1]/", "non-public"),
    ("https://[::ffff:169.254.169.254]/", "non-public"),
    ("https://[64:ff9b::a9fe:a9fe]/", "non-public"),  # NAT64 of the metadata address
    ("https://[2002:7f00:1::1]/", "non-public"),  # 6to4 of loopback
    ("https://[fc00::1]/", "non-public"),
    ("https://[fd12:3456::1]/", "non-public"),
    ("https://[fe80::1]/", "non-public"),
    ("https://[ff02::1]/", "non-public"),
]

ALLOWED = [
    "https://hooks.partner.example/suara",
    "https://hooks.partner.example:8443/suara?token=abc",
    "https://8.8.8.8/",
    "https://[2001:4860:4860::8888]/",
    "https://[::ffff:8.8.8.8]/",
    "https://[64:ff9b::808:808]/",
]


@pytest.mark.parametrize(("url", "says"), REFUSED)
def test_refused(url: str, says: str) -> None:
    with pytest.raises(Refused, match=says):
        check_url(url, [])


@pytest.mark.parametrize("url", ALLOWED)
def test_allowed(url: str) -> None:
    check_url(url, [])


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/hook", "https://127.0.0.1/",
                                 "https://[::1]:9000/", "https://[::ffff:127.0.0.1]/",
                                 "http://receiver.test:8080/"])
def test_an_allowed_network_admits_its_addresses_and_http(url: str) -> None:
    check_url(url, LOOPBACK)


@pytest.mark.parametrize("url", ["https://10.0.0.1/", "http://8.8.8.8/",
                                 "https://localhost/", "https://169.254.169.254/"])
def test_an_allowed_network_admits_nothing_else(url: str) -> None:
    with pytest.raises(Refused):
        check_url(url, LOOPBACK)


def names(table: dict[str, list[str]]) -> Callable[[str, int], Awaitable[list[str]]]:
    async def lookup(host: str, port: int) -> list[str]:
        if host not in table:
            raise Unresolved(f"{host} does not resolve.")
        return table[host]
    return lookup


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(netguard, "_addresses", names({
        "hooks.partner.example": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
        "rebind.example": ["93.184.215.14", "10.0.0.7"],  # one public, one private
        "metadata.example": ["169.254.169.254"],
        "mapped.example": ["::ffff:127.0.0.1"],
        "receiver.test": ["127.0.0.1"]}))


@pytest.mark.usefixtures("dns")
async def test_resolve_returns_the_checked_addresses() -> None:
    assert await resolve("https://hooks.partner.example/x", []) == [
        "93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
    assert await resolve("https://8.8.8.8/", []) == ["8.8.8.8"]  # a literal: no lookup
    assert await resolve("https://127.1/", LOOPBACK) == ["127.0.0.1"]
    assert await resolve("http://receiver.test:8080/", LOOPBACK) == ["127.0.0.1"]


@pytest.mark.usefixtures("dns")
@pytest.mark.parametrize("url", ["https://rebind.example/", "https://metadata.example/",
                                 "https://mapped.example/", "https://receiver.test/"])
async def test_resolve_refuses_when_any_address_is_not_public(url: str) -> None:
    with pytest.raises(Refused, match="resolves to"):
        await resolve(url, [])


@pytest.mark.usefixtures("dns")
async def test_resolve_keeps_the_http_rule_and_names_that_do_not_resolve() -> None:
    with pytest.raises(Refused, match="https"):  # allowed networks, but resolves outside
        await resolve("http://hooks.partner.example/", LOOPBACK)
    with pytest.raises(Unresolved):
        await resolve("https://nowhere.example/", [])
    with pytest.raises(Refused):  # checked before any lookup
        await resolve("https://localhost/", [])


async def test_the_system_resolver_is_what_looks_names_up() -> None:
    assert await netguard._addresses("127.0.0.1", 80) == ["127.0.0.1"]
    assert await netguard._addresses("::1", 80) == ["::1"]
