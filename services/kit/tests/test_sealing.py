"""Sealing: attachments are encrypted at rest, bound to their row, and keys can be rotated."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from suara_kit.sealing import VERSION, Sealer, SealError

OLD = "old-secret-0123456789-abcdefghij"
NEW = "new-secret-9876543210-zyxwvutsrq"
PHOTO = b"\xff\xd8\xff\xe0 passport photo of a worker " * 40
CONTEXT = b"attachment:3f6e1c2a-9b1d-4a57-8f0e-2d7c5b9a1e44"


def test_round_trip() -> None:
    sealer = Sealer(NEW)
    assert sealer.open(sealer.seal(PHOTO, CONTEXT), CONTEXT) == PHOTO
    assert sealer.open(sealer.seal(b"", CONTEXT), CONTEXT) == b""
    assert Sealer(NEW).open(sealer.seal(PHOTO, b""), b"") == PHOTO  # same secret, new instance


def test_layout_is_version_key_id_nonce_ciphertext_tag() -> None:
    sealer = Sealer(NEW)
    sealed = sealer.seal(PHOTO, CONTEXT)
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"suara-intake-attachments-v1").derive(NEW.encode())
    key_id = hashlib.sha256(derived).digest()[:4]
    assert sealed[0] == VERSION == 1
    assert sealed[1:5] == key_id
    assert sealer.key_id == key_id.hex()
    assert len(sealed) == 1 + 4 + 12 + len(PHOTO) + 16
    # independently decryptable from the documented layout: AES-256-GCM, header + context as AAD
    assert AESGCM(derived).decrypt(sealed[5:17], sealed[17:], sealed[:5] + CONTEXT) == PHOTO


def test_ciphertext_does_not_contain_the_plaintext() -> None:
    sealed = Sealer(NEW).seal(PHOTO, CONTEXT)
    assert b"passport photo" not in sealed
    assert PHOTO[:16] not in sealed


def test_two_seals_of_the_same_data_differ() -> None:
    sealer = Sealer(NEW)
    first, second = sealer.seal(PHOTO, CONTEXT), sealer.seal(PHOTO, CONTEXT)
    assert first != second
    assert first[5:17] != second[5:17]  # the nonce
    assert sealer.open(first, CONTEXT) == sealer.open(second, CONTEXT) == PHOTO


def test_wrong_context_is_refused() -> None:
    """A blob copied onto another attachment's row does not open there."""
    sealer = Sealer(NEW)
    sealed = sealer.seal(PHOTO, CONTEXT)
    with pytest.raises(SealError):
        sealer.open(sealed, b"attachment:another-row")
    with pytest.raises(SealError):
        sealer.open(sealed, b"")


@pytest.mark.parametrize("position", [0, 1, 4, 5, 16, 17, 100, -1])
def test_any_tampered_byte_is_refused(position: int) -> None:
    sealer = Sealer(NEW)
    sealed = bytearray(sealer.seal(PHOTO, CONTEXT))
    sealed[position] ^= 0x01
    with pytest.raises(SealError):
        sealer.open(bytes(sealed), CONTEXT)


@pytest.mark.parametrize("length", [0, 1, 5, 17, 32, -1])
def test_truncated_blob_is_refused(length: int) -> None:
    sealer = Sealer(NEW)
    sealed = sealer.seal(PHOTO, CONTEXT)
    with pytest.raises(SealError):
        sealer.open(sealed[:length], CONTEXT)


def test_wrong_key_is_refused() -> None:
    sealed = Sealer(OLD).seal(PHOTO, CONTEXT)
    with pytest.raises(SealError, match="key"):
        Sealer(NEW).open(sealed, CONTEXT)


def test_wrong_key_with_the_same_key_id_is_still_refused() -> None:
    """Even if the 4-byte id pointed at a key, GCM's tag check is what decides."""
    sealed = Sealer(OLD).seal(PHOTO, CONTEXT)
    forged = sealed[:1] + Sealer(NEW).seal(b"", b"")[1:5] + sealed[5:]
    with pytest.raises(SealError, match="wrong key or context"):
        Sealer(NEW).open(forged, CONTEXT)


@pytest.mark.parametrize("version", [0, 2, 255])
def test_unknown_version_is_refused(version: int) -> None:
    sealer = Sealer(NEW)
    sealed = sealer.seal(PHOTO, CONTEXT)
    with pytest.raises(SealError, match="version"):
        sealer.open(bytes((version,)) + sealed[1:], CONTEXT)


def test_seal_error_is_a_value_error() -> None:
    assert issubclass(SealError, ValueError)


def test_rotation_opens_old_blobs_and_seals_with_the_new_key() -> None:
    old_blob = Sealer(OLD).seal(PHOTO, CONTEXT)
    rotated = Sealer(NEW, previous=[OLD])
    assert rotated.open(old_blob, CONTEXT) == PHOTO
    new_blob = rotated.seal(PHOTO, CONTEXT)
    assert new_blob[1:5] != old_blob[1:5]
    assert Sealer(NEW).open(new_blob, CONTEXT) == PHOTO  # the old key is not needed for it
    with pytest.raises(SealError):
        Sealer(OLD).open(new_blob, CONTEXT)
    with pytest.raises(SealError):  # once the old key is dropped, its blobs no longer open
        Sealer(NEW).open(old_blob, CONTEXT)


def test_needs_resealing_tells_rotation_which_rows_to_redo() -> None:
    old_blob = Sealer(OLD).seal(PHOTO, CONTEXT)
    rotated = Sealer(NEW, previous=[OLD, OLD, NEW])  # repeats are harmless
    assert rotated.needs_resealing(old_blob)
    assert not rotated.needs_resealing(rotated.seal(PHOTO, CONTEXT))
    assert rotated.needs_resealing(b"\x02" + bytes(40))  # unknown version
    assert rotated.needs_resealing(b"")


@pytest.mark.parametrize("secret", ["", "short", "x" * 15])
def test_short_keys_are_refused(secret: str) -> None:
    with pytest.raises(ValueError, match="at least 16"):
        Sealer(secret)
    with pytest.raises(ValueError, match="at least 16"):
        Sealer(NEW, previous=[secret])


def test_sixteen_characters_and_base64_secrets_are_accepted() -> None:
    for secret in ("x" * 16, "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq8M="):
        sealer = Sealer(secret)
        assert sealer.open(sealer.seal(PHOTO, CONTEXT), CONTEXT) == PHOTO


def test_key_must_be_a_string() -> None:
    with pytest.raises(TypeError):
        Sealer(b"0123456789abcdef0123")  # type: ignore[arg-type]


def test_different_secrets_give_different_keys() -> None:
    assert Sealer(OLD).key_id != Sealer(NEW).key_id
    assert Sealer(NEW).key_id == Sealer(NEW).key_id

