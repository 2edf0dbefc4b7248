"""Intake's settings (environment prefix SUARA_INTAKE_)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from suara_kit.settings import ServiceSettings

DEV_RECEIPT_KEY = "development-only-receipt-key-change-me"
DEV_ATTACHMENT_KEY = "development-only-attachment-key-change-me"


class IntakeSettings(ServiceSettings):
    """Receipt hashing key, brute-force limits and the organisations that take reports."""

    model_config = SettingsConfigDict(env_prefix="SUARA_INTAKE_", extra="ignore",
                                      populate_by_name=True)

    service_name: str = "intake"
    receipt_key: SecretStr = SecretStr(DEV_RECEIPT_KEY)
    receipt_max_failures: int = Field(default=10, ge=1)
    receipt_lockout_minutes: int = Field(default=15, ge=1)
    claim_within_days: int = Field(default=14, ge=1, le=90)
    organisations: list[str] = ["tenaganita", "map-foundation", "serve-the-people", "apmm"]
    attachment_key: SecretStr = SecretStr(DEV_ATTACHMENT_KEY)
    attachment_previous_keys: list[SecretStr] = Field(default=[], description=(
        "keys attachments were sealed with before the current one (rotation)"))

    def insecure_defaults(self) -> dict[str, bool]:
        return {**super().insecure_defaults(),
                "SUARA_INTAKE_RECEIPT_KEY":
                self.receipt_key.get_secret_value() == DEV_RECEIPT_KEY,
                "SUARA_INTAKE_ATTACHMENT_KEY":
                self.attachment_key.get_secret_value() == DEV_ATTACHMENT_KEY}
