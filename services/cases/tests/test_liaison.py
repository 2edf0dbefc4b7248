"""The employer liaison's redacted case summaries, on a database built by the migrations (SQLite
and PostgreSQL): a handler shares a case with a named liaison and writes the summary; the
liaison sees only the summary, the coding, the month and the sessions, under a random alias;
other liaisons, revoked shares and other roles see nothing; reads are audited; the summary is
sealed with the case's key and goes with it at retention."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from pydantic import BaseModel, ValidationError
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_cases import content, liaison, service, work
from suara_cases.handlers import MIGRATIONS
from suara_cases.liaison_models import LiaisonShare
from suara_cases.models import AuditEntry, Case, CaseSession
from suara_cases.settings import CasesSettings
from suara_contracts.events import SessionProposed, SubmissionReceived
from suara_contracts.liaison import (
    ALIAS,
    LiaisonCase,
    LiaisonCaseQuery,
    LiaisonCasesQuery,
    LiaisonShareRequest,
    LiaisonSharesQuery,
    LiaisonShareView,
    RevokeLiaisonShare,
    ShareWithLiaison,
)
from suara_contracts.rpc import Actor, CodeCase
from suara_contracts.subjects import Rpc
from suara_kit.clock import today
from suara_kit.datakeys import Shredded
from suara_kit.db import Database
from suara_kit.errors import Conflict, Forbidden, NotFound, ValidationFailed
from suara_kit.ids import uuid7
from suara_kit.service import ServiceApp
from suara_kit.testing import migrated

ANI = Actor(subject="handler-ani-7q", roles=["case-handler"], organisation="tenaganita")
BUDI = Actor(subject="budi", roles=["case-handler"], organisation="tenaganita")
RUDI = Actor(subject="rudi", roles=["case-handler"], organisation="map-foundation")
LIAISON = Actor(subject="liaison-maju", roles=["employer-liaison"])
OTHER_LIAISON = Actor(subject="liaison-other", roles=["employer-liaison"])
ADMIN = Actor(subject="admin", roles=["admin"])
SECRET = "Majikan saya Puan Lim menahan paspor saya"  # what the reporter said: never shown
CONTACT = "WhatsApp +60 12 345 6789"  # the identifying answer: never shown
MESSAGE = "Kami sudah menelepon pengawas Anda"  # a message on the case: never shown
REFERENCE = "SU-AAAA-BBBB"
SUMMARY = "Passport held by the employer since arrival; the worker asks for it back."
SESSION_START = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)


@pytest.fixture
async def db(database_url: Callable[[str], str]) -> AsyncIterator[Database]:
    async with migrated(MIGRATIONS, database_url("cases")) as database:
        content.use_keys(database, CasesSettings())
        yield database


class App:
    """What `liaison.endpoints` needs of a ServiceApp: transactions."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with self.db.transaction() as session:
            yield session

    transactional = ServiceApp.transactional  # the service's own wrapper, over these


async def call(db: Database, subject: str, command: BaseModel) -> Any:
    """Run one liaison endpoint as the service serves it."""
    handlers = {s: h for s, _, h in liaison.endpoints(App(db))}  # type: ignore[arg-type]
    return await handlers[subject](command)


async def open_case(db: Database, received_on: date = date(2026, 11, 17)) -> UUID:
    """A coded case with a message, a mediation session and the reporter's secret."""
    event = SubmissionReceived(
        submission_id=uuid7(), reference=REFERENCE, organisation="tenaganita",
        form_version="1", language="id", risk="high", risk_reasons=["passport-retention"],
        received_on=received_on, identifying=["contact"],
        answers={"what_happened": SECRET, "categories": ["passport-held"], "country": "MY",
                 "origin": "ID", "contact": CONTACT})
    async with db.transaction() as session:
        opened = await service.open_case(session, event, timedelta(days=7))
    assert opened is not None
    async with db.transaction() as session:
        await work.code(session, ANI, CodeCase(
            actor=ANI, case_id=opened.case_id, issues=["passport-held"], origin="ID",
            destination="MY", respondent="Maju Plantation Sdn Bhd", respondent_kind="employer"),
            3, 90)
    async with db.transaction() as session:
        case = await session.get(Case, opened.case_id)
        assert case is not None
        await content.add_message(session, case, author=ANI.subject, body=MESSAGE,
                                  kind="to-reporter", sent_on=today())
        await service.record_session(session, SessionProposed(
            session_id=uuid7(), case_id=case.id, organisation="tenaganita",
            starts_at=SESSION_START, ends_at=SESSION_START + timedelta(hours=1),
            timezone="Asia/Kuala_Lumpur", mode="in-person"))
    return opened.case_id


