"""Case-management's settings (environment prefix SUARA_CASES_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from suara_kit.settings import ServiceSettings


class CasesSettings(ServiceSettings):
    """Deadlines: the EU Directive's 7 days to acknowledge is the default."""

    model_config = SettingsConfigDict(env_prefix="SUARA_CASES_", extra="ignore",
                                      populate_by_name=True)

    service_name: str = "case-management"
    acknowledge_within_days: int = Field(default=7, ge=1, le=7)
