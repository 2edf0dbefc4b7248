"""The staff console's pages for mediators against the real services (in-process, on a real
nats-server), through a gateway with the console and the development issuer's sign-in:
availability (weekly ranges, time zone, date overrides; an offset or an overlap refused on the
field), the week of sessions, slot proposals in everyone's time and the reasons when none fits,
booking from a proposal, hold and confirm, reschedule and cancel with their conflicts as
messages, joint and caucus notes, agreements with obligations and compliance; a non-mediator
and a forged form refused. Every page is checked for size, policy and script.

A `Browser` plays Chromium: a cookie jar per site, redirects followed, Origin and
Sec-Fetch-Site on its form posts; forms are read from the pages as a browser would send them."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime, timedelta
from html import unescape
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from . import console_browser
from .console_browser import PAGE_LIMIT
from .mediation_case import open_case

MEENA = "bbdef160-b0fa-52b9-9fd4-3af3b1801841"  # mediator.tenaganita in the realm file
KL = ZoneInfo("Asia/Kuala_Lumpur")
BASE = "/console/mediation"
WORKER = {"role": "worker", "alias": "Worker A", "timezone": "Asia/Kuala_Lumpur",
          "rest_days": [7], "quiet_hours": {"start": "21:00", "end": "07:00"}, "language": "id"}
EMPLOYER = {"role": "employer", "alias": "Employer HR", "timezone": "Asia/Singapore"}


class Browser(console_browser.Browser):
    async def sign_in(self, username: str = "mediator.tenaganita",
                      start: str = "/console") -> httpx.Response:
        return await super().sign_in(username, start)

    async def submit(self, page: httpx.Response, action: str, fields: dict[str, Any],
                     follow: bool = True, nth: int = 0) -> httpx.Response:
        """Send a form of `page` as a browser would: what it holds, changed by `fields`."""
        _, sent = form_of(page.text, action, nth)
        return await self.post(action, {**sent, **fields}, follow=follow)


def form_of(html: str, action: str | None = None, nth: int = 0
            ) -> tuple[str, dict[str, str | list[str]]]:
    """A form's action and what a browser would send of it as it stands (the first form, or
    the `nth` posting to `action`): inputs, checked boxes, chosen options, text areas; a
    repeated name (a slot's resources) as a list."""
    found = [(a, body) for a, body in re.findall(
        r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', html, re.S)
        if action is None or unescape(a) == action]
    assert len(found) > nth, f"no form posting to {action}"
    sent: dict[str, str | list[str]] = {}

    def add(name: str, value: str) -> None:
        kept = sent.get(name)
        sent[name] = value if kept is None else [*([kept] if isinstance(kept, str) else kept),
                                                 value]

    body = found[nth][1]
    for tag in re.findall(r"<input\b[^>]*>", body):
        attrs = dict(re.findall(r'(\w[\w-]*)="([^"]*)"', tag))
        if "name" not in attrs or (attrs.get("type") in ("radio", "checkbox")
                                   and " checked" not in tag):
            continue
        add(attrs["name"], unescape(attrs.get("value", "")))
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', body,
                                    re.S):
        chosen = re.search(r"<option\b[^>]* selected>([^<]*)<", options) or re.search(
            r"<option\b[^>]*>([^<]*)<", options)
        if chosen is not None:  # the option's value, else its text
            value = re.search(r'value="([^"]*)"', chosen[0])
            add(name, unescape(value[1] if value else chosen[1]))
    for name, value in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', body,
                                  re.S):
        add(name, unescape(value))
    return unescape(found[nth][0]), sent


def notice(page: httpx.Response) -> str:
    found = re.search(r'<p class="med-notice" id="notice" role="status">([^<]*)</p>', page.text)
    return unescape(found[1]) if found else ""


