"""Emails and SMS as templates make them: every topic in every language it must speak, times in
the reader's zone, nothing shown that the template does not name, a reporter's nudge that says
nothing of what it is for, and a sandbox around it all."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import write_po
from jinja2.exceptions import SecurityError, UndefinedError

from suara_kit.i18n import Catalogs, read_catalog, template_drift
from suara_notification import i18n
from suara_notification.settings import NotificationSettings
from suara_notification.templates import (
    REPORTER_TOPICS,
    STAFF_TOPICS,
    environment,
    load_all,
    render,
)

CASE = "0193a0b2-7c1e-7000-8000-00000000c0de"
BOOKING = "0193a0b2-7c1e-7000-8000-0000000b0015"
REFERRAL = "0193a0b2-7c1e-7000-8000-00000000eef0"
CONSOLE = "https://console.suara.example"
SESSION = {"booking_id": BOOKING, "case_id": CASE, "starts_at": "2026-12-01T10:00:00+00:00",
           "ends_at": "2026-12-01T11:00:00+00:00", "mode": "video", "sequence": 1,
           "cancel_reason": None}
ATTENDANCE = {"booking_id": BOOKING, "case_id": CASE, "starts_at": "2026-12-01T10:00:00Z",
              "ends_at": "2026-12-01T11:00:00Z", "party": "employer: Side B"}
PARAMS: dict[str, dict[str, Any]] = {
    "case-opened": {"case_id": CASE, "reference": "SUA-7KQ2", "acknowledge_by": "2026-12-08",
                    "risk": "high"},
    "reporter-replied": {"case_id": CASE, "reference": "SUA-7KQ2", "kind": "check-in"},
    "deadline-breached": {"case_id": CASE, "kind": "feedback", "due_on": "2026-12-01"},
    "cluster-detected": {"respondent": "PT Sawit Makmur", "count": 4, "window_days": 90},
    "session-booked": SESSION,
    "session-rescheduled": {**SESSION, "sequence": 2},
    "session-cancelled": {**SESSION, "sequence": 3, "cancel_reason": "mediator-unavailable"},
    "session-reminder": {**SESSION, "before": "1h"},
    "party-declined": ATTENDANCE,
    "party-no-show": ATTENDANCE,
    "referral-received": {"referral_id": REFERRAL, "type": "transfer",
                          "from_organisation": "map-foundation"},
    "referral-moved": {"referral_id": REFERRAL, "type": "referral", "to_organisation": "apmm",
                       "to_status": "accepted"},
    "obligation-missed": {"case_id": CASE, "kind": "return-documents", "due_on": "2026-12-01"},
    "delivery-failed": {"channel": "sms", "topic": "session-reminder",
                        "what": "sms to a staff member"},
}
PARAMS["digest"] = {"items": [{"topic": topic, "params": params}
                              for topic, params in PARAMS.items()]}
SECRET = {"text": "MARKER-TEXT", "body": "MARKER-BODY", "name": "MARKER-NAME"}
STAFF_LANGUAGES = ("en", "id", "fil")
WORKER_LANGUAGES = ("en", "id", "fil", "ms", "th", "vi", "km", "my", "zh-Hant")
HINT = "run `python -m suara_notification.i18n extract` and translate the new texts"


def with_secrets(topic: str) -> dict[str, Any]:
    """The topic's parameters plus values no message may ever show."""
    params = {**PARAMS.get(topic, {}), **SECRET}
    if topic in REPORTER_TOPICS:  # whatever a caller hands a nudge, it shows none of it
        params |= {"reference": "SUA-7KQ2", "organisation": "tenaganita"}
    if topic == "digest":
        params["items"] = [{**item, "params": {**item["params"], **SECRET}, **SECRET}
                           for item in params["items"]]
    return params


def every_part(rendered: Any) -> str:
    return "\n".join([rendered.subject, rendered.text, rendered.html or ""])


# --- catalogs ------------------------------------------------------------------------------


def test_the_template_is_up_to_date_with_the_sources() -> None:
    missing, stale = template_drift(i18n.CATALOGS)
    assert missing == set(), f"not in messages.pot; {HINT}"
    assert stale == set(), f"no longer in the templates; {HINT}"


