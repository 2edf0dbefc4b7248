"""Per-recipient iCalendar invitations, parsed back with icalendar."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from icalendar import Calendar, Event

from suara_mediation.ical import (
    TEXT,
    Organiser,
    Party,
    Recipient,
    Representative,
    Role,
    SessionInvite,
    Worker,
    invitation,
    language,
)

SESSION_ID = UUID("0199b3a2-7c41-7d2e-9a51-3f0c2d8e4b17")
STAMP = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
WORKER = Worker(alias="Rose M.")
REPRESENTATIVE = Representative(alias="Advocate Lily")
EMPLOYER = Party(Role.EMPLOYER, "Tan Ah Kow", "ahkow.tan@goldenharvest-agency.example")
EMPLOYER_HR = Party(Role.EMPLOYER, "Jennifer Lo", "jlo@goldenharvest-agency.example")
INTERPRETER = Party(Role.INTERPRETER, "Daw Khin Myint", "khin.myint@interpreters.example",
                    language="my")
MEDIATOR = Party(Role.MEDIATOR, "Maria Santos", "maria.santos@apmm.example")
OBSERVER = Party(Role.OBSERVER, "Siti Rahayu", "siti.rahayu@cso-watch.example")
ORGANISER = Organiser("Maria Santos", "mediation@apmm.suara.example")
CASE_REFERENCE = "SU-2026-0042"
NOTES = "Unpaid wages and passport retention by Golden Harvest Agency"
OTHERS_PERSONAL = [
    EMPLOYER.name, EMPLOYER.email, EMPLOYER_HR.name, EMPLOYER_HR.email, INTERPRETER.name,
    INTERPRETER.email, OBSERVER.name, OBSERVER.email, MEDIATOR.name, MEDIATOR.email,
    "Golden Harvest", "goldenharvest", CASE_REFERENCE, "passport", "wages"]


def session(**changes: object) -> SessionInvite:
    base = SessionInvite(
        session_id=SESSION_ID, sequence=0,
        starts_at=datetime(2026, 3, 9, 6, 0, tzinfo=UTC),
        ends_at=datetime(2026, 3, 9, 7, 30, tzinfo=UTC), mode="in-person",
        organisation="APMM", organiser=ORGANISER,
        attendees=(WORKER, REPRESENTATIVE, EMPLOYER, EMPLOYER_HR, INTERPRETER, MEDIATOR,
                   OBSERVER),
        location="Room 3, 2/F; 12 Nathan Road\nKowloon", case_reference=CASE_REFERENCE,
        notes=NOTES)
    return replace(base, **changes)  # type: ignore[arg-type]


def parse(raw: bytes) -> tuple[Calendar, Event]:
    calendar = Calendar.from_ical(raw)
    [event] = calendar.events
    return calendar, event


def unfolded(raw: bytes) -> str:
    """The file's text with folded lines joined, so a name split across lines is still found."""
    return raw.decode().replace("\r\n ", "")


def copy_for(attendee: Worker | Representative | Party, zone: str = "Asia/Hong_Kong",
             lang: str = "en", method: str = "REQUEST", **changes: object) -> bytes:
    return invitation(session(**changes), Recipient(attendee, zone, lang), method,  # type: ignore[arg-type]
                      stamp=STAMP)


def test_uid_is_stable_across_request_reschedule_and_cancel() -> None:
    first = session()
    moved = replace(first, sequence=1, starts_at=first.starts_at + timedelta(days=2),
                    ends_at=first.ends_at + timedelta(days=2))
    cancelled = replace(moved, sequence=2)
    recipient = Recipient(EMPLOYER, "Asia/Hong_Kong")
    files = [invitation(first, recipient, "REQUEST", stamp=STAMP),
             invitation(moved, recipient, "REQUEST", stamp=STAMP),
             invitation(cancelled, recipient, "CANCEL", stamp=STAMP)]
    parsed = [parse(raw) for raw in files]
    assert [str(cal["METHOD"]) for cal, _ in parsed] == ["REQUEST", "REQUEST", "CANCEL"]
    assert {str(event["UID"]) for _, event in parsed} == {f"{SESSION_ID}@suara.example"}
    assert [event["SEQUENCE"] for _, event in parsed] == [0, 1, 2]
    assert [event.get("STATUS") for _, event in parsed] == [None, None, "CANCELLED"]
    assert parsed[1][1].start.astimezone(UTC) == moved.starts_at
    worker_cancel = parse(copy_for(WORKER, method="CANCEL", sequence=2))[1]
    assert str(worker_cancel["UID"]) == f"{SESSION_ID}@suara.example"
    assert all(str(cal["PRODID"]).startswith("-//Suara//") for cal, _ in parsed)
    assert all(event["DTSTAMP"].dt == STAMP for _, event in parsed)


def test_crlf_and_folded_lines() -> None:
    raw = copy_for(WORKER, lang="my")
    assert raw.endswith(b"\r\n")
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 75


