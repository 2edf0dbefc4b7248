"""Case content at rest: sealed with the case's own data key, and shredded at the end of
retention.

What is sealed: the reporter's answers, every message on the case (both ways), and the
projection a referral shares. The answers the form marks identifying (the reporter's disclosed
identity: a name, a phone number) are sealed apart from the others, in `Case.sealed_identity`:
a handler reads the case without them, and opening them takes the steps in `identity.py`.
What stays readable: the workflow (status, dates, deadlines, assignment), the coding
(issue, corridor, respondent) and what the reporter chose as issue and corridor
(`Case.reported`), which the statistics count after the content is gone.

Retention: a closed case is shredded `retention_days` after it closed (per organisation if
configured). Its data key is deleted, so its ciphertext, here and in every backup, no longer
opens; the cases a referral opened from it at other organisations are shredded with it; and
`CaseShredded` tells intake and notification to delete their own keys for the same report.
Retention is never shorter than the event streams keep events (which carry content while
they are in flight), so no readable copy outlives the key.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_cases import audit
from suara_cases.models import Case, CaseMessage, DataKeys
from suara_cases.referral_models import CaseReferral
from suara_cases.states import CaseStatus
from suara_contracts.events import CaseShredded
from suara_contracts.referrals import SharedCase
from suara_kit import datakeys
from suara_kit.datakeys import DataKey, Shredded, ring_of
from suara_kit.db import Database
from suara_kit.ids import uuid7

ANSWERS = "answers"
IDENTITY = "identity"
REPORTED = ("categories", "origin", "country")


def reported(answers: dict[str, Any]) -> dict[str, Any]:
    """What the statistics may fall back on: issue and corridor as the reporter chose them."""
    return {k: answers[k] for k in REPORTED if k in answers}


def use_keys(db: Database, settings: Any) -> None:
    """Give every session of `db` the service's data-key ring (from `settings.content_key`)."""
    datakeys.use_keys(db, settings, DataKeys)


async def new_key(session: AsyncSession, case: Case) -> DataKey:
    return await ring_of(session).create(session, case.id)


async def key_of(session: AsyncSession, case: Case) -> DataKey:
    """The case's data key; 410 once retention deleted it."""
    if case.shredded_on is not None:
        raise Shredded(f"This case's content was deleted on {case.shredded_on.isoformat()} "
                       "at the end of its retention period; it can no longer be read by "
                       "anyone. Its status, dates and coding remain.")
    return await ring_of(session).get_or_create(session, case.id)


def split(answers: dict[str, Any], identifying: list[str]) -> tuple[dict, dict]:
    """(the answers a handler reads, the identifying answers sealed apart)."""
    return ({k: v for k, v in answers.items() if k not in identifying},
            {k: v for k, v in answers.items() if k in identifying})


async def set_answers(session: AsyncSession, case: Case, answers: dict[str, Any],
                      key: DataKey | None = None) -> None:
    """Store a report's answers: the identifying ones (`case.identifying`) sealed apart."""
    key = key or await key_of(session, case)
    plain, identity = split(answers, case.identifying)
    case.content, case.legacy_answers = key.seal_json(plain, ANSWERS), None
    case.sealed_identity = key.seal_json(identity, IDENTITY) if identity else None
    session.add(case)


async def answers_of(session: AsyncSession, case: Case) -> dict[str, Any]:
    """The answers without the identifying ones."""
    key = await key_of(session, case)
    if case.content is None:
        return split(dict(case.legacy_answers or {}), case.identifying)[0]
    return key.open_json(case.content, ANSWERS)


async def identity_of(session: AsyncSession, case: Case) -> dict[str, Any]:
    """The identifying answers; callers must have checked consent and approval."""
    key = await key_of(session, case)
    if case.content is None:
        return split(dict(case.legacy_answers or {}), case.identifying)[1]
    return key.open_json(case.sealed_identity, IDENTITY) if case.sealed_identity else {}


async def all_answers_of(session: AsyncSession, case: Case) -> dict[str, Any]:
    """Every answer, identifying ones included: for a transfer or a `full` share the
    reporter consented to."""
    return await answers_of(session, case) | await identity_of(session, case)


def _message_context(message: CaseMessage) -> str:
    return f"message:{message.id}"


async def set_body(session: AsyncSession, case: Case, message: CaseMessage, body: str) -> None:
    key = await key_of(session, case)
    message.sealed_body, message.legacy_body = key.seal_text(body, _message_context(message)), None


async def add_message(session: AsyncSession, case: Case, *, author: str, body: str, kind: str,
                      sent_on: date, attachment_ids: list[str] | None = None,
                      message_id: UUID | None = None) -> CaseMessage:
    """Put a message on the case, its text sealed with the case's key."""
    message = CaseMessage(id=message_id or uuid7(), case_id=case.id, author=author[:64],
                          sent_on=sent_on, kind=kind, attachment_ids=attachment_ids or [])
    await set_body(session, case, message, body)
    session.add(message)
    return message


