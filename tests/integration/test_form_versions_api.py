"""The worker committee changes the intake form over HTTP: a draft nobody else sees, approval
only once every text is in all nine languages and a consultation is recorded, and reports
filed on the earlier version staying readable (and still accepted from a page left open)."""

from __future__ import annotations

import copy
from typing import Any

from suara_kit.testing import eventually

LANGUAGES = ("en", "id", "fil", "km", "my", "vi", "th", "ms", "zh-Hant")
PROBLEM = "application/problem+json"

STORY = {"en": "Tell us your story", "id": "Ceritakan kisah Anda",
         "fil": "Ikuwento sa amin ang nangyari", "km": "ប្រាប់យើងពីរឿងរបស់អ្នក",
         "my": "သင့်အကြောင်း ပြောပြပါ", "vi": "Hãy kể cho chúng tôi câu chuyện của bạn",
         "th": "เล่าเรื่องของคุณให้เราฟัง", "ms": "Ceritakan kisah anda kepada kami",
         "zh-Hant": "告訴我們你的經歷"}
PAID = {"en": "Were you paid last month?", "id": "Apakah Anda dibayar bulan lalu?",
        "fil": "Binayaran ka ba noong nakaraang buwan?", "km": "តើអ្នកបានទទួលប្រាក់ខែមុនទេ?",
        "my": "ပြီးခဲ့သည့်လက လစာရခဲ့ပါသလား။", "vi": "Tháng trước bạn có được trả lương không?",
        "th": "เดือนที่แล้วคุณได้รับค่าจ้างไหม", "ms": "Adakah anda dibayar bulan lepas?",
        "zh-Hant": "你上個月有收到工資嗎？"}
YES = {"en": "Yes", "id": "Ya", "fil": "Oo", "km": "បាទ/ចាស", "my": "ဟုတ်ကဲ့", "vi": "Có",
       "th": "ใช่", "ms": "Ya", "zh-Hant": "是"}
NO = {"en": "No", "id": "Tidak", "fil": "Hindi", "km": "ទេ", "my": "မဟုတ်ပါ", "vi": "Không",
      "th": "ไม่ใช่", "ms": "Tidak", "zh-Hant": "否"}

V1_ANSWERS: dict[str, Any] = {
    "categories": ["unpaid-wages", "document-retention"],
    "what_happened": "The agency kept my passport and I was not paid for two months.",
    "owed": "1500 MYR",
    "documents_held_by": "agency",
    "started_on": "2025-11-03",
    "country": "MY",
    "origin": "ID",
    "safe_now": "yes",
}
V2_ANSWERS: dict[str, Any] = {
    "categories": ["unpaid-wages"],
    "story": "My employer stopped paying me in March.",
    "paid_last_month": "no",
    "country": "MY",
}


def _report(answers: dict[str, Any], version: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"organisation": "tenaganita", "language": "id", "answers": answers}
    if version is not None:
        body["form_version"] = version
    return body


async def _spec_of_1(system: Any) -> dict[str, Any]:
    reply = await system.http.get("/api/v1/forms/1")
    assert reply.status_code == 200, reply.text
    assert reply.json()["status"] == "approved"
    return dict(reply.json()["spec"])


def _version_2(spec_1: dict[str, Any], *, translated: bool = True) -> dict[str, Any]:
    """Version 1 with `what_happened` replaced by a required `story` and a new required
    yes-no question after it. Half translated: `story` only in English and Indonesian."""
    spec = copy.deepcopy(spec_1)
    names = [f["name"] for f in spec["fields"]]
    at = names.index("what_happened")
    story_label = STORY if translated else {k: STORY[k] for k in ("en", "id")}
    spec["fields"][at:at + 1] = [
        {"name": "story", "kind": "long-text", "required": True, "max_length": 3000,
         "label": story_label},
        {"name": "paid_last_month", "kind": "yes-no", "required": True, "label": PAID,
         "choices": [{"value": "yes", "label": YES}, {"value": "no", "label": NO}]},
    ]
    return spec


async def _draft(system: Any, headers: dict[str, str], spec: dict[str, Any]) -> dict[str, Any]:
    reply = await system.http.post("/api/v1/forms", headers=headers,
                                   json={"spec": spec, "note": "Shorter story question; ask "
                                                               "about last month's pay."})
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


async def _approve(system: Any, headers: dict[str, str], version: int) -> Any:
    return await system.http.post(f"/api/v1/forms/{version}/approve", headers=headers,
                                  json={"consultation_ref": "Committee meeting 2026-11-20, "
                                                            "minutes #14"})


