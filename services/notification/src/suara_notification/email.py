"""Email through an SMTP server (aiosmtplib): one `Outgoing` becomes one MIME message, tried
once. Outcomes name the SMTP reply code, never the server's text (it often echoes the address).
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from urllib.parse import unquote, urlsplit

import aiosmtplib

from suara_notification.channels import Attachment, Outcome, Outgoing

TIMEOUT_SECONDS = 15.0
PORTS = {"smtp": 25, "smtps": 465}


def message_id(outgoing: Outgoing, sender: str = "") -> str:
    """The email's Message-ID: the notification's id, so a retry is the same message, at the
    domain of the From address (a reporter's nudge must not name Suara even in its headers)."""
    domain = parseaddr(outgoing.sender or sender)[1].rpartition("@")[2] or "localhost"
    return f"<{outgoing.message_id}@{domain}>"


def _content_type(value: str) -> tuple[str, str, dict[str, str]]:
    """'text/calendar; method=REQUEST' → ('text', 'calendar', {'method': 'REQUEST'})."""
    kind, *rest = (part.strip() for part in value.split(";"))
    maintype, _, subtype = kind.lower().partition("/")
    params = {}
    for part in rest:
        key, _, val = part.partition("=")
        if key.strip():
            params[key.strip().lower()] = val.strip().strip('"')
    if maintype == "text":
        params.setdefault("charset", "utf-8")
    return maintype or "application", subtype or "octet-stream", params


def _attach(message: EmailMessage, attachment: Attachment) -> None:
    maintype, subtype, params = _content_type(attachment.content_type)
    message.add_attachment(attachment.data, maintype=maintype, subtype=subtype,
                           filename=attachment.filename, params=params)


def build(outgoing: Outgoing, sender: str, now: datetime | None = None) -> EmailMessage:
    """The MIME message: text/plain, a text/html alternative when given, then attachments."""
    message = EmailMessage()
    message["From"] = outgoing.sender or sender
    message["To"] = outgoing.address
    message["Subject"] = outgoing.subject
    message["Date"] = format_datetime(now or datetime.now(UTC))
    message["Message-ID"] = message_id(outgoing, sender)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to us
    message.set_content(outgoing.body)
    if outgoing.html is not None:
        message.add_alternative(outgoing.html, subtype="html")
    for attachment in outgoing.attachments:
        _attach(message, attachment)
    return message


def _by_code(code: int, what: str) -> Outcome:
    # 4xx is the server's "not now"; 5xx is "not ever" (through this server)
    return Outcome("failed" if 400 <= code < 500 else "refused", f"{what} ({code})")


def outcome_of(exc: Exception) -> Outcome:
    """What an aiosmtplib error means for the delivery engine."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients] or [550]
        return _by_code(max(codes), "recipient refused")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return _by_code(exc.code, type(exc).__name__)
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return Outcome("refused", "server lacks a needed extension")
    if isinstance(exc, TimeoutError):
        return Outcome("failed", "timeout")
    return Outcome("failed", type(exc).__name__)


class SmtpProvider:
    """Sends through one SMTP server: smtp://[user:password@]host[:port] (STARTTLS when the
    server offers it) or smtps://… (TLS from the start)."""

    def __init__(self, url: str, sender: str, name: str = "smtp") -> None:
        parts = urlsplit(url)
        if parts.scheme not in PORTS or not parts.hostname:
            raise ValueError("an SMTP URL is smtp://[user:password@]host[:port] or smtps://…")
        self.name, self.sender = name, sender
        self.hostname = parts.hostname
        self.port = parts.port or PORTS[parts.scheme]
        self.use_tls = parts.scheme == "smtps"
        self._username = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None

    def __repr__(self) -> str:  # never the password
        return f"SmtpProvider(name={self.name!r}, host={self.hostname!r}, port={self.port})"

    async def send(self, message: Outgoing) -> Outcome:
        """Try once; an SMTP error becomes an outcome."""
        try:
            email = build(message, self.sender)
        except (ValueError, TypeError):  # e.g. a line break in the address
            return Outcome("refused", "invalid message headers")
        try:
            await aiosmtplib.send(
                email, hostname=self.hostname, port=self.port, username=self._username,
                password=self._password, use_tls=self.use_tls,
                start_tls=False if self.use_tls else None, timeout=TIMEOUT_SECONDS)
        except (aiosmtplib.SMTPException, OSError) as exc:  # timeouts are OSErrors
            return outcome_of(exc)
        return Outcome("sent")

    async def aclose(self) -> None:
        """Nothing to close: each send opens and closes its own connection."""
