"""The employer liaison's redacted case summaries (DESIGN.md: an employer liaison "sees redacted
case summaries and the sessions they are party to" and "never sees the reporter's identity or
identifying answers").

There is no model of mediation parties yet, so a liaison sees a case only when a case handler
who may work on it shares it with the liaison's account, writing a summary for the employer
side. The liaison finds the case under a random alias (one per share: not the case id, not the
reporter's reference) with what is safe to show: the organisation, status, coding (issues,
corridor, respondent), the month the report arrived, the handler's summary and the mediation
sessions on the case. Never answers, messages, reference, case id, handler or risk reasons.

The summary is sealed with the case's data key like every other text about the case: when
retention shreds the case, the summary goes with it, and the liaison (and the handlers) still
see the coded fields and the sessions, with `summary` null and `content_deleted_on` set.

Every read and write is audited; a liaison's lookup of an alias that is not (or no longer)
theirs is a 404, audited as refused, so nobody learns whether the alias exists.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from pydantic import BaseModel
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_cases import audit, content, repository
from suara_cases.liaison_models import LiaisonShare
from suara_cases.models import Case, CaseSession
from suara_cases.service import case_for
from suara_contracts.liaison import (
    LIAISON_ROLE,
    LiaisonCase,
    LiaisonCaseList,
    LiaisonCaseQuery,
    LiaisonCasesQuery,
    LiaisonSession,
    LiaisonShareList,
    LiaisonSharesQuery,
    LiaisonShareView,
    RevokeLiaisonShare,
    ShareWithLiaison,
)
from suara_contracts.rpc import Actor
from suara_contracts.subjects import Rpc
from suara_kit.clock import today
from suara_kit.errors import Conflict, Forbidden, NotFound, RefusedAfterCommit, ValidationFailed
from suara_kit.ids import uuid7
from suara_kit.service import ServiceApp

ALIAS_PREFIX = "LS-"
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
NOT_YOURS = "No case shared with you has this alias."


def new_alias() -> str:
    """A liaison's name for one share, e.g. `LS-K7M2-9QXD`: random, unrelated to the case."""
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"{ALIAS_PREFIX}{chars[:4]}-{chars[4:]}"


def require_liaison(actor: Actor) -> str:
    """The liaison's account; 403 for anyone who is not an employer liaison."""
    if LIAISON_ROLE not in actor.roles:
        raise Forbidden(f"Only an employer liaison ({LIAISON_ROLE}) can do this.")
    return actor.subject


# the summary, sealed with the case's key
def _context(share: LiaisonShare) -> str:
    return f"liaison-share:{share.id}"


async def _seal(session: AsyncSession, case: Case, share: LiaisonShare, summary: str) -> None:
    key = await content.key_of(session, case)  # 410 once the case was shredded
    share.sealed_summary = key.seal_text(summary, _context(share))


async def summary_of(session: AsyncSession, case: Case, share: LiaisonShare) -> str | None:
    """The handler's summary; None once retention deleted the case's key."""
    if case.shredded_on is not None:
        return None
    key = await content.key_of(session, case)
    return key.open_text(share.sealed_summary, _context(share))


# queries
async def shares_of(session: AsyncSession, case_id: UUID) -> list[LiaisonShare]:
    """A case's shares, revoked ones too, newest first (ids are time-ordered uuid7)."""
    stmt = (select(LiaisonShare).where(LiaisonShare.case_id == case_id)
            .order_by(col(LiaisonShare.id).desc()))
    return list(await session.exec(stmt))


async def active_share(session: AsyncSession, case_id: UUID, liaison: str) -> LiaisonShare | None:
    stmt = select(LiaisonShare).where(LiaisonShare.case_id == case_id,
                                      LiaisonShare.liaison == liaison,
                                      col(LiaisonShare.revoked_on).is_(None))
    return (await session.exec(stmt)).first()


async def shared_with(session: AsyncSession, liaison: str) -> list[LiaisonShare]:
    """The active shares made to a liaison, newest first."""
    stmt = (select(LiaisonShare).where(LiaisonShare.liaison == liaison,
                                       col(LiaisonShare.revoked_on).is_(None))
            .order_by(col(LiaisonShare.id).desc()))
    return list(await session.exec(stmt))


async def _lock_case(session: AsyncSession, case_id: UUID) -> None:
    """Serialise shares of one case on PostgreSQL (two handlers may share at once)."""
    await session.exec(select(Case.id).where(Case.id == case_id).with_for_update())


# views
def share_view(share: LiaisonShare, summary: str | None) -> LiaisonShareView:
    return LiaisonShareView(share_id=share.id, case_id=share.case_id, liaison=share.liaison,
                            alias=share.alias, summary=summary, shared_by=share.shared_by,
                            shared_on=share.shared_on, revoked_by=share.revoked_by,
                            revoked_on=share.revoked_on)


def liaison_view(case: Case, share: LiaisonShare, summary: str | None,
                 sessions: list[CaseSession]) -> LiaisonCase:
    """A case as the liaison may see it: built field by field from what is safe to show, so
    nothing new on the case reaches the liaison unless it is added here."""
    return LiaisonCase(
        alias=share.alias, organisation=case.organisation, status=case.status,
        received_month=case.received_on.strftime("%Y-%m"),
        coded_issues=[str(i) for i in case.coded_issues],
        corridor_origin=case.corridor_origin, corridor_destination=case.corridor_destination,
        respondent=case.respondent, respondent_kind=case.respondent_kind,
        summary=summary, content_deleted_on=case.shredded_on,
        sessions=[LiaisonSession(starts_at=s.starts_at, ends_at=s.ends_at, timezone=s.timezone,
                                 mode=s.mode) for s in sessions if not s.cancelled])