async def _versions(system: Any, headers: dict[str, str] | None = None) -> list[int]:
    reply = await system.http.get("/api/v1/forms", headers=headers or {})
    assert reply.status_code == 200, reply.text
    return [v["version"] for v in reply.json()["items"]]


async def _lookup(system: Any, receipt: dict[str, Any]) -> dict[str, Any]:
    reply = await system.http.post("/api/v1/reports/lookup", json={
        "reference": receipt["reference"], "receipt": receipt["receipt"]})
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


async def test_a_draft_is_seen_only_by_the_worker_committee(system: Any) -> None:
    committee = await system.auth("committee")
    handler = await system.auth("handler.tenaganita")
    drafted = await _draft(system, committee, _version_2(await _spec_of_1(system)))
    assert drafted["version"] == 2
    assert drafted["status"] == "draft"
    assert drafted["current"] is False
    assert drafted["based_on"] == 1
    assert drafted["drafted_by"]
    assert drafted["consultation_ref"] is None
    assert drafted["approved_by"] is None
    assert [f["name"] for f in drafted["spec"]["fields"]][:4] == [
        "categories", "story", "paid_last_month", "owed"]

    assert await _versions(system) == [1]
    assert await _versions(system, handler) == [1]
    listing = (await system.http.get("/api/v1/forms", headers=committee)).json()["items"]
    assert [(v["version"], v["status"], v["current"]) for v in listing] == [
        (2, "draft", False), (1, "approved", True)]

    for headers in ({}, handler):
        hidden = await system.http.get("/api/v1/forms/2", headers=headers)
        assert hidden.status_code == 404
        assert hidden.headers["content-type"] == PROBLEM
    seen = await system.http.get("/api/v1/forms/2", headers=committee)
    assert seen.status_code == 200
    assert seen.json()["spec"]["fields"][1]["label"] == STORY

    not_served = await system.http.get("/api/v1/form", params={"version": 2})
    assert not_served.status_code == 404
    served = (await system.http.get("/api/v1/form", params={"language": "id"})).json()
    assert served["version"] == 1
    assert "what_happened" in [f["name"] for f in served["fields"]]
    assert "story" not in [f["name"] for f in served["fields"]]
    page = await system.http.get("/id/")
    assert STORY["id"] not in page.text
    assert '<input type="hidden" name="form_version" value="1">' in page.text
    on_draft = await system.http.post("/api/v1/reports", json=_report(V2_ANSWERS, 2))
    assert on_draft.status_code == 404, on_draft.text


async def test_only_the_worker_committee_drafts_and_approves(system: Any) -> None:
    spec = _version_2(await _spec_of_1(system))
    body = {"spec": spec, "note": "x"}
    anonymous = await system.http.post("/api/v1/forms", json=body)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == PROBLEM
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    forged = await system.http.post("/api/v1/forms", json=body,
                                    headers={"Authorization": "Bearer not-a-token"})
    assert forged.status_code == 401
    for user in ("handler.tenaganita", "norole.tenaganita"):
        refused = await system.http.post("/api/v1/forms", json=body,
                                         headers=await system.auth(user))
        assert refused.status_code == 403, user
        assert refused.headers["content-type"] == PROBLEM
        assert refused.json()["status"] == 403
        assert "worker-committee" in refused.json()["detail"]

    committee = await system.auth("committee")
    assert await _versions(system, committee) == [1]  # nothing was stored by the refusals
    await _draft(system, committee, spec)
    handler = await system.auth("handler.tenaganita")
    rework = await system.http.put("/api/v1/forms/2", json=body, headers=handler)
    assert rework.status_code == 403
    assert rework.headers["content-type"] == PROBLEM
    approve = await _approve(system, handler, 2)
    assert approve.status_code == 403
    assert approve.headers["content-type"] == PROBLEM
    assert (await _approve(system, {}, 2)).status_code == 401
    still = (await system.http.get("/api/v1/forms/2", headers=committee)).json()
    assert still["status"] == "draft"
    assert (await system.http.get("/api/v1/form")).json()["version"] == 1


