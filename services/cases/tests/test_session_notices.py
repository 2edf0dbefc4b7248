"""Issue 5: booked, moved and cancelled mediation sessions keep the case's session list right
and reach the worker's inbox once, in their language and their local time, naming nobody."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from sqlmodel import col, select

from suara_cases import content, repository, service, session_notices
from suara_cases.handlers import MIGRATIONS, build
from suara_cases.models import AuditEntry, Case, CaseSession
from suara_cases.session_notices import Change, notice, session_changed
from suara_cases.settings import CasesSettings
from suara_contracts.events import (
    PartyAttendance,
    PartyRef,
    ReporterMessage,
    SessionChanged,
    SubmissionReceived,
)
from suara_contracts.subjects import Evt
from suara_kit.clock import today
from suara_kit.db import Database
from suara_kit.errors import NotFound
from suara_kit.ids import uuid7
from suara_kit.testing import migrated

EMPLOYER_ALIAS = "Tuan Besar"
WORKER_ALIAS = "Siti from Block C"


@pytest.fixture
async def db(database_url: Callable[[str], str]) -> AsyncIterator[Database]:
    async with migrated(MIGRATIONS, database_url("cases")) as database:
        content.use_keys(database, CasesSettings())
        yield database


async def open_case(db: Database, reference: str = "SU-AAAA-BBBB",
                    language: str = "id") -> Case:
    event = SubmissionReceived(
        submission_id=uuid7(), reference=reference, organisation="tenaganita",
        form_version="1", language=language, risk="normal", risk_reasons=[],
        received_on=today(), answers={"what_happened": "x"})
    async with db.transaction() as session:
        opened = await service.open_case(session, event, timedelta(days=7))
    assert opened is not None
    async with db.transaction() as session:
        case = await session.get(Case, opened.case_id)
    assert case is not None
    return case


def party(role: str, alias: str, zone: str, language: str) -> PartyRef:
    return PartyRef(party_id=uuid7(), role=role, alias=alias, timezone=zone, language=language)


def changed(case: Case, starts_at: datetime, *, language: str = "id",
            zone: str = "Asia/Jakarta", sequence: int = 0, booking_id: UUID | None = None,
            mode: str = "video", hours: int = 1, parties: list[PartyRef] | None = None,
            cancel_reason: str | None = None) -> SessionChanged:
    return SessionChanged(
        booking_id=booking_id or uuid7(), mediation_id=uuid7(), case_id=case.id,
        organisation=case.organisation, starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=hours), timezone="Asia/Kuala_Lumpur", mode=mode,
        sequence=sequence, cancel_reason=cancel_reason,
        parties=parties if parties is not None else [
            party("employer", EMPLOYER_ALIAS, "Asia/Kuala_Lumpur", "ms"),
            party("worker", WORKER_ALIAS, zone, language),
            party("interpreter", "Interpreter Dewi", "Asia/Kuala_Lumpur", "id")])


async def apply(db: Database, change: Change, event: SessionChanged) -> ReporterMessage | None:
    async with db.transaction() as session:
        return await session_changed(session, change, event, today())


async def inbox(db: Database, case: Case) -> list[tuple[str, str, str]]:
    """(author, kind, body) of every message on the case, oldest first."""
    async with db.transaction() as session:
        fresh = await session.get(Case, case.id)
        assert fresh is not None
        messages = await repository.messages_of(session, case.id)
        bodies = await content.bodies_of(session, fresh, messages)
    return [(m.author, m.kind, bodies[m.id]) for m in messages]


async def sessions(db: Database, case: Case) -> list[CaseSession]:
    async with db.transaction() as session:
        return (await repository.sessions_of(session, [case.id])).get(case.id, [])


async def actions(db: Database, case: Case) -> list[str]:
    async with db.transaction() as session:
        return list(await session.exec(select(AuditEntry.action).where(
            AuditEntry.case_id == case.id).order_by(col(AuditEntry.seq))))


async def test_a_booking_is_kept_and_told_in_indonesian_in_jakarta_time(db: Database) -> None:
    case = await open_case(db)
    event = changed(case, datetime(2026, 12, 3, 3, 0, tzinfo=UTC))  # 10:00 in Jakarta
    told = await apply(db, "booked", event)

    assert told is not None
    assert (told.case_id, told.submission_id, told.organisation, told.asks) == (
        case.id, case.submission_id, "tenaganita", None)
    assert await inbox(db, case) == [("system", "to-reporter", told.body)]
    assert told.body.splitlines() == [
        "Sesi mediasi untuk kasus Anda telah dijadwalkan.",
        "Waktu: Kamis, 03 Desember 2026, pukul 10.00–11.00 (waktu Jakarta).",
        "Bentuk: panggilan video.",
        "Pihak pemberi kerja juga akan hadir.",
        "Seorang juru bahasa akan hadir untuk membantu Anda.",
        "Jika waktu ini tidak cocok bagi Anda, atau jika Anda punya pertanyaan, Anda dapat "
        "membalas melalui halaman ini."]
    for name in (EMPLOYER_ALIAS, WORKER_ALIAS, "Dewi"):
        assert name not in told.body

    [kept] = await sessions(db, case)
    assert (kept.id, kept.starts_at, kept.ends_at, kept.mode, kept.sequence, kept.cancelled) == (
        event.booking_id, event.starts_at, event.ends_at, "video", 0, False)
    async with db.transaction() as session:
        fresh = await session.get(Case, case.id)
        assert fresh is not None
        assert fresh.last_update_on is None  # the system's notice is not the handler's update
        [ref] = service.summary(fresh, [kept]).sessions
    assert (ref.session_id, ref.cancelled) == (event.booking_id, False)
    assert await actions(db, case) == ["open", "session-booked"]


async def test_burmese_worker_reads_yangon_time_half_an_hour_off(db: Database) -> None:
    case = await open_case(db, language="my")
    event = changed(case, datetime(2026, 12, 3, 3, 30, tzinfo=UTC), language="my",
                    zone="Asia/Yangon", mode="in-person")
    told = await apply(db, "booked", event)
    assert told is not None
    assert "10:00–11:00" in told.body  # 03:30 UTC is 10:00 at +06:30
    assert "ဒီဇင်ဘာ" in told.body  # December
    assert "ကြာသပတေး" in told.body  # Thursday
    assert "Yangon အချိန်" in told.body
    assert "လူကိုယ်တိုင်" in told.body  # in person
    assert EMPLOYER_ALIAS not in told.body


async def test_new_york_time_is_right_on_both_sides_of_the_dst_switch(db: Database) -> None:
    case = await open_case(db, language="en")
    booking = uuid7()
    before = changed(case, datetime(2026, 10, 30, 13, 0, tzinfo=UTC), language="en",
                     zone="America/New_York", booking_id=booking)  # 09:00 EDT (UTC-4)
    booked = await apply(db, "booked", before)
    assert booked is not None
    assert "When: Friday, 30 October 2026, 09:00–10:00 (New York time)." in booked.body

    after = changed(case, datetime(2026, 11, 2, 14, 0, tzinfo=UTC), language="en",
                    zone="America/New_York", booking_id=booking, sequence=1)  # 09:00 EST
    moved = await apply(db, "rescheduled", after)
    assert moved is not None
    assert moved.body.splitlines()[:3] == [
        "The mediation session for your case has been moved to a new time.",
        "When: Monday, 2 November 2026, 09:00–10:00 (New York time).",
        "How: by video call."]
    assert [m[2] for m in await inbox(db, case)] == [booked.body, moved.body]
    [kept] = await sessions(db, case)
    assert (kept.starts_at, kept.ends_at, kept.sequence) == (
        after.starts_at, after.ends_at, 1)


@pytest.mark.parametrize(("language", "zone", "expected"), [
    ("en", "Asia/Hong_Kong", ["booked.", "Thursday, 3 December 2026, 10:00–11:00",
                              "(Hong Kong time)", "reply through this page"]),
    ("id", "Asia/Jakarta", ["dijadwalkan", "Kamis, 03 Desember 2026", "pukul 09.00–10.00",
                            "(waktu Jakarta)", "halaman ini"]),
    ("fil", "Asia/Manila", ["Naka-iskedyul", "Huwebes, Disyembre 3, 2026", "10:00–11:00",
                            "(oras sa Manila)", "pahinang ito"]),
    ("ms", "Asia/Kuala_Lumpur", ["ditetapkan", "Khamis, 3 Disember 2026", "10:00–11:00",
                                 "(waktu Kuala Lumpur)", "halaman ini"]),
    ("th", "Asia/Bangkok", ["การประชุมไกล่เกลี่ย", "วันพฤหัสบดีที่ 3 ธันวาคม", "09:00",
                            "(เวลากรุงเทพ)", "ตอบกลับผ่านหน้านี้"]),
    ("vi", "Asia/Ho_Chi_Minh", ["đặt lịch", "Thứ Năm, 3 tháng 12, 2026", "9:00–10:00",
                                "(giờ Ho Chi Minh)", "trang này"]),
    ("km", "Asia/Phnom_Penh", ["កំណត់ពេល", "ព្រហស្បតិ៍ 3 ធ្នូ 2026", "09:00–10:00",
                               "(ម៉ោងភ្នំពេញ)", "ទំព័រនេះ"]),
    ("my", "Asia/Yangon", ["ချိန်းဆို", "2026 ဒီဇင်ဘာ 3 ကြာသပတေး", "08:30–09:30",
                           "(Yangon အချိန်)", "စာမျက်နှာ"]),
    ("zh-Hant", "Asia/Taipei", ["調解會議", "2026年12月3日 星期四 10:00–11:00", "（台北時間）",
                                "此頁面回覆"]),
    ("zh_Hant", "Asia/Hong_Kong", ["2026年12月3日 星期四 10:00–11:00", "（香港時間）"]),
    ("ne", "Asia/Kathmandu", ["A mediation session for your case has been booked.",
                              "Thursday, 3 December 2026, 07:45–08:45", "(Kathmandu time)"]),
])
def test_each_language_says_when_in_the_workers_own_words_and_zone(
        language: str, zone: str, expected: list[str]) -> None:
    case = Case(id=uuid7(), submission_id=uuid7(), reference="SU-X", organisation="t",
                status="received", risk="normal", risk_reasons=[], language="en",
                received_on=today(), acknowledge_by=today())
    body = notice("booked", changed(case, datetime(2026, 12, 3, 2, 0, tzinfo=UTC),
                                    language=language, zone=zone), fallback_language="ne")
    for part in expected:
        assert part in body, (part, body)
    for name in (EMPLOYER_ALIAS, WORKER_ALIAS, "Dewi"):
        assert name not in body


def test_the_representative_speaks_for_a_worker_with_no_party_and_modes_read_well() -> None:
    case = Case(id=uuid7(), submission_id=uuid7(), reference="SU-X", organisation="t",
                status="received", risk="normal", risk_reasons=[], language="vi",
                received_on=today(), acknowledge_by=today())
    start = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
    represented = changed(case, start, mode="phone", parties=[
        party("employer", EMPLOYER_ALIAS, "Asia/Hong_Kong", "en"),
        party("representative", "Union rep", "Asia/Manila", "fil")])
    body = notice("booked", represented, case.language)
    assert "oras sa Manila" in body
    assert "Paraan: sa telepono." in body
    assert "interpreter" not in body.lower()  # none takes part
    nobody = changed(case, start, parties=[])  # the report's language, the session's zone
    assert "(giờ Kuala Lumpur)" in notice("booked", nobody, case.language)
    unreadable = changed(case, start, zone="Mars/Base", language="en")
    assert "(Kuala Lumpur time)" in notice("booked", unreadable, case.language)


async def test_the_same_change_twice_or_late_tells_the_worker_once(db: Database) -> None:
    case = await open_case(db)
    booking = uuid7()
    booked = changed(case, datetime(2026, 12, 3, 3, 0, tzinfo=UTC), booking_id=booking)
    assert await apply(db, "booked", booked) is not None
    assert await apply(db, "booked", booked) is None  # redelivered
    moved = changed(case, datetime(2026, 12, 4, 3, 0, tzinfo=UTC), booking_id=booking,
                    sequence=1)
    assert await apply(db, "rescheduled", moved) is not None
    assert await apply(db, "rescheduled", moved) is None
    assert await apply(db, "booked", booked) is None  # older than what the case holds
    assert len(await inbox(db, case)) == 2
    [kept] = await sessions(db, case)
    assert (kept.starts_at, kept.sequence) == (moved.starts_at, 1)


async def test_five_durables_are_wired_and_a_change_emits_the_message(
        db: Database, tmp_path: Path) -> None:
    case = await open_case(db)
    emitted: list[tuple[str, Any]] = []

    class App:
        def emit(self, session: Any, subject: str, data: Any) -> None:
            emitted.append((subject, data))

    handlers = {durable: (subject, model, handle)
                for subject, model, durable, handle in session_notices.consumers(App())}
    assert set(handlers) == {"cases-session-booked", "cases-session-rescheduled",
                             "cases-session-cancelled", "cases-party-responded",
                             "cases-party-no-show"}
    subject, model, handle = handlers["cases-session-booked"]
    assert (subject, model) == (Evt.SESSION_BOOKED, SessionChanged)
    async with db.transaction() as session:
        await handle(session, uuid7(), changed(case, datetime(2026, 12, 3, 3, 0, tzinfo=UTC)))
    assert [(s, type(d)) for s, d in emitted] == [(Evt.REPORTER_MESSAGE, ReporterMessage)]

    app = build(CasesSettings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'w.sqlite'}",
                              var_dir=tmp_path))
    durables = {spec.durable: spec.subject for spec in app._consumer_specs}
    assert durables["cases-session-booked"] == Evt.SESSION_BOOKED
    assert durables["cases-session-rescheduled"] == Evt.SESSION_RESCHEDULED
    assert durables["cases-session-cancelled"] == Evt.SESSION_CANCELLED
    assert durables["cases-party-no-show"] == Evt.PARTY_NO_SHOW


async def test_a_cancellation_is_marked_and_told_without_a_reason(db: Database) -> None:
    case = await open_case(db)
    booking = uuid7()
    start = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)
    await apply(db, "booked", changed(case, start, booking_id=booking))
    told = await apply(db, "cancelled", changed(case, start, booking_id=booking, sequence=1,
                                                cancel_reason="employer-unavailable"))
    assert told is not None
    assert told.body.splitlines() == [
        "Sesi mediasi untuk kasus Anda telah dibatalkan. Mediator akan mengusulkan waktu lain.",
        "Sesi itu semula dijadwalkan pada Kamis, 03 Desember 2026, pukul 10.00–11.00 "
        "(waktu Jakarta).",
        "Jika Anda punya pertanyaan, Anda dapat membalas melalui halaman ini."]
    assert "employer-unavailable" not in told.body
    assert EMPLOYER_ALIAS not in told.body
    [kept] = await sessions(db, case)
    assert (kept.cancelled, kept.sequence) == (True, 1)
    async with db.transaction() as session:
        fresh = await session.get(Case, case.id)
        assert fresh is not None
        [ref] = service.summary(fresh, [kept]).sessions
    assert ref.cancelled is True
    # a reschedule that was overtaken by the cancellation neither revives it nor tells anyone
    late = changed(case, start + timedelta(days=1), booking_id=booking, sequence=1)
    assert await apply(db, "rescheduled", late) is None
    assert len(await inbox(db, case)) == 2
    assert (await sessions(db, case))[0].cancelled is True
    assert await actions(db, case) == ["open", "session-booked", "session-cancelled"]


async def test_a_cancellation_the_worker_never_heard_of_is_kept_quietly(db: Database) -> None:
    case = await open_case(db)
    booking = uuid7()
    start = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)
    assert await apply(db, "cancelled", changed(case, start, booking_id=booking,
                                                sequence=1)) is None
    assert await apply(db, "booked", changed(case, start, booking_id=booking)) is None
    assert await inbox(db, case) == []
    [kept] = await sessions(db, case)
    assert (kept.id, kept.cancelled) == (booking, True)


async def test_no_message_for_a_referral_copy_or_a_shredded_case(db: Database) -> None:
    start = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)
    copy = await open_case(db, reference="RF-AAAA-BBBB")
    assert await apply(db, "booked", changed(copy, start)) is None
    assert await inbox(db, copy) == []
    assert len(await sessions(db, copy)) == 1  # the receiving handler still sees it

    gone = await open_case(db, reference="SU-CCCC-DDDD")
    async with db.transaction() as session:
        fresh = await session.get(Case, gone.id)
        assert fresh is not None
        await content.shred(session, fresh, today())
    assert await apply(db, "booked", changed(gone, start)) is None
    assert len(await sessions(db, gone)) == 1


async def test_another_organisations_or_an_unknown_case(db: Database) -> None:
    case = await open_case(db)
    start = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)
    foreign = changed(case, start).model_copy(update={"organisation": "map"})
    assert await apply(db, "booked", foreign) is None
    assert await sessions(db, case) == []
    assert await inbox(db, case) == []
    unknown = changed(case, start).model_copy(update={"case_id": uuid7()})
    with pytest.raises(NotFound):  # retried: the case opens soon, or it is dead-lettered
        await apply(db, "booked", unknown)


async def test_answers_and_no_shows_are_audited_and_tell_nobody(db: Database) -> None:
    case = await open_case(db)
    event = changed(case, datetime(2026, 12, 3, 3, 0, tzinfo=UTC))
    worker = event.parties[1]
    for response in ("accepted", "no-show"):
        async with db.transaction() as session:
            await session_notices.attendance(session, PartyAttendance(
                booking_id=event.booking_id, mediation_id=event.mediation_id, case_id=case.id,
                organisation=case.organisation, starts_at=event.starts_at,
                ends_at=event.ends_at, timezone=event.timezone, sequence=0, party=worker,
                response=response))  # type: ignore[arg-type]
    assert await actions(db, case) == ["open", "session-accepted", "session-no-show"]
    assert await inbox(db, case) == []
