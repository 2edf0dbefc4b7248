"""Bookable resources: mediators, interpreters, rooms and video links, with their availability.

Resources are configuration, not case content: the mediators of an organisation manage them,
and so may its administrators (DESIGN.md invariant 5: administrators configure). A caller sees
and changes only their own organisation's resources.
"""

from __future__ import annotations

from datetime import time
from itertools import pairwise
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_contracts.mediation import (
    CreateResource,
    Hours,
    ResourceBody,
    ResourceList,
    ResourcesQuery,
    ResourceView,
    UpdateResource,
)
from suara_contracts.rpc import Actor
from suara_kit.clock import utcnow
from suara_kit.errors import Conflict, Forbidden, NotFound, ValidationFailed
from suara_kit.ids import uuid7
from suara_mediation.models import Resource

MANAGERS = frozenset({"mediator", "admin"})
PEOPLE = frozenset({"mediator", "interpreter"})
NO_SUCH_RESOURCE = "No such resource in your organisation."


def invalid(*problems: tuple[str, str]) -> ValidationFailed:
    """A 422 naming each offending field."""
    errors = [{"field": f, "message": m} for f, m in problems]
    return ValidationFailed(f"{problems[0][0]}: {problems[0][1]}", errors=errors)


def check_zone(name: str, field: str) -> ZoneInfo:
    """The IANA zone `name`, or a 422 on `field`."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise invalid((field, "not an IANA time zone such as Asia/Kuala_Lumpur")) from None


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def _check_day(spans: list[tuple[str, Hours]]) -> list[tuple[str, str]]:
    """Problems with one day's spans: each ends after it starts, none overlaps another."""
    problems = [(f"{where}.end", "must be after start") for where, h in spans
                if _minutes(h.end) <= _minutes(h.start)]
    ordered = sorted(spans, key=lambda s: _minutes(s[1].start))
    for (_, a), (where, b) in pairwise(ordered):
        if _minutes(b.start) < _minutes(a.end):
            problems.append((f"{where}.start", f"overlaps {a.start:%H:%M}–{a.end:%H:%M}"))
    return problems


def check_availability(body: ResourceBody) -> None:
    """Zone, weekly hours and date overrides make sense; a 422 naming every field otherwise."""
    check_zone(body.timezone, "timezone")
    problems: list[tuple[str, str]] = []
    for weekday in range(1, 8):
        problems += _check_day([(f"weekly_hours[{i}]", h) for i, h in
                                enumerate(body.weekly_hours) if h.weekday == weekday])
    seen: set[Any] = set()
    for i, override in enumerate(body.date_overrides):
        if override.date in seen:
            problems.append((f"date_overrides[{i}].date", "this date is given twice"))
        seen.add(override.date)
        problems += _check_day([(f"date_overrides[{i}].hours[{j}]", h)
                                for j, h in enumerate(override.hours)])
    if body.kind == "interpreter" and not body.languages:
        problems.append(("languages", "an interpreter needs the languages they interpret"))
    if body.minimum_notice_minutes >= body.booking_horizon_days * 1440:
        problems.append(("minimum_notice_minutes", "must be shorter than the booking horizon"))
    if problems:
        raise invalid(*problems)


async def check_account(session: AsyncSession, organisation: str, actor: Actor,
                        body: ResourceBody, current: Resource | None = None) -> None:
    """The account a resource is linked to: a person's (mediator, interpreter); a mediator's
    own unless an administrator links it, or it was linked so already; one resource each."""
    account = body.account
    if account is None:
        return
    if body.kind not in PEOPLE:
        raise invalid(("account", "only a mediator or an interpreter is linked to an account"))
    kept = current is not None and current.account == account
    if account != actor.subject and "admin" not in actor.roles and not kept:
        raise Forbidden("A mediator links a resource only to their own account.")
    taken = (await session.exec(select(Resource).where(
        Resource.organisation == organisation, Resource.account == account))).first()
    if taken is not None and (current is None or taken.id != current.id):
        raise Conflict(f"This account is linked to the resource {taken.name} already: change "
                       "that one, or unlink it first.", resource_id=str(taken.id))


def _manager_org(actor: Actor) -> str:
    if not MANAGERS & set(actor.roles):
        raise Forbidden("Only a mediator or an administrator manages resources.")
    if actor.organisation is None:
        raise Forbidden("Your account belongs to no organisation: resources are kept per "
                        "organisation.")
    return actor.organisation


def _document(body: ResourceBody) -> dict[str, Any]:
    return body.model_dump(mode="json", include=set(ResourceBody.model_fields))


def view(row: Resource) -> ResourceView:
    """A resource as its managers see it."""
    return ResourceView.model_validate(
        {"resource_id": row.id, "organisation": row.organisation,
         **{name: getattr(row, name) for name in ResourceBody.model_fields}})


async def create(session: AsyncSession, command: CreateResource) -> ResourceView:
    """Add a resource to the caller's organisation."""
    organisation = _manager_org(command.actor)
    check_availability(command)
    await check_account(session, organisation, command.actor, command)
    row = Resource(id=uuid7(), organisation=organisation, updated_by=command.actor.subject,
                   updated_at=utcnow(), **_document(command))
    session.add(row)
    await session.flush()
    return view(row)


async def update(session: AsyncSession, command: UpdateResource) -> ResourceView:
    """Replace a resource's description and availability."""
    organisation = _manager_org(command.actor)
    row = await session.get(Resource, command.resource_id, with_for_update=True)
    if row is None or row.organisation != organisation:
        raise NotFound(NO_SUCH_RESOURCE)
    check_availability(command)
    await check_account(session, organisation, command.actor, command, row)
    for name, value in _document(command).items():
        setattr(row, name, value)
    row.updated_by, row.updated_at = command.actor.subject, utcnow()
    session.add(row)
    await session.flush()
    return view(row)


async def of_organisation(session: AsyncSession, query: ResourcesQuery) -> ResourceList:
    """The caller's organisation's resources (none for a caller without one)."""
    if not MANAGERS & set(query.actor.roles):
        raise Forbidden("Only a mediator or an administrator manages resources.")
    if query.actor.organisation is None:
        return ResourceList(items=[])
    rows = await session.exec(select(Resource)
                              .where(Resource.organisation == query.actor.organisation)
                              .order_by(col(Resource.kind), col(Resource.name)))
    return ResourceList(items=[view(r) for r in rows])


async def locked(session: AsyncSession, organisation: str, ids: list[UUID]) -> list[Resource]:
    """The organisation's resources with these ids, row-locked in id order (PostgreSQL).

    Every transaction that books takes its resources' locks in the same (sorted) order, so two
    bookings never wait on each other in a cycle; SQLite's single writer serialises anyway."""
    rows = list(await session.exec(
        select(Resource).where(col(Resource.id).in_(sorted(ids)))
        .order_by(col(Resource.id)).with_for_update()))
    return [r for r in rows if r.organisation == organisation]
