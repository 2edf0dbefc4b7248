"""Case-management's settings (environment prefix SUARA_CASES_)."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import SettingsConfigDict

from suara_kit.settings import ServiceSettings

MIN_RETENTION_DAYS = 190  # the six-month check-in, with a week to answer


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
    retention_days: int = Field(default=730, ge=MIN_RETENTION_DAYS, description=(
        "days after a case closes until its content is shredded (its data key deleted)"))
    organisation_retention_days: dict[str, int] = Field(default={}, description=(
        'another retention for some organisations, e.g. {"tenaganita": 1095}'))
    retention_scan_seconds: float = Field(default=3600, gt=0)

    @model_validator(mode="after")
    def _retention_outlives_events(self) -> CasesSettings:
        """Events carry content while in flight: shredding before the streams drop them
        would leave readable copies behind; and the six-month check-in needs its case."""
        floor = max(MIN_RETENTION_DAYS, self.events_max_age_days + 1)
        for name, days in {"retention_days": self.retention_days,
                           **{f"organisation_retention_days.{org}": d for org, d in
                              self.organisation_retention_days.items()}}.items():
            if days < floor:
                raise ValueError(f"{name} is {days} days; it must be at least {floor} (the "
                                 "last check-in is six months after closing, and events are "
                                 f"kept {self.events_max_age_days} days)")
        return self

    def retention_for(self, organisation: str) -> int:
        """Days a closed case of `organisation` keeps its content."""
        return self.organisation_retention_days.get(organisation, self.retention_days)

    def deadlines_for(self, organisation: str) -> DeadlinePolicy:
        """The organisation's own deadlines, or the service-wide ones."""
        return self.organisation_deadlines.get(organisation) or DeadlinePolicy(
            acknowledge_within_days=self.acknowledge_within_days,
            feedback_within_days=self.feedback_within_days,
            update_every_days=self.update_every_days)