def text_of(page: httpx.Response, element_id: str) -> str:
    """The text inside the element with this id (nested elements too; tags dropped, spaces
    collapsed)."""
    start = re.search(rf'<(\w+)\b[^>]*\bid="{element_id}"[^>]*>', page.text)
    assert start is not None, f"no #{element_id}"
    name, depth, at = start[1], 1, start.end()
    for tag in re.finditer(rf"<(/?){name}\b[^>]*>", page.text[at:]):
        depth += -1 if tag[1] else 1
        if depth == 0:
            inner = page.text[at:at + tag.start()]
            return " ".join(unescape(re.sub(r"<[^>]+>", " ", inner)).split())
    raise AssertionError(f"#{element_id} is not closed")


def invalid(page: httpx.Response, element_id: str) -> bool:
    """The input is marked invalid and its error is tied to it."""
    tag = re.search(rf'<[^>]*\bid="{element_id}"[^>]*>', page.text)
    return (tag is not None and 'aria-invalid="true"' in tag[0]
            and f"{element_id}-error" in tag[0]
            and f'id="{element_id}-error"' in page.text)


def value_of(page: httpx.Response, element_id: str) -> str | None:
    tag = re.search(rf'<input[^>]*\bid="{element_id}"[^>]*>', page.text)
    found = re.search(r'value="([^"]*)"', tag[0]) if tag else None
    return unescape(found[1]) if found else None


def check_pages(browser: Browser, css: int) -> None:
    """Every console page is small, strict, script-free, and has its landmarks."""
    for page in browser.pages:
        assert len(page.content) + css < PAGE_LIMIT, page.url
        assert "default-src 'none'" in page.headers["content-security-policy"]
        assert "<script" not in page.text
        assert "style=" not in page.text
        assert not re.search(r'(src|href)="(https?:)?//', page.text), page.url
        assert '<main id="main" tabindex="-1">' in page.text
        assert re.search(r"<h1>[^<]", page.text), page.url


@pytest.fixture
async def console(system: Any, nats_url: str) -> AsyncIterator[Callable[[], Browser]]:
    """A gateway with the console on the system's nats-server, signing in at a development
    issuer that knows its callback; `console()` opens a fresh browser. Every mediator page a
    browser got is checked at the end."""
    async with console_browser.console_gateway(nats_url, Browser, keep_under=BASE) as (
            open_browser, browsers):
        yield open_browser
        css = sum([len((await browsers[0].gateway.get(f"/static/{name}")).content)
                   for name in ("console.css", "console-mediator.css")]) if browsers else 0
        for browser in browsers:
            check_pages(browser, css)


# ------------------------------------------------------------------------------------------
# the world a mediator works in, set up over the JSON API
# ------------------------------------------------------------------------------------------
async def api(system: Any, method: str, url: str, status: int, **more: Any) -> Any:
    headers = {**await system.auth("mediator.tenaganita"), **more.pop("headers", {})}
    reply = await system.http.request(method, url, headers=headers, **more)
    assert reply.status_code == status, reply.text
    return reply.json()


async def mediation(system: Any, case_id: str, *parties: dict[str, Any]) -> dict[str, Any]:
    """A video mediation of the case with these parties (a video link to hold with it)."""
    return await api(system, "POST", f"/api/v1/cases/{case_id}/mediations", 201, json={
        "mode": "video", "parties": list(parties or (WORKER, EMPLOYER))})  # type: ignore[no-any-return]


async def video_link(system: Any) -> str:
    found = await api(system, "POST", "/api/v1/mediation/resources", 201, json={
        "kind": "video-link", "name": "Zoom room 1", "timezone": "Asia/Kuala_Lumpur",
        "weekly_hours": [{"weekday": d, "start": "07:00", "end": "22:00"} for d in range(1, 8)]})
    return str(found["resource_id"])


def weekdays(start: str = "09:00", end: str = "17:00") -> dict[str, str]:
    """The editor's fields for the same hours Monday to Saturday."""
    return {f"w{d}-0-{edge}": value for d in range(1, 7)
            for edge, value in (("start", start), ("end", end))}


