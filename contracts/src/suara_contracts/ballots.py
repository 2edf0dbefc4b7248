"""Request and reply bodies of the parties' vote on a mediation's session time
(`suara.rpc.mediation.v1.ballot-*`): the mediator puts candidate slots (from a proposal made
with `vote: true`) to the vote, records each party's approvals, and reads the tally. A slot is
chosen only when every party of the mediation accepts it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import Field, field_validator

from suara_contracts.rpc import Actor, _Msg

BallotStatus = Literal["open", "closed"]


class Candidate(_Msg):
    starts_at: datetime
    ends_at: datetime
    resource_ids: list[UUID] = Field(min_length=1, max_length=12, description=(
        "the mediator, interpreters and room or video link of the proposed slot"))

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("must carry a UTC offset, e.g. 2026-12-06T10:00:00+08:00")
        return value


class BallotBody(_Msg):
    candidates: list[Candidate] = Field(min_length=1, max_length=40)


class CreateBallot(BallotBody):
    actor: Actor
    mediation_id: UUID


class VoteBody(_Msg):
    party_id: UUID = Field(description="the party of the mediation whose vote this is")
    accepts: list[int] = Field(max_length=40, description=(
        "indexes (from 0, in the ballot's order) of every candidate the party can attend; "
        "empty: none. A new vote replaces the party's previous one until the ballot closes."))


class CastVote(VoteBody):
    actor: Actor
    ballot_id: UUID


class BallotQuery(_Msg):
    actor: Actor
    ballot_id: UUID


class TalliedCandidate(_Msg):
    index: int = Field(description="the candidate's place on the ballot")
    starts_at: datetime
    ends_at: datetime
    resource_ids: list[UUID]
    accepted_by: list[UUID]
    missing: list[UUID] = Field(description="parties that have not accepted it (yet)")


class BallotView(_Msg):
    ballot_id: UUID
    mediation_id: UUID
    status: BallotStatus
    ranked: list[TalliedCandidate] = Field(description=(
        "candidates accepted by every party first, then those missing fewest parties"))
    chosen: int | None = Field(description="the index of the slot every party accepts")
    reason: str | None = Field(description="why nothing is chosen yet")
    voted: list[UUID] = Field(description="the parties that have voted")
    created_at: datetime
