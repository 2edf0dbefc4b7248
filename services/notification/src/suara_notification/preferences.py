"""Who notification may send to, and how they want it: staff members' own preferences, and a
reporter's nudge contact.

A staff member registers by saving their preferences (their organisation and roles come from
their verified token, never from the body). A reporter's contact is sealed with the report's
data key: it is read only to send a nudge, never shown in full, never given to anyone, and
shredded with the report. Nothing here is logged.
"""

from __future__ import annotations

import re
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel.ext.asyncio.session import AsyncSession

from suara_contracts.notifications import (
    EMAIL_PATTERN,
    PHONE_PATTERN,
    ReporterContactQuery,
    ReporterContactView,
    SetReporterContact,
    SetStaffPreferences,
    StaffPreferences,
    StaffPreferencesQuery,
    StaffPreferencesView,
)
from suara_contracts.rpc import Actor
from suara_kit.clock import utcnow
from suara_kit.datakeys import Shredded, ring_of
from suara_kit.errors import Forbidden, ValidationFailed
from suara_notification import content, delivery
from suara_notification.models import ReporterContact, StaffRecipient


def invalid(message: str, field: str) -> ValidationFailed:
    """A 422 naming the offending field."""
    return ValidationFailed(f"{field}: {message}", errors=[{"field": field, "message": message}])



STAFF_ROLES = {"case-handler", "mediator", "worker-committee", "admin", "cso-partner"}


