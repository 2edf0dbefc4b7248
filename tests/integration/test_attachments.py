"""A worker attaches a phone photo: the gateway rebuilds it without the place, time and phone
hidden in it, stages it under a token, and intake seals it (AES-GCM) into its database; the
same through the pages without JavaScript, where a refused file costs no other answer."""

from __future__ import annotations

import io
import re
import time
import uuid
from html import unescape
from html.parser import HTMLParser
from typing import Any

import pytest
from PIL import Image
from sqlmodel import select

from suara_intake import content
from suara_intake.models import Attachment, Submission
from suara_intake.settings import IntakeSettings
from suara_kit import staging
from suara_kit.datakeys import ring_of
from suara_kit.sealing import Sealer, SealError

PROBLEM = "application/problem+json"
TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
ANSWERS = {"categories": ["document-retention"], "country": "MY",
           "what_happened": "The agency keeps my passport. Here is a photo of the receipt."}
FILENAME = "Siti_Rahayu_passport.jpg"
INDONESIAN_FORM = {"organisation": "tenaganita", "categories": ["unpaid-wages", "no-rest-day"],
                   "what_happened": "Majikan tidak membayar gaji saya.\nSaya tidak pernah libur.",
                   "country": "MY", "origin": "ID", "safe_now": "no"}


def spy_photo() -> bytes:
    """A JPEG as a phone writes it: the camera's make and model and where it was taken."""
    img = Image.new("RGB", (320, 240), (180, 120, 60))
    for x in range(0, 320, 16):
        for y in range(0, 240, 16):
            img.putpixel((x, y), (x % 256, y % 256, 200))
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    exif[0x0110] = "SpyCam Model 7"  # Model
    exif[0x0132] = "2026:03:01 08:15:00"  # DateTime
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (3.0, 8.0, 0.0)
    gps[3], gps[4] = "E", (101.0, 41.0, 0.0)
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    data = buf.getvalue()
    sent = Image.open(io.BytesIO(data)).getexif()  # the input really carries it all
    assert sent[0x010F] == "SpyCam"
    assert sent[0x0110] == "SpyCam Model 7"
    sent_gps = sent.get_ifd(0x8825)
    assert sent_gps[1] == "N"
    assert sent_gps[3] == "E"
    assert tuple(float(v) for v in sent_gps[2]) == (3.0, 8.0, 0.0)
    assert tuple(float(v) for v in sent_gps[4]) == (101.0, 41.0, 0.0)
    assert b"Exif" in data
    assert b"SpyCam" in data
    return data


def _sealer() -> Sealer:
    return Sealer(IntakeSettings().attachment_key.get_secret_value())


async def _stored(system: Any) -> tuple[list[Submission], list[Attachment]]:
    async with system.services["intake"].db.transaction() as session:
        subs = list((await session.exec(select(Submission))).all())
        files = list((await session.exec(select(Attachment))).all())
        return subs, files


async def _upload(system: Any, data: bytes, name: str = "photo.jpg",
                  media_type: str = "image/jpeg") -> Any:
    return await system.http.post("/api/v1/uploads", files={"file": (name, data, media_type)})


async def _answers(system: Any, sub: Submission) -> dict[str, Any]:
    """A report's answers, opened with its own data key."""
    async with system.services["intake"].db.transaction() as session:
        return await content.answers_of(session, sub)


async def _opened(system: Any, row: Attachment) -> bytes:
    async with system.services["intake"].db.transaction() as session:
        return await content.open_attachment(session, _sealer(), row)


async def assert_clean(system: Any, row: Attachment, original: bytes) -> bytes:
    """The row holds the file sealed with its report's data key; opened, it is a JPEG with
    nothing hidden inside."""
    sealed = bytes(row.sealed)
    assert row.keyed
    assert sealed[0] == 1  # sealing format version
    for marker in (b"\xff\xd8\xff", b"JFIF", b"Exif", b"SpyCam", b"GPS"):
        assert marker not in sealed, marker
    plain = await _opened(system, row)
    assert plain not in sealed
    assert plain[16:48] not in sealed
    async with system.services["intake"].db.transaction() as session:
        key = await ring_of(session).get(session, row.submission_id)
    with pytest.raises(SealError):  # bound to its own row
        key.open(sealed, content.attachment_context(uuid.uuid4()))
    with pytest.raises(SealError):  # and not the service-wide key any more
        _sealer().open(sealed, row.id.bytes)
    assert plain.startswith(b"\xff\xd8\xff")
    assert plain != original
    for marker in (b"Exif", b"SpyCam", b"GPS", b"2026:03:01"):
        assert marker not in plain, marker
    with Image.open(io.BytesIO(plain)) as img:
        assert img.format == "JPEG"
        assert img.size == (320, 240)
        assert dict(img.getexif()) == {}
        assert img.getexif().get_ifd(0x8825) == {}
        assert "exif" not in img.info
    assert row.media_type == "image/jpeg"
    assert row.size == len(plain)
    return plain