async def share(db: Database, case_id: UUID, to: Actor = LIAISON, by: Actor = ANI,
                summary: str = SUMMARY) -> LiaisonShareView:
    reply = await call(db, Rpc.CASES_LIAISON_SHARE, ShareWithLiaison(
        actor=by, case_id=case_id, liaison=to.subject, summary=summary))
    assert isinstance(reply, LiaisonShareView)
    return reply


async def read(db: Database, alias: str, who: Actor = LIAISON) -> LiaisonCase:
    reply = await call(db, Rpc.CASES_LIAISON_GET, LiaisonCaseQuery(actor=who, alias=alias))
    assert isinstance(reply, LiaisonCase)
    return reply


async def audit_trail(db: Database) -> list[tuple[str, str, UUID | None]]:
    async with db.transaction() as session:
        rows = await session.exec(select(AuditEntry).order_by(col(AuditEntry.seq)))
        return [(e.actor, e.action, e.case_id) for e in rows]


def assert_redacted(body: str, case_id: UUID) -> None:
    for marker in (SECRET, CONTACT, MESSAGE, REFERENCE, str(case_id), "passport-retention",
                   ANI.subject, "contact"):
        assert marker not in body, f"{marker!r} reached the liaison: {body}"


# the liaison's view
async def test_the_liaison_sees_only_the_redacted_summary(db: Database) -> None:
    case_id = await open_case(db)
    shared = await share(db, case_id)
    assert shared.summary == SUMMARY
    assert shared.liaison == LIAISON.subject
    assert shared.shared_by == ANI.subject
    assert re.match(ALIAS, shared.alias), shared.alias
    assert REFERENCE not in shared.alias

    seen = await read(db, shared.alias)
    assert seen.model_dump(mode="json") == {
        "alias": shared.alias, "organisation": "tenaganita", "status": "received",
        "received_month": "2026-11", "coded_issues": ["passport-held"],
        "corridor_origin": "ID", "corridor_destination": "MY",
        "respondent": "Maju Plantation Sdn Bhd", "respondent_kind": "employer",
        "summary": SUMMARY, "content_deleted_on": None,
        "sessions": [{"starts_at": "2026-12-06T02:00:00Z", "ends_at": "2026-12-06T03:00:00Z",
                      "timezone": "Asia/Kuala_Lumpur", "mode": "in-person"}]}
    listed = await call(db, Rpc.CASES_LIAISON_LIST, LiaisonCasesQuery(actor=LIAISON))
    assert [c.model_dump() for c in listed.items] == [seen.model_dump()]
    for reply in (seen, listed):
        assert_redacted(reply.model_dump_json(), case_id)
    assert (await read(db, shared.alias.lower())).alias == shared.alias  # typed by hand


async def test_the_view_is_built_from_an_allow_list() -> None:
    assert set(LiaisonCase.model_fields) == {
        "alias", "organisation", "status", "received_month", "coded_issues",
        "corridor_origin", "corridor_destination", "respondent", "respondent_kind", "summary",
        "content_deleted_on", "sessions"}


