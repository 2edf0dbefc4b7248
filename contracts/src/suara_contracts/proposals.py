"""Request and reply bodies of slot proposals (`suara.rpc.mediation.v1.propose-slots`): the
best common slots for a mediation's parties and the organisation's resources, or why there are
none."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import Field

from suara_contracts.rpc import Actor, _Msg


class ProposalRequest(_Msg):
    duration_minutes: int = Field(default=90, ge=15, le=480)
    horizon_days: int = Field(default=14, ge=1, le=60)
    count: int = Field(default=5, ge=1, le=20)
    step_minutes: int = Field(default=30, description="15, 30 or 60")
    vote: bool = Field(default=False, description=(
        "parties vote: return a wider list (twice `count`) for the parties to choose from"))


class ProposeSlots(ProposalRequest):
    actor: Actor
    mediation_id: UUID


class LocalTime(_Msg):
    """A slot as one party reads it: ISO 8601 local times with their UTC offset."""

    party_id: UUID
    role: str
    alias: str
    timezone: str
    start: str
    end: str


class ProposedSlot(_Msg):
    starts_at: datetime
    ends_at: datetime
    resource_ids: list[UUID] = Field(description=(
        "the mediator, interpreters and room or video link to hold or book it with"))
    local: list[LocalTime]


class NoSlotReason(_Msg):
    code: str
    message: str


class SlotProposals(_Msg):
    slots: list[ProposedSlot]
    reasons: list[NoSlotReason] = Field(default=[], description=(
        "when there is no slot: which constraints clash (a rest day and every mediator's "
        "hours, a missing interpreter…)"))
