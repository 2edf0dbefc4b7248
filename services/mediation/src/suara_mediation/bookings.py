"""Holds and bookings of explicit slots, and what happens to a booking afterwards.

No resource is ever double-booked. Before checking for overlaps, every transaction that places
a hold or booking locks the rows of the resources it wants (`SELECT … FOR UPDATE`, in id order so
two transactions never wait on each other in a cycle); a competing transaction waits, then sees
the winner's rows and answers 409. An exclusion constraint cannot do this job: a hold stops
counting when it expires, which depends on the clock, not on any column a constraint can see;
and each resource's buffers change the interval that must not overlap. On SQLite the single
writer connection serialises transactions instead.

Placing a hold, booking, confirming and rescheduling take an `Idempotency-Key`: it is stored per
organisation with a fingerprint of the request and the answer, so a retry is answered from the
record, and the same key with another request is a 422 (as everywhere in the API).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from hashlib import sha256
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import and_, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_contracts.events import PartyAttendance, PartyRef, SessionChanged
from suara_contracts.mediation import (
    Attendance,
    BookingList,
    BookingQuery,
    BookingsQuery,
    BookingView,
    BookSlot,
    CancelBooking,
    ConfirmHold,
    MediationQuery,
    MediationView,
    PlaceHold,
    RecordNoShow,
    RecordResponse,
    Reschedule,
    ResourceRef,
    SlotBody,
)
from suara_contracts.rpc import Actor
from suara_contracts.subjects import Evt
from suara_kit.clock import utcnow
from suara_kit.errors import Conflict, NotFound, ValidationFailed
from suara_kit.ids import uuid7
from suara_mediation import mediations, proposals, resources
from suara_mediation.models import (
    Booking,
    BookingAttendance,
    BookingResource,
    IdempotencyKey,
    Mediation,
    MediationParty,
    Resource,
)
from suara_mediation.resources import check_zone, invalid

Emit = Callable[[AsyncSession, str, BaseModel], UUID]
HELD, BOOKED, CANCELLED = "held", "booked", "cancelled"
DEFAULT_HOLD_MINUTES = 15
NO_SUCH_BOOKING = "No such hold or booking in your organisation."
WINDOW_LIMIT = 500  # a calendar's weeks hold far fewer; a bound all the same


# idempotency
def fingerprint(operation: str, command: BaseModel) -> str:
    """A hash of what the request asks for (not who asks, nor the key itself)."""
    body = command.model_dump(mode="json", exclude={"actor", "idempotency_key"})
    raw = json.dumps([operation, body], sort_keys=True, separators=(",", ":"))
    return sha256(raw.encode()).hexdigest()


async def idempotent(session: AsyncSession, organisation: str, key: str, operation: str,
                     command: BaseModel,
                     work: Callable[[], Awaitable[BookingView]]) -> BookingView:
    """Run `work` once per (organisation, key); replay its answer for the same request."""
    digest = fingerprint(operation, command)
    known = await session.get(IdempotencyKey, (organisation, key))
    if known is not None:
        if known.fingerprint != digest:
            raise ValidationFailed(  # 422, as the gateway answers for every other POST
                "Idempotency-Key reuse: this key was already used for a different request. "
                "Send a new key for a new request.", idempotency_key=key,
                errors=[{"field": "Idempotency-Key", "message": "used for another request"}])
        return BookingView.model_validate_json(known.response).model_copy(
            update={"replayed": True})
    # Claim the key first: on PostgreSQL a concurrent twin waits here on the primary key and
    # then fails with an IntegrityError; the caller retries it once, and it is replayed.
    claim = IdempotencyKey(organisation=organisation, key=key, fingerprint=digest,
                           response="", created_at=utcnow())
    session.add(claim)
    await session.flush()
    result = await work()
    claim.response = result.model_dump_json()
    session.add(claim)
    return result


# the slot's rules
def outside_hours(resource: Resource, starts_at: datetime, ends_at: datetime) -> str | None:
    """Why [starts_at, ends_at) is outside the resource's weekly hours or date overrides, or
    None: the slot engine's rule (`proposals.outside_hours`), so a booking never takes a
    resource at a time it does not work."""
    return proposals.outside_hours(resource, starts_at, ends_at)


def _local(moment: datetime, zone: str) -> str:
    return f"{moment.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M}"


def _check_slot(rows: list[Resource], starts_at: datetime, ends_at: datetime,
                now: datetime) -> None:
    problems: list[tuple[str, str]] = []
    if starts_at <= now:
        problems.append(("starts_at", "must be in the future"))
    for r in rows:
        earliest = now + timedelta(minutes=r.minimum_notice_minutes)
        latest = now + timedelta(days=r.booking_horizon_days)
        if starts_at > now and starts_at < earliest:
            problems.append(("starts_at", f"{r.name} needs {r.minimum_notice_minutes} minutes' "
                             f"notice: the earliest start is {_local(earliest, r.timezone)} "
                             f"({r.timezone})"))
        if ends_at > latest:
            problems.append(("ends_at", f"{r.name} is booked at most {r.booking_horizon_days} "
                             f"days ahead: until {_local(latest, r.timezone)} ({r.timezone})"))
        # only a slot within the bookable window is walked hour by hour: one that spans
        # centuries (refused above anyway) held the service past the gateway's timeout
        within = now < starts_at and ends_at <= latest
        reason = outside_hours(r, starts_at, ends_at) if within else None
        if reason:
            problems.append(("starts_at", reason))
    if problems:
        raise invalid(*problems)


def _check_team(mediation: Mediation, rows: list[Resource]) -> None:
    kinds = Counter(r.kind for r in rows)
    problems: list[tuple[str, str]] = []
    if inactive := [r.name for r in rows if not r.active]:
        problems.append(("resources", f"not bookable now: {', '.join(inactive)}"))
    if kinds["mediator"] != 1:
        problems.append(("resources", "take exactly one mediator"))
    if kinds["room"] + kinds["video-link"] > 1:
        problems.append(("resources", "take at most one room or video link"))
    spoken = {lang for r in rows if r.kind in ("mediator", "interpreter") for lang in r.languages}
    if missing := [lang for lang in mediation.languages if lang not in spoken]:
        problems.append(("resources", f"no interpreter for {', '.join(missing)}"))
    if problems:
        raise invalid(*problems)


async def _locked_resources(session: AsyncSession, organisation: str,
                            ids: list[UUID]) -> list[Resource]:
    rows = await resources.locked(session, organisation, ids)
    found = {r.id for r in rows}
    if missing := [str(i) for i in ids if i not in found]:
        raise invalid(("resources", f"no such resource in your organisation: {', '.join(missing)}"))
    return rows


async def _refuse_clashes(session: AsyncSession, rows: list[Resource], starts_at: datetime,
                          ends_at: datetime, now: datetime, exclude: UUID | None = None) -> None:
    """409 for the first resource already held (unexpired) or booked too close to the slot:
    two bookings of a resource need its buffer after the first and before the second between
    them."""
    live = or_(Booking.status == BOOKED,
               and_(Booking.status == HELD, col(Booking.expires_at) > now))
    for r in sorted(rows, key=lambda r: r.id):
        pad = timedelta(minutes=r.buffer_before_minutes + r.buffer_after_minutes)
        stmt = (select(Booking).join(BookingResource,
                                     col(BookingResource.booking_id) == col(Booking.id))
                .where(BookingResource.resource_id == r.id, live,
                       BookingResource.starts_at < ends_at + pad,
                       BookingResource.ends_at > starts_at - pad)
                .order_by(col(BookingResource.starts_at)))
        if exclude is not None:
            stmt = stmt.where(Booking.id != exclude)
        clash = (await session.exec(stmt)).first()
        if clash is None:
            continue
        buffers = (f", keeping its {r.buffer_before_minutes}-minute buffer before and "
                   f"{r.buffer_after_minutes}-minute buffer after" if pad else "")
        raise Conflict(
            f"The {r.kind} {r.name} is already {clash.status} "
            f"{_local(clash.starts_at, r.timezone)}–"
            f"{clash.ends_at.astimezone(ZoneInfo(r.timezone)):%H:%M} ({r.timezone}){buffers}. "
            "Choose another time or resource.", resource_id=str(r.id))


# reading
async def _resources_of(session: AsyncSession, booking_id: UUID) -> list[Resource]:
    return list(await session.exec(
        select(Resource).join(BookingResource, col(BookingResource.resource_id) == col(Resource.id))
        .where(BookingResource.booking_id == booking_id)
        .order_by(col(Resource.kind), col(Resource.name))))


async def view(session: AsyncSession, row: Booking, mediation: Mediation) -> BookingView:
    """A hold or booking as the mediator sees it; a lapsed hold reads as expired."""
    parties = await mediations.parties_of(session, mediation.id)
    answers = {a.party_id: a for a in await session.exec(
        select(BookingAttendance).where(BookingAttendance.booking_id == row.id))}
    attendance = []
    for p in parties:
        a = answers.get(p.id)
        response = a.response if a is not None and a.sequence == row.sequence else "pending"
        attendance.append(Attendance(party_id=p.id, role=p.role, alias=p.alias,  # type: ignore[arg-type]
                                     response=response,  # type: ignore[arg-type]
                                     no_show=bool(a and a.no_show)))
    expired = row.status == HELD and row.expires_at is not None and row.expires_at <= utcnow()
    return BookingView(
        booking_id=row.id, mediation_id=row.mediation_id, case_id=mediation.case_id,
        status="expired" if expired else row.status,  # type: ignore[arg-type]
        starts_at=row.starts_at, ends_at=row.ends_at, timezone=row.timezone,
        expires_at=row.expires_at if row.status == HELD else None, sequence=row.sequence,
        resources=[ResourceRef(resource_id=r.id, kind=r.kind, name=r.name)  # type: ignore[arg-type]
                   for r in await _resources_of(session, row.id)],
        attendance=attendance, cancel_reason=row.cancel_reason)  # type: ignore[arg-type]


async def _booking_of(session: AsyncSession, actor: Actor, booking_id: UUID,
                      lock: bool = True) -> tuple[Booking, Mediation]:
    organisation = mediations.require_mediator(actor)
    row = await session.get(Booking, booking_id, with_for_update=lock)
    if row is None or row.organisation != organisation:
        raise NotFound(NO_SUCH_BOOKING)
    mediation = await session.get(Mediation, row.mediation_id)
    assert mediation is not None
    return row, mediation


async def get(session: AsyncSession, query: BookingQuery) -> BookingView:
    """One hold or booking."""
    row, mediation = await _booking_of(session, query.actor, query.booking_id, lock=False)
    return await view(session, row, mediation)


async def in_window(session: AsyncSession, query: BookingsQuery) -> BookingList:
    """The organisation's holds and bookings starting in the query's window, earliest first;
    with `mine`, only those taking a resource linked to the caller's account."""
    organisation = mediations.require_mediator(query.actor)
    stmt = (select(Booking).where(Booking.organisation == organisation,
                                  Booking.starts_at >= query.starts_from,
                                  Booking.starts_at < query.starts_before)
            .order_by(col(Booking.starts_at), col(Booking.id)).limit(WINDOW_LIMIT))
    if query.mine:
        own = (select(BookingResource.booking_id)
               .join(Resource, col(Resource.id) == col(BookingResource.resource_id))
               .where(Resource.organisation == organisation,
                      Resource.account == query.actor.subject))
        stmt = stmt.where(col(Booking.id).in_(own))
    rows = list(await session.exec(stmt))
    found = {m.id: m for m in await session.exec(select(Mediation).where(
        col(Mediation.id).in_({r.mediation_id for r in rows})))} if rows else {}
    return BookingList(items=[await view(session, r, found[r.mediation_id]) for r in rows])


