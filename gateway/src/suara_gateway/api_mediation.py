"""Mediation scheduling under /api/v1: bookable resources (mediators, interpreters, rooms,
video links) with their availability, mediations with their parties (by role and alias only),
holds and bookings of slots, and what happens to a booking afterwards.

Holds, bookings, confirmations and reschedules take an `Idempotency-Key` header: a retry with
the same key and body gets the stored answer (header `Idempotent-Replayed: true`); the same key
with another body is a 409."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Response
from pydantic import ValidationError

from suara_contracts.invites import InviteFile, InviteQuery
from suara_contracts.mediation import (
    IDEMPOTENCY_KEY,
    BookingList,
    BookingQuery,
    BookingsQuery,
    BookingView,
    BookSlot,
    CancelBody,
    CancelBooking,
    CaseMediationsQuery,
    ConfirmHold,
    CreateMediation,
    CreateResource,
    HoldBody,
    MediationBody,
    MediationList,
    MediationQuery,
    MediationsQuery,
    MediationView,
    NoShowBody,
    PlaceHold,
    RecordNoShow,
    RecordResponse,
    Reschedule,
    RescheduleBody,
    ResourceBody,
    ResourceList,
    ResourcesQuery,
    ResourceView,
    ResponseBody,
    SlotBody,
    UpdateResource,
)
from suara_contracts.proposals import ProposalRequest, ProposeSlots, SlotProposals
from suara_contracts.rpc import Actor
from suara_contracts.subjects import Rpc as S
from suara_gateway.deps import MediatorDep, Rpc, RpcDep, require_any_role
from suara_gateway.schemas import Public, problem_responses
from suara_kit.messaging import validation_problem

router = APIRouter(prefix="/api/v1", tags=["mediator"], responses=problem_responses(422, 503))
STAFF = problem_responses(401, 403, 404)
WRITES = {**STAFF, **problem_responses(409)}
# resources are configuration, not case content: an organisation's administrators manage them too
ResourceManagerDep = Annotated[Actor, Depends(require_any_role("mediator", "admin"))]
IdempotencyKey = Annotated[str, Header(
    alias="Idempotency-Key", pattern=IDEMPOTENCY_KEY,
    description="a unique key per intended request (a UUID is fine); retries resend it")]


def _replayed(response: Response, view: BookingView) -> BookingView:
    if view.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return view


@router.get("/mediation/resources", responses=STAFF)
async def list_resources(actor: ResourceManagerDep, rpc: RpcDep) -> ResourceList:
    """Your organisation's bookable resources."""
    return await rpc(S.MEDIATION_RESOURCES, ResourcesQuery(actor=actor), ResourceList)


@router.post("/mediation/resources", status_code=201, responses=WRITES)
async def create_resource(body: Public[ResourceBody], actor: ResourceManagerDep,
                          rpc: RpcDep) -> ResourceView:
    """Add a mediator, interpreter, room or video link with its availability: IANA time zone,
    weekly hours (local), date overrides, buffers, minimum notice and booking horizon."""
    command = CreateResource(actor=actor, **body.model_dump())
    return await rpc(S.MEDIATION_RESOURCE_CREATE, command, ResourceView)


@router.put("/mediation/resources/{resource_id}", responses=WRITES)
async def update_resource(resource_id: UUID, body: Public[ResourceBody], actor: ResourceManagerDep,
                          rpc: RpcDep) -> ResourceView:
    """Replace a resource's description and availability (existing bookings stay)."""
    command = UpdateResource(actor=actor, resource_id=resource_id, **body.model_dump())
    return await rpc(S.MEDIATION_RESOURCE_UPDATE, command, ResourceView)


@router.post("/cases/{case_id}/mediations", status_code=201, responses=WRITES)
async def create_mediation(case_id: UUID, body: Public[MediationBody], actor: MediatorDep,
                           rpc: RpcDep) -> MediationView:
    """Start a mediation for a case of your organisation: its mode, the languages it needs and
    its parties (worker or representative by alias only, employer side, interpreters,
    observers), each with time zone, quiet hours, rest days and language."""
    command = CreateMediation(actor=actor, case_id=case_id, **body.model_dump())
    return await rpc(S.MEDIATION_CREATE, command, MediationView)


