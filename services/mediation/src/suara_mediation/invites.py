"""Per-recipient iCalendar files for a booked session (`ical.py` writes them): the mediator
downloads each party's copy to hand over or send, until notification delivers them by email.

Each copy is in the party's language and time zone; the worker's and representative's copies
name nobody else (roles only); nobody's copy names the worker but by alias. The UID is stable
per booking and the SEQUENCE is the booking's, so a calendar updates the same event on every
reschedule and removes it on cancellation (METHOD:CANCEL)."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from suara_contracts.invites import InviteFile, InviteQuery
from suara_kit.errors import Conflict, NotFound
from suara_mediation import audit, bookings, ical, mediations
from suara_mediation.models import MediationParty

BOOKED, CANCELLED = "booked", "cancelled"


def _attendee(party: MediationParty) -> ical.Attendee:
    if party.role == "worker":
        return ical.Worker(alias=party.alias)
    if party.role == "representative":
        return ical.Representative(alias=party.alias)
    return ical.Party(role=ical.Role(party.role), name=party.alias,
                      language=party.language if party.role == "interpreter" else None)


async def invite(session: AsyncSession, query: InviteQuery) -> InviteFile:
    row, mediation = await bookings._booking_of(session, query.actor, query.booking_id,
                                               lock=False)
    if row.status not in (BOOKED, CANCELLED):
        raise Conflict("Only a booked (or cancelled) session has an invitation: confirm the "
                       "hold first.")
    parties = await mediations.parties_of(session, mediation.id)
    resources = await bookings._resources_of(session, row.id)
    mediator = next((r for r in resources if r.kind == "mediator"), None)
    venue = next((r for r in resources if r.kind in ("room", "video-link")), None)
    organiser = ical.Party(role=ical.Role.MEDIATOR,
                           name=mediator.name if mediator else "Mediator")
    attendees = (organiser, *(_attendee(p) for p in parties))
    invite_of = ical.SessionInvite(
        session_id=row.id, sequence=row.sequence, starts_at=row.starts_at, ends_at=row.ends_at,
        mode=mediation.mode,  # type: ignore[arg-type]
        organisation=mediation.organisation,
        organiser=ical.Organiser(name=organiser.name,
                                 mailbox=f"mediation@{mediation.organisation}.suara.example"),
        attendees=attendees, location=venue.name if venue else None)
    if query.party_id is None:
        recipient = ical.Recipient(attendee=organiser, timezone=row.timezone, language="en")
        who = "mediator"
    else:
        index = next((i for i, p in enumerate(parties) if p.id == query.party_id), None)
        if index is None:
            raise NotFound("No such party in this mediation.")
        party = parties[index]
        recipient = ical.Recipient(attendee=attendees[index + 1], timezone=party.timezone,
                                   language=party.language or "en")
        who = party.role
    method = "CANCEL" if row.status == CANCELLED else "REQUEST"
    text = ical.invitation(invite_of, recipient, method).decode()  # type: ignore[arg-type]
    await audit.record(session, query.actor.subject, f"invite-read:{who}", mediation.case_id)
    return InviteFile(filename=f"mediation-{who}-{row.sequence}.ics", method=method,
                      calendar=text)
