"""Case content is sealed with the case's own data key; at the end of retention the key is
deleted and the case, with every copy of its content, becomes unreadable."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import date, timedelta
from uuid import UUID

import pytest
from pydantic import ValidationError
from sqlalchemy import text
from sqlmodel import select

from suara_cases import content, referrals, service, work
from suara_cases.handlers import MIGRATIONS
from suara_cases.models import Case, CaseMessage, DataKeys
from suara_cases.referral_models import CaseReferral
from suara_cases.settings import CasesSettings
from suara_contracts.events import ReporterFollowUp, SubmissionReceived
from suara_contracts.referrals import CreateReferral, MoveReferral, RecordConsent
from suara_contracts.rpc import Actor, CaseListQuery, CodeCase, TransitionCase
from suara_kit.clock import today
from suara_kit.datakeys import Shredded
from suara_kit.db import Database
from suara_kit.ids import uuid7
from suara_kit.testing import migrated

ANI = Actor(subject="ani", roles=["case-handler"], organisation="tenaganita")
RUDI = Actor(subject="rudi", roles=["case-handler"], organisation="map-foundation")
SECRET = "Majikan saya Puan Lim menahan paspor saya"  # the marker that must not be stored
SETTINGS = CasesSettings()


@pytest.fixture
async def db(database_url: Callable[[str], str]) -> AsyncIterator[Database]:
    async with migrated(MIGRATIONS, database_url("cases")) as database:
        content.use_keys(database, SETTINGS)
        yield database


async def open_case(db: Database) -> UUID:
    event = SubmissionReceived(
        submission_id=uuid7(), reference="SU-AAAA-BBBB", organisation="tenaganita",
        form_version="1", language="id", risk="normal", risk_reasons=[], received_on=today(),
        answers={"what_happened": SECRET, "categories": ["passport-held"], "country": "MY",
                 "origin": "ID"})
    async with db.transaction() as session:
        opened = await service.open_case(session, event, timedelta(days=7))
    assert opened is not None
    return opened.case_id


async def close(db: Database, case_id: UUID) -> None:
    async with db.transaction() as session:
        await work.code(session, ANI, CodeCase(
            actor=ANI, case_id=case_id, issues=["passport-held"], origin="ID", destination="MY",
            respondent="Maju", respondent_kind="employer"), 3, 90)
    for to in ("acknowledged", "in-assessment", "in-resolution", "resolved", "closed"):
        async with db.transaction() as session:
            await work.transition(session, ANI, TransitionCase(
                actor=ANI, case_id=case_id, to=to, message=f"{to}: {SECRET}"))


async def refer_and_accept(db: Database, case_id: UUID) -> UUID:
    """Refer the case to map-foundation with consent; the receiver accepts; its case id."""
    directory = referrals.load_directory()
    async with db.transaction() as session:
        await referrals.record_consent(session, directory, RecordConsent(
            actor=ANI, case_id=case_id, to_organisation="map-foundation",
            share_profile="standard", types=["referral"], obtained="asked in the inbox"))
    async with db.transaction() as session:
        made = await referrals.create(session, directory, CreateReferral(
            actor=ANI, case_id=case_id, to_organisation="map-foundation", type="referral",
            share_profile="standard", note="legal aid"))
    assert made.reply is not None
    async with db.transaction() as session:
        accepted = await referrals.move(session, MoveReferral(
            actor=RUDI, referral_id=made.reply.referral_id, to="accepted", text=""))
    assert accepted.reply is not None
    assert accepted.reply.linked_case_id is not None
    return accepted.reply.linked_case_id


async def raw_bytes(db: Database, table: str) -> bytes:
    """Everything a dump of `table` would hold, as bytes."""
    async with db.transaction() as session:
        rows = (await session.exec(text(f'SELECT * FROM "{table}"'))).all()  # type: ignore[call-overload]
    return repr([tuple(r) for r in rows]).encode()


async def test_content_is_stored_sealed(db: Database) -> None:
    case_id = await open_case(db)
    await refer_and_accept(db, case_id)
    await close(db, case_id)
    for table in ("case", "case_message", "case_referral"):
        dumped = await raw_bytes(db, table)
        assert b"Puan Lim" not in dumped, table
        assert b"Puan Lim".hex().encode() not in dumped, table
    async with db.transaction() as session:
        detail = await service.get_case(session, ANI, case_id)
    assert detail.answers["what_happened"] == SECRET
    assert any(SECRET in m.body for m in detail.messages)


async def test_retention_shreds_the_case_and_the_cases_its_referrals_opened(
        db: Database) -> None:
    case_id = await open_case(db)
    linked_id = await refer_and_accept(db, case_id)
    await close(db, case_id)
    days = SETTINGS.retention_for("tenaganita")
    async with db.transaction() as session:
        assert await content.due_for_shredding(
            session, today() + timedelta(days=days - 1), SETTINGS.retention_for) == []
    later = today() + timedelta(days=days)
    async with db.transaction() as session:
        due = await content.due_for_shredding(session, later, SETTINGS.retention_for)
        assert [c.id for c in due] == [case_id]
        events = await content.shred(session, due[0], later)
    assert {(e.case_id, e.organisation, e.shredded_on) for e in events} == {
        (case_id, "tenaganita", later), (linked_id, "map-foundation", later)}
    async with db.transaction() as session:
        assert await session.get(DataKeys, case_id) is None
        assert await session.get(DataKeys, linked_id) is None
        assert await content.due_for_shredding(session, later, SETTINGS.retention_for) == []
    with pytest.raises(Shredded) as gone:
        async with db.transaction() as session:
            await service.get_case(session, ANI, case_id)
    assert gone.value.status == 410
    assert "deleted" in gone.value.detail
    with pytest.raises(Shredded):
        async with db.transaction() as session:
            await service.get_case(session, RUDI, linked_id)
    async with db.transaction() as session:
        listed = {c.case_id: c for c in (await service.list_cases(
            session, CaseListQuery(actor=ANI))).items}
        assert listed[case_id].shredded_on == later  # the workflow and coding remain
        assert listed[case_id].status == "closed"
        case = await session.get(Case, case_id)
        assert case is not None
        assert case.reported == {"categories": ["passport-held"], "country": "MY",
                                 "origin": "ID"}
        # the ciphertext is still there (as it is in every backup) and no longer opens
        assert case.content
        with pytest.raises(Shredded):
            await content.answers_of(session, case)
        referral = (await session.exec(select(CaseReferral))).one()
        assert await content.shared_of(session, referral) is None


async def test_shredding_twice_and_late_follow_ups_are_harmless(db: Database) -> None:
    case_id = await open_case(db)
    await close(db, case_id)
    async with db.transaction() as session:
        case = await session.get(Case, case_id)
        assert case is not None
        assert len(await content.shred(session, case, today())) == 1
    async with db.transaction() as session:
        case = await session.get(Case, case_id)
        assert case is not None
        assert await content.shred(session, case, today()) == []
        count = len((await session.exec(select(CaseMessage))).all())
        await service.reporter_followed_up(session, ReporterFollowUp(
            follow_up_id=uuid7(), submission_id=case.submission_id, kind="reply",
            text="still there?", sent_on=today()))
        assert len((await session.exec(select(CaseMessage))).all()) == count


async def test_open_cases_are_never_shredded(db: Database) -> None:
    case_id = await open_case(db)
    async with db.transaction() as session:
        due = await content.due_for_shredding(session, today() + timedelta(days=10_000),
                                              SETTINGS.retention_for)
    assert case_id not in [c.id for c in due]


async def test_content_stored_before_sealing_is_sealed_at_start(db: Database) -> None:
    case_id = uuid7()
    async with db.transaction() as session:
        session.add(Case(id=case_id, submission_id=uuid7(), reference="SU-LEGA-CY00",
                         organisation="tenaganita", status="received", risk="normal",
                         risk_reasons=[], language="id",
                         legacy_answers={"what_happened": SECRET, "country": "MY"},
                         received_on=date(2026, 1, 5), acknowledge_by=date(2026, 1, 12)))
        await session.flush()
        session.add(CaseMessage(id=uuid7(), case_id=case_id, author="ani", sent_on=today(),
                                legacy_body=f"old message: {SECRET}"))
    await content.seal_legacy(db)
    await content.seal_legacy(db)  # a second replica finds nothing left to do
    assert b"Puan Lim" not in await raw_bytes(db, "case")
    assert b"Puan Lim" not in await raw_bytes(db, "case_message")
    async with db.transaction() as session:
        detail = await service.get_case(session, ANI, case_id)
        case = await session.get(Case, case_id)
    assert detail.answers == {"what_happened": SECRET, "country": "MY"}
    assert [m.body for m in detail.messages] == [f"old message: {SECRET}"]
    assert case is not None
    assert case.reported == {"country": "MY"}


@pytest.mark.parametrize("days", [30, 189])
def test_retention_shorter_than_the_last_check_in_is_refused(days: int) -> None:
    with pytest.raises(ValidationError, match="greater than or equal to 190"):
        CasesSettings(retention_days=days)
    with pytest.raises(ValidationError, match=r"organisation_retention_days\.tenaganita"):
        CasesSettings(organisation_retention_days={"tenaganita": days})


def test_retention_outlives_the_event_streams() -> None:
    with pytest.raises(ValidationError, match="events are kept 400 days"):
        CasesSettings(retention_days=365, events_max_age_days=400)
    assert CasesSettings(organisation_retention_days={"apmm": 400}).retention_for("apmm") == 400