async def test_approval_needs_all_nine_languages_and_a_consultation(system: Any) -> None:
    committee = await system.auth("committee")
    spec_1 = await _spec_of_1(system)
    drafted = await _draft(system, committee, _version_2(spec_1, translated=False))
    assert drafted["status"] == "draft"  # a draft may be half translated

    half = await _approve(system, committee, 2)
    assert half.status_code == 422, half.text
    assert half.headers["content-type"] == PROBLEM
    errors = half.json()["errors"]
    assert [e["field"] for e in errors] == ["spec.fields.story.label"]
    missing = errors[0]["message"].removeprefix("missing in ").split(", ")
    assert missing == [code for code in LANGUAGES if code not in ("en", "id")]
    assert (await system.http.get("/api/v1/forms/2", headers=committee)).json()[
        "status"] == "draft"
    assert (await system.http.get("/api/v1/form")).json()["version"] == 1

    no_ref = await system.http.post("/api/v1/forms/2/approve", headers=committee, json={})
    assert no_ref.status_code == 422
    assert no_ref.json()["errors"][0]["field"] == "consultation_ref"

    reworked = await system.http.put("/api/v1/forms/2", headers=committee, json={
        "spec": _version_2(spec_1), "note": "all nine languages"})
    assert reworked.status_code == 200, reworked.text
    assert reworked.json()["status"] == "draft"
    assert reworked.json()["note"] == "all nine languages"

    approved = await _approve(system, committee, 2)
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["status"] == "approved"
    assert body["current"] is True
    assert body["consultation_ref"] == "Committee meeting 2026-11-20, minutes #14"
    assert body["approved_by"]
    assert body["approved_on"]

    form = await system.http.get("/api/v1/form", params={"language": "id"})
    assert form.status_code == 200
    assert form.json()["version"] == 2
    fields = {f["name"]: f for f in form.json()["fields"]}
    assert "what_happened" not in fields
    assert fields["story"]["label"] == "Ceritakan kisah Anda"
    assert fields["story"]["required"] is True
    assert fields["paid_last_month"]["label"] == PAID["id"]
    assert [c["label"] for c in fields["paid_last_month"]["choices"]] == ["Ya", "Tidak"]

    public = (await system.http.get("/api/v1/forms")).json()["items"]
    assert [(v["version"], v["status"], v["current"]) for v in public] == [
        (2, "approved", True), (1, "approved", False)]
    assert public[0]["consultation_ref"] == body["consultation_ref"]

    for version in (2, 1):
        frozen = await system.http.put(f"/api/v1/forms/{version}", headers=committee, json={
            "spec": spec_1, "note": "change an approved version"})
        assert frozen.status_code == 409, version
        assert frozen.headers["content-type"] == PROBLEM
    again = await _approve(system, committee, 2)
    assert again.status_code == 409
    unchanged = (await system.http.get("/api/v1/forms/2")).json()
    assert [f["name"] for f in unchanged["spec"]["fields"]][1] == "story"


async def test_reports_on_version_1_stay_readable_after_version_2(system: Any) -> None:
    committee = await system.auth("committee")
    before = await system.http.post("/api/v1/reports", json=_report(V1_ANSWERS))
    assert before.status_code == 201, before.text
    await _draft(system, committee, _version_2(await _spec_of_1(system)))
    assert (await _approve(system, committee, 2)).status_code == 200

    view = await _lookup(system, before.json())
    assert view["form_version"] == 1
    assert view["answers"] == V1_ANSWERS
    old_form = await system.http.get("/api/v1/form", params={"version": 1, "language": "id"})
    assert old_form.status_code == 200
    assert old_form.json()["version"] == 1
    labels = {f["name"]: f["label"] for f in old_form.json()["fields"]}
    for name in view["answers"]:
        assert labels.get(name), f"version 1 lost the question {name}"
    assert labels["categories"] == "Apa yang terjadi pada Anda?"
    assert labels["what_happened"] != labels["categories"]

    # A worker who opened the page before the approval sends version 1's answers.
    late = await system.http.post("/api/v1/reports", json=_report(V1_ANSWERS, 1))
    assert late.status_code == 201, late.text
    late_view = await _lookup(system, late.json())
    assert late_view["form_version"] == 1
    assert late_view["answers"]["what_happened"] == V1_ANSWERS["what_happened"]

    for version in (None, 2):
        stale = await system.http.post("/api/v1/reports", json=_report(V1_ANSWERS, version))
        assert stale.status_code == 422, stale.text
        assert stale.headers["content-type"] == PROBLEM
        by_field = {e["field"]: e["code"] for e in stale.json()["errors"]}
        assert by_field["answers.what_happened"] == "not-a-question"
        assert by_field["answers.story"] == "required"
        assert by_field["answers.paid_last_month"] == "required"

    extra = await system.http.post("/api/v1/reports",
                                   json=_report({**V2_ANSWERS, "what_happened": "old"}))
    assert extra.status_code == 422
    assert [(e["field"], e["code"]) for e in extra.json()["errors"]] == [
        ("answers.what_happened", "not-a-question")]

    current = await system.http.post("/api/v1/reports", json=_report(V2_ANSWERS))
    assert current.status_code == 201, current.text
    current_view = await _lookup(system, current.json())
    assert current_view["form_version"] == 2
    assert current_view["answers"] == V2_ANSWERS

    handler = await system.auth("handler.tenaganita")

    async def case_opened() -> dict[str, Any] | None:
        items = (await system.http.get("/api/v1/cases", headers=handler)).json()["items"]
        return next((c for c in items if c["reference"] == current.json()["reference"]), None)

    case = await eventually(case_opened)
    detail = await system.http.get(f"/api/v1/cases/{case['case_id']}", headers=handler)
    assert detail.status_code == 200, detail.text
    assert detail.json()["answers"]["story"] == V2_ANSWERS["story"]


