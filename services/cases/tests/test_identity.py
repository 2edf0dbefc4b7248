"""A disclosed identity is sealed apart from the case; opening it needs the reporter's recorded
consent and a second person's approval, and every step, refusals included, is audited."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from pydantic import BaseModel, ValidationError
from sqlalchemy import text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_cases import content, identity, service
from suara_cases.handlers import MIGRATIONS
from suara_cases.models import AuditEntry
from suara_cases.settings import CasesSettings
from suara_contracts.events import ReporterFollowUp, SubmissionReceived
from suara_contracts.identity import (
    CaseIdentityQuery,
    DecideIdentity,
    IdentityConsent,
    PendingIdentityQuery,
    RequestIdentity,
)
from suara_contracts.rpc import Actor
from suara_contracts.subjects import Rpc
from suara_kit.clock import today
from suara_kit.db import Database
from suara_kit.errors import Conflict, Forbidden, NotFound, ValidationFailed
from suara_kit.ids import uuid7
from suara_kit.service import ServiceApp
from suara_kit.testing import migrated

ANI = Actor(subject="ani", roles=["case-handler"], organisation="tenaganita")
BUDI = Actor(subject="budi", roles=["case-handler"], organisation="tenaganita")
MAP = Actor(subject="mo", roles=["case-handler"], organisation="map-foundation")
PHONE = "+60 12 345 6789"
REASON = "The labour office needs her name to file the wage claim she asked for."


@pytest.fixture
async def db(database_url: Callable[[str], str]) -> AsyncIterator[Database]:
    async with migrated(MIGRATIONS, database_url("cases")) as database:
        content.use_keys(database, CasesSettings())
        yield database


class App:
    def __init__(self, db: Database) -> None:
        self.db = db

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with self.db.transaction() as session:
            yield session

    transactional = ServiceApp.transactional  # the service's own wrapper, over these


async def call(db: Database, subject: str, command: BaseModel) -> Any:
    """Run one identity endpoint as the service serves it."""
    handlers = {s: h for s, _, h in identity.endpoints(App(db))}  # type: ignore[arg-type]
    return await handlers[subject](command)


async def open_case(db: Database, answers: dict[str, Any] | None = None) -> UUID:
    event = SubmissionReceived(
        submission_id=uuid7(), reference="SU-AAAA-BBBB", organisation="tenaganita",
        form_version="1", language="id", risk="normal", risk_reasons=[], received_on=today(),
        answers=answers or {"what_happened": "No pay since August.", "contact": PHONE},
        identifying=["contact"])
    async with db.transaction() as session:
        opened = await service.open_case(session, event, timedelta(days=7))
    assert opened is not None
    return opened.case_id


async def reporter_says(db: Database, case_id: UUID, words: str) -> UUID:
    async with db.transaction() as session:
        case = await service.case_for(session, ANI, case_id)
        follow_up = ReporterFollowUp(follow_up_id=uuid7(), submission_id=case.submission_id,
                                     kind="reply", text=words, sent_on=today())
        await service.reporter_followed_up(session, follow_up)
    return follow_up.follow_up_id


def asking(case_id: UUID, actor: Actor = ANI, **consent: Any) -> RequestIdentity:
    return RequestIdentity(actor=actor, case_id=case_id, reason=REASON, consent=IdentityConsent(
        **(consent or {"obtained": "She said yes on the phone on 20 November."})))


async def audit_actions(db: Database, case_id: UUID) -> list[tuple[str, str]]:
    async with db.transaction() as session:
        rows = await session.exec(select(AuditEntry).where(AuditEntry.case_id == case_id)
                                  .order_by(col(AuditEntry.seq)))
        return [(e.actor, e.action) for e in rows]


async def test_the_handler_reads_the_case_without_the_identity(db: Database) -> None:
    case_id = await open_case(db)
    async with db.transaction() as session:
        detail = await service.get_case(session, ANI, case_id)
        rows = (await session.exec(text('SELECT * FROM "case"'))).all()  # type: ignore[call-overload]
    assert detail.answers == {"what_happened": "No pay since August."}
    assert (detail.identifying, detail.sealed_identity) == (["contact"], ["contact"])
    assert PHONE.encode() not in repr([tuple(r) for r in rows]).encode()


async def test_opening_needs_consent_and_a_second_persons_approval(db: Database) -> None:
    case_id = await open_case(db)
    said = await reporter_says(db, case_id, "Yes, you may give my name to the labour office.")
    with pytest.raises(Conflict, match="approved by another handler"):
        await call(db, Rpc.CASES_IDENTITY_OPEN, CaseIdentityQuery(actor=ANI, case_id=case_id))
    asked = await call(db, Rpc.CASES_IDENTITY_REQUEST, asking(case_id, message_id=said))
    assert (asked.status, asked.consent_source, asked.consent_message_id) == (
        "pending", "reporter", said)
    waiting = await call(db, Rpc.CASES_IDENTITY_PENDING, PendingIdentityQuery(actor=BUDI))
    assert [r.request_id for r in waiting.items] == [asked.request_id]
    with pytest.raises(Forbidden, match="another handler"):
        await call(db, Rpc.CASES_IDENTITY_DECIDE, DecideIdentity(
            actor=ANI, request_id=asked.request_id, approve=True))
    with pytest.raises(Conflict, match="needs your request"):
        await call(db, Rpc.CASES_IDENTITY_OPEN, CaseIdentityQuery(actor=ANI, case_id=case_id))
    approved = await call(db, Rpc.CASES_IDENTITY_DECIDE, DecideIdentity(
        actor=BUDI, request_id=asked.request_id, approve=True, note="Consent is clear."))
    assert (approved.status, approved.decided_by) == ("approved", "budi")
    assert approved.open_until == today() + timedelta(days=identity.OPEN_DAYS)
    opened = await call(db, Rpc.CASES_IDENTITY_OPEN, CaseIdentityQuery(actor=ANI,
                                                                       case_id=case_id))
    assert opened.answers == {"contact": PHONE}
    with pytest.raises(Conflict, match="already approved by budi"):
        await call(db, Rpc.CASES_IDENTITY_DECIDE, DecideIdentity(
            actor=BUDI, request_id=asked.request_id, approve=False))
    assert await audit_actions(db, case_id) == [
        ("system", "open"), ("reporter", "reporter-reply"),
        ("ani", "identity-read-refused"), ("ani", "identity-request"),
        ("ani", "identity-self-approval-refused"), ("ani", "identity-read-refused"),
        ("budi", "identity-approved"), ("ani", "identity-read")]


async def test_an_approval_lasts_a_week(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    case_id = await open_case(db)
    asked = await call(db, Rpc.CASES_IDENTITY_REQUEST, asking(case_id))
    assert asked.consent_source == "staff-recorded"
    await call(db, Rpc.CASES_IDENTITY_DECIDE, DecideIdentity(
        actor=BUDI, request_id=asked.request_id, approve=True))
    monkeypatch.setattr(identity, "today", lambda: today() + timedelta(days=8))
    with pytest.raises(Conflict, match="needs your request"):
        await call(db, Rpc.CASES_IDENTITY_OPEN, CaseIdentityQuery(actor=ANI, case_id=case_id))
    again = await call(db, Rpc.CASES_IDENTITY_REQUEST, asking(case_id))  # may ask anew
    assert again.status == "pending"


async def test_a_refused_request_opens_nothing_and_nobody_else_reads(db: Database) -> None:
    case_id = await open_case(db)
    asked = await call(db, Rpc.CASES_IDENTITY_REQUEST, asking(case_id))
    with pytest.raises(Conflict, match="pending or open request"):
        await call(db, Rpc.CASES_IDENTITY_REQUEST, asking(case_id))
    with pytest.raises(NotFound):  # another organisation cannot even see the request
        await call(db, Rpc.CASES_IDENTITY_DECIDE, DecideIdentity(
            actor=MAP, request_id=asked.request_id, approve=True))
    refused = await call(db, Rpc.CASES_IDENTITY_DECIDE, DecideIdentity(
        actor=BUDI, request_id=asked.request_id, approve=False, note="Ask her first."))
    assert (refused.status, refused.open_until) == ("refused", None)
    with pytest.raises(Conflict, match="needs your request"):
        await call(db, Rpc.CASES_IDENTITY_OPEN, CaseIdentityQuery(actor=ANI, case_id=case_id))
    with pytest.raises(Conflict):  # the approver never reads it either
        await call(db, Rpc.CASES_IDENTITY_OPEN, CaseIdentityQuery(actor=BUDI, case_id=case_id))


async def test_consent_must_be_on_record(db: Database) -> None:
    case_id = await open_case(db)
    with pytest.raises(ValidationError, match="how and when the reporter agreed"):
        IdentityConsent(obtained="ok")
    async with db.transaction() as session:
        note = await content.add_message(session, await service.case_for(session, ANI, case_id),
                                         author="ani", body="Shall we?", kind="to-reporter",
                                         sent_on=today())
    with pytest.raises(ValidationFailed, match="no message from the reporter"):
        await call(db, Rpc.CASES_IDENTITY_REQUEST, asking(case_id, message_id=note.id))
    with pytest.raises(ValidationFailed, match="no message from the reporter"):
        await call(db, Rpc.CASES_IDENTITY_REQUEST, asking(case_id, message_id=uuid7()))


async def test_a_report_without_identity_has_nothing_to_open(db: Database) -> None:
    case_id = await open_case(db, {"what_happened": "anonymous"})
    with pytest.raises(Conflict, match="nothing to open"):
        await call(db, Rpc.CASES_IDENTITY_REQUEST, asking(case_id))
