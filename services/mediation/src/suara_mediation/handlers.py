"""Mediation-scheduling's NATS endpoints and event consumers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_contracts.ballots import BallotQuery, CastVote, CreateBallot
from suara_contracts.events import CaseOpened, CaseShredded
from suara_contracts.invites import InviteFile, InviteQuery
from suara_contracts.mediation import (
    BookingQuery,
    BookingsQuery,
    BookingView,
    BookSlot,
    CancelBooking,
    CaseMediationsQuery,
    ConfirmHold,
    CreateMediation,
    CreateResource,
    MediationQuery,
    MediationsQuery,
    PlaceHold,
    RecordNoShow,
    RecordResponse,
    Reschedule,
    ResourcesQuery,
    UpdateResource,
)
from suara_contracts.notes import NotesQuery, WriteNote
from suara_contracts.proposals import ProposeSlots, SlotProposals
from suara_contracts.rpc import ProposeSession, SessionView
from suara_contracts.subjects import Evt, Rpc
from suara_kit.service import PARALLEL, ServiceApp
from suara_mediation import (
    agreements,
    audit,
    ballots,
    bookings,
    content,
    invites,
    mediations,
    notes,
    proposals,
    resources,
    service,
)
from suara_mediation.models import Inbox, Outbox, Replay
from suara_mediation.settings import MediationSettings

MIGRATIONS = Path(__file__).parent / "migrations"
Q = TypeVar("Q", bound=BaseModel)
R = TypeVar("R", bound=BaseModel)


def build(settings: MediationSettings | None = None) -> ServiceApp:
    """The mediation-scheduling service, wired."""
    settings = settings or MediationSettings()
    app = ServiceApp("mediation-scheduling", settings, migrations=MIGRATIONS, outbox=Outbox,
                     inbox=Inbox, replays=Replay, rpc_prefix=Rpc.MEDIATION)
    content.use_keys(app.db, settings)

    async def propose(request: ProposeSession) -> SessionView:
        async with app.transaction() as session:
            row = await service.propose(session, request, app.emit)
        return service.view_of(row)

    async def on_case_opened(session: AsyncSession, _: UUID, event: CaseOpened) -> None:
        await service.case_opened(session, event)

    def serve(subject: str, model: type[Q],
              rule: Callable[[AsyncSession, Q], Awaitable[R]]) -> None:
        async def handle(request: Q) -> R:
            # A request with an Idempotency-Key that raced its own twin (PostgreSQL: the key's
            # primary key) lost; run once more, and it is answered from the twin's record.
            try:
                async with app.transaction() as session:
                    return await rule(session, request)
            except IntegrityError:
                async with app.transaction() as session:
                    return await rule(session, request)

        app.rpc(subject, model, handle)

    def emitting(rule: Callable[..., Awaitable[R]]) -> Callable[[AsyncSession, Q], Awaitable[R]]:
        return lambda session, request: rule(session, request, app.emit)

    async def hold(session: AsyncSession, request: PlaceHold) -> BookingView:
        return await bookings.hold(session, request, app.emit, settings.hold_minutes)

    app.rpc(Rpc.MEDIATION_PROPOSE, ProposeSession, propose)
    serve(Rpc.MEDIATION_RESOURCES, ResourcesQuery, resources.of_organisation)
    serve(Rpc.MEDIATION_RESOURCE_CREATE, CreateResource, resources.create)
    serve(Rpc.MEDIATION_RESOURCE_UPDATE, UpdateResource, resources.update)
    serve(Rpc.MEDIATION_CREATE, CreateMediation, mediations.create)
    serve(Rpc.MEDIATION_OF_CASE, CaseMediationsQuery, mediations.of_case)
    serve(Rpc.MEDIATION_GET, MediationQuery, bookings.mediation_detail)
    serve(Rpc.MEDIATION_BOOKING_GET, BookingQuery, bookings.get)
    serve(Rpc.MEDIATION_BOOKINGS, BookingsQuery, bookings.in_window)
    serve(Rpc.MEDIATION_LIST, MediationsQuery, mediations.of_organisation)
    serve(Rpc.MEDIATION_HOLD, PlaceHold, hold)
    serve(Rpc.MEDIATION_BOOK, BookSlot, emitting(bookings.book))
    serve(Rpc.MEDIATION_CONFIRM, ConfirmHold, emitting(bookings.confirm))
    serve(Rpc.MEDIATION_RESCHEDULE, Reschedule, emitting(bookings.reschedule))
    serve(Rpc.MEDIATION_CANCEL, CancelBooking, emitting(bookings.cancel))
    serve(Rpc.MEDIATION_RESPOND, RecordResponse, emitting(bookings.respond))
    serve(Rpc.MEDIATION_NO_SHOW, RecordNoShow, emitting(bookings.no_show))
    app.on_event(Evt.CASE_OPENED, CaseOpened, "mediation-case-opened", on_case_opened,
                 parallel=PARALLEL, batch=True)
    # session notes (sealed per case, shredded with it) and the parties' vote
    serve(Rpc.MEDIATION_NOTE_WRITE, WriteNote, notes.write)
    serve(Rpc.MEDIATION_NOTES, NotesQuery, notes.read)
    serve(Rpc.MEDIATION_BALLOT_CREATE, CreateBallot, ballots.create)
    serve(Rpc.MEDIATION_BALLOT_VOTE, CastVote, ballots.vote)
    serve(Rpc.MEDIATION_BALLOT_GET, BallotQuery, ballots.get)
    serve(Rpc.MEDIATION_BALLOT_CLOSE, BallotQuery, ballots.close)

    async def on_case_shredded(session: AsyncSession, _: UUID, event: CaseShredded) -> None:
        await content.case_shredded(session, event)

    app.on_event(Evt.CASE_SHREDDED, CaseShredded, "mediation-case-shredded", on_case_shredded)
    async def propose_slots(command: ProposeSlots) -> SlotProposals:
        async with app.db.transaction() as session:
            return await proposals.propose(session, command)

    app.rpc(Rpc.MEDIATION_PROPOSE_SLOTS, ProposeSlots, propose_slots)

    async def invite(query: InviteQuery) -> InviteFile:
        async with app.db.transaction() as session:
            return await invites.invite(session, query)

    app.rpc(Rpc.MEDIATION_INVITE, InviteQuery, invite)
    # -- mediated agreements and their obligations: rules in agreements.py -----------------
    for subject, body, handler in agreements.endpoints(app):
        app.rpc(subject, body, handler)

    async def mark_overdue() -> None:
        """Unkept obligations become missed once past due (each replica runs this; rows are
        locked and skipped, so an obligation is marked, and escalated, once)."""
        async with app.transaction() as session:
            await agreements.mark_overdue(session, app.emit)

    app.every(settings.obligation_scan_seconds, "mediation-obligations", mark_overdue)

    async def chain_audit() -> None:
        await audit.LOG.chain_pending(app.db)

    app.every(1.0, "mediation-audit-chain", chain_audit)  # tamper-evident within ~1 s
    # -- end of agreements -------------------------------------------------------------------
    return app
