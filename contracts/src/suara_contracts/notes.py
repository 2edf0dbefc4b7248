"""Request and reply bodies of a mediation's session notes (`suara.rpc.mediation.v1.note-*`):
joint notes every side may see, and caucus notes held with one side, which only the mediator
and that side see. A note's text is case content: it travels in these bodies only, never in an
event, a subject, a header or a log."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import Field

from suara_contracts.rpc import Actor, _Msg

NoteVisibility = Literal["joint", "caucus"]
NOTE_MAX = 4000


class NoteBody(_Msg):
    visibility: NoteVisibility = Field(description=(
        "joint: seen by every side; caucus: held with one side (`party_id`), seen only by the "
        "mediator and that side"))
    party_id: UUID | None = Field(default=None, description=(
        "caucus: the party of this mediation the caucus was held with; joint: leave out"))
    booking_id: UUID | None = Field(default=None, description=(
        "the booked session of this mediation the note is about, if any"))
    text: str = Field(min_length=1, max_length=NOTE_MAX)


class WriteNote(NoteBody):
    actor: Actor
    mediation_id: UUID


class NotesQuery(_Msg):
    actor: Actor
    mediation_id: UUID
    for_party: UUID | None = Field(default=None, description=(
        "only what this party may see: the joint notes and its own caucus notes"))


class NoteView(_Msg):
    note_id: UUID
    mediation_id: UUID
    booking_id: UUID | None
    visibility: NoteVisibility
    party_id: UUID | None
    text: str | None = Field(description="null once the case's content was deleted")
    deleted: bool = Field(default=False, description=(
        "the case reached the end of its retention period: the text can no longer be read"))
    written_by: str
    written_at: datetime


class NoteList(_Msg):
    for_party: UUID | None = None
    items: list[NoteView]
