"""What the deployment files deploy: each process, its package and its settings."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from suara_cases.settings import CasesSettings
from suara_gateway.settings import GatewaySettings
from suara_intake.settings import IntakeSettings
from suara_mediation.settings import MediationSettings
from suara_notification.settings import NotificationSettings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"

# each image / Deployment / compose service, its Python package and its settings
PROCESSES: dict[str, tuple[str, type[BaseSettings]]] = {
    "gateway": ("suara_gateway", GatewaySettings),
    "intake": ("suara_intake", IntakeSettings),
    "cases": ("suara_cases", CasesSettings),
    "mediation": ("suara_mediation", MediationSettings),
    "notification": ("suara_notification", NotificationSettings),
}
SERVICES = [name for name in PROCESSES if name != "gateway"]


def accepted_names(settings: type[BaseSettings]) -> set[str]:
    """The environment variables a settings class reads."""
    prefix = str(settings.model_config.get("env_prefix") or "")
    names = set()
    for name, field in settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {choice for choice in alias.choices if isinstance(choice, str)}
        elif isinstance(alias, str):
            names.add(alias)
        else:
            names.add(f"{prefix}{name}".upper())
    return names