async def mediation_detail(session: AsyncSession, query: MediationQuery) -> MediationView:
    """A mediation with its parties and every hold and booking made for it."""
    mediation = await mediations.mediation_of(session, query.actor, query.mediation_id)
    rows = await session.exec(select(Booking).where(Booking.mediation_id == mediation.id)
                              .order_by(col(Booking.starts_at)))
    booked = [await view(session, r, mediation) for r in rows]
    return mediations.view(mediation, await mediations.parties_of(session, mediation.id), booked)


# events
def _party_ref(p: MediationParty) -> PartyRef:
    return PartyRef(party_id=p.id, role=p.role, alias=p.alias, timezone=p.timezone,
                    language=p.language)


async def _session_changed(session: AsyncSession, emit: Emit, subject: str, row: Booking,
                           mediation: Mediation) -> None:
    parties = await mediations.parties_of(session, mediation.id)
    emit(session, subject, SessionChanged(
        booking_id=row.id, mediation_id=mediation.id, case_id=mediation.case_id,
        organisation=mediation.organisation, starts_at=row.starts_at, ends_at=row.ends_at,
        timezone=row.timezone, mode=mediation.mode, sequence=row.sequence,
        parties=[_party_ref(p) for p in parties], cancel_reason=row.cancel_reason,
        mediator=mediation.created_by))