async def set_availability(browser: Browser, **fields: str) -> httpx.Response:
    page = await browser.get(f"{BASE}/availability")
    return await browser.submit(page, f"{BASE}/availability", {
        "name": "Meena Mediator", "timezone": "Asia/Kuala_Lumpur", **weekdays(), **fields})


def next_weekday(weekday: int, hour: int, weeks: int = 1) -> datetime:
    """`hour`:00 in Kuala Lumpur on that ISO weekday, at least `weeks` weeks from now."""
    day = datetime.now(KL).date() + timedelta(days=7 * weeks)
    day += timedelta(days=(weekday - day.isoweekday()) % 7)
    return datetime(day.year, day.month, day.day, hour, tzinfo=KL)


# ------------------------------------------------------------------------------------------
# availability
# ------------------------------------------------------------------------------------------
async def test_a_mediator_sets_weekly_ranges_a_time_zone_and_date_overrides(
        system: Any, console: Callable[[], Browser]) -> None:
    browser = console()
    home = await browser.sign_in()
    assert 'href="/console/mediation" id="to-mediation"' in home.text
    week = await browser.get(BASE)
    assert 'id="no-availability"' in week.text
    editor = await browser.get(f"{BASE}/availability")
    assert 'id="first-time"' in editor.text
    assert '<option value="" selected>Choose your time zone</option>' in editor.text
    unchosen = await browser.submit(editor, f"{BASE}/availability", weekdays())
    assert unchosen.status_code == 422  # a time zone is chosen, never assumed
    assert invalid(unchosen, "timezone")
    holiday = (date.today() + timedelta(days=20)).isoformat()
    training = (date.today() + timedelta(days=21)).isoformat()
    saved = await browser.submit(editor, f"{BASE}/availability", {
        "name": "Meena Mediator", "timezone": "Asia/Kuala_Lumpur", **weekdays(),
        "w1-0-start": "09:00", "w1-0-end": "12:00", "w1-1-start": "13:00", "w1-1-end": "17:00",
        "o0-date": holiday, "o0-kind": "off",
        "o1-date": training, "o1-kind": "hours", "o1-h0-start": "14:00", "o1-h0-end": "16:00"})
    assert saved.status_code == 200
    assert notice(saved) == "Your availability is saved."
    [mine] = (await api(system, "GET", "/api/v1/mediation/resources", 200))["items"]
    assert (mine["account"], mine["kind"], mine["timezone"]) == (
        MEENA, "mediator", "Asia/Kuala_Lumpur")
    monday = [(h["start"], h["end"]) for h in mine["weekly_hours"] if h["weekday"] == 1]
    assert monday == [("09:00:00", "12:00:00"), ("13:00:00", "17:00:00")]
    assert not [h for h in mine["weekly_hours"] if h["weekday"] == 7]
    assert mine["date_overrides"] == [
        {"date": holiday, "hours": []},
        {"date": training, "hours": [{"start": "14:00:00", "end": "16:00:00"}]}]
    # the editor shows what is stored, with an empty row to add one more range a day
    assert (value_of(saved, "w1-1-start"), value_of(saved, "w1-2-start")) == ("13:00", "")
    assert value_of(saved, "o1-h0-end") == "16:00"
    assert 'id="first-time"' not in saved.text
    assert "<option selected>Asia/Kuala_Lumpur</option>" in saved.text

    # a local time with an offset is the contract's 422, on its field, with the input kept
    offset = await browser.submit(saved, f"{BASE}/availability", {
        "w2-0-start": "09:00+07:00"})
    assert offset.status_code == 422
    assert invalid(offset, "w2-0-start")
    assert value_of(offset, "w2-0-start") == "09:00+07:00"
    assert "without a UTC offset" in offset.text
    # overlapping ranges: mediation-scheduling's 422, on the range it names
    overlap = await browser.submit(saved, f"{BASE}/availability", {
        "w3-0-start": "09:00", "w3-0-end": "13:00", "w3-1-start": "12:00", "w3-1-end": "18:00"})
    assert overlap.status_code == 422
    assert invalid(overlap, "w3-1-start")
    assert "overlaps 09:00" in overlap.text
    nowhere = await browser.submit(saved, f"{BASE}/availability", {"timezone": "Mars/Base"})
    assert nowhere.status_code == 422
    assert invalid(nowhere, "timezone")
    # an override "with hours" but none given: said on the page, nothing sent
    empty = await browser.submit(saved, f"{BASE}/availability", {
        "o2-date": holiday, "o2-kind": "hours"})
    assert empty.status_code == 422
    assert invalid(empty, "o2-h0-start")
    [unchanged] = (await api(system, "GET", "/api/v1/mediation/resources", 200))["items"]
    assert unchanged == mine

    removed = await browser.submit(saved, f"{BASE}/availability", {"o0-remove": "1"})
    assert notice(removed) == "Your availability is saved."
    [after] = (await api(system, "GET", "/api/v1/mediation/resources", 200))["items"]
    assert [o["date"] for o in after["date_overrides"]] == [training]
    assert after["resource_id"] == mine["resource_id"]  # the same resource, updated


