"""Intake's rules against a SQLite database built by its migrations."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from suara_contracts.events import SubmissionReceived
from suara_contracts.rpc import (
    Actor,
    ClaimReceipt,
    FollowUp,
    OnBehalfReport,
    StatusQuery,
    SubmitReport,
)
from suara_intake import content, receipts, service
from suara_intake.attachments import Vault
from suara_intake.formstore import FormStore
from suara_intake.handlers import MIGRATIONS
from suara_intake.models import Attachment, DataKeys, Submission
from suara_intake.settings import IntakeSettings
from suara_kit.clock import today, utcnow
from suara_kit.datakeys import use_keys
from suara_kit.db import Database
from suara_kit.errors import Conflict, Forbidden, NotFound, TooManyAttempts, ValidationFailed
from suara_kit.ids import uuid7
from suara_kit.sealing import Sealer, SealError
from suara_kit.testing import migrated

ORGS = ["tenaganita", "apmm"]
POLICY = service.ReceiptPolicy(key=b"k" * 32, max_failures=3, lockout=timedelta(minutes=15))
REPORT = SubmitReport(organisation="tenaganita", language="id", answers={
    "categories": ["unpaid-wages", "confinement"],
    "what_happened": "Majikan saya tidak membayar gaji.",
    "country": "MY",
})


STORE = FormStore()


@pytest.fixture
async def db(database_url: Callable[[str], str]) -> AsyncIterator[Database]:
    async with migrated(MIGRATIONS, database_url("intake")) as database:
        use_keys(database, IntakeSettings(), DataKeys)
        await STORE.ensure_default(database)
        yield database


class Clock:
    """utcnow() for intake's service module, moved by hand."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(service, "utcnow", clock)
    return clock


async def submit(db: Database, report: SubmitReport = REPORT) -> tuple[Submission, str]:
    async with db.transaction() as session:
        sub, receipt, _ = await service.submit(session, STORE, report, ORGS, POLICY)
    return sub, receipt


async def check(db: Database, reference: str, receipt: str) -> Submission | None:
    async with db.transaction() as session:
        return await service.check_receipt(session, StatusQuery(reference=reference,
                                                                receipt=receipt), POLICY)


async def stored(db: Database, reference: str) -> Submission:
    async with db.transaction() as session:
        found = (await session.exec(select(Submission).where(Submission.reference == reference))
                 ).one()
    return found


async def answers_of(db: Database, sub: Submission) -> dict:
    async with db.transaction() as session:
        return await content.answers_of(session, sub)


async def test_submit_stores_the_report_and_returns_the_event(db: Database) -> None:
    async with db.transaction() as session:
        sub, receipt, event = await service.submit(session, STORE, REPORT, ORGS, POLICY)
    row = await stored(db, sub.reference)
    assert row.organisation == "tenaganita"
    assert row.language == "id"
    assert await answers_of(db, row) == REPORT.answers
    assert (row.risk, row.risk_reasons) == ("high", ["confinement"])
    assert row.received_on == today()
    assert row.status == "received"
    assert (row.failed_attempts, row.locked_until) == (0, None)
    assert event.submission_id == row.id
    assert event.reference == row.reference
    assert (event.risk, event.risk_reasons) == ("high", ["confinement"])
    assert receipt not in event.model_dump_json()
    assert receipts.normalise(receipt) not in event.model_dump_json()


async def test_submit_stores_only_salt_and_keyed_hash(db: Database) -> None:
    _, receipt = await submit(db)
    async with db.engine.connect() as conn:
        raw = (await conn.execute(text("SELECT * FROM submission"))).mappings().one()
    assert raw["receipt_hash"] == receipts.receipt_hash(POLICY.key, raw["receipt_salt"], receipt)
    assert len(raw["receipt_salt"]) == 16
    forms_of_receipt = {receipt, receipts.normalise(receipt), receipt.lower(),
                        receipts.normalise(receipt).lower()}
    for value in raw.values():
        as_text = value.hex() if isinstance(value, bytes) else str(value)
        for form in forms_of_receipt:
            assert form not in as_text
            if isinstance(value, bytes):
                assert form.encode() not in value
    if db.url.startswith("sqlite"):  # the whole file, free pages and all
        await db.dispose()
        with sqlite3.connect(db.url.split("///", 1)[1]) as plain:
            dump = "\n".join(plain.iterdump())
        assert "INSERT INTO \"submission\"" in dump
        assert receipts.normalise(receipt) not in dump.upper()


async def test_two_submissions_get_distinct_references_and_salts(db: Database) -> None:
    first, _ = await submit(db)
    second, _ = await submit(db)
    assert first.reference != second.reference
    assert first.receipt_salt != second.receipt_salt