# writing
async def _reserve(session: AsyncSession, mediation: Mediation, actor: Actor, slot: SlotBody,
                   status: str, expires_at: datetime | None) -> Booking:
    now = utcnow()
    rows = await _locked_resources(session, mediation.organisation, slot.resources)
    _check_team(mediation, rows)
    starts_at, ends_at = slot.starts_at.astimezone(now.tzinfo), slot.ends_at.astimezone(now.tzinfo)
    _check_slot(rows, starts_at, ends_at, now)
    zone = slot.timezone or next(r.timezone for r in rows if r.kind == "mediator")
    check_zone(zone, "timezone")
    await _refuse_clashes(session, rows, starts_at, ends_at, now)
    booking = Booking(id=uuid7(), mediation_id=mediation.id, organisation=mediation.organisation,
                      status=status, starts_at=starts_at, ends_at=ends_at, timezone=zone,
                      expires_at=expires_at, created_by=actor.subject, updated_at=now)
    session.add(booking)
    await session.flush()
    session.add_all([BookingResource(booking_id=booking.id, resource_id=r.id,
                                     starts_at=starts_at, ends_at=ends_at) for r in rows])
    await session.flush()
    return booking


async def hold(session: AsyncSession, command: PlaceHold, emit: Emit,
               hold_minutes: int = DEFAULT_HOLD_MINUTES) -> BookingView:
    """Reserve a slot and its resources until the hold expires."""
    mediation = await mediations.mediation_of(session, command.actor, command.mediation_id)

    async def work() -> BookingView:
        minutes = command.hold_minutes or hold_minutes
        row = await _reserve(session, mediation, command.actor, command, HELD,
                             utcnow() + timedelta(minutes=minutes))
        return await view(session, row, mediation)

    return await idempotent(session, mediation.organisation, command.idempotency_key, "hold",
                            command, work)


