"""UUIDv7 shape and ordering."""

from __future__ import annotations

import time

from suara_kit.ids import _bump, uuid7


def test_version_variant_and_time() -> None:
    before = time.time_ns() // 1_000_000
    value = uuid7()
    assert value.version == 7
    assert value.int >> 62 & 0b11 == 0b10
    assert before <= value.int >> 80 <= time.time_ns() // 1_000_000


def test_strictly_increasing_within_a_process() -> None:
    ids = [uuid7() for _ in range(5000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_bump_carries_into_the_timestamp() -> None:
    full = 123 << 80 | 0x7 << 76 | 0xFFF << 64 | 0b10 << 62 | ((1 << 62) - 1)
    bumped = _bump(full)
    assert bumped > full
    assert bumped >> 80 == 124
    assert bumped >> 76 & 0xF == 7
    assert bumped >> 62 & 0b11 == 0b10