async def test_the_console_is_for_mediators_and_its_forms_need_the_sessions_token(
        system: Any, console: Callable[[], Browser]) -> None:
    handler = console()
    await handler.sign_in("handler.tenaganita")
    for url in (BASE, f"{BASE}/availability", f"{BASE}/mediations"):
        refused = await handler.get(url)
        assert refused.status_code == 403
        assert "Not for your account" in refused.text
    posted = await handler.post(f"{BASE}/availability", {"timezone": "UTC"})
    assert posted.status_code == 403

    mediator = console()
    await mediator.sign_in()
    editor = await mediator.get(f"{BASE}/availability")
    _, hidden = form_of(editor.text, f"{BASE}/availability")
    forged = await mediator.post(f"{BASE}/availability", {
        "timezone": "Asia/Kuala_Lumpur", **weekdays()}, follow=False)
    assert forged.status_code == 403
    assert "This form was not accepted" in forged.text
    elsewhere = await mediator.post(f"{BASE}/availability", {**hidden, **weekdays()},
                                    headers={"Sec-Fetch-Site": "cross-site"}, follow=False)
    assert elsewhere.status_code == 403
    assert (await api(system, "GET", "/api/v1/mediation/resources", 200))["items"] == []


# ------------------------------------------------------------------------------------------
# proposals, booking, the week
# ------------------------------------------------------------------------------------------
def slot_forms(page: httpx.Response) -> int:
    return len(re.findall(r'<li class="slot" id="slot-\d+">', page.text))


