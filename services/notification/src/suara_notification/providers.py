"""The configured providers of each channel, primary first, then the fallback."""

from __future__ import annotations

from collections.abc import Iterable

from suara_notification.channels import Provider
from suara_notification.email import SmtpProvider
from suara_notification.settings import NotificationSettings
from suara_notification.sms import HttpSmsProvider


def _email(settings: NotificationSettings) -> list[Provider]:
    urls = [("smtp", settings.smtp_url), ("smtp-fallback", settings.smtp_fallback_url)]
    return [SmtpProvider(url.get_secret_value(), settings.email_from, name)
            for name, url in urls if url is not None and url.get_secret_value()]


def _sms(settings: NotificationSettings) -> list[Provider]:
    found: list[Provider] = []
    if settings.sms_url:
        found.append(HttpSmsProvider(settings.sms_url, settings.sms_account,
                                     settings.sms_token.get_secret_value(),
                                     settings.sms_sender, "sms-http"))
    if settings.sms_fallback_url:
        found.append(HttpSmsProvider(settings.sms_fallback_url, settings.sms_fallback_account,
                                     settings.sms_fallback_token.get_secret_value(),
                                     settings.sms_fallback_sender, "sms-http-fallback"))
    return found


def providers(settings: NotificationSettings) -> dict[str, list[Provider]]:
    """Email and SMS providers in the order to try them; an empty list: the channel is off."""
    return {"email": _email(settings), "sms": _sms(settings)}


async def close(providers: dict[str, list[Provider]] | Iterable[Provider]) -> None:
    """Release what the providers hold (the SMS providers' connection pools)."""
    every = ([p for group in providers.values() for p in group]
             if isinstance(providers, dict) else list(providers))
    for provider in every:
        aclose = getattr(provider, "aclose", None)
        if aclose is not None:
            await aclose()
