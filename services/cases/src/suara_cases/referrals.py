"""Referrals and transfers between organisations, modelled on Primero's transitions but with
every rule on the server: the directory of member organisations, the reporter's consent
(checked when a referral is made; an override needs its own role, a reason and an audit
entry), share profiles that keep identifying answers back below `full`, and one lifecycle for
both kinds of referral. Every read and write is audited."""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_cases import audit, content, repository
from suara_cases.deadlines import REFERRAL_PREFIX
from suara_cases.models import Case
from suara_cases.referral_models import CaseConsent, CaseReferral, ReferralStep
from suara_cases.service import case_for, reporter_message, require_handler
from suara_cases.states import CaseStatus
from suara_contracts.events import CaseStatusChanged, ReferralChanged
from suara_contracts.referrals import (
    ANY,
    CaseReferrals,
    CaseReferralsQuery,
    ConsentView,
    CreateReferral,
    DirectoryQuery,
    MoveReferral,
    Organisation,
    OrganisationList,
    RecordConsent,
    ReferralList,
    ReferralListQuery,
    ReferralQuery,
    ReferralView,
    SharedCase,
    WithdrawConsent,
)
from suara_contracts.referrals import ReferralStep as StepView
from suara_contracts.rpc import Actor
from suara_contracts.subjects import Evt, Rpc
from suara_kit import paging
from suara_kit.clock import today
from suara_kit.errors import Conflict, Forbidden, NotFound, SuaraError, ValidationFailed
from suara_kit.ids import uuid7
from suara_kit.service import ServiceApp

DIRECTORY_FILE = Path(__file__).parent / "directory.json"
OVERRIDE_ROLE = "consent-override"
STAFF_RECORDED = "staff-recorded"
REPORTER_GIVEN = "reporter"  # the consent is the reporter's own message on the case
RANK = {"minimal": 0, "standard": 1, "full": 2}
MINIMAL_ANSWERS = ("categories", "country", "origin")  # what happened, and the corridor
UNDETERMINED = "und"  # BCP 47: the language is not shared below `standard`
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


# the directory
class _DirectoryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    about: str = ""
    organisations: list[Organisation] = Field(min_length=1)


class Directory:
    """The member organisations, by id."""

    def __init__(self, organisations: Sequence[Organisation]) -> None:
        ids = [o.id for o in organisations]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"organisations listed twice: {', '.join(twice)}")
        self.organisations = {o.id: o for o in organisations}

    def get(self, organisation: str) -> Organisation | None:
        return self.organisations.get(organisation)

    def search(self, country: str | None = None, language: str | None = None,
               expertise: str | None = None) -> list[Organisation]:
        """Members matching every filter given, in file order."""
        return [o for o in self.organisations.values()
                if (country is None or country in o.countries)
                and (language is None or language in o.languages)
                and (expertise is None or expertise in o.expertise)]


def load_directory(path: Path = DIRECTORY_FILE) -> Directory:
    """Read and validate the directory file; a broken file stops the service from starting."""
    try:
        # a misspelt key, at any depth, is an error (models are tolerant by default)
        parsed = _DirectoryFile.model_validate(json.loads(path.read_text(encoding="utf-8")),
                                               extra="forbid")
        return Directory(parsed.organisations)
    except (ValueError, ValidationError) as exc:
        raise ValueError(f"{path.name} is not a valid directory: {exc}") from None


# the lifecycle: one enum, one table, one function that enforces it
class Status(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DONE = "done"
    REVOKED = "revoked"


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.ACCEPTED, Status.REJECTED, Status.REVOKED}),
    Status.ACCEPTED: frozenset({Status.DONE, Status.REVOKED}),
    Status.REJECTED: frozenset(),
    Status.DONE: frozenset(),
    Status.REVOKED: frozenset(),
}
MOVED_BY: dict[Status, str] = {Status.ACCEPTED: "receiver", Status.REJECTED: "receiver",
                               Status.DONE: "receiver", Status.REVOKED: "sender"}
VERB = {Status.ACCEPTED: "accept", Status.REJECTED: "reject", Status.DONE: "complete",
        Status.REVOKED: "revoke"}
EVENT = {Status.PENDING: Evt.REFERRAL_CREATED, Status.ACCEPTED: Evt.REFERRAL_ACCEPTED,
         Status.REJECTED: Evt.REFERRAL_REJECTED, Status.DONE: Evt.REFERRAL_COMPLETED,
         Status.REVOKED: Evt.REFERRAL_REVOKED}
