"""Gateway settings (environment prefix SUARA_GATEWAY_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from suara_kit.settings import ProcessSettings


class GatewaySettings(ProcessSettings):
    """Where the gateway listens, which issuer it trusts, how long it waits for services."""

    model_config = SettingsConfigDict(env_prefix="SUARA_GATEWAY_", extra="ignore",
                                      populate_by_name=True)

    host: str = "127.0.0.1"
    port: int = 8000
    oidc_issuer: str = "http://127.0.0.1:8180/realms/suara"
    oidc_audience: str = "suara-api"
    oidc_jwks_url: str | None = None
    rpc_timeout: float = Field(default=10.0, gt=0)
