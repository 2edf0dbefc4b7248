"""Encryption at rest under a key held in settings (a key-encryption key): intake's
attachments, and every service's per-case data keys (`suara_kit.datakeys`).

A leaked database dump or backup must not hand over a worker's passport photo. Blobs are
sealed with AES-256-GCM before they are stored, under a key that lives in settings, not in the
database. The row's own identifier (e.g. the attachment id) is bound in as associated data, so
a sealed blob copied onto another row does not open there.

Layout of a sealed blob (all lengths in bytes)::

    version (1) = 0x01 | key id (4) | nonce (12) | ciphertext (len(plaintext)) | GCM tag (16)

* version: the layout and algorithm; anything else is refused, so a future format can coexist.
* key id: the first 4 bytes of SHA-256 of the derived key. `open` picks the key from it
  instead of trying every key, and a rotation job can see which rows still use an old key
  (`needs_resealing`). Four bytes of a hash of a 256-bit random-looking key say nothing useful
  about the key.
* nonce: random per seal. With 96-bit random nonces one key should seal well under 2**32
  blobs; rotate long before that.
* associated data (authenticated, not stored): the 5 header bytes followed by the caller's
  `context`. The header is fixed length, so the two cannot be confused.

Keys come from settings as strings. A 32-byte AES key is derived with HKDF-SHA256 (``info``:
by default ``b"suara-intake-attachments-v1"``, each other use passes its own; no salt: the
input is already a secret), so a long
passphrase and a base64 secret both work. The string is used exactly as given (UTF-8). HKDF is
not a password hash: anyone holding one sealed blob can test guesses offline, so use a random
secret (e.g. ``openssl rand -base64 32``), not a memorable phrase; 16 characters is a floor
against mistakes, not a recommendation.

Rotation: ``Sealer(new, previous=[old])`` seals with ``new`` and still opens what ``old``
sealed; once every row has been resealed (`needs_resealing`), drop ``old``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["MIN_SECRET_LENGTH", "VERSION", "SealError", "Sealer"]

VERSION = 1
MIN_SECRET_LENGTH = 16
_INFO = b"suara-intake-attachments-v1"
_KEY_ID_LEN = 4
_NONCE_LEN = 12
_TAG_LEN = 16
_HEADER_LEN = 1 + _KEY_ID_LEN
_MIN_SEALED_LEN = _HEADER_LEN + _NONCE_LEN + _TAG_LEN


class SealError(ValueError):
    """A blob that cannot be opened: wrong key, wrong context, tampered, truncated, or a
    version this code does not know. Deliberately vague about which: GCM cannot tell a wrong
    key from tampering, and an attacker should not learn more than the caller."""


class _Key:
    def __init__(self, secret: str, info: bytes) -> None:
        if not isinstance(secret, str):
            raise TypeError("a sealing key is a string secret")
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(f"a sealing key must be at least {MIN_SECRET_LENGTH} characters")
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(
            secret.encode()
        )
        self.id = hashlib.sha256(derived).digest()[:_KEY_ID_LEN]
        self.aead = AESGCM(derived)


class Sealer:
    """Seals with the current key; opens with the current or any previous key."""

    def __init__(self, current: str, previous: Iterable[str] = (), info: bytes = _INFO) -> None:
        self._current = _Key(current, info)
        # key id -> keys; a list because two different secrets may share a 4-byte id (about
        # one chance in 4 billion per pair), in which case both are tried.
        self._keys: dict[bytes, list[_Key]] = {}
        seen: set[str] = set()
        for secret in (current, *previous):
            if secret in seen:
                continue
            seen.add(secret)
            key = self._current if secret == current else _Key(secret, info)
            self._keys.setdefault(key.id, []).append(key)

    @property
    def key_id(self) -> str:
        """Hex id of the current key: safe to log, to tell which key a deployment uses."""
        return self._current.id.hex()

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        """Encrypt `plaintext` bound to `context` (e.g. the attachment id as bytes)."""
        header = bytes((VERSION,)) + self._current.id
        nonce = os.urandom(_NONCE_LEN)
        return header + nonce + self._current.aead.encrypt(nonce, plaintext, header + context)

    def open(self, sealed: bytes, context: bytes) -> bytes:
        """Decrypt a blob from `seal` with the same `context`, or raise `SealError`."""
        header, nonce, body = self._split(sealed)
        keys = self._keys.get(header[1:])
        if not keys:
            raise SealError("sealed with a key this service does not hold")
        for key in keys:
            try:
                return key.aead.decrypt(nonce, body, header + context)
            except InvalidTag:
                continue
        raise SealError("cannot open: wrong key or context, or the data was altered")

    def needs_resealing(self, sealed: bytes) -> bool:
        """True when `sealed` was not made with the current key (or is not a current-version
        blob), so a rotation job knows which rows to open and seal again."""
        try:
            header, _, _ = self._split(sealed)
        except SealError:
            return True
        return header[1:] != self._current.id

    @staticmethod
    def _split(sealed: bytes) -> tuple[bytes, bytes, bytes]:
        sealed = bytes(sealed)
        if len(sealed) < _MIN_SEALED_LEN:
            raise SealError("sealed data is too short: truncated or not sealed")
        if sealed[0] != VERSION:
            raise SealError(f"unknown sealing version {sealed[0]}")
        header = sealed[:_HEADER_LEN]
        nonce = sealed[_HEADER_LEN:_HEADER_LEN + _NONCE_LEN]
        return header, nonce, sealed[_HEADER_LEN + _NONCE_LEN:]