async def bodies_of(session: AsyncSession, case: Case,
                    messages: list[CaseMessage]) -> dict[Any, str]:
    """Each message's text, by message id."""
    if not messages:
        return {}
    key = await key_of(session, case)
    return {m.id: (key.open_text(m.sealed_body, _message_context(m)) if m.sealed_body
                   is not None else m.legacy_body or "") for m in messages}


def _referral_context(referral: CaseReferral) -> str:
    return f"referral:{referral.id}"


async def set_shared(session: AsyncSession, case: Case, referral: CaseReferral,
                     shared: SharedCase) -> None:
    key = await key_of(session, case)
    referral.sealed_shared = key.seal_json(shared.model_dump(mode="json"),
                                           _referral_context(referral))
    referral.legacy_shared = None


async def shared_of(session: AsyncSession, referral: CaseReferral) -> SharedCase | None:
    """What the referral shared; None once the referred case was shredded."""
    case = await session.get(Case, referral.case_id)
    if case is None or case.shredded_on is not None:
        return None
    key = await key_of(session, case)
    if referral.sealed_shared is None:
        return SharedCase.model_validate(referral.legacy_shared or {})
    return SharedCase.model_validate(key.open_json(referral.sealed_shared,
                                                   _referral_context(referral)))


# retention
async def due_for_shredding(session: AsyncSession, on: date,
                            retention_days: Callable[[str], int]) -> list[Case]:
    """Closed cases whose retention ended by `on` and that still have content."""
    stmt = select(Case).where(Case.status == CaseStatus.CLOSED,
                              col(Case.closed_on).is_not(None), col(Case.shredded_on).is_(None))
    return [c for c in await session.exec(stmt) if c.closed_on is not None
            and c.closed_on + timedelta(days=retention_days(c.organisation)) <= on]


async def shred(session: AsyncSession, case: Case, on: date, actor: str = "system"
                ) -> list[CaseShredded]:
    """Delete the case's data key, and those of the cases its referrals opened elsewhere
    (they hold the same reporter's words); one event per shredded case."""
    shredded: list[CaseShredded] = []
    pending, seen = [case], set()
    while pending:
        current = pending.pop()
        if current.id in seen:
            continue
        seen.add(current.id)
        if current.shredded_on is None:
            await ring_of(session).shred(session, current.id)
            current.shredded_on = on
            session.add(current)
            await audit.record(session, actor, "shred", current.id)
            shredded.append(CaseShredded(case_id=current.id, submission_id=current.submission_id,
                                         organisation=current.organisation, shredded_on=on))
        stmt = select(CaseReferral).where(CaseReferral.case_id == current.id,
                                          col(CaseReferral.linked_case_id).is_not(None))
        for referral in await session.exec(stmt):
            linked = await session.get(Case, referral.linked_case_id)
            if linked is not None and linked.id != current.id:
                pending.append(linked)
    return shredded


async def seal_legacy(db: Database) -> None:
    """Seal what was stored before content was encrypted, one case per transaction. Safe when
    several replicas run it at once: a sealed row has no legacy value left, the case row is
    locked while sealed, and the replica that loses the race to create a case's key leaves
    that case to the winner."""
    async with db.transaction() as session:
        ids = set(await session.exec(select(Case.id).where(col(Case.legacy_answers).is_not(None))))
        ids |= set(await session.exec(select(CaseMessage.case_id).where(
            col(CaseMessage.legacy_body).is_not(None))))
        ids |= set(await session.exec(select(CaseReferral.case_id).where(
            col(CaseReferral.legacy_shared).is_not(None))))
    for case_id in ids:
        try:
            async with db.transaction() as session:
                await _seal_legacy_case(session, case_id)
        except IntegrityError:
            pass  # another replica created this case's key at the same moment


async def _seal_legacy_case(session: AsyncSession, case_id: UUID) -> None:
    case = await session.get(Case, case_id, with_for_update=True)
    if case is None or case.shredded_on is not None:
        return
    if case.legacy_answers is not None:
        case.reported = reported(case.legacy_answers)
        await set_answers(session, case, dict(case.legacy_answers))
    for message in await session.exec(select(CaseMessage).where(
            CaseMessage.case_id == case_id, col(CaseMessage.legacy_body).is_not(None))):
        await set_body(session, case, message, message.legacy_body or "")
        session.add(message)
    for referral in await session.exec(select(CaseReferral).where(
            CaseReferral.case_id == case_id, col(CaseReferral.legacy_shared).is_not(None))):
        await set_shared(session, case, referral,
                         SharedCase.model_validate(referral.legacy_shared))
        session.add(referral)
