"""The partner webhook channel: POST a signed JSON payload to a partner's endpoint, once.

The host is resolved and every address checked (`netguard`) before anything is sent, and the
request goes to that checked address, with the endpoint's own name in the Host header and, for
https, in the TLS handshake (SNI and certificate check): a second DNS answer cannot redirect
it (DNS rebinding). Redirects are never followed. Nothing is logged: neither the body nor the
URL's path or query, which can carry a partner's token.
"""

from __future__ import annotations

import asyncio
import ipaddress
from datetime import datetime

import httpx

from suara_kit.clock import utcnow
from suara_notification import netguard, signing
from suara_notification.channels import Outcome, Outgoing, retry_after

USER_AGENT = "Suara-Webhooks/1"


def outcome_of(response: httpx.Response, now: datetime) -> Outcome:
    """What an answer means: 2xx sent, 410 gone, anything else (redirects too) failed."""
    code = response.status_code
    if 200 <= code < 300:
        return Outcome("sent", f"HTTP {code}", http_status=code)
    if code == 410:
        return Outcome("gone", "HTTP 410 Gone: the endpoint no longer wants messages",
                       http_status=code)
    detail = f"HTTP {code}" + (": redirect not followed" if 300 <= code < 400 else "")
    return Outcome("failed", detail, http_status=code,
                   retry_after=retry_after(response.headers.get("retry-after"), now))


class WebhookSender:
    """The webhook `Provider`: one shared HTTP client; call `aclose()` when done."""

    name = "webhook"

    def __init__(self, allow_networks: list[str], timeout: float) -> None:
        self.allow_networks, self.timeout = list(allow_networks), timeout
        # No connection reuse: the pool is keyed by address, and a TLS connection verified
        # for one endpoint's name must not carry another endpoint's request. No proxies from
        # the environment: a proxy would resolve the name again.
        self._client = httpx.AsyncClient(
            follow_redirects=False, trust_env=False, timeout=timeout,
            limits=httpx.Limits(max_keepalive_connections=0))

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(self, message: Outgoing) -> Outcome:
        """POST the message's body to its URL, signed with its secrets; never raises for a
        failure it can describe."""
        if not message.secrets:
            return Outcome("refused", "no signing secret: an unsigned webhook is never sent")
        try:
            addresses = await netguard.resolve(message.address, self.allow_networks)
        except netguard.Refused as refused:
            return Outcome("refused", str(refused)[:300])
        except netguard.Unresolved:
            return Outcome("failed", "the endpoint's host name does not resolve")
        try:
            async with asyncio.timeout(self.timeout):  # the whole exchange, not each read
                response = await self._post(message, addresses)
        except (TimeoutError, httpx.TimeoutException):
            return Outcome("failed", f"no answer within {self.timeout:g} s")
        except httpx.InvalidURL:
            return Outcome("refused", "The URL is not valid.")
        except httpx.HTTPError as exc:
            return Outcome("failed", f"could not connect ({type(exc).__name__})")
        return outcome_of(response, utcnow())

    async def _post(self, message: Outgoing, addresses: list[str]) -> httpx.Response:
        """Try the checked addresses in turn until one takes the connection (say, a name with
        an IPv6 address this host cannot reach); the answer's body is never read."""
        for address in addresses[:-1]:
            try:
                return await self._exchange(self._request(message, address))
            except httpx.ConnectError:
                continue
        return await self._exchange(self._request(message, addresses[-1]))

    async def _exchange(self, request: httpx.Request) -> httpx.Response:
        response = await self._client.send(request, stream=True)
        await response.aclose()
        return response

    def _request(self, message: Outgoing, address: str) -> httpx.Request:
        """The signed request, addressed to the checked IP address under the URL's name."""
        url = httpx.URL(message.address)
        now = int(utcnow().timestamp())
        headers = signing.headers(message.secrets, f"msg_{message.message_id}", now,
                                  message.body)
        headers |= {"host": url.netloc.decode("ascii"), "user-agent": USER_AGENT}
        extensions = {}
        if url.scheme == "https" and not _is_ip(url.host):
            extensions["sni_hostname"] = url.raw_host.decode("ascii")
        return self._client.build_request("POST", url.copy_with(host=address), headers=headers,
                                          content=message.body.encode(), extensions=extensions)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