async def test_a_mediator_books_from_a_proposal_then_moves_and_cancels_it(
        system: Any, console: Callable[[], Browser]) -> None:
    case_id = await open_case(system)
    await video_link(system)
    found = await mediation(system, case_id)
    browser = console()
    await browser.sign_in()
    await set_availability(browser)
    listed = await browser.get(f"{BASE}/mediations")
    mediation_url = f"{BASE}/mediations/{found['mediation_id']}"
    assert f'href="{mediation_url}"' in listed.text
    page = await browser.get(mediation_url)
    parties = text_of(page, "parties")
    assert "Worker A (Worker)" in parties
    assert "Sunday" in parties
    assert "21:00–07:00" in parties

    proposals = await browser.get(f"{mediation_url}/slots?duration_minutes=60&horizon_days=14")
    assert proposals.status_code == 200
    assert slot_forms(proposals) >= 3
    first = re.search(r'<li class="slot" id="slot-1">.*?</li>\s*(?=<li class="slot"|</ol>)',
                      proposals.text, re.S)
    assert first is not None
    for shown in ("Worker A", "Employer HR", "Asia/Singapore", "Asia/Kuala_Lumpur",
                  "Meena Mediator", "Zoom room 1"):  # everyone's time, and who takes part
        assert shown in first[0]
    taken_form = form_of(proposals.text, f"{mediation_url}/slots", 0)[1]

    booked = await browser.submit(proposals, f"{mediation_url}/slots", {"action": "book"})
    assert notice(booked) == "The session is booked."
    assert text_of(booked, "status") == "Booked"
    booking_url = booked.url.path
    answered = await browser.submit(booked, f"{booking_url}/responses", {"response": "accepted"})
    assert notice(answered) == "The party's answer is recorded."
    assert text_of(answered, "answer-1") == "Accepted"  # Worker A, as the mediator heard it
    assert text_of(answered, "answer-2") == "No answer yet"
    starts = datetime.fromisoformat(str(taken_form["starts_at"]))
    assert booked_when(booked) == starts.astimezone(KL).strftime("%H:%M")
    # the same slot again (another key): a 409 said plainly on the proposals page
    again = await browser.post(f"{mediation_url}/slots", {
        **taken_form, "action": "book", "idempotency_key": "console-another-key"})
    assert again.status_code == 409
    assert "This slot is no longer free" in again.text
    assert "already booked" in again.text
    # the same form twice (a double click): the first answer, no second booking
    twice = await browser.post(f"{mediation_url}/slots", {**taken_form, "action": "book"})
    assert twice.url.path == booking_url

    held = await browser.submit(await browser.get(f"{mediation_url}/slots"),
                                f"{mediation_url}/slots", {"action": "hold"}, nth=1)
    assert text_of(held, "status") == "Held"
    assert 'id="held-until"' in held.text
    confirmed = await browser.submit(held, f"{held.url.path}/confirm", {})
    assert notice(confirmed) == "The hold is confirmed: the session is booked."
    other = await api(system, "GET", f"/api/v1/bookings/{confirmed.url.path.rsplit('/', 1)[1]}",
                      200)
    other_starts = datetime.fromisoformat(other["starts_at"]).astimezone(KL)

    # moving onto the other booking: a 409 on the page, what was typed kept
    booking = await browser.get(booking_url)
    clash = await browser.submit(booking, f"{booking_url}/reschedule", {
        "date": other_starts.date().isoformat(), "start": other_starts.strftime("%H:%M")})
    assert clash.status_code == 409
    assert "clashes with another hold or booking" in clash.text
    assert 'href="#problem-reschedule"' in text_of_tag(clash, "problem-link")  # from the top
    assert value_of(clash, "rs-date") == other_starts.date().isoformat()
    # at night: outside Meena's hours, mediation's 422 on the date and time
    night = await browser.submit(booking, f"{booking_url}/reschedule", {
        "date": next_weekday(2, 3).date().isoformat(), "start": "03:00"})
    assert night.status_code == 422
    assert invalid(night, "rs-date")
    assert "outside the published hours" in night.text
    tuesday = next_weekday(2, 14, weeks=1)
    moved = await browser.submit(booking, f"{booking_url}/reschedule", {
        "date": tuesday.date().isoformat(), "start": "14:00", "minutes": "90"})
    assert notice(moved).startswith("The session is moved.")
    assert booked_when(moved) == "14:00"
    stored = await api(system, "GET", f"/api/v1{booking_url.removeprefix(BASE)}", 200)
    assert datetime.fromisoformat(stored["starts_at"]) == tuesday
    assert datetime.fromisoformat(stored["ends_at"]) == tuesday + timedelta(minutes=90)
    assert stored["sequence"] == 1
    assert text_of(moved, "answer-1") == "No answer yet"  # asked again for the new time

    # the week of the moved session: it is there, on its day, in Meena's time
    week = await browser.get(f"{BASE}?week={tuesday.date().isoformat()}")
    day = re.search(rf'id="day-{tuesday.date()}".*?</li>\s*(?=<li class="day|</ol>)',
                    week.text, re.S)
    assert day is not None
    assert "14:00–15:30" in day[0]
    assert "Worker A" in day[0]
    assert f'href="{booking_url}"' in day[0]
    monday = tuesday.date() - timedelta(days=1)
    assert f"?week={monday - timedelta(days=7)}" in week.text
    assert f"?week={monday + timedelta(days=7)}" in week.text
    assert "Times are in Asia/Kuala_Lumpur." in week.text

    refused = await browser.submit(moved, f"{booking_url}/cancel", {"reason": ""})
    assert refused.status_code == 422
    assert invalid(refused, "cancel-reason")
    cancelled = await browser.submit(moved, f"{booking_url}/cancel", {
        "reason": "party-unavailable", "note": "The worker's employer changed her day off."})
    assert notice(cancelled) == "The session is cancelled."
    assert text_of(cancelled, "status").startswith("Cancelled")
    assert 'action="' + booking_url + '/cancel"' not in cancelled.text  # nothing more to do
    stale = await browser.post(f"{booking_url}/cancel", {
        **form_of(moved.text, f"{booking_url}/cancel")[1], "reason": "other"})
    assert stale.status_code == 409
    assert "cancelled already" in stale.text


