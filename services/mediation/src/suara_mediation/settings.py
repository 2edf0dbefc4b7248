"""Mediation-scheduling's settings (environment prefix SUARA_MEDIATION_)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from suara_kit.settings import ServiceSettings


class MediationSettings(ServiceSettings):
    """Shared settings only, for now; mediation's own fields get the SUARA_MEDIATION_ prefix."""

    model_config = SettingsConfigDict(env_prefix="SUARA_MEDIATION_", extra="ignore",
                                      populate_by_name=True)

    service_name: str = "mediation-scheduling"
