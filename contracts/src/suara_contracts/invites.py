"""Request and reply of a per-recipient iCalendar invitation for a booked (or cancelled)
mediation session (`suara.rpc.mediation.v1.invite`)."""

from __future__ import annotations

from uuid import UUID

from pydantic import Field

from suara_contracts.rpc import Actor, _Msg


class InviteQuery(_Msg):
    actor: Actor
    booking_id: UUID
    party_id: UUID | None = Field(default=None, description=(
        "the party whose copy this is; none: the mediator's own copy"))


class InviteFile(_Msg):
    filename: str
    method: str = Field(description="REQUEST, or CANCEL for a cancelled session")
    calendar: str = Field(description="the iCalendar text (text/calendar)")
