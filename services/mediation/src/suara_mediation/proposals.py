"""The bridge from stored resources, parties and bookings to the slot engine (`slots.py`): the
best common slots for a mediation, and the weekly-hours check a booking makes."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from uuid import UUID

from sqlmodel import and_, col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_contracts.proposals import (
    LocalTime,
    NoSlotReason,
    ProposedSlot,
    ProposeSlots,
    SlotProposals,
)
from suara_kit.clock import utcnow
from suara_kit.errors import ValidationFailed
from suara_mediation import mediations, slots
from suara_mediation.models import Booking, BookingResource, MediationParty, Resource

BOOKED, HELD = "booked", "held"
VENUE = {"in-person": "room", "video": "video-link"}


def _hours(span: dict) -> slots.Hours:
    return (time.fromisoformat(span["start"]), time.fromisoformat(span["end"]))


def availability(resource: Resource,
                 busy: tuple[tuple[datetime, datetime], ...] = ()) -> slots.Availability:
    """A stored resource's availability, as the slot engine reads it."""
    weekly: dict[int, list[slots.Hours]] = defaultdict(list)
    for span in resource.weekly_hours:
        weekly[int(span["weekday"])].append(_hours(span))
    return slots.Availability(
        timezone=resource.timezone,
        weekly=slots.WeeklyHours({day: tuple(spans) for day, spans in weekly.items()}),
        overrides=tuple(slots.DateOverride(day=date.fromisoformat(o["date"]),
                                           hours=tuple(_hours(h) for h in o.get("hours", [])))
                        for o in resource.date_overrides),
        buffer_before=timedelta(minutes=resource.buffer_before_minutes),
        buffer_after=timedelta(minutes=resource.buffer_after_minutes),
        minimum_notice=timedelta(minutes=resource.minimum_notice_minutes),
        horizon_days=resource.booking_horizon_days, busy=busy)


def outside_hours(resource: Resource, starts_at: datetime, ends_at: datetime) -> str | None:
    """Why [starts_at, ends_at) is outside the resource's weekly hours or date overrides."""
    reason = slots.outside_hours(availability(resource), starts_at, ends_at)
    return f"{resource.name}: {reason}" if reason else None


def party(row: MediationParty) -> slots.PartyConstraints:
    quiet = ((row.quiet_start, row.quiet_end),) if row.quiet_start and row.quiet_end else ()
    return slots.PartyConstraints(party=str(row.id), role=row.role,  # type: ignore[arg-type]
                                  timezone=row.timezone, quiet_hours=quiet,
                                  rest_days=frozenset(row.rest_days))


async def _busy(session: AsyncSession, ids: list[UUID], now: datetime,
                until: datetime) -> dict[UUID, list[tuple[datetime, datetime]]]:
    live = or_(Booking.status == BOOKED, and_(Booking.status == HELD,
                                              col(Booking.expires_at) > now))
    rows = await session.exec(
        select(BookingResource).join(Booking, col(Booking.id) == col(BookingResource.booking_id))
        .where(col(BookingResource.resource_id).in_(ids), live,
               BookingResource.ends_at > now, BookingResource.starts_at < until))
    busy: dict[UUID, list[tuple[datetime, datetime]]] = defaultdict(list)
    for row in rows:
        busy[row.resource_id].append((row.starts_at, row.ends_at))
    return busy


async def propose(session: AsyncSession, command: ProposeSlots) -> SlotProposals:
    """The best common slots for a mediation of the mediator's organisation."""
    if 1440 % command.step_minutes or command.step_minutes > 60:
        raise ValidationFailed("step_minutes: 15, 30 or 60", errors=[
            {"field": "step_minutes", "message": "15, 30 or 60"}])
    mediation = await mediations.mediation_of(session, command.actor, command.mediation_id)
    parties = await mediations.parties_of(session, mediation.id)
    kinds = {"mediator", "interpreter", VENUE.get(mediation.mode, "")}
    stored = list(await session.exec(select(Resource).where(
        Resource.organisation == mediation.organisation, col(Resource.active).is_(True),
        col(Resource.kind).in_(kinds)).order_by(col(Resource.name), col(Resource.id))))
    now = utcnow()
    busy = await _busy(session, [r.id for r in stored], now,
                       now + timedelta(days=command.horizon_days + 1))
    request = slots.Request(
        # strictly after now: a booking must start in the future
        duration=timedelta(minutes=command.duration_minutes), now=now + timedelta(minutes=1),
        parties=tuple(party(p) for p in parties),
        resources=tuple(slots.Resource(id=str(r.id), kind=r.kind,  # type: ignore[arg-type]
                                       availability=availability(r, tuple(busy[r.id])),
                                       languages=frozenset(r.languages)) for r in stored),
        languages=frozenset(mediation.languages), mode=mediation.mode,  # type: ignore[arg-type]
        horizon_days=command.horizon_days, count=command.count,
        step_minutes=command.step_minutes)
    found = (slots.ballot(request, command.count * 2) if command.vote
             else slots.propose(request))
    if isinstance(found, slots.NoSlots):
        return SlotProposals(slots=[], reasons=[NoSlotReason(code=r.code, message=r.message)
                                                for r in found.reasons])
    by_id = {str(p.id): p for p in parties}
    return SlotProposals(slots=[ProposedSlot(
        starts_at=s.start, ends_at=s.end,
        resource_ids=[UUID(i) for i in (s.mediator, *s.interpreters.values(),
                                        *([s.venue] if s.venue else []))],
        local=[LocalTime(party_id=UUID(pid), role=by_id[pid].role, alias=by_id[pid].alias,
                         timezone=t.timezone, start=t.start, end=t.end)
               for pid, t in s.local.items()]) for s in found])
