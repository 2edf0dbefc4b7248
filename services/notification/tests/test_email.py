"""Email through a real SMTP server (aiosmtpd on 127.0.0.1): the message arrives whole, with
a Message-ID that survives retries; the server's refusals and silences become outcomes that
never name the address."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from uuid import uuid4

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from suara_notification.channels import Attachment, Outgoing
from suara_notification.email import SmtpProvider, outcome_of

SENDER = "Suara <no-reply@suara.invalid>"
TO = "handler@tenaganita.example"
INVITE = b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Collector:
    """Keeps every message; answers RCPT with `rcpt_reply` when set."""

    def __init__(self, rcpt_reply: str | None = None) -> None:
        self.rcpt_reply = rcpt_reply
        self.envelopes: list[Envelope] = []

    async def handle_RCPT(self, server: object, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: object, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def message(self, index: int = 0) -> EmailMessage:
        content = self.envelopes[index].original_content or b""
        parsed = message_from_bytes(content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class Logins:
    def __init__(self) -> None:
        self.seen: list[tuple[bytes, bytes]] = []

    def __call__(self, server: object, session: Session, envelope: Envelope, mechanism: str,
                 auth_data: object) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        self.seen.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"p@ss:word")


@contextmanager
def smtp_server(handler: Collector, **options: object) -> Iterator[str]:
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        controller.stop()


@pytest.fixture
def collector() -> Collector:
    return Collector()


@pytest.fixture
def server(collector: Collector) -> Iterator[str]:
    with smtp_server(collector) as address:
        yield address


def outgoing(**overrides: object) -> Outgoing:
    values: dict[str, object] = {
        "message_id": uuid4(), "channel": "email", "address": TO,
        "subject": "Mediation session booked", "body": "A mediation session was booked.",
        "html": "<p>A mediation session was booked.</p>",
        "attachments": (Attachment("invite.ics", "text/calendar; method=REQUEST", INVITE),)}
    return Outgoing(**{**values, **overrides})  # type: ignore[arg-type]


async def test_text_html_and_invitation_arrive(server: str, collector: Collector) -> None:
    message = outgoing()
    outcome = await SmtpProvider(f"smtp://{server}", SENDER).send(message)

    assert outcome.status == "sent", outcome
    envelope = collector.envelopes[0]
    assert envelope.mail_from == "no-reply@suara.invalid"
    assert envelope.rcpt_tos == [TO]
    got = collector.message()
    assert (got["From"], got["To"], got["Subject"]) == (SENDER, TO, "Mediation session booked")
    assert got["Message-ID"] == f"<{message.message_id}@suara.invalid>"  # the From's domain
    assert got["Date"]
    assert got["Auto-Submitted"] == "auto-generated"
    assert got.get_content_type() == "multipart/mixed"
    text, html = got.get_body(("plain",)), got.get_body(("html",))
    assert text is not None
    assert html is not None
    assert text.get_content().strip() == "A mediation session was booked."
    assert html.get_content().strip() == "<p>A mediation session was booked.</p>"
    (invite,) = list(got.iter_attachments())
    assert invite.get_content_type() == "text/calendar"
    assert invite.get_param("method") == "REQUEST"
    assert invite.get_content_charset() == "utf-8"
    assert invite.get_filename() == "invite.ics"
    assert invite.get_payload(decode=True) == INVITE


async def test_plain_text_only_when_no_html(server: str, collector: Collector) -> None:
    outcome = await SmtpProvider(f"smtp://{server}", SENDER).send(
        outgoing(html=None, attachments=()))
    assert outcome.ok
    got = collector.message()
    assert got.get_content_type() == "text/plain"
    assert got.get_content_charset() == "utf-8"


async def test_a_retry_is_the_same_message(server: str, collector: Collector) -> None:
    provider = SmtpProvider(f"smtp://{server}", SENDER)
    message = outgoing()
    assert (await provider.send(message)).ok
    assert (await provider.send(message)).ok
    assert collector.message(0)["Message-ID"] == collector.message(1)["Message-ID"]


async def test_credentials_from_the_url() -> None:
    logins, handler = Logins(), Collector()
    with smtp_server(handler, authenticator=logins, auth_require_tls=False) as address:
        url = f"smtp://suara%40relay:p%40ss%3Aword@{address}"
        assert (await SmtpProvider(url, SENDER).send(outgoing())).ok
        assert logins.seen == [(b"suara@relay", b"p@ss:word")]


@pytest.mark.parametrize(("reply", "status"), [
    ("550 5.1.1 <handler@tenaganita.example>: no such user", "refused"),
    ("451 4.3.0 <handler@tenaganita.example>: try again later", "failed")])
async def test_a_refused_recipient(reply: str, status: str) -> None:
    with smtp_server(Collector(rcpt_reply=reply)) as address:
        outcome = await SmtpProvider(f"smtp://{address}", SENDER).send(outgoing())
        assert outcome.status == status
        assert reply[:3] in outcome.detail
        assert TO not in outcome.detail
        assert "tenaganita" not in outcome.detail


async def test_nothing_listening_fails_for_now() -> None:
    outcome = await SmtpProvider(f"smtp://127.0.0.1:{free_port()}", SENDER).send(outgoing())
    assert outcome.status == "failed"
    assert TO not in outcome.detail


async def test_a_broken_address_is_refused_before_sending(server: str,
                                                          collector: Collector) -> None:
    outcome = await SmtpProvider(f"smtp://{server}", SENDER).send(
        outgoing(address="a@example.org\r\nBcc: b@example.org"))
    assert outcome.status == "refused"
    assert collector.envelopes == []


def test_the_url_is_checked_and_the_password_never_shown() -> None:
    provider = SmtpProvider("smtps://user:hunter2@mail.example.org", SENDER)
    assert (provider.hostname, provider.port, provider.use_tls) == ("mail.example.org", 465, True)
    assert "hunter2" not in repr(provider)
    assert SmtpProvider("smtp://mail.example.org", SENDER).port == 25
    with pytest.raises(ValueError, match="SMTP URL"):
        SmtpProvider("http://mail.example.org", SENDER)


@pytest.mark.parametrize(("error", "status"), [
    (aiosmtplib.SMTPAuthenticationError(535, "bad credentials"), "refused"),
    (aiosmtplib.SMTPSenderRefused(553, "not yours", "no-reply@suara.invalid"), "refused"),
    (aiosmtplib.SMTPDataError(554, "spam"), "refused"),
    (aiosmtplib.SMTPDataError(452, "mailbox full"), "failed"),
    (aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(450, "busy", TO)]),
     "failed"),
    (aiosmtplib.SMTPServerDisconnected("gone"), "failed"),
    (aiosmtplib.SMTPReadTimeoutError("slow"), "failed"),
    (aiosmtplib.SMTPNotSupported("no AUTH"), "refused")])
def test_what_smtp_errors_mean(error: Exception, status: str) -> None:
    outcome = outcome_of(error)
    assert outcome.status == status
    assert TO not in outcome.detail
    assert "spam" not in outcome.detail


async def test_a_reporters_nudge_names_only_its_neutral_sender_even_in_its_headers(
        server: str, collector: Collector) -> None:
    nudge = Outgoing(message_id=uuid4(), channel="email", address="worker@mail.example",
                     subject="A new update", body="You have a new message.",
                     sender="Updates <no-reply@updates.invalid>")
    outcome = await SmtpProvider(f"smtp://{server}", SENDER).send(nudge)
    assert outcome.status == "sent", outcome
    raw = (collector.envelopes[0].original_content or b"").decode()
    got = collector.message()
    assert got["From"] == "Updates <no-reply@updates.invalid>"
    assert got["Message-ID"] == f"<{nudge.message_id}@updates.invalid>"
    assert "suara" not in raw.lower()