OPEN = frozenset({Status.PENDING, Status.ACCEPTED})
SHOWN_TO_RECEIVER = frozenset({Status.PENDING, Status.ACCEPTED, Status.DONE})


def check_move(current: str, target: Status) -> None:
    """Raise a 409 naming the allowed moves when a referral that is `current` cannot become
    `target`."""
    allowed = TRANSITIONS[Status(current)]
    if target not in allowed:
        moves = ", ".join(sorted(allowed)) or "none: it is finished"
        raise Conflict(f"A referral that is '{current}' cannot become '{target}'. "
                       f"Allowed from '{current}': {moves}.", current=current, target=target)


# share profiles
def project(case: Case, answers: dict[str, Any], profile: str) -> SharedCase:
    """What `profile` lets a receiving organisation see of `case` with its `answers`;
    identifying answers only at `full`."""
    withheld = set() if profile == "full" else set(case.identifying)
    if profile == "minimal":
        names = [n for n in MINIMAL_ANSWERS if n in answers]
    else:
        names = list(answers)
    answers = {n: answers[n] for n in names if n not in withheld}
    return SharedCase(share_profile=profile, status=case.status,  # type: ignore[arg-type]
                      risk=case.risk, risk_reasons=case.risk_reasons,  # type: ignore[arg-type]
                      language=None if profile == "minimal" else case.language,
                      answers=answers,
                      identifying=[n for n in case.identifying if n in answers])


# queries
async def consents_of(session: AsyncSession, case_id: UUID) -> list[CaseConsent]:
    """A case's consents, newest first (ids are time-ordered uuid7)."""
    stmt = (select(CaseConsent).where(CaseConsent.case_id == case_id)
            .order_by(col(CaseConsent.id).desc()))
    return list(await session.exec(stmt))


async def referrals_of(session: AsyncSession, case_id: UUID) -> list[CaseReferral]:
    """The referrals made from a case, newest first."""
    stmt = (select(CaseReferral).where(CaseReferral.case_id == case_id)
            .order_by(col(CaseReferral.id).desc()))
    return list(await session.exec(stmt))


async def referrals_for(session: AsyncSession, organisation: str, direction: str | None,
                        status: str | None, limit: int = 200,
                        before: UUID | None = None) -> list[CaseReferral]:
    """An organisation's incoming and/or outgoing referrals, newest first (ids are
    time-ordered), from just after `before` when given."""
    incoming = col(CaseReferral.to_organisation) == organisation
    outgoing = col(CaseReferral.from_organisation) == organisation
    which = {"incoming": incoming, "outgoing": outgoing}.get(direction or "",
                                                             or_(incoming, outgoing))
    stmt = select(CaseReferral).where(which)
    if status:
        stmt = stmt.where(CaseReferral.status == status)
    if before is not None:
        stmt = stmt.where(col(CaseReferral.id) < before)
    return list(await session.exec(stmt.order_by(col(CaseReferral.id).desc()).limit(limit)))


async def steps_of(session: AsyncSession, ids: list[UUID]) -> dict[UUID, list[ReferralStep]]:
    """Each referral's moves, oldest first."""
    found: dict[UUID, list[ReferralStep]] = {i: [] for i in ids}
    if ids:
        stmt = (select(ReferralStep).where(col(ReferralStep.referral_id).in_(ids))
                .order_by(col(ReferralStep.id)))
        for step in await session.exec(stmt):
            found[step.referral_id].append(step)
    return found


async def locked(session: AsyncSession, referral_id: UUID) -> CaseReferral | None:
    """A referral, locked for this transaction on PostgreSQL (two handlers may race)."""
    stmt = select(CaseReferral).where(CaseReferral.id == referral_id).with_for_update()
    return (await session.exec(stmt)).first()


# views
def consent_view(consent: CaseConsent) -> ConsentView:
    return ConsentView(consent_id=consent.id, case_id=consent.case_id,
                       to_organisation=consent.to_organisation,
                       share_profile=consent.share_profile,  # type: ignore[arg-type]
                       types=consent.types, source=consent.source,  # type: ignore[arg-type]
                       message_id=consent.message_id,
                       obtained=consent.obtained, recorded_by=consent.recorded_by,
                       recorded_on=consent.recorded_on, withdrawn_on=consent.withdrawn_on,
                       withdrawn_reason=consent.withdrawn_reason)


