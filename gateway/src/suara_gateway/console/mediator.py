"""The mediators' pages under /console/mediation: their availability, a week of their sessions,
the organisation's mediations with slot proposals (and why none fits), booking from a proposal,
reschedule and cancel, joint and caucus notes, and agreements with their obligations.

Every read and change is a call to mediation-scheduling over NATS with the signed-in mediator as
the actor, the same messages the JSON API sends (`api_mediation.py`, `api_notes.py`,
`api_agreements.py`), so the service decides what is allowed; a refusal is a message on the page
with what was typed kept, never a 500. Forms post with the session's CSRF token and answer with a
redirect and a short confirmation (POST/redirect/GET)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, NoReturn, TypeVar
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError

from suara_contracts.agreements import (
    AcknowledgeOptions,
    AgreementList,
    AgreementQuery,
    AgreementView,
    CaseAgreementsQuery,
    DraftAgreement,
    RecordCompliance,
    SignAgreement,
)
from suara_contracts.mediation import (
    BookingList,
    BookingQuery,
    BookingsQuery,
    BookingView,
    BookSlot,
    CancelBooking,
    ConfirmHold,
    CreateResource,
    MediationList,
    MediationQuery,
    MediationsQuery,
    MediationView,
    PlaceHold,
    RecordResponse,
    Reschedule,
    ResourceBody,
    ResourceList,
    ResourcesQuery,
    ResourceView,
    UpdateResource,
)
from suara_contracts.notes import NoteList, NotesQuery, NoteView, WriteNote
from suara_contracts.proposals import ProposalRequest, ProposeSlots, SlotProposals
from suara_contracts.subjects import Rpc as S
from suara_gateway.console import mediator_forms as forms
from suara_gateway.console import mediator_views as views
from suara_gateway.console.i18n import N_
from suara_gateway.console.mediator_forms import AvailabilityForm, Refusal, Sent, text
from suara_gateway.console.mediator_views import Week, Words, zone_of
from suara_gateway.console.render import render
from suara_gateway.console.session import (
    ConsoleInterrupt,
    ConsoleSession,
    require_console_role,
    unavailable,
)
from suara_gateway.deps import Rpc
from suara_kit.clock import utcnow
from suara_kit.errors import NotFound, SuaraError

router = APIRouter(include_in_schema=False)
MediatorSession = Annotated[ConsoleSession, Depends(require_console_role("mediator"))]
BASE = "/console/mediation"
R = TypeVar("R", bound=BaseModel)
DURATIONS = (30, 45, 60, 90, 120, 180)
HORIZONS = (7, 14, 28, 60)
DONE = {
    "availability": N_("Your availability is saved."),
    "held": N_("The slot is held for you. Confirm it before the hold expires."),
    "booked": N_("The session is booked."),
    "confirmed": N_("The hold is confirmed: the session is booked."),
    "rescheduled": N_("The session is moved. Every party is asked again whether the new time "
                      "suits them."),
    "cancelled": N_("The session is cancelled."),
    "answered": N_("The party's answer is recorded."),
    "note": N_("The note is saved."),
    "drafted": N_("The agreement is drafted. Show the worker the outside options they keep, "
                  "then sign it."),
    "acknowledged": N_("The worker's reading of their outside options is recorded."),
    "signed": N_("The agreement is signed."),
    "compliance": N_("The compliance check is recorded."),
}
REFUSED = {
    404: (N_("Not found"), N_("There is nothing at this address in your organisation. It may "
                              "belong to another organisation, or the link is wrong.")),
    403: (N_("Not for your account"), N_("Mediation-scheduling does not let your account do "
                                         "this.")),
    410: (N_("This content is deleted"), N_("The case reached the end of its retention "
                                            "period; nobody can read it any more.")),
}
OTHER_REFUSAL = (N_("This did not work"), N_("Nothing was changed. Go back and try again."))


# ------------------------------------------------------------------------------------------
# plumbing
# ------------------------------------------------------------------------------------------
def stop(request: Request, session: ConsoleSession, exc: SuaraError) -> NoReturn:
    """Answer with a page that says why the service refused (or cannot be reached)."""
    if exc.status == 503:
        raise unavailable(request, session.language)
    if exc.status >= 500:
        raise exc
    title, said = REFUSED.get(exc.status, OTHER_REFUSAL)
    raise ConsoleInterrupt(page(request, session, "refused.html", status=exc.status,
                                title=title, text=said, detail=exc.detail))


async def call(request: Request, session: ConsoleSession, subject: str, body: BaseModel,
               reply: type[R]) -> R:
    """A service call for a page: its refusal becomes the refusal page."""
    try:
        rpc: Rpc = request.app.state.rpc
        return await rpc(subject, body, reply)
    except SuaraError as exc:
        stop(request, session, exc)


def page(request: Request, session: ConsoleSession, template: str, *, status: int = 200,
         **context: Any) -> HTMLResponse:
    """A mediators' page, with the names and formats of the staff member's language. With
    `far`, a refusal said further down is also linked from the top of the page."""
    done = request.query_params.get("done")
    return render(request, f"mediator/{template}", session.language, status=status,
                  session=session, words=Words(session.language), views=views, base=BASE,
                  notice=DONE.get(done or "") if context.get("problem") is None else None,
                  **context)


def ident(request: Request, session: ConsoleSession, value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        stop(request, session, NotFound("not an id"))


async def own_resource(request: Request, session: ConsoleSession) -> ResourceView | None:
    """The resource linked to the mediator's own account (their availability), if any."""
    listed = await call(request, session, S.MEDIATION_RESOURCES,
                        ResourcesQuery(actor=session.actor), ResourceList)
    return next((r for r in listed.items if r.account == session.principal.subject), None)


