"""Emails and SMS from templates, in the recipient's language and time zone.

A staff topic's template (`templates/staff/<topic>.txt`) defines three macros: `summary(p)`
(one line: the subject, the SMS, the digest's line), `path(p)` (where in the console to read
more) and `body(p)`; the layouts `email.txt`, `email.html` and `sms.txt` put them together.
A reporter's topic (`templates/reporter/`) is a neutral nudge that says nothing of what it is
for. Templates run sandboxed and see only the parameters they name: ids, references, dates
and codes, never what a reporter said.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_skeleton
from jinja2 import FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from suara_notification import i18n

TEMPLATES = Path(__file__).parent / "templates"
STAFF_TOPICS = ("case-opened", "reporter-replied", "deadline-breached", "cluster-detected",
                "session-booked", "session-rescheduled", "session-cancelled",
                "session-reminder", "party-declined", "party-no-show", "referral-received",
                "referral-moved", "obligation-missed", "delivery-failed", "digest")
REPORTER_TOPICS = ("nudge", "nudge-reminder")
TOPICS = STAFF_TOPICS + REPORTER_TOPICS


@dataclass(frozen=True)
class Rendered:
    """A message ready for a provider: a subject (empty for SMS), plain text, maybe HTML."""

    subject: str
    text: str
    html: str | None


def zone_of(name: str) -> ZoneInfo:
    """The zone of that name; UTC when it is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _moment(value: str | datetime) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # no offset: UTC


def _zone_label(zone: ZoneInfo) -> str:
    return "UTC" if zone.key in ("UTC", "Etc/UTC") else zone.key


def _day(moment: date, locale: str) -> str:
    return format_skeleton("yMMMEd", moment, locale=locale)


def _at(local: datetime, locale: str) -> str:
    # the locale's own way of joining a date and a time ("{1}, {0}", "{1} {0}", "{0} {1}")
    pattern = str(Locale.parse(locale).datetime_formats["medium"])
    return (pattern.replace("{1}", _day(local, locale))
            .replace("{0}", format_skeleton("Hm", local, locale=locale)))


@pass_context
def when(context: Context, value: str | datetime) -> str:
    """An instant (ISO 8601) in the reader's zone and language: 'Tue, Dec 1, 2026, 17:00
    (Asia/Jakarta)'."""
    locale, zone = context["locale"], context["zone"]
    return f"{_at(_moment(value).astimezone(zone), locale)} ({_zone_label(zone)})"


@pass_context
def span(context: Context, start: str | datetime, end: str | datetime) -> str:
    """From one instant to another in the reader's zone, the two times joined by an en dash:
    'Tue, Dec 1, 2026, 17:00' to '18:00 (Asia/Jakarta)'; the end's day too when it falls on
    another day."""
    locale, zone = context["locale"], context["zone"]
    first, last = _moment(start).astimezone(zone), _moment(end).astimezone(zone)
    until = (format_skeleton("Hm", last, locale=locale) if last.date() == first.date()
             else _at(last, locale))
    return f"{_at(first, locale)}–{until} ({_zone_label(zone)})"


@pass_context
def day(context: Context, value: str | date) -> str:
    """A date (ISO 8601) in the reader's language: 'Tue, Dec 1, 2026'. An instant is first
    moved to the reader's zone."""
    if isinstance(value, str):
        value = (date.fromisoformat(value) if len(value) == 10
                 else _moment(value).astimezone(context["zone"]).date())
    elif isinstance(value, datetime):
        value = _moment(value).astimezone(context["zone"]).date()
    return _day(value, context["locale"])


@pass_context
def console(context: Context, path: object) -> str:
    """A link into the staff console."""
    return f"{context['console_url']}{str(path).strip()}"


def paragraphs(text: object) -> list[str]:
    """Plain text cut at blank lines (as plain strings, so an HTML template escapes them)."""
    return [part.strip() for part in re.split(r"\n\s*\n", str(text)) if part.strip()]


@cache
def environment(locale: str) -> ImmutableSandboxedEnvironment:
    """The sandboxed environment of one locale (its gettext catalog installed); autoescape
    for .html templates only."""
    env = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
        autoescape=select_autoescape(["html"], default_for_string=False, default=False),
        trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.i18n"])
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_translations(i18n.translations(locale), newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(when=when, day=day, paragraphs=paragraphs, plain=str)
    env.globals.update(span=span, console=console)
    return env


def load_all() -> None:
    """Read every catalog and compile every template now, so a broken one fails at start."""
    for locale in i18n.REPORTER_LOCALES:
        env = environment(locale)
        for name in env.list_templates(extensions=["txt", "html"]):
            env.get_template(name)


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def _line(text: object) -> str:
    return " ".join(str(text).split())


def _check(topic: str, params: dict[str, Any]) -> None:
    if topic not in TOPICS:
        raise ValueError(f"no template for topic {topic!r}")
    if topic == "digest":
        for item in params["items"]:
            if item["topic"] not in STAFF_TOPICS or item["topic"] == "digest":
                raise ValueError(f"no digest line for topic {item['topic']!r}")


def render(topic: str, channel: Literal["email", "sms"], language: str, timezone: str,
           params: dict[str, Any], *, console_url: str,
           nudge_link: str | None = None) -> Rendered:
    """One message of `topic` for one recipient, in their language (English when it is not
    offered) and zone (UTC when unknown)."""
    _check(topic, params)
    reporter = topic in REPORTER_TOPICS
    locale = i18n.locale_of(language, i18n.REPORTER_LOCALES if reporter else i18n.STAFF_LOCALES)
    env = environment(locale)
    context = {"topic": topic, "params": params, "locale": locale, "zone": zone_of(timezone),
               "console_url": console_url.rstrip("/"), "nudge_link": nudge_link,
               "html_lang": locale.replace("_", "-")}
    if reporter:
        module = env.get_template(f"reporter/{topic}.txt").make_module(context)
        text = _tidy(env.get_template("reporter/message.txt").render(context))
        return Rendered("" if channel == "sms" else _line(module.subject()), text, None)
    if channel == "sms":
        return Rendered("", _line(env.get_template("staff/sms.txt").render(context)), None)
    module = env.get_template(f"staff/{topic}.txt").make_module(context)
    return Rendered(_line(module.summary(params)),
                    _tidy(env.get_template("staff/email.txt").render(context)),
                    env.get_template("staff/email.html").render(context))


async def load() -> None:
    """`load_all`, as a start-up hook."""
    load_all()
