"""Data migrations of mediation, run on a database left at the revision before them, on SQLite
and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable

from alembic import command
from sqlalchemy import text

from suara_kit.db import Database
from suara_kit.migrate import alembic_config, upgrade
from suara_mediation.handlers import MIGRATIONS

BEFORE_LOCAL_HOURS = "5ceebcdd99aa"


async def _rows(url: str, sql: str, **params: object) -> list[tuple[object, ...]]:
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            result = await conn.execute(text(sql), params)
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        await db.dispose()


def test_offsets_stored_in_resource_hours_are_dropped(
        database_url: Callable[..., str]) -> None:
    url = database_url("mediation", empty=True)
    command.upgrade(alembic_config(MIGRATIONS, url), BEFORE_LOCAL_HOURS)
    weekly = [{"weekday": 0, "start": "09:00:00+07:00", "end": "17:30Z"},
              {"weekday": 1, "start": "09:00", "end": "12:00:00.5-03:00"}]
    overrides = [{"date": "2026-12-01", "hours": [{"start": "10:00+0700", "end": "11:00"}]},
                 {"date": "2026-12-02", "hours": []}]
    clean = [{"weekday": 2, "start": "08:00", "end": "16:00"}]
    insert = ("INSERT INTO resource (id, organisation, kind, name, languages, timezone, "
              "weekly_hours, date_overrides, buffer_before_minutes, buffer_after_minutes, "
              "minimum_notice_minutes, booking_horizon_days, active, updated_by, updated_at) "
              "VALUES (:id, 'tenaganita', 'mediator', :name, '[\"en\"]', 'Asia/Bangkok', "
              ":weekly, :overrides, 0, 0, 0, 90, :active, 'm', '2026-11-01 00:00:00+00:00')")
    for name, hours, days in (("offsets", weekly, overrides), ("clean", clean, [])):
        asyncio.run(_rows(url, insert, id=str(uuid.uuid4()).replace("-", ""), name=name,
                          weekly=json.dumps(hours), overrides=json.dumps(days), active=True))

    upgrade(MIGRATIONS, url)

    stored = {name: (json.loads(w) if isinstance(w, str) else w,
                     json.loads(o) if isinstance(o, str) else o)
              for name, w, o in asyncio.run(_rows(
                  url, "SELECT name, weekly_hours, date_overrides FROM resource"))}
    assert stored["offsets"] == (
        [{"weekday": 0, "start": "09:00:00", "end": "17:30"},
         {"weekday": 1, "start": "09:00", "end": "12:00:00.5"}],
        [{"date": "2026-12-01", "hours": [{"start": "10:00", "end": "11:00"}]},
         {"date": "2026-12-02", "hours": []}])
    assert stored["clean"] == (clean, [])