async def test_other_liaisons_revoked_shares_and_other_roles_find_nothing(
        db: Database) -> None:
    case_id = await open_case(db)
    shared = await share(db, case_id)
    with pytest.raises(NotFound, match="No case shared with you"):
        await read(db, shared.alias, OTHER_LIAISON)
    with pytest.raises(NotFound, match="No case shared with you"):
        await read(db, "LS-0000-0000")
    assert (await call(db, Rpc.CASES_LIAISON_LIST,
                       LiaisonCasesQuery(actor=OTHER_LIAISON))).items == []
    for someone in (ANI, ADMIN, Actor(subject=LIAISON.subject, roles=[])):
        with pytest.raises(Forbidden, match="employer liaison"):
            await read(db, shared.alias, someone)
        with pytest.raises(Forbidden, match="employer liaison"):
            await call(db, Rpc.CASES_LIAISON_LIST, LiaisonCasesQuery(actor=someone))

    revoked = await call(db, Rpc.CASES_LIAISON_REVOKE, RevokeLiaisonShare(
        actor=ANI, case_id=case_id, share_id=shared.share_id))
    assert (revoked.revoked_on, revoked.revoked_by) == (today(), ANI.subject)
    with pytest.raises(NotFound, match="No case shared with you"):
        await read(db, shared.alias)
    assert (await call(db, Rpc.CASES_LIAISON_LIST, LiaisonCasesQuery(actor=LIAISON))).items == []
    with pytest.raises(Conflict, match="revoked on"):
        await call(db, Rpc.CASES_LIAISON_REVOKE, RevokeLiaisonShare(
            actor=ANI, case_id=case_id, share_id=shared.share_id))

    again = await share(db, case_id, summary="A new summary.")  # a new share, a new alias
    assert again.alias != shared.alias
    assert (await read(db, again.alias)).summary == "A new summary."
    with pytest.raises(NotFound):
        await read(db, shared.alias)


async def test_reads_and_refusals_are_audited(db: Database) -> None:
    case_id = await open_case(db)
    shared = await share(db, case_id)
    await read(db, shared.alias)
    await call(db, Rpc.CASES_LIAISON_LIST, LiaisonCasesQuery(actor=LIAISON))
    with pytest.raises(NotFound):
        await read(db, shared.alias, OTHER_LIAISON)  # refused, and its entry committed
    with pytest.raises(NotFound):
        await read(db, "LS-ZZZZ-ZZZZ", OTHER_LIAISON)
    await call(db, Rpc.CASES_LIAISON_SHARES, LiaisonSharesQuery(actor=ANI, case_id=case_id))
    await call(db, Rpc.CASES_LIAISON_REVOKE, RevokeLiaisonShare(
        actor=ANI, case_id=case_id, share_id=shared.share_id))
    trail = [t for t in await audit_trail(db) if t[1].startswith("liaison")]
    assert trail == [
        (ANI.subject, "liaison-share", case_id), ("liaison-maju", "liaison-read", case_id),
        ("liaison-maju", "liaison-list", case_id),
        ("liaison-other", "liaison-read-refused", case_id),
        ("liaison-other", "liaison-read-refused", None),
        (ANI.subject, "liaison-shares-read", case_id), (ANI.subject, "liaison-revoke", case_id)]


# the handler's side
async def test_who_may_share_revoke_and_list(db: Database) -> None:
    case_id = await open_case(db)
    with pytest.raises(NotFound, match="No such case in your organisation"):
        await share(db, case_id, by=RUDI)
    with pytest.raises(Forbidden, match="case handler"):
        await share(db, case_id, by=LIAISON)
    async with db.transaction() as session:
        case = await session.get(Case, case_id)
        assert case is not None
        case.assigned_to = BUDI.subject
        session.add(case)
    with pytest.raises(Forbidden, match="assigned to another handler"):
        await share(db, case_id, by=ANI)
    shared = await share(db, case_id, by=BUDI)
    for who in (ANI, RUDI):
        with pytest.raises((Forbidden, NotFound)):
            await call(db, Rpc.CASES_LIAISON_SHARES, LiaisonSharesQuery(actor=who,
                                                                        case_id=case_id))
        with pytest.raises((Forbidden, NotFound)):
            await call(db, Rpc.CASES_LIAISON_REVOKE, RevokeLiaisonShare(
                actor=who, case_id=case_id, share_id=shared.share_id))
    listed = await call(db, Rpc.CASES_LIAISON_SHARES, LiaisonSharesQuery(actor=BUDI,
                                                                         case_id=case_id))
    assert [s.share_id for s in listed.items] == [shared.share_id]
    with pytest.raises(NotFound, match="No such liaison share"):
        await call(db, Rpc.CASES_LIAISON_REVOKE, RevokeLiaisonShare(
            actor=BUDI, case_id=case_id, share_id=uuid7()))
    other_case = await open_case(db)  # a share id of another case is not found here
    async with db.transaction() as session:
        case = await session.get(Case, other_case)
        assert case is not None
        case.assigned_to = BUDI.subject
        session.add(case)
    with pytest.raises(NotFound, match="No such liaison share"):
        await call(db, Rpc.CASES_LIAISON_REVOKE, RevokeLiaisonShare(
            actor=BUDI, case_id=other_case, share_id=shared.share_id))