async def referral_view(session: AsyncSession, referral: CaseReferral,
                        steps: list[ReferralStep], organisation: str,
                        with_shared: bool = True) -> ReferralView:
    """A referral as `organisation` (its sender or its receiver) may see it."""
    sender = organisation == referral.from_organisation
    shown = with_shared and (sender or referral.status in SHOWN_TO_RECEIVER)
    outcome = next((s.text for s in steps if s.to_status == Status.DONE), None)
    return ReferralView(
        referral_id=referral.id, type=referral.type,  # type: ignore[arg-type]
        status=referral.status,  # type: ignore[arg-type]
        direction="outgoing" if sender else "incoming",
        from_organisation=referral.from_organisation, to_organisation=referral.to_organisation,
        share_profile=referral.share_profile, note=referral.note,  # type: ignore[arg-type]
        created_on=referral.created_on,
        case_id=referral.case_id if sender else None,
        linked_case_id=None if sender else referral.linked_case_id,
        consent="recorded" if referral.consent_id else "overridden",
        consent_id=referral.consent_id if sender else None,
        override_reason=referral.override_reason if sender else None,
        outcome=outcome,
        history=[StepView(status=s.to_status, on=s.moved_on, text=s.text)  # type: ignore[arg-type]
                 for s in steps],
        shared=await content.shared_of(session, referral) if shown else None)


def changed(referral: CaseReferral, before: str | None) -> ReferralChanged:
    return ReferralChanged(referral_id=referral.id, case_id=referral.case_id,
                           linked_case_id=referral.linked_case_id,
                           type=referral.type,  # type: ignore[arg-type]
                           from_organisation=referral.from_organisation,
                           to_organisation=referral.to_organisation, from_status=before,
                           to_status=referral.status)


@dataclass
class Result:
    """What a write did: the reply, the events to emit with it, and a refusal to raise once
    its audit entry is committed."""

    reply: BaseModel | None
    events: list[tuple[str, BaseModel]] = field(default_factory=list)
    refused: SuaraError | None = None


# rules
def directory_of(directory: Directory, query: DirectoryQuery) -> OrganisationList:
    """The member organisations, filtered; any staff member may look."""
    return OrganisationList(items=directory.search(query.country, query.language,
                                                   query.expertise))


def _receiver(directory: Directory, case: Case, organisation: str) -> Organisation:
    target = directory.get(organisation)
    if target is None:
        raise ValidationFailed(f"'{organisation}' is not in the directory of member "
                               "organisations (GET /api/v1/organisations).")
    if target.id == case.organisation:
        raise ValidationFailed("A case cannot be referred to the organisation that holds it.")
    return target


async def record_consent(session: AsyncSession, directory: Directory,
                         command: RecordConsent) -> ConsentView:
    """Record, on the case, the consent a handler obtained from the reporter."""
    case = await case_for(session, command.actor, command.case_id)
    if command.to_organisation != ANY:
        _receiver(directory, case, command.to_organisation)
    if command.message_id is not None:
        await reporter_message(session, case, command.message_id, "message_id")
    consent = CaseConsent(id=uuid7(), case_id=case.id, to_organisation=command.to_organisation,
                          share_profile=command.share_profile, types=sorted(set(command.types)),
                          source=REPORTER_GIVEN if command.message_id else STAFF_RECORDED,
                          message_id=command.message_id, obtained=command.obtained,
                          recorded_by=command.actor.subject[:64], recorded_on=today())
    session.add(consent)
    await audit.record(session, command.actor.subject, "consent-record", case.id)
    return consent_view(consent)


async def withdraw_consent(session: AsyncSession, command: WithdrawConsent) -> Result:
    """Take a consent back: the open referrals that relied on it are revoked (the receivers
    lose what was shared, a transfer comes back), each audited with its event."""
    case = await case_for(session, command.actor, command.case_id, write=True)
    consent = await session.get(CaseConsent, command.consent_id)
    if consent is None or consent.case_id != case.id:
        raise NotFound("No such consent on this case.")
    if consent.withdrawn_on is not None:
        raise Conflict(f"This consent was withdrawn on {consent.withdrawn_on.isoformat()}.")
    consent.withdrawn_on, consent.withdrawn_reason = today(), command.reason.strip()
    await audit.record(session, command.actor.subject, "consent-withdraw", case.id)
    events: list[tuple[str, BaseModel]] = []
    for referral in await referrals_of(session, case.id):
        if referral.consent_id != consent.id or referral.status not in OPEN:
            continue
        before = referral.status
        referral.status = Status.REVOKED
        if before == Status.ACCEPTED:
            await _withdraw(session, command.actor, referral)
        _step(session, referral, before, command.actor, "consent withdrawn")
        await audit.record(session, command.actor.subject, f"{referral.type}-revoke",
                           referral.case_id)
        events.append((EVENT[Status.REVOKED], changed(referral, before)))
    return Result(consent_view(consent), events)