async def test_a_photo_is_sealed_without_its_hidden_place_and_phone(system: Any) -> None:
    original = spy_photo()
    uploaded = await _upload(system, original, FILENAME)
    assert uploaded.status_code == 201, uploaded.text
    staged = uploaded.json()
    assert TOKEN.match(staged["token"])
    assert staged["media_type"] == "image/jpeg"
    assert 0 < staged["size"]
    assert staged["expires_in_seconds"] == 6 * 3600
    assert FILENAME not in uploaded.text

    filed = await system.http.post("/api/v1/reports", json={
        "organisation": "tenaganita", "answers": {**ANSWERS, "evidence": [staged["token"]]}})
    assert filed.status_code == 201, filed.text

    subs, files = await _stored(system)
    assert len(subs) == 1
    assert len(files) == 1
    sub, row = subs[0], files[0]
    assert row.submission_id == sub.id
    assert row.question == "evidence"
    assert row.size == staged["size"]
    await assert_clean(system, row, original)
    answers = await _answers(system, sub)
    assert answers["evidence"] == [str(row.id)]
    assert uuid.UUID(answers["evidence"][0]) == row.id
    assert staged["token"] not in repr(answers)

    view = await system.http.post("/api/v1/reports/lookup", json={
        "reference": filed.json()["reference"], "receipt": filed.json()["receipt"]})
    assert view.status_code == 200
    assert staged["token"] not in view.text

    reused = await system.http.post("/api/v1/reports", json={
        "organisation": "tenaganita", "answers": {**ANSWERS, "evidence": [staged["token"]]}})
    assert reused.status_code == 422, reused.text
    assert reused.headers["content-type"] == PROBLEM
    assert [(e["field"], e["code"]) for e in reused.json()["errors"]] == [
        ("answers.evidence", "expired")]
    subs, files = await _stored(system)
    assert (len(subs), len(files)) == (1, 1)


async def test_a_png_and_a_pdf_are_accepted_and_stored_sealed(system: Any) -> None:
    png = io.BytesIO()
    Image.new("RGBA", (40, 30), (0, 0, 255, 128)).save(png, "PNG")
    pdf = io.BytesIO()
    Image.new("RGB", (60, 80), (255, 255, 255)).save(pdf, "PDF", author="Siti Rahayu",
                                                     title="Passport")
    tokens, types = [], []
    for name, data in (("scan.png", png.getvalue()), ("scan.pdf", pdf.getvalue())):
        reply = await _upload(system, data, name, "application/octet-stream")
        assert reply.status_code == 201, reply.text
        tokens.append(reply.json()["token"])
        types.append(reply.json()["media_type"])
    assert types == ["image/png", "application/pdf"]
    filed = await system.http.post("/api/v1/reports", json={
        "organisation": "tenaganita", "answers": {**ANSWERS, "evidence": tokens}})
    assert filed.status_code == 201, filed.text
    subs, files = await _stored(system)
    by_type = {f.media_type: f for f in files}
    assert set(by_type) == {"image/png", "application/pdf"}
    assert sorted((await _answers(system, subs[0]))["evidence"]) == sorted(
        str(f.id) for f in files)
    pdf_plain = await _opened(system, by_type["application/pdf"])
    assert pdf_plain.startswith(b"%PDF-")
    assert b"Siti Rahayu" not in pdf_plain
    assert b"Siti Rahayu" not in bytes(by_type["application/pdf"].sealed)
    png_plain = await _opened(system, by_type["image/png"])
    assert png_plain.startswith(b"\x89PNG")
    assert b"\x89PNG" not in bytes(by_type["image/png"].sealed)


@pytest.mark.parametrize(("name", "data", "media_type"), [
    ("notes.txt", b"My employer is Mr Tan, 12 Jalan Ampang.\n", "text/plain"),
    ("photo.jpg", b"<!doctype html><html><body><script>alert(1)</script></body></html>",
     "image/jpeg"),
    ("page.html", b"<html><body>hello</body></html>", "text/html"),
    ("photos.zip", b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 40, "application/zip"),
    ("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>x()</script></svg>',
     "image/svg+xml"),
])
async def test_a_file_that_is_not_a_photo_or_pdf_is_refused(system: Any, name: str, data: bytes,
                                                             media_type: str) -> None:
    refused = await _upload(system, data, name, media_type)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == PROBLEM
    error = refused.json()["errors"][0]
    assert (error["field"], error["code"]) == ("file", "not-allowed")
    assert "Send a photo (JPEG, PNG, WebP or GIF) or a PDF" in error["message"]
    assert "cannot be sent" in refused.json()["detail"]
    assert "token" not in refused.json()