def text_of_tag(page: httpx.Response, element_id: str) -> str:
    """The element with this id, tags and all."""
    found = re.search(rf'<p[^>]*id="{element_id}"[^>]*>.*?</p>', page.text, re.S)
    assert found is not None, f"no #{element_id}"
    return found[0]


def booked_when(page: httpx.Response) -> str:
    """The start time (HH:MM) the session page says, on the session's own clock."""
    found = re.search(r"(\d{2}:\d{2})–\d{2}:\d{2}", text_of(page, "when"))
    assert found is not None
    return found[1]


async def test_the_week_marks_today_and_shows_mine_or_the_organisations(
        system: Any, console: Callable[[], Browser]) -> None:
    case_id = await open_case(system)
    zoom = await video_link(system)
    found = await mediation(system, case_id)
    browser = console()
    await browser.sign_in()
    await set_availability(browser, **{f"w7-0-{e}": v for e, v in (("start", "09:00"),
                                                                   ("end", "17:00"))})
    colleague = await api(system, "POST", "/api/v1/mediation/resources", 201, json={
        "kind": "mediator", "name": "Mediator Ben", "timezone": "Asia/Kuala_Lumpur",
        "weekly_hours": [{"weekday": d, "start": "08:00", "end": "20:00"}
                         for d in range(1, 8)]})
    monday = next_weekday(1, 10)
    await api(system, "POST", f"/api/v1/mediations/{found['mediation_id']}/bookings", 201,
              headers={"Idempotency-Key": "week-ben"}, json={
                  "starts_at": monday.isoformat(),
                  "ends_at": (monday + timedelta(hours=1)).isoformat(),
                  "resources": [colleague["resource_id"], zoom]})
    mine = await browser.get(f"{BASE}?week={monday.date()}")
    assert "No sessions" in text_of(mine, f"day-{monday.date()}")
    everyone = await browser.get(f"{BASE}?week={monday.date()}&all=1")
    assert "10:00–11:00" in text_of(everyone, f"day-{monday.date()}")
    assert "Mediator Ben" in text_of(everyone, f"day-{monday.date()}")

    today = datetime.now(KL).date()
    this_week = await browser.get(BASE)
    assert re.search(rf'<li class="day today" id="day-{today}" aria-current="date">',
                     this_week.text)
    assert this_week.text.count('aria-current="date"') == 1
    assert "Today" in text_of(this_week, f"day-{today}")
    later = await browser.get(f"{BASE}?week={today + timedelta(days=7)}")
    assert 'aria-current="date"' not in later.text


