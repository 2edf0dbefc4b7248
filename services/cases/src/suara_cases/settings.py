"""Case-management's settings (environment prefix SUARA_CASES_)."""

from __future__ import annotations

from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

from suara_kit.settings import ServiceSettings


class DeadlinePolicy(BaseModel):
    """How fast an organisation answers. The defaults are the EU Whistleblowing Directive's
    limits (7 days, 3 months) and Suara's promise to the reporter (news every 30 days); an
    organisation may be stricter, never slower."""

    acknowledge_within_days: int = Field(default=7, ge=1, le=7)
    feedback_within_days: int = Field(default=90, ge=7, le=90)
    update_every_days: int = Field(default=30, ge=7, le=30)


class CasesSettings(ServiceSettings):
    """Deadlines (per organisation where it is stricter), the deadline scan and the cluster
    rule."""

    model_config = SettingsConfigDict(env_prefix="SUARA_CASES_", extra="ignore",
                                      populate_by_name=True)

    service_name: str = "case-management"
    acknowledge_within_days: int = Field(default=7, ge=1, le=7)
    feedback_within_days: int = Field(default=90, ge=7, le=90)
    update_every_days: int = Field(default=30, ge=7, le=30)
    organisation_deadlines: dict[str, DeadlinePolicy] = Field(default={}, description=(
        "stricter deadlines for some organisations, e.g. "
        '{"tenaganita": {"acknowledge_within_days": 3}}'))
    deadline_scan_seconds: float = Field(default=300, gt=0)
    cluster_size: int = Field(default=3, ge=2)
    cluster_window_days: int = Field(default=90, ge=7)

    def deadlines_for(self, organisation: str) -> DeadlinePolicy:
        """The organisation's own deadlines, or the service-wide ones."""
        return self.organisation_deadlines.get(organisation) or DeadlinePolicy(
            acknowledge_within_days=self.acknowledge_within_days,
            feedback_within_days=self.feedback_within_days,
            update_every_days=self.update_every_days)
