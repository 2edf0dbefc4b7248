"""The settings base every service extends; nothing else in Suara reads the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["development", "test", "production"]
DEV_CONTENT_KEY = "development-only-content-key-change-me"
DEV_EVENTS_KEY = "development-only-events-key-change-me"


def _shared(name: str) -> AliasChoices:
    return AliasChoices(f"SUARA_{name}")


class ProcessSettings(BaseSettings):
    """What every Suara process reads, gateway included; subclasses set `env_prefix` (e.g.
    SUARA_INTAKE_) for their own fields."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    env: Environment = Field(default="development", validation_alias=_shared("ENV"))
    nats_url: str = Field(default="nats://127.0.0.1:4222", validation_alias=_shared("NATS_URL"))
    otlp_endpoint: str | None = Field(default=None, validation_alias=_shared("OTLP_ENDPOINT"))
    log_level: str = Field(default="INFO", validation_alias=_shared("LOG_LEVEL"))


class ServiceSettings(ProcessSettings):
    """Settings every service shares: streams, local state, its database."""

    nats_replicas: int = Field(default=1, ge=1, le=5, validation_alias=_shared("NATS_REPLICAS"))
    events_max_age_days: int = Field(default=30, ge=1,
                                     validation_alias=_shared("EVENTS_MAX_AGE_DAYS"))
    events_key: SecretStr = Field(
        default=SecretStr(DEV_EVENTS_KEY), validation_alias=_shared("EVENTS_KEY"), description=(
            "seals every event's payload in the outboxes and the event streams; the same "
            "secret in every service (a service without it cannot read the events)"))
    events_previous_keys: list[SecretStr] = Field(
        default=[], validation_alias=_shared("EVENTS_PREVIOUS_KEYS"),
        description="events keys used before the current one (rotation)")
    var_dir: Path = Field(default=Path("var"), validation_alias=_shared("VAR_DIR"))
    database_url: str | None = None
    database_pool_size: int = Field(
        default=10, ge=1, le=100, validation_alias=_shared("DATABASE_POOL_SIZE"), description=(
            "connections each replica keeps to its database (PostgreSQL), never more: work "
            "beyond them waits; replicas x services x this must stay under the server's "
            "max_connections"))
    instance_file: Path | None = Field(
        default=None, validation_alias=_shared("INSTANCE_FILE"), description=(
            "where a running service writes its NATS micro instance id, for "
            "`python -m suara_kit.probe ready` to ask this very replica; default "
            "<temp dir>/suara-<service>.instance"))
    rpc_concurrency: int = Field(default=32, ge=1, le=1000)
    group_commit: bool = Field(default=True, validation_alias=_shared("GROUP_COMMIT"),
                               description=(
        "new reports that arrive together share one transaction (`suara_kit.groupcommit`); "
        "false: one transaction each"))

    service_name: str = "suara"
    content_key: SecretStr = Field(default=SecretStr(DEV_CONTENT_KEY), description=(
        "the key-encryption key that wraps this service's per-case data keys; set it from a "
        "secret store (e.g. `openssl rand -base64 32`), never in the database it protects"))
    content_previous_keys: list[SecretStr] = Field(default=[], description=(
        "content keys used before the current one (rotation)"))

    def resolved_database_url(self) -> str:
        """The configured database URL, or a SQLite file under var/ named after the service."""
        if self.database_url:
            return self.database_url
        path = (self.var_dir / "db" / f"{self.service_name}.sqlite").resolve()
        return f"sqlite+aiosqlite:///{path}"

    @model_validator(mode="after")
    def _refuse_insecure(self) -> ServiceSettings:
        if self.env == "production":
            unset = [name for name, value in self.insecure_defaults().items() if value]
            if unset:
                raise ValueError(f"{', '.join(unset)}: still the development default; set "
                                 f"{'it' if len(unset) == 1 else 'each'} to a secret of its own")
        return self

    def insecure_defaults(self) -> dict[str, bool]:
        """Names of secrets that still hold development defaults (refused in production);
        subclasses add their own to these."""
        prefix = str(self.model_config.get("env_prefix") or "SUARA_")
        return {f"{prefix}CONTENT_KEY": self.content_key.get_secret_value() == DEV_CONTENT_KEY,
                "SUARA_EVENTS_KEY": self.events_key.get_secret_value() == DEV_EVENTS_KEY}
