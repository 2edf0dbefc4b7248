"""Form versions: the default version 1, drafts by the worker committee, approval with a
consultation reference, and reports that stay readable on the version they were filed on."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest

from suara_contracts.rpc import Actor, ChoiceSpec, FieldSpec, FormSpec, SubmitReport
from suara_intake import forms, service
from suara_intake.formstore import FormStore
from suara_intake.handlers import MIGRATIONS
from suara_intake.models import DataKeys
from suara_intake.settings import IntakeSettings
from suara_kit.datakeys import use_keys
from suara_kit.db import Database
from suara_kit.errors import Conflict, Forbidden, NotFound, ValidationFailed
from suara_kit.i18n import LOCALES
from suara_kit.testing import migrated

COMMITTEE = Actor(subject="committee-1", roles=["worker-committee"])
HANDLER = Actor(subject="staff-1", roles=["case-handler"], organisation="tenaganita")
POLICY = service.ReceiptPolicy(key=b"k" * 32, max_failures=3, lockout=timedelta(minutes=15))
ORGS = ["tenaganita"]


@pytest.fixture
async def db(database_url: Callable[[str], str]) -> AsyncIterator[Database]:
    async with migrated(MIGRATIONS, database_url("intake")) as database:
        use_keys(database, IntakeSettings(), DataKeys)
        yield database


def every_language(text: str) -> dict[str, str]:
    return {code: f"{text} [{code}]" for code in LOCALES}


def version_two() -> FormSpec:
    """The committee's rewrite: 'what_happened' is now 'story', a new yes/no question."""
    default = forms.default_spec()
    fields = [f for f in default.fields if f.name not in {"what_happened"}]
    story = FieldSpec(name="story", kind="long-text", required=True,
                      label=every_language("Your story"))
    agency_fee = FieldSpec(name="paid_fee", kind="yes-no", label=every_language("Paid a fee?"),
                           choices=[ChoiceSpec(value="yes", label=every_language("Yes"),
                                               danger="fee-paid"),
                                    ChoiceSpec(value="no", label=every_language("No"))])
    return FormSpec(fields=[fields[0], story, agency_fee, *fields[1:]])


async def test_a_new_installation_gets_the_default_form_once(db: Database) -> None:
    store = FormStore()
    await store.ensure_default(db)
    await FormStore().ensure_default(db)  # a second replica starting: nothing changes
    async with db.transaction() as session:
        listing = await store.listing(session, None)
        number, spec = await store.approved(session)
    assert [(v.version, v.status, v.current) for v in listing] == [(1, "approved", True)]
    assert listing[0].consultation_ref
    assert listing[0].approved_by
    assert number == 1
    assert spec == forms.default_spec()


async def test_committee_drafts_and_approves_a_new_version(db: Database) -> None:
    store = FormStore()
    await store.ensure_default(db)
    async with db.transaction() as session:
        draft = await store.draft(session, COMMITTEE, version_two(), "story first", None)
    assert (draft.version, draft.status, draft.based_on, draft.drafted_by) == (
        2, "draft", 1, "committee-1")
    async with db.transaction() as session:  # drafts are the committee's, not the public's
        assert [v.version for v in await store.listing(session, None)] == [1]
        assert [v.version for v in await store.listing(session, COMMITTEE)] == [2, 1]
        with pytest.raises(NotFound):
            await store.one(session, 2, HANDLER)
        assert (await store.approved(session))[0] == 1  # a draft is not served
        approved = await store.approve(session, COMMITTEE, 2, "Committee meeting 2026-11-20")
    assert (approved.status, approved.current, approved.approved_by) == (
        "approved", True, "committee-1")
    assert approved.consultation_ref == "Committee meeting 2026-11-20"
    async with db.transaction() as session:
        number, spec = await store.approved(session)
        assert number == 2
        assert spec.fields[1].name == "story"
        with pytest.raises(Conflict, match="already approved"):
            await store.approve(session, COMMITTEE, 2, "again")
        with pytest.raises(Conflict, match="cannot change"):
            await store.draft(session, COMMITTEE, version_two(), "", 2)