async def matching_consent(session: AsyncSession, case_id: UUID, organisation: str,
                           profile: str, kind: str) -> CaseConsent | None:
    """The newest consent that covers this organisation, this much sharing and this kind."""
    for consent in await consents_of(session, case_id):
        if (consent.withdrawn_on is None and consent.to_organisation in (organisation, ANY)
                and kind in consent.types and RANK[consent.share_profile] >= RANK[profile]):
            return consent
    return None


async def _check_open(session: AsyncSession, case: Case, command: CreateReferral) -> None:
    for other in await referrals_of(session, case.id):
        if other.status not in OPEN:
            continue
        if other.type == "transfer":
            raise Conflict("This case is being transferred; revoke that transfer first.")
        if other.to_organisation == command.to_organisation:
            raise Conflict(f"This case already has an open referral to "
                           f"{command.to_organisation}; revoke it to make another.")


async def create(session: AsyncSession, directory: Directory, command: CreateReferral) -> Result:
    """Refer or transfer a case, if the reporter consented (or an override is allowed)."""
    actor = command.actor
    case = await case_for(session, actor, command.case_id)
    target = _receiver(directory, case, command.to_organisation)
    if target.contact.route != "suara":
        raise Conflict(f"{target.id} does not take referrals through Suara; reach them by "
                       f"{target.contact.route}: {target.contact.detail}")
    if target.capacity == "full":
        raise Conflict(f"{target.id} is full and takes no new referrals for now; choose "
                       "another organisation.")
    await _check_open(session, case, command)
    consent = await matching_consent(session, case.id, target.id, command.share_profile,
                                     command.type)
    if consent is None:
        refused = await _override(session, actor, case, command)
        if refused:
            return Result(None, refused=refused)
    referral = CaseReferral(
        id=uuid7(), case_id=case.id, type=command.type, status=Status.PENDING,
        from_organisation=case.organisation, to_organisation=target.id,
        share_profile=command.share_profile, note=command.note.strip(),
        consent_id=consent.id if consent else None,
        override_reason=None if consent else command.override_reason,
        created_by=actor.subject[:64], created_on=today())
    await content.set_shared(session, case, referral,
                             project(case, await content.all_answers_of(session, case),
                                     command.share_profile))
    session.add(referral)
    step = _step(session, referral, None, actor, "")
    await audit.record(session, actor.subject, f"{referral.type}-create", case.id)
    return Result(await referral_view(session, referral, [step], case.organisation),
                  [(EVENT[Status.PENDING], changed(referral, None))])


async def _override(session: AsyncSession, actor: Actor, case: Case,
                    command: CreateReferral) -> SuaraError | None:
    """Go ahead without consent only for the override role with a reason; audit either way."""
    missing = (f"The reporter has not consented to a {command.type} of this case to "
               f"{command.to_organisation} with the '{command.share_profile}' share profile. "
               "Record their consent first (POST /api/v1/cases/{case_id}/consents).")
    if command.override_reason is None:
        raise Conflict(missing, reason="no-consent")
    if OVERRIDE_ROLE not in actor.roles:
        await audit.record(session, actor.subject, "consent-override-refused", case.id)
        return Conflict(missing + f" Overriding it needs the '{OVERRIDE_ROLE}' role, which "
                        "your account does not have.", reason="no-consent")
    await audit.record(session, actor.subject, "consent-override", case.id)
    return None


def _step(session: AsyncSession, referral: CaseReferral, before: str | None, actor: Actor,
          text: str) -> ReferralStep:
    step = ReferralStep(id=uuid7(), referral_id=referral.id, from_status=before,
                        to_status=referral.status, actor=actor.subject[:64], moved_on=today(),
                        text=text)
    session.add(step)
    return step


