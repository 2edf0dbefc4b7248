"""Time, behind a seam tests can turn."""

from __future__ import annotations

from datetime import UTC, date, datetime


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def today() -> date:
    """Today's UTC date: what staff see instead of a precise time (coarsened timestamps)."""
    return utcnow().date()
