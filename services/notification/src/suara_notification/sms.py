"""SMS through a provider's HTTP API. An SMS provider is a `channels.Provider` whose messages
have channel "sms" and an E.164 number as address; `HttpSmsProvider` speaks the Twilio-
compatible Messages API (Twilio, and the many providers and test doubles that copy it).

Outcomes carry the provider's status and error code, never its error text (it quotes the
number) and never the message.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

import httpx

from suara_notification.channels import Outcome, Outgoing, Provider, retry_after

# An SMS provider is nothing more than a Provider sending messages whose channel is "sms".
SmsProvider = Provider
TIMEOUT_SECONDS = 15.0
RETRYABLE = frozenset({408, 409, 425, 429})


def _error_code(response: httpx.Response) -> str:
    try:
        code = response.json().get("code")
    except (ValueError, AttributeError):
        return ""
    return f" error {code}" if isinstance(code, int | str) and str(code).isalnum() else ""


def outcome_of(response: httpx.Response) -> Outcome:
    """What the provider's answer means for the delivery engine."""
    status = response.status_code
    if 200 <= status < 300:
        try:
            sid = response.json().get("sid")
        except (ValueError, AttributeError):
            sid = None
        return Outcome("sent", str(sid)[:64] if sid else "", http_status=status)
    if status in RETRYABLE or status >= 500:
        return Outcome("failed", f"provider answered {status}", http_status=status,
                       retry_after=retry_after(response.headers.get("Retry-After"),
                                               datetime.now(UTC)))
    if status in (401, 403):  # our account or token is wrong: the fallback may still work
        return Outcome("refused", f"provider refused our credentials ({status})",
                       http_status=status)
    # 400/404 (a bad or unreachable number) and any other answer: not with this provider
    return Outcome("refused", f"provider refused the message ({status}{_error_code(response)})",
                   http_status=status)


class HttpSmsProvider:
    """A Twilio-compatible Messages API: POST {base}/2010-04-01/Accounts/{account}/Messages.json
    with To, From and Body, authenticated with the account and token."""

    def __init__(self, base_url: str, account: str, token: str, sender: str,
                 name: str = "sms-http", *, timeout: float = TIMEOUT_SECONDS) -> None:
        self.name, self.sender = name, sender
        self.url = (f"{base_url.rstrip('/')}/2010-04-01/Accounts/{quote(account, safe='')}"
                    "/Messages.json")
        self._client = httpx.AsyncClient(auth=(account, token), timeout=timeout,
                                         follow_redirects=False)

    def __repr__(self) -> str:  # never the token
        return f"HttpSmsProvider(name={self.name!r})"

    async def send(self, message: Outgoing) -> Outcome:
        """Try once; a provider or network error becomes an outcome."""
        form = {"To": message.address, "From": self.sender, "Body": message.body}
        try:
            response = await self._client.post(self.url, data=form)
        except httpx.TimeoutException:
            return Outcome("failed", "timeout")
        except httpx.HTTPError as exc:
            return Outcome("failed", type(exc).__name__)
        return outcome_of(response)

    async def aclose(self) -> None:
        """Close the shared connection pool."""
        await self._client.aclose()