# UTC instants on both sides of the 2026 switches: New York 8 March / 1 November, London
# 29 March / 25 October. The expected local wall times are written out, not computed.
MATRIX = [
    (datetime(2026, 3, 7, 15, 0, tzinfo=UTC), {
        "America/New_York": "20260307T100000", "Europe/London": "20260307T150000",
        "Asia/Hong_Kong": "20260307T230000", "Asia/Yangon": "20260307T213000"}),
    (datetime(2026, 3, 9, 15, 0, tzinfo=UTC), {
        "America/New_York": "20260309T110000", "Europe/London": "20260309T150000",
        "Asia/Hong_Kong": "20260309T230000", "Asia/Yangon": "20260309T213000"}),
    (datetime(2026, 3, 8, 15, 0, tzinfo=UTC), {  # New York's switch day itself
        "America/New_York": "20260308T110000", "Europe/London": "20260308T150000",
        "Asia/Hong_Kong": "20260308T230000", "Asia/Yangon": "20260308T213000"}),
    (datetime(2026, 3, 28, 10, 0, tzinfo=UTC), {
        "America/New_York": "20260328T060000", "Europe/London": "20260328T100000",
        "Asia/Hong_Kong": "20260328T180000", "Asia/Yangon": "20260328T163000"}),
    (datetime(2026, 3, 30, 10, 0, tzinfo=UTC), {
        "America/New_York": "20260330T060000", "Europe/London": "20260330T110000",
        "Asia/Hong_Kong": "20260330T180000", "Asia/Yangon": "20260330T163000"}),
    (datetime(2026, 10, 24, 10, 0, tzinfo=UTC), {
        "America/New_York": "20261024T060000", "Europe/London": "20261024T110000",
        "Asia/Hong_Kong": "20261024T180000", "Asia/Yangon": "20261024T163000"}),
    (datetime(2026, 10, 26, 10, 0, tzinfo=UTC), {
        "America/New_York": "20261026T060000", "Europe/London": "20261026T100000",
        "Asia/Hong_Kong": "20261026T180000", "Asia/Yangon": "20261026T163000"}),
    (datetime(2026, 10, 31, 15, 0, tzinfo=UTC), {
        "America/New_York": "20261031T110000", "Europe/London": "20261031T150000",
        "Asia/Hong_Kong": "20261031T230000", "Asia/Yangon": "20261031T213000"}),
    (datetime(2026, 11, 2, 15, 0, tzinfo=UTC), {
        "America/New_York": "20261102T100000", "Europe/London": "20261102T150000",
        "Asia/Hong_Kong": "20261102T230000", "Asia/Yangon": "20261102T213000"}),
]


def _vtimezone_offset(calendar: Calendar, zone: str, wall: datetime) -> timedelta:
    """The UTC offset the file's own VTIMEZONE gives a local wall time."""
    [tz] = [tz for tz in calendar.timezones if str(tz["TZID"]) == zone]
    started = [c for c in tz.subcomponents if c["DTSTART"].dt <= wall]
    return max(started, key=lambda c: c["DTSTART"].dt)["TZOFFSETTO"].td


@pytest.mark.parametrize(("instant", "expected"), MATRIX,
                         ids=[m[0].strftime("%Y-%m-%dT%H%MZ") for m in MATRIX])
def test_local_time_for_each_recipient(instant: datetime, expected: dict[str, str]) -> None:
    for zone, wall_text in expected.items():
        raw = copy_for(INTERPRETER, zone=zone, starts_at=instant,
                       ends_at=instant + timedelta(hours=1))
        calendar, event = parse(raw)
        assert event["DTSTART"].params["TZID"] == zone
        assert f"DTSTART;TZID={zone}:{wall_text}" in unfolded(raw)
        wall = datetime.strptime(wall_text, "%Y%m%dT%H%M%S")
        assert wall - _vtimezone_offset(calendar, zone, wall) == instant.replace(tzinfo=None)
        assert event.start.astimezone(UTC) == instant
        assert event.end.astimezone(UTC) == instant + timedelta(hours=1)


def test_yangon_half_hour_offset_in_vtimezone() -> None:
    raw = copy_for(WORKER, zone="Asia/Yangon")
    assert "TZOFFSETTO:+0630" in unfolded(raw)


@pytest.mark.parametrize("method", ["REQUEST", "CANCEL"])
@pytest.mark.parametrize("worker_side", [WORKER, REPRESENTATIVE])
def test_worker_copy_names_no_other_party(worker_side: Worker | Representative,
                                          method: str) -> None:
    raw = copy_for(worker_side, method=method, sequence=3)
    text = unfolded(raw)
    for secret in OTHERS_PERSONAL:
        assert secret.lower() not in text.lower(), secret
    _, event = parse(raw)
    assert str(event["ORGANIZER"]) == f"mailto:{ORGANISER.mailbox}"
    assert event["ORGANIZER"].params["CN"] == "Mediator"
    assert all(not str(a).startswith("mailto:") for a in event["ATTENDEE"])
    names = {a.params["CN"] for a in event["ATTENDEE"]}
    assert names == {WORKER.alias, REPRESENTATIVE.alias, "Employer side",
                     "Interpreter (မြန်မာဘာသာ)", "Mediator", "Observer"}


