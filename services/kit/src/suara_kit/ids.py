"""Identifiers: time-ordered UUIDv7 for rows and events."""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last = 0


def uuid7() -> uuid.UUID:
    """A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then random bits; strictly increasing
    within this process (method 3: a value that would not sort after the last is bumped)."""
    global _last
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | (rand >> 68 & 0xFFF) << 64
    value |= 0b10 << 62 | (rand & ((1 << 62) - 1))
    with _lock:
        if value <= _last:
            value = _bump(_last)
        _last = value
    return uuid.UUID(int=value)


def _bump(previous: int) -> int:
    """The next value after `previous`, keeping the version and variant bits."""
    rand_b = (previous & ((1 << 62) - 1)) + 1
    if rand_b < (1 << 62):
        return (previous & ~((1 << 62) - 1)) | rand_b
    rand_a = ((previous >> 64) & 0xFFF) + 1
    ms = previous >> 80
    if rand_a > 0xFFF:
        ms, rand_a = ms + 1, 0
    return ms << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62