# the handler's side
async def share(session: AsyncSession, command: ShareWithLiaison) -> LiaisonShareView:
    """Share a case with an employer liaison, under a new alias, with the handler's summary."""
    actor = command.actor
    case = await case_for(session, actor, command.case_id, write=True)
    if command.liaison == actor.subject:
        raise ValidationFailed("liaison: that is your own account; name the employer "
                               "liaison's account (the `sub` of their token).")
    if case.reference and case.reference.casefold() in command.summary.casefold():
        raise ValidationFailed("summary: it quotes the case's reference, which only the "
                               "reporter and your organisation may know; leave it out.")
    await _lock_case(session, case.id)
    existing = await active_share(session, case.id, command.liaison)
    if existing is not None:
        raise Conflict(f"This case is already shared with that liaison (as {existing.alias}, "
                       f"since {existing.shared_on.isoformat()}); revoke that share to write a "
                       "new summary.", share_id=str(existing.id))
    row = LiaisonShare(id=uuid7(), case_id=case.id, liaison=command.liaison,
                       alias=new_alias(), sealed_summary=b"", shared_by=actor.subject[:200],
                       shared_on=today())
    await _seal(session, case, row, command.summary)
    session.add(row)
    await audit.record(session, actor.subject, "liaison-share", case.id)
    return share_view(row, command.summary)


async def shares(session: AsyncSession, query: LiaisonSharesQuery) -> LiaisonShareList:
    """A case's shares with employer liaisons, revoked ones too."""
    case = await case_for(session, query.actor, query.case_id)
    rows = await shares_of(session, case.id)
    await audit.record(session, query.actor.subject, "liaison-shares-read", case.id)
    return LiaisonShareList(items=[share_view(r, await summary_of(session, case, r))
                                   for r in rows])


async def revoke(session: AsyncSession, command: RevokeLiaisonShare) -> LiaisonShareView:
    """Take a share back: from now on the liaison gets a 404 for its alias."""
    case = await case_for(session, command.actor, command.case_id, write=True)
    stmt = select(LiaisonShare).where(LiaisonShare.id == command.share_id).with_for_update()
    row = (await session.exec(stmt)).first()
    if row is None or row.case_id != case.id:
        raise NotFound("No such liaison share on this case.")
    if row.revoked_on is not None:
        raise Conflict(f"This share was revoked on {row.revoked_on.isoformat()}.")
    row.revoked_on, row.revoked_by = today(), command.actor.subject[:200]
    session.add(row)
    await audit.record(session, command.actor.subject, "liaison-revoke", case.id)
    return share_view(row, await summary_of(session, case, row))


# the liaison's side
async def liaison_cases(session: AsyncSession, query: LiaisonCasesQuery) -> LiaisonCaseList:
    """Every case shared with the calling liaison and not revoked; each one's read is
    audited."""
    liaison = require_liaison(query.actor)
    rows = await shared_with(session, liaison)
    ids = list({r.case_id for r in rows})
    cases = {c.id: c for c in await session.exec(select(Case).where(col(Case.id).in_(ids)))}
    sessions = await repository.sessions_of(session, ids)
    items = []
    for row in rows:
        case = cases[row.case_id]
        await audit.record(session, query.actor.subject, "liaison-list", case.id)
        items.append(liaison_view(case, row, await summary_of(session, case, row),
                                  sessions.get(case.id, [])))
    return LiaisonCaseList(items=items)


async def liaison_case(session: AsyncSession, query: LiaisonCaseQuery) -> LiaisonCase:
    """One case shared with the calling liaison, by alias. Another liaison's alias, a revoked
    share and an alias that never existed all answer the same 404 (audited as refused)."""
    liaison = require_liaison(query.actor)
    alias = query.alias.strip().upper()
    row = (await session.exec(select(LiaisonShare).where(LiaisonShare.alias == alias))).first()
    case = await repository.get(session, row.case_id) if row is not None else None
    if row is None or case is None or row.liaison != liaison or row.revoked_on is not None:
        await audit.record(session, query.actor.subject, "liaison-read-refused",
                           row.case_id if row is not None else None)
        raise RefusedAfterCommit(NotFound(NOT_YOURS))
    sessions = await repository.sessions_of(session, [case.id])
    await audit.record(session, query.actor.subject, "liaison-read", case.id)
    return liaison_view(case, row, await summary_of(session, case, row),
                        sessions.get(case.id, []))


# endpoints
Handler = Callable[[Any], Awaitable[BaseModel]]


def endpoints(app: ServiceApp) -> list[tuple[str, type[BaseModel], Handler]]:
    """The liaison subjects with their handlers, each in one transaction; a refusal is raised
    only after its audit entry is committed."""

    serve = app.transactional
    return [
        (Rpc.CASES_LIAISON_SHARE, ShareWithLiaison, serve(share)),
        (Rpc.CASES_LIAISON_SHARES, LiaisonSharesQuery, serve(shares)),
        (Rpc.CASES_LIAISON_REVOKE, RevokeLiaisonShare, serve(revoke)),
        (Rpc.CASES_LIAISON_LIST, LiaisonCasesQuery, serve(liaison_cases)),
        (Rpc.CASES_LIAISON_GET, LiaisonCaseQuery, serve(liaison_case)),
    ]