async def test_one_active_share_per_case_and_liaison(db: Database) -> None:
    case_id = await open_case(db)
    first = await share(db, case_id)
    with pytest.raises(Conflict, match="already shared with that liaison") as refused:
        await share(db, case_id, summary="Another summary.")
    assert refused.value.extra["share_id"] == str(first.share_id)
    other = await share(db, case_id, to=OTHER_LIAISON)  # another liaison: fine
    assert other.alias != first.alias
    second_case = await open_case(db)
    assert (await share(db, second_case)).alias != first.alias
    listed = await call(db, Rpc.CASES_LIAISON_LIST, LiaisonCasesQuery(actor=LIAISON))
    assert {c.alias for c in listed.items} == {first.alias, (await call(
        db, Rpc.CASES_LIAISON_SHARES, LiaisonSharesQuery(actor=ANI, case_id=second_case))
    ).items[0].alias}


async def test_the_database_refuses_a_second_active_share(db: Database) -> None:
    case_id = await open_case(db)
    await share(db, case_id)
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            session.add(LiaisonShare(id=uuid7(), case_id=case_id, liaison=LIAISON.subject,
                                     alias=liaison.new_alias(), sealed_summary=b"x",
                                     shared_by=ANI.subject, shared_on=today()))


async def test_summaries_are_checked(db: Database) -> None:
    case_id = await open_case(db)
    with pytest.raises(ValidationFailed, match="reference"):
        await share(db, case_id, summary=f"About case {REFERENCE.lower()}.")
    with pytest.raises(ValidationFailed, match="your own account"):
        await share(db, case_id, to=ANI)
    for bad in ({"liaison": "liaison", "summary": "   "},
                {"liaison": "liaison", "summary": "x" * 2001},
                {"liaison": "", "summary": "fine"},
                {"liaison": "has spaces", "summary": "fine"},
                {"liaison": "liaison", "summary": "fine", "answers": {}}):
        with pytest.raises(ValidationError):  # as the gateway reads a public body
            LiaisonShareRequest.model_validate(bad, extra="forbid")
    assert LiaisonShareRequest(liaison="l", summary="  trimmed  ").summary == "trimmed"


# retention
async def test_the_summary_is_sealed_and_goes_with_the_case(db: Database) -> None:
    case_id = await open_case(db)
    shared = await share(db, case_id)
    async with db.transaction() as session:
        stored = (await session.exec(text(  # type: ignore[call-overload]
            "SELECT sealed_summary FROM case_liaison_share"))).scalar_one()
    assert SUMMARY.encode() not in bytes(stored)

    async with db.transaction() as session:
        case = await session.get(Case, case_id)
        assert case is not None
        await content.shred(session, case, today())
    seen = await read(db, shared.alias)
    assert (seen.summary, seen.content_deleted_on) == (None, today())
    assert (seen.coded_issues, seen.respondent, len(seen.sessions)) == (
        ["passport-held"], "Maju Plantation Sdn Bhd", 1)
    listed = await call(db, Rpc.CASES_LIAISON_SHARES, LiaisonSharesQuery(actor=ANI,
                                                                         case_id=case_id))
    assert [s.summary for s in listed.items] == [None]
    with pytest.raises(Shredded):
        await share(db, case_id, to=OTHER_LIAISON)
    revoked = await call(db, Rpc.CASES_LIAISON_REVOKE, RevokeLiaisonShare(
        actor=ANI, case_id=case_id, share_id=shared.share_id))
    assert revoked.revoked_on == today()


def test_views_serialise_without_content() -> None:
    view = LiaisonCase(alias="LS-0000-0000", organisation="t", status="received",
                       received_month="2026-11", coded_issues=[], summary=None)
    assert json.loads(view.model_dump_json())["sessions"] == []


async def test_a_cancelled_session_is_not_shown_to_the_liaison(db: Database) -> None:
    case_id = await open_case(db)
    shared = await share(db, case_id)
    async with db.transaction() as session:
        for row in await session.exec(select(CaseSession).where(CaseSession.case_id == case_id)):
            row.cancelled = True
            session.add(row)
    assert (await read(db, shared.alias)).sessions == []
