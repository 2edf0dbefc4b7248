"""Public references and secret receipts.

A receipt is 130 random bits in Crockford base32 (no I, L, O, U: easy to read aloud and type on
a phone). Only HMAC-SHA256(key, per-submission salt + receipt) is stored; checks are
constant-time. A keyed hash is enough for a secret of this size; a slow KDF would only let an
attacker exhaust the server.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CONFUSABLE = str.maketrans({"I": "1", "L": "1", "O": "0", "U": "V"})
RECEIPT_CHARS = 26  # 26 x 5 = 130 bits
REFERENCE_CHARS = 8


def _random_chars(n: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(n))


def group(chars: str, size: int = 4) -> str:
    """`ABCD-EFGH-…`: grouped for reading aloud and copying."""
    return "-".join(chars[i:i + size] for i in range(0, len(chars), size))


def normalise(text: str) -> str:
    """Uppercase, drop spaces and dashes, map confusable letters (Crockford)."""
    cleaned = "".join(ch for ch in text.upper() if ch.isalnum())
    return cleaned.translate(_CONFUSABLE)


def new_reference() -> str:
    """A public reference such as `SU-K7M2-9QXD`."""
    return "SU-" + group(_random_chars(REFERENCE_CHARS))


def normalise_reference(text: str) -> str:
    """A reference as the worker typed it, in canonical form."""
    body = "".join(ch for ch in text.upper() if ch.isalnum())
    body = body[2:] if body.startswith("SU") else body
    return "SU-" + group(normalise(body))


def new_receipt() -> str:
    """A fresh receipt, grouped for display."""
    return group(_random_chars(RECEIPT_CHARS))


CLAIM_CHARS = 10  # 50 bits, single use, short-lived and limited per reference


def new_claim_code() -> str:
    """A one-time code a filer hands to the worker, e.g. `K7M2-9QXD-3F`."""
    return group(_random_chars(CLAIM_CHARS))


def claim_hash(key: bytes, salt: bytes, code: str) -> bytes:
    """The stored form of a claim code (domain-separated from receipts)."""
    return hmac.new(key, b"claim:" + salt + normalise(code).encode(), hashlib.sha256).digest()


def claim_matches(key: bytes, salt: bytes, code: str, stored: bytes) -> bool:
    """Constant-time comparison of a presented claim code with the stored hash."""
    return hmac.compare_digest(claim_hash(key, salt, code), stored)


def new_salt() -> bytes:
    """A per-submission salt."""
    return secrets.token_bytes(16)


def receipt_hash(key: bytes, salt: bytes, receipt: str) -> bytes:
    """The stored form of a receipt."""
    return hmac.new(key, salt + normalise(receipt).encode(), hashlib.sha256).digest()


def receipt_matches(key: bytes, salt: bytes, receipt: str, stored: bytes) -> bool:
    """Constant-time comparison of a presented receipt with the stored hash."""
    return hmac.compare_digest(receipt_hash(key, salt, receipt), stored)