async def test_a_reference_already_taken_is_drawn_again(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    drawn = iter(["SU-AAAA-AAAA", "SU-AAAA-AAAA", "SU-BBBB-BBBB"])
    monkeypatch.setattr(receipts, "new_reference", lambda: next(drawn))
    runs = 0

    async def file() -> Submission:
        nonlocal runs
        runs += 1
        return (await submit(db))[0]

    first = await service.with_fresh_reference(file)
    second = await service.with_fresh_reference(file)
    assert (first.reference, second.reference) == ("SU-AAAA-AAAA", "SU-BBBB-BBBB")
    assert runs == 3  # the second report's first run drew the taken one and was rolled back
    async with db.transaction() as session:
        rows = (await session.exec(select(Submission))).all()
    assert sorted(row.reference for row in rows) == ["SU-AAAA-AAAA", "SU-BBBB-BBBB"]


async def test_references_that_stay_taken_give_up_after_three_draws(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(receipts, "new_reference", lambda: "SU-CCCC-CCCC")
    await submit(db)
    runs = 0

    async def file() -> Submission:
        nonlocal runs
        runs += 1
        return (await submit(db))[0]

    with pytest.raises(IntegrityError):
        await service.with_fresh_reference(file)
    assert runs == service.REFERENCE_ATTEMPTS


async def test_other_constraint_failures_are_not_retried() -> None:
    runs = 0

    async def file() -> None:
        nonlocal runs
        runs += 1
        raise IntegrityError("INSERT", {}, Exception('duplicate key value violates unique '
                                                     'constraint "pk_rpc_replay"'))

    with pytest.raises(IntegrityError):
        await service.with_fresh_reference(file)
    assert runs == 1


async def test_normal_risk_without_danger_signals(db: Database) -> None:
    report = REPORT.model_copy(update={"answers": REPORT.answers | {"categories": ["no-rest-day"]}})
    sub, _ = await submit(db, report)
    assert (sub.risk, sub.risk_reasons) == ("normal", [])


async def test_unknown_organisation_is_422(db: Database) -> None:
    report = REPORT.model_copy(update={"organisation": "nobody"})
    with pytest.raises(ValidationFailed) as info:
        await submit(db, report)
    assert info.value.status == 422
    assert info.value.extra["errors"] == [
        {"field": "organisation", "code": "not-an-organisation",
         "message": "this organisation does not take reports here"}]
    async with db.transaction() as session:
        assert (await session.exec(select(Submission))).all() == []


async def test_invalid_answers_store_nothing(db: Database) -> None:
    report = REPORT.model_copy(update={"answers": {"what_happened": "x"}})
    with pytest.raises(ValidationFailed):
        await submit(db, report)
    async with db.transaction() as session:
        assert (await session.exec(select(Submission))).all() == []


async def test_right_receipt_finds_the_submission(db: Database, clock: Clock) -> None:
    sub, receipt = await submit(db)
    found = await check(db, sub.reference.lower().replace("-", " "), receipt.lower())
    assert found is not None
    assert found.id == sub.id
    async with db.transaction() as session:
        view = await service.status_of(session, found)
    assert (view.reference, view.submission_id, view.status) == (sub.reference, sub.id,
                                                                 "received")


async def test_unknown_reference_is_not_found(db: Database, clock: Clock) -> None:
    await submit(db)
    with pytest.raises(NotFound) as info:
        await check(db, "SU-0000-0000", receipts.new_receipt())
    assert info.value.detail == service.WRONG_RECEIPT


async def test_wrong_receipt_counts_and_success_resets(db: Database, clock: Clock) -> None:
    sub, receipt = await submit(db)
    assert await check(db, sub.reference, receipts.new_receipt()) is None
    assert await check(db, sub.reference, receipts.new_receipt()) is None
    assert (await stored(db, sub.reference)).failed_attempts == 2
    assert await check(db, sub.reference, receipt) is not None
    row = await stored(db, sub.reference)
    assert (row.failed_attempts, row.locked_until) == (0, None)


async def test_lockout_refuses_even_the_right_receipt(db: Database, clock: Clock) -> None:
    sub, receipt = await submit(db)
    for _ in range(POLICY.max_failures):
        assert await check(db, sub.reference, receipts.new_receipt()) is None
    row = await stored(db, sub.reference)
    assert row.locked_until == clock.now + POLICY.lockout

    for presented in (receipt, receipts.new_receipt()):
        with pytest.raises(TooManyAttempts) as info:
            await check(db, sub.reference, presented)
        assert info.value.status == 429
        retry_after = info.value.extra["retry_after"]
        assert POLICY.lockout.total_seconds() <= retry_after <= POLICY.lockout.total_seconds() + 60

    clock.now += POLICY.lockout - timedelta(seconds=1)
    with pytest.raises(TooManyAttempts) as info:
        await check(db, sub.reference, receipt)
    assert 1 <= info.value.extra["retry_after"] <= 60

    clock.now += timedelta(seconds=2)
    found = await check(db, sub.reference, receipt)
    assert found is not None
    assert found.id == sub.id
    row = await stored(db, sub.reference)
    assert (row.failed_attempts, row.locked_until) == (0, None)


async def test_lockout_is_per_reference(db: Database, clock: Clock) -> None:
    locked, _ = await submit(db)
    other, other_receipt = await submit(db)
    for _ in range(POLICY.max_failures):
        await check(db, locked.reference, receipts.new_receipt())
    with pytest.raises(TooManyAttempts):
        await check(db, locked.reference, receipts.new_receipt())
    assert await check(db, other.reference, other_receipt) is not None


async def test_wrong_receipts_after_lockout_start_a_fresh_count(db: Database,
                                                                clock: Clock) -> None:
    sub, _ = await submit(db)
    for _ in range(POLICY.max_failures):
        await check(db, sub.reference, receipts.new_receipt())
    clock.now += POLICY.lockout + timedelta(seconds=1)
    assert await check(db, sub.reference, receipts.new_receipt()) is None
    assert (await stored(db, sub.reference)).failed_attempts == 1


async def test_case_events_update_the_submission(db: Database) -> None:
    sub, _ = await submit(db)
    case_id = uuid7()
    async with db.transaction() as session:
        await service.case_opened(session, sub.id, case_id)
        await service.case_status_changed(session, sub.id, "acknowledged")
    row = await stored(db, sub.reference)
    assert (row.case_id, row.status) == (case_id, "acknowledged")


HANDLER = Actor(subject="staff-3", roles=["case-handler"], organisation="tenaganita")
PARTNER = Actor(subject="svc-map", roles=["cso-partner"], organisation="map-foundation",
                client_id="partner-map-foundation")


async def on_behalf(db: Database, actor: Actor, channel: str = "assisted"
                    ) -> tuple[Submission, str, SubmissionReceived]:
    report = OnBehalfReport(actor=actor, channel=channel, answers=REPORT.answers)
    async with db.transaction() as session:
        return await service.submit_on_behalf(session, STORE, report, [*ORGS, "map-foundation"],
                                              POLICY, timedelta(days=14))


async def claim(db: Database, reference: str, code: str) -> tuple[Submission, str] | None:
    async with db.transaction() as session:
        return await service.claim(session, ClaimReceipt(reference=reference, claim_code=code),
                                   POLICY)


async def test_assisted_filing_gives_a_claim_code_not_a_receipt(db: Database) -> None:
    sub, code, event = await on_behalf(db, HANDLER)
    assert sub.receipt_hash is None
    assert sub.organisation == "tenaganita"
    assert event.channel == "assisted"
    assert len(receipts.normalise(code)) * 5 >= 50
    assert await check(db, sub.reference, code) is None  # a claim code is no receipt


async def test_claiming_sets_a_receipt_only_the_worker_knows_and_kills_the_code(
        db: Database) -> None:
    sub, code, _ = await on_behalf(db, PARTNER, "partner")
    claimed = await claim(db, sub.reference.lower(), code.lower())
    assert claimed is not None
    _, receipt = claimed
    assert (await check(db, sub.reference, receipt)) is not None
    assert await claim(db, sub.reference, code) is None  # single use


async def test_expired_claim_code_is_a_clear_conflict(db: Database, clock: Clock) -> None:
    sub, code, _ = await on_behalf(db, HANDLER)
    async with db.transaction() as session:
        stored = await session.get(Submission, sub.id)
        assert stored is not None
        stored.claim_by = stored.received_on - timedelta(days=1)
    with pytest.raises(Conflict, match="expired"):
        await claim(db, sub.reference, code)


async def test_filing_on_behalf_needs_the_channel_role_and_an_organisation(db: Database) -> None:
    with pytest.raises(Forbidden, match="cso-partner"):
        await on_behalf(db, HANDLER, "partner")
    with pytest.raises(Forbidden, match="no organisation"):
        await on_behalf(db, Actor(subject="x", roles=["case-handler"]))


async def test_wrong_claim_codes_lock_the_reference(db: Database, clock: Clock) -> None:
    sub, code, _ = await on_behalf(db, HANDLER)
    for _ in range(POLICY.max_failures):
        assert await claim(db, sub.reference, "AAAA-BBBB-CC") is None
    with pytest.raises(TooManyAttempts):
        await claim(db, sub.reference, code)


async def test_check_names_every_problem_at_once(db: Database) -> None:
    report = SubmitReport(organisation="nobody", answers={"categories": ["nope"]})
    async with db.transaction() as session:
        with pytest.raises(ValidationFailed) as info:
            await service.check(session, STORE, report, ORGS)
        fields = [e["field"] for e in info.value.extra["errors"]]
        assert fields[0] == "organisation"
        assert {"answers.categories", "answers.what_happened", "answers.country"} <= set(fields)
        filed = await service.check(session, STORE, REPORT, ORGS)
    assert (filed.version, filed.answers) == (1, REPORT.answers)


class FakeStaging:
    """Uploads waiting for their report, as the gateway would have staged them."""

    def __init__(self, files: dict[str, tuple[str, bytes]]) -> None:
        self.files = files

    async def take(self, token: str) -> tuple[str, bytes]:
        if token not in self.files:
            raise NotFound("expired")
        return self.files[token]

    async def discard(self, token: str) -> None:
        self.files.pop(token, None)


PHOTO = b"\xff\xd8\xff\xe0 cleaned jpeg bytes \xff\xd9"
TOKEN = "t" * 32
SEALER = Sealer("a-test-key-that-is-long-enough")


def vault_with(**files: tuple[str, bytes]) -> Vault:
    return Vault(FakeStaging(dict(files)), SEALER)


async def test_files_named_in_a_report_are_sealed_and_answered_by_id(db: Database) -> None:
    report = REPORT.model_copy(update={"answers": {**REPORT.answers, "evidence": [TOKEN]}})
    async with db.transaction() as session:
        sub, _, event = await service.submit(session, STORE, report, ORGS, POLICY,
                                             vault_with(**{TOKEN: ("image/jpeg", PHOTO)}))
    async with db.transaction() as session:
        stored = (await session.exec(select(Attachment))).one()
    assert (await answers_of(db, sub))["evidence"] == [str(stored.id)] == event.answers["evidence"]
    assert (stored.submission_id, stored.question, stored.media_type, stored.size) == (
        sub.id, "evidence", "image/jpeg", len(PHOTO))
    assert PHOTO not in stored.sealed
    assert b"cleaned jpeg" not in stored.sealed
    assert stored.keyed
    with pytest.raises(SealError):  # sealed with the submission's key, not the service-wide one
        SEALER.open(stored.sealed, stored.id.bytes)
    async with db.transaction() as session:
        assert await content.open_attachment(session, SEALER, stored) == PHOTO


async def test_an_expired_upload_refuses_the_report_and_stores_nothing(db: Database) -> None:
    report = REPORT.model_copy(update={"answers": {**REPORT.answers, "evidence": [TOKEN]}})
    with pytest.raises(ValidationFailed) as info:
        async with db.transaction() as session:
            await service.submit(session, STORE, report, ORGS, POLICY, vault_with())
    assert info.value.extra["errors"][0] == {
        "field": "answers.evidence", "code": "expired",
        "message": "an upload has expired or was already used; attach the file again"}
    async with db.transaction() as session:
        assert (await session.exec(select(Submission))).all() == []
        assert (await session.exec(select(Attachment))).all() == []


async def test_follow_up_needs_the_receipt_and_becomes_an_event(db: Database) -> None:
    sub, receipt = await submit(db)
    vault = vault_with(**{TOKEN: ("application/pdf", b"%PDF-1.7 clean")})
    message = FollowUp(reference=sub.reference, receipt=receipt, kind="information",
                       text="  Gaji April juga belum dibayar.  ", files=[TOKEN])
    async with db.transaction() as session:
        event = await service.follow_up(session, message, POLICY, vault)
    assert event is not None
    assert (event.submission_id, event.kind, event.text) == (
        sub.id, "information", "Gaji April juga belum dibayar.")
    assert event.sent_on == today()
    assert len(event.attachment_ids) == 1
    async with db.transaction() as session:
        stored = await session.get(Attachment, event.attachment_ids[0])
    assert stored is not None
    assert stored.question == "follow-up"
    wrong = message.model_copy(update={"receipt": "WRONG-WRONG-WRONG", "files": []})
    async with db.transaction() as session:
        assert await service.follow_up(session, wrong, POLICY, vault) is None
    assert (await stored_row(db, sub.reference)).failed_attempts == 1


def test_a_follow_up_says_something() -> None:
    with pytest.raises(ValueError, match="write something or attach a file"):
        FollowUp(reference="SU-AAAA-BBBB", receipt="x" * 20, text="   ")


async def stored_row(db: Database, reference: str) -> Submission:
    return await stored(db, reference)