@router.get("/cases/{case_id}/mediations", responses=STAFF)
async def case_mediations(case_id: UUID, actor: MediatorDep, rpc: RpcDep) -> MediationList:
    """A case's mediations with their parties."""
    query = CaseMediationsQuery(actor=actor, case_id=case_id)
    return await rpc(S.MEDIATION_OF_CASE, query, MediationList)


@router.get("/mediations", responses=STAFF)
async def list_mediations(actor: MediatorDep, rpc: RpcDep,
                          limit: Annotated[int, Query(ge=1, le=200)] = 50) -> MediationList:
    """Your organisation's mediations with their parties, newest first (without bookings)."""
    return await rpc(S.MEDIATION_LIST, MediationsQuery(actor=actor, limit=limit), MediationList)


@router.get("/bookings", responses=STAFF)
async def list_bookings(
        actor: MediatorDep, rpc: RpcDep,
        starts_from: Annotated[datetime, Query(description=(
            "the window's start, with a UTC offset (encode `+` as %2B)"))],
        starts_before: Annotated[datetime, Query(description=(
            "the window's end (excluded); at most 42 days after its start"))],
        mine: Annotated[bool, Query(description=(
            "only those taking a resource linked to your account"))] = False) -> BookingList:
    """Your organisation's holds and bookings that start in a window (a calendar's week),
    earliest first, with each party's answer."""
    try:
        query = BookingsQuery(actor=actor, starts_from=starts_from, starts_before=starts_before,
                              mine=mine)
    except ValidationError as exc:
        raise validation_problem(exc) from None
    return await rpc(S.MEDIATION_BOOKINGS, query, BookingList)


@router.get("/mediations/{mediation_id}", responses=STAFF)
async def get_mediation(mediation_id: UUID, actor: MediatorDep, rpc: RpcDep) -> MediationView:
    """A mediation with its parties and every hold and booking made for it."""
    query = MediationQuery(actor=actor, mediation_id=mediation_id)
    return await rpc(S.MEDIATION_GET, query, MediationView)


@router.get("/bookings/{booking_id}/invites/{party_id}", responses=WRITES,
            response_class=Response)
async def party_invite(booking_id: UUID, party_id: UUID, actor: MediatorDep,
                       rpc: RpcDep) -> Response:
    """One party's iCalendar copy of a booked session (METHOD:CANCEL once it is cancelled), in
    their language and time zone: the worker's copy names nobody else, and nobody's copy
    names the worker but by alias. Hand it over or send it; it updates the same calendar
    event on every reschedule."""
    return await _calendar(rpc, InviteQuery(actor=actor, booking_id=booking_id,
                                            party_id=party_id))


@router.get("/bookings/{booking_id}/invite", responses=WRITES, response_class=Response)
async def mediator_invite(booking_id: UUID, actor: MediatorDep, rpc: RpcDep) -> Response:
    """The mediator's own iCalendar copy of a booked session."""
    return await _calendar(rpc, InviteQuery(actor=actor, booking_id=booking_id))


async def _calendar(rpc: Rpc, query: InviteQuery) -> Response:
    found = await rpc(S.MEDIATION_INVITE, query, InviteFile)
    return Response(content=found.calendar, media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{found.filename}"',
                             "Cache-Control": "no-store"})


@router.post("/mediations/{mediation_id}/proposals", responses=STAFF)
async def propose_slots(mediation_id: UUID, body: Public[ProposalRequest], actor: MediatorDep,
                        rpc: RpcDep) -> SlotProposals:
    """The best common slots over the horizon for every party (their zones, quiet hours and
    rest days) and the organisation's resources (weekly hours, overrides, buffers, notice,
    horizon, existing bookings and holds), each shown in every party's local time; or, when
    none fits, why (a rest day and every mediator's hours, a missing interpreter…). With
    `vote`, a wider list for the parties to choose from. Nothing is held: hold or book one."""
    command = ProposeSlots(actor=actor, mediation_id=mediation_id, **body.model_dump())
    return await rpc(S.MEDIATION_PROPOSE_SLOTS, command, SlotProposals)