async def test_empty_and_broken_files_are_refused_with_their_own_code(system: Any) -> None:
    empty = await _upload(system, b"", "empty.jpg")
    assert empty.status_code == 422
    assert empty.json()["errors"][0]["code"] == "empty"
    broken = await _upload(system, spy_photo()[:200], "cut.jpg")
    assert broken.status_code == 422
    assert broken.json()["errors"][0]["code"] == "unreadable"


async def test_a_report_naming_an_unknown_upload_stores_nothing(system: Any) -> None:
    good = (await _upload(system, spy_photo())).json()["token"]
    unknown = "A" * 32
    for evidence, code in (([unknown], "expired"), ([good, unknown], "expired"),
                           (["not a token!"], "not-files")):
        refused = await system.http.post("/api/v1/reports", json={
            "organisation": "tenaganita", "answers": {**ANSWERS, "evidence": evidence}})
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == PROBLEM
        assert [(e["field"], e["code"]) for e in refused.json()["errors"]] == [
            ("answers.evidence", code)]
        assert await _stored(system) == ([], [])
    # The report that failed did not use up the worker's good upload.
    filed = await system.http.post("/api/v1/reports", json={
        "organisation": "tenaganita", "answers": {**ANSWERS, "evidence": [good]}})
    assert filed.status_code == 201, filed.text
    subs, files = await _stored(system)
    assert (len(subs), len(files)) == (1, 1)


