"""Mediation-scheduling's settings (environment prefix SUARA_MEDIATION_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from suara_kit.settings import ServiceSettings


class MediationSettings(ServiceSettings):
    """Shared settings, and mediation's own under the SUARA_MEDIATION_ prefix."""

    model_config = SettingsConfigDict(env_prefix="SUARA_MEDIATION_", extra="ignore",
                                      populate_by_name=True)

    service_name: str = "mediation-scheduling"
    obligation_scan_seconds: float = Field(default=3600, gt=0, description=(
        "how often obligations past their due date are looked for"))
    hold_minutes: int = Field(default=15, ge=1, le=1440, description=(
        "how long a hold reserves its slot when the request does not say"))
