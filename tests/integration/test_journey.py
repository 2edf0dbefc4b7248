"""One grievance travels through the gateway and all four services over a real nats-server,
on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from suara_kit.testing import eventually

REPORT = {
    "organisation": "tenaganita",
    "language": "en",
    "answers": {
        "categories": ["unpaid-wages", "document-retention"],
        "what_happened": "My employer has not paid me for three months and keeps my passport.",
        "country": "MY",
        "safe_now": "yes",
    },
}


async def _case_of(system: Any, headers: dict[str, str], reference: str) -> dict[str, Any] | None:
    reply = await system.http.get("/api/v1/cases", headers=headers)
    assert reply.status_code == 200, reply.text
    return next((c for c in reply.json()["items"] if c["reference"] == reference), None)


async def test_the_journey(system: Any) -> None:
    submitted = await system.http.post("/api/v1/reports", json=REPORT)
    assert submitted.status_code == 201, submitted.text
    reference, receipt = submitted.json()["reference"], submitted.json()["receipt"]
    assert len(receipt.replace("-", "")) * 5 >= 96

    handler = await system.auth("handler.tenaganita")
    case = await eventually(lambda: _case_of(system, handler, reference))
    assert case["status"] == "received"
    assert case["risk"] == "high"
    assert "document-retention" in case["risk_reasons"]
    assert case["acknowledge_by"] == (
        datetime.fromisoformat(case["received_on"]) + timedelta(days=7)).date().isoformat()

    other_org = await system.auth("handler.map")
    assert await _case_of(system, other_org, reference) is None
    hidden = await system.http.get(f"/api/v1/cases/{case['case_id']}", headers=other_org)
    assert hidden.status_code == 404

    ack = await system.http.post(f"/api/v1/cases/{case['case_id']}/acknowledge", headers=handler,
                                 json={"message": "We have your report. A handler will write here."})
    assert ack.status_code == 200, ack.text
    assert ack.json()["status"] == "acknowledged"
    again = await system.http.post(f"/api/v1/cases/{case['case_id']}/acknowledge",
                                   headers=handler, json={"message": "twice"})
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert "cannot become 'acknowledged'" in again.json()["detail"]

    async def reporter_sees_ack() -> dict[str, Any] | None:
        reply = await system.http.post("/api/v1/reports/lookup",
                                       json={"reference": reference, "receipt": receipt})
        assert reply.status_code == 200, reply.text
        body = reply.json()
        return body if body["status"] == "acknowledged" and body["messages"] else None

    view = await eventually(reporter_sees_ack)
    assert view["messages"][0]["body"] == "We have your report. A handler will write here."

    mediator = await system.auth("mediator.tenaganita")
    starts = datetime.now(UTC) + timedelta(days=6)
    proposed = await system.http.post(
        f"/api/v1/cases/{case['case_id']}/sessions", headers=mediator,
        json={"starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=1)).isoformat(),
              "timezone": "Asia/Kuala_Lumpur", "mode": "in-person"})
    assert proposed.status_code == 201, proposed.text

    async def case_has_session() -> bool:
        detail = await system.http.get(f"/api/v1/cases/{case['case_id']}", headers=handler)
        return detail.json()["sessions"] != []

    assert await eventually(case_has_session)


async def test_wrong_receipt_is_refused_and_limited_per_reference(system: Any) -> None:
    reference = (await system.http.post("/api/v1/reports", json=REPORT)).json()["reference"]
    wrong = {"reference": reference, "receipt": "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GG"}
    statuses = [(await system.http.post("/api/v1/reports/lookup", json=wrong)).status_code
                for _ in range(11)]
    assert statuses[:10] == [404] * 10
    assert statuses[10] == 429


async def test_bad_input_is_a_clear_problem_and_loses_nothing(system: Any) -> None:
    good = await system.http.post("/api/v1/reports", json=REPORT)
    bad = await system.http.post("/api/v1/reports", json={**REPORT, "answers": {"categories": ["x"]}})
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    fields = {e["field"] for e in bad.json()["errors"]}
    assert {"answers.categories", "answers.what_happened", "answers.country"} <= fields
    not_json = await system.http.post("/api/v1/reports", content=b"{",
                                      headers={"content-type": "application/json"})
    assert not_json.status_code == 422
    lookup = await system.http.post("/api/v1/reports/lookup", json={
        "reference": good.json()["reference"], "receipt": good.json()["receipt"]})
    assert lookup.status_code == 200


async def test_html_form_works_without_javascript(system: Any) -> None:
    page = await system.http.get("/")
    assert page.status_code == 200
    assert "set-cookie" not in page.headers
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert '<form method="post" action="/report" enctype="multipart/form-data">' in page.text
    incomplete = await system.http.post("/report", data={"organisation": "tenaganita"})
    assert incomplete.status_code == 422
    assert 'id="what_happened-error"' in incomplete.text
    done = await system.http.post("/report", data={
        "organisation": "tenaganita", "categories": ["no-rest-day", "unpaid-wages"],
        "what_happened": "No day off for a year.", "country": "HK"})
    assert done.status_code == 201, done.text
    assert "cannot show the receipt again" in done.text
    assert "set-cookie" not in done.headers


async def test_one_trace_spans_gateway_to_case_management(
        system: Any, spans: InMemorySpanExporter) -> None:
    spans.clear()
    reply = await system.http.post("/api/v1/reports", json=REPORT)
    assert reply.status_code == 201
    handler = await system.auth("handler.tenaganita")
    await eventually(lambda: _case_of(system, handler, reply.json()["reference"]))

    def trace_reaches_cases() -> bool:
        finished = spans.get_finished_spans()
        root = next(s for s in finished if s.name == "POST /api/v1/reports")
        same = [s for s in finished if s.context.trace_id == root.context.trace_id]
        names = {s.name for s in same}
        return {"send suara.rpc.intake.v1.submit", "process suara.rpc.intake.v1.submit",
                "send suara.evt.intake.submission.received.v1",
                "process suara.evt.intake.submission.received.v1"} <= names

    assert await eventually(trace_reaches_cases)


async def test_spans_name_routes_never_paths_queries_or_addresses(
        system: Any, spans: InMemorySpanExporter) -> None:
    """The gateway's own SERVER span records the route template and the status only.
    FastAPI's native telemetry (0.165) would open a second SERVER span with the concrete path
    and the query string as soon as a tracer provider is installed: it is turned off."""
    spans.clear()
    handler = await system.auth("handler.tenaganita")
    marker, case_id = "SU-SECRET-MARK", "0195f2a6-1111-7222-8333-944455556666"
    answer = await system.http.get(f"/api/v1/cases/{case_id}", params={"note": marker},
                                   headers=handler)
    assert answer.status_code in (404, 422)
    page = await system.http.get("/id/", params={"ref": marker})
    assert page.status_code == 200

    def both_finished() -> list[Any] | None:
        server = [s for s in spans.get_finished_spans()  # HTTP, not the services' RPC ones
                  if s.kind.name == "SERVER" and not s.name.startswith("process ")]
        return server if len(server) >= 2 else None

    server = await eventually(both_finished)
    assert sorted(s.name for s in server) == ["GET /api/v1/cases/{case_id}", "GET /{code}/"]
    for span in spans.get_finished_spans():
        for key, value in (span.attributes or {}).items():
            assert not key.startswith(("url.", "client.", "server.", "user_agent")), key
            assert marker not in str(value), (span.name, key)
            assert case_id not in str(value), (span.name, key)


async def test_readiness_reports_every_service(system: Any) -> None:
    ready = await system.http.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["services"] == {"intake": "ok", "case-management": "ok",
                                        "mediation-scheduling": "ok", "notification": "ok"}
    await system.services["notification"].stop()
    degraded = await system.http.get("/readyz")
    assert degraded.status_code == 503
    assert degraded.json()["services"]["notification"].startswith("unavailable")


async def test_html_form_without_organisation_shows_the_error_by_the_field(system: Any) -> None:
    page = await system.http.post("/report", data={"what_happened": "x" * 10, "country": "MY",
                                                   "categories": "abuse"})
    assert page.status_code == 422
    assert 'id="organisation-error"' in page.text
    too_long = await system.http.post("/report", data={
        "organisation": "tenaganita", "categories": "abuse", "country": "MY",
        "what_happened": "x" * 5001})
    assert too_long.status_code == 422
    assert "Write at most 5000 characters." in too_long.text


LANGUAGE_LINKS = {"en": "English", "id": "Bahasa Indonesia", "fil": "Filipino", "km": "ភាសាខ្មែរ",
                  "my": "မြန်မာဘာသာ", "vi": "Tiếng Việt", "th": "ภาษาไทย", "ms": "Bahasa Melayu",
                  "zh-Hant": "繁體中文"}
KHMER_FORM = {"organisation": "tenaganita", "categories": ["document-retention"],
              "what_happened": "ថៅកែយកលិខិតឆ្លងដែនរបស់ខ្ញុំ។", "country": "MY"}


async def test_the_first_page_offers_nine_languages_each_in_its_own_script(system: Any) -> None:
    page = await system.http.get("/")
    assert page.status_code == 200
    for code, name in LANGUAGE_LINKS.items():
        assert (f'<a href="/{code}/" lang="{code}" hreflang="{code}" dir="ltr">{name}</a>'
                in page.text)


async def test_the_form_in_bahasa_indonesia(system: Any) -> None:
    page = await system.http.get("/id/")
    assert page.status_code == 200
    assert '<html lang="id" dir="ltr">' in page.text
    assert "Ceritakan apa yang terjadi" in page.text  # page chrome (gateway catalog)
    assert "Apa yang terjadi pada Anda?" in page.text  # question (intake catalog)
    assert "Keluar cepat dari halaman ini" in page.text
    assert '<form method="post" action="/id/report" enctype="multipart/form-data">' in page.text


async def test_a_report_in_khmer_gets_a_khmer_receipt_page(system: Any) -> None:
    done = await system.http.post("/km/report", data=KHMER_FORM)
    assert done.status_code == 201, done.text
    assert '<html lang="km" dir="ltr">' in done.text
    assert "យើងមិនអាចបង្ហាញបង្កាន់ដៃនេះម្តងទៀត" in done.text
    receipt = done.text.split('id="receipt">', 1)[1].split("</p>", 1)[0]
    groups = receipt.split("-")
    assert len(groups) > 3
    assert all(g.startswith("<span>") and g.endswith("</span>") for g in groups)
    plain = "-".join(g.removeprefix("<span>").removesuffix("</span>") for g in groups)
    reference = done.text.split('id="reference">', 1)[1].split("</p>", 1)[0]
    reference = reference.replace("<span>", "").replace("</span>", "")
    status = await system.http.post("/km/follow-up", data={"reference": reference,
                                                           "receipt": plain})
    assert status.status_code == 200, status.text
    assert "ស្ថានភាព៖" in status.text


async def test_an_unknown_language_is_a_404_page_not_an_error(system: Any) -> None:
    for method, path in [("GET", "/xx/"), ("POST", "/xx/report"), ("GET", "/xx/follow-up")]:
        page = await system.http.request(method, path)
        assert page.status_code == 404, path
        assert page.headers["content-type"].startswith("text/html")
        assert 'href="/id/"' in page.text


async def test_no_page_sets_a_cookie_and_every_page_is_light(system: Any) -> None:
    pages = [await system.http.get(path) for path in (
        "/", "/follow-up", "/claim", "/xx/", *(f"/{c}/" for c in LANGUAGE_LINKS),
        *(f"/{c}/follow-up" for c in LANGUAGE_LINKS), *(f"/{c}/claim" for c in LANGUAGE_LINKS))]
    pages += [await system.http.post(f"/{c}/report", data=KHMER_FORM) for c in ("km", "zh-Hant")]
    pages += [await system.http.post("/my/report", data={"organisation": "tenaganita"}),
              await system.http.post("/th/follow-up", data={"reference": "SU-AAAA-BBBB",
                                                            "receipt": "AAAA-BBBB"})]
    receipt = (await system.http.post("/api/v1/reports", json=REPORT)).json()
    pages.append(await system.http.post("/vi/follow-up", data=receipt))
    assert pages[-1].status_code == 200
    for path in ("/fil/reply", "/th/add-information", "/my/upload"):  # the writing pages
        pages.append(await system.http.post(path, data=receipt))
        assert pages[-1].status_code == 200, path
    pages.append(await system.http.post("/km/reply", data={**receipt, "send": "1",
                                                           "text": "អរគុណ"}))
    assert pages[-1].status_code == 200  # the status page again, with "sent"
    pages.append(await system.http.post("/id/claim", data={"reference": "SU-AAAA-BBBB",
                                                           "claim_code": "AAAA-BBBB-CC"}))
    css = await system.http.get("/static/suara.css")
    form_css = await system.http.get("/form/1.css")
    assert form_css.status_code == 200
    assert "#q-owed{display:none}" in form_css.text
    for page in pages:
        assert "set-cookie" not in page.headers, page.url
        weight = len(page.content) + len(css.content) + len(form_css.content)
        assert weight < 100_000, page.url
        assert page.status_code < 500, page.url
        assert "default-src 'none'" in page.headers["content-security-policy"], page.url
        external = re.findall(r'<(?:link|script|img|iframe|source)\b[^>]*(?:src|href)="(?:https?:)?//',
                              page.text)
        assert external == [], f"{page.url} loads a third-party resource: {external}"
        assert "<script" not in page.text, page.url


INDONESIAN_FORM = {"organisation": "tenaganita", "categories": ["unpaid-wages", "no-rest-day"],
                   "what_happened": "Majikan tidak membayar gaji saya.\nSaya tidak pernah libur.",
                   "country": "MY"}


def _hidden_inputs(html: str) -> list[tuple[str, str]]:
    return [(unescape(name), unescape(value)) for name, value in re.findall(
        r'<input type="hidden" name="([^"]*)" value="([^"]*)">', html)]


def _as_form(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    form: dict[str, list[str]] = {}
    for name, value in pairs:
        form.setdefault(name, []).append(value)
    return form


async def test_a_worker_reviews_the_answers_before_sending_them(system: Any) -> None:
    form = await system.http.get("/id/")
    assert 'formaction="/id/review">Periksa laporan saya</button>' in form.text

    review = await system.http.post("/id/review", data=INDONESIAN_FORM)
    assert review.status_code == 200, review.text
    assert '<html lang="id" dir="ltr">' in review.text
    assert "Periksa jawaban Anda" in review.text
    for label in ("Apa yang terjadi pada Anda?", "Ceritakan apa yang terjadi",
                  "Di mana Anda bekerja?", "Apakah Anda aman sekarang?"):
        assert f"<dt>{label}</dt>" in review.text
    for answer in ("Gaji tidak dibayar atau kurang dibayar", "Tidak ada hari libur mingguan",
                   "Tenaganita (Malaysia)", "Majikan tidak membayar gaji saya."):
        assert answer in review.text
    assert "Tidak dijawab" in review.text  # the optional questions left empty
    assert '<form method="post" action="/id/report" enctype="multipart/form-data">' in review.text
    assert 'formaction="/id/edit"' in review.text
    hidden = _hidden_inputs(review.text)
    assert {("categories", "unpaid-wages"), ("categories", "no-rest-day"),
            ("organisation", "tenaganita"), ("country", "MY")} <= set(hidden)
    assert dict(hidden)["what_happened"] == INDONESIAN_FORM["what_happened"]
    assert "set-cookie" not in review.headers
    assert "<script" not in review.text
    assert len(review.content) < 100_000

    change = await system.http.post("/id/edit", data=_as_form(hidden))
    assert change.status_code == 200, change.text
    assert '<form method="post" action="/id/report" enctype="multipart/form-data">' in change.text
    assert 'value="unpaid-wages" checked' in change.text
    assert 'value="no-rest-day" checked' in change.text
    assert 'value="MY" checked' in change.text
    assert 'value="tenaganita" selected' in change.text
    assert "Majikan tidak membayar gaji saya." in change.text
    assert 'class="error"' not in change.text

    done = await system.http.post("/id/report", data=_as_form(hidden))
    assert done.status_code == 201, done.text
    assert 'id="receipt"' in done.text
    assert "set-cookie" not in done.headers


async def test_reviewing_an_incomplete_form_shows_the_error_by_the_field(system: Any) -> None:
    page = await system.http.post("/id/review", data={"organisation": "tenaganita",
                                                      "categories": "abuse"})
    assert page.status_code == 422
    assert 'id="what_happened-error"' in page.text
    assert 'id="country-error"' in page.text
    assert 'value="abuse" checked' in page.text
    assert 'formaction="/id/review"' in page.text
    english = await system.http.post("/review", data={**KHMER_FORM, "organisation": "nobody"})
    assert english.status_code == 422
    assert 'id="organisation-error"' in english.text
    too_long = await system.http.post("/review", data={**KHMER_FORM, "what_happened": "x" * 5001})
    assert too_long.status_code == 422
    assert "Write at most 5000 characters." in too_long.text
    unknown = await system.http.post("/xx/review", data=KHMER_FORM)
    assert unknown.status_code == 404