def zone_for(resource: ResourceView | None) -> str:
    return resource.timezone if resource is not None else views.UTC_ZONE


Work = Callable[[], Awaitable[Any]]
Again = Callable[[Refusal, int], Awaitable[Response]]


async def act(request: Request, session: ConsoleSession, form: str, sent: Sent, work: Work,
              again: Again) -> Response | None:
    """Do `work`; None when it was done, else the page again with the refusal."""
    try:
        await work()
    except ValidationError as exc:
        return await again(forms.refusal(form, forms.checked(exc), sent), 422)
    except SuaraError as exc:
        if exc.status in (403, 404) or exc.status >= 500:
            stop(request, session, exc)
        return await again(forms.refusal(form, exc, sent), exc.status)
    return None


def done(target: str, what: str, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"{target}?done={what}" + (f"#{anchor}" if anchor else ""),
                            status_code=303)


# ------------------------------------------------------------------------------------------
# the week
# ------------------------------------------------------------------------------------------
@router.get(BASE)
async def week(request: Request, session: MediatorSession) -> HTMLResponse:
    """A week of the mediator's sessions (or the organisation's), in their time zone."""
    mine = await own_resource(request, session)
    zone = zone_for(mine)
    today = utcnow().astimezone(zone_of(zone)).date()
    shown = Week.of(request.query_params.get("week"), today, zone)
    everyone = mine is None or request.query_params.get("all") == "1"
    listed = await call(request, session, S.MEDIATION_BOOKINGS, BookingsQuery(
        actor=session.actor, starts_from=shown.starts, starts_before=shown.ends,
        mine=not everyone), BookingList)
    days: dict[date, list[BookingView]] = {d: [] for d in shown.days}
    for booking in listed.items:
        if booking.status != "expired":
            days.setdefault(booking.starts_at.astimezone(zone_of(zone)).date(), []).append(booking)
    return page(request, session, "week.html", here="week", week=shown, days=days,
                today=today, zone=zone, mine=mine, everyone=everyone)


# ------------------------------------------------------------------------------------------
# availability
# ------------------------------------------------------------------------------------------
async def availability_page(request: Request, session: ConsoleSession,
                            mine: ResourceView | None, problem: Refusal | None = None,
                            status: int = 200) -> HTMLResponse:
    editor = (AvailabilityForm.sent(problem.values) if problem is not None
              else AvailabilityForm.of(mine, session.name, ""))  # a zone is chosen, never assumed
    return page(request, session, "availability.html", status=status, here="availability",
                mine=mine, editor=editor, problem=problem, common=views.COMMON_ZONES,
                zones=views.all_zones())


