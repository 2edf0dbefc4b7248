"""Gateway settings (environment prefix SUARA_GATEWAY_)."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from suara_kit.settings import Environment


class GatewaySettings(BaseSettings):
    """Where the gateway listens, which issuer it trusts, how long it waits for services."""

    model_config = SettingsConfigDict(env_prefix="SUARA_GATEWAY_", extra="ignore",
                                      populate_by_name=True)

    env: Environment = Field(default="development", validation_alias=AliasChoices("SUARA_ENV"))
    nats_url: str = Field(default="nats://127.0.0.1:4222",
                          validation_alias=AliasChoices("SUARA_NATS_URL"))
    otlp_endpoint: str | None = Field(default=None,
                                      validation_alias=AliasChoices("SUARA_OTLP_ENDPOINT"))
    log_level: str = Field(default="INFO", validation_alias=AliasChoices("SUARA_LOG_LEVEL"))
    host: str = "127.0.0.1"
    port: int = 8000
    oidc_issuer: str = "http://127.0.0.1:8180/realms/suara"
    oidc_audience: str = "suara-api"
    oidc_jwks_url: str | None = None
    rpc_timeout: float = Field(default=10.0, gt=0)
