"""resources: strip UTC offsets from stored hours (they are local to the resource's zone)

Before the contract refused them, a resource's weekly hours and date overrides could be stored
with an offset ("09:00:00+07:00"); reading such a resource now fails validation, and slot
proposals with it failed before. The hours are local to the resource's `timezone`, so the
offset is dropped and the wall-clock time kept.

Revision ID: 387b571c2260
Revises: 5ceebcdd99aa
Create Date: 2026-11-24 07:42:48.568648
"""
import json
import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = '387b571c2260'
down_revision: str | None = '5ceebcdd99aa'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OFFSET_TIME = re.compile(r"^(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(?:Z|z|[+-]\d{2}:?\d{2})$")


def local(value: Any) -> Any:
    """`value` with the offset of every time of day in it dropped."""
    if isinstance(value, str):
        match = OFFSET_TIME.match(value)
        return match.group(1) if match else value
    if isinstance(value, list):
        return [local(item) for item in value]
    if isinstance(value, dict):
        return {key: local(item) for key, item in value.items()}
    return value


def upgrade() -> None:
    resource = sa.table("resource", sa.column("id"), sa.column("weekly_hours", sa.JSON),
                        sa.column("date_overrides", sa.JSON))
    connection = op.get_bind()
    for row in connection.execute(sa.select(resource)).all():
        weekly, overrides = row.weekly_hours, row.date_overrides
        if isinstance(weekly, str):
            weekly = json.loads(weekly)
        if isinstance(overrides, str):
            overrides = json.loads(overrides)
        fixed_weekly, fixed_overrides = local(weekly), local(overrides)
        if (fixed_weekly, fixed_overrides) != (weekly, overrides):
            connection.execute(sa.update(resource).where(resource.c.id == row.id).values(
                weekly_hours=fixed_weekly, date_overrides=fixed_overrides))


def downgrade() -> None:
    pass  # the offsets were never meaningful: nothing to restore
