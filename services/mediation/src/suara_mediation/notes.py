"""A mediation's session notes: joint notes every side may see, and caucus notes held with one
side, which only the mediator and that side see.

Sides mostly have no Suara account, so the mediator reads, per party, what that party may be
shown (`for_party`): the joint notes and that party's own caucus notes, never another side's
caucus. A caucus with the worker can hold what the worker fears the employer learns, so this
filter is the retaliation-safety rule of this module. The text is sealed with the case's data
key (`content.py`); it is never put in an event, a log, a subject or a header."""

from __future__ import annotations

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_contracts.notes import NoteList, NotesQuery, NoteView, WriteNote
from suara_kit.clock import utcnow
from suara_kit.datakeys import DataKey
from suara_kit.ids import uuid7
from suara_mediation import audit, content, mediations, repository
from suara_mediation.models import Booking, KnownCase, Mediation, MediationParty
from suara_mediation.note_models import MediationNote
from suara_mediation.resources import invalid

JOINT, CAUCUS = "joint", "caucus"


def _context(note: MediationNote) -> str:
    return f"note:{note.id}"


async def _case(session: AsyncSession, mediation: Mediation) -> KnownCase:
    case = await repository.case_by_id(session, mediation.case_id)
    if case is None:  # a mediation is only ever created for a known case
        raise RuntimeError(f"mediation {mediation.id} has no known case")
    return case


async def _check(session: AsyncSession, mediation: Mediation, command: WriteNote) -> str:
    """The note's text, stripped; 422 naming each field that breaks a rule."""
    problems: list[tuple[str, str]] = []
    text = command.text.strip()
    if not text:
        problems.append(("text", "must not be blank"))
    if command.visibility == CAUCUS:
        party = (await session.get(MediationParty, command.party_id)
                 if command.party_id is not None else None)
        if party is None or party.mediation_id != mediation.id:
            problems.append(("party_id", "a caucus note names the party of this mediation it "
                                         "was held with"))
    elif command.party_id is not None:
        problems.append(("party_id", "a joint note is for every side: leave party_id out"))
    if command.booking_id is not None:
        booking = await session.get(Booking, command.booking_id)
        if booking is None or booking.mediation_id != mediation.id:
            problems.append(("booking_id", "not a session of this mediation"))
    if problems:
        raise invalid(*problems)
    return text


def view(note: MediationNote, key: DataKey | None) -> NoteView:
    """A note as the mediator reads it; its text is null once the case was shredded."""
    text = key.open_text(note.sealed_text, _context(note)) if key is not None else None
    return NoteView(note_id=note.id, mediation_id=note.mediation_id, booking_id=note.booking_id,
                    visibility=note.visibility,  # type: ignore[arg-type]
                    party_id=note.party_id, text=text, deleted=key is None,
                    written_by=note.written_by, written_at=note.written_at)


async def write(session: AsyncSession, command: WriteNote) -> NoteView:
    """Store a note of a mediation of the mediator's organisation, its text sealed."""
    mediation = await mediations.mediation_of(session, command.actor, command.mediation_id)
    text = await _check(session, mediation, command)
    key = await content.key_for_writing(session, await _case(session, mediation))
    note = MediationNote(id=uuid7(), mediation_id=mediation.id, case_id=mediation.case_id,
                         booking_id=command.booking_id, visibility=command.visibility,
                         party_id=command.party_id, sealed_text=b"",
                         written_by=command.actor.subject, written_at=utcnow())
    note.sealed_text = key.seal_text(text, _context(note))
    session.add(note)
    await session.flush()
    await audit.record(session, command.actor.subject, f"note-write:{note.visibility}",
                       mediation.case_id)
    return view(note, key)


async def read(session: AsyncSession, query: NotesQuery) -> NoteList:
    """All notes (the mediator's own view), or only what `for_party` may be shown."""
    mediation = await mediations.mediation_of(session, query.actor, query.mediation_id)
    stmt = select(MediationNote).where(MediationNote.mediation_id == mediation.id)
    if query.for_party is not None:
        party = await session.get(MediationParty, query.for_party)
        if party is None or party.mediation_id != mediation.id:
            raise invalid(("for_party", "not a party of this mediation"))
        stmt = stmt.where(or_(MediationNote.visibility == JOINT,
                              col(MediationNote.party_id) == party.id))
    notes = list(await session.exec(stmt.order_by(col(MediationNote.written_at),
                                                  col(MediationNote.id))))
    key = await content.key_for_reading(session, await _case(session, mediation)) if notes else None
    await audit.record(session, query.actor.subject,
                       "note-read" if query.for_party is None else "note-read:party",
                       mediation.case_id)
    return NoteList(for_party=query.for_party, items=[view(n, key) for n in notes])