def test_worker_side_cannot_carry_a_real_identity() -> None:
    with pytest.raises(TypeError):
        Worker(alias="Rose M.", name="Rosalinda Macaraeg")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Worker(alias="Rose M.", email="rosalinda@example.com")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="alias"):
        Party(Role.WORKER, "Rosalinda Macaraeg", "rosalinda@example.com")


def test_employer_copy_shows_the_worker_by_alias_and_nobody_else_in_full() -> None:
    raw = copy_for(EMPLOYER, zone="Asia/Hong_Kong")
    _, event = parse(raw)
    by_name = {a.params["CN"]: str(a) for a in event["ATTENDEE"]}
    assert by_name[WORKER.alias].startswith("urn:uuid:")
    assert by_name[EMPLOYER.name] == f"mailto:{EMPLOYER.email}"
    text = unfolded(raw)
    for secret in [EMPLOYER_HR.name, EMPLOYER_HR.email, INTERPRETER.name, INTERPRETER.email,
                   OBSERVER.name, OBSERVER.email, MEDIATOR.email, CASE_REFERENCE, NOTES]:
        assert secret not in text, secret
    assert event["ORGANIZER"].params["CN"] == ORGANISER.name


def test_mediator_copy_has_everyone_and_the_case() -> None:
    _, event = parse(copy_for(MEDIATOR))
    addresses = {str(a) for a in event["ATTENDEE"]}
    for party in (EMPLOYER, EMPLOYER_HR, INTERPRETER, MEDIATOR, OBSERVER):
        assert f"mailto:{party.email}" in addresses
    assert {a.params["CN"] for a in event["ATTENDEE"]} >= {WORKER.alias, REPRESENTATIVE.alias}
    assert CASE_REFERENCE in str(event["DESCRIPTION"])
    assert NOTES in str(event["DESCRIPTION"])


def test_opaque_addresses_are_stable_across_copies() -> None:
    def worker_address(raw: bytes) -> str:
        return next(str(a) for a in parse(raw)[1]["ATTENDEE"] if a.params["CN"] == WORKER.alias)

    assert worker_address(copy_for(WORKER)) == worker_address(copy_for(EMPLOYER, sequence=4))


def test_location_escaping_round_trips() -> None:
    location = "Room 3, 2/F; 12 Nathan Road\nKowloon, Hong Kong"
    raw = copy_for(EMPLOYER, location=location)
    assert r"Room 3\, 2/F\; 12 Nathan Road\nKowloon\, Hong Kong" in unfolded(raw)
    assert parse(raw)[1]["LOCATION"] == location


def test_location_only_for_the_roles_given() -> None:
    limited = {"location": "https://video.example/join/abc", "mode": "video",
               "location_roles": frozenset({Role.WORKER, Role.MEDIATOR})}
    assert parse(copy_for(WORKER, **limited))[1]["LOCATION"] == limited["location"]
    assert "LOCATION" not in parse(copy_for(EMPLOYER, **limited))[1]


@pytest.mark.parametrize(("code", "expected"), [
    ("en", "en"), ("id", "id"), ("fil", "fil"), ("tl", "fil"), ("ms", "ms"), ("th", "th"),
    ("vi", "vi"), ("km", "km"), ("my", "my"), ("zh_Hant", "zh_Hant"), ("zh-Hant", "zh_Hant"),
    ("zh-TW", "zh_Hant"), ("id-ID", "id"), ("de", "en"), ("", "en")])
def test_summary_follows_the_recipients_language(code: str, expected: str) -> None:
    assert language(code) == expected
    _, event = parse(copy_for(WORKER, lang=code))
    assert str(event["SUMMARY"]) == f"{TEXT[expected]['session']} · APMM"
    assert event["SUMMARY"].params["LANGUAGE"] == expected.replace("_", "-")
    assert str(event["DESCRIPTION"]).startswith(TEXT[expected]["format"].split("{")[0])


def test_cancel_text_is_translated() -> None:
    _, event = parse(copy_for(WORKER, lang="vi", method="CANCEL", sequence=1))
    assert str(event["DESCRIPTION"]) == TEXT["vi"]["cancelled"]


def test_every_language_has_every_string_with_the_same_placeholders() -> None:
    placeholders = re.compile(r"\{\w+\}")
    for lang, strings in TEXT.items():
        assert strings.keys() == TEXT["en"].keys(), lang
        for key, text in strings.items():
            assert placeholders.findall(text) == placeholders.findall(TEXT["en"][key]), (lang, key)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="not one of"):
        invitation(session(), Recipient(Worker("Someone else"), "Asia/Hong_Kong"), "REQUEST")
    with pytest.raises(ValueError, match="time zone"):
        copy_for(WORKER, zone="Mars/Olympus_Mons")
    with pytest.raises(ValueError, match="timezone-aware"):
        session(starts_at=datetime(2026, 3, 9, 6, 0))
    with pytest.raises(ValueError, match="end after"):
        session(ends_at=datetime(2026, 3, 9, 5, 0, tzinfo=UTC))
    with pytest.raises(ValueError, match="METHOD"):
        copy_for(WORKER, method="PUBLISH")