@router.get(BASE + "/availability")
async def show_availability(request: Request, session: MediatorSession) -> HTMLResponse:
    """The editor: weekly hours, the time zone, date overrides."""
    return await availability_page(request, session, await own_resource(request, session))


@router.post(BASE + "/availability")
async def save_availability(request: Request, session: MediatorSession) -> Response:
    """Save the mediator's own resource (created, linked to their account, the first time)."""
    mine = await own_resource(request, session)
    sent, fields, problem = forms.availability(await request.form())
    if problem is not None:
        return await availability_page(request, session, mine, problem, 422)
    kept = (mine.model_dump(mode="json", include=set(ResourceBody.model_fields))
            if mine is not None else {"kind": "mediator"})
    body = kept | fields | {"account": session.principal.subject}

    async def work() -> None:
        rpc: Rpc = request.app.state.rpc
        if mine is None:
            await rpc(S.MEDIATION_RESOURCE_CREATE, CreateResource(actor=session.actor, **body),
                      ResourceView)
        else:
            await rpc(S.MEDIATION_RESOURCE_UPDATE, UpdateResource(
                actor=session.actor, resource_id=mine.resource_id, **body), ResourceView)

    async def again(refused: Refusal, status: int) -> Response:
        return await availability_page(request, session, mine, refused, status)

    return (await act(request, session, "availability", sent, work, again)
            or done(BASE + "/availability", "availability"))


# ------------------------------------------------------------------------------------------
# mediations and slot proposals
# ------------------------------------------------------------------------------------------
@router.get(BASE + "/mediations")
async def mediations(request: Request, session: MediatorSession) -> HTMLResponse:
    """The organisation's mediations, newest first."""
    listed = await call(request, session, S.MEDIATION_LIST,
                        MediationsQuery(actor=session.actor), MediationList)
    return page(request, session, "mediations.html", here="mediations", items=listed.items)


async def mediation_of(request: Request, session: ConsoleSession, mediation_id: UUID
                       ) -> MediationView:
    return await call(request, session, S.MEDIATION_GET,
                      MediationQuery(actor=session.actor, mediation_id=mediation_id),
                      MediationView)


@router.get(BASE + "/mediations/{mediation_id}")
async def mediation(request: Request, mediation_id: str, session: MediatorSession
                    ) -> HTMLResponse:
    """A mediation: its parties and their constraints, its sessions, a way to find slots."""
    found, mine = await asyncio.gather(
        mediation_of(request, session, ident(request, session, mediation_id)),
        own_resource(request, session))
    return page(request, session, "mediation.html", here="mediations", mediation=found,
                zone=zone_for(mine), durations=DURATIONS, horizons=HORIZONS,
                ask=ProposalRequest(duration_minutes=60))


def proposal_request(request: Request) -> tuple[ProposalRequest | None, Refusal | None]:
    params = request.query_params
    values = {"duration_minutes": params.get("duration_minutes") or "60",
              "horizon_days": params.get("horizon_days") or "14"}
    sent = Sent(values, {("duration_minutes",): "duration_minutes",
                         ("horizon_days",): "horizon_days"})
    try:
        return ProposalRequest(**values), None
    except ValidationError as exc:
        return None, forms.refusal("find", forms.checked(exc), sent)


async def slots_page(request: Request, session: ConsoleSession, mediation_id: UUID,
                     ask: ProposalRequest | None, problem: Refusal | None = None,
                     status: int = 200) -> HTMLResponse:
    found, mine, resources = await asyncio.gather(
        mediation_of(request, session, mediation_id), own_resource(request, session),
        call(request, session, S.MEDIATION_RESOURCES, ResourcesQuery(actor=session.actor),
             ResourceList))
    proposals = None
    if ask is not None:
        proposals = await call(request, session, S.MEDIATION_PROPOSE_SLOTS, ProposeSlots(
            actor=session.actor, mediation_id=mediation_id, **ask.model_dump()), SlotProposals)
    names = {r.resource_id: r.name for r in resources.items}
    return page(request, session, "slots.html", status=status, here="mediations",
                mediation=found, zone=zone_for(mine), proposals=proposals, names=names,
                ask=ask, problem=problem, durations=DURATIONS, horizons=HORIZONS,
                key=forms.new_key())


