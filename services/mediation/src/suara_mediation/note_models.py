"""Tables of a mediation's session notes (text sealed with the case's data key) and of the
parties' vote on a session time."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, LargeBinary
from sqlmodel import Field

from suara_kit.db import UTCDateTime
from suara_mediation.models import Base


class MediationNote(Base, table=True):
    """A joint note, or a caucus note held with one party. The text is sealed with the case's
    data key (`content.py`): it stops opening once the case is shredded."""

    __tablename__ = "mediation_note"

    id: UUID = Field(primary_key=True)
    mediation_id: UUID = Field(foreign_key="mediation.id", index=True)
    case_id: UUID = Field(index=True)
    booking_id: UUID | None = Field(default=None, foreign_key="booking.id")
    visibility: str = Field(max_length=8)
    party_id: UUID | None = Field(default=None, foreign_key="mediation_party.id")
    sealed_text: bytes = Field(sa_type=LargeBinary, nullable=False)
    written_by: str = Field(max_length=255)
    written_at: datetime = Field(sa_type=UTCDateTime)


class Ballot(Base, table=True):
    """Candidate slots put to the parties' vote; `candidates` keeps each slot's UTC times and
    resource ids, in the ballot's order."""

    __tablename__ = "ballot"

    id: UUID = Field(primary_key=True)
    mediation_id: UUID = Field(foreign_key="mediation.id", index=True)
    organisation: str = Field(max_length=64)
    status: str = Field(default="open", max_length=8)
    candidates: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    created_by: str = Field(max_length=255)
    created_at: datetime = Field(sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class BallotVote(Base, table=True):
    """One party's approval set on a ballot (candidate indexes); replaced while it is open."""

    __tablename__ = "ballot_vote"

    ballot_id: UUID = Field(foreign_key="ballot.id", primary_key=True)
    party_id: UUID = Field(foreign_key="mediation_party.id", primary_key=True)
    accepts: list[int] = Field(default_factory=list, sa_type=JSON)
    recorded_by: str = Field(max_length=255)
    updated_at: datetime = Field(sa_type=UTCDateTime)
