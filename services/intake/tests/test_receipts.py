"""Receipts and references: entropy, grouping, Crockford normalisation, keyed hashes."""

from __future__ import annotations

import math
import re

import pytest

from suara_intake import receipts

KEY = b"test-key"
SALT = b"\x01" * 16


def test_receipt_has_at_least_96_bits_and_is_grouped() -> None:
    receipt = receipts.new_receipt()
    chars = receipt.replace("-", "")
    assert len(chars) * math.log2(len(receipts.ALPHABET)) >= 96
    assert set(chars) <= set(receipts.ALPHABET)
    assert re.fullmatch(r"([0-9A-Z]{4}-)+[0-9A-Z]{1,4}", receipt)


def test_receipts_differ() -> None:
    assert len({receipts.new_receipt() for _ in range(200)}) == 200


def test_alphabet_has_no_confusable_letters() -> None:
    assert len(receipts.ALPHABET) == 32
    assert not set("ILOU") & set(receipts.ALPHABET)


@pytest.mark.parametrize(("chars", "grouped"), [
    ("ABCDEFGHJK", "ABCD-EFGH-JK"),
    ("ABCDEFGH", "ABCD-EFGH"),
    ("ABC", "ABC"),
    ("", ""),
])
def test_group(chars: str, grouped: str) -> None:
    assert receipts.group(chars) == grouped


@pytest.mark.parametrize(("typed", "canonical"), [
    ("abcd-efgh", "ABCDEFGH"),
    ("ab cd\tef-gh", "ABCDEFGH"),
    ("  a-b-c-d  ", "ABCD"),
    ("IiLl", "1111"),
    ("Oo0", "000"),
    ("k7m2-9qxd", "K7M29QXD"),
])
def test_normalise_crockford(typed: str, canonical: str) -> None:
    assert receipts.normalise(typed) == canonical


def test_normalised_receipt_round_trips() -> None:
    receipt = receipts.new_receipt()
    assert receipts.normalise(receipt.lower().replace("-", " ")) == receipt.replace("-", "")


def test_new_reference_shape() -> None:
    reference = receipts.new_reference()
    assert re.fullmatch(r"SU-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", reference)
    assert receipts.normalise_reference(reference) == reference


@pytest.mark.parametrize("typed", [
    "su k7m2 9qxd", "SU-K7M2-9QXD", "su-k7m2-9qxd", "k7m2 9qxd", " SU K7M2-9QXD ", "SUK7M29QXD",
])
def test_normalise_reference(typed: str) -> None:
    assert receipts.normalise_reference(typed) == "SU-K7M2-9QXD"


def test_normalise_reference_maps_confusables() -> None:
    assert receipts.normalise_reference("su-k7mi-oqxd") == "SU-K7M1-0QXD"


def test_hash_depends_on_salt_key_and_receipt() -> None:
    receipt = receipts.new_receipt()
    stored = receipts.receipt_hash(KEY, SALT, receipt)
    assert len(stored) == 32
    assert receipts.receipt_hash(KEY, SALT, receipt) == stored
    assert receipts.receipt_hash(KEY, b"\x02" * 16, receipt) != stored
    assert receipts.receipt_hash(b"other-key", SALT, receipt) != stored
    assert receipts.receipt_hash(KEY, SALT, receipts.new_receipt()) != stored
    assert receipt.encode() not in stored


def test_new_salts_are_16_random_bytes() -> None:
    salts = {receipts.new_salt() for _ in range(50)}
    assert len(salts) == 50
    assert all(len(s) == 16 for s in salts)


def test_receipt_matches() -> None:
    receipt = receipts.new_receipt()
    stored = receipts.receipt_hash(KEY, SALT, receipt)
    assert receipts.receipt_matches(KEY, SALT, receipt, stored) is True
    assert receipts.receipt_matches(KEY, SALT, receipt.lower().replace("-", " "), stored) is True
    assert receipts.receipt_matches(KEY, SALT, receipts.new_receipt(), stored) is False
    assert receipts.receipt_matches(b"other-key", SALT, receipt, stored) is False
    assert receipts.receipt_matches(KEY, b"\x02" * 16, receipt, stored) is False
    assert receipts.receipt_matches(KEY, SALT, "", stored) is False


def test_receipt_matches_uses_constant_time_compare(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = receipts.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(receipts.hmac, "compare_digest", spy)
    stored = receipts.receipt_hash(KEY, SALT, "ABCD")
    assert receipts.receipt_matches(KEY, SALT, "abcd", stored)
    assert calls == [(stored, stored)]
