"""Cursor pagination: a list answers one page and an opaque `next_cursor` that names the last
item's position in the list's order (keyset paging: no offset, so a page never skips or repeats
an item when rows arrive between two requests). A cursor is base64url JSON, tagged with what it
pages, so one list's cursor is refused by another; a tampered cursor is a 422, never a 500."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any
from uuid import UUID

from suara_kit.errors import ValidationFailed

MAX_CURSOR = 512


def encode(kind: str, position: list[Any]) -> str:
    """The cursor after `position` (the last item's sort key) in the list `kind`."""
    raw = json.dumps([kind, *position], separators=(",", ":"), default=str)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def group(value: Any) -> int:
    """A position's leading 0 or 1 (which of two groups an item sorts in)."""
    if value not in (0, 1):
        raise ValueError("not 0 or 1")
    return int(value)


def day(value: Any) -> date:
    """A position's ISO date."""
    return date.fromisoformat(str(value))


def uuid(value: Any) -> UUID:
    """A position's id."""
    return UUID(str(value))


def decode(kind: str, cursor: str | None, size: int,
           parsers: Sequence[Callable[[Any], Any]] = ()) -> list[Any] | None:
    """The position a cursor of list `kind` names (`size` values, each read by its parser when
    `parsers` are given), None for the first page; 422 on anything else, a well-formed cursor
    with values the list cannot use too."""
    if cursor is None or cursor == "":
        return None
    try:
        if len(cursor) > MAX_CURSOR:
            raise ValueError
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if not isinstance(value, list) or len(value) != size + 1 or value[0] != kind:
            raise ValueError
        if not all(isinstance(v, str | int | float | bool) or v is None for v in value[1:]):
            raise ValueError
        if parsers:
            value[1:] = [parse(v) for parse, v in zip(parsers, value[1:], strict=True)]
    except (ValueError, TypeError, OverflowError, UnicodeError, binascii.Error):
        raise ValidationFailed(
            "cursor: not a cursor this list gave; start again without one",
            errors=[{"field": "cursor", "message": "not a cursor this list gave"}]) from None
    return value[1:]
