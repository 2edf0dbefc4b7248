"""Notification's settings (environment prefix SUARA_NOTIFICATION_)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from suara_kit.settings import ServiceSettings


class NotificationSettings(ServiceSettings):
    """Where and how notification sends: SMTP servers, SMS providers, webhook limits, the
    delivery loop. With no SMTP server or SMS provider configured, that channel is off and its
    notifications wait (they are sent once one is configured)."""

    model_config = SettingsConfigDict(env_prefix="SUARA_NOTIFICATION_", extra="ignore",
                                      populate_by_name=True)

    service_name: str = "notification"

    # email
    smtp_url: SecretStr | None = Field(default=None, description=(
        "the SMTP server: smtp://[user:password@]host[:port] (STARTTLS when offered) or "
        "smtps://… (TLS from the start)"))
    smtp_fallback_url: SecretStr | None = Field(default=None, description=(
        "a second SMTP server, used when the first keeps failing"))
    email_from: str = "Suara <no-reply@suara.invalid>"
    reporter_email_from: str = Field(default="Updates <no-reply@updates.invalid>", description=(
        "the From of a reporter's nudge: neutral, since whoever reads the worker's phone may "
        "see it (no organisation, no 'Suara', no complaint)"))

    # SMS
    sms_url: str | None = Field(default=None, description=(
        "the SMS provider's API base URL (a Twilio-compatible Messages API)"))
    sms_account: str = ""
    sms_token: SecretStr = SecretStr("")
    sms_sender: str = Field(default="Info", description=(
        "the sender id or number; neutral, since a reporter's nudge goes out with it and "
        "whoever reads the worker's phone sees it (no organisation, no 'Suara')"))
    sms_fallback_url: str | None = None
    sms_fallback_account: str = ""
    sms_fallback_token: SecretStr = SecretStr("")
    sms_fallback_sender: str = Field(default="Info", description=(
        "the fallback provider's sender id or number; as neutral as sms_sender"))

    # partner webhooks
    webhook_timeout_seconds: float = Field(default=15.0, gt=0, le=60)
    webhook_allow_networks: list[str] = Field(default=[], description=(
        "networks (CIDR) webhooks may reach although private, loopback or link-local, e.g. "
        "[\"127.0.0.0/8\"] for a receiver on the same machine; empty: none"))

    # the delivery loop
    delivery_poll_seconds: float = Field(default=1.0, gt=0)
    delivery_batch: int = Field(default=20, ge=1, le=500)
    delivery_lease_seconds: float = Field(default=120.0, gt=0, description=(
        "a message being sent is someone's for this long; after a crash it is tried again "
        "(with the same id, so a receiver can drop the duplicate)"))

    # links in messages (never to content: a staff member signs in to read)
    console_url: str = Field(default="http://localhost:8000", description=(
        "the base URL staff open from an email"))
    nudge_link: str | None = Field(default=None, description=(
        "a link a reporter's nudge may carry (e.g. the status page); none by default, since "
        "a link can tell whoever reads the worker's phone where it leads"))
