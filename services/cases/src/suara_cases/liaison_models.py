"""Tables of an employer liaison's access: one row per share of a case with a named liaison."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from sqlalchemy import Column, Index, LargeBinary, text
from sqlmodel import Field

from suara_cases.models import Base


class LiaisonShare(Base, table=True):
    """A case shared by one of its handlers with an employer liaison, under a random alias,
    with the summary the handler wrote for the employer side (sealed with the case's data key,
    so retention deletes it with the rest of the case's content)."""

    __tablename__ = "case_liaison_share"
    __table_args__ = (
        # at most one share of a case with a liaison is active (the service answers 409 first)
        Index("uq_case_liaison_share_active", "case_id", "liaison", unique=True,
              postgresql_where=text("revoked_on IS NULL"),
              sqlite_where=text("revoked_on IS NULL")),
    )

    id: UUID = Field(primary_key=True)
    case_id: UUID = Field(foreign_key="case.id", index=True)
    liaison: str = Field(max_length=200, index=True, description="the liaison's token subject")
    alias: str = Field(max_length=16, unique=True, description="what the liaison sees")
    sealed_summary: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    shared_by: str = Field(max_length=200)
    shared_on: date
    revoked_by: str | None = Field(default=None, max_length=200)
    revoked_on: date | None = None
