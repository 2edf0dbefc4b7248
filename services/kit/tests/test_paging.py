"""Opaque cursors: what one list encodes it decodes; another list's cursor, a tampered or an
over-long one is a 422 naming the cursor, never a 500."""

from __future__ import annotations

import base64
import json

import pytest

from suara_kit import paging
from suara_kit.errors import ValidationFailed


def test_a_cursor_round_trips_and_the_first_page_has_none() -> None:
    cursor = paging.encode("cases", [0, "2026-11-24", "0199a3c2-7b1e-7c4d-9a8b-1c2d3e4f5a6b"])
    assert "=" not in cursor
    assert paging.decode("cases", cursor, 3) == [0, "2026-11-24",
                                                 "0199a3c2-7b1e-7c4d-9a8b-1c2d3e4f5a6b"]
    assert paging.decode("cases", None, 3) is None
    assert paging.decode("cases", "", 3) is None


def _raw(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


@pytest.mark.parametrize("cursor", [
    paging.encode("alerts", [0, "2026-11-24", "x"]),  # another list's
    paging.encode("cases", [0, "2026-11-24"]),  # too short
    _raw({"kind": "cases"}), _raw(["cases", 0, {"nested": 1}, "x"]),
    "not base64 at all!", "%%%", "A" * 600, "bm9wZQ",
])
def test_anything_else_is_a_422_that_says_to_start_again(cursor: str) -> None:
    with pytest.raises(ValidationFailed, match="cursor") as refused:
        paging.decode("cases", cursor, 3)
    assert refused.value.status == 422
    assert refused.value.extra["errors"][0]["field"] == "cursor"