@router.get(BASE + "/mediations/{mediation_id}/slots")
async def slots(request: Request, mediation_id: str, session: MediatorSession) -> HTMLResponse:
    """Slot proposals in the mediator's time and each party's, or why none fits."""
    ask, problem = proposal_request(request)
    return await slots_page(request, session, ident(request, session, mediation_id), ask,
                            problem, 422 if problem else 200)


@router.post(BASE + "/mediations/{mediation_id}/slots")
async def take_slot(request: Request, mediation_id: str, session: MediatorSession) -> Response:
    """Hold or book a proposed slot with the resources the proposal named."""
    mid, form = ident(request, session, mediation_id), await request.form()
    holding = text(form, "action") == "hold"
    values = {"starts_at": text(form, "starts_at"), "ends_at": text(form, "ends_at"),
              "resources": [r for r in form.getlist("resources") if isinstance(r, str)]}
    sent = Sent(values)
    booked: list[BookingView] = []

    async def work() -> None:
        rpc: Rpc = request.app.state.rpc
        shared = {"actor": session.actor, "mediation_id": mid,
                  "idempotency_key": forms.key_of(form), **values}
        if holding:
            booked.append(await rpc(S.MEDIATION_HOLD, PlaceHold(**shared), BookingView))
        else:
            booked.append(await rpc(S.MEDIATION_BOOK, BookSlot(**shared), BookingView))

    async def again(refused: Refusal, status: int) -> Response:
        ask = ProposalRequest(duration_minutes=_int(form, "duration_minutes", 60),
                              horizon_days=_int(form, "horizon_days", 14))
        return await slots_page(request, session, mid, ask, refused, status)

    refused = await act(request, session, "slot", sent, work, again)
    return refused or done(f"{BASE}/bookings/{booked[0].booking_id}",
                           "held" if holding else "booked")


def _int(form: Any, name: str, default: int) -> int:
    try:
        return int(text(form, name))
    except ValueError:
        return default