class _Inputs(HTMLParser):
    """Every hidden input of a page, and every checked checkbox, as (name, value)."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden: list[tuple[str, str]] = []
        self.checked: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag != "input":
            return
        pair = (a.get("name") or "", a.get("value") or "")
        if a.get("type") == "hidden":
            self.hidden.append(pair)
        elif a.get("type") == "checkbox" and "checked" in a:
            self.checked.append(pair)


def _inputs(html: str) -> _Inputs:
    parser = _Inputs()
    parser.feed(html)
    return parser


def _as_form(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    form: dict[str, list[str]] = {}
    for name, value in pairs:
        form.setdefault(name, []).append(value)
    return form


def _answer(html: str, name: str) -> str:
    match = re.search(rf'<dd class="answer" id="review-{name}">(.*?)</dd>', html, re.S)
    assert match, f"no answer for {name} on the review page"
    return unescape(match.group(1))


async def test_a_photo_through_the_pages_is_reviewed_then_sealed_clean(system: Any) -> None:
    original = spy_photo()
    review = await system.http.post(
        "/id/review", data=INDONESIAN_FORM,
        files={"evidence": (FILENAME, original, "image/jpeg")})
    assert review.status_code == 200, review.text
    assert '<html lang="id" dir="ltr">' in review.text
    assert "Periksa jawaban Anda" in review.text
    listed = _answer(review.text, "evidence")
    assert re.fullmatch(r"<ul><li>[^<]*\d+[^<]*KB</li></ul>", listed), listed
    for leak in ("Siti", "Rahayu", "passport", FILENAME, "SpyCam"):
        assert leak not in review.text, leak
    hidden = _inputs(review.text).hidden
    tokens = [v for n, v in hidden if n == "evidence"]
    assert len(tokens) == 1
    assert TOKEN.match(tokens[0])
    assert ("form_version", "1") in hidden
    assert await _stored(system) == ([], [])  # reviewing stores nothing

    done = await system.http.post("/id/report", data=_as_form(hidden))
    assert done.status_code == 201, done.text
    assert 'id="receipt"' in done.text
    assert '<html lang="id" dir="ltr">' in done.text
    assert FILENAME not in done.text
    assert tokens[0] not in done.text
    subs, files = await _stored(system)
    assert len(subs) == 1
    assert len(files) == 1
    await assert_clean(system, files[0], original)
    answers = await _answers(system, subs[0])
    assert answers["evidence"] == [str(files[0].id)]
    assert answers["what_happened"] == INDONESIAN_FORM["what_happened"]
    assert subs[0].language == "id"

    again = await system.http.post("/id/report", data=_as_form(hidden))  # sent twice
    assert again.status_code == 422
    assert 'id="evidence-error"' in again.text
    assert len((await _stored(system))[0]) == 1


async def test_the_pages_describe_files_in_the_workers_language(system: Any) -> None:
    photo = spy_photo()
    english = await system.http.post("/review", data=INDONESIAN_FORM,
                                     files={"evidence": ("a.jpg", photo, "image/jpeg")})
    indonesian = await system.http.post("/id/review", data=INDONESIAN_FORM,
                                        files={"evidence": ("a.jpg", photo, "image/jpeg")})
    assert english.status_code == indonesian.status_code == 200
    assert "Photo," in _answer(english.text, "evidence")
    assert _answer(indonesian.text, "evidence") != _answer(english.text, "evidence")
    bad = ("a.jpg", b"<html>not a photo</html>", "image/jpeg")
    refused_en = await system.http.post("/review", data=INDONESIAN_FORM, files={"evidence": bad})
    refused_id = await system.http.post("/id/review", data=INDONESIAN_FORM,
                                        files={"evidence": bad})
    assert refused_en.status_code == refused_id.status_code == 422

    def message(html: str) -> str:
        match = re.search(r'<p class="error" id="evidence-error">(.*?)</p>', html, re.S)
        assert match
        return match.group(1)

    assert message(refused_id.text) != message(refused_en.text)


async def test_a_refused_file_on_review_keeps_every_other_answer(system: Any) -> None:
    good = spy_photo()
    review = await system.http.post("/id/review", data=INDONESIAN_FORM, files=[
        ("evidence", ("bukti.jpg", b"<html><body><h1>bukti</h1></body></html>", "image/jpeg")),
        ("evidence", ("slip_gaji.jpg", good, "image/jpeg"))])
    assert review.status_code == 422, review.text
    assert '<html lang="id" dir="ltr">' in review.text
    error = re.search(r'<p class="error" id="evidence-error">(.*?)</p>', review.text, re.S)
    assert error
    assert error.group(1).strip()
    assert 'aria-describedby="evidence-help evidence-error"' in review.text
    assert 'id="what_happened-error"' not in review.text
    assert review.text.count('class="error" id=') == 1  # only the file question is marked
    for value in ("unpaid-wages", "no-rest-day"):
        assert f'name="categories" value="{value}" checked' in review.text
    assert 'name="country" value="MY" checked' in review.text
    assert 'name="origin" value="ID" checked' in review.text
    assert 'name="safe_now" value="no" checked' in review.text
    assert 'value="tenaganita" selected' in review.text
    assert ">Majikan tidak membayar gaji saya.\nSaya tidak pernah libur.</textarea>" in review.text
    assert "bukti" not in review.text
    assert "slip_gaji" not in review.text
    kept = [v for n, v in _inputs(review.text).checked if n == "evidence"]
    assert len(kept) == 1
    assert TOKEN.match(kept[0])
    assert await _stored(system) == ([], [])

    # Sending the form again as it came back (the good photo ticked) files the report.
    page = _inputs(review.text)
    form = _as_form([*page.hidden, *page.checked])
    form.update({k: v if isinstance(v, list) else [v] for k, v in INDONESIAN_FORM.items()})
    done = await system.http.post("/id/report", data=form)
    assert done.status_code == 201, done.text
    subs, files = await _stored(system)
    assert (len(subs), len(files)) == (1, 1)
    await assert_clean(system, files[0], good)


async def test_a_tampered_upload_token_on_a_page_is_an_error_by_the_question(
        system: Any) -> None:
    for token in ("A" * 32, "not a token!"):
        page = await system.http.post("/id/report", data={**INDONESIAN_FORM,
                                                           "evidence": token})
        assert page.status_code == 422, (token, page.text[:300])
        assert 'id="evidence-error"' in page.text
        assert "Majikan tidak membayar gaji saya." in page.text
    assert await _stored(system) == ([], [])


async def test_an_upload_losing_its_chunks_is_expired_not_a_hung_intake(system: Any) -> None:
    token = (await _upload(system, spy_photo())).json()["token"]
    js = system.services["intake"].nc.jetstream()
    store = await staging.bucket(js)
    info = await store.get_info(token)
    cleaned = bytes((await store.get(token)).data)
    chunks = f"$O.{staging.BUCKET}.C.{info.nuid}"
    # What a concurrent discard (or the bucket's age limit, chunks being older than their
    # metadata) leaves between publishing the deleted metadata and purging the chunks.
    await js.purge_stream(f"OBJ_{staging.BUCKET}", subject=chunks)
    try:
        started = time.monotonic()
        refused = await system.http.post("/api/v1/reports", json={
            "organisation": "tenaganita", "answers": {**ANSWERS, "evidence": [token]}})
        assert (refused.status_code, time.monotonic() - started < 5) == (422, True), \
            refused.text
        assert refused.json()["errors"][0]["code"] == "expired"
        plain = await system.http.post("/api/v1/reports", json={"organisation": "tenaganita",
                                                                "answers": ANSWERS})
        assert plain.status_code == 201, plain.text
    finally:  # release a reader still waiting for the chunks, so the services can stop
        await js.publish(chunks, cleaned)
