"""Migrations when several replicas start at once."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable

import pytest
from sqlalchemy import text

from suara_cases.handlers import MIGRATIONS
from suara_kit.db import Database

UPGRADE = ("import sys; from pathlib import Path; from suara_kit.migrate import upgrade; "
           "upgrade(Path(sys.argv[1]), sys.argv[2])")


@pytest.mark.parametrize("db_backend", [pytest.param("postgresql", marks=pytest.mark.postgres)],
                         indirect=True)  # replicas share PostgreSQL, never a SQLite file
async def test_replicas_starting_together_migrate_once_and_all_start(
        database_url: Callable[..., str]) -> None:
    """Three processes migrate an empty database at the same moment, as three replicas of a
    service do after a deployment: one migrates, the others wait and find nothing to do."""
    url = database_url("cases", empty=True)
    replicas = [await asyncio.create_subprocess_exec(
        sys.executable, "-c", UPGRADE, str(MIGRATIONS), url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT) for _ in range(3)]
    outcomes = await asyncio.wait_for(
        asyncio.gather(*(replica.communicate() for replica in replicas)), timeout=120)
    failed = [out.decode()[-800:] for (out, _), replica in zip(outcomes, replicas, strict=True)
              if replica.returncode != 0]
    assert failed == []
    database = Database(url)
    try:
        async with database.transaction() as session:
            versions = (await session.exec(text("SELECT version_num FROM alembic_version"))  # type: ignore[call-overload]
                        ).all()
    finally:
        await database.dispose()
    assert len(versions) == 1