async def test_when_no_slot_fits_each_partys_constraints_are_explained(
        system: Any, console: Callable[[], Browser]) -> None:
    case_id = await open_case(system)
    await video_link(system)
    browser = console()
    await browser.sign_in()
    await set_availability(browser)  # Monday to Saturday, 09:00 to 17:00
    busy_worker = {**WORKER, "rest_days": [7],
                   "quiet_hours": {"start": "07:00", "end": "20:00"}}  # works all day
    found = await mediation(system, case_id, busy_worker, EMPLOYER)
    url = f"{BASE}/mediations/{found['mediation_id']}/slots?duration_minutes=60&horizon_days=14"
    page = await browser.get(url)
    assert page.status_code == 200
    assert slot_forms(page) == 0
    assert 'id="no-slot"' in page.text
    codes = re.findall(r'<li class="reason" data-code="([^"]+)">', page.text)
    assert codes, page.text
    reasons = text_of(page, "no-slot")
    assert "Worker A (worker)" in reasons  # the service's words, the party by its alias
    assert found["parties"][0]["party_id"] not in reasons
    assert "never meet" in reasons or "no time at all" in reasons  # and the page's plain ones
    parties = text_of(page, "parties")
    for constraint in ("07:00–20:00", "Sunday", "Asia/Singapore"):
        assert constraint in parties

    bad = await browser.get(f"{BASE}/mediations/{found['mediation_id']}/slots"
                            "?duration_minutes=5")
    assert bad.status_code == 422
    assert invalid(bad, "duration_minutes")
    unknown = await browser.get(f"{BASE}/mediations/0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f5/slots")
    assert unknown.status_code == 404
    assert "Not found" in unknown.text


# ------------------------------------------------------------------------------------------
# notes and agreements
# ------------------------------------------------------------------------------------------
async def test_joint_and_caucus_notes_and_what_each_side_may_be_shown(
        system: Any, console: Callable[[], Browser]) -> None:
    case_id = await open_case(system)
    found = await mediation(system, case_id)
    worker, employer = (p["party_id"] for p in found["parties"])
    browser = console()
    await browser.sign_in()
    url = f"{BASE}/mediations/{found['mediation_id']}/notes"
    page = await browser.get(url)
    assert 'id="no-notes"' in page.text
    joint = await browser.submit(page, url, {"visibility": "joint",
                                             "text": "Both sides agree to meet again."})
    assert notice(joint) == "The note is saved."
    refused = await browser.submit(joint, url, {"visibility": "caucus", "party_id": "",
                                                "text": "She fears losing her visa."})
    assert refused.status_code == 422
    assert invalid(refused, "note-party")
    assert "She fears losing her visa." in refused.text  # kept, to send again
    caucus = await browser.submit(refused, url, {"visibility": "caucus", "party_id": worker})
    assert notice(caucus) == "The note is saved."
    assert "Caucus with Worker A" in caucus.text
    assert "only you and this side" in caucus.text
    assert "Joint note" in caucus.text

    for_employer = await browser.get(f"{url}?for_party={employer}")
    assert "What Employer HR may be shown" in for_employer.text
    assert "Both sides agree to meet again." in for_employer.text
    assert "She fears losing her visa." not in for_employer.text  # the service's filter
    for_worker = await browser.get(f"{url}?for_party={worker}")
    assert "She fears losing her visa." in for_worker.text