async def book(session: AsyncSession, command: BookSlot, emit: Emit) -> BookingView:
    """Book a slot and its resources directly."""
    mediation = await mediations.mediation_of(session, command.actor, command.mediation_id)

    async def work() -> BookingView:
        row = await _reserve(session, mediation, command.actor, command, BOOKED, None)
        await _session_changed(session, emit, Evt.SESSION_BOOKED, row, mediation)
        return await view(session, row, mediation)

    return await idempotent(session, mediation.organisation, command.idempotency_key, "book",
                            command, work)


async def confirm(session: AsyncSession, command: ConfirmHold, emit: Emit) -> BookingView:
    """Turn an unexpired hold into a booking."""
    row, mediation = await _booking_of(session, command.actor, command.booking_id)

    async def work() -> BookingView:
        # lock the resources too, so an expiry race with a new booking resolves one way only
        await resources.locked(session, mediation.organisation,
                               [r.id for r in await _resources_of(session, row.id)])
        if row.status != HELD:
            raise Conflict(f"This is {row.status}, not a hold: there is nothing to confirm.")
        assert row.expires_at is not None
        if row.expires_at <= utcnow():
            raise Conflict(f"This hold expired at {_local(row.expires_at, row.timezone)} "
                           f"({row.timezone}). Place a new hold or book directly.")
        row.status, row.expires_at, row.updated_at = BOOKED, None, utcnow()
        session.add(row)
        await session.flush()
        await _session_changed(session, emit, Evt.SESSION_BOOKED, row, mediation)
        return await view(session, row, mediation)

    return await idempotent(session, mediation.organisation, command.idempotency_key, "confirm",
                            command, work)


async def reschedule(session: AsyncSession, command: Reschedule, emit: Emit) -> BookingView:
    """Move a booking to a new time with the same resources; its sequence goes up."""
    row, mediation = await _booking_of(session, command.actor, command.booking_id)

    async def work() -> BookingView:
        if row.status != BOOKED:
            raise Conflict(f"Only a booking can be rescheduled; this is {row.status}.")
        now = utcnow()
        ids = [r.id for r in await _resources_of(session, row.id)]
        rows = await resources.locked(session, mediation.organisation, ids)
        starts_at, ends_at = command.starts_at.astimezone(now.tzinfo), command.ends_at.astimezone(
            now.tzinfo)
        _check_slot(rows, starts_at, ends_at, now)
        await _refuse_clashes(session, rows, starts_at, ends_at, now, exclude=row.id)
        row.starts_at, row.ends_at, row.updated_at = starts_at, ends_at, now
        row.sequence += 1
        session.add(row)
        for link in await session.exec(select(BookingResource)
                                       .where(BookingResource.booking_id == row.id)):
            link.starts_at, link.ends_at = starts_at, ends_at
            session.add(link)
        await session.flush()
        await _session_changed(session, emit, Evt.SESSION_RESCHEDULED, row, mediation)
        return await view(session, row, mediation)

    return await idempotent(session, mediation.organisation, command.idempotency_key,
                            "reschedule", command, work)