async def _visible(session: AsyncSession, actor: Actor, referral_id: UUID,
                   lock: bool = False) -> tuple[CaseReferral, str]:
    """The referral and the caller's organisation; others' referrals are simply not found."""
    organisation = require_handler(actor)
    referral = await (locked(session, referral_id) if lock
                      else session.get(CaseReferral, referral_id))
    if referral is None or organisation not in (referral.from_organisation,
                                                referral.to_organisation):
        raise NotFound("No such referral to or from your organisation.")
    if organisation == referral.from_organisation:  # the sender's side follows the case's
        case = await session.get(Case, referral.case_id)  # assignment, as every case route
        if case is not None and case.assigned_to and case.assigned_to != actor.subject:
            raise Forbidden("The referred case is assigned to another handler; only they can "
                            "see or move its referrals.")
    return referral, organisation


async def list_referrals(session: AsyncSession, query: ReferralListQuery) -> ReferralList:
    """The organisation's referrals in and out, without case content."""
    organisation = require_handler(query.actor)
    after = paging.decode("referrals", query.cursor, 1, (paging.uuid,))
    found = await referrals_for(session, organisation, query.direction, query.status,
                                query.limit + 1, UUID(str(after[0])) if after else None)
    found, more = found[:query.limit], len(found) > query.limit
    steps = await steps_of(session, [r.id for r in found])
    await audit.record(session, query.actor.subject, "referral-list", None)
    return ReferralList(items=[await referral_view(session, r, steps[r.id], organisation,
                                                   with_shared=False)
                               for r in found],
                        next_cursor=paging.encode("referrals", [str(found[-1].id)])
                        if more else None)


async def get_referral(session: AsyncSession, query: ReferralQuery) -> ReferralView:
    """One referral with what its share profile allows; the read is audited."""
    referral, organisation = await _visible(session, query.actor, query.referral_id)
    steps = await steps_of(session, [referral.id])
    await audit.record(session, query.actor.subject, "referral-read", referral.case_id)
    return await referral_view(session, referral, steps[referral.id], organisation)


async def of_case(session: AsyncSession, query: CaseReferralsQuery) -> CaseReferrals:
    """A case's consents and referrals, with the receivers' outcomes."""
    case = await case_for(session, query.actor, query.case_id)
    referrals = await referrals_of(session, case.id)
    steps = await steps_of(session, [r.id for r in referrals])
    consents = await consents_of(session, case.id)
    await audit.record(session, query.actor.subject, "referral-read", case.id)
    return CaseReferrals(consents=[consent_view(c) for c in consents],
                         referrals=[await referral_view(session, r, steps[r.id],
                                                        case.organisation)
                                    for r in referrals])


async def move(session: AsyncSession, command: MoveReferral) -> Result:
    """Accept, reject or complete (the receiver) or revoke (the sender) a referral."""
    referral, organisation = await _visible(session, command.actor, command.referral_id,
                                            lock=True)
    target = Status(command.to)
    side = "sender" if organisation == referral.from_organisation else "receiver"
    if MOVED_BY[target] != side:
        who = (referral.to_organisation if MOVED_BY[target] == "receiver"
               else referral.from_organisation)
        raise Forbidden(f"Only {who}'s case handlers can {VERB[target]} this {referral.type}.")
    check_move(referral.status, target)
    before = referral.status
    referral.status = target
    events: list[tuple[str, BaseModel]] = []
    if target == Status.ACCEPTED:
        referred = await _accept(session, command.actor, referral)
        if referred:
            events.append((Evt.CASE_STATUS_CHANGED, referred))
    elif target == Status.REVOKED and before == Status.ACCEPTED:
        await _withdraw(session, command.actor, referral)
    session.add(referral)
    _step(session, referral, before, command.actor, command.text)
    await audit.record(session, command.actor.subject, f"{referral.type}-{VERB[target]}",
                       referral.case_id)
    steps = await steps_of(session, [referral.id])
    return Result(await referral_view(session, referral, steps[referral.id], organisation),
                  [(EVENT[target], changed(referral, before)), *events])