# ------------------------------------------------------------------------------------------
# a session: confirm, reschedule, cancel
# ------------------------------------------------------------------------------------------
async def booking_page(request: Request, session: ConsoleSession, booking_id: UUID,
                       problem: Refusal | None = None, status: int = 200) -> HTMLResponse:
    booking, mine = await asyncio.gather(
        call(request, session, S.MEDIATION_BOOKING_GET,
             BookingQuery(actor=session.actor, booking_id=booking_id), BookingView),
        own_resource(request, session))
    found = await mediation_of(request, session, booking.mediation_id)
    zone = booking.timezone
    start = booking.starts_at.astimezone(zone_of(zone))
    minutes = int((booking.ends_at - booking.starts_at).total_seconds() // 60)
    return page(request, session, "booking.html", status=status, here="week", booking=booking,
                mediation=found, zone=zone, own_zone=zone_for(mine), problem=problem, far=True,
                start_date=start.date().isoformat(), start_time=f"{start:%H:%M}",
                minutes=minutes, key=forms.new_key(), reasons=views.CANCEL_REASONS,
                party_zones={p.party_id: p.timezone for p in found.parties},
                shown=booking_forms(booking))


def booking_forms(booking: BookingView) -> set[str]:
    """The forms a session's page offers now (a refusal of another is said at the top)."""
    return {"held": {"confirm", "cancel"}, "booked": {"respond", "reschedule", "cancel"}}.get(
        booking.status, set())


@router.get(BASE + "/bookings/{booking_id}")
async def booking(request: Request, booking_id: str, session: MediatorSession) -> HTMLResponse:
    """A hold or booking: its time for everyone, each party's answer, what can be done."""
    return await booking_page(request, session, ident(request, session, booking_id))


async def on_booking(request: Request, session: ConsoleSession, booking_id: UUID, form: str,
                     sent: Sent, work: Work, what: str) -> Response:
    async def again(refused: Refusal, status: int) -> Response:
        return await booking_page(request, session, booking_id, refused, status)

    return (await act(request, session, form, sent, work, again)
            or done(f"{BASE}/bookings/{booking_id}", what))


@router.post(BASE + "/bookings/{booking_id}/confirm")
async def confirm(request: Request, booking_id: str, session: MediatorSession) -> Response:
    """Turn the hold into a booking."""
    bid, form = ident(request, session, booking_id), await request.form()

    async def work() -> None:
        command = ConfirmHold(actor=session.actor, booking_id=bid,
                              idempotency_key=forms.key_of(form))
        await request.app.state.rpc(S.MEDIATION_CONFIRM, command, BookingView)

    return await on_booking(request, session, bid, "confirm", Sent({}), work, "confirmed")


@router.post(BASE + "/bookings/{booking_id}/reschedule")
async def reschedule(request: Request, booking_id: str, session: MediatorSession) -> Response:
    """Move the booking: a new start on the session's own clock, the same or a new length."""
    bid, form = ident(request, session, booking_id), await request.form()
    values = {"date": text(form, "date"), "start": text(form, "start"),
              "minutes": text(form, "minutes"), "zone": text(form, "zone")}
    sent = Sent(values, {("starts_at",): "rs-date", ("ends_at",): "rs-minutes"})

    async def work() -> None:
        starts_at = _local_moment(values["date"], values["start"], values["zone"])
        ends_at = (starts_at + timedelta(minutes=_minutes(values["minutes"]))
                   if isinstance(starts_at, datetime) else starts_at)
        command = Reschedule(actor=session.actor, booking_id=bid,
                             idempotency_key=forms.key_of(form), starts_at=starts_at,
                             ends_at=ends_at)
        await request.app.state.rpc(S.MEDIATION_RESCHEDULE, command, BookingView)

    return await on_booking(request, session, bid, "reschedule", sent, work, "rescheduled")


def _local_moment(day: str, clock: str, zone: str) -> datetime | str:
    """A local date and time in `zone` as an aware moment; the text itself when it is not
    one (the contract then refuses it, naming the field)."""
    try:
        return datetime.combine(date.fromisoformat(day), time.fromisoformat(clock),
                                tzinfo=zone_of(zone))
    except ValueError:
        return f"{day}T{clock}"


def _minutes(value: str) -> int:
    try:
        return max(int(value), 0)
    except ValueError:
        return 0


@router.post(BASE + "/bookings/{booking_id}/responses")
async def respond(request: Request, booking_id: str, session: MediatorSession) -> Response:
    """Record a party's answer to the booked time (parties have no account: they tell the
    mediator)."""
    bid, form = ident(request, session, booking_id), await request.form()
    values = {"party_id": text(form, "party_id"), "response": text(form, "response")}

    async def work() -> None:
        command = RecordResponse(actor=session.actor, booking_id=bid, **values)
        await request.app.state.rpc(S.MEDIATION_RESPOND, command, BookingView)

    return await on_booking(request, session, bid, "respond", Sent(values), work, "answered")


@router.post(BASE + "/bookings/{booking_id}/cancel")
async def cancel(request: Request, booking_id: str, session: MediatorSession) -> Response:
    """Cancel the booking, or release the hold (parties are told the reason, never the note)."""
    bid, form = ident(request, session, booking_id), await request.form()
    values = {"reason": text(form, "reason"), "note": text(form, "note")}
    sent = Sent(values, {("reason",): "cancel-reason", ("note",): "cancel-note"})

    async def work() -> None:
        command = CancelBooking(actor=session.actor, booking_id=bid, **values)
        await request.app.state.rpc(S.MEDIATION_CANCEL, command, BookingView)

    return await on_booking(request, session, bid, "cancel", sent, work, "cancelled")


# ------------------------------------------------------------------------------------------
# joint and caucus notes
# ------------------------------------------------------------------------------------------
async def notes_page(request: Request, session: ConsoleSession, mediation_id: UUID,
                     problem: Refusal | None = None, status: int = 200) -> HTMLResponse:
    params = request.query_params
    for_party = _uuid(params.get("for_party"))
    found = await mediation_of(request, session, mediation_id)
    notes = await call(request, session, S.MEDIATION_NOTES, NotesQuery(
        actor=session.actor, mediation_id=mediation_id, for_party=for_party), NoteList)
    about = _uuid(params.get("session"))
    shown: list[NoteView] = [n for n in notes.items if about is None or n.booking_id == about]
    return page(request, session, "notes.html", status=status, here="mediations",
                mediation=found, notes=shown, for_party=for_party, about=about,
                parties={p.party_id: p for p in found.parties},
                sessions={b.booking_id: b for b in found.bookings}, problem=problem, far=True)


def _uuid(value: str | None) -> UUID | None:
    try:
        return UUID(value) if value else None
    except ValueError:
        return None


@router.get(BASE + "/mediations/{mediation_id}/notes")
async def notes(request: Request, mediation_id: str, session: MediatorSession) -> HTMLResponse:
    """A mediation's notes: every one, or what one side may be shown."""
    return await notes_page(request, session, ident(request, session, mediation_id))


@router.post(BASE + "/mediations/{mediation_id}/notes")
async def write_note(request: Request, mediation_id: str, session: MediatorSession
                     ) -> Response:
    """Write a joint note, or a caucus note naming the side it was held with."""
    mid, form = ident(request, session, mediation_id), await request.form()
    values = {"visibility": text(form, "visibility"), "party_id": text(form, "party_id"),
              "booking_id": text(form, "booking_id"), "text": text(form, "text")}
    sent = Sent(values, {("visibility",): "note-joint", ("party_id",): "note-party",
                         ("booking_id",): "note-session", ("text",): "note-text"})

    async def work() -> None:
        command = WriteNote(actor=session.actor, mediation_id=mid,
                            visibility=values["visibility"], text=values["text"],
                            party_id=values["party_id"] or None,
                            booking_id=values["booking_id"] or None)
        await request.app.state.rpc(S.MEDIATION_NOTE_WRITE, command, NoteView)

    async def again(refused: Refusal, status: int) -> Response:
        return await notes_page(request, session, mid, refused, status)

    return (await act(request, session, "note", sent, work, again)
            or done(f"{BASE}/mediations/{mid}/notes", "note", "notes"))


# ------------------------------------------------------------------------------------------
# agreements
# ------------------------------------------------------------------------------------------
async def agreements_page(request: Request, session: ConsoleSession, case_id: UUID,
                          problem: Refusal | None = None, status: int = 200) -> HTMLResponse:
    listed = await call(request, session, S.MEDIATION_AGREEMENTS_OF_CASE,
                        CaseAgreementsQuery(actor=session.actor, case_id=case_id), AgreementList)
    values = problem.values if problem is not None else None
    return page(request, session, "agreements.html", status=status, here="mediations",
                case_id=case_id, items=listed.items, problem=problem, far=True,
                rows=forms.obligation_rows(values), due=utcnow().date() + timedelta(days=30))


@router.get(BASE + "/cases/{case_id}/agreements")
async def agreements(request: Request, case_id: str, session: MediatorSession) -> HTMLResponse:
    """A case's agreements, and a form to record a new one."""
    return await agreements_page(request, session, ident(request, session, case_id))


@router.post(BASE + "/cases/{case_id}/agreements")
async def draft_agreement(request: Request, case_id: str, session: MediatorSession
                          ) -> Response:
    """Record the agreement the parties reached: typed obligations with due dates."""
    cid = ident(request, session, case_id)
    sent, fields = forms.agreement(await request.form())
    drafted: list[AgreementView] = []

    async def work() -> None:
        command = DraftAgreement(actor=session.actor, case_id=cid, **fields)
        drafted.append(await request.app.state.rpc(S.MEDIATION_AGREEMENT_DRAFT, command,
                                                   AgreementView))

    async def again(refused: Refusal, status: int) -> Response:
        return await agreements_page(request, session, cid, refused, status)

    refused = await act(request, session, "agreement", sent, work, again)
    return refused or done(f"{BASE}/agreements/{drafted[0].agreement_id}", "drafted")


async def agreement_page(request: Request, session: ConsoleSession, agreement_id: UUID,
                         problem: Refusal | None = None, status: int = 200) -> HTMLResponse:
    found = await call(request, session, S.MEDIATION_AGREEMENT_GET,
                       AgreementQuery(actor=session.actor, agreement_id=agreement_id),
                       AgreementView)
    return page(request, session, "agreement.html", status=status, here="mediations",
                agreement=found, problem=problem, far=True, lang_tag=views.lang_tag,
                shown=agreement_forms(found))


def agreement_forms(found: AgreementView) -> set[str]:
    """The forms an agreement's page offers now (a refusal of another is said at the top)."""
    if found.status == "draft":
        return {"sign"} | (set() if found.options_acknowledged_on else {"acknowledge"})
    return {f"compliance-{o.obligation_id}" for o in found.obligations if o.status != "met"}


@router.get(BASE + "/agreements/{agreement_id}")
async def agreement(request: Request, agreement_id: str, session: MediatorSession
                    ) -> HTMLResponse:
    """An agreement: its obligations and their compliance, the outside options, signing."""
    return await agreement_page(request, session, ident(request, session, agreement_id))


async def on_agreement(request: Request, session: ConsoleSession, agreement_id: UUID,
                       form: str, sent: Sent, command: Callable[[], BaseModel], subject: str,
                       what: str) -> Response:
    async def work() -> None:
        await request.app.state.rpc(subject, command(), AgreementView)

    async def again(refused: Refusal, status: int) -> Response:
        return await agreement_page(request, session, agreement_id, refused, status)

    return (await act(request, session, form, sent, work, again)
            or done(f"{BASE}/agreements/{agreement_id}", what))


@router.post(BASE + "/agreements/{agreement_id}/outside-options")
async def acknowledge(request: Request, agreement_id: str, session: MediatorSession
                      ) -> Response:
    """The worker read, in their language, the outside options they keep."""
    aid, form = ident(request, session, agreement_id), await request.form()
    values = {"language": text(form, "language"), "text_version": text(form, "text_version"),
              "acknowledged_by": text(form, "acknowledged_by")}
    sent = Sent(values, {("acknowledged_by",): "ack-worker", ("language",): "ack-worker"})
    return await on_agreement(
        request, session, aid, "acknowledge", sent,
        lambda: AcknowledgeOptions(actor=session.actor, agreement_id=aid, **values),
        S.MEDIATION_AGREEMENT_ACKNOWLEDGE, "acknowledged")


@router.post(BASE + "/agreements/{agreement_id}/sign")
async def sign(request: Request, agreement_id: str, session: MediatorSession) -> Response:
    """Sign the draft (mediation refuses until the outside options were acknowledged)."""
    aid = ident(request, session, agreement_id)
    return await on_agreement(
        request, session, aid, "sign", Sent({}),
        lambda: SignAgreement(actor=session.actor, agreement_id=aid),
        S.MEDIATION_AGREEMENT_SIGN, "signed")


@router.post(BASE + "/agreements/{agreement_id}/obligations/{obligation_id}/compliance")
async def compliance(request: Request, agreement_id: str, obligation_id: str,
                     session: MediatorSession) -> Response:
    """Record an obligation met or missed (a missed one reopens the case)."""
    aid, oid = ident(request, session, agreement_id), ident(request, session, obligation_id)
    form = await request.form()
    values = {"met": text(form, "met"), "note": text(form, "note")}
    sent = Sent(values, {("met",): f"c-{oid}-met", ("note",): f"c-{oid}-note"})
    return await on_agreement(
        request, session, aid, f"compliance-{oid}", sent,
        lambda: RecordCompliance(actor=session.actor, agreement_id=aid, obligation_id=oid,
                                 met=values["met"], note=values["note"]),
        S.MEDIATION_AGREEMENT_COMPLIANCE, "compliance")