async def cancel(session: AsyncSession, command: CancelBooking, emit: Emit) -> BookingView:
    """Cancel a booking (its sequence goes up, parties are told) or release a hold."""
    row, mediation = await _booking_of(session, command.actor, command.booking_id)
    if row.status == CANCELLED:
        raise Conflict("This was cancelled already.")
    was_booked = row.status == BOOKED
    row.status, row.cancel_reason = CANCELLED, command.reason
    row.cancel_note, row.updated_at = command.note.strip() or None, utcnow()
    if was_booked:
        row.sequence += 1
    session.add(row)
    await session.flush()
    if was_booked:
        await _session_changed(session, emit, Evt.SESSION_CANCELLED, row, mediation)
    return await view(session, row, mediation)


async def _party(session: AsyncSession, mediation: Mediation, party_id: UUID) -> MediationParty:
    party = await session.get(MediationParty, party_id)
    if party is None or party.mediation_id != mediation.id:
        raise NotFound("No such party in this mediation.")
    return party


async def _attendance(session: AsyncSession, row: Booking, party: MediationParty,
                      actor: Actor) -> BookingAttendance:
    found = await session.get(BookingAttendance, (row.id, party.id))
    return found or BookingAttendance(booking_id=row.id, party_id=party.id,
                                      sequence=row.sequence, recorded_by=actor.subject,
                                      updated_at=utcnow())


def _attendance_event(row: Booking, mediation: Mediation, party: MediationParty,
                      response: str) -> PartyAttendance:
    return PartyAttendance(
        booking_id=row.id, mediation_id=mediation.id, case_id=mediation.case_id,
        organisation=mediation.organisation, starts_at=row.starts_at, ends_at=row.ends_at,
        timezone=row.timezone, sequence=row.sequence, party=_party_ref(party),
        response=response, mediator=mediation.created_by)  # type: ignore[arg-type]


async def respond(session: AsyncSession, command: RecordResponse, emit: Emit) -> BookingView:
    """Record a party's acceptance or refusal of the booking's current time."""
    row, mediation = await _booking_of(session, command.actor, command.booking_id)
    party = await _party(session, mediation, command.party_id)
    if row.status != BOOKED:
        raise Conflict(f"Parties answer a booking; this is {row.status}.")
    answer = await _attendance(session, row, party, command.actor)
    changed = (answer.response, answer.sequence) != (command.response, row.sequence)
    answer.response, answer.sequence = command.response, row.sequence
    answer.recorded_by, answer.updated_at = command.actor.subject, utcnow()
    session.add(answer)
    await session.flush()
    if changed:
        emit(session, Evt.PARTY_RESPONDED,
             _attendance_event(row, mediation, party, command.response))
    return await view(session, row, mediation)


async def no_show(session: AsyncSession, command: RecordNoShow, emit: Emit) -> BookingView:
    """Record that a party did not come, once the session has started."""
    row, mediation = await _booking_of(session, command.actor, command.booking_id)
    party = await _party(session, mediation, command.party_id)
    if row.status != BOOKED:
        raise Conflict(f"No-shows are recorded on a booking; this is {row.status}.")
    if utcnow() < row.starts_at:
        raise Conflict(f"The session starts {_local(row.starts_at, row.timezone)} "
                       f"({row.timezone}): record a no-show after that.")
    answer = await _attendance(session, row, party, command.actor)
    if not answer.no_show:
        answer.no_show, answer.recorded_by, answer.updated_at = True, command.actor.subject, utcnow()
        session.add(answer)
        await session.flush()
        emit(session, Evt.PARTY_NO_SHOW, _attendance_event(row, mediation, party, "no-show"))
    return await view(session, row, mediation)