async def _accept(session: AsyncSession, actor: Actor,
                  referral: CaseReferral) -> CaseStatusChanged | None:
    """A referral opens the receiver's own case with the shared projection, and the sender's
    case, if it was in assessment, becomes `referred` (the status change, for the reporter's
    status page); a transfer hands the case itself over (it was shared in full)."""
    case = await repository.get(session, referral.case_id)
    if case is None:
        raise NotFound("The referred case no longer exists.")
    if referral.type == "transfer":
        case.organisation, case.assigned_to = referral.to_organisation, None
        session.add(case)
        referral.linked_case_id = case.id
        return None
    shared = await content.shared_of(session, referral)
    if shared is None:
        raise Conflict("The referred case's content was deleted under the retention policy; "
                       "there is nothing left to accept.")
    linked = Case(id=uuid7(), submission_id=uuid7(), reference=new_reference(),
                  organisation=referral.to_organisation, status=CaseStatus.ACKNOWLEDGED,
                  risk=shared.risk, risk_reasons=shared.risk_reasons,
                  language=shared.language or UNDETERMINED,
                  reported=content.reported(shared.answers),
                  identifying=shared.identifying, received_on=today(),
                  acknowledge_by=today(), acknowledged_on=today())
    await content.set_answers(session, linked, shared.answers,
                              await content.new_key(session, linked))
    referral.linked_case_id = linked.id
    await session.flush()
    await audit.record(session, actor.subject, "referral-open", linked.id)
    if case.status != CaseStatus.IN_ASSESSMENT:
        return None  # the sender moves it on as it sees fit (referred is for assessed cases)
    case.status, case.last_update_on = CaseStatus.REFERRED, today()
    session.add(case)
    await audit.record(session, "system", f"status:{CaseStatus.REFERRED}", case.id)
    return CaseStatusChanged(case_id=case.id, submission_id=case.submission_id,
                             organisation=case.organisation, from_status=CaseStatus.IN_ASSESSMENT,
                             to_status=CaseStatus.REFERRED)


async def _withdraw(session: AsyncSession, actor: Actor, referral: CaseReferral) -> None:
    """Revoking after acceptance takes the shared content back from the receiver's case, or
    hands a transferred case back to the sender."""
    case = await repository.get(session, referral.linked_case_id)  # type: ignore[arg-type]
    if case is None:
        return
    if referral.type == "transfer":
        case.organisation, case.assigned_to = referral.from_organisation, None
    else:
        await content.set_answers(session, case, {})
        case.identifying, case.language = [], UNDETERMINED
    session.add(case)
    await audit.record(session, actor.subject, "referral-withdrawn", case.id)


def new_reference() -> str:
    """A reference for a referred case, e.g. `RF-K7M2-9QXD`: unrelated to the reporter's."""
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"{REFERRAL_PREFIX}{chars[:4]}-{chars[4:]}"


# endpoints
Handler = Callable[[Any], Awaitable[BaseModel]]


def endpoints(app: ServiceApp, directory: Directory) -> list[tuple[str, type[BaseModel], Handler]]:
    """The referral subjects with their handlers; each write runs in one transaction with its
    events (outbox), and a refusal is raised only after its audit entry is committed."""

    def serve(call: Callable[[AsyncSession, Any], Awaitable[Result | BaseModel]]) -> Handler:
        async def handle(command: Any) -> BaseModel:
            async with app.transaction() as session:
                result = await call(session, command)
                if not isinstance(result, Result):
                    return result
                for subject, event in result.events:
                    app.emit(session, subject, event)
            if result.refused is not None:
                raise result.refused
            assert result.reply is not None
            return result.reply
        return handle

    async def organisations(query: DirectoryQuery) -> OrganisationList:
        return directory_of(directory, query)

    return [
        (Rpc.CASES_REFERRAL_DIRECTORY, DirectoryQuery, organisations),
        (Rpc.CASES_REFERRAL_CONSENT, RecordConsent,
         serve(lambda s, c: record_consent(s, directory, c))),
        (Rpc.CASES_REFERRAL_CONSENT_WITHDRAW, WithdrawConsent, serve(withdraw_consent)),
        (Rpc.CASES_REFERRAL_CREATE, CreateReferral, serve(lambda s, c: create(s, directory, c))),
        (Rpc.CASES_REFERRAL_LIST, ReferralListQuery, serve(list_referrals)),
        (Rpc.CASES_REFERRAL_GET, ReferralQuery, serve(get_referral)),
        (Rpc.CASES_REFERRAL_OF_CASE, CaseReferralsQuery, serve(of_case)),
        (Rpc.CASES_REFERRAL_MOVE, MoveReferral, serve(move)),
    ]
