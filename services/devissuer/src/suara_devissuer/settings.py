"""Settings of the development OIDC issuer, read from SUARA_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REALM_RELATIVE_PATH = Path("deploy/keycloak/realm-suara.json")
DEFAULT_BASE_URL = "http://127.0.0.1:8180"


def find_realm_file(start: Path = Path(__file__)) -> Path:
    """The repository's realm export, found by walking up from this package's source."""
    for parent in start.resolve().parents:
        candidate = parent / REALM_RELATIVE_PATH
        if candidate.is_file():
            return candidate
    return REALM_RELATIVE_PATH


class DevIssuerSettings(BaseSettings):
    """Where the realm lives, which URL the issuer claims, and where its signing key is kept."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    env: str = Field(
        default="development", validation_alias=AliasChoices("SUARA_ENV", "env")
    )
    realm_file: Path = Field(
        default_factory=find_realm_file,
        validation_alias=AliasChoices("SUARA_DEVISSUER_REALM_FILE", "realm_file"),
    )
    base_url: str = Field(
        default=DEFAULT_BASE_URL,
        validation_alias=AliasChoices("SUARA_DEVISSUER_BASE_URL", "base_url"),
    )
    key_file: Path | None = Field(
        default=None, validation_alias=AliasChoices("SUARA_DEVISSUER_KEY_FILE", "key_file")
    )
    redirect_uris: dict[str, list[str]] = Field(
        default={}, validation_alias=AliasChoices("SUARA_DEVISSUER_REDIRECT_URIS", "redirect_uris"),
        description="more exact redirect URIs per client (JSON), e.g. the console's callback "
                    "on the port `make run` found free",
    )
    post_logout_redirect_uris: dict[str, list[str]] = Field(
        default={}, validation_alias=AliasChoices("SUARA_DEVISSUER_POST_LOGOUT_REDIRECT_URIS",
                                                  "post_logout_redirect_uris"),
        description="more exact post-logout redirect URIs per client (JSON)",
    )