async def test_the_form_page_asks_version_2_once_it_is_approved(system: Any) -> None:
    committee = await system.auth("committee")
    await _draft(system, committee, _version_2(await _spec_of_1(system)))
    draft_page = await system.http.get("/id/")
    assert 'id="q-story"' not in draft_page.text
    assert (await _approve(system, committee, 2)).status_code == 200

    page = await system.http.get("/id/")
    assert page.status_code == 200
    assert '<input type="hidden" name="form_version" value="2">' in page.text
    assert 'id="q-story"' in page.text
    assert "Ceritakan kisah Anda" in page.text
    assert PAID["id"] in page.text
    assert 'id="q-what_happened"' not in page.text
    assert '<link rel="stylesheet" href="/form/2.css">' in page.text
    english = await system.http.get("/")
    assert STORY["en"] in english.text

    sent = await system.http.post("/id/report", data={
        "organisation": "tenaganita", "form_version": "2", "categories": ["unpaid-wages"],
        "story": "Gaji saya tidak dibayar sejak Maret.", "paid_last_month": "no",
        "country": "MY"})
    assert sent.status_code == 201, sent.text
    assert 'id="receipt"' in sent.text

    # The page a worker opened before the approval still sends.
    old_page = await system.http.post("/id/report", data={
        "organisation": "tenaganita", "form_version": "1", "categories": ["unpaid-wages"],
        "what_happened": "Gaji saya tidak dibayar.", "country": "MY"})
    assert old_page.status_code == 201, old_page.text
    assert 'id="receipt"' in old_page.text

    missing = await system.http.post("/id/report", data={
        "organisation": "tenaganita", "form_version": "2", "categories": ["unpaid-wages"],
        "country": "MY"})
    assert missing.status_code == 422
    assert 'id="story-error"' in missing.text
    assert 'id="paid_last_month-error"' in missing.text


async def test_a_page_with_a_tampered_form_version_falls_back_to_the_current_form(
        system: Any) -> None:
    form = {"organisation": "tenaganita", "categories": ["unpaid-wages"], "country": "MY",
            "what_happened": "Gaji saya tidak dibayar."}
    for version in ("0", "²"):
        review = await system.http.post("/id/review", data={**form, "form_version": version})
        assert review.status_code == 200, (version, review.text[:200])
        sent = await system.http.post("/id/report", data={**form, "form_version": version})
        assert sent.status_code == 201, (version, sent.text[:200])


HUGE = 99_999_999_999  # beyond a 32-bit integer column


async def test_a_form_version_beyond_any_possible_one_is_refused(system: Any) -> None:
    """Versions are 32-bit integers in every database: a larger one is bad input (422), on
    PostgreSQL as on SQLite, never a database error."""
    committee = await system.auth("committee")
    spec = await _spec_of_1(system)
    replies = [
        await system.http.get("/api/v1/form", params={"version": HUGE}),
        await system.http.get(f"/api/v1/forms/{HUGE}"),
        await system.http.get(f"/form/{HUGE}.css"),
        await system.http.put(f"/api/v1/forms/{HUGE}", headers=committee,
                              json={"spec": spec}),
        await _approve(system, committee, HUGE),
        await system.http.post("/api/v1/reports", json=_report(V1_ANSWERS, HUGE)),
    ]
    assert [r.status_code for r in replies] == [422] * len(replies), [
        r.text[:120] for r in replies]
    assert all(r.headers["content-type"] == PROBLEM for r in replies)