@pytest.mark.parametrize("locale", i18n.REPORTER_LOCALES)
def test_every_needed_text_is_translated(locale: str) -> None:
    problems = i18n.untranslated(locale)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("locale", ["km", "my"])
def test_drafts_by_a_non_native_writer_are_marked_for_review(locale: str) -> None:
    catalog = read_catalog(i18n.CATALOGS.po_path(locale), locale)
    drafts = [m for m in catalog if m.id and m.string]
    assert drafts
    for message in drafts:
        assert "check: draft by a non-native writer; needs review" in message.auto_comments


def test_a_missing_translation_is_caught(tmp_path: Path) -> None:
    shutil.copytree(i18n.CATALOGS.locale_dir, tmp_path / "locales")
    copy = Catalogs(tmp_path, "suara-notification", i18n.METHOD_MAP, i18n.OPTIONS_MAP)
    nudge = "You have a new message. Open the page you saved to read it."
    for locale, msgid in (("km", nudge), ("fil", "Reason: %(reason)s")):
        catalog = read_catalog(copy.po_path(locale), locale)
        catalog.delete(msgid)
        with copy.po_path(locale).open("wb") as f:
            write_po(f, catalog)

    assert i18n.untranslated("km", copy) == [f"km: no translation for {nudge!r}"]
    assert i18n.untranslated("fil", copy) == ["fil: no translation for 'Reason: %(reason)s'"]
    assert i18n.untranslated("th", copy) == []  # Thai needs the reporter's texts only


def test_every_template_compiles_in_every_language() -> None:
    load_all()


# --- staff messages ------------------------------------------------------------------------


@pytest.mark.parametrize("language", STAFF_LANGUAGES)
@pytest.mark.parametrize("topic", STAFF_TOPICS)
def test_every_staff_topic_renders_by_email(topic: str, language: str) -> None:
    rendered = render(topic, "email", language, "Asia/Jakarta", with_secrets(topic),
                      console_url=CONSOLE + "/")
    assert rendered.subject
    assert "\n" not in rendered.subject
    assert f"{CONSOLE}/console" in rendered.text
    assert rendered.html is not None
    assert f'href="{CONSOLE}/console' in rendered.html
    assert f'lang="{language}"' in rendered.html
    assert "MARKER" not in every_part(rendered)
    if language != "en":
        english = render(topic, "email", "en", "Asia/Jakarta", PARAMS[topic],
                         console_url=CONSOLE)
        assert rendered.subject != english.subject
        assert rendered.text != english.text


@pytest.mark.parametrize("language", STAFF_LANGUAGES)
@pytest.mark.parametrize("topic", STAFF_TOPICS)
def test_every_staff_topic_renders_as_one_sms_line(topic: str, language: str) -> None:
    rendered = render(topic, "sms", language, "Asia/Manila", with_secrets(topic),
                      console_url=CONSOLE)
    assert rendered.subject == ""
    assert rendered.html is None
    assert "\n" not in rendered.text
    assert rendered.text.startswith("Suara: ")
    assert f"{CONSOLE}/console" in rendered.text
    assert "MARKER" not in rendered.text


def test_a_staff_email_says_what_happened_and_where_to_read_it() -> None:
    rendered = render("case-opened", "email", "en", "Asia/Jakarta", PARAMS["case-opened"],
                      console_url=CONSOLE)
    assert rendered.subject == "New high-risk case SUA-7KQ2"
    assert "Acknowledge it by: Tue, Dec 8, 2026" in rendered.text
    assert f"{CONSOLE}/console/cases/{CASE}" in rendered.text
    assert "sign in to read it" in rendered.text


def test_the_digest_has_one_line_per_item() -> None:
    rendered = render("digest", "email", "en", "UTC", PARAMS["digest"], console_url=CONSOLE)
    items = PARAMS["digest"]["items"]
    assert rendered.subject == f"Your daily summary: {len(items)} updates"
    lines = [line for line in rendered.text.splitlines() if line.startswith("- ")]
    assert len(lines) == len(items)
    assert lines[0] == "- New high-risk case SUA-7KQ2"
    assert f'<a href="{CONSOLE}/console/referrals/{REFERRAL}">' in (rendered.html or "")


