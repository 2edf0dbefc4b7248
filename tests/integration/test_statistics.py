"""Statistics over HTTP: the worker committee sees any organisation, a case handler their own,
everyone the public figures and the transparency page; small groups are hidden everywhere, and
no case, reference or day ever shows."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from suara_cases import statistics
from suara_kit.clock import today
from suara_kit.testing import eventually

# 7 + 6 + 2 reports: unpaid wages (ID→MY) is shown; abuse (KH→TH) has 2 reports and is hidden,
# and no rest day (PH→MY) is hidden with it, or 15 - 7 would give the 2 away.
REPORTS = [({"categories": ["unpaid-wages"], "origin": "ID", "country": "MY"}, 7),
           ({"categories": ["no-rest-day"], "origin": "PH", "country": "MY"}, 6),
           ({"categories": ["abuse"], "origin": "KH", "country": "TH"}, 2)]
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


async def _file(system: Any) -> list[str]:
    references = []
    for answers, count in REPORTS:
        for _ in range(count):
            filed = await system.http.post("/api/v1/reports", json={
                "organisation": "tenaganita",
                "answers": {**answers, "what_happened": "No pay and no day off."}})
            assert filed.status_code == 201, filed.text
            references.append(filed.json()["reference"])
    return references


async def _cases(system: Any, headers: dict[str, str], references: list[str]) -> list[str]:
    async def opened() -> list[str] | None:
        items = (await system.http.get("/api/v1/cases", headers=headers)).json()["items"]
        by_reference = {c["reference"]: c["case_id"] for c in items}
        found = [by_reference.get(r) for r in references]
        return [str(c) for c in found] if all(found) else None

    return await eventually(opened)  # type: ignore[return-value]


@pytest.fixture
async def figures(system: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """15 reports to Tenaganita, 5 of them acknowledged; the statistics' clock is moved past
    the end of this month, so the month counts."""
    handler = await system.auth("handler.tenaganita")
    references = await _file(system)
    case_ids = await _cases(system, handler, references)
    for case_id in case_ids[:5]:  # unpaid wages, ID→MY
        moved = await system.http.post(f"/api/v1/cases/{case_id}/transitions", headers=handler,
                                       json={"to": "acknowledged", "message": "We have it."})
        assert moved.status_code == 200, moved.text
    monkeypatch.setattr(statistics, "today", lambda: today() + timedelta(days=40))
    return {"references": references, "case_ids": case_ids, "handler": handler}


def _no_case_and_no_day(text: str, figures: dict[str, Any]) -> None:
    assert not DAY.search(text)
    for secret in figures["references"] + figures["case_ids"]:
        assert secret not in text


def _row(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    return next(r for r in rows if r["key"] == key)


async def test_the_committee_and_handlers_see_suppressed_figures(
        system: Any, figures: dict[str, Any]) -> None:
    committee = await system.auth("committee")
    everyone = await system.http.get("/api/v1/statistics", headers=committee)
    assert everyone.status_code == 200, everyone.text
    body = everyone.json()
    assert (body["organisation"], body["min_group"], body["period_from"]) == (None, 5, None)
    assert body["totals"]["cases"] == 15
    assert body["totals"]["time_to_acknowledge"] == {
        "based_on": 5, "median_days": 0.0, "p90_days": 0.0, "suppressed": False}
    assert body["totals"]["acknowledged_on_time"]["percent"] == 33  # 10 are late by now
    assert [(r["key"], r["cases"], r["suppressed"]) for r in body["by_issue"]] == [
        ("unpaid-wages", 7, False), ("abuse", None, True), ("no-rest-day", None, True)]
    assert [(r["key"], r["cases"]) for r in body["by_corridor"]] == [
        ("ID→MY", 7), ("KH→TH", None), ("PH→MY", None)]
    hidden = _row(body["by_corridor"], "KH→TH")
    assert hidden["time_to_acknowledge"] == {"based_on": None, "median_days": None,
                                             "p90_days": None, "suppressed": True}
    _no_case_and_no_day(everyone.text, figures)

    other = await system.http.get("/api/v1/statistics?organisation=map-foundation",
                                  headers=committee)
    assert other.status_code == 200, other.text
    assert other.json()["organisation"] == "map-foundation"
    assert other.json()["totals"]["suppressed"]

    own = await system.http.get("/api/v1/statistics", headers=figures["handler"])
    assert own.status_code == 200, own.text
    assert (own.json()["organisation"], own.json()["totals"]["cases"]) == ("tenaganita", 15)
    refused = await system.http.get("/api/v1/statistics?organisation=map-foundation",
                                    headers=figures["handler"])
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    elsewhere = await system.http.get("/api/v1/statistics",
                                      headers=await system.auth("handler.map"))
    assert elsewhere.json()["organisation"] == "map-foundation"
    assert elsewhere.json()["totals"]["suppressed"]


async def test_others_are_turned_away_and_months_are_checked(
        system: Any, figures: dict[str, Any]) -> None:
    assert (await system.http.get("/api/v1/statistics")).status_code == 401
    no_role = await system.auth("norole.tenaganita")
    assert (await system.http.get("/api/v1/statistics", headers=no_role)).status_code == 403
    liaison = await system.auth("liaison")
    assert (await system.http.get("/api/v1/statistics", headers=liaison)).status_code == 403
    for query in ("from=2026-13", "from=2026-03-01", "from=2026-05&to=2026-04",
                  "from=2999-01"):
        bad = await system.http.get(f"/api/v1/public/statistics?{query}")
        assert bad.status_code == 422, query
        assert bad.headers["content-type"] == "application/problem+json"


async def test_the_public_figures_cover_every_organisation_without_a_token(
        system: Any, figures: dict[str, Any]) -> None:
    public = await system.http.get("/api/v1/public/statistics")
    assert public.status_code == 200, public.text
    body = public.json()
    assert (body["organisation"], body["totals"]["cases"]) == (None, 15)
    abuse = _row(body["by_issue"], "abuse")
    assert (abuse["cases"], abuse["suppressed"]) == (None, True)
    measures = [v for v in abuse.values() if isinstance(v, dict)]
    assert len(measures) == 4
    assert all(m["suppressed"] and m["based_on"] is None for m in measures)
    assert "set-cookie" not in public.headers
    _no_case_and_no_day(public.text, figures)
    before = await system.http.get("/api/v1/public/statistics?from=2020-01&to=2020-12")
    assert before.status_code == 200, before.text
    assert (before.json()["period_from"], before.json()["period_to"]) == ("2020-01", "2020-12")
    assert before.json()["totals"]["suppressed"]


async def test_the_transparency_page_in_bahasa_indonesia(
        system: Any, figures: dict[str, Any]) -> None:
    page = await system.http.get("/id/transparency")
    assert page.status_code == 200, page.text
    assert '<html lang="id" dir="ltr">' in page.text
    assert "set-cookie" not in page.headers
    assert "<script" not in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    css = await system.http.get("/static/suara.css")
    assert len(page.content) + len(css.content) < 100_000
    assert page.text.count("<caption") == 3
    assert '<th scope="row">' in page.text
    _no_case_and_no_day(page.text, figures)
    rows = {re.sub(r"<[^>]+>", "", r.split("</th>", 1)[0]).strip(): r for r in re.findall(
        r'<th scope="row">(.*?)</tr>', page.text, flags=re.S)}
    wages = rows["Gaji tidak dibayar atau kurang dibayar"]  # the form's own words, in Indonesian
    assert "<td>7</td>" in wages
    for hidden in ("Kekerasan atau pelecehan", "Tidak ada hari libur mingguan",
                   "Kamboja → Thailand"):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", rows[hidden])
        assert cells == ["disembunyikan"] * 7, hidden  # shown as hidden, never as a number
    assert "kurang dari 5 laporan" in page.text  # why some numbers are hidden

    english = await system.http.get("/transparency")
    assert english.status_code == 200
    assert "Some numbers are hidden." in english.text
    unknown = await system.http.get("/xx/transparency")
    assert unknown.status_code == 404
    odd = await system.http.get("/id/transparency?from=kemarin")
    assert odd.status_code == 200
    assert 'id="period-error"' in odd.text
    first = await system.http.get("/")
    assert '<a href="/transparency">Reports in numbers</a>' in first.text
