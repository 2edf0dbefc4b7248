"""Mediations for a case and their parties: who takes part (by role and alias), in which
languages, and with which constraints (time zone, quiet hours, rest days)."""

from __future__ import annotations

from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_contracts.mediation import (
    BookingView,
    CaseMediationsQuery,
    CreateMediation,
    Hours,
    MediationList,
    MediationsQuery,
    MediationView,
    PartyView,
)
from suara_contracts.rpc import Actor
from suara_kit.clock import today
from suara_kit.errors import Forbidden, NotFound
from suara_kit.ids import uuid7
from suara_mediation import repository
from suara_mediation.models import KnownCase, Mediation, MediationParty
from suara_mediation.resources import check_zone, invalid
from suara_mediation.service import MEDIATOR, NO_SUCH_CASE

NO_SUCH_MEDIATION = "No such mediation in your organisation."
WORKER_SIDE = frozenset({"worker", "representative"})


def require_mediator(actor: Actor) -> str:
    """The mediator's organisation; 403 for anyone else."""
    if MEDIATOR not in actor.roles or actor.organisation is None:
        raise Forbidden("Only a mediator of the case's organisation schedules mediations.")
    return actor.organisation


async def case_of(session: AsyncSession, actor: Actor, case_id: UUID) -> KnownCase:
    """A known case of the mediator's organisation; another organisation's is a 404 too."""
    organisation = require_mediator(actor)
    case = await repository.case_by_id(session, case_id)
    if case is None or case.organisation != organisation:
        raise NotFound(NO_SUCH_CASE)
    return case


async def mediation_of(session: AsyncSession, actor: Actor, mediation_id: UUID) -> Mediation:
    """A mediation of the mediator's organisation (404 otherwise)."""
    organisation = require_mediator(actor)
    row = await session.get(Mediation, mediation_id)
    if row is None or row.organisation != organisation:
        raise NotFound(NO_SUCH_MEDIATION)
    return row


def _check(command: CreateMediation) -> None:
    problems: list[tuple[str, str]] = []
    for i, party in enumerate(command.parties):
        check_zone(party.timezone, f"parties[{i}].timezone")
        hours = party.quiet_hours
        if hours is not None and hours.start == hours.end:
            problems.append((f"parties[{i}].quiet_hours", "start and end must differ"))
    if not WORKER_SIDE & {p.role for p in command.parties}:
        problems.append(("parties", "a mediation needs the worker or a representative"))
    interpreted = {p.language for p in command.parties if p.role == "interpreter"}
    for language in command.languages:
        if language not in interpreted:
            problems.append(("languages", f"no interpreter party for {language!r}"))
    if problems:
        raise invalid(*problems)


async def parties_of(session: AsyncSession, mediation_id: UUID) -> list[MediationParty]:
    """A mediation's parties, in the order given."""
    return list(await session.exec(
        select(MediationParty).where(MediationParty.mediation_id == mediation_id)
        .order_by(col(MediationParty.position))))


def party_view(row: MediationParty) -> PartyView:
    quiet = (Hours(start=row.quiet_start, end=row.quiet_end)
             if row.quiet_start is not None and row.quiet_end is not None else None)
    return PartyView(party_id=row.id, role=row.role, alias=row.alias,  # type: ignore[arg-type]
                     timezone=row.timezone, quiet_hours=quiet, rest_days=row.rest_days,
                     language=row.language)


def view(row: Mediation, parties: list[MediationParty],
         bookings: list[BookingView] | None = None) -> MediationView:
    return MediationView(mediation_id=row.id, case_id=row.case_id, organisation=row.organisation,
                         mode=row.mode, languages=row.languages,  # type: ignore[arg-type]
                         parties=[party_view(p) for p in parties], created_on=row.created_on,
                         bookings=bookings or [])


async def create(session: AsyncSession, command: CreateMediation) -> MediationView:
    """Start a mediation for a case of the mediator's organisation."""
    case = await case_of(session, command.actor, command.case_id)
    _check(command)
    row = Mediation(id=uuid7(), case_id=case.case_id, organisation=case.organisation,
                    mode=command.mode, languages=command.languages,
                    created_by=command.actor.subject, created_on=today())
    session.add(row)
    parties = [MediationParty(
        id=uuid7(), mediation_id=row.id, position=i, role=p.role, alias=p.alias.strip(),
        timezone=p.timezone, quiet_start=p.quiet_hours.start if p.quiet_hours else None,
        quiet_end=p.quiet_hours.end if p.quiet_hours else None, rest_days=p.rest_days,
        language=p.language) for i, p in enumerate(command.parties)]
    await session.flush()
    session.add_all(parties)
    await session.flush()
    return view(row, parties)


async def of_case(session: AsyncSession, query: CaseMediationsQuery) -> MediationList:
    """A case's mediations, oldest first, without their bookings."""
    case = await case_of(session, query.actor, query.case_id)
    rows = await session.exec(select(Mediation).where(Mediation.case_id == case.case_id)
                              .order_by(col(Mediation.id)))
    return MediationList(items=[view(r, await parties_of(session, r.id)) for r in rows])



async def of_organisation(session: AsyncSession, query: MediationsQuery) -> MediationList:
    """The mediator's organisation's mediations, newest first, without their bookings."""
    organisation = require_mediator(query.actor)
    rows = await session.exec(select(Mediation).where(Mediation.organisation == organisation)
                              .order_by(col(Mediation.id).desc()).limit(query.limit))
    return MediationList(items=[view(r, await parties_of(session, r.id)) for r in rows])
