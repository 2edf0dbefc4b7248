"""Referrals and transfers between organisations, on a database built by the migrations (SQLite
and PostgreSQL): the directory, the lifecycle table, consent checked by the server, the
override, share profiles, linked cases and transfers, and the audit trail."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, timedelta
from itertools import product
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from pydantic import BaseModel, ValidationError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_cases import content, referrals, service, work
from suara_cases.handlers import MIGRATIONS
from suara_cases.models import AuditEntry, Case
from suara_cases.referral_models import CaseConsent, CaseReferral, ReferralStep
from suara_cases.referrals import TRANSITIONS, Directory, Status, check_move
from suara_cases.settings import CasesSettings
from suara_contracts.events import ReferralChanged, ReporterFollowUp, SubmissionReceived
from suara_contracts.referrals import (
    CaseReferralsQuery,
    ContactRoute,
    CreateReferral,
    DirectoryQuery,
    MoveReferral,
    Organisation,
    RecordConsent,
    ReferralListQuery,
    ReferralQuery,
    ReferralView,
)
from suara_contracts.rpc import Actor, TransitionCase
from suara_contracts.subjects import Evt, Rpc
from suara_kit import paging
from suara_kit.db import Database
from suara_kit.errors import Conflict, Forbidden, NotFound, ValidationFailed
from suara_kit.ids import uuid7
from suara_kit.testing import migrated

WEEK = timedelta(days=7)
SENDER = Actor(subject="staff-t", roles=["case-handler"], organisation="tenaganita")
SENDER_2 = Actor(subject="staff-t2", roles=["case-handler"], organisation="tenaganita")
SUPERVISOR = Actor(subject="super-t", roles=["case-handler", "consent-override"],
                   organisation="tenaganita")
RECEIVER = Actor(subject="staff-m", roles=["case-handler"], organisation="map-foundation")
BYSTANDER = Actor(subject="staff-s", roles=["case-handler"], organisation="serve-the-people")
ANSWERS: dict[str, Any] = {
    "categories": ["unpaid-wages"], "country": "MY", "origin": "MM",
    "what_happened": "No pay since August.", "employer_kind": "household",
    "contact": "+60 12 345 6789", "safe_now": "yes"}


def org(id: str, capacity: str = "open", route: str = "suara") -> Organisation:
    return Organisation(id=id, name=id.title(), countries=["MY"], languages=["en"],
                        expertise=["unpaid-wages"], capacity=capacity,  # type: ignore[arg-type]
                        contact=ContactRoute(route=route, detail="x"))  # type: ignore[arg-type]


DIRECTORY = Directory([org("tenaganita"), org("map-foundation"), org("serve-the-people"),
                       org("apmm", capacity="full"), org("offline", route="email")])


@pytest.fixture
async def db(database_url: Callable[[str], str]) -> AsyncIterator[Database]:
    async with migrated(MIGRATIONS, database_url("cases")) as database:
        content.use_keys(database, CasesSettings())
        yield database


class App:
    """What `referrals.endpoints` needs of a ServiceApp: transactions and an outbox."""

    def __init__(self, db: Database) -> None:
        self.db, self.emitted = db, []  # type: list[tuple[str, BaseModel]]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with self.db.transaction() as session:
            yield session

    def emit(self, _: AsyncSession, subject: str, data: BaseModel) -> None:
        self.emitted.append((subject, data))


async def call(db: Database, subject: str, command: BaseModel) -> Any:
    """Run one referral endpoint as the service serves it; returns (reply, emitted)."""
    app = App(db)
    handlers = {s: h for s, _, h in referrals.endpoints(app, DIRECTORY)}  # type: ignore[arg-type]
    reply = await handlers[subject](command)
    return reply, app.emitted


async def open_case(db: Database, **answers: Any) -> Case:
    event = SubmissionReceived(
        submission_id=uuid7(), reference="SU-AAAA-BBBB", organisation="tenaganita",
        form_version="1", language="my", risk="high", risk_reasons=["not-safe-now"],
        received_on=date(2026, 11, 2), answers=ANSWERS | answers, identifying=["contact"])
    async with db.transaction() as session:
        opened = await service.open_case(session, event, WEEK)
        assert opened is not None
        case = await session.get(Case, opened.case_id)
    assert case is not None
    return case


async def consent(db: Database, case: Case, to: str = "map-foundation",
                  profile: str = "standard", types: tuple[str, ...] = ("referral",)) -> UUID:
    command = RecordConsent(actor=SENDER, case_id=case.id, to_organisation=to,
                            share_profile=profile, types=list(types),  # type: ignore[arg-type]
                            obtained="worker said yes in person on 2026-11-20")
    reply, _ = await call(db, Rpc.CASES_REFERRAL_CONSENT, command)
    return reply.consent_id  # type: ignore[no-any-return]


def refer(case: Case, actor: Actor = SENDER, **fields: Any) -> CreateReferral:
    body = {"to_organisation": "map-foundation", "share_profile": "standard"} | fields
    return CreateReferral(actor=actor, case_id=case.id, **body)


async def referred(db: Database, **fields: Any) -> tuple[Case, ReferralView]:
    case = await open_case(db)
    profile = fields.get("share_profile", "standard")
    kind = fields.get("type", "referral")
    await consent(db, case, profile=profile, types=(kind,))
    reply, _ = await call(db, Rpc.CASES_REFERRAL_CREATE, refer(case, **fields))
    return case, reply


async def move(db: Database, actor: Actor, referral_id: UUID, to: str,
               text: str = "") -> ReferralView:
    command = MoveReferral(actor=actor, referral_id=referral_id, to=to,  # type: ignore[arg-type]
                           text=text)
    reply, emitted = await call(db, Rpc.CASES_REFERRAL_MOVE, command)
    assert [s for s, _ in emitted] == [referrals.EVENT[Status(to)]]
    return reply  # type: ignore[no-any-return]


async def audit_log(db: Database) -> list[tuple[str, str, UUID | None]]:
    async with db.transaction() as session:
        rows = await session.exec(select(AuditEntry).order_by(col(AuditEntry.seq)))
        return [(e.actor, e.action, e.case_id) for e in rows]


async def stored(db: Database, referral_id: UUID) -> CaseReferral:
    async with db.transaction() as session:
        row = await session.get(CaseReferral, referral_id)
    assert row is not None
    return row


# the directory
def test_bundled_directory_is_valid_and_marks_invented_partners() -> None:
    directory = referrals.load_directory()
    assert {"tenaganita", "map-foundation", "serve-the-people", "apmm"} <= set(
        directory.organisations)
    examples = [o for o in directory.organisations.values() if o.example]
    assert {c for o in examples for c in o.countries} >= {"ID", "PH"}
    for partner in examples:
        assert "example" in partner.name.lower() or "invented" in partner.name.lower()
    real = directory.get("map-foundation")
    assert real is not None
    assert not real.example
    assert real.countries == ["TH"]


def test_directory_search_filters_on_every_criterion() -> None:
    directory = referrals.load_directory()
    assert [o.id for o in directory.search(country="TH")] == ["map-foundation"]
    assert "map-foundation" not in {o.id for o in directory.search(language="tl")}
    assert {o.id for o in directory.search(country="HK", language="tl")} == {"apmm"}
    assert directory.search(country="TH", expertise="recruitment-fees") == []


@pytest.mark.parametrize(("change", "message"), [
    ({"capacity": "maybe"}, "capacity"),
    ({"countries": ["Malaysia"]}, "ISO 3166-1"),
    ({"contact": {"route": "pigeon", "detail": "x"}}, "route"),
    ({"id": "Not A Slug"}, "id"),
    ({"surprise": True}, "surprise"),
])
def test_a_broken_directory_file_is_refused(tmp_path: Path, change: dict[str, Any],
                                            message: str) -> None:
    entry = org("tenaganita").model_dump() | change
    path = tmp_path / "directory.json"
    path.write_text(json.dumps({"organisations": [entry]}))
    with pytest.raises(ValueError, match=message):
        referrals.load_directory(path)


def test_an_organisation_listed_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "directory.json"
    entry = org("apmm").model_dump()
    path.write_text(json.dumps({"organisations": [entry, entry]}))
    with pytest.raises(ValueError, match="listed twice: apmm"):
        referrals.load_directory(path)


async def test_directory_endpoint_filters(db: Database) -> None:
    reply, _ = await call(db, Rpc.CASES_REFERRAL_DIRECTORY,
                          DirectoryQuery(actor=BYSTANDER, expertise="unpaid-wages"))
    assert [o.id for o in reply.items] == list(DIRECTORY.organisations)


# the lifecycle table
ALLOWED = [(a, b) for a, targets in TRANSITIONS.items() for b in sorted(targets)]
ILLEGAL = [(a, b) for a, b in product(Status, Status) if b not in TRANSITIONS[a]]


def test_the_table_is_the_documented_lifecycle() -> None:
    assert set(TRANSITIONS) == set(Status)
    assert set(ALLOWED) == {("pending", "accepted"), ("pending", "rejected"),
                            ("pending", "revoked"), ("accepted", "done"),
                            ("accepted", "revoked")}
    assert {s for s, targets in TRANSITIONS.items() if not targets} == {
        "rejected", "done", "revoked"}


@pytest.mark.parametrize(("current", "target"), ALLOWED)
def test_allowed_move_passes(current: Status, target: Status) -> None:
    check_move(current.value, target)


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_every_illegal_move_is_409_naming_the_allowed_ones(current: Status,
                                                           target: Status) -> None:
    with pytest.raises(Conflict) as info:
        check_move(current.value, target)
    assert info.value.status == 409
    assert f"'{current}' cannot become '{target}'" in info.value.detail
    for allowed in TRANSITIONS[current]:
        assert allowed.value in info.value.detail
    assert info.value.extra == {"current": current, "target": target}


def _path_to(status: Status) -> list[tuple[Actor, str]]:
    return {Status.PENDING: [], Status.ACCEPTED: [(RECEIVER, "accepted")],
            Status.REJECTED: [(RECEIVER, "rejected")], Status.REVOKED: [(SENDER, "revoked")],
            Status.DONE: [(RECEIVER, "accepted"), (RECEIVER, "done")]}[status]


MOVER = {Status.ACCEPTED: RECEIVER, Status.REJECTED: RECEIVER, Status.DONE: RECEIVER,
         Status.REVOKED: SENDER}


@pytest.mark.parametrize(("current", "target"),
                         [(a, b) for a, b in ILLEGAL if b != Status.PENDING])
async def test_an_illegal_move_through_the_service_is_409_and_changes_nothing(
        db: Database, current: Status, target: Status) -> None:
    _, created = await referred(db)
    for actor, to in _path_to(current):
        await move(db, actor, created.referral_id, to, "the outcome")
    with pytest.raises(Conflict):
        await move(db, MOVER[target], created.referral_id, target, "the outcome")
    assert (await stored(db, created.referral_id)).status == current


# consent, checked by the server
async def test_without_consent_a_referral_is_409_and_nothing_is_stored(db: Database) -> None:
    case = await open_case(db)
    with pytest.raises(Conflict) as info:
        await call(db, Rpc.CASES_REFERRAL_CREATE, refer(case))
    assert "has not consented" in info.value.detail
    async with db.transaction() as session:
        assert (await session.exec(select(CaseReferral))).all() == []


@pytest.mark.parametrize(("given", "asked"), [
    ({"to": "serve-the-people"}, {}),
    ({"profile": "minimal"}, {"share_profile": "standard"}),
    ({"profile": "standard"}, {"share_profile": "full"}),
    ({"profile": "full", "types": ("referral",)}, {"type": "transfer", "share_profile": "full"}),
])
async def test_consent_that_does_not_cover_the_referral_is_409(
        db: Database, given: dict[str, Any], asked: dict[str, Any]) -> None:
    case = await open_case(db)
    await consent(db, case, **given)
    with pytest.raises(Conflict, match="has not consented"):
        await call(db, Rpc.CASES_REFERRAL_CREATE, refer(case, **asked))


@pytest.mark.parametrize(("given", "asked"), [
    ({"to": "any"}, {}),
    ({"profile": "full"}, {"share_profile": "minimal"}),
    ({"profile": "full", "types": ("transfer",)}, {"type": "transfer", "share_profile": "full"}),
])
async def test_consent_that_covers_the_referral_lets_it_through(
        db: Database, given: dict[str, Any], asked: dict[str, Any]) -> None:
    case = await open_case(db)
    consent_id = await consent(db, case, **given)
    reply, emitted = await call(db, Rpc.CASES_REFERRAL_CREATE, refer(case, **asked))
    assert (reply.status, reply.consent, reply.consent_id) == ("pending", "recorded", consent_id)
    assert reply.override_reason is None
    [(subject, event)] = emitted
    assert subject == Evt.REFERRAL_CREATED
    assert event == ReferralChanged(referral_id=reply.referral_id, case_id=case.id,
                                    type=reply.type, from_organisation="tenaganita",
                                    to_organisation="map-foundation", to_status="pending")


async def test_consent_is_recorded_with_how_it_was_obtained_and_audited(db: Database) -> None:
    case = await open_case(db)
    await consent(db, case, to="any", profile="minimal", types=("transfer", "referral"))
    reply, _ = await call(db, Rpc.CASES_REFERRAL_OF_CASE,
                          CaseReferralsQuery(actor=SENDER, case_id=case.id))
    [stored_consent] = reply.consents
    assert (stored_consent.to_organisation, stored_consent.share_profile,
            stored_consent.types, stored_consent.source, stored_consent.recorded_by) == (
        "any", "minimal", ["referral", "transfer"], "staff-recorded", "staff-t")
    assert stored_consent.obtained == "worker said yes in person on 2026-11-20"
    assert ("staff-t", "consent-record", case.id) in await audit_log(db)


async def test_only_the_case_organisation_records_consent(db: Database) -> None:
    case = await open_case(db)
    command = RecordConsent(actor=RECEIVER, case_id=case.id, to_organisation="map-foundation",
                            share_profile="full", obtained="I say so myself")
    with pytest.raises(NotFound):
        await call(db, Rpc.CASES_REFERRAL_CONSENT, command)
    with pytest.raises(ValidationFailed, match="not in the directory"):
        await consent(db, case, to="nobody")


# the override
async def test_override_with_role_and_reason_is_allowed_and_audited(db: Database) -> None:
    case = await open_case(db)
    reason = "Worker is confined and cannot be reached; police referral is urgent."
    reply, _ = await call(db, Rpc.CASES_REFERRAL_CREATE,
                          refer(case, actor=SUPERVISOR, override_reason=reason))
    assert (reply.status, reply.consent, reply.consent_id) == ("pending", "overridden", None)
    assert reply.override_reason == reason
    assert (await stored(db, reply.referral_id)).override_reason == reason
    log = await audit_log(db)
    assert ("super-t", "consent-override", case.id) in log
    assert log.index(("super-t", "consent-override", case.id)) < log.index(
        ("super-t", "referral-create", case.id))


async def test_override_role_without_a_reason_is_409(db: Database) -> None:
    case = await open_case(db)
    with pytest.raises(Conflict, match="has not consented"):
        await call(db, Rpc.CASES_REFERRAL_CREATE, refer(case, actor=SUPERVISOR))
    assert "consent-override" not in {a for _, a, _ in await audit_log(db)}


async def test_a_reason_without_the_role_is_refused_and_the_attempt_audited(
        db: Database) -> None:
    case = await open_case(db)
    with pytest.raises(Conflict, match="needs the 'consent-override' role"):
        await call(db, Rpc.CASES_REFERRAL_CREATE,
                   refer(case, override_reason="I think it is fine to share this"))
    assert ("staff-t", "consent-override-refused", case.id) in await audit_log(db)
    async with db.transaction() as session:
        assert (await session.exec(select(CaseReferral))).all() == []


def test_an_override_reason_must_say_something() -> None:
    case = Case(id=uuid7())
    with pytest.raises(ValidationError, match="at least 10"):
        refer(case, override_reason="  because ")
    assert refer(case, override_reason="   ").override_reason is None


# share profiles
@pytest.mark.parametrize("profile", ["minimal", "standard", "full"])
async def test_share_profile_projection(db: Database, profile: str) -> None:
    case = await open_case(db)
    shared = referrals.project(case, ANSWERS, profile)
    assert (shared.status, shared.risk, shared.risk_reasons) == (
        "received", "high", ["not-safe-now"])
    expected = {
        "minimal": {"categories", "country", "origin"},
        "standard": set(ANSWERS) - {"contact"},
        "full": set(ANSWERS),
    }[profile]
    assert set(shared.answers) == expected
    assert ("contact" in shared.answers) == (profile == "full")
    assert shared.identifying == (["contact"] if profile == "full" else [])
    assert shared.language == (None if profile == "minimal" else "my")


async def test_an_identifying_answer_is_withheld_below_full_whatever_its_name(
        db: Database) -> None:
    case = await open_case(db)
    case.identifying = ["contact", "country"]
    assert "country" not in referrals.project(case, ANSWERS, "minimal").answers
    assert "country" not in referrals.project(case, ANSWERS, "standard").answers
    assert referrals.project(case, ANSWERS, "full").answers["country"] == "MY"


async def test_the_receiver_sees_only_the_shared_projection(db: Database) -> None:
    case, created = await referred(db, share_profile="minimal")
    reply, _ = await call(db, Rpc.CASES_REFERRAL_GET,
                          ReferralQuery(actor=RECEIVER, referral_id=created.referral_id))
    assert reply.direction == "incoming"
    assert reply.shared is not None
    assert reply.shared.answers == {"categories": ["unpaid-wages"], "country": "MY",
                                    "origin": "MM"}
    assert "+60 12 345 6789" not in reply.model_dump_json()
    assert "No pay since August" not in reply.model_dump_json()
    assert (reply.case_id, reply.consent_id, reply.override_reason) == (None, None, None)
    assert ("staff-m", "referral-read", case.id) in await audit_log(db)


async def test_an_organisation_outside_the_referral_sees_nothing(db: Database) -> None:
    _, created = await referred(db)
    with pytest.raises(NotFound):
        await call(db, Rpc.CASES_REFERRAL_GET,
                   ReferralQuery(actor=BYSTANDER, referral_id=created.referral_id))
    with pytest.raises(NotFound):
        await move(db, BYSTANDER, created.referral_id, "accepted")
    listed, _ = await call(db, Rpc.CASES_REFERRAL_LIST, ReferralListQuery(actor=BYSTANDER))
    assert listed.items == []


# who moves a referral
@pytest.mark.parametrize(("actor", "to", "who"), [
    (SENDER, "accepted", "map-foundation"), (SENDER, "rejected", "map-foundation"),
    (RECEIVER, "revoked", "tenaganita")])
async def test_only_the_right_side_moves_a_referral(db: Database, actor: Actor, to: str,
                                                    who: str) -> None:
    _, created = await referred(db)
    with pytest.raises(Forbidden, match=f"Only {who}'s case handlers"):
        await move(db, actor, created.referral_id, to)
    assert (await stored(db, created.referral_id)).status == "pending"


async def test_only_the_receiver_completes(db: Database) -> None:
    _, created = await referred(db)
    await move(db, RECEIVER, created.referral_id, "accepted")
    with pytest.raises(Forbidden):
        await move(db, SENDER, created.referral_id, "done", "we did it ourselves")


def test_completing_needs_an_outcome() -> None:
    with pytest.raises(ValidationError, match="outcome"):
        MoveReferral(actor=RECEIVER, referral_id=uuid7(), to="done", text="   ")


# acceptance, outcome, revocation
async def test_acceptance_opens_the_receivers_own_case_with_only_the_shared_fields(
        db: Database) -> None:
    case, created = await referred(db, share_profile="standard")
    accepted = await move(db, RECEIVER, created.referral_id, "accepted")
    assert accepted.status == "accepted"
    linked_id = accepted.linked_case_id
    assert linked_id is not None
    assert linked_id != case.id
    detail = await _read_case(db, RECEIVER, linked_id)
    assert detail.organisation == "map-foundation"
    assert detail.answers == {k: v for k, v in ANSWERS.items() if k != "contact"}
    assert detail.identifying == []
    assert detail.reference.startswith("RF-")
    assert detail.reference != case.reference
    original = await _read_case(db, SENDER, case.id)
    assert original.organisation == "tenaganita"
    assert "contact" not in original.answers  # sealed apart from the case, even for its handler
    assert original.sealed_identity == ["contact"]
    with pytest.raises(NotFound):
        await _read_case(db, RECEIVER, case.id)
    log = await audit_log(db)
    assert ("staff-m", "referral-open", linked_id) in log
    assert ("staff-m", "referral-accept", case.id) in log


async def _read_case(db: Database, actor: Actor, case_id: UUID) -> Any:
    async with db.transaction() as session:
        return await service.get_case(session, actor, case_id)


async def test_the_outcome_flows_back_to_the_senders_case(db: Database) -> None:
    case, created = await referred(db)
    await move(db, RECEIVER, created.referral_id, "accepted")
    done = await move(db, RECEIVER, created.referral_id, "done", "Wages recovered in full.")
    assert (done.status, done.outcome) == ("done", "Wages recovered in full.")
    reply, _ = await call(db, Rpc.CASES_REFERRAL_OF_CASE,
                          CaseReferralsQuery(actor=SENDER_2, case_id=case.id))
    [seen] = reply.referrals
    assert (seen.status, seen.outcome, seen.direction) == (
        "done", "Wages recovered in full.", "outgoing")
    assert [(s.status, s.text) for s in seen.history] == [
        ("pending", ""), ("accepted", ""), ("done", "Wages recovered in full.")]
    async with db.transaction() as session:
        steps = (await session.exec(select(ReferralStep).order_by(col(ReferralStep.id)))).all()
    assert [(s.actor, s.from_status, s.to_status) for s in steps] == [
        ("staff-t", None, "pending"), ("staff-m", "pending", "accepted"),
        ("staff-m", "accepted", "done")]


async def test_revoking_a_pending_referral_hides_it_from_the_receiver(db: Database) -> None:
    _, created = await referred(db)
    revoked = await move(db, SENDER, created.referral_id, "revoked", "Worker changed their mind.")
    assert revoked.status == "revoked"
    reply, _ = await call(db, Rpc.CASES_REFERRAL_GET,
                          ReferralQuery(actor=RECEIVER, referral_id=created.referral_id))
    assert reply.shared is None
    assert reply.history[-1].text == "Worker changed their mind."


async def test_revoking_an_accepted_referral_takes_the_shared_content_back(
        db: Database) -> None:
    case, created = await referred(db)
    accepted = await move(db, RECEIVER, created.referral_id, "accepted")
    await move(db, SENDER, created.referral_id, "revoked")
    assert accepted.linked_case_id is not None
    detail = await _read_case(db, RECEIVER, accepted.linked_case_id)
    assert (detail.answers, detail.identifying) == ({}, [])
    assert (await _read_case(db, SENDER, case.id)).answers == {
        k: v for k, v in ANSWERS.items() if k != "contact"}  # the sender keeps its case
    assert ("staff-t", "referral-withdrawn", accepted.linked_case_id) in await audit_log(db)


async def test_a_rejected_referral_no_longer_shows_the_case(db: Database) -> None:
    _, created = await referred(db)
    rejected = await move(db, RECEIVER, created.referral_id, "rejected", "No capacity in TH.")
    assert (rejected.status, rejected.shared, rejected.linked_case_id) == (
        "rejected", None, None)
    sender_view, _ = await call(db, Rpc.CASES_REFERRAL_GET,
                                ReferralQuery(actor=SENDER, referral_id=created.referral_id))
    assert sender_view.history[-1].text == "No capacity in TH."
    assert sender_view.shared is not None  # the sender still sees what it sent


# transfers
def test_a_transfer_shares_the_whole_case() -> None:
    with pytest.raises(ValidationError, match="share profile is 'full'"):
        CreateReferral(actor=SENDER, case_id=uuid7(), to_organisation="map-foundation",
                       type="transfer", share_profile="standard")


async def test_an_accepted_transfer_moves_the_case_and_the_sender_loses_access(
        db: Database) -> None:
    case, created = await referred(db, type="transfer", share_profile="full")
    with pytest.raises(NotFound):
        await _read_case(db, RECEIVER, case.id)
    accepted = await move(db, RECEIVER, created.referral_id, "accepted")
    assert accepted.linked_case_id == case.id
    moved = await _read_case(db, RECEIVER, case.id)
    without_identity = {k: v for k, v in ANSWERS.items() if k != "contact"}
    assert (moved.organisation, moved.answers) == ("map-foundation", without_identity)
    assert moved.sealed_identity == ["contact"]  # the identity moved too, still sealed
    with pytest.raises(NotFound):
        await _read_case(db, SENDER, case.id)
    async with db.transaction() as session:
        assert len((await session.exec(select(Case))).all()) == 1
    outgoing, _ = await call(db, Rpc.CASES_REFERRAL_LIST,
                             ReferralListQuery(actor=SENDER, direction="outgoing"))
    assert [r.referral_id for r in outgoing.items] == [created.referral_id]
    done = await move(db, RECEIVER, created.referral_id, "done", "Settled at the tribunal.")
    sender_view, _ = await call(db, Rpc.CASES_REFERRAL_GET,
                                ReferralQuery(actor=SENDER, referral_id=created.referral_id))
    assert sender_view.outcome == done.outcome == "Settled at the tribunal."


async def test_revoking_an_accepted_transfer_hands_the_case_back(db: Database) -> None:
    case, created = await referred(db, type="transfer", share_profile="full")
    await move(db, RECEIVER, created.referral_id, "accepted")
    await move(db, SENDER, created.referral_id, "revoked", "Worker returned to Malaysia.")
    assert (await _read_case(db, SENDER, case.id)).organisation == "tenaganita"
    with pytest.raises(NotFound):
        await _read_case(db, RECEIVER, case.id)


async def test_a_case_being_transferred_takes_no_other_referral(db: Database) -> None:
    case, _ = await referred(db, type="transfer", share_profile="full")
    await consent(db, case, to="serve-the-people")
    with pytest.raises(Conflict, match="being transferred"):
        await call(db, Rpc.CASES_REFERRAL_CREATE, refer(case, to_organisation="serve-the-people"))


# the receiving organisation
@pytest.mark.parametrize(("to", "error", "message"), [
    ("apmm", Conflict, "full and takes no new referrals"),
    ("offline", Conflict, "does not take referrals through Suara"),
    ("tenaganita", ValidationFailed, "organisation that holds it"),
    ("nobody", ValidationFailed, "not in the directory"),
])
async def test_the_receiver_must_be_another_member_taking_referrals(
        db: Database, to: str, error: type[Exception], message: str) -> None:
    case = await open_case(db)
    async with db.transaction() as session:
        session.add(CaseConsent(
            id=uuid7(), case_id=case.id, to_organisation="any", share_profile="full",
            types=["referral"], source="staff-recorded", obtained="yes", recorded_by="x",
            recorded_on=date(2026, 11, 20)))
    with pytest.raises(error, match=message):
        await call(db, Rpc.CASES_REFERRAL_CREATE, refer(case, to_organisation=to))


async def test_one_open_referral_per_receiver(db: Database) -> None:
    case, created = await referred(db)
    with pytest.raises(Conflict, match="already has an open referral"):
        await call(db, Rpc.CASES_REFERRAL_CREATE, refer(case))
    await move(db, RECEIVER, created.referral_id, "rejected")
    again, _ = await call(db, Rpc.CASES_REFERRAL_CREATE, refer(case))
    assert again.status == "pending"


async def test_lists_by_direction_without_case_content_and_audited(db: Database) -> None:
    _, created = await referred(db)
    incoming, _ = await call(db, Rpc.CASES_REFERRAL_LIST,
                             ReferralListQuery(actor=RECEIVER, direction="incoming"))
    assert [(r.referral_id, r.shared) for r in incoming.items] == [(created.referral_id, None)]
    none_out, _ = await call(db, Rpc.CASES_REFERRAL_LIST,
                             ReferralListQuery(actor=RECEIVER, direction="outgoing"))
    assert none_out.items == []
    pending, _ = await call(db, Rpc.CASES_REFERRAL_LIST,
                            ReferralListQuery(actor=SENDER, status="accepted"))
    assert pending.items == []
    assert ("staff-m", "referral-list", None) in await audit_log(db)


async def test_non_handlers_are_forbidden(db: Database) -> None:
    mediator = Actor(subject="m-1", roles=["mediator"], organisation="map-foundation")
    _, created = await referred(db)
    with pytest.raises(Forbidden):
        await move(db, mediator, created.referral_id, "accepted")
    with pytest.raises(Forbidden):
        await call(db, Rpc.CASES_REFERRAL_LIST, ReferralListQuery(actor=mediator))


async def test_a_transferred_case_arrives_unassigned(db: Database) -> None:
    case, created = await referred(db, type="transfer", share_profile="full")
    async with db.transaction() as session:
        row = await session.get(Case, case.id)
        assert row is not None
        row.assigned_to = SENDER.subject
    await move(db, RECEIVER, created.referral_id, "accepted")
    moved = await _read_case(db, RECEIVER, case.id)
    assert (moved.organisation, moved.assigned_to) == ("map-foundation", None)


# the reporter's own consent, and the sender's case status
async def test_the_reporter_can_consent_in_their_own_words(db: Database) -> None:
    case = await open_case(db)
    said = ReporterFollowUp(follow_up_id=uuid7(), submission_id=case.submission_id,
                            kind="reply", text="Yes, send my case to MAP Foundation.",
                            sent_on=date(2026, 11, 20))
    async with db.transaction() as session:
        await service.reporter_followed_up(session, said)
    command = RecordConsent(actor=SENDER, case_id=case.id, to_organisation="map-foundation",
                            share_profile="standard", message_id=said.follow_up_id,
                            obtained="in her reply through the inbox")
    reply, _ = await call(db, Rpc.CASES_REFERRAL_CONSENT, command)
    assert (reply.source, reply.message_id) == ("reporter", said.follow_up_id)
    created, _ = await call(db, Rpc.CASES_REFERRAL_CREATE, refer(case))
    assert created.consent_id == reply.consent_id
    handlers_note, _ = await call(db, Rpc.CASES_REFERRAL_CONSENT, RecordConsent(
        actor=SENDER, case_id=case.id, to_organisation="any", share_profile="minimal",
        obtained="the reporter said yes in person"))
    assert (handlers_note.source, handlers_note.message_id) == ("staff-recorded", None)


async def test_a_consent_message_must_be_the_reporters_own_on_this_case(db: Database) -> None:
    case, other = await open_case(db), await open_case(db)
    async with db.transaction() as session:
        mine = await content.add_message(session, case, author="staff-t", body="Agree?",
                                         kind="to-reporter", sent_on=date(2026, 11, 20))
        theirs = ReporterFollowUp(follow_up_id=uuid7(), submission_id=other.submission_id,
                                  kind="reply", text="yes", sent_on=date(2026, 11, 20))
        await service.reporter_followed_up(session, theirs)
    for message_id in (mine.id, theirs.follow_up_id, uuid7()):
        with pytest.raises(ValidationFailed, match="message_id: no message from the reporter"):
            await call(db, Rpc.CASES_REFERRAL_CONSENT, RecordConsent(
                actor=SENDER, case_id=case.id, to_organisation="map-foundation",
                share_profile="standard", message_id=message_id, obtained="in the inbox"))


async def test_an_accepted_referral_marks_an_assessed_case_referred(db: Database) -> None:
    case = await open_case(db)
    for to in ("acknowledged", "in-assessment"):
        async with db.transaction() as session:
            await work.transition(session, SENDER, TransitionCase(
                actor=SENDER, case_id=case.id, to=to, message="m"))  # type: ignore[arg-type]
    await consent(db, case)
    created, _ = await call(db, Rpc.CASES_REFERRAL_CREATE, refer(case))
    reply, emitted = await call(db, Rpc.CASES_REFERRAL_MOVE, MoveReferral(
        actor=RECEIVER, referral_id=created.referral_id, to="accepted", text=""))
    assert reply.status == "accepted"
    changes = [e for s, e in emitted if s == Evt.CASE_STATUS_CHANGED]
    assert [(c.case_id, c.from_status, c.to_status) for c in changes] == [
        (case.id, "in-assessment", "referred")]
    assert (await _read_case(db, SENDER, case.id)).status == "referred"
    assert ("system", "status:referred", case.id) in await audit_log(db)


async def test_a_referral_of_an_unassessed_case_leaves_its_status(db: Database) -> None:
    case, created = await referred(db)
    await move(db, RECEIVER, created.referral_id, "accepted")  # asserts no status event
    assert (await _read_case(db, SENDER, case.id)).status == "received"


async def test_the_referral_list_comes_in_pages_newest_first(db: Database) -> None:
    made = [(await referred(db))[1].referral_id for _ in range(5)]
    seen, cursor = [], None
    while True:
        page, _ = await call(db, Rpc.CASES_REFERRAL_LIST,
                             ReferralListQuery(actor=SENDER, limit=2, cursor=cursor))
        seen += [r.referral_id for r in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == list(reversed(made))
    with pytest.raises(ValidationFailed, match="cursor"):
        await call(db, Rpc.CASES_REFERRAL_LIST, ReferralListQuery(
            actor=SENDER, cursor=paging.encode("cases", [1, "2026-01-01", str(uuid7())])))