async def test_an_agreement_with_obligations_is_recorded_signed_and_checked(
        system: Any, console: Callable[[], Browser]) -> None:
    case_id = await open_case(system)
    browser = console()
    await browser.sign_in()
    url = f"{BASE}/cases/{case_id}/agreements"
    page = await browser.get(url)
    assert 'id="no-agreements"' in page.text
    due = (date.today() + timedelta(days=30)).isoformat()
    wages = {"worker_language": "id", "ob0-kind": "payment", "ob0-due_on": due,
             "ob0-description": "Three months of wages, by bank transfer",
             "ob0-amount": "9000.00", "ob0-currency": "myr", "ob0-entitlement": "12000.00",
             "ob1-kind": "return-documents", "ob1-due_on": due,
             "ob1-description": "Return the worker's passport"}
    flagged = await browser.submit(page, url, wages)
    assert flagged.status_code == 422
    assert invalid(flagged, "ob0-flag_reason")
    assert "Three months of wages" in flagged.text  # kept
    assert "Return the worker&#39;s passport" in flagged.text
    no_money = await browser.submit(page, url, {**wages, "ob0-amount": ""})
    assert no_money.status_code == 422
    assert invalid(no_money, "ob0-amount")

    drafted = await browser.submit(page, url, {
        **wages, "ob0-flag_reason": "She chose the sum paid now over a tribunal claim."})
    assert notice(drafted).startswith("The agreement is drafted.")
    agreement_url = drafted.url.path
    assert text_of(drafted, "agreement-status") == "Draft"
    assert "Pays less than the worker is entitled to" in drafted.text
    assert 'lang="id" id="options-text"' in drafted.text
    assert "sign-waits" in drafted.text
    early = await browser.post(f"{agreement_url}/sign", form_of(drafted.text)[1])
    assert early.status_code == 409
    assert "has not acknowledged the outside options" in early.text

    read = await browser.submit(drafted, f"{agreement_url}/outside-options", {})
    assert notice(read) == "The worker's reading of their outside options is recorded."
    signed = await browser.submit(read, f"{agreement_url}/sign", {})
    assert notice(signed) == "The agreement is signed."
    assert text_of(signed, "agreement-status").startswith("Signed")
    agreement = await api(system, "GET", f"/api/v1{agreement_url.removeprefix(BASE)}", 200)
    payment, documents = (o["obligation_id"] for o in agreement["obligations"])
    compliance = f"{agreement_url}/obligations/{payment}/compliance"
    unanswered = await browser.submit(signed, compliance, {})
    assert unanswered.status_code == 422
    assert invalid(unanswered, f"c-{payment}-met")
    met = await browser.submit(signed, compliance, {"met": "true", "note": "Paid on time."})
    assert notice(met) == "The compliance check is recorded."
    assert 'data-status="met"' in text_of_row(met, 1)
    assert f'action="{compliance}"' not in met.text  # a met obligation is not checked again
    again = await browser.post(compliance, {**form_of(signed.text, compliance)[1],
                                            "met": "false"})
    assert again.status_code == 409
    assert "recorded met" in again.text
    missed = await browser.submit(met, f"{agreement_url}/obligations/{documents}/compliance",
                                  {"met": "false"})
    assert 'data-status="missed"' in text_of_row(missed, 2)
    listed = await browser.get(url)
    assert "Payment: Met" in text_of(listed, "agreements")
    assert "Return of documents: Missed" in text_of(listed, "agreements")


def text_of_row(page: httpx.Response, n: int) -> str:
    found = re.search(rf'<tr id="obligation-{n}">(.*?)</tr>', page.text, re.S)
    assert found is not None
    return found[1]


async def test_the_mediators_pages_speak_indonesian_and_filipino(
        system: Any, console: Callable[[], Browser]) -> None:
    browser = console()
    home = await browser.sign_in()
    await browser.submit(home, "/console/language", {"language": "id"})
    week = await browser.get(BASE)
    assert '<html lang="id" dir="ltr">' in week.text
    assert "Minggu ini" in week.text
    assert "Ketersediaan" in week.text
    editor = await browser.get(f"{BASE}/availability")
    assert "Senin" in editor.text
    await browser.submit(editor, "/console/language", {"language": "fil"})
    filipino = await browser.get(f"{BASE}/availability")
    assert '<html lang="fil" dir="ltr">' in filipino.text
    assert "Lunes" in filipino.text
