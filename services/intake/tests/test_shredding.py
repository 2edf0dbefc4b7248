"""A report's answers and files are sealed with the submission's own data key; when
case-management's retention shreds the case, intake deletes that key and the content can no
longer be read, while the receipt still shows the status and the day the content was deleted."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import nats
import pytest
from sqlalchemy import text
from sqlmodel import select

from suara_contracts.events import CaseShredded, Envelope
from suara_contracts.rpc import (
    FollowUp,
    FollowUpSent,
    ReportStatus,
    StatusQuery,
    SubmitReport,
    SurveyAnswers,
)
from suara_contracts.subjects import Evt, Rpc
from suara_intake import content, service
from suara_intake.attachments import Vault
from suara_intake.formstore import FormStore
from suara_intake.handlers import MIGRATIONS, build
from suara_intake.models import Attachment, DataKeys, Inbox, Submission
from suara_intake.settings import IntakeSettings
from suara_kit.clock import today, utcnow
from suara_kit.datakeys import Shredded, use_keys
from suara_kit.db import Database
from suara_kit.errors import Gone, NotFound
from suara_kit.ids import uuid7
from suara_kit.messaging import call
from suara_kit.sealing import Sealer
from suara_kit.testing import eventually, migrated

ORGS = ["tenaganita"]
POLICY = service.ReceiptPolicy(key=b"k" * 32, max_failures=3, lockout=timedelta(minutes=15))
STORE = FormStore()
MARKER = "Pak Marwoto menahan paspor saya"  # what must never be readable in the database
FILE_MARKER = b"PAYSLIP-OF-SITI-RAHAYU"
PHOTO = b"\xff\xd8\xff\xe0 " + FILE_MARKER + b" \xff\xd9"
TOKEN, TOKEN_2 = "t" * 32, "u" * 32
SEALER = Sealer("a-test-key-that-is-long-enough")
SHREDDED_ON = date(2031, 5, 1)
REPORT = SubmitReport(organisation="tenaganita", language="id", answers={
    "categories": ["document-retention"], "what_happened": MARKER, "country": "MY",
    "evidence": [TOKEN]})


class FakeStaging:
    def __init__(self, files: dict[str, tuple[str, bytes]]) -> None:
        self.files = files

    async def take(self, token: str) -> tuple[str, bytes]:
        if token not in self.files:
            raise NotFound("expired")
        return self.files.pop(token)

    async def discard(self, token: str) -> None:
        self.files.pop(token, None)


def vault() -> Vault:
    return Vault(FakeStaging({TOKEN: ("image/jpeg", PHOTO),
                              TOKEN_2: ("application/pdf", b"%PDF-1.7 " + FILE_MARKER)}), SEALER)


def with_ring(database: Database) -> Database:
    use_keys(database, IntakeSettings(), DataKeys)
    return database


@pytest.fixture
async def db(database_url: Callable[[str], str]) -> AsyncIterator[Database]:
    async with migrated(MIGRATIONS, database_url("intake")) as database:
        await STORE.ensure_default(with_ring(database))
        yield database


async def submit(db: Database, files: Vault | None = None) -> tuple[Submission, str]:
    async with db.transaction() as session:
        sub, receipt, _ = await service.submit(session, STORE, REPORT, ORGS, POLICY,
                                               files or vault())
    return sub, receipt


async def reload(db: Database, submission_id: UUID) -> Submission:
    async with db.transaction() as session:
        sub = await session.get(Submission, submission_id)
    assert sub is not None
    return sub


async def attachments(db: Database) -> list[Attachment]:
    async with db.transaction() as session:
        return list((await session.exec(select(Attachment))).all())


async def raw_rows(db: Database, table: str) -> list[dict[str, Any]]:
    async with db.engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(text(f"SELECT * FROM {table}"))).mappings()]


def assert_no_plaintext(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        for value in row.values():
            if isinstance(value, bytes | bytearray | memoryview):
                blob = bytes(value)
                assert MARKER.encode() not in blob
                assert FILE_MARKER not in blob
            else:
                assert MARKER not in str(value)
                assert FILE_MARKER.decode() not in str(value)


async def shred(db: Database, submission_id: UUID) -> bool:
    async with db.transaction() as session:
        return await service.case_shredded(session, submission_id, SHREDDED_ON)


async def follow_up(db: Database, query: FollowUp, files: Vault | None = None) -> Any:
    async with db.transaction() as session:
        return await service.follow_up(session, query, POLICY, files or vault())


async def test_the_database_holds_no_plaintext_of_answers_or_files(db: Database) -> None:
    sub, receipt = await submit(db)
    event = await follow_up(db, FollowUp(reference=sub.reference, receipt=receipt,
                                         kind="information", text="more", files=[TOKEN_2]))
    assert event is not None
    stored = await attachments(db)
    assert len(stored) == 2
    assert all(a.keyed for a in stored)

    submissions, files = await raw_rows(db, "submission"), await raw_rows(db, "attachment")
    assert submissions[0]["answers"] is None  # the legacy plaintext column stays empty
    assert submissions[0]["sealed_answers"]
    assert_no_plaintext(submissions)
    assert_no_plaintext(files)
    assert_no_plaintext(await raw_rows(db, "data_key"))
    if db.url.startswith("sqlite"):  # the whole file, free pages and all
        await db.dispose()
        with sqlite3.connect(db.url.split("///", 1)[1]) as plain:
            dump = "\n".join(plain.iterdump())
        assert "INSERT INTO \"submission\"" in dump
        assert MARKER not in dump
        assert FILE_MARKER.hex() not in dump.lower()

    # ...and all of it opens with the submission's key, each blob only on its own row
    async with db.transaction() as session:
        assert (await content.answers_of(session, sub))["what_happened"] == MARKER
        opened = {await content.open_attachment(session, SEALER, a) for a in stored}
    assert opened == {PHOTO, b"%PDF-1.7 " + FILE_MARKER}


async def test_after_shredding_nothing_opens_but_the_receipt_shows_the_status(
        db: Database) -> None:
    sub, receipt = await submit(db)
    other, _ = await submit(db)
    assert await shred(db, sub.id) is True

    row = await reload(db, sub.id)
    assert row.shredded_on == SHREDDED_ON
    async with db.transaction() as session:
        assert await session.get(DataKeys, sub.id) is None  # the key is gone...
        assert await session.get(DataKeys, other.id) is not None  # ...only this report's
        with pytest.raises(Shredded) as refused:
            await content.answers_of(session, row)
        assert refused.value.status == 410
        assert "2031-05-01" in refused.value.detail
        assert refused.value.problem()["deleted_on"] == "2031-05-01"
        [photo] = [a for a in (await session.exec(select(Attachment))).all()
                   if a.submission_id == sub.id]
        with pytest.raises(Shredded):
            await content.open_attachment(session, SEALER, photo)
        assert (await content.answers_of(session, other))["what_happened"] == MARKER

    # the receipt still works: status and dates, no answers, and when they were deleted
    async with db.transaction() as session:
        found = await service.check_receipt(session, StatusQuery(reference=sub.reference,
                                                                 receipt=receipt), POLICY)
        assert found is not None
        view = await service.status_of(session, found)
    assert (view.reference, view.status, view.received_on) == (sub.reference, "received",
                                                               today())
    assert view.content_deleted_on == SHREDDED_ON
    assert (view.answers, view.categories, view.country) == ({}, [], None)
    assert MARKER not in view.model_dump_json()


@pytest.mark.parametrize("query", [
    {"kind": "reply", "text": "hello"},
    {"kind": "information", "text": "more", "files": [TOKEN_2]},
    {"kind": "information", "files": [TOKEN_2]},
    {"kind": "check-in", "answer": "yes", "answers_message": str(uuid7())},
])
async def test_nothing_can_be_added_to_a_shredded_report(db: Database,
                                                         query: dict[str, Any]) -> None:
    sub, receipt = await submit(db)
    await shred(db, sub.id)
    before = len(await attachments(db))
    message = FollowUp(reference=sub.reference, receipt=receipt, **query)
    with pytest.raises(Shredded) as refused:
        await follow_up(db, message)
    assert refused.value.status == 410
    assert "deleted on 2031-05-01" in refused.value.detail
    assert "new report" in refused.value.detail
    assert len(await attachments(db)) == before  # no file was sealed under a fresh key
    async with db.transaction() as session:
        assert await session.get(DataKeys, sub.id) is None
    # a wrong receipt is still only a wrong receipt (and counts)
    wrong = message.model_copy(update={"receipt": "WRONG-WRONG-WRONG"})
    assert await follow_up(db, wrong) is None
    assert (await reload(db, sub.id)).failed_attempts == 1


async def test_the_survey_needs_no_content_and_is_still_counted(db: Database) -> None:
    sub, receipt = await submit(db)
    async with db.transaction() as session:
        await service.case_status_changed(session, sub.id, "resolved")
    await shred(db, sub.id)
    async with db.transaction() as session:
        event = await service.survey(session, SurveyAnswers(
            reference=sub.reference, receipt=receipt, fair=4, respectful=5, recommend=4),
            POLICY)
    assert event is not None
    assert event.organisation == "tenaganita"


async def test_shredding_twice_or_an_unknown_report_is_harmless(db: Database) -> None:
    sub, _ = await submit(db)
    assert await shred(db, sub.id) is True
    async with db.transaction() as session:  # a later, second event: nothing changes
        assert await service.case_shredded(session, sub.id, SHREDDED_ON + timedelta(days=3)
                                           ) is False
    assert (await reload(db, sub.id)).shredded_on == SHREDDED_ON
    assert await shred(db, uuid7()) is False


async def _legacy(db: Database, answers: dict[str, Any], *, shredded: bool = False,
                  sealer: Sealer = SEALER) -> tuple[Submission, Attachment]:
    """A report as intake stored it before data keys: plaintext answers, a file sealed with
    the service-wide attachment key, no data key."""
    sub_id, attachment_id = uuid7(), uuid7()
    async with db.transaction() as session:
        sub = Submission(id=sub_id, reference=f"SU-{sub_id.hex[-8:-4]}-{sub_id.hex[-4:]}".upper(),
                         organisation="tenaganita", form_version="1", language="id",
                         legacy_answers={**answers, "evidence": [str(attachment_id)]},
                         risk="normal", risk_reasons=[], received_on=today(),
                         status_changed_on=today(), receipt_salt=b"s" * 16,
                         shredded_on=SHREDDED_ON if shredded else None)
        attachment = Attachment(id=attachment_id, submission_id=sub_id, question="evidence",
                                media_type="image/jpeg", size=len(PHOTO), added_on=today(),
                                sealed=sealer.seal(PHOTO, attachment_id.bytes))
        session.add(sub)
        session.add(attachment)
    return sub, attachment


async def test_a_legacy_file_still_opens_with_the_attachment_key(db: Database) -> None:
    sub, attachment = await _legacy(db, {"what_happened": MARKER})
    assert not attachment.keyed
    async with db.transaction() as session:
        assert (await content.answers_of(session, sub))["what_happened"] == MARKER
        assert await content.open_attachment(session, SEALER, attachment) == PHOTO
    await shred(db, sub.id)  # a legacy file cannot be crypto-shredded: it is erased
    [row] = await raw_rows(db, "attachment")
    assert bytes(row["sealed"]) == b""
    assert (await raw_rows(db, "submission"))[0]["answers"] is None
    async with db.transaction() as session:
        with pytest.raises(Shredded):
            await content.open_attachment(session, SEALER, attachment)


async def test_legacy_plaintext_is_sealed_at_start_by_replicas_racing(
        db: Database, database_url: Callable[[str], str]) -> None:
    sub, attachment = await _legacy(db, {"categories": ["document-retention"],
                                         "what_happened": MARKER, "country": "MY"})
    gone, gone_file = await _legacy(db, {"what_happened": MARKER}, shredded=True)
    assert MARKER in str(await raw_rows(db, "submission"))

    replicas = [with_ring(Database(db.url)) for _ in range(2)]
    try:
        if db.url.startswith("sqlite"):  # one writer: SQLite runs a single replica
            for replica in replicas:
                await content.seal_legacy(replica, SEALER)
        else:
            await asyncio.gather(*(content.seal_legacy(r, SEALER) for r in replicas))
    finally:
        for replica in replicas:
            await replica.dispose()
    await content.seal_legacy(db, SEALER)  # every later start: nothing left to do

    assert_no_plaintext(await raw_rows(db, "submission"))
    assert all(row["answers"] is None for row in await raw_rows(db, "submission"))
    async with db.transaction() as session:
        row = await session.get(Submission, sub.id)
        assert row is not None
        assert row.sealed_answers is not None
        assert (await content.answers_of(session, row))["what_happened"] == MARKER
        assert (await service.status_of(session, row)).categories == ["document-retention"]
        sealed_file = await session.get(Attachment, attachment.id)
        assert sealed_file is not None
        assert sealed_file.keyed
        assert await content.open_attachment(session, SEALER, sealed_file) == PHOTO
        # a shredded report's legacy content is erased, never sealed under a new key
        assert await session.get(DataKeys, gone.id) is None
        erased = await session.get(Attachment, gone_file.id)
        assert erased is not None
        assert erased.sealed == b""
    assert len(await raw_rows(db, "data_key")) == 1


# the service as it runs: the event from case-management, the RPCs the gateway calls

def _envelope(event: CaseShredded, event_id: UUID | None = None) -> tuple[UUID, bytes]:
    event_id = event_id or uuid7()
    envelope = Envelope[CaseShredded](id=event_id, type=Evt.CASE_SHREDDED,
                                      source="/suara/case-management", time=utcnow(), data=event)
    return event_id, envelope.model_dump_json().encode()


async def test_the_running_service_consumes_case_shredded(
        nats_url: str, database_url: Callable[[str], str], tmp_path: Path) -> None:
    url = database_url("intake")
    settings = IntakeSettings(database_url=url, nats_url=nats_url, var_dir=tmp_path, env="test")
    async with migrated(MIGRATIONS, url) as seeded:  # a report from before data keys
        await STORE.ensure_default(with_ring(seeded))
        legacy, _ = await _legacy(seeded, {"categories": ["unpaid-wages"],
                                           "what_happened": MARKER, "country": "MY"},
                                  sealer=Sealer(settings.attachment_key.get_secret_value()))
    app = build(settings)
    await app.start()
    nc = await nats.connect(nats_url)
    try:
        assert_no_plaintext(await raw_rows(app.db, "submission"))  # sealed at start
        same_key = service.ReceiptPolicy(key=settings.receipt_key.get_secret_value().encode(),
                                         max_failures=10, lockout=timedelta(minutes=15))
        async with app.transaction() as session:
            sub, receipt, _ = await service.submit(session, STORE, REPORT, ORGS, same_key,
                                                   vault())
        status = StatusQuery(reference=sub.reference, receipt=receipt)
        before = await call(nc, Rpc.INTAKE_STATUS, status, ReportStatus)
        assert before.answers["what_happened"] == MARKER
        assert before.content_deleted_on is None

        event = CaseShredded(case_id=uuid7(), submission_id=sub.id, organisation="tenaganita",
                             shredded_on=SHREDDED_ON)
        js = nc.jetstream()
        first, payload = _envelope(event)
        second, again = _envelope(event)  # case-management shredding it a second time
        for event_id, body in ((first, payload), (first, payload), (second, again)):
            await js.publish(Evt.CASE_SHREDDED, body, headers={"Nats-Msg-Id": str(event_id)})
        await js.publish(Evt.CASE_SHREDDED, _envelope(CaseShredded(
            case_id=uuid7(), submission_id=legacy.id, organisation="tenaganita",
            shredded_on=SHREDDED_ON))[1])

        async def handled() -> bool:
            async with app.db.transaction() as session:
                done = {row.event_id for row in (await session.exec(select(Inbox))).all()
                        if row.consumer == "intake-case-shredded"}
                shredded = await session.get(Submission, legacy.id)
            return {first, second} <= done and len(done) == 3 and shredded is not None \
                and shredded.shredded_on is not None

        await eventually(handled)
        after = await call(nc, Rpc.INTAKE_STATUS, status, ReportStatus)
        assert (after.status, after.received_on, after.answers) == ("received", today(), {})
        assert after.content_deleted_on == SHREDDED_ON
        with pytest.raises(Gone) as refused:  # problem+json over NATS, never a 500
            await call(nc, Rpc.INTAKE_FOLLOW_UP,
                       FollowUp(reference=sub.reference, receipt=receipt, text="hello"),
                       FollowUpSent)
        assert refused.value.status == 410
        assert "deleted on 2031-05-01" in refused.value.detail
        async with app.db.transaction() as session:
            assert (await session.exec(select(DataKeys))).all() == []
    finally:
        await nc.close()
        await app.stop()
