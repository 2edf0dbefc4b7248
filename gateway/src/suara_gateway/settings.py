"""Gateway settings (environment prefix SUARA_GATEWAY_)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from suara_kit.settings import ProcessSettings

DEV_IDEMPOTENCY_KEY = "development-only-idempotency-key-change-me"
DEV_CONSOLE_SESSION_KEY = "development-only-console-session-key-change-me"
ORIGIN = re.compile(r"^https?://[^/\s*?#]+$")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


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
    nats_replicas: int = Field(default=1, ge=1, le=5,
                               validation_alias=AliasChoices("SUARA_NATS_REPLICAS"),
                               description="replicas of the gateway's Idempotency-Key bucket")
    idempotency_key: SecretStr = Field(default=SecretStr(DEV_IDEMPOTENCY_KEY), description=(
        "seals the responses kept for Idempotency-Key replays (a worker's receipt among them); "
        "a random secret (e.g. `openssl rand -base64 32`), the same in every gateway replica"))
    idempotency_previous_keys: list[SecretStr] = Field(default=[], description=(
        "idempotency keys used before the current one (rotation; kept responses live 24 h)"))
    rate_per_minute: int = Field(default=600, ge=1, description=(
        "requests a caller with a token (its client and subject) may make per minute, across "
        "the gateway replicas when `rate_shared`, else in each; reporters are never limited "
        "by address"))
    rate_burst: int = Field(default=600, ge=1, description=(
        "requests such a caller may make at once before the per-minute rate applies"))
    rate_shared: bool | None = Field(default=None, description=(
        "share each caller's rate among the gateway replicas through NATS (the SUARA_RATE "
        "key-value bucket; requests never wait for it); unset: shared in production only"))
    rate_sync_seconds: float = Field(default=0.5, ge=0.1, le=5, description=(
        "how often a replica reports to the others what it admitted; a caller may exceed its "
        "rate by what the other replicas admitted in that time"))
    max_body_bytes: int = Field(default=1024 * 1024, ge=16 * 1024, description=(
        "largest request body but for file uploads (which have their own limit)"))
    cors_origins: list[str] = Field(default=[], description=(
        "browser origins allowed to call the API from another site (JSON list, e.g. "
        '["https://console.example.org"]); none by default'))
    public_url: str | None = Field(default=None, description=(
        "the gateway's address as browsers reach it (scheme://host[:port]): the staff "
        "console's sign-in callback and the origin its forms must come from; unset: "
        "http://<host>:<port> (development only; production needs https or a loopback "
        "address)"))
    oidc_discovery_url: str | None = Field(default=None, description=(
        "where the console reads the issuer's endpoints; unset: the issuer's own "
        "/.well-known/openid-configuration (set it when the gateway reaches Keycloak on an "
        "inside address; Keycloak's hostname settings decide which endpoints it names)"))
    console_client_id: str = Field(default="suara-console", description=(
        "the console's public OIDC client (authorization code flow with PKCE)"))
    console_session_key: SecretStr = Field(
        default=SecretStr(DEV_CONSOLE_SESSION_KEY), description=(
            "seals the console's sessions in the SUARA_CONSOLE bucket and names their "
            "entries; a random secret of 32+ characters, the same in every gateway replica "
            "(changing it signs every staff member out)"))
    console_idle_minutes: float = Field(default=15, gt=0, le=24 * 60, description=(
        "a console session ends after this long without a request"))
    console_lifetime_hours: float = Field(default=8, gt=0, le=24, description=(
        "a console session ends this long after sign-in, busy or not"))

    @property
    def console_base_url(self) -> str:
        """The gateway's public origin, as the console's redirects and checks use it."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @field_validator("cors_origins")
    @classmethod
    def _exact_origins(cls, origins: list[str]) -> list[str]:
        wrong = [origin for origin in origins if not ORIGIN.fullmatch(origin)]
        if wrong:
            raise ValueError(f"not an origin (scheme://host[:port], no path, no wildcard): "
                             f"{', '.join(wrong)}")
        return origins

    @field_validator("public_url")
    @classmethod
    def _an_origin(cls, url: str | None) -> str | None:
        if url is not None and not ORIGIN.fullmatch(url.rstrip("/")):
            raise ValueError("not an origin (scheme://host[:port], no path)")
        return url.rstrip("/") if url else url

    @model_validator(mode="after")
    def _refuse_insecure(self) -> GatewaySettings:
        # A secret that is too short is refused by the sealer when the gateway starts: an
        # error raised here would print the value.
        if self.env != "production":
            return self
        if self.idempotency_key.get_secret_value() == DEV_IDEMPOTENCY_KEY:
            raise ValueError("SUARA_GATEWAY_IDEMPOTENCY_KEY: still the development default; set "
                             "it to a secret of its own")
        if self.console_session_key.get_secret_value() == DEV_CONSOLE_SESSION_KEY:
            raise ValueError("SUARA_GATEWAY_CONSOLE_SESSION_KEY: still the development default; "
                             "set it to a secret of its own")
        if self.public_url is None or not secure_origin(self.public_url):
            raise ValueError("SUARA_GATEWAY_PUBLIC_URL: set it to the https:// address staff "
                             "use (the console's cookies are Secure)")
        return self


def secure_origin(url: str) -> bool:
    """Whether browsers treat the origin as secure (https, or http on a loopback address):
    only there do they keep a Secure, __Host- cookie."""
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http"
                                       and parts.hostname in LOOPBACK_HOSTS)
