"""Standard Webhooks signatures (https://www.standardwebhooks.com): each message carries
`webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature`, a space-separated list
of `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one per secret in use. During a rotation
both secrets sign, so a receiver holding either one verifies the message.

A secret is `whsec_` followed by the base64 of 32 random bytes; the HMAC key is those bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as random
from collections.abc import Iterable

PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh signing secret: `whsec_` + base64 of 32 random bytes."""
    return PREFIX + base64.b64encode(random.token_bytes(SECRET_BYTES)).decode("ascii")


def _key(secret: str) -> bytes:
    if not secret.startswith(PREFIX):
        raise ValueError("a webhook secret starts with 'whsec_'")
    return base64.b64decode(secret.removeprefix(PREFIX), validate=True)


def signature(secrets: Iterable[str], msg_id: str, timestamp: int, body: str) -> str:
    """The `webhook-signature` header: one `v1,<signature>` per secret, space-separated."""
    signed = f"{msg_id}.{timestamp}.{body}".encode()
    return " ".join(
        "v1," + base64.b64encode(hmac.new(_key(s), signed, hashlib.sha256).digest()).decode()
        for s in secrets)


def headers(secrets: Iterable[str], msg_id: str, timestamp: int, body: str) -> dict[str, str]:
    """Every header a signed webhook request carries."""
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(secrets, msg_id, timestamp, body),
            "content-type": "application/json"}