async def test_another_replica_serves_a_new_version_within_a_second(db: Database) -> None:
    now = [100.0]
    here, there = FormStore(), FormStore(clock=lambda: now[0])
    await here.ensure_default(db)
    async with db.transaction() as session:
        assert (await there.approved(session))[0] == 1  # `there` has read the number
        draft = await here.draft(session, COMMITTEE, version_two(), "", None)
        await here.approve(session, COMMITTEE, draft.version, "meeting")
    async with db.transaction() as session:
        assert (await here.approved(session))[0] == 2  # at once where it was approved
        now[0] += FormStore.CURRENT_TTL / 2
        assert (await there.approved(session))[0] == 1  # version 1 stays approved meanwhile
        now[0] += FormStore.CURRENT_TTL
        assert (await there.approved(session))[0] == 2


async def test_only_the_worker_committee_edits_the_form(db: Database) -> None:
    store = FormStore()
    await store.ensure_default(db)
    async with db.transaction() as session:
        with pytest.raises(Forbidden, match="worker-committee"):
            await store.draft(session, HANDLER, version_two(), "", None)
        draft = await store.draft(session, COMMITTEE, version_two(), "", None)
        with pytest.raises(Forbidden):
            await store.approve(session, HANDLER, draft.version, "meeting")


async def test_a_draft_can_be_reworked_but_is_approved_only_when_fully_translated(
        db: Database) -> None:
    store = FormStore()
    await store.ensure_default(db)
    half = version_two()
    half.fields[1].label.pop("km")
    async with db.transaction() as session:
        draft = await store.draft(session, COMMITTEE, half, "needs Khmer", None)
    async with db.transaction() as session:
        with pytest.raises(ValidationFailed) as info:
            await store.approve(session, COMMITTEE, draft.version, "meeting 14")
    assert info.value.extra["errors"] == [
        {"field": "spec.fields.story.label", "message": "missing in km"}]
    async with db.transaction() as session:
        reworked = await store.draft(session, COMMITTEE, version_two(), "", draft.version)
        assert reworked.version == draft.version
        assert reworked.note == "needs Khmer"
        await store.approve(session, COMMITTEE, draft.version, "meeting 14")


async def test_a_report_filed_on_version_1_still_renders_after_version_2(db: Database) -> None:
    store = FormStore()
    await store.ensure_default(db)
    old = SubmitReport(organisation="tenaganita", answers={
        "categories": ["unpaid-wages"], "what_happened": "No pay since March.", "country": "HK"})
    async with db.transaction() as session:
        sub, _, event = await service.submit(session, store, old, ORGS, POLICY)
    assert event.form_version == "1"
    async with db.transaction() as session:
        await store.draft(session, COMMITTEE, version_two(), "", None)
        await store.approve(session, COMMITTEE, 2, "meeting 15")
    # the old report's answers no longer fit the current form...
    async with db.transaction() as session:
        with pytest.raises(ValidationFailed):
            await service.check(session, store, old, ORGS)
        # ...but the page the worker had open still sends on version 1
        pinned = old.model_copy(update={"form_version": 1})
        assert (await service.check(session, store, pinned, ORGS)).version == 1
        status = await service.status_of(session, sub)
        assert status.form_version == 1
        number, spec = await store.approved(session, status.form_version)
    view = forms.render(spec, number, "id", ORGS)
    labels = {f.name: f.label for f in view.fields}
    assert set(status.answers) <= set(labels)
    assert labels["what_happened"] == spec.fields[1].label["id"]


async def test_new_reports_use_the_new_version_and_its_danger_signals(db: Database) -> None:
    store = FormStore()
    await store.ensure_default(db)
    async with db.transaction() as session:
        await store.draft(session, COMMITTEE, version_two(), "", None)
        await store.approve(session, COMMITTEE, 2, "meeting 15")
    report = SubmitReport(organisation="tenaganita", answers={
        "categories": ["recruitment-fees"], "story": "Paid 30 million rupiah.",
        "paid_fee": "yes", "country": "TW"})
    async with db.transaction() as session:
        sub, _, event = await service.submit(session, store, report, ORGS, POLICY)
    assert (sub.form_version, event.risk, event.risk_reasons) == ("2", "high", ["fee-paid"])