@router.post("/mediations/{mediation_id}/holds", status_code=201, responses=WRITES)
async def place_hold(mediation_id: UUID, body: Public[HoldBody], key: IdempotencyKey,
                     actor: MediatorDep, rpc: RpcDep, response: Response) -> BookingView:
    """Hold a slot and its resources (one mediator, interpreters, a room or video link) until
    the hold expires (15 minutes unless `hold_minutes` says). 409 names a resource already
    held or booked at an overlapping time, buffers included."""
    command = PlaceHold(actor=actor, mediation_id=mediation_id, idempotency_key=key,
                        **body.model_dump())
    return _replayed(response, await rpc(S.MEDIATION_HOLD, command, BookingView))


@router.post("/mediations/{mediation_id}/bookings", status_code=201, responses=WRITES)
async def book_slot(mediation_id: UUID, body: Public[SlotBody], key: IdempotencyKey,
                    actor: MediatorDep, rpc: RpcDep, response: Response) -> BookingView:
    """Book a slot and its resources directly, with the same checks as a hold."""
    command = BookSlot(actor=actor, mediation_id=mediation_id, idempotency_key=key,
                       **body.model_dump())
    return _replayed(response, await rpc(S.MEDIATION_BOOK, command, BookingView))


@router.get("/bookings/{booking_id}", responses=STAFF)
async def get_booking(booking_id: UUID, actor: MediatorDep, rpc: RpcDep) -> BookingView:
    """A hold or booking, with each party's answer and attendance."""
    query = BookingQuery(actor=actor, booking_id=booking_id)
    return await rpc(S.MEDIATION_BOOKING_GET, query, BookingView)


@router.post("/bookings/{booking_id}/confirm", responses=WRITES)
async def confirm_hold(booking_id: UUID, key: IdempotencyKey, actor: MediatorDep,
                       rpc: RpcDep, response: Response) -> BookingView:
    """Turn an unexpired hold into a booking."""
    command = ConfirmHold(actor=actor, booking_id=booking_id, idempotency_key=key)
    return _replayed(response, await rpc(S.MEDIATION_CONFIRM, command, BookingView))


@router.post("/bookings/{booking_id}/reschedule", responses=WRITES)
async def reschedule_booking(booking_id: UUID, body: Public[RescheduleBody], key: IdempotencyKey,
                             actor: MediatorDep, rpc: RpcDep,
                             response: Response) -> BookingView:
    """Move a booking to a new time with the same resources; its sequence goes up and every
    party's answer is asked again."""
    command = Reschedule(actor=actor, booking_id=booking_id, idempotency_key=key,
                         **body.model_dump())
    return _replayed(response, await rpc(S.MEDIATION_RESCHEDULE, command, BookingView))


@router.post("/bookings/{booking_id}/cancel", responses=WRITES)
async def cancel_booking(booking_id: UUID, body: Public[CancelBody], actor: MediatorDep,
                         rpc: RpcDep) -> BookingView:
    """Cancel a booking (parties are told the reason code, never the note) or release a
    hold."""
    command = CancelBooking(actor=actor, booking_id=booking_id, **body.model_dump())
    return await rpc(S.MEDIATION_CANCEL, command, BookingView)


@router.post("/bookings/{booking_id}/responses", responses=WRITES)
async def record_response(booking_id: UUID, body: Public[ResponseBody], actor: MediatorDep,
                          rpc: RpcDep) -> BookingView:
    """Record a party's acceptance or refusal of the booked time (for parties who have no
    account, the mediator records it)."""
    command = RecordResponse(actor=actor, booking_id=booking_id, **body.model_dump())
    return await rpc(S.MEDIATION_RESPOND, command, BookingView)


@router.post("/bookings/{booking_id}/no-shows", responses=WRITES)
async def record_no_show(booking_id: UUID, body: Public[NoShowBody], actor: MediatorDep,
                         rpc: RpcDep) -> BookingView:
    """Record that a party did not come (after the session started)."""
    command = RecordNoShow(actor=actor, booking_id=booking_id, **body.model_dump())
    return await rpc(S.MEDIATION_NO_SHOW, command, BookingView)
