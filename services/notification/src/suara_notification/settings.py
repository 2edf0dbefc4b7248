"""Notification's settings (environment prefix SUARA_NOTIFICATION_)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from suara_kit.settings import ServiceSettings


class NotificationSettings(ServiceSettings):
    """Shared settings only, for now; notification's own fields get the SUARA_NOTIFICATION_ prefix."""

    model_config = SettingsConfigDict(env_prefix="SUARA_NOTIFICATION_", extra="ignore",
                                      populate_by_name=True)

    service_name: str = "notification"