def _zone(name: str, field: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder ("Asia"), too long
        raise invalid(f"'{name}' is not a time zone; use an IANA name such as "
                      "'Asia/Jakarta'.", field=field) from None
    return name


def _staff(actor: Actor) -> str:
    if not actor.organisation or not STAFF_ROLES & set(actor.roles):
        raise Forbidden("Notifications go to staff of an organisation; your account holds no "
                        "staff role in one.")
    return actor.organisation


def _view(row: StaffRecipient | None, organisation: str | None) -> StaffPreferencesView:
    if row is None:
        return StaffPreferencesView(registered=False, organisation=organisation,
                                    preferences=StaffPreferences())
    return StaffPreferencesView(registered=True, organisation=row.organisation,
                                preferences=StaffPreferences(
                                    email=row.email, phone=row.phone,
                                    language=row.language,  # type: ignore[arg-type]
                                    timezone=row.timezone, quiet_from=row.quiet_from,
                                    quiet_until=row.quiet_until, digest=row.digest,
                                    digest_hour=row.digest_hour,
                                    muted=row.muted,  # type: ignore[arg-type]
                                    sms_urgent=row.sms_urgent))


async def staff_get(session: AsyncSession, query: StaffPreferencesQuery) -> StaffPreferencesView:
    organisation = _staff(query.actor)
    return _view(await session.get(StaffRecipient, query.actor.subject), organisation)


async def staff_set(session: AsyncSession, command: SetStaffPreferences) -> StaffPreferencesView:
    """Save the caller's preferences (registering them); roles and organisation from the token."""
    organisation = _staff(command.actor)
    wanted = command.preferences
    _zone(wanted.timezone, "timezone")
    if (wanted.quiet_from is None) != (wanted.quiet_until is None):
        raise invalid("Give both ends of quiet hours, or neither.", field="quiet_until")
    if wanted.sms_urgent and not wanted.phone:
        raise invalid("Urgent SMS needs a phone number.", field="phone")
    row = await session.get(StaffRecipient, command.actor.subject)
    if row is None:
        row = StaffRecipient(subject=command.actor.subject, organisation=organisation,
                             updated_at=utcnow())
    moved = row.organisation != organisation
    row.organisation, row.roles = organisation, sorted(command.actor.roles)
    row.email, row.phone, row.language = wanted.email, wanted.phone, wanted.language
    row.timezone, row.quiet_from, row.quiet_until = (wanted.timezone, wanted.quiet_from,
                                                     wanted.quiet_until)
    row.digest, row.digest_hour, row.muted = wanted.digest, wanted.digest_hour, list(wanted.muted)
    row.sms_urgent, row.updated_at = wanted.sms_urgent, utcnow()
    session.add(row)
    if moved:  # what was planned for the old organisation is not theirs any more
        await delivery.cancel_recipient(session, f"staff:{row.subject}")
    await session.flush()
    return _view(row, organisation)


async def staff_forget(session: AsyncSession,
                       query: StaffPreferencesQuery) -> StaffPreferencesView:
    """Stop everything to the caller and delete their address."""
    organisation = _staff(query.actor)
    row = await session.get(StaffRecipient, query.actor.subject)
    if row is not None:
        await delivery.cancel_recipient(session, f"staff:{row.subject}")
        await session.delete(row)
        await session.flush()
    return _view(None, organisation)


# --- the reporter's nudge contact --------------------------------------------------------------


def _mask(channel: str, address: str) -> str:
    if channel == "sms":  # as many dots whatever the length: the length says where from
        return "••••••" + address[-2:]
    name, _, domain = address.partition("@")
    return f"{name[:1]}•••@{domain[:1]}•••.{domain.rsplit('.', 1)[-1]}"


def _normalised(command: SetReporterContact) -> str:
    address = command.address.strip()
    if command.channel == "sms":
        address = re.sub(r"[\s().-]", "", address)
        if address.startswith("00"):
            address = "+" + address[2:]
        if not re.fullmatch(PHONE_PATTERN, address):
            raise invalid("Give the phone number with its country code, e.g. +62 812 3456 "
                          "7890.", field="address")
    elif not re.fullmatch(EMAIL_PATTERN, address):
        raise invalid("That does not look like an email address.", field="address")
    return address


async def contact_get(session: AsyncSession, query: ReporterContactQuery) -> ReporterContactView:
    row = await session.get(ReporterContact, query.submission_id)
    if row is None:
        return ReporterContactView()
    address = await delivery._reporter_address(session, query.submission_id)
    return ReporterContactView(channel=row.channel,  # type: ignore[arg-type]
                               masked=_mask(row.channel, address) if address else None,
                               quiet_from=row.quiet_from, quiet_until=row.quiet_until)


async def contact_set(session: AsyncSession, command: SetReporterContact) -> ReporterContactView:
    """Keep (or replace) where the reporter's nudges go; the gateway checked their receipt."""
    if await content.shredded(session, command.submission_id):
        raise Shredded("This report's content was deleted at the end of its retention "
                       "period; it takes no contact.")
    address = _normalised(command)
    _zone(command.timezone, "timezone")
    if (command.quiet_from is None) != (command.quiet_until is None):
        raise invalid("Give both ends of quiet hours, or neither.", field="quiet_until")
    key = await ring_of(session).get_or_create(session, command.submission_id)
    row = await session.get(ReporterContact, command.submission_id)
    if row is not None and row.channel != command.channel:
        await delivery.cancel_recipient(session, f"reporter:{command.submission_id}")
    row = row or ReporterContact(submission_id=command.submission_id, channel=command.channel,
                                 sealed_address=b"", updated_at=utcnow())
    row.channel, row.language, row.timezone = command.channel, command.language, command.timezone
    row.sealed_address = key.seal_text(address, delivery.contact_context(command.submission_id))
    row.quiet_from, row.quiet_until, row.updated_at = (command.quiet_from, command.quiet_until,
                                                       utcnow())
    session.add(row)
    await session.flush()
    return ReporterContactView(channel=command.channel, masked=_mask(command.channel, address),
                               quiet_from=row.quiet_from, quiet_until=row.quiet_until)


async def contact_remove(session: AsyncSession,
                         query: ReporterContactQuery) -> ReporterContactView:
    """Forget the reporter's contact and cancel what was waiting to go to it."""
    await forget_contact(session, query.submission_id)
    return ReporterContactView()


async def forget_contact(session: AsyncSession, submission_id: UUID) -> None:
    row = await session.get(ReporterContact, submission_id)
    if row is not None:
        await session.delete(row)
    await delivery.cancel_recipient(session, f"reporter:{submission_id}")
    await session.flush()