def test_html_escapes_what_the_text_shows_as_is() -> None:
    params = {**PARAMS["cluster-detected"], "respondent": "<script>alert(1)</script> & Co"}
    rendered = render("cluster-detected", "email", "en", "UTC", params, console_url=CONSOLE)
    assert "<script>" in rendered.text  # plain text: shown as the handlers coded it
    assert "<script>" not in (rendered.html or "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in (rendered.html or "")


# --- time zones and languages -----------------------------------------------------------


@pytest.mark.parametrize(("language", "zone", "shown"), [
    ("en", "Asia/Jakarta", "Tue, Dec 1, 2026, 17:00 (Asia/Jakarta)"),
    ("en", "Asia/Manila", "Tue, Dec 1, 2026, 18:00 (Asia/Manila)"),
    ("id", "Asia/Jakarta", "Sel, 1 Des 2026 17.00 (Asia/Jakarta)"),
    ("fil", "Asia/Manila", "Mar, Dis 1, 2026, 18:00 (Asia/Manila)"),
    ("en", "Mars/Olympus_Mons", "Tue, Dec 1, 2026, 10:00 (UTC)"),
    ("th", "Asia/Bangkok", "Tue, Dec 1, 2026, 17:00 (Asia/Bangkok)"),  # staff: English
])
def test_times_are_in_the_readers_zone_and_language(language: str, zone: str,
                                                    shown: str) -> None:
    rendered = render("session-booked", "email", language, zone, PARAMS["session-booked"],
                      console_url=CONSOLE)
    assert rendered.subject.endswith(shown)


def test_a_session_across_local_midnight_names_both_days() -> None:
    params = {**SESSION, "starts_at": "2026-12-01T14:00:00Z", "ends_at": "2026-12-01T16:00:00Z"}
    rendered = render("session-booked", "email", "en", "Asia/Tokyo", params, console_url=CONSOLE)
    assert "When: Tue, Dec 1, 2026, 23:00–Wed, Dec 2, 2026, 01:00 (Asia/Tokyo)" in rendered.text


@pytest.mark.parametrize(("language", "due"), [
    ("en", "Tue, Dec 1, 2026"), ("id", "Sel, 1 Des 2026"), ("fil", "Mar, Dis 1, 2026"),
    ("xx", "Tue, Dec 1, 2026")])
def test_dates_are_in_the_readers_language(language: str, due: str) -> None:
    rendered = render("deadline-breached", "email", language, "Pacific/Kiritimati",
                      PARAMS["deadline-breached"], console_url=CONSOLE)
    assert rendered.subject.endswith(due)  # a date is a date: no zone moves it


# --- the reporter's nudge ----------------------------------------------------------------


@pytest.mark.parametrize("language", WORKER_LANGUAGES)
@pytest.mark.parametrize("topic", REPORTER_TOPICS)
@pytest.mark.parametrize("channel", ["email", "sms"])
def test_the_nudges_exist_in_every_worker_language(topic: str, language: str,
                                                   channel: str) -> None:
    rendered = render(topic, channel, language, "Asia/Bangkok",  # type: ignore[arg-type]
                      with_secrets(topic), console_url=CONSOLE)
    shown = every_part(rendered)
    assert rendered.text
    assert rendered.html is None
    assert bool(rendered.subject) == (channel == "email")
    for never in ("MARKER", "SUA-7KQ2", "tenaganita", "Suara", CONSOLE, "http"):
        assert never not in shown
    if language != "en":
        english = render(topic, channel, "en", "UTC", {}, console_url=CONSOLE)  # type: ignore[arg-type]
        assert rendered.text != english.text


@pytest.mark.parametrize("topic", REPORTER_TOPICS)
def test_the_nudge_says_nothing_of_what_it_is_for(topic: str) -> None:
    rendered = render(topic, "email", "en", "UTC", {}, console_url=CONSOLE)
    shown = f"{rendered.subject}\n{rendered.text}".lower()
    for word in ("report", "complain", "case", "grievance", "mediat", "session", "employer",
                 "suara", "organisation", "organization", "reference", "appointment",
                 "meeting"):
        assert word not in shown, word
    assert not any(ch.isdigit() for ch in shown)  # no time, no date, no number


# The word for a worker's report on the gateway's pages, in each language: a nudge never uses
# it (Thai says "เรื่อง", the matter; Burmese "တိုင်ကြား", to complain).
REPORT_WORD = {"en": "report", "id": "laporan", "fil": "ulat", "ms": "laporan",
               "th": "เรื่อง", "vi": "báo cáo", "km": "របាយការណ៍", "my": "တိုင်ကြား",
               "zh_Hant": "報告"}
GATEWAY_LOCALES = Path(__file__).parents[3] / "gateway/src/suara_gateway/locales"


@pytest.mark.parametrize("locale", i18n.REPORTER_LOCALES)
@pytest.mark.parametrize("topic", REPORTER_TOPICS)
def test_no_nudge_uses_its_languages_word_for_a_report(topic: str, locale: str) -> None:
    word = REPORT_WORD[locale]
    for channel in ("email", "sms"):
        rendered = render(topic, channel, locale, "UTC", {},  # type: ignore[arg-type]
                          console_url=CONSOLE)
        assert word not in f"{rendered.subject}\n{rendered.text}".lower()


@pytest.mark.parametrize("locale", i18n.REPORTER_LOCALES)
def test_the_word_for_a_report_is_the_one_the_gateway_uses(locale: str) -> None:
    gateway = GATEWAY_LOCALES / locale / "LC_MESSAGES" / "messages.po"
    if not gateway.exists():
        pytest.skip("the gateway's catalogs are not beside this service")
    message = read_catalog(gateway, locale).get("Your report")
    assert message is not None
    assert REPORT_WORD[locale] in message.string.lower()


def test_the_sms_sender_a_worker_sees_is_neutral() -> None:
    defaults = NotificationSettings.model_fields
    for field in ("sms_sender", "sms_fallback_sender"):
        sender = str(defaults[field].default).lower()
        assert "suara" not in sender
        assert not any(word in sender for word in ("report", "complain", "case", "help"))


def test_the_nudge_carries_the_link_only_when_one_is_configured() -> None:
    link = "https://status.example/s"
    with_link = render("nudge", "sms", "ms", "UTC", {}, console_url=CONSOLE, nudge_link=link)
    assert with_link.text.splitlines()[-1] == link
    assert "https" not in render("nudge", "sms", "ms", "UTC", {}, console_url=CONSOLE).text


def test_a_worker_language_code_finds_its_catalog() -> None:
    english = render("nudge", "sms", "en", "UTC", {}, console_url=CONSOLE).text
    for code in ("zh-Hant", "zh_Hant", "ZH-hant"):
        assert render("nudge", "sms", code, "UTC", {}, console_url=CONSOLE).text.startswith("你")
    assert render("nudge", "sms", "id-ID", "UTC", {}, console_url=CONSOLE).text != english
    assert render("nudge", "sms", "xx", "UTC", {}, console_url=CONSOLE).text == english


# --- safety of the machinery -------------------------------------------------------------


@pytest.mark.parametrize("source", [
    "{{ params.__class__ }}", "{{ params.__class__.__mro__ }}", "{{ ''.__class__ }}",
    "{{ params.clear() }}", "{{ params.update(x=1) }}"])
def test_templates_run_in_a_sandbox(source: str) -> None:
    with pytest.raises(SecurityError):
        environment("en").from_string(source).render(params={"a": 1})


def test_a_missing_parameter_fails_loudly() -> None:
    params = dict(PARAMS["case-opened"])
    del params["reference"]
    with pytest.raises(UndefinedError):
        render("case-opened", "email", "en", "UTC", params, console_url=CONSOLE)


def test_an_unknown_topic_is_refused() -> None:
    with pytest.raises(ValueError, match="no template"):
        render("case-shredded", "email", "en", "UTC", {}, console_url=CONSOLE)
    with pytest.raises(ValueError, match="no digest line"):
        render("digest", "email", "en", "UTC",
               {"items": [{"topic": "nudge", "params": {}}]}, console_url=CONSOLE)
